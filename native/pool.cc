#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace seapo {
namespace {

int configuredThreads() {
  const char* env = std::getenv("SEAPO_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    long value = std::strtol(env, &end, 10);
    if (*end != '\0' || value < 1 || value > 1024) {
      throw std::runtime_error(std::string("SEAPO_THREADS must be an integer from 1 to 1024, got \"") + env + "\"");
    }
    return static_cast<int>(value);
  }
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

// Workers sleep on `wake` until `generation` changes, copy the job under the lock, then claim task
// indices from `next`. The caller resets `next` only once no worker is inside a job (`active` is 0),
// so a worker that woke late can never claim an index of the following job with a stale function.
class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {}

  int threads() const { return threads_; }

  void run(int tasks, void (*task)(void*, int), void* ctx) {
    std::unique_lock<std::mutex> caller(callerLock_, std::try_to_lock);
    if (threads_ == 1 || !caller.owns_lock()) {
      for (int i = 0; i < tasks; ++i) task(ctx, i);
      return;
    }
    startWorkers();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      idle_.wait(lock, [&] { return active_ == 0; });
      job_ = Job{task, ctx, tasks};
      error_ = nullptr;
      next_.store(0, std::memory_order_relaxed);
      done_.store(0, std::memory_order_relaxed);
      ++generation_;
    }
    wake_.notify_all();
    work(job_);
    // Spin briefly (workers usually finish within microseconds of us), then sleep.
    for (int spin = 0; spin < 4000 && done_.load(std::memory_order_acquire) < tasks; ++spin) {
      std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return done_.load(std::memory_order_acquire) >= tasks; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Job {
    void (*task)(void*, int) = nullptr;
    void* ctx = nullptr;
    int tasks = 0;
  };

  void startWorkers() {
    if (!workers_.empty()) return;
    for (int t = 1; t < threads_; ++t) workers_.emplace_back([this] { loop(); });
  }

  void work(const Job& job) {
    for (;;) {
      int i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= job.tasks) return;
      try {
        job.task(job.ctx, i);
      } catch (...) {  // e.g. bad_alloc for scratch memory: handed to the caller, never terminate
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == job.tasks) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.notify_all();
      }
    }
  }

  void loop() {
    unsigned long seen = 0;
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
        ++active_;
      }
      work(job);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --active_;
      }
      idle_.notify_all();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex callerLock_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_, idle_;
  unsigned long generation_ = 0;
  int active_ = 0;
  Job job_;
  std::exception_ptr error_;
  std::atomic<int> next_{0};
  std::atomic<int> done_{0};
};

// Never destroyed: the workers stay parked until the process exits.
Pool& pool() {
  static Pool* instance = new Pool(configuredThreads());
  return *instance;
}

}  // namespace

int poolThreads() { return pool().threads(); }

void poolRun(int tasks, void (*task)(void* ctx, int i), void* ctx) {
  if (tasks <= 0) return;
  pool().run(tasks, task, ctx);
}

}  // namespace seapo
