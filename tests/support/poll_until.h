// poll_until.h: waiting for something a test can observe (a counter, a log line,
// a file, an answer), with a deadline: never for a fixed time. Safe from
// any thread.
#pragma once

#include <chrono>
#include <functional>

namespace folio::test {

// Calls `done` every `every` until it returns true (→ true) or `timeout`
// has passed (→ false).
bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(5),
               std::chrono::milliseconds every = std::chrono::milliseconds(5));

}  // namespace folio::test
