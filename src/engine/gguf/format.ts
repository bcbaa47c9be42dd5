/**
 * The parts of the GGUF v3 format (ggml's docs/gguf.md) that the writer and reader share: value and
 * tensor type codes, typed metadata values, and the f16 / Q8_0 encodings. Dependency-free.
 *
 * File layout, all little-endian:
 *   "GGUF" magic, u32 version, u64 tensor count, u64 metadata count,
 *   metadata: (string key, u32 value type, value)*,
 *   tensor infos: (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)*,
 *   padding to the alignment, then the tensor data; every offset is relative to the data start and a
 *   multiple of the alignment. Strings are a u64 byte length followed by UTF-8 bytes (no terminator).
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Scalar metadata types, by GGUF's own value-type codes. */
export const GGUF_SCALAR_CODES = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export const GGUF_ARRAY_CODE = 9;

export type GgufScalarType = keyof typeof GGUF_SCALAR_CODES;
export type GgufNumberType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type GgufBigType = "u64" | "i64";

/** One metadata value with its GGUF type spelled out (llama.cpp rejects a key stored with the wrong type). */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigType; value: bigint | number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufNumberType; value: readonly number[] }
  | { type: "array"; itemType: GgufBigType; value: readonly (bigint | number)[] }
  | { type: "array"; itemType: "bool"; value: readonly boolean[] }
  | { type: "array"; itemType: "string"; value: readonly string[] };

/** Metadata to write. A bare string or boolean stands for `{type: "string" | "bool"}`; numbers must be typed. */
export type GgufMetadata = Record<string, GgufValue | string | boolean>;

/** Constructors for typed metadata values: `{ "llama.block_count": gguf.u32(2) }`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  u64: (value: bigint | number): GgufValue => ({ type: "u64", value }),
  i64: (value: bigint | number): GgufValue => ({ type: "i64", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  numbers: (itemType: GgufNumberType, value: readonly number[]): GgufValue => ({ type: "array", itemType, value }),
};

/** Tensor element types this package writes and reads (ggml_type codes). */
export const GGML_TYPE_CODES = { f32: 0, f16: 1, q8_0: 8 } as const;
export type GgufTensorType = keyof typeof GGML_TYPE_CODES;

/** Q8_0: blocks of 32 values, each an f16 scale followed by 32 signed bytes. */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export function tensorByteLength(type: GgufTensorType, elements: number): number {
  switch (type) {
    case "f32":
      return elements * 4;
    case "f16":
      return elements * 2;
    case "q8_0":
      return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE binary16 bits of `x`, rounded to nearest even (what numpy's astype(float16) gives). */
export function f32ToF16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf or NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (halfExponent <= 0) {
    // Subnormal half (or zero): the value in units of 2^-24, with the implicit leading bit made explicit.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(mantissa, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (((halfExponent << 10) | (mantissa >>> 13)) + roundingCarry(mantissa, 13, mantissa >>> 13));
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  return kept + roundingCarry(value, shift, kept);
}

/** 1 when dropping the low `shift` bits of `value` should round `kept` up (ties to even). */
function roundingCarry(value: number, shift: number, kept: number): number {
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0;
}

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encode `values` (a whole number of rows) as `type` into `out` at `offset`; returns the bytes written. */
export function encodeTensorData(type: GgufTensorType, values: Float32Array, out: Buffer, offset: number): number {
  switch (type) {
    case "f32":
      if (LITTLE_ENDIAN_HOST) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
      else for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i]!, offset + i * 4);
      return values.length * 4;
    case "f16":
      if (LITTLE_ENDIAN_HOST && (out.byteOffset + offset) % 2 === 0) {
        const halves = new Uint16Array(out.buffer, out.byteOffset + offset, values.length);
        for (let i = 0; i < values.length; i++) halves[i] = f32ToF16(values[i]!);
      } else {
        for (let i = 0; i < values.length; i++) out.writeUInt16LE(f32ToF16(values[i]!), offset + i * 2);
      }
      return values.length * 2;
    case "q8_0":
      return encodeQ8_0(values, out, offset);
  }
}

function encodeQ8_0(values: Float32Array, out: Buffer, offset: number): number {
  let at = offset;
  for (let start = 0; start < values.length; start += Q8_0_BLOCK) {
    let absMax = 0;
    for (let i = start; i < start + Q8_0_BLOCK; i++) absMax = Math.max(absMax, Math.abs(values[i]!));
    const scale = absMax / 127;
    const inverse = scale === 0 ? 0 : 1 / scale;
    out.writeUInt16LE(f32ToF16(scale), at);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const scaled = values[start + i]! * inverse;
      // Round half away from zero, as C's roundf does in ggml's reference quantizer.
      out.writeInt8(Math.sign(scaled) * Math.round(Math.abs(scaled)), at + 2 + i);
    }
    at += Q8_0_BLOCK_BYTES;
  }
  return at - offset;
}

/** Decode `elements` values of `type` from `bytes` (the inverse of encodeTensorData, up to rounding). */
export function decodeTensorData(type: GgufTensorType, bytes: Buffer, elements: number): Float32Array {
  const values = new Float32Array(elements);
  switch (type) {
    case "f32":
      for (let i = 0; i < elements; i++) values[i] = bytes.readFloatLE(i * 4);
      break;
    case "f16":
      for (let i = 0; i < elements; i++) values[i] = f16ToF32(bytes.readUInt16LE(i * 2));
      break;
    case "q8_0":
      for (let block = 0; block < elements / Q8_0_BLOCK; block++) {
        const at = block * Q8_0_BLOCK_BYTES;
        const scale = f16ToF32(bytes.readUInt16LE(at));
        for (let i = 0; i < Q8_0_BLOCK; i++) values[block * Q8_0_BLOCK + i] = scale * bytes.readInt8(at + 2 + i);
      }
      break;
  }
  return values;
}
