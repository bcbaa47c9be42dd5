/**
 * A frozen weight held as bf16 bit patterns (the upper 16 bits of each f32): half the bytes of f32,
 * and exact for values that are bf16 already (every value of a bf16 safetensors file). A leaf module, so
 * that the op list can name it; its products live in frozen-matmul.ts.
 */

/** A [rows, cols] matrix of bf16 bit patterns (row-major, like the f32 weight it replaces). */
export class Bf16Matrix {
  constructor(
    readonly bits: Uint16Array,
    readonly rows: number,
    readonly cols: number,
  ) {
    if (bits.length !== rows * cols) throw new Error(`Bf16Matrix: ${bits.length} values for [${rows}, ${cols}]`);
  }

  /** The bits of `data` when every value is exactly a bf16 (low 16 bits zero), else undefined. */
  static ifExact(data: Float32Array, rows: number, cols: number): Bf16Matrix | undefined {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < words.length; i++) if ((words[i]! & 0xffff) !== 0) return undefined;
    const bits = new Uint16Array(words.length);
    for (let i = 0; i < words.length; i++) bits[i] = words[i]! >>> 16;
    return new Bf16Matrix(bits, rows, cols);
  }

  /** The values as f32 (into `out` when given). */
  widen(out: Float32Array = new Float32Array(this.bits.length)): Float32Array {
    const words = new Uint32Array(out.buffer, out.byteOffset, this.bits.length);
    for (let i = 0; i < words.length; i++) words[i] = this.bits[i]! << 16;
    return out;
  }
}
