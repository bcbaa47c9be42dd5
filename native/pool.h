// A persistent thread pool and per-thread scratch memory, shared by every kernel variant.
//
// This header is included before any `#pragma GCC target` region, so everything here is compiled
// for the baseline ISA and is identical in every translation unit.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>

namespace seapo {

// Number of threads kernels may use, the caller included (SEAPO_THREADS, else the core count).
int poolThreads();

// Runs task(ctx, i) for i in [0, tasks) on the pool; the caller works too and returns when all
// tasks are done. If another thread is already running a job on the pool (a second JS thread),
// the tasks run serially on the caller instead of waiting.
void poolRun(int tasks, void (*task)(void* ctx, int i), void* ctx);

template <class F>
void parallelFor(int tasks, F&& fn) {
  if (tasks <= 0) return;
  if (tasks == 1) {
    fn(0);
    return;
  }
  using Fn = typename std::remove_reference<F>::type;
  poolRun(tasks, [](void* ctx, int i) { (*static_cast<Fn*>(ctx))(i); }, &fn);
}

// Grow-only, 64-byte aligned float buffer; one per thread and purpose (declare it thread_local).
struct Scratch {
  float* data = nullptr;
  std::size_t capacity = 0;

  float* get(std::size_t floats) {
    if (floats > capacity) {
      std::free(data);
      std::size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (data == nullptr) {
        capacity = 0;
        throw std::bad_alloc();
      }
      capacity = bytes / sizeof(float);
    }
    return data;
  }
  ~Scratch() { std::free(data); }
};

}  // namespace seapo
