// lifecycle.h: one request, from the moment it is accepted to its log line,
// the same on every thread: read → access → route → limits → handle →
// (hand off) → send. lifecycle.cc reads top to bottom in that order; Send()
// is the one place an answer leaves the worker, whichever thread holds the
// request then (the accept thread, a chat thread, or the group-commit
// thread for an answer that waited for its session turn to be durable).
// One Lifecycle per process, shared by all its threads; thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "app.h"
#include "request.h"
#include "routes.h"
#include "slow_pool.h"

namespace folio {

class Lifecycle {
 public:
  // REQUIRES: `app`'s state is open (handlers read it without locks), and
  // `chat` outlives every request handed to it. `routes`: Routes() in
  // service, a table of their own in tests; it outlives the Lifecycle.
  Lifecycle(App& app, SlowPool& chat, const std::vector<RouteSpec>& routes = Routes())
      : app_(app), chat_(chat), routes_(routes) {}
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Serves an accepted request on the calling (accept) thread: answers it,
  // or hands its waiting part to a chat thread, or leaves its answer to go
  // out once its session turn is durable. Returns without waiting on any
  // upstream. Never throws: a handler's exception (a stream producer's
  // included) is logged and answered 500, or ends the stream with an error
  // event.
  void Serve(std::unique_ptr<Exchange> exchange);

  // Requests received and not yet sent (this process), and those of them
  // whose answer waits for a durable write.
  int in_flight() const { return in_flight_.load(); }
  int held() const { return held_.load(); }

 private:
  struct InFlight;  // one request's state, from Serve to Send
  void RunLater(std::unique_ptr<InFlight> r, std::function<Response()> later);
  void Send(std::unique_ptr<InFlight> r, Response response);
  void SendWhenDurable(std::unique_ptr<InFlight> r, Response response);

  App& app_;
  SlowPool& chat_;
  const std::vector<RouteSpec>& routes_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> held_{0};
};

}  // namespace folio
