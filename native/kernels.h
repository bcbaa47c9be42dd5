// The contract between the N-API layer (addon.cc) and the kernel variants.
//
// Every variant (AVX-512, AVX2, generic) compiles the same source, native/kernels.inl, with its own
// vector width, GEMM tile shape and target ISA, and hands back one table of function pointers. The
// addon validates arguments on the JS thread, then calls through the active table; kernels never
// see a bad size and never touch JS values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace seapo {

using i64 = std::int64_t;

// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b], row-major; op(X) = Xᵀ when trans is set.
// A[b] starts at a + b·strideA (stride 0 broadcasts one matrix), likewise B and C.
// B is either f32 (`b`) or bf16 bit patterns (`b16`, the upper halves of f32s; `b` is then null).
// With bf16 B, `bf16Dot` picks the arithmetic: false widens B to f32 while packing and runs the f32
// product (exactly the f32 GEMM of the widened B); true rounds A to bf16 too (round to nearest even)
// and sums bf16 pair products in f32, as AVX512-BF16's vdpbf16ps does.
struct GemmArgs {
  const float* a;
  const float* b;
  const std::uint16_t* b16;
  bool bf16Dot;
  // Set instead of b: op(B) = Wᵀ packed by packWeight for this variant (batch 1; transB is implied).
  const float* bPacked;
  float* c;
  i64 m, n, k;
  bool transA, transB;
  float alpha, beta;
  i64 batch, strideA, strideB, strideC;
};

// Rotate-half RoPE over head vectors of 2·half elements.
struct RopeArgs {
  const float* x;
  const float* cos;
  const float* sin;
  float* out;
  i64 batch, seq, heads, half;
  bool headsFirst;    // x is [batch, heads, seq, 2·half] instead of [batch, seq, heads, 2·half]
  bool fullTable;     // cos/sin rows hold 2·half values (Hugging Face layout) instead of half
  bool tableBatched;  // cos/sin carry a leading batch dimension
  bool adjoint;       // apply the transpose (the backward pass): rotation by −θ
};

struct KernelTable {
  const char* name;  // variant name, e.g. "avx2"
  const char* isa;   // "avx512" | "avx2" | "scalar"
  bool bf16Native;   // bf16Dot products run on the vdpbf16ps instruction (else an f32 emulation of it)
  void (*gemm)(const GemmArgs&);
  void (*rmsnorm)(const float* x, const float* w, float* out, i64 rows, i64 cols, float eps);
  // dx is overwritten; dw is accumulated into.
  void (*rmsnormBackward)(const float* g, const float* x, const float* w, float* dx, float* dw, i64 rows,
                          i64 cols, float eps);
  void (*siluMul)(const float* g, const float* u, float* out, i64 n);
  // dg and du are overwritten.
  void (*siluMulBackward)(const float* grad, const float* g, const float* u, float* dg, float* du, i64 n);
  // log selects log-softmax.
  void (*softmax)(const float* x, float* out, i64 rows, i64 cols, bool log);
  // y is the forward output (softmax or log-softmax); dx is overwritten.
  void (*softmaxBackward)(const float* grad, const float* y, float* dx, i64 rows, i64 cols, bool log);
  void (*rope)(const RopeArgs&);
  // out[i] = a[i] op b[i % period] for op 0 add, 1 sub, 2 mul, 3 div; period divides n; out may be a or b.
  void (*elementwise)(int op, const float* a, const float* b, float* out, i64 n, i64 period);
  // The GEMM's layout (micro-panel width and cache blocks), which a packed weight is tied to.
  i64 nr, kc, nc;
  // Floats a packed W [n, k] takes, and the packing: op(B) = Wᵀ, from f32 w or bf16 bits w16 (w16 when set).
  i64 (*packedLength)(i64 n, i64 k);
  void (*packWeight)(const float* w, const std::uint16_t* w16, i64 n, i64 k, float* dst);
};

// Each returns nullptr when the variant was not compiled (non-x86 builds) or this CPU cannot run it.
const KernelTable* variantAvx512Bf16();  // avx512 plus AVX512-BF16 (vdpbf16ps) for bf16 products
const KernelTable* variantAvx512();
const KernelTable* variantAvx2();
const KernelTable* variantAvx2Wide();  // the AVX-512 tile shape compiled for AVX2 (tests the 8×32 code)
const KernelTable* variantScalar();

}  // namespace seapo
