// clock.h: wall-clock formatting and monotonic deadlines. Thread-safe.
#pragma once

#include <chrono>
#include <string>

namespace folio {

using SteadyTime = std::chrono::steady_clock::time_point;

// "2026-11-25T16:05:23.123Z" (UTC, millisecond precision).
std::string IsoTimestampNow();
std::string IsoTimestamp(std::chrono::system_clock::time_point t);

// Unix seconds now (for records stored in LMDB across processes).
int64_t UnixNow();

// A point in monotonic time by which some work must end.
class Deadline {
 public:
  explicit Deadline(SteadyTime at) : at_(at) {}
  static Deadline After(std::chrono::milliseconds d) { return Deadline(std::chrono::steady_clock::now() + d); }
  bool Expired() const { return std::chrono::steady_clock::now() >= at_; }
  // Time left, never negative.
  std::chrono::milliseconds Remaining() const;
  SteadyTime at() const { return at_; }

 private:
  SteadyTime at_;
};

}  // namespace folio
