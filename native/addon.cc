// N-API bindings: argument checks on the JS thread, then one call into the active kernel variant.
//
// Every kernel works in place on the caller's Float32Arrays (no copies). A wrong type is a
// TypeError and a wrong size a RangeError; both messages start with the kernel's name.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace seapo {
namespace {

// Bumped whenever the JS-visible surface changes, so the loader can reject a stale build.
constexpr int kAbiVersion = 4;

std::vector<const KernelTable*> runnable;  // best first
const KernelTable* active = nullptr;

struct Buf {
  const char* name;
  float* data;
  std::size_t length;
};

[[noreturn]] void typeError(Napi::Env env, const std::string& kernel, const std::string& message) {
  throw Napi::TypeError::New(env, kernel + ": " + message);
}
[[noreturn]] void rangeError(Napi::Env env, const std::string& kernel, const std::string& message) {
  throw Napi::RangeError::New(env, kernel + ": " + message);
}

void expectArgs(const Napi::CallbackInfo& info, const char* kernel, std::size_t count) {
  if (info.Length() < count) {
    typeError(info.Env(), kernel,
              "expected " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }
}

Buf f32(Napi::Value value, const char* kernel, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    typeError(value.Env(), kernel, std::string(name) + " must be a Float32Array");
  }
  auto array = value.As<Napi::Float32Array>();
  return Buf{name, array.Data(), array.ElementLength()};
}

// A non-negative integer (a size, count or stride).
i64 size(Napi::Value value, const char* kernel, const char* name) {
  if (!value.IsNumber()) typeError(value.Env(), kernel, std::string(name) + " must be a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0) {
    typeError(value.Env(), kernel, std::string(name) + " must be a non-negative integer, got " + std::to_string(v));
  }
  return static_cast<i64>(v);
}

double number(Napi::Value value, const char* kernel, const char* name) {
  if (!value.IsNumber()) typeError(value.Env(), kernel, std::string(name) + " must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

i64 mul(Napi::Env env, const char* kernel, i64 a, i64 b) {
  i64 out;
  if (__builtin_mul_overflow(a, b, &out)) rangeError(env, kernel, "sizes overflow");
  return out;
}

void expectLength(Napi::Env env, const char* kernel, const Buf& buf, i64 expected, const std::string& what) {
  if (static_cast<i64>(buf.length) != expected) {
    rangeError(env, kernel,
               std::string(buf.name) + " has " + std::to_string(buf.length) + " elements, expected " + what + " = " +
                   std::to_string(expected));
  }
}

bool overlaps(const Buf& a, const Buf& b) {
  if (a.length == 0 || b.length == 0) return false;
  return a.data < b.data + b.length && b.data < a.data + a.length;
}

// An output may be the very same buffer as one of `aliasable` (it is read before it is written);
// any other overlap with an input or another output is rejected.
void checkOutputs(Napi::Env env, const char* kernel, std::initializer_list<Buf> outputs,
                  std::initializer_list<Buf> aliasable, std::initializer_list<Buf> others) {
  for (const Buf& out : outputs) {
    for (const Buf& in : aliasable) {
      if (overlaps(out, in) && !(out.data == in.data && out.length == in.length)) {
        rangeError(env, kernel, std::string(out.name) + " partially overlaps " + in.name);
      }
    }
    for (const Buf& other : others) {
      if (overlaps(out, other)) rangeError(env, kernel, std::string(out.name) + " overlaps " + other.name);
    }
    for (const Buf& second : outputs) {
      if (&second != &out && overlaps(out, second)) {
        rangeError(env, kernel, std::string(out.name) + " overlaps " + second.name);
      }
    }
  }
}

// ---- GEMM --------------------------------------------------------------------------------------

i64 optionalSize(Napi::Object opts, const char* key, i64 fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsUndefined() ? fallback : size(v, "gemm", key);
}
bool optionalBool(Napi::Object opts, const char* key) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) typeError(opts.Env(), "gemm", std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
double optionalNumber(Napi::Object opts, const char* key, double fallback) {
  Napi::Value v = opts.Get(key);
  return v.IsUndefined() ? fallback : number(v, "gemm", key);
}

void checkOperand(Napi::Env env, const char* kernel, const Buf& buf, i64 batch, i64 stride, i64 matrix,
                  const char* strideName, const char* sizeName) {
  if (batch == 0 || matrix == 0) return;
  const i64 needed = mul(env, kernel, batch - 1, stride) + matrix;
  if (static_cast<i64>(buf.length) < needed) {
    rangeError(env, kernel,
               std::string(buf.name) + " has " + std::to_string(buf.length) + " elements, needs at least " +
                   std::to_string(needed) + " (batch " + std::to_string(batch) + ", " + strideName + " " +
                   std::to_string(stride) + ", " + sizeName + " = " + std::to_string(matrix) + ")");
  }
}

// B as bf16 bit patterns (a Uint16Array), for gemmBf16.
struct Buf16 {
  const char* name;
  std::uint16_t* data;
  std::size_t length;
};

Buf16 u16(Napi::Value value, const char* kernel, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
    typeError(value.Env(), kernel, std::string(name) + " must be a Uint16Array (bf16 bit patterns)");
  }
  auto array = value.As<Napi::Uint16Array>();
  return Buf16{name, array.Data(), array.ElementLength()};
}

// Sizes, flags and strides from the options object, each checked; the operands' lengths are checked
// by the caller, which knows B's element type.
GemmArgs gemmOptions(const Napi::CallbackInfo& info, const char* k) {
  Napi::Env env = info.Env();
  if (!info[3].IsObject()) typeError(env, k, "options must be an object");
  Napi::Object opts = info[3].As<Napi::Object>();
  GemmArgs g{};
  g.m = size(opts.Get("m"), k, "m");
  g.n = size(opts.Get("n"), k, "n");
  g.k = size(opts.Get("k"), k, "k");
  const i64 mk = mul(env, k, g.m, g.k), kn = mul(env, k, g.k, g.n), mn = mul(env, k, g.m, g.n);
  g.transA = optionalBool(opts, "transA");
  g.transB = optionalBool(opts, "transB");
  g.alpha = static_cast<float>(optionalNumber(opts, "alpha", 1.0));
  g.beta = static_cast<float>(optionalNumber(opts, "beta", 0.0));
  g.batch = optionalSize(opts, "batch", 1);
  g.strideA = optionalSize(opts, "strideA", mk);
  g.strideB = optionalSize(opts, "strideB", kn);
  g.strideC = optionalSize(opts, "strideC", mn);
  if (g.batch > 1 && g.strideC < mn) {
    rangeError(env, k,
               "strideC " + std::to_string(g.strideC) + " is less than m·n = " + std::to_string(mn) +
                   ": the batch's outputs would overlap");
  }
  return g;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* k = "gemm";
  Napi::Env env = info.Env();
  expectArgs(info, "gemm", 4);
  Buf a = f32(info[0], "gemm", "a"), b = f32(info[1], "gemm", "b"), c = f32(info[2], "gemm", "c");
  GemmArgs g = gemmOptions(info, "gemm");
  checkOperand(env, k, a, g.batch, g.strideA, g.m * g.k, "strideA", "m·k");
  checkOperand(env, k, b, g.batch, g.strideB, g.k * g.n, "strideB", "k·n");
  checkOperand(env, k, c, g.batch, g.strideC, g.m * g.n, "strideC", "m·n");
  if (g.m * g.n > 0 && g.batch > 0) checkOutputs(env, "gemm", {c}, {}, {a, b});
  g.a = a.data;
  g.b = b.data;
  g.c = c.data;
  active->gemm(g);
  return env.Undefined();
}

// gemm with B in bf16; options.bf16Dot rounds A to bf16 as well (see GemmArgs).
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  const char* k = "gemmBf16";
  Napi::Env env = info.Env();
  expectArgs(info, k, 4);
  Buf a = f32(info[0], k, "a"), c = f32(info[2], k, "c");
  Buf16 b = u16(info[1], k, "b");
  GemmArgs g = gemmOptions(info, k);
  g.bf16Dot = optionalBool(info[3].As<Napi::Object>(), "bf16Dot");
  checkOperand(env, k, a, g.batch, g.strideA, g.m * g.k, "strideA", "m·k");
  checkOperand(env, k, Buf{"b", nullptr, b.length}, g.batch, g.strideB, g.k * g.n, "strideB", "k·n");
  checkOperand(env, k, c, g.batch, g.strideC, g.m * g.n, "strideC", "m·n");
  if (g.m * g.n > 0 && g.batch > 0) {
    checkOutputs(env, k, {c}, {}, {a});
    const char* cb = reinterpret_cast<const char*>(c.data);
    const char* bb = reinterpret_cast<const char*>(b.data);
    if (b.length > 0 && cb < bb + 2 * b.length && bb < cb + 4 * c.length) rangeError(env, k, "c overlaps b");
  }
  g.a = a.data;
  g.b16 = b.data;
  g.c = c.data;
  active->gemm(g);
  return env.Undefined();
}

// ---- Packed weights ----------------------------------------------------------------------------
// packWeight returns a Float32Array whose first kPackedHeader floats record the layout it was packed
// for (the variant's nr, kc, nc, then n and k); the panels follow, 64-byte aligned, as the kernels need.

constexpr i64 kPackedHeader = 16;  // 64 bytes

i64 layoutValue(i64 i, i64 n, i64 k) {
  const i64 values[5] = {active->nr, active->kc, active->nc, n, k};
  return i < 5 ? values[i] : 0;
}

// packWeight(w, rows, cols): W [rows, cols] (f32, or bf16 bits in a Uint16Array) packed as op(B) = Wᵀ.
Napi::Value PackWeight(const Napi::CallbackInfo& info) {
  const char* k = "packWeight";
  Napi::Env env = info.Env();
  expectArgs(info, k, 3);
  const i64 rows = size(info[1], k, "rows"), cols = size(info[2], k, "cols");
  const i64 elements = mul(env, k, rows, cols);
  const bool bits = info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array;
  const Buf16 w16 = bits ? u16(info[0], k, "w") : Buf16{"w", nullptr, 0};
  const Buf w = bits ? Buf{"w", nullptr, w16.length} : f32(info[0], k, "w");
  expectLength(env, k, w, elements, "rows·cols");
  const i64 length = kPackedHeader + active->packedLength(rows, cols);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, static_cast<std::size_t>(4 * length + 64));
  const std::size_t skip = (64 - reinterpret_cast<std::uintptr_t>(buffer.Data()) % 64) % 64;
  Napi::Float32Array packed = Napi::Float32Array::New(env, static_cast<std::size_t>(length), buffer, skip);
  float* header = packed.Data();
  for (i64 i = 0; i < kPackedHeader; ++i) header[i] = static_cast<float>(layoutValue(i, rows, cols));
  if (elements > 0) active->packWeight(w.data, w16.data, rows, cols, header + kPackedHeader);
  return packed;
}

// gemmPacked(a, packed, c, options): c = alpha·op(A)·Wᵀ + beta·c with W from packWeight (batch 1).
Napi::Value GemmPacked(const Napi::CallbackInfo& info) {
  const char* k = "gemmPacked";
  Napi::Env env = info.Env();
  expectArgs(info, k, 4);
  Buf a = f32(info[0], k, "a"), packed = f32(info[1], k, "packed"), c = f32(info[2], k, "c");
  GemmArgs g = gemmOptions(info, k);
  if (g.batch != 1 || g.transB) rangeError(env, k, "a packed weight takes batch 1 and no transB (Wᵀ is implied)");
  if (reinterpret_cast<std::uintptr_t>(packed.data) % 64 != 0 || packed.length < kPackedHeader)
    rangeError(env, k, "packed must be an array packWeight returned (64-byte aligned, with its header)");
  for (i64 i = 0; i < 5; ++i) {
    if (packed.data[i] != static_cast<float>(layoutValue(i, g.n, g.k)))
      rangeError(env, k, "packed was made for another variant or shape (n " + std::to_string(g.n) + ", k " +
                             std::to_string(g.k) + ", variant " + active->name + "): pack it again");
  }
  expectLength(env, k, packed, kPackedHeader + active->packedLength(g.n, g.k), "the packed length of n·k");
  checkOperand(env, k, a, 1, 0, g.m * g.k, "strideA", "m·k");
  checkOperand(env, k, c, 1, 0, g.m * g.n, "strideC", "m·n");
  if (g.m * g.n > 0) checkOutputs(env, k, {c}, {}, {a, packed});
  g.a = a.data;
  g.bPacked = packed.data + kPackedHeader;
  g.c = c.data;
  active->gemm(g);
  return env.Undefined();
}

// ---- Fused kernels -----------------------------------------------------------------------------

Napi::Value Rmsnorm(const Napi::CallbackInfo& info) {
  const char* k = "rmsnorm";
  Napi::Env env = info.Env();
  expectArgs(info, k, 6);
  Buf x = f32(info[0], k, "x"), w = f32(info[1], k, "weight"), out = f32(info[2], k, "out");
  const i64 rows = size(info[3], k, "rows"), cols = size(info[4], k, "cols");
  const double eps = number(info[5], k, "eps");
  const i64 n = mul(env, k, rows, cols);
  expectLength(env, k, x, n, "rows·cols");
  expectLength(env, k, w, cols, "cols");
  expectLength(env, k, out, n, "rows·cols");
  checkOutputs(env, k, {out}, {x}, {w});
  active->rmsnorm(x.data, w.data, out.data, rows, cols, static_cast<float>(eps));
  return env.Undefined();
}

Napi::Value RmsnormBackward(const Napi::CallbackInfo& info) {
  const char* k = "rmsnormBackward";
  Napi::Env env = info.Env();
  expectArgs(info, k, 8);
  Buf g = f32(info[0], k, "grad"), x = f32(info[1], k, "x"), w = f32(info[2], k, "weight");
  Buf dx = f32(info[3], k, "dx"), dw = f32(info[4], k, "dWeight");
  const i64 rows = size(info[5], k, "rows"), cols = size(info[6], k, "cols");
  const double eps = number(info[7], k, "eps");
  const i64 n = mul(env, k, rows, cols);
  expectLength(env, k, g, n, "rows·cols");
  expectLength(env, k, x, n, "rows·cols");
  expectLength(env, k, w, cols, "cols");
  expectLength(env, k, dx, n, "rows·cols");
  expectLength(env, k, dw, cols, "cols");
  checkOutputs(env, k, {dx}, {g, x}, {w});
  checkOutputs(env, k, {dw}, {}, {g, x, w});
  active->rmsnormBackward(g.data, x.data, w.data, dx.data, dw.data, rows, cols, static_cast<float>(eps));
  return env.Undefined();
}

Napi::Value SiluMul(const Napi::CallbackInfo& info) {
  const char* k = "siluMul";
  Napi::Env env = info.Env();
  expectArgs(info, k, 3);
  Buf g = f32(info[0], k, "gate"), u = f32(info[1], k, "up"), out = f32(info[2], k, "out");
  const i64 n = static_cast<i64>(g.length);
  expectLength(env, k, u, n, "gate.length");
  expectLength(env, k, out, n, "gate.length");
  checkOutputs(env, k, {out}, {g, u}, {});
  active->siluMul(g.data, u.data, out.data, n);
  return env.Undefined();
}

Napi::Value SiluMulBackward(const Napi::CallbackInfo& info) {
  const char* k = "siluMulBackward";
  Napi::Env env = info.Env();
  expectArgs(info, k, 5);
  Buf grad = f32(info[0], k, "grad"), g = f32(info[1], k, "gate"), u = f32(info[2], k, "up");
  Buf dg = f32(info[3], k, "dGate"), du = f32(info[4], k, "dUp");
  const i64 n = static_cast<i64>(grad.length);
  expectLength(env, k, g, n, "grad.length");
  expectLength(env, k, u, n, "grad.length");
  expectLength(env, k, dg, n, "grad.length");
  expectLength(env, k, du, n, "grad.length");
  checkOutputs(env, k, {dg, du}, {grad, g, u}, {});
  active->siluMulBackward(grad.data, g.data, u.data, dg.data, du.data, n);
  return env.Undefined();
}

// elementwise(op, a, b, out): out = a op b with b repeated along a (b.length divides a.length).
Napi::Value Elementwise(const Napi::CallbackInfo& info) {
  const char* k = "elementwise";
  Napi::Env env = info.Env();
  expectArgs(info, k, 4);
  if (!info[0].IsString()) typeError(env, k, "op must be \"add\", \"sub\", \"mul\" or \"div\"");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const int op = name == "add" ? 0 : name == "sub" ? 1 : name == "mul" ? 2 : name == "div" ? 3 : -1;
  if (op < 0) rangeError(env, k, "op must be \"add\", \"sub\", \"mul\" or \"div\", got \"" + name + "\"");
  Buf a = f32(info[1], k, "a"), b = f32(info[2], k, "b"), out = f32(info[3], k, "out");
  const i64 n = static_cast<i64>(a.length), period = static_cast<i64>(b.length);
  expectLength(env, k, out, n, "a.length");
  if (n > 0 && (period == 0 || n % period != 0))
    rangeError(env, k, "b has " + std::to_string(period) + " elements, which does not divide a's " + std::to_string(n));
  // b may be out itself only when it is not repeated (each element is read before it is written).
  if (period == n) checkOutputs(env, k, {out}, {a, b}, {});
  else checkOutputs(env, k, {out}, {a}, {b});
  if (n > 0) active->elementwise(op, a.data, b.data, out.data, n, period);
  return env.Undefined();
}

template <bool Log>
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* k = Log ? "logSoftmax" : "softmax";
  Napi::Env env = info.Env();
  expectArgs(info, k, 4);
  Buf x = f32(info[0], k, "x"), out = f32(info[1], k, "out");
  const i64 rows = size(info[2], k, "rows"), cols = size(info[3], k, "cols");
  const i64 n = mul(env, k, rows, cols);
  expectLength(env, k, x, n, "rows·cols");
  expectLength(env, k, out, n, "rows·cols");
  checkOutputs(env, k, {out}, {x}, {});
  active->softmax(x.data, out.data, rows, cols, Log);
  return env.Undefined();
}

template <bool Log>
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const char* k = Log ? "logSoftmaxBackward" : "softmaxBackward";
  Napi::Env env = info.Env();
  expectArgs(info, k, 5);
  Buf g = f32(info[0], k, "grad"), y = f32(info[1], k, "y"), dx = f32(info[2], k, "dx");
  const i64 rows = size(info[3], k, "rows"), cols = size(info[4], k, "cols");
  const i64 n = mul(env, k, rows, cols);
  expectLength(env, k, g, n, "rows·cols");
  expectLength(env, k, y, n, "rows·cols");
  expectLength(env, k, dx, n, "rows·cols");
  checkOutputs(env, k, {dx}, {g, y}, {});
  active->softmaxBackward(g.data, y.data, dx.data, rows, cols, Log);
  return env.Undefined();
}

// An optional string option with two allowed values: false for the first (the default), true for the second.
bool choice(Napi::Object opts, const char* kernel, const char* key, const char* first, const char* second) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return false;
  const std::string value = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  if (value == first) return false;
  if (value == second) return true;
  typeError(opts.Env(), kernel, std::string(key) + " must be \"" + first + "\" or \"" + second + "\"");
}

template <bool Adjoint>
Napi::Value Rope(const Napi::CallbackInfo& info) {
  const char* k = Adjoint ? "ropeBackward" : "rope";
  Napi::Env env = info.Env();
  expectArgs(info, k, 5);
  Buf x = f32(info[0], k, Adjoint ? "grad" : "x"), cos = f32(info[1], k, "cos"), sin = f32(info[2], k, "sin");
  Buf out = f32(info[3], k, Adjoint ? "dx" : "out");
  if (!info[4].IsObject()) typeError(env, k, "dims must be an object");
  Napi::Object dims = info[4].As<Napi::Object>();

  RopeArgs r;
  r.batch = size(dims.Get("batch"), k, "batch");
  r.seq = size(dims.Get("seq"), k, "seq");
  r.heads = size(dims.Get("heads"), k, "heads");
  r.half = size(dims.Get("half"), k, "half");
  r.headsFirst = choice(dims, k, "layout", "bthd", "bhtd");
  r.fullTable = choice(dims, k, "tableWidth", "half", "full");
  Napi::Value batched = dims.Get("tableBatched");
  if (!batched.IsUndefined() && !batched.IsBoolean()) typeError(env, k, "tableBatched must be a boolean");
  r.tableBatched = batched.IsUndefined() ? true : batched.As<Napi::Boolean>().Value();
  r.adjoint = Adjoint;

  const i64 dim = mul(env, k, 2, r.half);
  const i64 n = mul(env, k, mul(env, k, mul(env, k, r.batch, r.seq), r.heads), dim);
  const i64 tableRows = r.tableBatched ? mul(env, k, r.batch, r.seq) : r.seq;
  const i64 tableLength = mul(env, k, tableRows, r.fullTable ? dim : r.half);
  const std::string tableWhat = std::string(r.tableBatched ? "batch·seq" : "seq") + (r.fullTable ? "·2·half" : "·half");
  expectLength(env, k, x, n, "batch·seq·heads·2·half");
  expectLength(env, k, cos, tableLength, tableWhat);
  expectLength(env, k, sin, tableLength, tableWhat);
  expectLength(env, k, out, n, "batch·seq·heads·2·half");
  checkOutputs(env, k, {out}, {x}, {cos, sin});
  r.x = x.data;
  r.cos = cos.data;
  r.sin = sin.data;
  r.out = out.data;
  active->rope(r);
  return env.Undefined();
}

// ---- Variants ----------------------------------------------------------------------------------

Napi::Value GetIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), active->isa); }
Napi::Value GetVariant(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), active->name); }
Napi::Value GetBf16Native(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), active->bf16Native); }

// Every variant name this addon knows, fastest first (those the CPU cannot run included).
const char* const kVariantNames[] = {"avx512-bf16", "avx512", "avx2", "avx2-wide", "scalar"};

std::string runnableNames() {
  std::string names;
  for (const KernelTable* table : runnable) names += (names.empty() ? "" : ", ") + std::string(table->name);
  return names;
}

// SEAPO_NATIVE_ISA=<variant> forces a variant at load ("auto" or unset: the fastest the CPU runs);
// "_" may stand for "-". Returns the error message, empty when the choice is valid.
std::string applyForcedVariant() {
  const char* env = std::getenv("SEAPO_NATIVE_ISA");
  if (env == nullptr || *env == '\0' || std::string(env) == "auto") return "";
  std::string wanted(env);
  for (char& ch : wanted) ch = ch == '_' ? '-' : ch;
  for (const KernelTable* table : runnable) {
    if (wanted == table->name) {
      active = table;
      return "";
    }
  }
  std::string known = "auto";
  bool isKnown = false;
  for (const char* name : kVariantNames) {
    known += std::string(", ") + name;
    isKnown = isKnown || wanted == name;
  }
  if (!isKnown) return std::string("SEAPO_NATIVE_ISA must be one of ") + known + ", got \"" + env + "\"";
  return std::string("SEAPO_NATIVE_ISA=") + env + ": this CPU cannot run the " + wanted +
         " kernels (it runs " + runnableNames() + ")";
}
std::string forcedError;

Napi::Value UseVariant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  expectArgs(info, "useVariant", 1);
  if (!info[0].IsString()) typeError(env, "useVariant", "name must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  for (const KernelTable* table : runnable) {
    if (name == table->name) {
      active = table;
      return env.Undefined();
    }
  }
  rangeError(env, "useVariant", "\"" + name + "\" is not available on this CPU (available: " + runnableNames() + ")");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Process-wide: a second load (another worker thread) shares the variant list and the choice.
  if (runnable.empty()) {
    for (const KernelTable* table :
         {variantAvx512Bf16(), variantAvx512(), variantAvx2(), variantAvx2Wide(), variantScalar()}) {
      if (table != nullptr) runnable.push_back(table);
    }
    active = runnable.front();
    forcedError = applyForcedVariant();
  }
  if (!forcedError.empty()) throw Napi::Error::New(env, forcedError);
  const int threads = poolThreads();  // throws (failing the load) on a bad SEAPO_THREADS

  Napi::Array names = Napi::Array::New(env, runnable.size());
  for (std::size_t i = 0; i < runnable.size(); ++i) names.Set(static_cast<uint32_t>(i), runnable[i]->name);

  exports.DefineProperties({
      Napi::PropertyDescriptor::Value("abiVersion", Napi::Number::New(env, kAbiVersion), napi_enumerable),
      Napi::PropertyDescriptor::Value("threads", Napi::Number::New(env, threads), napi_enumerable),
      Napi::PropertyDescriptor::Value("variants", names, napi_enumerable),
      Napi::PropertyDescriptor::Accessor<GetIsa>("isa", napi_enumerable),
      Napi::PropertyDescriptor::Accessor<GetVariant>("variant", napi_enumerable),
      Napi::PropertyDescriptor::Accessor<GetBf16Native>("bf16Native", napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "useVariant", UseVariant, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "gemm", Gemm, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "gemmBf16", GemmBf16, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "packWeight", PackWeight, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "gemmPacked", GemmPacked, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "rmsnorm", Rmsnorm, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "rmsnormBackward", RmsnormBackward, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "siluMul", SiluMul, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "siluMulBackward", SiluMulBackward, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "softmax", Softmax<false>, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "softmaxBackward", SoftmaxBackward<false>, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "logSoftmax", Softmax<true>, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "logSoftmaxBackward", SoftmaxBackward<true>, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "rope", Rope<false>, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "ropeBackward", Rope<true>, napi_enumerable),
      Napi::PropertyDescriptor::Function(env, exports, "elementwise", Elementwise, napi_enumerable),
  });
  return exports;
}

}  // namespace
}  // namespace seapo

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return seapo::Init(env, exports); }

NODE_API_MODULE(seapo_native, InitModule)
