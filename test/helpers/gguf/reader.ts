import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import {
  GGML_TYPE_CODES,
  GGUF_ARRAY_CODE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_CODES,
  alignUp,
  decodeTensorData,
  tensorByteLength,
  type GgufScalarType,
  type GgufTensorType,
  type GgufValue,
} from "../../../src/engine/gguf/format.js";

/**
 * A small GGUF reader: header, metadata and tensor infos, plus decoding of one tensor's values for the
 * tensor types this package writes. Used to check the writer and to inspect exported files.
 */

export interface GgufTensorInfo {
  name: string;
  /** Hugging Face order (the file's ne[] reversed). */
  shape: number[];
  /** "f32" | "f16" | "q8_0", or `ggml_type_<code>` for a type this reader cannot decode. */
  type: GgufTensorType | `ggml_type_${number}`;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Undefined for types this reader cannot decode. */
  byteLength: number | undefined;
}

export interface GgufInfo {
  version: number;
  alignment: number;
  /** Every value carries its GGUF type; u64/i64 values (and arrays of them) come back as bigint. */
  metadata: Record<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute byte offset of the data section. */
  dataOffset: number;
}

const TYPE_BY_CODE = new Map<number, GgufTensorType>(
  Object.entries(GGML_TYPE_CODES).map(([name, code]) => [code, name as GgufTensorType]),
);
const SCALAR_BY_CODE = new Map<number, GgufScalarType>(
  Object.entries(GGUF_SCALAR_CODES).map(([name, code]) => [code, name as GgufScalarType]),
);

export async function readGgufInfo(path: string): Promise<GgufInfo> {
  const cursor = new FileCursor(path);
  try {
    if (cursor.u32() !== GGUF_MAGIC) throw new Error(`${path}: not a GGUF file (bad magic)`);
    const version = cursor.u32();
    if (version !== 2 && version !== 3) throw new Error(`${path}: GGUF version ${version} is not supported`);
    const tensorCount = Number(cursor.u64());
    const metadataCount = Number(cursor.u64());
    const metadata: Record<string, GgufValue> = {};
    for (let i = 0; i < metadataCount; i++) {
      const key = cursor.string();
      metadata[key] = readValue(cursor, cursor.u32(), key);
    }
    const alignmentEntry = metadata["general.alignment"];
    const alignment = alignmentEntry?.type === "u32" ? alignmentEntry.value : GGUF_DEFAULT_ALIGNMENT;
    const raw = Array.from({ length: tensorCount }, () => {
      const name = cursor.string();
      const dims = cursor.u32();
      const ne = Array.from({ length: dims }, () => Number(cursor.u64()));
      const code = cursor.u32();
      const relative = Number(cursor.u64());
      return { name, ne, code, relative };
    });
    const dataOffset = alignUp(cursor.position, alignment);
    const tensors = raw.map(({ name, ne, code, relative }): GgufTensorInfo => {
      const known = TYPE_BY_CODE.get(code);
      const elements = ne.reduce((product, n) => product * n, 1);
      return {
        name,
        shape: ne.slice().reverse(),
        type: known ?? `ggml_type_${code}`,
        offset: dataOffset + relative,
        byteLength: known ? tensorByteLength(known, elements) : undefined,
      };
    });
    return { version, alignment, metadata, tensors, dataOffset };
  } finally {
    cursor.close();
  }
}

/** Decode one tensor's values to f32 (dequantising f16 and Q8_0). */
export async function readGgufTensor(path: string, tensor: GgufTensorInfo): Promise<Float32Array> {
  if (tensor.byteLength === undefined)
    throw new Error(`${path}: tensor ${tensor.name} has type ${tensor.type}, which this reader cannot decode`);
  const handle = await open(path, "r");
  try {
    const bytes = Buffer.alloc(tensor.byteLength);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, tensor.offset);
    if (bytesRead !== bytes.length) throw new Error(`${path}: tensor ${tensor.name} runs past the end of the file`);
    const elements = tensor.shape.reduce((product, n) => product * n, 1);
    return decodeTensorData(tensor.type as GgufTensorType, bytes, elements);
  } finally {
    await handle.close();
  }
}

function readValue(cursor: FileCursor, code: number, key: string): GgufValue {
  if (code === GGUF_ARRAY_CODE) {
    const itemType = SCALAR_BY_CODE.get(cursor.u32());
    if (!itemType) throw new Error(`gguf metadata ${key}: unsupported array item type`);
    const count = Number(cursor.u64());
    const value = Array.from({ length: count }, () => readScalar(cursor, itemType));
    return { type: "array", itemType, value } as GgufValue;
  }
  const type = SCALAR_BY_CODE.get(code);
  if (!type) throw new Error(`gguf metadata ${key}: unknown value type ${code}`);
  return { type, value: readScalar(cursor, type) } as GgufValue;
}

function readScalar(cursor: FileCursor, type: GgufScalarType): number | bigint | boolean | string {
  switch (type) {
    case "u8":
      return cursor.take(1).readUInt8(0);
    case "i8":
      return cursor.take(1).readInt8(0);
    case "u16":
      return cursor.take(2).readUInt16LE(0);
    case "i16":
      return cursor.take(2).readInt16LE(0);
    case "u32":
      return cursor.u32();
    case "i32":
      return cursor.take(4).readInt32LE(0);
    case "f32":
      return cursor.take(4).readFloatLE(0);
    case "f64":
      return cursor.take(8).readDoubleLE(0);
    case "u64":
      return cursor.u64();
    case "i64":
      return cursor.take(8).readBigInt64LE(0);
    case "bool":
      return cursor.take(1).readUInt8(0) !== 0;
    case "string":
      return cursor.string();
  }
}

/** Sequential reads through a window over the file, so a large vocabulary is read without loading tensor data. */
class FileCursor {
  private readonly fd: number;
  private window = Buffer.alloc(0);
  private windowStart = 0;
  position = 0;

  constructor(private readonly path: string) {
    this.fd = openSync(path, "r");
  }

  take(n: number): Buffer {
    const from = this.position - this.windowStart;
    if (from + n > this.window.length) {
      const size = Math.max(n, 1 << 20);
      const buffer = Buffer.alloc(size);
      const read = readSync(this.fd, buffer, 0, size, this.position);
      if (read < n) throw new Error(`${this.path}: unexpected end of file at byte ${this.position}`);
      this.window = buffer.subarray(0, read);
      this.windowStart = this.position;
    }
    const start = this.position - this.windowStart;
    this.position += n;
    return this.window.subarray(start, start + n);
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  u64(): bigint {
    return this.take(8).readBigUInt64LE(0);
  }

  string(): string {
    const length = Number(this.u64());
    return this.take(length).toString("utf8");
  }

  close(): void {
    closeSync(this.fd);
  }
}
