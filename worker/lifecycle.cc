// lifecycle.cc: a request's whole life, in the order it happens.
//
//   Serve (accept thread)   read → access → route → limits → handle
//     a fast route          its handler, then Send
//     a slow route          its no-wait part: an answer (Send), or the rest,
//                           which RunLater hands to a chat thread (a full
//                           chat queue: 503 busy at once, Send)
//   RunLater (chat thread)  the waiting part, then Send
//   Send (any thread)       an answer that must wait for its session turn to
//                           be durable goes to SendWhenDurable; otherwise
//                           stamp → write (a stream's producer runs here) →
//                           finish → record → log
//   SendWhenDurable         registers Send to run on the group-commit thread
//                           once the turn is on disk; the thread that got the
//                           answer moves on to the next request
//
// Every call into a handler or a stream producer goes through Guarded(): an
// exception is logged and answered 500 (or, once a stream's head is out,
// ends it with an error event), never the end of the process.
#include "lifecycle.h"

#include "access.h"
#include "coalesced_answer.h"
#include "log.h"
#include "sse.h"

namespace folio {

// One request between Serve and Send. Destroyed after Send: that releases
// its concurrency ticket and its place in the in-flight counts.
struct Lifecycle::InFlight {
  InFlight(Lifecycle& owner, std::unique_ptr<Exchange> ex)
      : lifecycle(owner), exchange(std::move(ex)), gauge(*owner.app_.metrics) {
    lifecycle.in_flight_.fetch_add(1);
  }
  ~InFlight() { lifecycle.in_flight_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

  Lifecycle& lifecycle;
  std::unique_ptr<Exchange> exchange;
  Request request;
  const RouteSpec* route = nullptr;  // null: refused before routing, or no such route
  ConcurrencyTicket ticket;          // the client's CLIENT_MAX_CONCURRENT place
  Metrics::InFlightGuard gauge;      // the pool-wide in-flight gauge
};

namespace {

Response InternalError(const Request& request) {
  return ErrorResponse(Internal("internal", "Something went wrong on our side."), request.request_id);
}

// Runs `call`; an exception becomes a logged `on_error()` instead of the
// end of the process.
template <typename Fn, typename OnError>
auto Guarded(const Request& request, Fn&& call, OnError&& on_error) -> decltype(call()) {
  try {
    return call();
  } catch (const std::exception& e) {
    LogError("handler_exception", {{"request_id", request.request_id}, {"path", LoggedPath(request.path)},
                                   {"what", Excerpt(e.what(), 200)}});
  } catch (...) {
    LogError("handler_exception", {{"request_id", request.request_id}, {"path", LoggedPath(request.path)}});
  }
  return on_error();
}

Response RateLimited(const Request& request, const Decision& d) {
  Response r = ErrorResponse(ResourceExhausted("rate_limited", d.reason == DenyReason::kConcurrent
                                                                   ? "Too many requests from you at once."
                                                                   : "Too many requests from you; slow down."),
                             request.request_id);
  r.AddHeader("Retry-After", std::to_string(std::max(1, d.retry_after_s)));
  return r;
}

Response Busy(const Request& request) {
  Response r = ErrorResponse(Unavailable("busy", "Every chat slot of this server is busy; retry in a moment."),
                             request.request_id);
  r.AddHeader("Retry-After", "1");
  return r;
}

// Headers every worker answer carries: the CORS headers for the request's
// Origin, how long it took (to its headers, for a stream), and how many
// requests this worker process holds now.
void Stamp(Response& response, const Request& request, int in_flight, const AccessPolicy& access) {
  AddCorsHeaders(request, access, &response);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request.received_at).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.3fms", ms);
  response.AddHeader("X-Response-Time", took);
  response.AddHeader("X-Concurrent-Requests", std::to_string(in_flight));
}

// The metrics label of an answered request: the route's, a streamed chat's
// own, and none for CORS preflights (not the route's traffic).
Route MetricsRouteOf(const Request& request, const RouteSpec* route, const Response& response) {
  if (route == nullptr || request.method == "OPTIONS") return Route::kOther;
  if (route->metrics == Route::kChat && response.stream) return Route::kChatStream;
  return route->metrics;
}

}  // namespace

void Lifecycle::Serve(std::unique_ptr<Exchange> exchange) {
  auto r = std::make_unique<InFlight>(*this, std::move(exchange));
  Request& request = r->request;
  request = r->exchange->Read();
  // Access: keys, operator endpoints, CORS preflights. A refused request is
  // never routed, so no handler or limit sees it.
  if (std::optional<Response> refused = CheckAccess(&request, app_.access)) return Send(std::move(r), std::move(*refused));
  // Route: 400 for what could not be read or a bad path, 404, 405.
  RouteMatch match = MatchRoute(request, routes_);
  if (!match.route) return Send(std::move(r), std::move(*match.error));
  r->route = match.route;
  // Limits: the client's general budget and concurrency (CLIENT_RPM,
  // CLIENT_MAX_CONCURRENT), held until the answer is sent.
  if (r->route->limited && app_.limits) {
    Decision d = app_.limits->Admit(ClientIdOf(request), UnixMsCoarse());
    if (!d.allowed) return Send(std::move(r), RateLimited(request, d));
    r->ticket = std::move(d.ticket);
  }
  // Handle: a fast route here; a slow route's no-wait part here, the rest
  // on a chat thread.
  const RouteSpec& route = *r->route;
  if (route.fast) {
    Response response = Guarded(request, [&] { return route.fast(request, app_); }, [&] { return InternalError(request); });
    return Send(std::move(r), std::move(response));
  }
  Step step = Guarded(request, [&] { return route.slow(request, app_); }, [&] { return Step{InternalError(request), {}}; });
  if (step.now) return Send(std::move(r), std::move(*step.now));
  RunLater(std::move(r), std::move(step.later));
}

void Lifecycle::RunLater(std::unique_ptr<InFlight> r, std::function<Response()> later) {
  InFlight* owned = r.release();  // owned by the task, or taken back below
  SlowPool::Task task = [this, owned, later = std::move(later)] {
    std::unique_ptr<InFlight> r(owned);
    Response response = Guarded(r->request, later, [&] { return InternalError(r->request); });
    Send(std::move(r), std::move(response));
  };
  if (chat_.Submit(task)) return;
  // Every chat thread busy and CHAT_QUEUE full: shed at once.
  Response busy = Busy(owned->request);
  Send(std::unique_ptr<InFlight>(owned), std::move(busy));
}

void Lifecycle::Send(std::unique_ptr<InFlight> r, Response response) {
  if (response.hold_until && !response.stream) return SendWhenDurable(std::move(r), std::move(response));
  const Request& request = r->request;
  Stamp(response, request, in_flight_.load(), app_.access);
  bool written = Guarded(request, [&] { return WriteResponse(*r->exchange, response); }, [&] {
    // The head (and maybe part of the body) is out: a stream ends with an
    // error event; a plain answer cannot be repaired, only cut short.
    if (response.stream)
      r->exchange->Write(SseEvent("error", {{"error", {{"code", "internal"}, {"message", "Something went wrong on our side."}}},
                                            {"request_id", request.request_id}}));
    return false;
  });
  r->exchange->Finish(request);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request.received_at).count();
  app_.metrics->RecordRequest(MetricsRouteOf(request, r->route, response), response.status, seconds,
                              r->route == nullptr || r->route->in_window);
  LogRequest(request, response, written);
}

void Lifecycle::SendWhenDurable(std::unique_ptr<InFlight> r, Response response) {
  held_.fetch_add(1);
  auto hold = std::move(response.hold_until);
  InFlight* owned = r.release();  // owned by the callback, which runs exactly once
  hold([this, owned, response = std::move(response)](std::string_view tail) mutable {
    held_.fetch_sub(1);
    response.body.append(tail);
    Send(std::unique_ptr<InFlight>(owned), std::move(response));
  });
}

}  // namespace folio
