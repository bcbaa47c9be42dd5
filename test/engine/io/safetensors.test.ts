import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { readWeights, readWeightsIndex, writeWeights } from "../../../src/engine/io/weights-folder.js";
import {
  bf16ToF32,
  f32ToBf16,
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsFile,
  writeSafetensors,
} from "../../../src/engine/io/safetensors.js";
import type { WeightMap } from "../../../src/engine/models/config.js";

const dir = mkdtempSync(join(tmpdir(), "seapo-safetensors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors file assembled by hand from a header object and raw data bytes (independent of the writer). */
function handMade(
  name: string,
  header: Record<string, unknown>,
  data: Buffer,
  headerText = JSON.stringify(header),
): string {
  const text = Buffer.from(headerText, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(text.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([prefix, text, data]));
  return path;
}

function u16s(values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => buffer.writeUInt16LE(v, i * 2));
  return buffer;
}

describe("reading", () => {
  it("reads F32, BF16 and F16 tensors written by hand per the spec", async () => {
    const f32 = Buffer.alloc(12);
    [1.5, -3.25, 1e-3].forEach((v, i) => f32.writeFloatLE(v, i * 4));
    // bf16: 1.0, -2.0, 0.5; f16: 1.0, -2.0, 65504 (the largest half)
    const bf16 = u16s([0x3f80, 0xc000, 0x3f00]);
    const f16 = u16s([0x3c00, 0xc000, 0x7bff]);
    const path = handMade(
      "mixed.safetensors",
      {
        __metadata__: { format: "pt", note: "hand" },
        a: { dtype: "F32", shape: [3], data_offsets: [0, 12] },
        b: { dtype: "BF16", shape: [1, 3], data_offsets: [12, 18] },
        c: { dtype: "F16", shape: [3, 1], data_offsets: [18, 24] },
      },
      Buffer.concat([f32, bf16, f16]),
    );
    const { weights, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({ format: "pt", note: "hand" });
    expect(weights.get("a")).toEqual({ shape: [3], data: Float32Array.from([1.5, -3.25, 1e-3]) });
    expect(weights.get("b")).toEqual({ shape: [1, 3], data: Float32Array.from([1, -2, 0.5]) });
    expect(weights.get("c")).toEqual({ shape: [3, 1], data: Float32Array.from([1, -2, 65504]) });
  });

  it("reads one tensor at a time through an open file", async () => {
    const path = join(dir, "two.safetensors");
    await writeSafetensors(
      path,
      new Map([
        ["x", { shape: [2], data: Float32Array.from([1, 2]) }],
        ["y", { shape: [1], data: Float32Array.from([7]) }],
      ]),
    );
    const file = await SafetensorsFile.open(path);
    try {
      expect([...file.header.tensors.keys()]).toEqual(["x", "y"]);
      expect((await file.read("y")).data).toEqual(Float32Array.from([7]));
      await expect(file.read("z")).rejects.toThrow(/two\.safetensors:z: no such tensor/);
    } finally {
      await file.close();
    }
  });

  const entry = (dtype: string, shape: number[], offsets: [number, number]) => ({
    dtype,
    shape,
    data_offsets: offsets,
  });
  it.each([
    [
      "a byte length that disagrees with shape × dtype",
      { w: entry("F32", [2, 2], [0, 12]) },
      12,
      /w\.data_offsets: shape \[2, 2\] × F32 \(4 bytes\) needs 16 bytes/,
    ],
    [
      "a gap between tensors",
      { a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) },
      12,
      /b\.data_offsets: begins at 8 and leaves a gap/,
    ],
    [
      "overlapping tensors",
      { a: entry("F32", [2], [0, 8]), b: entry("F32", [1], [4, 8]) },
      8,
      /b\.data_offsets: begins at 4 and overlaps/,
    ],
    ["trailing bytes", { a: entry("F32", [1], [0, 4]) }, 8, /cover 4 bytes but the data buffer holds 8/],
    ["an unknown dtype", { a: entry("F7", [1], [0, 1]) }, 1, /a\.dtype: unknown dtype "F7"/],
    ["a negative dimension", { a: entry("F32", [-1], [0, 4]) }, 4, /a\.shape\.0: bad tensor entry/],
    ["a missing field", { a: { dtype: "F32", shape: [1] } }, 4, /a\.data_offsets: bad tensor entry/],
    ["non-string metadata", { __metadata__: { n: 1 } }, 0, /__metadata__: must map strings to strings/],
  ])("rejects %s, naming the file and the tensor", async (_, header, dataBytes, message) => {
    const path = handMade("bad.safetensors", header, Buffer.alloc(dataBytes));
    const error = await readSafetensorsHeader(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/bad\.safetensors/);
    expect((error as Error).message).toMatch(message);
  });

  it("rejects a header length larger than the file and a non-JSON header", async () => {
    const path = join(dir, "short.safetensors");
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(1000n);
    writeFileSync(path, Buffer.concat([prefix, Buffer.from("{}")]));
    await expect(readSafetensorsHeader(path)).rejects.toThrow(
      /short\.safetensors:header: header length 1000 does not fit/,
    );
    const garbage = handMade("garbage.safetensors", {}, Buffer.alloc(0), "{not json");
    await expect(readSafetensorsHeader(garbage)).rejects.toThrow(
      /garbage\.safetensors:header: the JSON header does not parse/,
    );
  });

  it("refuses to read an integer tensor as floats", async () => {
    const path = handMade("ints.safetensors", { i: entry("I64", [1], [0, 8]) }, Buffer.alloc(8));
    await expect(readSafetensors(path)).rejects.toThrow(
      /ints\.safetensors:i\.dtype: dtype I64 cannot be read as floats/,
    );
  });
});

describe("writing", () => {
  const weights: WeightMap = new Map([
    ["model.norm.weight", { shape: [4], data: Float32Array.from([1, -0.5, 3.140625, 1e-8]) }],
    ["lm_head.weight", { shape: [2, 3], data: Float32Array.from([0.1, 0.2, 0.3, -0.4, 0.5, 65000]) }],
    ["empty", { shape: [0, 3], data: new Float32Array(0) }],
  ]);

  it("writes an 8-byte-aligned header with format pt and tensors that tile the buffer", async () => {
    const path = join(dir, "out.safetensors");
    const { bytes } = await writeSafetensors(path, weights, { metadata: { source: "seapo" } });
    const raw = readFileSync(path);
    expect(raw.length).toBe(bytes);
    const headerLength = Number(raw.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(raw.subarray(8, 8 + headerLength).toString("utf8"));
    expect(header.__metadata__).toEqual({ source: "seapo", format: "pt" });
    expect(header["model.norm.weight"]).toEqual({ dtype: "F32", shape: [4], data_offsets: [0, 16] });
    expect(header["lm_head.weight"]).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [16, 40] });
    expect(raw.length).toBe(8 + headerLength + 40);
    expect(raw.readFloatLE(8 + headerLength + 16 + 5 * 4)).toBe(65000);
  });

  it.each([
    ["F32", 0],
    ["BF16", 2 ** -8],
    ["F16", 2 ** -11],
  ] as const)("round-trips through %s within its precision", async (dtype, relative) => {
    const path = join(dir, `round-${dtype}.safetensors`);
    await writeSafetensors(path, weights, { dtype });
    const { weights: back } = await readSafetensors(path);
    expect([...back.keys()]).toEqual([...weights.keys()]);
    for (const [name, { shape, data }] of weights) {
      const read = back.get(name)!;
      expect(read.shape).toEqual(shape);
      data.forEach((value, i) => {
        if (Math.abs(value) < 6e-5 && dtype === "F16") return; // below f16's normal range
        expect(Math.abs(read.data[i]! - value)).toBeLessThanOrEqual(Math.abs(value) * relative);
      });
    }
  });

  it("rounds to bfloat16 to nearest even and keeps NaN", () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(bf16ToF32(f32ToBf16(1 + 2 ** -8))).toBe(1); // halfway: ties to the even mantissa
    expect(bf16ToF32(f32ToBf16(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6); // halfway between odd and even: rounds up to even
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true);
    expect(bf16ToF32(f32ToBf16(-Infinity))).toBe(-Infinity);
  });

  it("refuses a tensor whose data does not match its shape", async () => {
    await expect(
      writeSafetensors(join(dir, "x.safetensors"), new Map([["t", { shape: [2, 2], data: new Float32Array(3) }]])),
    ).rejects.toThrow(/tensor t: shape \[2, 2\] needs 4 values, got 3/);
  });
});

describe("weights folders", () => {
  const weights: WeightMap = new Map(
    ["a", "b", "c", "d"].map((name, i) => [
      name,
      { shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, j) => i * 10 + j) },
    ]),
  );

  it("shards by size with an index that lists every tensor, and reads it back", async () => {
    const folder = mkdtempSync(join(dir, "sharded-"));
    const files = await writeWeights(folder, weights, { maxShardBytes: 50 });
    expect(files).toEqual([
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
    ]);
    const indexJson = JSON.parse(readFileSync(join(folder, "model.safetensors.index.json"), "utf8"));
    expect(indexJson.metadata.total_size).toBe(4 * 24);
    expect(indexJson.weight_map).toEqual({
      a: "model-00001-of-00002.safetensors",
      b: "model-00001-of-00002.safetensors",
      c: "model-00002-of-00002.safetensors",
      d: "model-00002-of-00002.safetensors",
    });
    const index = await readWeightsIndex(folder);
    expect(await readWeights(index)).toEqual(weights);
    const some = await readWeights(index, ["d", "a"]);
    expect([...some.keys()]).toEqual(["d", "a"]);
    expect(some.get("d")).toEqual(weights.get("d"));
    await expect(readWeights(index, ["a", "e"])).rejects.toThrow(/:e: no such tensor in the checkpoint/);
  });

  it("names the shard and tensor when the index and a shard disagree", async () => {
    const folder = mkdtempSync(join(dir, "broken-"));
    await writeWeights(folder, weights, { maxShardBytes: 50 });
    const indexPath = join(folder, "model.safetensors.index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index.weight_map.c = "model-00001-of-00002.safetensors";
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(readWeightsIndex(folder)).rejects.toThrow(
      /model-00001-of-00002\.safetensors:c: model\.safetensors\.index\.json places this tensor here/,
    );
    delete index.weight_map.c;
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(readWeightsIndex(folder)).rejects.toThrow(
      /model-00002-of-00002\.safetensors:c: the shard holds this tensor but/,
    );
  });

  it("writing one file removes a stale index, and an empty folder is a clear error", async () => {
    const folder = mkdtempSync(join(dir, "single-"));
    await writeWeights(folder, weights, { maxShardBytes: 50 });
    expect(await writeWeights(folder, weights)).toEqual(["model.safetensors"]);
    expect((await readWeightsIndex(folder)).files).toEqual([join(folder, "model.safetensors")]);
    const empty = mkdtempSync(join(dir, "empty-"));
    await expect(readWeightsIndex(empty)).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
  });
});
