// Kernel variant "scalar": the last resort for CPUs without AVX2 (and for non-x86 builds). It is
// compiled for the baseline ISA; its 4-float vectors become SSE2 (or NEON) operations, so it is
// plain portable C++ rather than literally scalar. 4×8 GEMM micro-tile. See kernels.inl.
#include <cmath>
#include <cstddef>

#include "kernels.h"
#include "pool.h"

namespace seapo {
namespace scalar {
constexpr int VL = 4, MR = 4, NV = 2;
constexpr i64 KC = 256, MC = 64, NC = 256;
constexpr const char* kName = "scalar";
constexpr const char* kIsa = "scalar";
#include "kernels.inl"
}  // namespace scalar

const KernelTable* variantScalar() { return &scalar::kTable; }
}  // namespace seapo
