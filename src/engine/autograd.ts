/**
 * Reverse-mode autodiff: one gradient rule per primitive in `ops.ts`, and the backward pass.
 *
 * A rule receives the output gradient and the node (inputs, output, attributes) and returns one
 * gradient per input (null where an input is a constant). Rules are written with ops and run with
 * the tape off. Fused ops call their backend backward kernel. An op with no rule here raises an
 * error naming it when a gradient has to flow through it.
 */
import { backend } from "./backend.js";
import { attentionProbsBackward } from "./fused-attention.js";
import { frozenMatmulBackward } from "./frozen-matmul.js";
import { loraLinearBackward } from "./fused-lora.js";
import { lmHeadLogprobsBackward } from "./fused-lm-head.js";
import * as ops from "./ops.js";
import type { OpAttrs, OpName } from "./ops.js";
import { BackwardMemory, type RuleReads } from "./backward-memory.js";
import { allocate, allocateZeroed, keep } from "./pool.js";
import { formatShape, noGrad, sizeOf, Tensor } from "./tensor-core.js";

interface RuleContext<K extends OpName> {
  inputs: readonly Tensor[];
  out: Tensor;
  attrs: OpAttrs[K];
}

type GradRule<K extends OpName> = (grad: Tensor, ctx: RuleContext<K>) => (Tensor | null)[];

function input(ctx: RuleContext<OpName>, i: number): Tensor {
  const t = ctx.inputs[i];
  if (t === undefined) throw new Error(`gradient rule: missing input ${i}`);
  return t;
}

type Partial = (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => Tensor;

/**
 * d(a∘b)/da and d(a∘b)/db, each summed back to its input's (pre-broadcast) shape. Only an input that
 * requires a gradient gets one, so a rule reads no more than `ruleReads` declares.
 */
function binaryRule(da: Partial, db: Partial): GradRule<OpName> {
  return (g, ctx) => {
    const a = input(ctx, 0);
    const b = input(ctx, 1);
    return [
      a.requiresGrad ? ops.sumTo(da(g, a, b, ctx.out), a.shape) : null,
      b.requiresGrad ? ops.sumTo(db(g, a, b, ctx.out), b.shape) : null,
    ];
  };
}

function fresh(like: Tensor): Float32Array {
  return allocate(like.size);
}

/** The gradient table. `eq` is absent on purpose: it is never recorded. */
export const gradients: { [K in OpName]?: GradRule<K> } = {
  neg: (g) => [ops.neg(g)],
  exp: (g, { out }) => [ops.mul(g, out)],
  log: (g, ctx) => [ops.div(g, input(ctx, 0))],
  sqrt: (g, { out }) => [ops.div(g, ops.mul(out, 2))],
  rsqrt: (g, { out }) => [ops.mul(g, ops.mul(ops.mul(out, ops.mul(out, out)), -0.5))],
  recip: (g, { out }) => [ops.neg(ops.mul(g, ops.mul(out, out)))],
  sigmoid: (g, { out }) => [ops.mul(g, ops.mul(out, ops.sub(1, out)))],

  add: binaryRule(
    (g) => g,
    (g) => g,
  ),
  sub: binaryRule(
    (g) => g,
    (g) => ops.neg(g),
  ),
  mul: binaryRule(
    (g, _a, b) => ops.mul(g, b),
    (g, a) => ops.mul(g, a),
  ),
  div: binaryRule(
    (g, _a, b) => ops.div(g, b),
    (g, _a, b, out) => ops.neg(ops.div(ops.mul(g, out), b)),
  ),
  // The forward picks a on ties, so the gradient goes to a there.
  maximum: binaryRule(
    (g, a, _b, out) => ops.mul(g, ops.eq(out, a)),
    (g, a, _b, out) => ops.mul(g, ops.sub(1, ops.eq(out, a))),
  ),

  sum: (g, ctx) => [ops.expand(g, input(ctx, 0).shape)],
  max: (g, ctx) => {
    const x = input(ctx, 0);
    const hit = ops.eq(x, ctx.out);
    const ties = ops.sum(hit, ctx.attrs.axis, true);
    return [ops.mul(hit, ops.div(g, ties))];
  },

  reshape: (g, ctx) => [ops.reshape(g, input(ctx, 0).shape)],
  permute: (g, { attrs }) => {
    const inverse = new Array<number>(attrs.perm.length);
    attrs.perm.forEach((p, i) => (inverse[p] = i));
    return [ops.permute(g, inverse)];
  },
  expand: (g, ctx) => [ops.sumTo(g, input(ctx, 0).shape)],
  slice: (g, ctx) => {
    const { axis, start, end } = ctx.attrs;
    return [ops.pad(g, axis, start, input(ctx, 0).shape[axis]! - end)];
  },
  pad: (g, ctx) => {
    const { axis, before } = ctx.attrs;
    return [ops.slice(g, axis, before, before + input(ctx, 0).shape[axis]!)];
  },
  cat: (g, ctx) => {
    let offset = 0;
    return ctx.inputs.map((x) => {
      const part = ops.slice(g, ctx.attrs.axis, offset, offset + x.shape[ctx.attrs.axis]!);
      offset += x.shape[ctx.attrs.axis]!;
      return part;
    });
  },

  matmul: (g, ctx) => {
    // C = op(A)·op(B). Each case below writes dA and dB in the stored layout of A and B.
    const a = input(ctx, 0);
    const b = input(ctx, 1);
    const { transA, transB } = ctx.attrs;
    const da = a.requiresGrad
      ? transA
        ? ops.matmul(b, g, { transA: transB, transB: true }) // A stored [k, m]: dA = op(B)·dCᵀ
        : ops.matmul(g, b, { transB: !transB }) // dA = dC·op(B)ᵀ
      : null;
    const db = b.requiresGrad
      ? transB
        ? ops.matmul(g, a, { transA: true, transB: transA }) // B stored [n, k]: dB = dCᵀ·op(A)
        : ops.matmul(a, g, { transA: !transA }) // dB = op(A)ᵀ·dC
      : null;
    return [da && ops.sumTo(da, a.shape), db && ops.sumTo(db, b.shape)];
  },

  gather: (g, ctx) => [ops.scatterAdd(g, ctx.attrs.ids, input(ctx, 0).shape[0]!)],
  scatterAdd: (g, ctx) => [ops.reshape(ops.gather(g, ctx.attrs.ids), input(ctx, 0).shape)],

  rmsnorm: (g, ctx) => {
    const x = input(ctx, 0);
    const weight = input(ctx, 1);
    const dx = fresh(x);
    const dw = allocateZeroed(weight.size); // the kernel accumulates dw over the rows
    const cols = weight.size;
    backend().rmsnormBackward(g.data, x.data, weight.data, dx, dw, x.size / cols, cols, ctx.attrs.eps);
    return [new Tensor(dx, x.shape), new Tensor(dw, weight.shape)];
  },
  // A rotation's adjoint is the rotation by the opposite angle.
  rope: (g, ctx) => [ops.rope(g, input(ctx, 1), ops.neg(input(ctx, 2))), null, null],
  softmax: (g, { out }) => {
    const dx = fresh(out);
    backend().softmaxBackward(g.data, out.data, dx, out.size / out.dim(-1), out.dim(-1));
    return [new Tensor(dx, out.shape)];
  },
  logSoftmax: (g, { out }) => {
    const dx = fresh(out);
    backend().logSoftmaxBackward(g.data, out.data, dx, out.size / out.dim(-1), out.dim(-1));
    return [new Tensor(dx, out.shape)];
  },
  siluMul: (g, ctx) => {
    const a = input(ctx, 0);
    const b = input(ctx, 1);
    const da = fresh(a);
    const db = fresh(b);
    backend().siluMulBackward(g.data, a.data, b.data, da, db);
    return [new Tensor(da, a.shape), new Tensor(db, b.shape)];
  },
  lmHeadLogprobs: (g, ctx) => lmHeadLogprobsBackward(g, ctx.inputs, ctx.attrs),
  frozenMatmul: (g, ctx) => frozenMatmulBackward(g, ctx.inputs, ctx.attrs),
  loraLinear: (g, ctx) => loraLinearBackward(g, ctx.inputs, ctx.attrs),
  attentionProbs: (g, ctx) => attentionProbsBackward(g, ctx.inputs, ctx.out),
};

const none = (): Tensor[] => [];
const output = (t: Tensor): Tensor[] => [t];
const inputsAt =
  (...at: number[]) =>
  (_t: Tensor, inputs: readonly Tensor[]): Tensor[] =>
    at.map((i) => inputs[i]!);

/**
 * Which buffers each rule above reads (the rest of a node only lends shapes), so that backward in a
 * recycling scope with releaseTape frees the others at once. An op missing here is taken to read
 * every input and its output. Keep each entry in step with its rule.
 */
const ruleReads: RuleReads = {
  neg: none,
  exp: output,
  log: inputsAt(0),
  sqrt: output,
  rsqrt: output,
  recip: output,
  sigmoid: output,
  add: none,
  sub: none,
  mul: (_t, [a, b]) => [...(b!.requiresGrad ? [a!] : []), ...(a!.requiresGrad ? [b!] : [])],
  div: (t, [a, b]) => (b!.requiresGrad ? [b!, t] : a!.requiresGrad ? [b!] : []),
  maximum: (t, [a]) => [a!, t],
  sum: none,
  max: (t, [x]) => [x!, t],
  reshape: none,
  permute: none,
  expand: none,
  slice: none,
  pad: none,
  cat: none,
  matmul: (_t, [a, b]) => [...(b!.requiresGrad ? [a!] : []), ...(a!.requiresGrad ? [b!] : [])],
  gather: none,
  scatterAdd: none,
  rmsnorm: inputsAt(0, 1),
  rope: inputsAt(1, 2),
  softmax: output,
  logSoftmax: output,
  siluMul: inputsAt(0, 1),
  frozenMatmul: none, // reads only the upstream gradient and the bf16 weight
  // x_a·Aᵀ is in attrs; the base's weight is frozen, so x itself is never read.
  loraLinear: (_t, [, adapterInput, a, b]) => [...(a!.requiresGrad ? [adapterInput!] : []), a!, b!],
  attentionProbs: (t, [q, k]) => [...(k!.requiresGrad ? [q!] : []), ...(q!.requiresGrad ? [k!] : []), t],
  // dHidden comes from the direction kept in attrs; dWeight recomputes each chunk's logits from both.
  lmHeadLogprobs: (_t, [hidden, weight]) => (weight!.requiresGrad ? [hidden!, weight!] : []),
};

/** Tensors reachable from root through recorded nodes, inputs before outputs. */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative post-order DFS: deep graphs (many layers) must not overflow the stack.
  const stack: { tensor: Tensor; expanded: boolean }[] = [{ tensor: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.tensor);
      continue;
    }
    if (visited.has(top.tensor)) continue;
    visited.add(top.tensor);
    stack.push({ tensor: top.tensor, expanded: true });
    for (const parent of top.tensor.node?.inputs ?? []) {
      if (parent.requiresGrad && !visited.has(parent)) stack.push({ tensor: parent, expanded: false });
    }
  }
  return order;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkGradient(t: Tensor, j: number, gx: Tensor, x: Tensor): void {
  if (!sameShape(gx.shape, x.shape) || gx.size !== sizeOf(x.shape)) {
    throw new Error(
      `backward: rule for "${t.node!.op}" gave input ${j} a gradient of shape ${formatShape(gx.shape)}, expected ${formatShape(x.shape)}`,
    );
  }
}

/** One tensor's step of the backward pass: a leaf accumulates g, a node passes it to its inputs. */
function visit(t: Tensor, g: Tensor, memory: BackwardMemory): void {
  if (t.node === null) {
    // A leaf keeps a private buffer, so later in-place updates (clipping) never touch a shared one.
    if (t.grad === null) t.grad = new Tensor(memory.adopt(g) ?? g.data.slice(), t.shape);
    else {
      t.grad = ops.add(t.grad, g);
      keep(t.grad.data);
    }
    return;
  }
  const node = t.node;
  const rule = gradients[node.op] as GradRule<OpName> | undefined;
  if (rule === undefined) throw new Error(`backward: no gradient rule for op "${node.op}"`);
  const inputGrads = rule(g, { inputs: node.inputs, out: t, attrs: node.attrs });
  node.inputs.forEach((x, j) => {
    const gx = inputGrads[j];
    if (!x.requiresGrad || gx === null || gx === undefined) return;
    checkGradient(t, j, gx, x);
    memory.put(x, gx);
  });
}

/**
 * Backpropagates from root. Leaves (tensors with requiresGrad and no node) accumulate into `.grad`,
 * so several backward calls add up (gradient accumulation); clear with `grad = null`.
 */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad)
    throw new Error("backward: the tensor does not require a gradient (nothing to differentiate)");
  if (seed === undefined && root.size !== 1) {
    throw new Error(`backward: root has shape ${formatShape(root.shape)}; pass a gradient or reduce to a scalar first`);
  }
  if (seed !== undefined && !sameShape(seed.shape, root.shape)) {
    throw new Error(
      `backward: gradient shape ${formatShape(seed.shape)} differs from root shape ${formatShape(root.shape)}`,
    );
  }
  const order = topologicalOrder(root);
  const memory = new BackwardMemory(order, ruleReads);
  memory.put(root, seed ?? new Tensor(new Float32Array(root.size).fill(1), root.shape));
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = memory.take(t);
      if (g !== undefined) {
        memory.track(() => visit(t, g, memory));
        memory.drop(g);
      }
      memory.sweep(t);
    }
  });
}
