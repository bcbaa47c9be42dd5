import { closeSync, openSync, readSync } from "node:fs";
import { InputError } from "../../errors.js";
import {
  GGML_TYPE_CODES,
  GGUF_ARRAY_CODE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_CODES,
  alignUp,
  tensorByteLength,
  type GgufScalarType,
  type GgufTensorType,
  type GgufValue,
} from "./format.js";

/**
 * Reads a GGUF file's header and metadata (key, typed value) pairs, and stops before the tensor infos,
 * so a multi-gigabyte model costs only its metadata (readGgufMetadata); or goes on through the tensor
 * infos, still without reading tensor data (readGgufInfo). Versions 2 and 3; little-endian files only.
 */

export interface GgufHeader {
  version: number;
  tensorCount: number;
  /** Every value with its GGUF type; u64/i64 values (and arrays of them) come back as bigint. */
  metadata: Record<string, GgufValue>;
}

const SCALAR_BY_CODE = new Map<number, GgufScalarType>(
  Object.entries(GGUF_SCALAR_CODES).map(([name, code]) => [code, name as GgufScalarType]),
);
const FIXED_SIZE: Partial<Record<GgufScalarType, number>> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

export interface GgufTensorInfo {
  name: string;
  /** Hugging Face order (the file's ne[] reversed). */
  shape: number[];
  /** "f32" | "f16" | "q8_0", or `ggml_type_<code>` for a type this package does not write. */
  type: GgufTensorType | `ggml_type_${number}`;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Undefined for types this package does not write. */
  byteLength: number | undefined;
}

export interface GgufInfo extends GgufHeader {
  alignment: number;
  tensors: GgufTensorInfo[];
  /** Absolute byte offset of the data section. */
  dataOffset: number;
}

const TYPE_BY_CODE = new Map<number, GgufTensorType>(
  Object.entries(GGML_TYPE_CODES).map(([name, code]) => [code, name as GgufTensorType]),
);

export function readGgufMetadata(file: string): GgufHeader {
  const cursor = new FileCursor(file);
  try {
    return readHeader(cursor, file);
  } finally {
    cursor.close();
  }
}

/** The header, the metadata and every tensor's name, shape, type and place in the file. */
export function readGgufInfo(file: string): GgufInfo {
  const cursor = new FileCursor(file);
  try {
    const header = readHeader(cursor, file);
    const alignmentEntry = header.metadata["general.alignment"];
    const alignment = alignmentEntry?.type === "u32" ? alignmentEntry.value : GGUF_DEFAULT_ALIGNMENT;
    const raw = Array.from({ length: header.tensorCount }, () => {
      const name = cursor.string();
      const ne = Array.from({ length: cursor.u32() }, () => Number(cursor.u64()));
      return { name, ne, code: cursor.u32(), relative: Number(cursor.u64()) };
    });
    const dataOffset = alignUp(cursor.offset, alignment);
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
    return { ...header, alignment, tensors, dataOffset };
  } finally {
    cursor.close();
  }
}

function readHeader(cursor: FileCursor, file: string): GgufHeader {
  if (cursor.u32() !== GGUF_MAGIC) throw new InputError(file, undefined, undefined, "not a GGUF file (bad magic)");
  const version = cursor.u32();
  if (version !== 2 && version !== 3)
    throw new InputError(file, undefined, "version", `GGUF version ${version} is not supported (2 and 3 are)`);
  const tensorCount = Number(cursor.u64());
  const metadataCount = Number(cursor.u64());
  const metadata: Record<string, GgufValue> = {};
  for (let i = 0; i < metadataCount; i++) {
    const key = cursor.string();
    metadata[key] = readValue(cursor, cursor.u32(), file, key);
  }
  return { version, tensorCount, metadata };
}

function readValue(cursor: FileCursor, code: number, file: string, key: string): GgufValue {
  if (code === GGUF_ARRAY_CODE) {
    const itemCode = cursor.u32();
    const itemType = SCALAR_BY_CODE.get(itemCode);
    if (itemType === undefined)
      throw new InputError(
        file,
        undefined,
        key,
        `unsupported array item type ${itemCode} (nested arrays are not read)`,
      );
    const count = Number(cursor.u64());
    const value = new Array<number | bigint | boolean | string>(count);
    for (let i = 0; i < count; i++) value[i] = readScalar(cursor, itemType);
    return { type: "array", itemType, value } as GgufValue;
  }
  const type = SCALAR_BY_CODE.get(code);
  if (type === undefined) throw new InputError(file, undefined, key, `unknown GGUF value type ${code}`);
  return { type, value: readScalar(cursor, type) } as GgufValue;
}

function readScalar(cursor: FileCursor, type: GgufScalarType): number | bigint | boolean | string {
  if (type === "string") return cursor.string();
  const bytes = cursor.take(FIXED_SIZE[type]!);
  switch (type) {
    case "u8":
      return bytes.readUInt8(0);
    case "i8":
      return bytes.readInt8(0);
    case "bool":
      return bytes.readUInt8(0) !== 0;
    case "u16":
      return bytes.readUInt16LE(0);
    case "i16":
      return bytes.readInt16LE(0);
    case "u32":
      return bytes.readUInt32LE(0);
    case "i32":
      return bytes.readInt32LE(0);
    case "f32":
      return bytes.readFloatLE(0);
    case "f64":
      return bytes.readDoubleLE(0);
    case "u64":
      return bytes.readBigUInt64LE(0);
    case "i64":
      return bytes.readBigInt64LE(0);
  }
}

/** Sequential reads through a window over the file (1 MiB, or larger for a long string). */
class FileCursor {
  private readonly fd: number;
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private position = 0;

  constructor(private readonly file: string) {
    try {
      this.fd = openSync(file, "r");
    } catch (error) {
      throw new InputError(file, undefined, undefined, `cannot open: ${(error as Error).message}`);
    }
  }

  take(n: number): Buffer {
    if (this.position + n > this.windowStart + this.window.length) {
      const size = Math.max(n, 1 << 20);
      const buffer = Buffer.alloc(size);
      const read = readSync(this.fd, buffer, 0, size, this.position);
      if (read < n)
        throw new InputError(this.file, undefined, undefined, `unexpected end of file at byte ${this.position}`);
      this.window = buffer.subarray(0, read);
      this.windowStart = this.position;
    }
    const start = this.position - this.windowStart;
    this.position += n;
    return this.window.subarray(start, start + n);
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.position;
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  u64(): bigint {
    return this.take(8).readBigUInt64LE(0);
  }

  string(): string {
    const length = Number(this.u64());
    if (length === 0) return "";
    this.take(length); // makes the window hold the string; decoding in place saves a Buffer per string
    const end = this.position - this.windowStart;
    return this.window.toString("utf8", end - length, end);
  }

  close(): void {
    closeSync(this.fd);
  }
}
