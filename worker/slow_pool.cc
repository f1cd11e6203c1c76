// slow_pool.cc: a fixed set of threads over a bounded FIFO.
#include "slow_pool.h"

namespace folio {

SlowPool::SlowPool(int threads, int queue_limit) : queue_limit_(queue_limit), thread_count_(threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back(&SlowPool::Run, this);
}

SlowPool::~SlowPool() {
  for (auto& t : threads_)
    if (t.joinable()) t.detach();
}

bool SlowPool::Submit(Task& task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Threads neither running a task nor about to take a queued one.
    const int idle = thread_count_ - running_ - static_cast<int>(queue_.size());
    if (stopping_ || (idle <= 0 && static_cast<int>(queue_.size()) >= queue_limit_)) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void SlowPool::Run() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    task();  // REQUIRES: does not throw (the lifecycle guards what it runs)
    {
      std::lock_guard<std::mutex> lock(mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

bool SlowPool::Stop(std::chrono::milliseconds drain) {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  bool drained = idle_cv_.wait_for(lock, drain, [this] { return queue_.empty() && running_ == 0; });
  lock.unlock();
  if (drained)
    for (auto& t : threads_) t.join();
  threads_.clear();
  return drained;
}

int SlowPool::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

int SlowPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

}  // namespace folio
