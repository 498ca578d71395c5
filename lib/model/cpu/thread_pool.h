// A fixed pool of worker threads for the CPU backend's element-wise and attention loops.
//
// Work is split into contiguous, equal parts by index, one per thread, so every run over
// the same n writes the same elements from the same thread: results never depend on timing.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace omlkit::model {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads >= 1; the caller is one of them
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Runs fn(begin, end) over [0, n) in size() parts and waits for all of them. Runs inline
  // when n < min_parallel, where starting threads would cost more than the work.
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn,
                    size_t min_parallel = 1);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(size_t, size_t)>* task_ = nullptr;
  size_t task_n_ = 0;
  unsigned long generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace omlkit::model
