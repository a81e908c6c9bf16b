// A fixed pool of worker threads with a blocking ParallelFor. One process-wide pool (Global()) sized by
// QFORGE_THREADS or the hardware concurrency; kernels split work over output rows / tiles with it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qforge {

class ThreadPool {
 public:
  explicit ThreadPool(size_t num_threads);  // total participants, including the calling thread
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t num_threads() const { return workers_.size() + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n), each at least `grain` long (except the
  // last), from up to num_threads() threads, and returns when all are done. Exceptions thrown by fn are
  // rethrown here (the first one). Nested calls from inside fn run serially.
  void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

  static ThreadPool& Global();

 private:
  void WorkerLoop();
  void RunChunks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t n_ = 0, chunk_ = 0, next_ = 0, active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex call_mu_;  // one ParallelFor at a time
};

}  // namespace qforge
