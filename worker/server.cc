// server.cc: accept loops and graceful stop.
//
// Stopping: the listening socket is shared with the other worker processes,
// so it must not be shut down or closed for everyone. Instead each thread
// is interrupted with SIGUSR1 (no SA_RESTART): accept() fails with EINTR,
// libfcgi returns because of FCGI_FAIL_ACCEPT_ON_INTR, and the loop sees
// stopping_. A thread busy with a request finishes it first. The signal is
// re-sent every 50 ms until every thread has left, which closes the window
// between checking stopping_ and entering accept().
#include "server.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstring>

#include "fcgi_io.h"
#include "log.h"

namespace folio {

namespace {

// Probes are logged at debug: a keep-alive cron every few minutes and a
// platform health check every few seconds would drown the request log.
bool IsProbe(const std::string& path) { return path == "/ping" || path == "/ready"; }

void LogRequest(const Request& req, const Response& resp, bool written) {
  LogLevel level = resp.status >= 500 ? LogLevel::kError
                   : IsProbe(req.path) && resp.status < 400 ? LogLevel::kDebug
                                                            : LogLevel::kInfo;
  if (!LogEnabled(level)) return;
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - req.received_at).count();
  nlohmann::json fields = {{"request_id", req.request_id}, {"method", Excerpt(req.method, 16)},
                           {"path", Excerpt(req.path, 120)}, {"status", resp.status},
                           {"duration_ms", ms}};
  if (!written) fields["client_gone"] = true;
  Log(level, "request", fields);
}

Response SafeDispatch(const Router& router, const Request& req, App& app) {
  try {
    return router.Dispatch(req, app);
  } catch (const std::exception& e) {
    LogError("handler_exception", {{"request_id", req.request_id}, {"path", Excerpt(req.path, 120)},
                                   {"what", Excerpt(e.what(), 200)}});
  } catch (...) {
    LogError("handler_exception", {{"request_id", req.request_id}, {"path", Excerpt(req.path, 120)}});
  }
  return ErrorResponse(Internal("internal", "Something went wrong on our side."), req.request_id);
}

}  // namespace

Server::~Server() {
  if (!threads_.empty()) Stop(std::chrono::milliseconds(0));
}

void Server::Start(int listen_fd, int threads) {
  exited_ = std::make_unique<std::atomic<bool>[]>(threads);
  for (int i = 0; i < threads; ++i) {
    exited_[i] = false;
    threads_.emplace_back(&Server::AcceptLoop, this, listen_fd, i);
  }
}

void Server::AcceptLoop(int listen_fd, int index) {
  FCGX_Request fcgi;
  FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
  while (!stopping_.load()) {
    int rc = FCGX_Accept_r(&fcgi);
    if (rc < 0) {
      if (stopping_.load()) break;
      if (rc != -EINTR) {
        LogError("accept_failed", {{"errno", -rc}, {"error", std::strerror(-rc)}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // don't spin on a broken socket
      }
      continue;
    }
    in_flight_.fetch_add(1);
    Request req = ReadRequest(&fcgi);
    Response resp = SafeDispatch(router_, req, app_);
    bool written = WriteResponse(&fcgi, resp);
    FCGX_Finish_r(&fcgi);
    in_flight_.fetch_sub(1);
    LogRequest(req, resp, written);
  }
  FCGX_Free(&fcgi, 1);
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
  return true;
}

}  // namespace folio
