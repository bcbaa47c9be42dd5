import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, describe, expect, it } from "vitest";
import { f16ToF32, f32ToF16, gguf, type GgufMetadata } from "../../../src/engine/gguf/format.js";
import { readGgufInfo, readGgufTensor } from "../../helpers/gguf/reader.js";
import { writeGguf, type GgufTensorInput } from "../../../src/engine/gguf/writer.js";

const directory = mkdtempSync(join(tmpdir(), "seapo-gguf-writer-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let fileCount = 0;
const nextPath = (): string => join(directory, `file-${fileCount++}.gguf`);

/** Deterministic, irregular values with a spread of magnitudes (no RNG shared with the code under test). */
function wave(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 0.37 + 1) * (1 + (i % 7)));
}

const metadata: GgufMetadata = {
  "general.architecture": "llama",
  "test.u8": gguf.u8(250),
  "test.i8": gguf.i8(-100),
  "test.u16": gguf.u16(65000),
  "test.i16": gguf.i16(-32000),
  "test.u32": gguf.u32(4_000_000_000),
  "test.i32": gguf.i32(-2_000_000_000),
  "test.u64": gguf.u64(2n ** 60n + 7n),
  "test.i64": gguf.i64(-(2n ** 50n)),
  "test.f32": gguf.f32(0.1),
  "test.f64": gguf.f64(Math.PI),
  "test.bool": true,
  "test.unicode": "Ünïcødé ✓ <|im_end|>",
  "test.strings": gguf.strings(["a", "", "Ġthe", "<|im_start|>"]),
  "test.ints": gguf.numbers("i32", [1, -2, 3]),
  "test.floats": gguf.numbers("f32", [0.5, -1.25, 3.1]),
};

const tensors: GgufTensorInput[] = [
  { name: "matrix.f32", shape: [3, 5], type: "f32", data: wave(15) },
  { name: "vector.f32", shape: [7], type: "f32", data: wave(7) },
  { name: "matrix.f16", shape: [4, 6], type: "f16", data: wave(24, 0.01) },
  { name: "cube.q8_0", shape: [2, 3, 64], type: "q8_0", data: wave(384, 0.2) },
];

describe("writeGguf and readGgufInfo", () => {
  it("round-trips metadata with its types", async () => {
    const path = nextPath();
    await writeGguf(path, { metadata, tensors });
    const info = await readGgufInfo(path);
    expect(info.version).toBe(3);
    expect(info.alignment).toBe(32);
    expect(info.metadata).toEqual({
      "general.architecture": { type: "string", value: "llama" },
      "test.u8": { type: "u8", value: 250 },
      "test.i8": { type: "i8", value: -100 },
      "test.u16": { type: "u16", value: 65000 },
      "test.i16": { type: "i16", value: -32000 },
      "test.u32": { type: "u32", value: 4_000_000_000 },
      "test.i32": { type: "i32", value: -2_000_000_000 },
      "test.u64": { type: "u64", value: 1152921504606846983n },
      "test.i64": { type: "i64", value: -1125899906842624n },
      "test.f32": { type: "f32", value: Math.fround(0.1) },
      "test.f64": { type: "f64", value: Math.PI },
      "test.bool": { type: "bool", value: true },
      "test.unicode": { type: "string", value: "Ünïcødé ✓ <|im_end|>" },
      "test.strings": { type: "array", itemType: "string", value: ["a", "", "Ġthe", "<|im_start|>"] },
      "test.ints": { type: "array", itemType: "i32", value: [1, -2, 3] },
      "test.floats": { type: "array", itemType: "f32", value: [0.5, -1.25, Math.fround(3.1)] },
    });
  });

  it("round-trips a header larger than the writer's first 64 KiB buffer (a real vocabulary's size)", async () => {
    const path = nextPath();
    const big: GgufMetadata = { "general.architecture": gguf.string("llama") };
    for (let i = 0; i < 6000; i++) big[`test.k${i}`] = gguf.u32(i);
    big["test.tokens"] = gguf.strings(Array.from({ length: 8000 }, (_, i) => `token${i}`));
    await writeGguf(path, { metadata: big, tensors });
    const info = await readGgufInfo(path);
    expect(info.metadata["test.k5999"]).toEqual({ type: "u32", value: 5999 });
    expect(info.metadata).toEqual(big);
  });

  it("keeps Hugging Face shapes, aligns offsets and sizes the data by type", async () => {
    const path = nextPath();
    await writeGguf(path, { metadata, tensors });
    const info = await readGgufInfo(path);
    expect(info.tensors.map(({ name, shape, type }) => ({ name, shape, type }))).toEqual([
      { name: "matrix.f32", shape: [3, 5], type: "f32" },
      { name: "vector.f32", shape: [7], type: "f32" },
      { name: "matrix.f16", shape: [4, 6], type: "f16" },
      { name: "cube.q8_0", shape: [2, 3, 64], type: "q8_0" },
    ]);
    // 15*4, 7*4, 24*2 bytes; Q8_0: 384/32 blocks of 34 bytes.
    expect(info.tensors.map((t) => t.byteLength)).toEqual([60, 28, 48, 408]);
    expect(info.dataOffset % 32).toBe(0);
    for (const tensor of info.tensors) expect((tensor.offset - info.dataOffset) % 32).toBe(0);
    expect(readFileSync(path).length % 32).toBe(0);
  });

  it("stores dimensions reversed (ne[0] fastest), as an independent GGUF parser sees them", async () => {
    const path = nextPath();
    await writeGguf(path, { metadata, tensors });
    const parsed = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
    expect(parsed.version).toBe(3);
    expect(parsed.tensorInfo?.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType])).toEqual([
      ["matrix.f32", [5, 3], 0],
      ["vector.f32", [7], 0],
      ["matrix.f16", [6, 4], 1],
      ["cube.q8_0", [64, 3, 2], 8],
    ]);
    const test = (parsed.metadata as unknown as { test: Record<string, unknown> }).test;
    expect(test.strings).toEqual(["a", "", "Ġthe", "<|im_start|>"]);
    expect(test.u32).toBe(4_000_000_000);
    expect(test.bool).toBe(true);
  });

  it("decodes f32 exactly, f16 and Q8_0 within their rounding", async () => {
    const path = nextPath();
    await writeGguf(path, { metadata, tensors });
    const info = await readGgufInfo(path);
    const values = await Promise.all(info.tensors.map((t) => readGgufTensor(path, t)));
    expect(values[0]).toEqual(wave(15));
    expect(values[1]).toEqual(wave(7));

    const f16Source = wave(24, 0.01);
    values[2]!.forEach((v, i) =>
      expect(Math.abs(v - f16Source[i]!)).toBeLessThanOrEqual(Math.abs(f16Source[i]!) * 2 ** -11 + 2 ** -25),
    );

    const q8Source = wave(384, 0.2);
    for (let block = 0; block < 384 / 32; block++) {
      const slice = q8Source.subarray(block * 32, block * 32 + 32);
      const step = Math.max(...slice.map(Math.abs)) / 127; // one quantisation step of this block
      for (let i = 0; i < 32; i++) {
        expect(Math.abs(values[3]![block * 32 + i]! - slice[i]!)).toBeLessThanOrEqual(
          step * 0.5 + Math.abs(slice[i]!) * 2 ** -10,
        );
      }
    }
  });

  it("lays a Q8_0 block out as an f16 scale followed by 32 int8", async () => {
    const path = nextPath();
    // Max |x| = 127 gives scale 1, so the quantised bytes are the values themselves.
    const data = Float32Array.from({ length: 32 }, (_, i) => (i === 31 ? -127 : i - 16));
    await writeGguf(path, { metadata: {}, tensors: [{ name: "q", shape: [32], type: "q8_0", data }] });
    const info = await readGgufInfo(path);
    const bytes = readFileSync(path).subarray(info.tensors[0]!.offset, info.tensors[0]!.offset + 34);
    expect(bytes.readUInt16LE(0)).toBe(0x3c00);
    expect(Array.from(new Int8Array(bytes.buffer, bytes.byteOffset + 2, 32))).toEqual(Array.from(data));
  });

  it("honours general.alignment and produces tensor data lazily", async () => {
    const path = nextPath();
    let calls = 0;
    await writeGguf(path, {
      metadata: { "general.alignment": gguf.u32(64) },
      tensors: [
        { name: "a", shape: [3], type: "f32", data: wave(3) },
        { name: "b", shape: [2, 2], type: "f32", data: () => (calls++, wave(4)) },
      ],
    });
    const info = await readGgufInfo(path);
    expect(info.alignment).toBe(64);
    expect(info.dataOffset % 64).toBe(0);
    expect(info.tensors[1]!.offset - info.dataOffset).toBe(64);
    expect(calls).toBe(1);
    expect(await readGgufTensor(path, info.tensors[1]!)).toEqual(wave(4));
  });

  it.each([
    [
      "a Q8_0 row that is not a whole number of blocks",
      { name: "q", shape: [2, 30], type: "q8_0", data: wave(60) },
      /multiple of 32/,
    ],
    ["data of the wrong length", { name: "w", shape: [2, 3], type: "f32", data: wave(5) }, /needs 6 values, got 5/],
    ["a zero dimension", { name: "z", shape: [0, 3], type: "f32", data: wave(0) }, /positive integer/],
    ["five dimensions", { name: "d", shape: [1, 1, 1, 1, 1], type: "f32", data: wave(1) }, /1 to 4/],
  ] as const)("rejects %s and leaves no file", async (_, tensor, message) => {
    const path = nextPath();
    await expect(writeGguf(path, { metadata: {}, tensors: [tensor as GgufTensorInput] })).rejects.toThrow(message);
    expect(() => readFileSync(path)).toThrow();
  });

  it("rejects metadata numbers outside their type", async () => {
    await expect(writeGguf(nextPath(), { metadata: { k: gguf.u8(256) }, tensors: [] })).rejects.toThrow(
      /k: 256 is not a valid u8/,
    );
    await expect(writeGguf(nextPath(), { metadata: { k: gguf.i32(1.5) }, tensors: [] })).rejects.toThrow(
      /not a valid i32/,
    );
  });
});

describe("f16 conversion", () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest finite half
    [65520, 0x7c00], // rounds up to infinity
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [1 / 3, 0x3555],
    [1 + 2 ** -11, 0x3c00], // tie: rounds to the even mantissa
    [1 + 3 * 2 ** -11, 0x3c02], // tie: rounds up to the even mantissa
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
  ])("%d -> 0x%s", (value, bits) => {
    expect(f32ToF16(value)).toBe(bits);
  });

  it("maps NaN to a NaN and decodes the special patterns", () => {
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    expect(f16ToF32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
  });
});
