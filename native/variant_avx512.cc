// Kernel variant "avx512": 8×32 GEMM micro-tile on 16-float vectors (zmm). See kernels.inl.
#include <cmath>
#include <cstddef>

#include "kernels.h"
#include "pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2")
namespace seapo {
namespace avx512 {
constexpr int VL = 16, MR = 8, NV = 2;
constexpr i64 KC = 256, MC = 128, NC = 512;
constexpr const char* kName = "avx512";
constexpr const char* kIsa = "avx512";
#include "kernels.inl"
}  // namespace avx512
}  // namespace seapo
#pragma GCC pop_options

namespace seapo {
const KernelTable* variantAvx512() { return __builtin_cpu_supports("avx512f") ? &avx512::kTable : nullptr; }
}  // namespace seapo
#else
namespace seapo {
const KernelTable* variantAvx512() { return nullptr; }
}  // namespace seapo
#endif
