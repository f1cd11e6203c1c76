// limits_backend.cc: the move-only holders of a concurrency ticket and an
// upstream slot, which give their place back to whichever backend made them.
#include "limits_backend.h"

#include <utility>

namespace folio {

ConcurrencyTicket::ConcurrencyTicket(ConcurrencyTicket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), a_(other.a_), b_(other.b_) {}

ConcurrencyTicket& ConcurrencyTicket::operator=(ConcurrencyTicket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    a_ = other.a_;
    b_ = other.b_;
  }
  return *this;
}

void ConcurrencyTicket::Release() {
  if (LimitsBackend* owner = std::exchange(owner_, nullptr)) owner->ReleaseTicket(a_, b_);
}

UpstreamSlot::UpstreamSlot(UpstreamSlot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), a_(other.a_), b_(other.b_) {}

UpstreamSlot& UpstreamSlot::operator=(UpstreamSlot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    a_ = other.a_;
    b_ = other.b_;
  }
  return *this;
}

void UpstreamSlot::Release() {
  if (LimitsBackend* owner = std::exchange(owner_, nullptr)) owner->ReleaseSlot(a_, b_);
}

}  // namespace folio
