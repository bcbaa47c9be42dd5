// Kernel variant "avx2": 6×16 GEMM micro-tile on 8-float vectors (ymm). See kernels.inl.
#include <cmath>
#include <cstddef>

#include "kernels.h"
#include "pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
namespace seapo {
namespace avx2 {
constexpr int VL = 8, MR = 6, NV = 2;
constexpr i64 KC = 256, MC = 96, NC = 1536;
constexpr const char* kName = "avx2";
constexpr const char* kIsa = "avx2";
#include "kernels.inl"
}  // namespace avx2
}  // namespace seapo
#pragma GCC pop_options

namespace seapo {
const KernelTable* variantAvx2() { return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? &avx2::kTable : nullptr; }
}  // namespace seapo
#else
namespace seapo {
const KernelTable* variantAvx2() { return nullptr; }
}  // namespace seapo
#endif
