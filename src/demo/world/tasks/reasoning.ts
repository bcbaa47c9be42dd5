/** Reasoning: ordering puzzles (a chain of comparisons) and syllogisms (a chain of categories). */
import { renderComparison, renderEvery, renderNone, renderOrderLine, scaleWords, type Scale } from "../format.js";
import { randomChoice, shuffled } from "../world.js";
import { fill, mix, type Ctx, type Draft, type Generator } from "./drafting.js";
import type { ItemSpec } from "./items.js";

const ordinals = ["first", "second", "third", "fourth", "fifth"];

function orderQuestion(scale: Scale, n: number, position: number): string {
  const w = scaleWords[scale];
  if (position === 0) return `Who is the ${w.most}?`;
  if (position === n - 1) return `Who is the ${w.least}?`;
  return `Who is the ${ordinals[position]} ${w.most}?`;
}

export const reasoning: Generator = (ctx, o) => {
  const orders = fill(ctx, o, () => orderPuzzle(ctx, o.orderSizes));
  const syllogisms = fill(ctx, o, () => syllogism(ctx, o.syllogismLengths));
  return mix(orders, syllogisms, 0.5, o, ctx.rng);
};

/** People in a hidden order, given as shuffled comparisons of neighbours; asks who holds one place. */
function orderPuzzle({ world, rng }: Ctx, sizes: readonly [number, number]): Draft {
  const n = rng.next() < 0.5 ? sizes[0] : sizes[1];
  const order = shuffled(rng, world.people)
    .slice(0, n)
    .map((p) => p.name);
  const scale = randomChoice(rng, ["tall", "old", "fast"] as const);
  const position = rng.int(n);
  const w = scaleWords[scale];
  const premises = shuffled(
    rng,
    order.slice(0, -1).map((x, i) => {
      const y = order[i + 1]!;
      return rng.next() < 0.5 ? `${x} is ${w.more} than ${y}.` : `${y} is ${w.less} than ${x}.`;
    }),
  );
  const steps = order.slice(0, -1).map((x, i) => renderComparison(x, scale, order[i + 1]!));
  return {
    key: `order:${scale}:${order.join(",")}:${position}`,
    prompt: `${premises.join(" ")} ${orderQuestion(scale, n, position)}`,
    final: order[position]!,
    stepLines: [...steps, renderOrderLine(scale, order)],
    spec: { kind: "order", scale, order, position },
  };
}

/** A chain of categories, maybe one excluded category and a distractor; asks "every x a y?" or "can x be z?". */
function syllogism({ world, rng }: Ctx, lengths: readonly [number, number]): Draft {
  const length = rng.next() < 0.5 ? lengths[0] : lengths[1];
  const picked = shuffled(rng, world.kinds).slice(0, length + 2);
  const chain = picked.slice(0, length);
  const extra = picked.slice(length) as [string, string];
  const useDistractor = rng.next() < 0.5;
  const distractor: [string, string] | null = useDistractor ? [extra[1], randomChoice(rng, chain.slice(1))] : null;
  const every = (i: number, j: number) => chain.slice(i, j).map((x, k) => renderEvery(x, chain[i + k + 1]!));
  let spec: ItemSpec & { kind: "syllogism" };
  let stepLines: string[];
  let final: string;
  let question: string;
  const premises = chain.slice(0, -1).map((x, i) => renderEvery(x, chain[i + 1]!));
  if (distractor) premises.push(renderEvery(distractor[0], distractor[1]));
  if (rng.next() < 0.33) {
    const i = rng.int(length - 1);
    const x = chain[i]!;
    const z = extra[0];
    premises.push(renderNone(chain.at(-1)!, z));
    spec = { kind: "syllogism", chain, excluded: z, distractor, question: { can: [x, z] } };
    stepLines = [...every(i, length - 1), renderNone(chain.at(-1)!, z), renderNone(x, z, true)];
    final = "no";
    question = `Can a ${x} be a ${z}?`;
  } else {
    let i = rng.int(length);
    let j = rng.int(length - 1);
    if (j >= i) j++;
    const [x, y] = [chain[i]!, chain[j]!];
    spec = { kind: "syllogism", chain, excluded: null, distractor, question: { every: [x, y] } };
    if (i > j) [i, j] = [j, i];
    stepLines = [...every(i, j), renderEvery(chain[i]!, chain[j]!, true)];
    final = x === chain[i] ? "yes" : "unknown";
    question = `Is every ${x} a ${y}?`;
  }
  return {
    // The question and its proof: a bigger puzzle with the same proof shares the split.
    key: `syllogism:${question} ${stepLines.join(" ")}`,
    prompt: `${shuffled(rng, premises).join(" ")} ${question}`,
    final,
    stepLines,
    spec,
  };
}
