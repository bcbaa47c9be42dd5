import { closeSync, openSync, readSync } from "node:fs";
import { InputError } from "../../errors.js";
import { GGUF_ARRAY_CODE, GGUF_MAGIC, GGUF_SCALAR_CODES, type GgufScalarType, type GgufValue } from "./format.js";

/**
 * Reads a GGUF file's header and metadata (key, typed value) pairs, and stops before the tensor infos,
 * so a multi-gigabyte model costs only its metadata. Versions 2 and 3; little-endian files only.
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

export function readGgufMetadata(file: string): GgufHeader {
  const cursor = new FileCursor(file);
  try {
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
  } finally {
    cursor.close();
  }
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
