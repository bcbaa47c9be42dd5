/**
 * Tensor: a float32 buffer, a shape, and (when it needs a gradient) the node that made it.
 *
 * Tensors are always contiguous and row-major. Movement ops (permute, expand, slice) copy; reshape
 * shares the buffer. Why: every kernel, ours and the native addon's, can then assume dense rows, the
 * backend interface stays a list of simple hooks, and the copies are cheap next to the matmuls that
 * dominate a transformer step. Tensors are treated as immutable, except parameters, whose buffers
 * the optimizer updates in place.
 */
import type { MatmulOptions, OpAttrs, OpName } from "./op-list.js";
import type { Rng } from "./random.js";

/**
 * The functions behind Tensor's methods. ops.ts and autograd.ts import this file to build tensors, so
 * this file cannot import them; tensor.ts binds them instead, and everyone imports Tensor from there.
 */
export interface TensorMethods {
  backward(root: Tensor, seed?: Tensor): void;
  reshape(x: Tensor, shape: readonly number[]): Tensor;
  permute(x: Tensor, perm: readonly number[]): Tensor;
  transpose(x: Tensor, d0: number, d1: number): Tensor;
  add(a: Tensor, b: Tensor | number): Tensor;
  sub(a: Tensor, b: Tensor | number): Tensor;
  mul(a: Tensor, b: Tensor | number): Tensor;
  div(a: Tensor, b: Tensor | number): Tensor;
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;
  sum(x: Tensor, axis?: number, keepdim?: boolean): Tensor;
  mean(x: Tensor, axis?: number, keepdim?: boolean): Tensor;
}

let methods: TensorMethods | undefined;

export function bindTensorMethods(bound: TensorMethods): void {
  methods = bound;
}

function method(): TensorMethods {
  if (!methods)
    throw new Error("Tensor methods are not bound: import Tensor from engine/tensor.js or the engine's index");
  return methods;
}

/** How a tensor was computed: the op, its inputs and its attributes. */
export interface Node<K extends OpName = OpName> {
  readonly op: K;
  readonly inputs: readonly Tensor[];
  readonly attrs: OpAttrs[K];
}

let gradEnabled = true;

/** Whether ops record nodes for backward (false inside noGrad). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording the tape (inference, optimizer updates, gradient rules). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** True for parameters being trained and for anything computed from them with the tape on. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after backward(); null until then. */
  grad: Tensor | null = null;
  readonly node: Node | null;

  constructor(
    data: Float32Array,
    shape: readonly number[],
    options: { requiresGrad?: boolean; node?: Node | null } = {},
  ) {
    if (data.length !== sizeOf(shape)) {
      throw new Error(`Tensor: ${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.node = options.node ?? null;
    this.requiresGrad = options.requiresGrad ?? this.node !== null;
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Size of dimension d (negative counts from the end). */
  dim(d: number): number {
    const size = this.shape[d < 0 ? this.shape.length + d : d];
    if (size === undefined) throw new Error(`dim: axis ${d} out of range for shape ${formatShape(this.shape)}`);
    return size;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${formatShape(this.shape)} has ${this.size} values`);
    return this.data[0]!;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Same values, cut from the tape. Shares the buffer. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** Backpropagates from this tensor (a scalar unless `grad` is given) into every leaf's `.grad`. */
  backward(grad?: Tensor): void {
    method().backward(this, grad);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)})`;
  }

  // Method forms of the common ops, so model code reads left to right.
  reshape(shape: readonly number[]): Tensor {
    return method().reshape(this, shape);
  }
  permute(perm: readonly number[]): Tensor {
    return method().permute(this, perm);
  }
  transpose(d0: number, d1: number): Tensor {
    return method().transpose(this, d0, d1);
  }
  add(other: Tensor | number): Tensor {
    return method().add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return method().sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return method().mul(this, other);
  }
  div(other: Tensor | number): Tensor {
    return method().div(this, other);
  }
  matmul(other: Tensor, options?: MatmulOptions): Tensor {
    return method().matmul(this, other, options);
  }
  sum(axis?: number, keepdim = false): Tensor {
    return method().sum(this, axis, keepdim);
  }
  mean(axis?: number, keepdim = false): Tensor {
    return method().mean(this, axis, keepdim);
  }
}

function checkShape(op: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${op}: invalid shape ${formatShape(shape)}`);
}

/** A tensor from values (row-major) and a shape; the shape defaults to [values.length]. */
export function tensor(
  values: ArrayLike<number>,
  shape: readonly number[] = [values.length],
  requiresGrad = false,
): Tensor {
  checkShape("tensor", shape);
  return new Tensor(Float32Array.from(values), shape, { requiresGrad });
}

export function scalar(value: number): Tensor {
  return new Tensor(Float32Array.of(value), []);
}

export function zeros(shape: readonly number[], requiresGrad = false): Tensor {
  checkShape("zeros", shape);
  return new Tensor(new Float32Array(sizeOf(shape)), shape, { requiresGrad });
}

export function full(shape: readonly number[], value: number, requiresGrad = false): Tensor {
  checkShape("full", shape);
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape, { requiresGrad });
}

export function ones(shape: readonly number[], requiresGrad = false): Tensor {
  return full(shape, 1, requiresGrad);
}

/** Normal(0, std²) values from a seeded generator. */
export function randn(shape: readonly number[], rng: Rng, std = 1, requiresGrad = false): Tensor {
  checkShape("randn", shape);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return new Tensor(data, shape, { requiresGrad });
}

/** Uniform(low, high) values from a seeded generator. */
export function uniform(shape: readonly number[], rng: Rng, low: number, high: number, requiresGrad = false): Tensor {
  checkShape("uniform", shape);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(low, high);
  return new Tensor(data, shape, { requiresGrad });
}
