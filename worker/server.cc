// server.cc: accept loops and a graceful stop.
//
// Stopping: the listening socket is shared with the other worker processes,
// so it must not be shut down or closed for everyone. Instead each accept
// thread is interrupted with SIGUSR1 (no SA_RESTART): accept() fails with
// EINTR, the listener returns nullptr, and the loop sees stopping_. A thread
// busy with a request finishes it first. The signal is re-sent every 50 ms
// until every thread has left, which closes the window between checking
// stopping_ and entering accept(). Then the answers waiting for their
// session turn go out, and the chat threads finish what they hold, all
// within the same drain deadline.
#include "server.h"

#include <pthread.h>
#include <signal.h>

#include "fcgi_io.h"

namespace folio {

Server::~Server() {
  if (!threads_.empty()) Stop(std::chrono::milliseconds(0));
}

void Server::Start(int listen_fd, int accept_threads, int chat_threads, int chat_queue) {
  chat_ = std::make_unique<SlowPool>(chat_threads, chat_queue);
  lifecycle_ = std::make_unique<Lifecycle>(app_, *chat_);
  exited_ = std::make_unique<std::atomic<bool>[]>(accept_threads);
  for (int i = 0; i < accept_threads; ++i) {
    exited_[i] = false;
    threads_.emplace_back(&Server::AcceptLoop, this, listen_fd, i);
  }
}

void Server::AcceptLoop(int listen_fd, int index) {
  FcgiListener listener(listen_fd);
  while (!stopping_.load()) {
    std::unique_ptr<Exchange> exchange = listener.Accept();
    if (exchange) lifecycle_->Serve(std::move(exchange));
  }
  exited_[index] = true;
}

bool Server::Stop(std::chrono::milliseconds drain) {
  stopping_ = true;
  StopAcceptingFastCgi();
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
  while (lifecycle_ && lifecycle_->held() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // answers waiting for the disk
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return chat_ ? chat_->Stop(std::max(left, std::chrono::milliseconds(0))) : true;
}

}  // namespace folio
