// slow_pool.cc: a fixed set of threads over a bounded FIFO.
#include "slow_pool.h"

#include <future>

#include "log.h"

namespace folio {

SlowPool::SlowPool(int threads, int queue_limit) : queue_limit_(queue_limit) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back(&SlowPool::Run, this);
}

SlowPool::~SlowPool() {
  for (auto& t : threads_)
    if (t.joinable()) t.detach();
}

bool SlowPool::Submit(std::unique_ptr<SlowJob>& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || static_cast<int>(queue_.size()) >= queue_limit_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void SlowPool::Run() {
  for (;;) {
    std::unique_ptr<SlowJob> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    Response response;
    try {
      response = job->handler(job->request);
    } catch (const std::exception& e) {
      LogError("handler_exception", {{"request_id", job->request.request_id}, {"what", Excerpt(e.what(), 200)}});
      response = ErrorResponse(Internal("internal", "Something went wrong on our side."), job->request.request_id);
    }
    if (response.hold_until && !response.stream) {  // a chat thread may wait for the write itself
      std::promise<void> released;
      std::future<void> sendable = released.get_future();
      auto hold = std::move(response.hold_until);
      hold([&released] { released.set_value(); });
      sendable.wait();
    }
    bool written = WriteResponse(job->fcgi.get(), response);
    FinishRequest(job->fcgi.get(), job->request);
    if (job->on_done) job->on_done(job->request, response);
    LogRequest(job->request, response, written);
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
