#include "core/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace qforge {
namespace {
thread_local bool t_inside_pool = false;
}

ThreadPool::ThreadPool(size_t num_threads) {
  const size_t n = std::max<size_t>(1, num_threads);
  for (size_t i = 1; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks() {
  const bool was_inside = t_inside_pool;
  t_inside_pool = true;
  for (;;) {
    size_t begin;
    {
      std::lock_guard lk(mu_);
      if (next_ >= n_ || error_) break;
      begin = next_;
      next_ = std::min(n_, next_ + chunk_);
    }
    try {
      (*fn_)(begin, std::min(n_, begin + chunk_));
    } catch (...) {
      std::lock_guard lk(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
  t_inside_pool = was_inside;
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_work_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++active_;
    }
    RunChunks();
    {
      std::lock_guard lk(mu_);
      --active_;
    }
    cv_done_.notify_all();
  }
}

void ThreadPool::ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  if (workers_.empty() || t_inside_pool || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard call_lk(call_mu_);
  {
    std::lock_guard lk(mu_);
    fn_ = &fn;
    n_ = n;
    // About 4 chunks per thread for balance, never below the grain.
    chunk_ = std::max(grain, (n + 4 * num_threads() - 1) / (4 * num_threads()));
    next_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  cv_work_.notify_all();
  RunChunks();
  std::exception_ptr err;
  {
    std::unique_lock lk(mu_);
    cv_done_.wait(lk, [&] { return active_ == 0 && (next_ >= n_ || error_); });
    err = error_;
    fn_ = nullptr;
    n_ = 0;
  }
  if (err) std::rethrow_exception(err);
}

ThreadPool& ThreadPool::Global() {
  static ThreadPool pool([] {
    if (const char* env = std::getenv("QFORGE_THREADS")) {
      const long v = std::strtol(env, nullptr, 10);
      if (v > 0) return static_cast<size_t>(v);
    }
    return static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency()));
  }());
  return pool;
}

}  // namespace qforge
