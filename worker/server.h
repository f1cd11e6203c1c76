// server.h: the threads of one worker process. WORKER_THREADS accept
// threads each block in their FcgiListener on the listening socket that
// supervisord passes as fd 0 (shared by every worker process; the kernel
// hands each connection to one waiting thread) and serve what they accept
// through the Lifecycle (lifecycle.h), which hands the waiting part of slow
// routes to CHAT_THREADS chat threads (slow_pool.h). So however many chats
// wait on the LLM, an accept thread is free for the next probe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "app.h"
#include "lifecycle.h"
#include "slow_pool.h"

namespace folio {

class Server {
 public:
  explicit Server(App& app) : app_(app) {}
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts `accept_threads` accept loops on `listen_fd`, and `chat_threads`
  // for slow routes with at most `chat_queue` requests waiting for one.
  // REQUIRES: InitFastCgi() called; SIGUSR1 has a no-op handler without
  // SA_RESTART (it is how Stop() interrupts a blocked accept()).
  void Start(int listen_fd, int accept_threads, int chat_threads, int chat_queue);

  // Stops accepting, lets in-flight requests finish, and joins the threads.
  // Returns false if some request was still running after `drain`.
  bool Stop(std::chrono::milliseconds drain);

  int in_flight() const { return lifecycle_ ? lifecycle_->in_flight() : 0; }

 private:
  void AcceptLoop(int listen_fd, int index);

  App& app_;
  std::unique_ptr<SlowPool> chat_;
  std::unique_ptr<Lifecycle> lifecycle_;
  std::vector<std::thread> threads_;
  std::unique_ptr<std::atomic<bool>[]> exited_;
  std::atomic<bool> stopping_{false};
};

}  // namespace folio
