// slow_pool.h: the threads of one worker process that serve slow requests
// (those that wait on the LLM: seconds, not microseconds), so the accept
// threads never block on an upstream and probes, searches and cache hits
// stay fast while every chat slot is busy.
// An accepted FastCGI request is handed over whole (the FCGX_Request and the
// parsed Request); the pool owns it from then on and always finishes it.
// Thread-safe. The queue is bounded: when it is full, Submit() refuses and
// the accept thread answers 503 with Retry-After at once (load shedding)
// instead of letting the request wait for a slot until it times out.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fcgi_io.h"

namespace folio {

struct SlowJob {
  std::unique_ptr<FCGX_Request> fcgi;  // accepted connection, owned by the job
  Request request;
  std::function<Response(const Request&)> handler;
  std::function<void(const Request&, const Response&)> on_done;  // after the response is written
};

class SlowPool {
 public:
  // `threads` workers; at most `queue_limit` jobs waiting beyond those running.
  SlowPool(int threads, int queue_limit);
  ~SlowPool();  // REQUIRES: Stop() called
  SlowPool(const SlowPool&) = delete;
  SlowPool& operator=(const SlowPool&) = delete;

  // Takes the job, or returns it untouched (false) when the queue is full or
  // the pool is stopping.
  bool Submit(std::unique_ptr<SlowJob>& job);

  // Finishes queued and running jobs, up to `drain`; returns false if some
  // were still running then.
  bool Stop(std::chrono::milliseconds drain);

  int busy() const;
  int queued() const;

 private:
  void Run();

  const int queue_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::unique_ptr<SlowJob>> queue_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace folio
