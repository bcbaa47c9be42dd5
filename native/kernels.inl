// The kernels, written once over GCC vector extensions and compiled once per variant.
//
// A variant file includes this inside its own namespace and `#pragma GCC target` region after
// defining: VL (floats per vector), MR × NV·VL (the GEMM micro-tile: MR rows of C, NV vectors wide),
// KC, MC, NC (cache blocks), kName and kIsa. Only plain loops, vector types and the helpers below are
// used here — no std templates — so nothing compiled for a wider ISA can leak into shared code.
//
// Buffers may alias exactly (out == x) in the fused kernels: every row is read before it is written.

constexpr i64 NR = NV * VL;
static_assert(MC % MR == 0 && NC % NR == 0, "cache blocks must hold whole micro-panels");

typedef float V __attribute__((vector_size(VL * 4)));
typedef float VU __attribute__((vector_size(VL * 4), aligned(4), may_alias));
typedef int VI __attribute__((vector_size(VL * 4)));

#define SEAPO_INLINE inline __attribute__((always_inline))

static SEAPO_INLINE i64 imin(i64 a, i64 b) { return a < b ? a : b; }
static SEAPO_INLINE V splat(float s) { return V{} + s; }
static SEAPO_INLINE V loadu(const float* p) { return *reinterpret_cast<const VU*>(p); }
static SEAPO_INLINE void storeu(float* p, V v) { *reinterpret_cast<VU*>(p) = v; }

// The first n lanes from p, the rest `fill`.
static SEAPO_INLINE V loadPart(const float* p, i64 n, float fill) {
  V v = splat(fill);
  for (i64 i = 0; i < n; ++i) v[i] = p[i];
  return v;
}
static SEAPO_INLINE void storePart(float* p, V v, i64 n) {
  for (i64 i = 0; i < n; ++i) p[i] = v[i];
}
static SEAPO_INLINE float hsum(V v) {
  float s = 0.f;
  for (int i = 0; i < VL; ++i) s += v[i];
  return s;
}
static SEAPO_INLINE V vmax(V a, V b) { return a > b ? a : b; }

// e^x to about one ulp: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial,
// 2^n built in the exponent bits. Below ln(2^-126) the result is flushed to 0; above ~88.38, +inf.
static SEAPO_INLINE V vexp(V x) {
  const V hi = splat(88.3762626647949f);
  const V lo = splat(-87.3365447504f);
  V xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  const V n = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest integer
  V r = xc - n * 0.693359375f;                                        // ln 2, high part (exact)
  r = r + n * 2.12194440e-4f;                                         // ln 2, low part
  V p = splat(1.f / 5040.f);
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const VI bits = (__builtin_convertvector(n, VI) + 127) << 23;
  V y = p * (V)bits;
  y = x < lo ? splat(0.f) : y;
  return x > hi ? splat(__builtin_inff()) : y;
}

static SEAPO_INLINE V vsigmoid(V x) { return 1.f / (1.f + vexp(-x)); }

// ---------------------------------------------------------------------------------------------
// GEMM: op(A) is packed into micro-panels of MR rows (k-major: MR values per k), op(B) into
// micro-panels of NR columns (NR values per k), both zero-padded, so the micro-kernel never sees an
// edge; only its store clips to the live mr × nr corner. Transposes are handled entirely by packing.

// C = alpha·acc + beta·C over the live mr × nr corner (beta == 0: C is not read).
static SEAPO_INLINE void storeTile(V (&acc)[MR][NV], float* c, i64 ldc, i64 mr, i64 nr, float alpha, float beta) {
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        float* cp = c + i * ldc + j * VL;
        V r = acc[i][j] * alpha;
        if (beta == 1.f) r += loadu(cp);
        else if (beta != 0.f) r += loadu(cp) * beta;
        storeu(cp, r);
      }
    return;
  }
  alignas(64) float tile[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) *reinterpret_cast<V*>(tile + i * NR + j * VL) = acc[i][j];
  for (i64 i = 0; i < mr; ++i)
    for (i64 j = 0; j < nr; ++j) {
      float* cp = c + i * ldc + j;
      float r = alpha * tile[i * NR + j];
      if (beta != 0.f) r += beta * *cp;
      *cp = r;
    }
}

// acc = Ã·B̃ over kc; then C = alpha·acc + beta·C (beta == 0: C is not read).
static SEAPO_INLINE void microTile(i64 kc, const float* __restrict a, const float* __restrict b, float* c,
                                   i64 ldc, i64 mr, i64 nr, float alpha, float beta) {
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V{};
  // C's rows are far apart in a wide matrix; fetch them while the sums run, not at the store.
  for (i64 i = 0; i < mr; ++i) {
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + nr - 1, 1);
  }

  for (i64 p = 0; p < kc; ++p, a += MR, b += NR) {
    V bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = *reinterpret_cast<const V*>(b + j * VL);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] += ai * bv[j];
    }
  }
  storeTile(acc, c, ldc, mr, nr, alpha, beta);
}

// ---- 8×8 transposes for packing (the avx2 variant: VL == 8) --------------------------------------
// Packing a matrix whose rows run along k (A as stored, or B transposed) writes one value per row at
// each k. Eight rows of eight values transposed in registers write whole vectors instead.

typedef float V8 __attribute__((vector_size(32)));
typedef float V8U __attribute__((vector_size(32), aligned(4), may_alias));
typedef int VI8 __attribute__((vector_size(32)));

// r[i][q] → r[q][i].
static SEAPO_INLINE void transpose8(V8 (&r)[8]) {
  V8 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shuffle(r[i], r[i + 1], VI8{0, 8, 1, 9, 4, 12, 5, 13});
    t[i + 1] = __builtin_shuffle(r[i], r[i + 1], VI8{2, 10, 3, 11, 6, 14, 7, 15});
  }
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; ++j) {
      u[i + 2 * j] = __builtin_shuffle(t[i + j], t[i + j + 2], VI8{0, 1, 8, 9, 4, 5, 12, 13});
      u[i + 2 * j + 1] = __builtin_shuffle(t[i + j], t[i + j + 2], VI8{2, 3, 10, 11, 6, 7, 14, 15});
    }
  for (int q = 0; q < 4; ++q) {
    r[q] = __builtin_shuffle(u[q], u[q + 4], VI8{0, 1, 2, 3, 8, 9, 10, 11});
    r[q + 4] = __builtin_shuffle(u[q], u[q + 4], VI8{4, 5, 6, 7, 12, 13, 14, 15});
  }
}

// Values [p, p+8) of `rows` rows starting at src (row stride ld; missing rows are zeros), transposed.
static SEAPO_INLINE void loadTransposed8(const float* src, i64 ld, i64 rows, i64 p, V8 (&r)[8]) {
  for (int i = 0; i < 8; ++i) r[i] = i < rows ? *reinterpret_cast<const V8U*>(src + i * ld + p) : V8{};
  transpose8(r);
}

// The first multiple of 8 values of `rows` (≤ MR) rows into an MR-row micro-panel, zeros below the rows;
// returns how many values per row it packed. Each 8-value store spills two values into the next k's
// slots, which the next store overwrites; the last store of a block writes MR values only.
static SEAPO_INLINE i64 packRows8(const float* src, i64 ld, i64 rows, i64 kc, float* __restrict dst) {
  const i64 whole = kc / 8 * 8;
  for (i64 p = 0; p < whole; p += 8) {
    V8 r[8];
    loadTransposed8(src, ld, rows, p, r);
    for (int q = 0; q < 7; ++q) *reinterpret_cast<V8U*>(dst + (p + q) * MR) = r[q];
    for (int i = 0; i < MR; ++i) dst[(p + 7) * MR + i] = r[7][i];
  }
  return whole;
}

// Rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) into MR-row micro-panels.
static void packA(const float* A, bool trans, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, float* __restrict dst) {
  for (i64 ir = 0; ir < mc; ir += MR, dst += MR * kc) {
    const i64 mr = imin(MR, mc - ir);
    if (!trans) {  // op(A)[i][p] = A[i·lda + p]: walk each row
      const float* src = A + (i0 + ir) * lda + p0;
      i64 done = 0;
      if constexpr (VL == 8 && MR <= 8) done = packRows8(src, lda, mr, kc, dst);
      for (i64 i = 0; i < mr; ++i)
        for (i64 p = done; p < kc; ++p) dst[p * MR + i] = src[i * lda + p];
      for (i64 i = mr; i < MR; ++i)
        for (i64 p = done; p < kc; ++p) dst[p * MR + i] = 0.f;
    } else {  // op(A)[i][p] = A[p·lda + i]: MR contiguous values per p
      for (i64 p = 0; p < kc; ++p) {
        const float* src = A + (p0 + p) * lda + i0 + ir;
        float* d = dst + p * MR;
        for (i64 i = 0; i < mr; ++i) d[i] = src[i];
        for (i64 i = mr; i < MR; ++i) d[i] = 0.f;
      }
    }
  }
}

// bf16 is the upper half of an f32, so widening is a shift and exact.
static SEAPO_INLINE float widen(float x) { return x; }
static SEAPO_INLINE float widen(std::uint16_t h) {
  const unsigned bits = static_cast<unsigned>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// A whole NR-wide micro-panel of op(B) = Bᵀ from NR rows of B (row stride ld), the first multiple of 8
// values of each; returns how many it packed.
static SEAPO_INLINE i64 packColumns8(const float* src, i64 ld, i64 kc, float* __restrict dst) {
  const i64 whole = kc / 8 * 8;
  for (i64 p = 0; p < whole; p += 8)
    for (i64 g = 0; g < NR; g += 8) {
      V8 r[8];
      loadTransposed8(src + g * ld, ld, 8, p, r);
      for (int q = 0; q < 8; ++q) *reinterpret_cast<V8U*>(dst + (p + q) * NR + g) = r[q];
    }
  return whole;
}

// Rows [p0, p0+kc) × micro-panels [jp0, jp1) of the column block starting at j0 (width nc) of op(B).
// T is float, or std::uint16_t for bf16 (widened to f32 here).
template <class T>
static void packB(const T* B, bool trans, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, i64 jp0, i64 jp1,
                  float* __restrict bPack) {
  for (i64 jp = jp0; jp < jp1; ++jp) {
    const i64 jr = jp * NR;
    const i64 nr = imin(NR, nc - jr);
    float* dst = bPack + jr * kc;
    if (!trans) {  // op(B)[p][j] = B[p·ldb + j]: NR contiguous values per p
      for (i64 p = 0; p < kc; ++p) {
        const T* src = B + (p0 + p) * ldb + j0 + jr;
        float* d = dst + p * NR;
        if (sizeof(T) == 4 && nr == NR) {
          for (int v = 0; v < NV; ++v)
            *reinterpret_cast<V*>(d + v * VL) = loadu(reinterpret_cast<const float*>(src) + v * VL);
        } else {
          for (i64 j = 0; j < nr; ++j) d[j] = widen(src[j]);
          for (i64 j = nr; j < NR; ++j) d[j] = 0.f;
        }
      }
    } else {  // op(B)[p][j] = B[j·ldb + p]: walk each row of B
      i64 done = 0;
      if constexpr (VL == 8 && sizeof(T) == 4) {
        if (nr == NR) done = packColumns8(reinterpret_cast<const float*>(B) + (j0 + jr) * ldb + p0, ldb, kc, dst);
      }
      for (i64 j = 0; j < nr; ++j) {
        const T* src = B + (j0 + jr + j) * ldb + p0;
        for (i64 p = done; p < kc; ++p) dst[p * NR + j] = widen(src[p]);
      }
      for (i64 j = nr; j < NR; ++j)
        for (i64 p = 0; p < kc; ++p) dst[p * NR + j] = 0.f;
    }
  }
}

// ---- bf16 products --------------------------------------------------------------------------
// Packed like the f32 panels, but each element is a pair of bf16 values along k in one 32-bit word
// (even k in the low half), the layout vdpbf16ps reads: one word of A is broadcast, and each f32
// lane j of C gains a[2q]·b[2q][j] + a[2q+1]·b[2q+1][j]. An odd k is padded with a zero.

typedef unsigned Pair __attribute__((may_alias));
typedef unsigned VP __attribute__((vector_size(VL * 4), may_alias));

static SEAPO_INLINE unsigned floatBits(float x) {
  unsigned u;
  __builtin_memcpy(&u, &x, 4);
  return u;
}
static SEAPO_INLINE float bitsFloat(unsigned u) {
  float x;
  __builtin_memcpy(&x, &u, 4);
  return x;
}

// f32 → bf16, rounding to nearest even; a NaN stays a (quiet) NaN.
static SEAPO_INLINE unsigned toBf16(float x) {
  const unsigned u = floatBits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

static SEAPO_INLINE unsigned pairOf(float lo, float hi) { return toBf16(lo) | (toBf16(hi) << 16); }

#ifdef SEAPO_DPBF16
static SEAPO_INLINE V dot2(V acc, unsigned a, VP b) {
  return (V)_mm512_dpbf16_ps((__m512)acc, (__m512bh)_mm512_set1_epi32(static_cast<int>(a)), (__m512bh)b);
}
// 32 consecutive floats of a row into 16 pairs with vcvtne2ps2bf16 (its second operand fills the low half).
static SEAPO_INLINE void pairs16(const float* src, unsigned* out) {
  const __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
  _mm512_storeu_si512(out, (__m512i)r);
}
constexpr int kRowPairs = 16;
#else
// The same arithmetic in f32: each bf16 product is exact in f32; odd term first, as Intel documents.
static SEAPO_INLINE V dot2(V acc, unsigned a, VP b) {
  const V bOdd = (V)(b & 0xffff0000u), bEven = (V)(b << 16);
  acc += bitsFloat(a & 0xffff0000u) * bOdd;
  return acc + bitsFloat(a << 16) * bEven;
}
static SEAPO_INLINE void pairs16(const float*, unsigned*) {}
constexpr int kRowPairs = 0;  // no vector conversion: pairOf per element
#endif

// Like packA, into pairs of bf16 (A rounded to nearest even); kp = ⌈kc/2⌉ words per row.
static void packAPairs(const float* A, bool trans, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, Pair* __restrict dst) {
  const i64 kp = (kc + 1) / 2;
  for (i64 ir = 0; ir < mc; ir += MR, dst += MR * kp) {
    const i64 mr = imin(MR, mc - ir);
    for (i64 i = 0; i < MR; ++i) {
      if (i >= mr) {
        for (i64 q = 0; q < kp; ++q) dst[q * MR + i] = 0u;
        continue;
      }
      i64 q = 0;
      if (!trans) {  // a row of op(A) is contiguous in k
        const float* src = A + (i0 + ir + i) * lda + p0;
        alignas(64) unsigned words[16];
        for (; kRowPairs > 0 && 2 * q + 32 <= kc; q += kRowPairs) {
          pairs16(src + 2 * q, words);
          for (int t = 0; t < kRowPairs; ++t) dst[(q + t) * MR + i] = words[t];
        }
        for (; q < kp; ++q) dst[q * MR + i] = pairOf(src[2 * q], 2 * q + 1 < kc ? src[2 * q + 1] : 0.f);
      } else {  // op(A)[i][p] = A[p·lda + i]
        const float* src = A + p0 * lda + i0 + ir + i;
        for (; q < kp; ++q) {
          dst[q * MR + i] = pairOf(src[2 * q * lda], 2 * q + 1 < kc ? src[(2 * q + 1) * lda] : 0.f);
        }
      }
    }
  }
}

// Like packB, into pairs of bf16 along k (B is bf16 already, so nothing is rounded).
static void packBPairs(const std::uint16_t* B, bool trans, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, i64 jp0,
                       i64 jp1, Pair* __restrict bPack) {
  const i64 kp = (kc + 1) / 2;
  for (i64 jp = jp0; jp < jp1; ++jp) {
    const i64 jr = jp * NR;
    const i64 nr = imin(NR, nc - jr);
    Pair* dst = bPack + jr * kp;
    if (!trans) {  // op(B)[p][j] = B[p·ldb + j]: two rows of B per pair
      for (i64 q = 0; q < kp; ++q) {
        const std::uint16_t* r0 = B + (p0 + 2 * q) * ldb + j0 + jr;
        const std::uint16_t* r1 = r0 + ldb;
        const bool odd = 2 * q + 1 < kc;
        Pair* d = dst + q * NR;
        for (i64 j = 0; j < nr; ++j) d[j] = r0[j] | (odd ? static_cast<unsigned>(r1[j]) << 16 : 0u);
        for (i64 j = nr; j < NR; ++j) d[j] = 0u;
      }
    } else {  // op(B)[p][j] = B[j·ldb + p]: a row of B is contiguous in k
      for (i64 j = 0; j < NR; ++j) {
        const std::uint16_t* src = B + (j0 + jr + j) * ldb + p0;
        for (i64 q = 0; q < kp; ++q) {
          dst[q * NR + j] =
              j < nr ? src[2 * q] | (2 * q + 1 < kc ? static_cast<unsigned>(src[2 * q + 1]) << 16 : 0u) : 0u;
        }
      }
    }
  }
}

static SEAPO_INLINE void microTilePairs(i64 kp, const Pair* __restrict a, const Pair* __restrict b, float* c,
                                        i64 ldc, i64 mr, i64 nr, float alpha, float beta) {
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V{};
  for (i64 q = 0; q < kp; ++q, a += MR, b += NR) {
    VP bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = *reinterpret_cast<const VP*>(b + j * VL);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const unsigned ai = a[i];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = dot2(acc[i][j], ai, bv[j]);
    }
  }
  storeTile(acc, c, ldc, mr, nr, alpha, beta);
}

// ---- the blocked driver, shared by the three kinds of product -------------------------------
// A path says how op(A) and op(B) are packed (element E, depth(kc) elements per row of a panel)
// and which micro-kernel multiplies the panels. BS is B's stored element type.

struct PathF32 {
  typedef float E;
  typedef float BS;
  static i64 depth(i64 kc) { return kc; }
  static void packOpA(const float* A, bool t, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, E* d) {
    packA(A, t, lda, i0, mc, p0, kc, d);
  }
  static void packOpB(const BS* B, bool t, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, i64 a, i64 b, E* d) {
    packB<BS>(B, t, ldb, p0, kc, j0, nc, a, b, d);
  }
  static SEAPO_INLINE void tile(i64 kc, const E* a, const E* b, float* c, i64 ldc, i64 mr, i64 nr, float al,
                                float be) {
    microTile(kc, a, b, c, ldc, mr, nr, al, be);
  }
};

// bf16 B widened to f32 while packing: the f32 product of the widened B, bit for bit.
struct PathWiden : PathF32 {
  typedef std::uint16_t BS;
  static void packOpB(const BS* B, bool t, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, i64 a, i64 b, E* d) {
    packB<BS>(B, t, ldb, p0, kc, j0, nc, a, b, d);
  }
};

struct PathPairs {
  typedef Pair E;
  typedef std::uint16_t BS;
  static i64 depth(i64 kc) { return (kc + 1) / 2; }
  static void packOpA(const float* A, bool t, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, E* d) {
    packAPairs(A, t, lda, i0, mc, p0, kc, d);
  }
  static void packOpB(const BS* B, bool t, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, i64 a, i64 b, E* d) {
    packBPairs(B, t, ldb, p0, kc, j0, nc, a, b, d);
  }
  static SEAPO_INLINE void tile(i64 kp, const E* a, const E* b, float* c, i64 ldc, i64 mr, i64 nr, float al,
                                float be) {
    microTilePairs(kp, a, b, c, ldc, mr, nr, al, be);
  }
};

static SEAPO_INLINE i64 panelsOf(i64 nc) { return (nc + NR - 1) / NR; }

// Which operand stays in L1 while the other streams past it. A B block too big for L2 (avx2's wide
// column blocks) keeps each B micro-panel in L1 across all of A's row panels, which L2 holds; a smaller
// one is streamed from L2 past each A micro-panel in L1.
constexpr bool kBPanelInL1 = KC * NC * 4 > (512 << 10);

// C block rows [0, mc) × micro-panels [jp0, jp1): every A micro-panel meets every B micro-panel.
template <class P>
static void macroKernel(i64 mc, i64 nc, i64 kc, const typename P::E* aPack, const typename P::E* bPack, float* c,
                        i64 ldc, float alpha, float beta, i64 jp0, i64 jp1) {
  const i64 depth = P::depth(kc);
  auto tile = [&](i64 ir, i64 jr) {
    P::tile(depth, aPack + ir * depth, bPack + jr * depth, c + ir * ldc + jr, ldc, imin(MR, mc - ir), imin(NR, nc - jr),
            alpha, beta);
  };
  if constexpr (kBPanelInL1) {
    for (i64 jp = jp0; jp < jp1; ++jp)
      for (i64 ir = 0; ir < mc; ir += MR) tile(ir, jp * NR);
  } else {
    for (i64 ir = 0; ir < mc; ir += MR)
      for (i64 jp = jp0; jp < jp1; ++jp) tile(ir, jp * NR);
  }
}

template <class BS>
struct Matrices {
  const float* a;
  const BS* b;
  float* c;
};

template <class BS>
static SEAPO_INLINE Matrices<BS> batchItem(const GemmArgs& g, const BS* b, i64 index) {
  return Matrices<BS>{g.a + index * g.strideA, b + index * g.strideB, g.c + index * g.strideC};
}

// Per-thread packing buffers, shared by every path (sized in floats; a Pair is as wide).
static float* scratchA() {
  thread_local Scratch s;
  return s.get(MC * KC);
}
static float* scratchB() {
  thread_local Scratch s;
  return s.get(KC * NC);
}
static float* scratchSharedB() {
  thread_local Scratch s;
  return s.get(KC * NC);
}

// One matrix product on the calling thread.
template <class P>
static void gemmOne(const GemmArgs& g, Matrices<typename P::BS> x) {
  typedef typename P::E E;
  E* aPack = reinterpret_cast<E*>(scratchA());
  E* bPack = reinterpret_cast<E*>(scratchB());
  const i64 lda = g.transA ? g.m : g.k, ldb = g.transB ? g.k : g.n;
  for (i64 jc = 0; jc < g.n; jc += NC) {
    const i64 nc = imin(NC, g.n - jc);
    for (i64 pc = 0; pc < g.k; pc += KC) {
      const i64 kc = imin(KC, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.f;
      P::packOpB(x.b, g.transB, ldb, pc, kc, jc, nc, 0, panelsOf(nc), bPack);
      for (i64 ic = 0; ic < g.m; ic += MC) {
        const i64 mc = imin(MC, g.m - ic);
        P::packOpA(x.a, g.transA, lda, ic, mc, pc, kc, aPack);
        macroKernel<P>(mc, nc, kc, aPack, bPack, x.c + ic * g.n + jc, g.n, g.alpha, beta, 0, panelsOf(nc));
      }
    }
  }
}

// One matrix product on the pool: the packed B block is shared; tasks are (row block, panel range)
// pairs, each packing its own A block.
template <class P>
static void gemmOneParallel(const GemmArgs& g, Matrices<typename P::BS> x, int threads) {
  typedef typename P::E E;
  E* bPack = reinterpret_cast<E*>(scratchSharedB());
  const i64 lda = g.transA ? g.m : g.k, ldb = g.transB ? g.k : g.n;
  const i64 rowBlocks = (g.m + MC - 1) / MC;
  for (i64 jc = 0; jc < g.n; jc += NC) {
    const i64 nc = imin(NC, g.n - jc);
    const i64 panels = panelsOf(nc);
    const i64 wanted = 2 * threads;
    const i64 split = rowBlocks >= wanted ? 1 : imin(panels, (wanted + rowBlocks - 1) / rowBlocks);
    for (i64 pc = 0; pc < g.k; pc += KC) {
      const i64 kc = imin(KC, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.f;
      // More pieces than threads, so one descheduled thread does not hold the others at the barrier.
      const int packTasks = static_cast<int>(imin(panels, 4 * threads));
      parallelFor(packTasks, [&](int t) {
        P::packOpB(x.b, g.transB, ldb, pc, kc, jc, nc, panels * t / packTasks, panels * (t + 1) / packTasks, bPack);
      });
      parallelFor(static_cast<int>(rowBlocks * split), [&](int t) {
        E* aPack = reinterpret_cast<E*>(scratchA());
        const i64 ic = (t / split) * MC, part = t % split;
        const i64 mc = imin(MC, g.m - ic);
        P::packOpA(x.a, g.transA, lda, ic, mc, pc, kc, aPack);
        macroKernel<P>(mc, nc, kc, aPack, bPack, x.c + ic * g.n + jc, g.n, g.alpha, beta, panels * part / split,
                       panels * (part + 1) / split);
      });
    }
  }
}

// Products smaller than this run on the calling thread: splitting them costs more than it saves.
constexpr double kSerialBelowFlops = 2.0 * 48 * 48 * 48;

static double flopsOf(const GemmArgs& g) {
  return 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
}

template <class P>
static void gemmPath(const GemmArgs& g, const typename P::BS* b) {
  const int threads = poolThreads();
  const double flops = flopsOf(g);
  if (threads == 1 || flops * static_cast<double>(g.batch) < kSerialBelowFlops) {
    for (i64 i = 0; i < g.batch; ++i) gemmOne<P>(g, batchItem(g, b, i));
    return;
  }
  // Many matrices: one per task, no synchronisation inside. Few large ones: split each.
  const bool byBatch = g.batch > 1 && (g.batch % threads == 0 || g.batch >= 4 * threads || flops < 8 * kSerialBelowFlops);
  if (byBatch) {
    const int tasks = static_cast<int>(imin(g.batch, 8 * threads));
    parallelFor(tasks, [&](int t) {
      for (i64 i = g.batch * t / tasks; i < g.batch * (t + 1) / tasks; ++i) gemmOne<P>(g, batchItem(g, b, i));
    });
    return;
  }
  for (i64 i = 0; i < g.batch; ++i) {
    if (flops < kSerialBelowFlops) gemmOne<P>(g, batchItem(g, b, i));
    else gemmOneParallel<P>(g, batchItem(g, b, i), threads);
  }
}

// ---- packed weights -------------------------------------------------------------------------
// A weight W [n, k] multiplied as x·Wᵀ many times with few rows of x (a decode step) is packed once:
// op(B) = Wᵀ in packB's panel layout, block (jc, pc) after block, column blocks outermost. Its products
// then skip packing and read each panel contiguously; the panels and the micro-kernel are gemm's, so
// the results are gemm's bit for bit.

static i64 packedLength(i64 n, i64 k) { return ((n / NC) * NC + panelsOf(n % NC) * NR) * k; }

// Where block (jc, pc) starts: each full column block before jc holds NC·k floats.
static SEAPO_INLINE i64 packedOffset(i64 k, i64 jc, i64 pc, i64 nc) { return jc * k + pc * panelsOf(nc) * NR; }

template <class T>
static void packWeightAs(const T* w, i64 n, i64 k, float* dst) {
  const i64 columnBlocks = (n + NC - 1) / NC, depthBlocks = (k + KC - 1) / KC;
  parallelFor(static_cast<int>(columnBlocks * depthBlocks), [&](int t) {
    const i64 jc = (t / depthBlocks) * NC, pc = (t % depthBlocks) * KC;
    const i64 nc = imin(NC, n - jc);
    packB<T>(w, true, k, pc, imin(KC, k - pc), jc, nc, 0, panelsOf(nc), dst + packedOffset(k, jc, pc, nc));
  });
}

// w16 (bf16 bits, widened exactly) when set, else w.
static void packWeight(const float* w, const std::uint16_t* w16, i64 n, i64 k, float* dst) {
  if (w16 != nullptr) packWeightAs(w16, n, k, dst);
  else packWeightAs(w, n, k, dst);
}

// Rows [ic, ic+mc) × panels [gp0, gp1) of C (counted over all n columns) from the packed weight.
static void packedRange(const GemmArgs& g, i64 ic, i64 mc, i64 gp0, i64 gp1) {
  float* aPack = scratchA();
  const i64 lda = g.transA ? g.m : g.k;
  for (i64 jc = gp0 * NR / NC * NC; jc < g.n && jc < gp1 * NR; jc += NC) {
    const i64 nc = imin(NC, g.n - jc), first = jc / NR;
    const i64 jp0 = gp0 > first ? gp0 - first : 0, jp1 = imin(gp1 - first, panelsOf(nc));
    for (i64 pc = 0; pc < g.k; pc += KC) {
      const i64 kc = imin(KC, g.k - pc);
      packA(g.a, g.transA, lda, ic, mc, pc, kc, aPack);
      macroKernel<PathF32>(mc, nc, kc, aPack, g.bPacked + packedOffset(g.k, jc, pc, nc), g.c + ic * g.n + jc, g.n,
                           g.alpha, pc == 0 ? g.beta : 1.f, jp0, jp1);
    }
  }
}

// One barrier per product: tasks are (row block, panel range) pairs over the whole of C.
static void gemmPacked(const GemmArgs& g) {
  const i64 panels = panelsOf(g.n), rowBlocks = (g.m + MC - 1) / MC;
  const int threads = poolThreads();
  const bool serial = threads == 1 || flopsOf(g) < kSerialBelowFlops;
  const i64 split = serial ? 1 : imin(panels, (4 * threads + rowBlocks - 1) / rowBlocks);
  parallelFor(static_cast<int>(rowBlocks * split), [&](int t) {
    const i64 ic = (t / split) * MC, part = t % split;
    packedRange(g, ic, imin(MC, g.m - ic), panels * part / split, panels * (part + 1) / split);
  });
}

static void gemm(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  if (g.k == 0 || g.alpha == 0.f) {  // no product: C = beta·C (beta == 0 clears, ignoring NaN in C)
    for (i64 b = 0; b < g.batch; ++b) {
      float* c = g.c + b * g.strideC;
      for (i64 i = 0; i < g.m * g.n; ++i) c[i] = g.beta == 0.f ? 0.f : g.beta * c[i];
    }
    return;
  }
  if (g.bPacked != nullptr) gemmPacked(g);
  else if (g.b16 == nullptr) gemmPath<PathF32>(g, g.b);
  else if (g.bf16Dot) gemmPath<PathPairs>(g, g.b16);
  else gemmPath<PathWiden>(g, g.b16);
}

// ---------------------------------------------------------------------------------------------
// Row-parallel memory-bound kernels. The split into tasks depends only on the sizes and the thread
// count, never on scheduling, so results (including rmsnorm's dw reduction) are reproducible.

static int rowTasks(i64 rows, i64 cols) {
  const int threads = poolThreads();
  const i64 work = rows * (cols > 0 ? cols : 1);
  if (threads == 1 || rows < 2 || work < (i64{1} << 14)) return 1;
  return static_cast<int>(imin(rows, 4 * threads));
}

template <class F>
static void forRows(i64 rows, int tasks, F&& body) {
  parallelFor(tasks, [&](int t) { body(rows * t / tasks, rows * (t + 1) / tasks); });
}

static void rmsnorm(const float* x, const float* w, float* out, i64 rows, i64 cols, float eps) {
  forRows(rows, rowTasks(rows, cols), [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      V acc = V{};
      i64 i = 0;
      for (; i + VL <= cols; i += VL) {
        const V v = loadu(xr + i);
        acc += v * v;
      }
      float ss = hsum(acc);
      for (; i < cols; ++i) ss += xr[i] * xr[i];
      const float scale = 1.f / std::sqrt(ss / static_cast<float>(cols) + eps);
      for (i = 0; i + VL <= cols; i += VL) storeu(yr + i, loadu(xr + i) * scale * loadu(w + i));
      for (; i < cols; ++i) yr[i] = xr[i] * scale * w[i];
    }
  });
}

// y = x·s·w with s = (mean(x²) + eps)^(-1/2):
//   dx = s·(g⊙w) − x · s³ · Σ(g⊙w⊙x) / cols,   dw += Σ_rows g⊙x·s.
static void rmsnormBackward(const float* g, const float* x, const float* w, float* dx, float* dw, i64 rows,
                            i64 cols, float eps) {
  const int tasks = rowTasks(rows, cols);
  thread_local Scratch partialScratch;
  float* partial = partialScratch.get(static_cast<std::size_t>(tasks * cols));
  for (i64 i = 0; i < tasks * cols; ++i) partial[i] = 0.f;
  parallelFor(tasks, [&](int t) {
    const i64 r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
    float* dwPart = partial + t * cols;
    for (i64 r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      const float* gr = g + r * cols;
      float* dxr = dx + r * cols;
      V ssv = V{}, dotv = V{};
      i64 i = 0;
      for (; i + VL <= cols; i += VL) {
        const V xv = loadu(xr + i);
        ssv += xv * xv;
        dotv += loadu(gr + i) * loadu(w + i) * xv;
      }
      float ss = hsum(ssv), dot = hsum(dotv);
      for (; i < cols; ++i) {
        ss += xr[i] * xr[i];
        dot += gr[i] * w[i] * xr[i];
      }
      const float s = 1.f / std::sqrt(ss / static_cast<float>(cols) + eps);
      const float coef = s * s * s * dot / static_cast<float>(cols);
      for (i = 0; i + VL <= cols; i += VL) {
        const V xv = loadu(xr + i), gv = loadu(gr + i);
        storeu(dwPart + i, loadu(dwPart + i) + gv * xv * s);
        storeu(dxr + i, gv * loadu(w + i) * s - xv * coef);
      }
      for (; i < cols; ++i) {
        dwPart[i] += gr[i] * xr[i] * s;
        dxr[i] = gr[i] * w[i] * s - xr[i] * coef;
      }
    }
  });
  for (int t = 0; t < tasks; ++t)
    for (i64 i = 0; i < cols; ++i) dw[i] += partial[t * cols + i];
}

// Elementwise kernels split [0, n) into vector-aligned ranges.
template <class F>
static void forRange(i64 n, F&& body) {
  const int threads = poolThreads();
  const int tasks = (threads == 1 || n < (i64{1} << 15)) ? 1 : 4 * threads;
  const i64 step = ((n + tasks - 1) / tasks + VL - 1) / VL * VL;
  parallelFor(tasks, [&](int t) {
    const i64 i0 = imin(n, t * step), i1 = imin(n, (t + 1) * step);
    if (i0 < i1) body(i0, i1);
  });
}

static void siluMul(const float* g, const float* u, float* out, i64 n) {
  forRange(n, [&](i64 i0, i64 i1) {
    i64 i = i0;
    for (; i + VL <= i1; i += VL) {
      const V gv = loadu(g + i);
      storeu(out + i, gv * vsigmoid(gv) * loadu(u + i));
    }
    if (i < i1) {
      const V gv = loadPart(g + i, i1 - i, 0.f);
      storePart(out + i, gv * vsigmoid(gv) * loadPart(u + i, i1 - i, 0.f), i1 - i);
    }
  });
}

// y = g·σ(g)·u:  dg = grad·u·σ(g)·(1 + g·(1 − σ(g))),  du = grad·g·σ(g).
static SEAPO_INLINE void siluMulGrad(V grad, V gv, V uv, V& dg, V& du) {
  const V s = vsigmoid(gv);
  dg = grad * uv * s * (1.f + gv * (1.f - s));
  du = grad * gv * s;
}

static void siluMulBackward(const float* grad, const float* g, const float* u, float* dg, float* du, i64 n) {
  forRange(n, [&](i64 i0, i64 i1) {
    i64 i = i0;
    V dgv, duv;
    for (; i + VL <= i1; i += VL) {
      siluMulGrad(loadu(grad + i), loadu(g + i), loadu(u + i), dgv, duv);
      storeu(dg + i, dgv);
      storeu(du + i, duv);
    }
    if (i < i1) {
      const i64 left = i1 - i;
      siluMulGrad(loadPart(grad + i, left, 0.f), loadPart(g + i, left, 0.f), loadPart(u + i, left, 0.f), dgv, duv);
      storePart(dg + i, dgv, left);
      storePart(du + i, duv, left);
    }
  });
}

static void softmaxRow(const float* x, float* y, i64 n, bool log) {
  V mv = splat(-__builtin_inff());
  i64 i = 0;
  for (; i + VL <= n; i += VL) mv = vmax(mv, loadu(x + i));
  float m = -__builtin_inff();
  for (int l = 0; l < VL; ++l) m = mv[l] > m ? mv[l] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;

  V sv = V{};
  for (i = 0; i + VL <= n; i += VL) {
    const V e = vexp(loadu(x + i) - m);
    if (!log) storeu(y + i, e);
    sv += e;
  }
  if (i < n) {
    V e = vexp(loadPart(x + i, n - i, 0.f) - m);
    for (i64 l = n - i; l < VL; ++l) e[l] = 0.f;
    if (!log) storePart(y + i, e, n - i);
    sv += e;
  }
  const float sum = hsum(sv);
  if (!log) {
    const float inv = 1.f / sum;
    for (i = 0; i + VL <= n; i += VL) storeu(y + i, loadu(y + i) * inv);
    for (; i < n; ++i) y[i] *= inv;
  } else {
    const float shift = m + std::log(sum);
    for (i = 0; i + VL <= n; i += VL) storeu(y + i, loadu(x + i) - shift);
    for (; i < n; ++i) y[i] = x[i] - shift;
  }
}

static void softmax(const float* x, float* out, i64 rows, i64 cols, bool log) {
  forRows(rows, rowTasks(rows, cols), [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) softmaxRow(x + r * cols, out + r * cols, cols, log);
  });
}

// softmax: dx = y ⊙ (g − Σ g⊙y);  log-softmax: dx = g − exp(y) · Σ g.
static void softmaxBackwardRow(const float* g, const float* y, float* dx, i64 n, bool log) {
  V accv = V{};
  i64 i = 0;
  for (; i + VL <= n; i += VL) accv += log ? loadu(g + i) : loadu(g + i) * loadu(y + i);
  float acc = hsum(accv);
  for (; i < n; ++i) acc += log ? g[i] : g[i] * y[i];
  for (i = 0; i + VL <= n; i += VL) {
    const V gv = loadu(g + i), yv = loadu(y + i);
    storeu(dx + i, log ? gv - vexp(yv) * acc : yv * (gv - acc));
  }
  if (i < n) {
    const V gv = loadPart(g + i, n - i, 0.f), yv = loadPart(y + i, n - i, 0.f);
    storePart(dx + i, log ? gv - vexp(yv) * acc : yv * (gv - acc), n - i);
  }
}

static void softmaxBackward(const float* grad, const float* y, float* dx, i64 rows, i64 cols, bool log) {
  forRows(rows, rowTasks(rows, cols), [&](i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) softmaxBackwardRow(grad + r * cols, y + r * cols, dx + r * cols, cols, log);
  });
}

// Forward:  y1 = x1·c1 − x2·s1,  y2 = x2·c2 + x1·s2   (x1, x2: the two halves; c2 = c1 for half tables)
// Adjoint:  y1 = x1·c1 + x2·s2,  y2 = x2·c2 − x1·s1
static SEAPO_INLINE void ropePair(V x1, V x2, V c1, V s1, V c2, V s2, bool adjoint, V& y1, V& y2) {
  if (!adjoint) {
    y1 = x1 * c1 - x2 * s1;
    y2 = x2 * c2 + x1 * s2;
  } else {
    y1 = x1 * c1 + x2 * s2;
    y2 = x2 * c2 - x1 * s1;
  }
}

static void rope(const RopeArgs& a) {
  const i64 half = a.half, dim = 2 * half, width = a.fullTable ? dim : half;
  const i64 vectors = a.batch * a.seq * a.heads;
  forRows(vectors, rowTasks(vectors, dim), [&](i64 v0, i64 v1) {
    for (i64 v = v0; v < v1; ++v) {
      i64 b, t;
      if (a.headsFirst) {
        t = v % a.seq;
        b = v / (a.seq * a.heads);
      } else {
        t = (v / a.heads) % a.seq;
        b = v / (a.heads * a.seq);
      }
      const i64 row = ((a.tableBatched ? b * a.seq : 0) + t) * width;
      const float* c1 = a.cos + row;
      const float* s1 = a.sin + row;
      const float* c2 = a.fullTable ? c1 + half : c1;
      const float* s2 = a.fullTable ? s1 + half : s1;
      const float* x = a.x + v * dim;
      float* y = a.out + v * dim;
      V y1, y2;
      i64 i = 0;
      for (; i + VL <= half; i += VL) {
        ropePair(loadu(x + i), loadu(x + half + i), loadu(c1 + i), loadu(s1 + i), loadu(c2 + i), loadu(s2 + i),
                 a.adjoint, y1, y2);
        storeu(y + i, y1);
        storeu(y + half + i, y2);
      }
      if (i < half) {
        const i64 left = half - i;
        ropePair(loadPart(x + i, left, 0.f), loadPart(x + half + i, left, 0.f), loadPart(c1 + i, left, 0.f),
                 loadPart(s1 + i, left, 0.f), loadPart(c2 + i, left, 0.f), loadPart(s2 + i, left, 0.f), a.adjoint,
                 y1, y2);
        storePart(y + i, y1, left);
        storePart(y + half + i, y2, left);
      }
    }
  });
}

// ---- elementwise binary ops with b repeated along a (same shape, a row, or a scalar) -----------------

template <int Op>
static SEAPO_INLINE V applyOp(V a, V b) {
  if constexpr (Op == 0) return a + b;
  else if constexpr (Op == 1) return a - b;
  else if constexpr (Op == 2) return a * b;
  else return a / b;
}

template <int Op>
static SEAPO_INLINE float applyOp(float a, float b) {
  if constexpr (Op == 0) return a + b;
  else if constexpr (Op == 1) return a - b;
  else if constexpr (Op == 2) return a * b;
  else return a / b;
}

// out[i0, i1) of a op b where b[i % period]; each piece of b is walked in runs up to its end.
template <int Op>
static void elementwiseRange(const float* a, const float* b, float* out, i64 i0, i64 i1, i64 period) {
  if (period == 1) {
    const V bv = splat(b[0]);
    i64 i = i0;
    for (; i + VL <= i1; i += VL) storeu(out + i, applyOp<Op>(loadu(a + i), bv));
    for (; i < i1; ++i) out[i] = applyOp<Op>(a[i], b[0]);
    return;
  }
  for (i64 i = i0; i < i1;) {
    const i64 j = i % period, run = imin(i1 - i, period - j);
    i64 t = 0;
    for (; t + VL <= run; t += VL) storeu(out + i + t, applyOp<Op>(loadu(a + i + t), loadu(b + j + t)));
    for (; t < run; ++t) out[i + t] = applyOp<Op>(a[i + t], b[j + t]);
    i += run;
  }
}

static void elementwise(int op, const float* a, const float* b, float* out, i64 n, i64 period) {
  forRange(n, [&](i64 i0, i64 i1) {
    switch (op) {
      case 0: elementwiseRange<0>(a, b, out, i0, i1, period); break;
      case 1: elementwiseRange<1>(a, b, out, i0, i1, period); break;
      case 2: elementwiseRange<2>(a, b, out, i0, i1, period); break;
      default: elementwiseRange<3>(a, b, out, i0, i1, period); break;
    }
  });
}

#ifdef SEAPO_DPBF16
constexpr bool kBf16Native = true;
#else
constexpr bool kBf16Native = false;
#endif

static const KernelTable kTable = {
    kName, kIsa, kBf16Native, &gemm, &rmsnorm, &rmsnormBackward, &siluMul, &siluMulBackward, &softmax, &softmaxBackward, &rope,
    &elementwise, NR, KC, NC, &packedLength, &packWeight,
};
