import { open, rename, rm } from "node:fs/promises";
import {
  GGML_TYPE_CODES,
  GGUF_ARRAY_CODE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_CODES,
  GGUF_VERSION,
  Q8_0_BLOCK,
  alignUp,
  encodeTensorData,
  tensorByteLength,
  type GgufMetadata,
  type GgufScalarType,
  type GgufTensorType,
  type GgufValue,
} from "./format.js";

/**
 * A streaming GGUF v3 writer. The header (metadata and tensor infos) is built in memory; tensor data is
 * encoded and written a chunk at a time, and a tensor's values can be produced lazily, so exporting a
 * large model never holds more than one tensor's floats plus one chunk of encoded bytes.
 *
 * The writer stores what it is given: model-specific conventions (e.g. permuting the rows of Q and K
 * for llama's RoPE layout) are the caller's job.
 */

export interface GgufTensorInput {
  /** GGUF tensor name, e.g. "blk.0.attn_q.weight" (at most 63 bytes). */
  name: string;
  /** Hugging Face order, row-major (last dimension fastest). The file stores it reversed: ne[0] = last. */
  shape: readonly number[];
  type: GgufTensorType;
  /** Row-major values, or a function producing them when the writer reaches this tensor. */
  data: Float32Array | (() => Float32Array | Promise<Float32Array>);
}

export interface GgufFileInput {
  metadata: GgufMetadata;
  tensors: readonly GgufTensorInput[];
}

export interface GgufWriteResult {
  bytes: number;
  alignment: number;
}

const MAX_DIMS = 4; // GGML_MAX_DIMS
const MAX_NAME_BYTES = 63; // GGML_MAX_NAME minus the terminator
const CHUNK_ELEMENTS = 1 << 20; // a multiple of the Q8_0 block

/** Write `file` to `path` (through a temporary file renamed at the end, so readers never see half a file). */
export async function writeGguf(path: string, file: GgufFileInput): Promise<GgufWriteResult> {
  const alignment = resolveAlignment(file.metadata);
  const layout = planTensors(file.tensors, alignment);
  const header = encodeHeader(file.metadata, layout);
  const dataStart = alignUp(header.length, alignment);

  const temporary = `${path}.${process.pid}.${Date.now()}.partial`;
  const handle = await open(temporary, "w");
  try {
    await handle.write(header, 0, header.length, 0);
    let end = header.length;
    for (const { tensor, offset, elements: expected } of layout) {
      const values = typeof tensor.data === "function" ? await tensor.data() : tensor.data;
      if (values.length !== expected) {
        throw new RangeError(
          `gguf tensor ${tensor.name}: shape [${tensor.shape.join(", ")}] needs ${expected} values, got ${values.length}`,
        );
      }
      let position = dataStart + offset;
      if (position > end) await handle.write(Buffer.alloc(position - end), 0, position - end, end);
      const chunk = Buffer.alloc(tensorByteLength(tensor.type, Math.min(CHUNK_ELEMENTS, expected)));
      for (let start = 0; start < expected; start += CHUNK_ELEMENTS) {
        const part = values.subarray(start, Math.min(expected, start + CHUNK_ELEMENTS));
        const written = encodeTensorData(tensor.type, part, chunk, 0);
        await handle.write(chunk, 0, written, position);
        position += written;
      }
      end = position;
    }
    // Pad the end too: ggml's own reader reads every tensor's size rounded up to the alignment.
    const fileEnd = alignUp(Math.max(end, dataStart), alignment);
    if (fileEnd > end) await handle.write(Buffer.alloc(fileEnd - end), 0, fileEnd - end, end);
    await handle.close();
    await rename(temporary, path);
    return { bytes: fileEnd, alignment };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

interface PlannedTensor {
  tensor: GgufTensorInput;
  /** Offset of the data from the start of the data section. */
  offset: number;
  elements: number;
  byteLength: number;
}

function resolveAlignment(metadata: GgufMetadata): number {
  const entry = metadata["general.alignment"];
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (typeof entry !== "object" || entry.type !== "u32" || entry.value <= 0 || entry.value % 8 !== 0) {
    throw new RangeError("gguf metadata general.alignment must be a u32 multiple of 8");
  }
  return entry.value;
}

function planTensors(tensors: readonly GgufTensorInput[], alignment: number): PlannedTensor[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map((tensor) => {
    const where = `gguf tensor ${tensor.name}`;
    if (names.has(tensor.name)) throw new RangeError(`${where}: duplicate name`);
    names.add(tensor.name);
    if (Buffer.byteLength(tensor.name) > MAX_NAME_BYTES)
      throw new RangeError(`${where}: name longer than ${MAX_NAME_BYTES} bytes`);
    const { shape } = tensor;
    if (shape.length < 1 || shape.length > MAX_DIMS || !shape.every((n) => Number.isInteger(n) && n > 0)) {
      throw new RangeError(
        `${where}: shape [${shape.join(", ")}] must have 1 to ${MAX_DIMS} positive integer dimensions`,
      );
    }
    if (!(tensor.type in GGML_TYPE_CODES)) throw new RangeError(`${where}: unknown type ${String(tensor.type)}`);
    if (tensor.type === "q8_0" && shape[shape.length - 1]! % Q8_0_BLOCK !== 0) {
      throw new RangeError(
        `${where}: q8_0 needs the last dimension of [${shape.join(", ")}] to be a multiple of ${Q8_0_BLOCK}`,
      );
    }
    const elements = shape.reduce((product, n) => product * n, 1);
    const planned = { tensor, offset, elements, byteLength: tensorByteLength(tensor.type, elements) };
    offset = alignUp(offset + planned.byteLength, alignment);
    return planned;
  });
}

function encodeHeader(metadata: GgufMetadata, layout: readonly PlannedTensor[]): Buffer {
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(BigInt(layout.length));
  const entries = Object.entries(metadata);
  out.u64(BigInt(entries.length));
  for (const [key, raw] of entries) {
    const value: GgufValue =
      typeof raw === "string"
        ? { type: "string", value: raw }
        : typeof raw === "boolean"
          ? { type: "bool", value: raw }
          : raw;
    out.string(key);
    if (value.type === "array") {
      out.u32(GGUF_ARRAY_CODE);
      out.u32(GGUF_SCALAR_CODES[value.itemType]);
      out.u64(BigInt(value.value.length));
      for (const item of value.value) out.scalar(value.itemType, item, key);
    } else {
      out.u32(GGUF_SCALAR_CODES[value.type]);
      out.scalar(value.type, value.value, key);
    }
  }
  for (const { tensor, offset } of layout) {
    out.string(tensor.name);
    out.u32(tensor.shape.length);
    for (const n of [...tensor.shape].reverse()) out.u64(BigInt(n));
    out.u32(GGML_TYPE_CODES[tensor.type]);
    out.u64(BigInt(offset));
  }
  return out.bytes();
}

/** Fixed-size number types: byte width, Buffer writer and, for integers, the allowed range. */
const NUMBER_TYPES: Partial<
  Record<
    GgufScalarType,
    { bytes: number; write: (b: Buffer, v: number, at: number) => number; range?: [number, number] }
  >
> = {
  u8: { bytes: 1, write: (b, v, at) => b.writeUInt8(v, at), range: [0, 0xff] },
  i8: { bytes: 1, write: (b, v, at) => b.writeInt8(v, at), range: [-0x80, 0x7f] },
  u16: { bytes: 2, write: (b, v, at) => b.writeUInt16LE(v, at), range: [0, 0xffff] },
  i16: { bytes: 2, write: (b, v, at) => b.writeInt16LE(v, at), range: [-0x8000, 0x7fff] },
  u32: { bytes: 4, write: (b, v, at) => b.writeUInt32LE(v, at), range: [0, 0xffffffff] },
  i32: { bytes: 4, write: (b, v, at) => b.writeInt32LE(v, at), range: [-0x80000000, 0x7fffffff] },
  f32: { bytes: 4, write: (b, v, at) => b.writeFloatLE(v, at) },
  f64: { bytes: 8, write: (b, v, at) => b.writeDoubleLE(v, at) },
};

/** A growable little-endian byte buffer for the header. */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  private length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // Each writer reserves first and only then reads this.buffer: reserve() may replace it with a larger one.

  u32(value: number): void {
    const at = this.reserve(4);
    this.buffer.writeUInt32LE(value, at);
  }

  u64(value: bigint): void {
    const at = this.reserve(8);
    this.buffer.writeBigUInt64LE(value, at);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.u64(BigInt(bytes.length));
    const at = this.reserve(bytes.length);
    bytes.copy(this.buffer, at);
  }

  scalar(type: GgufScalarType, value: unknown, key: string): void {
    const fail = (): never => {
      throw new RangeError(`gguf metadata ${key}: ${String(value)} is not a valid ${type}`);
    };
    const fixed = NUMBER_TYPES[type];
    if (fixed) {
      const { range } = fixed;
      if (typeof value !== "number") fail();
      if (range && (!Number.isInteger(value) || (value as number) < range[0] || (value as number) > range[1])) fail();
      const at = this.reserve(fixed.bytes);
      fixed.write(this.buffer, value as number, at);
      return;
    }
    switch (type) {
      case "u64":
      case "i64": {
        if (typeof value !== "bigint" && !(typeof value === "number" && Number.isSafeInteger(value))) fail();
        const big = BigInt(value as bigint | number);
        const inRange = type === "u64" ? big >= 0n && big < 1n << 64n : big >= -(1n << 63n) && big < 1n << 63n;
        if (!inRange) fail();
        const at = this.reserve(8);
        if (type === "u64") this.buffer.writeBigUInt64LE(big, at);
        else this.buffer.writeBigInt64LE(big, at);
        return;
      }
      case "bool": {
        if (typeof value !== "boolean") fail();
        const at = this.reserve(1);
        return void this.buffer.writeUInt8(value ? 1 : 0, at);
      }
      case "string":
        if (typeof value !== "string") fail();
        return this.string(value as string);
    }
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
