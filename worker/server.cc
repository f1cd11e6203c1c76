// server.cc: accept loops, hand-off of slow requests, graceful stop.
//
// Two kinds of thread in a worker process:
//   accept threads (WORKER_THREADS): FCGX_Accept_r, read the request, and
//     answer every fast route themselves (probes, health, search: micro- to
//     milliseconds), and a slow route's no-wait half (router.h FastTry: a
//     chat answered from the cache, a bad request);
//   chat threads (CHAT_THREADS, slow_pool.h): routes that wait on the LLM.
// Before routing, every request passes the access check (access.h: API
// keys, operator endpoints, CORS preflights); every answer gets its CORS
// headers in Stamp().
// An accept thread never waits on an upstream, so /ping and /ready stay
// fast while every chat thread is busy; when the chat queue is full the
// accept thread sheds the request with 503 + Retry-After at once.
//
// Stopping: the listening socket is shared with the other worker processes,
// so it must not be shut down or closed for everyone. Instead each accept
// thread is interrupted with SIGUSR1 (no SA_RESTART): accept() fails with
// EINTR, libfcgi returns because of FCGI_FAIL_ACCEPT_ON_INTR, and the loop
// sees stopping_. A thread busy with a request finishes it first. The signal
// is re-sent every 50 ms until every thread has left, which closes the
// window between checking stopping_ and entering accept(). Then the chat
// threads finish what they hold, within the same drain deadline.
#include "server.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstring>

#include "log.h"
#include "coalesced_answer.h"

namespace folio {

namespace {

// Runs a handler call; an exception becomes a logged 500, never a dead thread.
template <typename Fn>
auto Guarded(const Request& req, Fn&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::exception& e) {
    LogError("handler_exception", {{"request_id", req.request_id}, {"path", LoggedPath(req.path)},
                                   {"what", Excerpt(e.what(), 200)}});
  } catch (...) {
    LogError("handler_exception", {{"request_id", req.request_id}, {"path", LoggedPath(req.path)}});
  }
  return ErrorResponse(Internal("internal", "Something went wrong on our side."), req.request_id);
}

Response SafeCall(const Handler& handler, const Request& req, App& app) {
  return Guarded(req, [&] { return handler(req, app); });
}

// The metrics route of a request (a small fixed set: no per-path labels).
Route RouteOf(const Request& req, const Response& resp) {
  const std::string& p = req.path;
  if (req.method == "OPTIONS") return Route::kOther;  // CORS preflights are not the route's traffic
  if (p == "/ping") return Route::kPing;
  if (p == "/ready") return Route::kReady;
  if (p == "/api/health") return Route::kHealth;
  if (p == "/api/health/scaling") return Route::kScaling;
  if (p == "/api/search") return Route::kSearch;
  if (p == "/api/chat") return resp.stream ? Route::kChatStream : Route::kChat;
  if (p.rfind("/api/sessions/", 0) == 0) return Route::kSessions;
  if (p == "/v1/chat/completions") return Route::kV1Chat;
  if (p == "/v1/models") return Route::kV1Models;
  if (p == "/metrics") return Route::kMetrics;
  if (p == "/api/cache/stats") return Route::kCacheStats;
  return Route::kOther;
}

// Headers every worker answer carries: how long it took (to its headers,
// for a stream), how many requests this worker process holds now, and the
// CORS headers for the request's Origin.
void Stamp(Response& resp, const Request& req, int concurrent, const AccessPolicy& access) {
  AddCorsHeaders(req, access, &resp);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - req.received_at).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fms", ms);
  resp.AddHeader("X-Response-Time", buf);
  resp.AddHeader("X-Concurrent-Requests", std::to_string(concurrent));
}

// The per-client general limits (CLIENT_RPM, CLIENT_MAX_CONCURRENT) apply
// to the API; probes, health and metrics are never limited here.
bool IsLimited(const std::string& path) {
  return (path.rfind("/api/", 0) == 0 && path.rfind("/api/health", 0) != 0 && path != "/api/cache/stats") ||
         path.rfind("/v1/", 0) == 0;
}

Response Busy(const Request& req) {
  Response r = ErrorResponse(Unavailable("busy", "Every chat slot of this server is busy; retry in a moment."),
                             req.request_id);
  r.AddHeader("Retry-After", "1");
  return r;
}

}  // namespace

Server::~Server() {
  if (!threads_.empty()) Stop(std::chrono::milliseconds(0));
}

void Server::Start(int listen_fd, int accept_threads, int chat_threads, int chat_queue) {
  slow_pool_ = std::make_unique<SlowPool>(chat_threads, chat_queue);
  exited_ = std::make_unique<std::atomic<bool>[]>(accept_threads);
  for (int i = 0; i < accept_threads; ++i) {
    exited_[i] = false;
    threads_.emplace_back(&Server::AcceptLoop, this, listen_fd, i);
  }
}

struct Server::Held {
  std::unique_ptr<FCGX_Request> fcgi;
  Request req;
  Response resp;
  std::shared_ptr<Metrics::InFlightGuard> guard;
  std::shared_ptr<ConcurrencyTicket> ticket;
};

void Server::Send(FCGX_Request* fcgi, const Request& req, Response& resp) {
  Stamp(resp, req, in_flight_.load(), app_.access);
  bool written = WriteResponse(fcgi, resp);
  FinishRequest(fcgi, req);
  in_flight_.fetch_sub(1);
  app_.metrics->RecordRequest(RouteOf(req, resp), resp.status,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - req.received_at).count());
  LogRequest(req, resp, written);
}

void Server::AcceptLoop(int listen_fd, int index) {
  auto fcgi = std::make_unique<FCGX_Request>();
  FCGX_InitRequest(fcgi.get(), listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
  while (!stopping_.load()) {
    int rc = FCGX_Accept_r(fcgi.get());
    if (rc < 0) {
      if (stopping_.load()) break;
      if (rc != -EINTR) {
        LogError("accept_failed", {{"errno", -rc}, {"error", std::strerror(-rc)}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // don't spin on a broken socket
      }
      continue;
    }
    in_flight_.fetch_add(1);
    auto guard = std::make_shared<Metrics::InFlightGuard>(*app_.metrics);
    Request req = ReadRequest(fcgi.get());
    // Keys, operator endpoints, CORS preflights (access.h): a refused
    // request is never routed, so no handler or limit sees it.
    RouteMatch match;
    if (std::optional<Response> refused = CheckAccess(&req, app_.access)) match.error = std::move(*refused);
    else match = router_.Match(req);
    auto ticket = std::make_shared<ConcurrencyTicket>();  // held until the answer is written
    if (match.handler && app_.limits && IsLimited(req.path)) {
      Decision d = app_.limits->Admit(ClientIdOf(req), Metrics::NowMs());
      if (!d.allowed) {
        match.handler = nullptr;
        match.error = ErrorResponse(ResourceExhausted("rate_limited", d.reason == DenyReason::kConcurrent
                                                                          ? "Too many requests from you at once."
                                                                          : "Too many requests from you; slow down."),
                                    req.request_id);
        match.error.AddHeader("Retry-After", std::to_string(std::max(1, d.retry_after_s)));
      } else {
        *ticket = std::move(d.ticket);
      }
    }
    std::optional<Response> answered;  // by a slow route's no-wait half
    if (match.handler && match.kind == RouteKind::kSlow && match.fast_try) {
      answered = Guarded(req, [&] { return (*match.fast_try)(req, app_); });
    }
    if (match.handler && match.kind == RouteKind::kSlow && !answered) {
      req.fast_try_declined = match.fast_try != nullptr;
      auto job = std::make_unique<SlowJob>();
      job->fcgi = std::move(fcgi);
      job->request = std::move(req);
      const Handler* handler = match.handler;
      job->handler = [this, handler](const Request& r) {
        Response resp = SafeCall(*handler, r, app_);
        Stamp(resp, r, in_flight_.load(), app_.access);
        return resp;
      };
      job->on_done = [this, guard, ticket](const Request& r, const Response& resp) {
        in_flight_.fetch_sub(1);
        app_.metrics->RecordRequest(RouteOf(r, resp), resp.status,
                                    std::chrono::duration<double>(std::chrono::steady_clock::now() - r.received_at).count());
      };
      if (slow_pool_->Submit(job)) {
        // The pool owns that connection now; accept the next on a new one.
        fcgi = std::make_unique<FCGX_Request>();
        FCGX_InitRequest(fcgi.get(), listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
        continue;
      }
      fcgi = std::move(job->fcgi);  // refused: answer here
      req = std::move(job->request);
      match.error = Busy(req);
      match.handler = nullptr;
    }
    Response resp = answered        ? std::move(*answered)
                    : match.handler ? SafeCall(*match.handler, req, app_)
                                    : std::move(match.error);
    if (resp.hold_until && !resp.stream) {
      // The pool's group commit sends it; this thread accepts the next one.
      auto held = std::make_shared<Held>(Held{std::move(fcgi), std::move(req), std::move(resp), guard, ticket});
      held_.fetch_add(1);
      auto release = std::move(held->resp.hold_until);
      release([this, held] {
        Send(held->fcgi.get(), held->req, held->resp);
        held_.fetch_sub(1);
      });
      fcgi = std::make_unique<FCGX_Request>();
      FCGX_InitRequest(fcgi.get(), listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
      continue;
    }
    Send(fcgi.get(), req, resp);
    guard.reset();
    ticket.reset();
  }
  FCGX_Free(fcgi.get(), 1);
  exited_[index] = true;
}

bool Server::Stop(std::chrono::milliseconds drain) {
  stopping_ = true;
  FCGX_ShutdownPending();
  auto deadline = std::chrono::steady_clock::now() + drain;
  for (;;) {
    bool all_exited = true;
    for (size_t i = 0; i < threads_.size(); ++i) {
      if (exited_[i]) continue;
      all_exited = false;
      pthread_kill(threads_[i].native_handle(), SIGUSR1);
    }
    if (all_exited) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      // Requests still running: the caller exits the process anyway; the
      // threads die with it (nginx answers those requests 502).
      for (auto& t : threads_) t.detach();
      threads_.clear();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  while (held_.load() > 0 && std::chrono::steady_clock::now() < deadline) {  // answers waiting for the disk
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return slow_pool_ ? slow_pool_->Stop(std::max(left, std::chrono::milliseconds(0))) : true;
}

}  // namespace folio
