import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { z } from "zod";
import { InputError } from "../../errors.js";
import { f16ToF32, f32ToF16 } from "../gguf/format.js";
import type { WeightMap } from "../models/config.js";

/**
 * The safetensors format (huggingface/safetensors): a little-endian u64 N, N bytes of JSON header,
 * then one byte buffer. The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
 * with offsets relative to the start of the buffer; an optional "__metadata__" entry holds string
 * pairs. The tensors must tile the buffer exactly: sorted by offset, each begins where the previous
 * one ended, and the last ends at the end of the file.
 *
 * Reading goes tensor by tensor through a file handle, so a large checkpoint is never held twice:
 * an F32 tensor is read straight into its Float32Array, a 16-bit one through a buffer of half its size.
 */

/** Element size in bytes of every dtype safetensors defines. */
export const SAFETENSORS_DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

/** The dtypes this engine reads into Float32Array. */
export const FLOAT_DTYPES = ["F32", "F16", "BF16", "F64"] as const satisfies readonly SafetensorsDtype[];
/** The dtypes it writes. */
export type WriteDtype = "F32" | "F16" | "BF16";

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data buffer. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  /** Absolute file offset of the data buffer (8 + header length). */
  dataStart: number;
  /** In file order (sorted by offset). */
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** safetensors refuses headers over 100 MB; so do we (a corrupt length would otherwise allocate gigabytes). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

const entrySchema = z.strictObject({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const metadataSchema = z.record(z.string(), z.string());

const elementCount = (shape: readonly number[]): number => shape.reduce((product, n) => product * n, 1);
const formatShape = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

function parseHeaderJson(path: string, headerText: string): object {
  let raw: unknown;
  try {
    raw = JSON.parse(headerText);
  } catch (error) {
    throw new InputError(
      path,
      undefined,
      "header",
      `the JSON header does not parse: ${(error as Error).message}`,
      "the file is not safetensors, or is truncated",
    );
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InputError(path, undefined, "header", "the JSON header is not an object");
  }
  return raw;
}

/** One tensor's header entry, checked: a known dtype and offsets that span shape × dtype size bytes. */
function parseEntry(path: string, name: string, value: unknown): SafetensorsEntry {
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = [name, ...(issue?.path ?? []).map(String)].join(".");
    throw new InputError(
      path,
      undefined,
      field,
      `bad tensor entry: ${issue?.message ?? "invalid"}`,
      "expected {dtype, shape, data_offsets: [begin, end]}",
    );
  }
  const {
    dtype,
    shape,
    data_offsets: [begin, end],
  } = parsed.data;
  if (!(dtype in SAFETENSORS_DTYPE_BYTES)) {
    throw new InputError(
      path,
      undefined,
      `${name}.dtype`,
      `unknown dtype "${dtype}"`,
      `one of ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")}`,
    );
  }
  const size = SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
  if (end < begin) throw new InputError(path, undefined, `${name}.data_offsets`, `end ${end} is before begin ${begin}`);
  const expected = elementCount(shape) * size;
  if (end - begin !== expected) {
    throw new InputError(
      path,
      undefined,
      `${name}.data_offsets`,
      `shape ${formatShape(shape)} × ${dtype} (${size} bytes) needs ${expected} bytes, the offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape, begin, end };
}

/** Checks that the entries (sorted by offset) tile the data buffer exactly. */
function checkTiling(path: string, entries: readonly SafetensorsEntry[], dataBytes: number): void {
  let covered = 0;
  for (const entry of entries) {
    if (entry.begin !== covered) {
      const problem =
        entry.begin < covered
          ? `overlaps the tensor before it (which ends at ${covered})`
          : `leaves a gap: the tensor before it ends at ${covered}`;
      throw new InputError(path, undefined, `${entry.name}.data_offsets`, `begins at ${entry.begin} and ${problem}`);
    }
    covered = entry.end;
  }
  if (covered !== dataBytes) {
    throw new InputError(
      path,
      undefined,
      "data_offsets",
      `the tensors cover ${covered} bytes but the data buffer holds ${dataBytes}`,
      "the file is truncated or has trailing bytes",
    );
  }
}

/**
 * Validates a header's JSON against the file: known dtypes, shape × dtype size = byte length, and
 * offsets that tile the data buffer (`dataBytes` long) with no gap or overlap.
 */
export function parseSafetensorsHeader(
  path: string,
  headerText: string,
  dataStart: number,
  dataBytes: number,
): SafetensorsHeader {
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(parseHeaderJson(path, headerText))) {
    if (name === METADATA_KEY) {
      const parsed = metadataSchema.safeParse(value);
      if (!parsed.success) throw new InputError(path, undefined, METADATA_KEY, "must map strings to strings");
      metadata = parsed.data;
      continue;
    }
    entries.push(parseEntry(path, name, value));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTiling(path, entries, dataBytes);
  return { path, dataStart, tensors: new Map(entries.map((entry) => [entry.name, entry])), metadata };
}

async function readHeaderFrom(handle: FileHandle, path: string): Promise<SafetensorsHeader> {
  const { size } = await handle.stat();
  if (size < 8)
    throw new InputError(path, undefined, "header", `file is ${size} bytes, too short for a safetensors header`);
  const prefix = Buffer.alloc(8);
  await readFully(handle, prefix, 0);
  const headerBytes = prefix.readBigUInt64LE(0);
  if (headerBytes > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) {
    throw new InputError(
      path,
      undefined,
      "header",
      `header length ${headerBytes} does not fit the ${size}-byte file (or exceeds ${MAX_HEADER_BYTES})`,
      "the file is not safetensors",
    );
  }
  const text = Buffer.alloc(Number(headerBytes));
  await readFully(handle, text, 8);
  const dataStart = 8 + text.length;
  return parseSafetensorsHeader(path, text.toString("utf8"), dataStart, size - dataStart);
}

/** Reads and validates only the header (fast on any file size). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await openForReading(path);
  try {
    return await readHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}

/** An open safetensors file: the validated header, and tensors read one at a time on demand. */
export class SafetensorsFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const handle = await openForReading(path);
    try {
      return new SafetensorsFile(handle, await readHeaderFrom(handle, path));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get path(): string {
    return this.header.path;
  }

  /** One tensor as float32 (F32, F16, BF16 or F64 on disk). */
  async read(name: string): Promise<{ shape: number[]; data: Float32Array }> {
    const entry = this.header.tensors.get(name);
    if (entry === undefined) throw new InputError(this.path, undefined, name, "no such tensor in this file");
    const position = this.header.dataStart + entry.begin;
    const count = elementCount(entry.shape);
    const data = new Float32Array(count);
    switch (entry.dtype) {
      case "F32":
        await readFully(this.handle, bytesOf(data), position);
        break;
      case "BF16":
      case "F16": {
        const halves = new Uint16Array(count);
        await readFully(this.handle, bytesOf(halves), position);
        if (entry.dtype === "BF16") bf16ToF32Into(halves, data);
        else f16ToF32Into(halves, data);
        break;
      }
      case "F64": {
        const doubles = new Float64Array(count);
        await readFully(this.handle, bytesOf(doubles), position);
        data.set(doubles);
        break;
      }
      default:
        throw new InputError(
          this.path,
          undefined,
          `${name}.dtype`,
          `dtype ${entry.dtype} cannot be read as floats`,
          `the engine reads ${FLOAT_DTYPES.join(", ")}`,
        );
    }
    return { shape: [...entry.shape], data };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Every tensor of one file (or those named in `names`), with the file's metadata. */
export async function readSafetensors(
  path: string,
  options: { names?: readonly string[] } = {},
): Promise<{ weights: WeightMap; metadata: Record<string, string> }> {
  const file = await SafetensorsFile.open(path);
  try {
    const weights: WeightMap = new Map();
    for (const name of options.names ?? file.header.tensors.keys()) weights.set(name, await file.read(name));
    return { weights, metadata: file.header.metadata };
  } finally {
    await file.close();
  }
}

export interface WriteSafetensorsOptions {
  /** On-disk dtype for every tensor (default F32). */
  dtype?: WriteDtype;
  /** Extra `__metadata__` pairs; `format: "pt"` is always written (transformers requires it). */
  metadata?: Record<string, string>;
}

const WRITE_CHUNK_ELEMENTS = 1 << 20;

/**
 * Writes tensors in map order through a temporary file renamed at the end. The header is padded
 * with spaces to a multiple of 8 bytes, so the data buffer starts aligned, as safetensors' own
 * writer does.
 */
export async function writeSafetensors(
  path: string,
  weights: WeightMap,
  options: WriteSafetensorsOptions = {},
): Promise<{ bytes: number }> {
  const dtype = options.dtype ?? "F32";
  const size = SAFETENSORS_DTYPE_BYTES[dtype];
  const header: Record<string, unknown> = { [METADATA_KEY]: { ...options.metadata, format: "pt" } };
  let offset = 0;
  for (const [name, { shape, data }] of weights) {
    if (name === METADATA_KEY) throw new RangeError(`safetensors: "${METADATA_KEY}" cannot name a tensor`);
    if (!shape.every((n) => Number.isInteger(n) && n >= 0))
      throw new RangeError(`safetensors tensor ${name}: bad shape ${formatShape(shape)}`);
    if (elementCount(shape) !== data.length) {
      throw new RangeError(
        `safetensors tensor ${name}: shape ${formatShape(shape)} needs ${elementCount(shape)} values, got ${data.length}`,
      );
    }
    const bytes = data.length * size;
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBuffer = Buffer.alloc(8 + Buffer.byteLength(json));
  headerBuffer.writeBigUInt64LE(BigInt(headerBuffer.length - 8), 0);
  headerBuffer.write(json, 8, "utf8");

  const temporary = `${path}.${process.pid}.${Date.now()}.partial`;
  const handle = await open(temporary, "w");
  try {
    await writeFully(handle, headerBuffer, 0);
    let position = headerBuffer.length;
    const chunk = new Uint8Array(WRITE_CHUNK_ELEMENTS * size);
    for (const { data } of weights.values()) {
      for (let start = 0; start < data.length; start += WRITE_CHUNK_ELEMENTS) {
        const part = data.subarray(start, Math.min(data.length, start + WRITE_CHUNK_ELEMENTS));
        const encoded = encodeChunk(dtype, part, chunk);
        await writeFully(handle, encoded, position);
        position += encoded.length;
      }
    }
    await handle.close();
    await rename(temporary, path);
    return { bytes: position };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

function encodeChunk(dtype: WriteDtype, values: Float32Array, scratch: Uint8Array): Uint8Array {
  if (dtype === "F32") return bytesOf(values);
  const halves = new Uint16Array(scratch.buffer, 0, values.length);
  if (dtype === "BF16") for (let i = 0; i < values.length; i++) halves[i] = f32ToBf16(values[i]!);
  else for (let i = 0; i < values.length; i++) halves[i] = f32ToF16(values[i]!);
  return bytesOf(halves);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(array: Float32Array | Float64Array | Uint16Array): Uint8Array {
  if (!LITTLE_ENDIAN_HOST) throw new Error("safetensors: this engine needs a little-endian host");
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

const u32Scratch = new Uint32Array(1);
const f32Scratch = new Float32Array(u32Scratch.buffer);

/** bfloat16 bits of `x`: the top 16 bits of the float32, rounded to nearest even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) & 0x8000) | 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16ToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0]!;
}

function bf16ToF32Into(halves: Uint16Array, out: Float32Array): void {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < halves.length; i++) words[i] = halves[i]! << 16;
}

let f16Table: Float32Array | undefined;
function f16ToF32Into(halves: Uint16Array, out: Float32Array): void {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16ToF32(bits);
  }
  for (let i = 0; i < halves.length; i++) out[i] = f16Table[halves[i]!]!;
}

/** fs reads and writes are capped near 2 GiB per call; loop in smaller pieces. */
const IO_PIECE = 1 << 30;

async function readFully(handle: FileHandle, target: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(IO_PIECE, target.length - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) throw new RangeError(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

async function writeFully(handle: FileHandle, source: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < source.length) {
    const length = Math.min(IO_PIECE, source.length - done);
    const { bytesWritten } = await handle.write(source, done, length, position + done);
    done += bytesWritten;
  }
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(path, undefined, undefined, "file not found");
    throw error;
  }
}
