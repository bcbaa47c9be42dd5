// Kernel variant "avx2-wide": the avx512 variant's exact configuration (8×32 tile, 16-float vectors)
// compiled for AVX2, where GCC splits each vector in two. It lets machines without AVX-512 run and
// test the avx512 source; it is slower than "avx2" and never chosen by default. See kernels.inl.
#include <cmath>
#include <cstddef>

#include "kernels.h"
#include "pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi2")
namespace seapo {
namespace avx2_wide {
constexpr int VL = 16, MR = 8, NV = 2;
constexpr i64 KC = 256, MC = 128, NC = 512;
constexpr const char* kName = "avx2-wide";
constexpr const char* kIsa = "avx2";
#include "kernels.inl"
}  // namespace avx2_wide
}  // namespace seapo
#pragma GCC pop_options

namespace seapo {
const KernelTable* variantAvx2Wide() { return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? &avx2_wide::kTable : nullptr; }
}  // namespace seapo
#else
namespace seapo {
const KernelTable* variantAvx2Wide() { return nullptr; }
}  // namespace seapo
#endif
