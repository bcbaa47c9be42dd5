// The training steps bench/engine/run.mjs times, and what it measures around them besides time:
// V8's garbage-collection time (PerformanceObserver "gc" entries) and a per-hook time breakdown.
//
//   ce        forward + cross-entropy + backward of every weight (no optimizer): the engine's raw step
//   lora-dpo  a LoRA DPO step as seapo train runs it: 2 pairs = 4 sequences; policy forward + backward
//             with rank-8 adapters on every linear layer, the reference forward (adapters off, no tape),
//             the sigmoid DPO loss (β 0.1) over summed completion log-probs (the first 64 positions are
//             the prompt), AdamW on the adapters. With the pool on, each step runs in one recycling scope
//             that also releases the tape in backward.
import { PerformanceObserver } from "node:perf_hooks";

export const PROMPT = 64;
const BETA = 0.1;

/** Collects V8's GC pauses ({ startTime, duration } in ms); entries arrive asynchronously, so read after a tick. */
export function gcMeter() {
  const entries = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) entries.push({ startTime: e.startTime, duration: e.duration });
  });
  observer.observe({ entryTypes: ["gc"] });
  return { entries, stop: () => observer.disconnect() };
}

// Pending GC entries are delivered on a later turn of the event loop; a setImmediate is not enough.
export const tick = () => new Promise((resolve) => setTimeout(resolve, 200));

/** The step function for a configuration: `ce` or `lora-dpo`, on the given model and token rows. */
export function makeStep(engine, kind, model, ids, pool) {
  const inputs = ids.map((row) => row.slice(0, -1));
  const targets = ids.map((row) => row.slice(1));
  const wrap = (fn) => (pool ? () => engine.recycling(fn, { releaseTape: true }) : fn);
  if (kind === "ce") {
    return wrap(() => {
      for (const p of model.namedParameters().values()) p.grad = null;
      engine.crossEntropy(model.forward(inputs), targets).backward();
    });
  }
  const adapters = model.applyLora({ rank: 8, alpha: 16, seed: 1 });
  const optimizer = new engine.AdamW(adapters, { lr: 5e-6, weightDecay: 0 });
  const T = inputs[0].length;
  const mask = inputs.map(() => Array.from({ length: T }, (_, t) => (t >= PROMPT - 1 ? 1 : 0)));
  const logps = () => engine.sequenceLogprobs(model.forward(inputs), targets, mask);
  const B = inputs.length / 2;
  return wrap(() => {
    model.setAdaptersEnabled(false);
    // Its own scope, so the reference pass's buffers are free again before the policy forward.
    const reference = (pool ? engine.recycling : (fn) => fn())(() => engine.noGrad(logps).data.slice());
    model.setAdaptersEnabled(true);
    const policy = logps();
    const ref = new engine.Tensor(Float32Array.from(reference), [2 * B]);
    const delta = engine.ops.sub(policy, ref);
    const margin = engine.ops.sub(engine.ops.slice(delta, 0, 0, B), engine.ops.slice(delta, 0, B, 2 * B));
    // −log σ(β·margin) = log(1 + exp(−β·margin))
    const loss = engine.ops.mean(engine.ops.log(engine.ops.add(engine.ops.exp(engine.ops.mul(margin, -BETA)), 1)));
    loss.backward();
    engine.clipGradNorm(adapters.values(), 1);
    optimizer.step();
    optimizer.zeroGrad();
  });
}

/**
 * Wraps every hook of the backend in place with a timer; returns the totals (ms by hook) and a
 * function that restores the hooks.
 */
export function profileBackend(backend) {
  const totals = {};
  const saved = {};
  for (const [name, hook] of Object.entries(backend)) {
    if (typeof hook !== "function") continue;
    saved[name] = hook;
    totals[name] = 0;
    backend[name] = (...args) => {
      const start = performance.now();
      try {
        return hook(...args);
      } finally {
        totals[name] += performance.now() - start;
      }
    };
  }
  return { totals, restore: () => Object.assign(backend, saved) };
}
