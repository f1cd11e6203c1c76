// server.h: the request loops of one worker process. WORKER_THREADS accept
// threads each block in FCGX_Accept_r on the listening socket that
// supervisord passes as fd 0 (shared by every worker process; the kernel
// hands each connection to one waiting thread), read the request and route
// it: fast routes are answered on the accept thread, slow ones (waiting on
// the LLM) go to the chat threads of a SlowPool. A handler exception is
// caught, logged and answered with 500: one bad request never takes a
// process down.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "app.h"
#include "router.h"
#include "slow_pool.h"

namespace folio {

class Server {
 public:
  Server(App& app, const Router& router) : app_(app), router_(router) {}
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts `accept_threads` accept loops on `listen_fd`, and `chat_threads`
  // for slow routes with at most `chat_queue` requests waiting for one.
  // REQUIRES: FCGX_Init() called; SIGUSR1 has a no-op handler without
  // SA_RESTART (it is how Stop() interrupts a blocked accept()).
  void Start(int listen_fd, int accept_threads, int chat_threads, int chat_queue);

  // Stops accepting, lets in-flight requests finish, and joins the threads.
  // Returns false if some request was still running after `drain`.
  bool Stop(std::chrono::milliseconds drain);

  int in_flight() const { return in_flight_.load(); }

 private:
  void AcceptLoop(int listen_fd, int index);
  // An answer whose send waits for a durable write (Response::hold_until).
  struct Held;
  // Writes the answer, finishes the request, records and logs it.
  void Send(FCGX_Request* fcgi, const Request& req, Response& resp);

  App& app_;
  const Router& router_;
  std::vector<std::thread> threads_;
  std::unique_ptr<SlowPool> slow_pool_;
  std::unique_ptr<std::atomic<bool>[]> exited_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> held_{0};  // answers waiting for their write (Held)
  std::atomic<int> in_flight_{0};
};

}  // namespace folio
