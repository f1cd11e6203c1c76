// clock.h: the one home of "now" — unix time for what processes compare or
// store (seconds, milliseconds, coarse milliseconds), wall-clock formatting,
// and monotonic deadlines. Nothing else in folio reads a clock for unix time.
// Stateless; safe from any thread of any process.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace folio {

using SteadyTime = std::chrono::steady_clock::time_point;

// "2026-11-25T16:05:23.123Z" (UTC, millisecond precision).
std::string IsoTimestampNow();
std::string IsoTimestamp(std::chrono::system_clock::time_point t);

// Unix seconds now (session records, API "created" fields).
int64_t UnixNow();
// Unix milliseconds now, from the precise wall clock (a vDSO read, ~20 ns).
// The time every process agrees on: for records and shared words that other
// processes compare (in-flight leases, the circuit breaker, session recency).
int64_t UnixMs();
// Unix milliseconds from the coarse wall clock (CLOCK_REALTIME_COARSE: one
// kernel tick of resolution, a few ms; ~5 ns). For the request path, where
// a tick of error is harmless: rate windows, cache TTLs, metrics windows.
// May read up to a tick behind UnixMs(): never mix the two in one comparison
// that must be exact.
int64_t UnixMsCoarse();

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
