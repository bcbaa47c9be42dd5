// Kernel variant "avx512-bf16": the avx512 variant plus AVX512-BF16, whose vdpbf16ps multiplies bf16
// pairs and accumulates in f32; gemm with a bf16 B and bf16Dot set uses it (vcvtne2ps2bf16 rounds A).
// Every other kernel is the avx512 code. Compiled with its own target flags, so the rest of the
// binary stays runnable on CPUs without them, and chosen only where cpuid reports AVX512_BF16.
#include <cmath>
#include <cstddef>

#include "kernels.h"
#include "pool.h"

// GCC 10 introduced the AVX512-BF16 intrinsics; other compilers get no such variant.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,avx2,fma,bmi2")
namespace seapo {
namespace avx512_bf16 {
constexpr int VL = 16, MR = 8, NV = 2;
constexpr i64 KC = 256, MC = 128, NC = 512;
constexpr const char* kName = "avx512-bf16";
constexpr const char* kIsa = "avx512";
#define SEAPO_DPBF16 1
#include "kernels.inl"
#undef SEAPO_DPBF16
}  // namespace avx512_bf16
}  // namespace seapo
#pragma GCC pop_options

namespace seapo {
const KernelTable* variantAvx512Bf16() {
  const bool runs = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                    __builtin_cpu_supports("avx512bf16");
  return runs ? &avx512_bf16::kTable : nullptr;
}
}  // namespace seapo
#else
namespace seapo {
const KernelTable* variantAvx512Bf16() { return nullptr; }
}  // namespace seapo
#endif
