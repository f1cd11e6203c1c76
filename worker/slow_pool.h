// slow_pool.h: the threads of one worker process that run the waiting part
// of slow routes (an LLM answer: seconds, not microseconds), so the accept
// threads never block on an upstream and probes, searches and cache hits
// stay fast while every chat slot is busy. A task owns what it needs (the
// request's connection among it: worker/lifecycle.cc) and runs once.
// Thread-safe. The queue is bounded: when every thread is busy and
// `queue_limit` tasks already wait, Submit() refuses and the caller answers
// 503 with Retry-After at once (load shedding) instead of letting the
// request wait for a slot until it times out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace folio {

class SlowPool {
 public:
  using Task = std::function<void()>;

  // `threads` workers; at most `queue_limit` tasks waiting beyond those running.
  SlowPool(int threads, int queue_limit);
  ~SlowPool();  // REQUIRES: Stop() called
  SlowPool(const SlowPool&) = delete;
  SlowPool& operator=(const SlowPool&) = delete;

  // Takes the task (an idle thread runs it, or it waits its turn), or
  // returns false, leaving `task` untouched, when the queue is full or the
  // pool is stopping.
  bool Submit(Task& task);

  // Finishes queued and running tasks, up to `drain`; returns false if some
  // were still running then.
  bool Stop(std::chrono::milliseconds drain);

  int busy() const;
  int queued() const;

 private:
  void Run();

  const int queue_limit_;
  const int thread_count_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Task> queue_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace folio
