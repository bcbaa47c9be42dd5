// Benchmark: preference-training optimizer steps per second of `seapo train` against the same step in
// PyTorch CPU at the same thread count, for LoRA and full fine-tuning, DPO (sigmoid) and KTO.
//
//   npm run build && node bench/train/run.mjs              # all four combinations, ~34M-parameter Llama
//   node bench/train/run.mjs --quick                       # a small model and a few steps (about a minute)
//   node bench/train/run.mjs --only lora-dpo,full-kto --steps 20 --threads 2
//   node bench/train/run.mjs --model qwen0.5b                # Qwen2.5-0.5B shape, LoRA DPO and KTO, 1 + 2 steps
//
// Options: --model 34m | qwen0.5b | quick (the model; --quick is --model quick), --layers N (the same
// model cut to N layers: Qwen2.5-0.5B's 24 at B 4 × T 512 need over 18 GiB in seapo), --quick, --steps N (timed steps per side), --warmup N (untimed steps first), --threads N
// (SEAPO_THREADS for seapo, torch.set_num_threads plus OMP/OpenBLAS threads for PyTorch; default: the
// native kernels' thread count, i.e. every core), --only a,b (lora-dpo, lora-kto, full-dpo, full-kto),
// --no-torch (seapo alone), --keep (leave the generated model, data and outputs in the temp folder).
//
// The seapo side is `train()` itself (dist/train), run on a generated model folder and dpo.jsonl, with
// logEvery 1: each metrics.jsonl line's tokens/s is that optimizer step's tokens over its wall time
// (the interval from the end of the previous step's log line), so step time = tokens ÷ tokens/s.
// The first --warmup lines are dropped. One step = policy forward + backward on the batch, reference
// log-probs (LoRA: the policy with its adapters off; full: a frozen copy), the loss, gradient clipping
// and the AdamW update; gradAccum 1, so each step is one micro-batch.
//
//   DPO: batch 2 pairs = 4 sequences (chosen, rejected) per step
//   KTO: batch 4 items (the pairs unpaired by the trainer: chosen desirable, rejected undesirable),
//        plus 4 mismatched KL rows scored without gradient by the policy and the reference
// Every sequence is prompt + completion tokens (64 + 192 = 256 here, 32 + 96 in --quick), so
// tokens/s = 1024 (quick: 512) trained tokens per step ÷ step time, the same count on both sides
// (the trainer's own tokens/s: prompt + completion tokens of the sequences that get a gradient;
// KL rows and reference passes are work, not tokens).
//
// Each side runs in its own process (this file with --worker; bench/train/torch_reference.py under a
// python3 that imports torch: Debian's python3-torch, installed with apt-get if missing, together with
// libopenblas0-pthread), so each peak RSS belongs to one configuration alone. Debian's torch calls
// whatever libblas.so.3 resolves to; the PyTorch process is pointed at OpenBLAS when it is installed
// (LD_LIBRARY_PATH, unless the caller set one), and the report warns when it still maps netlib's BLAS.
//
// The PyTorch side loads the same model.safetensors and is given the same rows step by step, as the
// trainer plans them (planEpoch, unpairRows, ktoKlRows), so step 1's log-probs must agree (and, for
// full fine-tuning, the gradient norm); the bench prints both and flags a mismatch.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchLlamaConfig, runJson } from "../common.mjs";
import { parseArgs } from "./args.mjs";
import { measureGemmRate, printFlopsLine, timeGemms } from "./gemm-rate.mjs";
import { torchBlasEnv, torchPython } from "./torch-python.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "..", "dist");

const COMBINATIONS = ["lora-dpo", "lora-kto", "full-dpo", "full-kto"];

const SETUPS = {
  // bench/engine's llama30m: ~34M parameters with tied embeddings.
  "34m": {
    model: { vocabSize: 32000, hiddenSize: 512, intermediateSize: 1024, numLayers: 8, numHeads: 8, numKvHeads: 2 },
    prompt: 64,
    completion: 192,
    steps: 10,
    warmup: 2,
  },
  // Qwen2.5-0.5B's shape with random weights (494M parameters, q/k/v biases, tied); T 512. A step takes
  // tens of seconds on two cores, so few steps, and LoRA only unless --only asks for more.
  "qwen0.5b": {
    model: { vocabSize: 151936, hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2 },
    config: { architecture: "qwen2", attentionBias: true, ropeTheta: 1000000, rmsNormEps: 1e-6 },
    prompt: 128,
    completion: 384,
    steps: 2,
    warmup: 1,
    only: ["lora-dpo", "lora-kto"],
  },
  quick: {
    model: { vocabSize: 8000, hiddenSize: 256, intermediateSize: 688, numLayers: 2, numHeads: 4, numKvHeads: 2 },
    prompt: 32,
    completion: 96,
    steps: 3,
    warmup: 1,
  },
};

/** What the trainer is told, beyond the model, data and loss: the paper's LoRA, lr, β; one micro-batch per step. */
const TRAIN = { lora: { rank: 8, alpha: 16 }, beta: 0.1, lr: 5e-6, weightDecay: 0, maxGradNorm: 1, seed: 42 };
const BATCH = { dpo: 2, kto: 4 };
const LOSS = { dpo: "sigmoid", kto: "kto" };

// ---------------------------------------------------------------------------------------------
// the seapo worker: train() on the generated folder, metrics.jsonl read back

async function worker(jobFile) {
  const job = JSON.parse(readFileSync(jobFile, "utf8"));
  const { loadNativeKernels, nativeLoadError } = await import(join(dist, "engine/native/index.js"));
  const kernels = loadNativeKernels();
  if (!kernels)
    throw new Error(`the native kernels are not built (${nativeLoadError()}); run node scripts/build-native.mjs`);
  const engine = await import(join(dist, "engine/index.js"));
  engine.setBackend("native");
  const { parseTrainConfig, train, METRICS_FILE } = await import(join(dist, "train/index.js"));
  const config = parseTrainConfig(
    {
      model: job.modelDir,
      data: job.dataFile,
      out: job.outDir,
      loss: LOSS[job.loss],
      beta: TRAIN.beta,
      finetuning: job.finetuning,
      lora: { rank: TRAIN.lora.rank, alpha: TRAIN.lora.alpha },
      lr: TRAIN.lr,
      schedule: "constant",
      weightDecay: TRAIN.weightDecay,
      maxGradNorm: TRAIN.maxGradNorm,
      maxSteps: job.totalSteps,
      batchSize: BATCH[job.loss],
      gradAccum: 1,
      maxLength: job.maxLength,
      seed: TRAIN.seed,
      logEvery: 1,
      saveEvery: job.totalSteps + 1,
      saveAdapter: false,
      saveMerged: false,
    },
    "bench/train",
  );
  await train(config, { log: () => {} });
  const metrics = readFileSync(join(job.outDir, METRICS_FILE), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
  const run = JSON.parse(readFileSync(join(job.outDir, "run.json"), "utf8"));
  return {
    metrics,
    trainable: run.trainableParameters,
    threads: kernels.threads,
    isa: kernels.isa,
    variant: kernels.variant,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    lmHeadChunkRows: Math.max(1, Math.floor(engine.LM_HEAD_CHUNK_ELEMENTS / job.vocabSize)),
  };
}

// ---------------------------------------------------------------------------------------------
// setup: one model folder and one dpo.jsonl, shared by every combination and both sides

async function prepare(setup, dir, totalSteps) {
  const io = await import(join(dist, "engine/io/index.js"));
  const { Rng, expectedShapes } = await import(join(dist, "engine/index.js"));
  const trainLib = await import(join(dist, "train/index.js"));
  const { ktoKlRows } = await import(join(dist, "train/losses/index.js"));

  // A byte-level tokenizer without merges (256 bytes + 3 specials): every ASCII character is one token,
  // so the generated texts have exactly the lengths asked for. The model's vocabulary stays 32k.
  const tokenizer = io.buildByteLevelBpeTokenizer({ vocabSize: 259, addBos: true, modelMaxLength: 4096 });
  const m = setup.model;
  const config = benchLlamaConfig(m, {
    ...setup.config,
    bosTokenId: tokenizer.special.endOfText,
    eosTokenId: tokenizer.special.imEnd,
  });
  const modelDir = join(dir, "model");
  await io.saveHfModel(modelDir, { config, weights: io.randomWeights(config, 0), tokenizer });
  const parameters = io.countParameters(expectedShapes(config).values());

  const hfTokenizer = await io.loadTokenizer(modelDir);
  // The tokens the trainer adds around a one-character prompt and completion (template, BOS, EOS), read
  // from a probe row tokenized by the trainer itself, so the texts below come out at exactly the lengths asked.
  const probeFile = join(dir, "probe.jsonl");
  writeFileSync(probeFile, JSON.stringify({ prompt: "a", chosen: "b", rejected: "c" }) + "\n");
  const probe = trainLib.tokenizeRows((await trainLib.readPreferenceRows(probeFile)).data, hfTokenizer, 64).data
    .rows[0];
  const [promptOverhead, completionOverhead] = [probe.prompt.length - 1, probe.chosen.length - 1];
  const rng = new Rng(7);
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const text = (n) =>
    Array.from({ length: n }, (_, i) => (i % 6 === 5 && i < n - 1 ? " " : letters[rng.int(letters.length)])).join("");
  // Enough pairs that one epoch covers every step (the trainer would reshuffle for the next epoch, and so would the plan below).
  const pairs = 2 * Math.max(8, totalSteps);
  const dataFile = join(dir, "dpo.jsonl");
  const rows = Array.from({ length: pairs }, () => ({
    prompt: text(setup.prompt - promptOverhead),
    chosen: text(setup.completion - completionOverhead),
    rejected: text(setup.completion - completionOverhead),
  }));
  writeFileSync(dataFile, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");

  // The rows each step scores, built with the trainer's own functions (train.ts: epochPlan, microBatches, batchRows).
  const maxLength = setup.prompt + setup.completion;
  const { data: raw } = await trainLib.readPreferenceRows(dataFile);
  const plans = {};
  for (const loss of ["dpo", "kto"]) {
    const kl = loss === "kto";
    const source = kl ? { kind: "unpaired", rows: trainLib.unpairRows(raw.rows) } : raw;
    const { data, stats } = trainLib.tokenizeRows(source, hfTokenizer, maxLength);
    if (stats.dropped + stats.truncated > 0)
      throw new Error(`bench data: ${stats.dropped} rows dropped, ${stats.truncated} truncated at ${maxLength} tokens`);
    const lengths = data.rows.map(trainLib.rowLength);
    const wrong = data.rows.find(
      (r) =>
        r.prompt.length !== setup.prompt ||
        (kl ? [r.completion] : [r.chosen, r.rejected]).some((c) => c.length !== setup.completion),
    );
    if (wrong)
      throw new Error(
        `bench data: a row tokenized to prompt ${wrong.prompt.length} (want ${setup.prompt}); the tokenizer is not one token per character`,
      );
    const epochPlan = (epoch) =>
      trainLib.planEpoch(lengths, BATCH[loss], TRAIN.seed + epoch, true).filter((b) => !kl || b.length >= 2);
    const stepsPerEpoch = epochPlan(0).length;
    const steps = [];
    for (let step = 0; step < totalSteps; step++) {
      const batch = epochPlan(Math.floor(step / stepsPerEpoch))[step % stepsPerEpoch];
      if (kl) {
        const items = batch.map((i) => ({ prompt: data.rows[i].prompt, completion: data.rows[i].completion }));
        const klRows = ktoKlRows(items).map((r) => ({ prompt: [...r.prompt], completion: [...r.completion] }));
        steps.push({
          rows: [...items, ...klRows],
          labels: batch.map((i) => (data.rows[i].label ? 1 : 0)),
          tokens: tokenCount(items),
        });
      } else {
        const chosen = batch.map((i) => ({ prompt: data.rows[i].prompt, completion: data.rows[i].chosen }));
        const rejected = batch.map((i) => ({ prompt: data.rows[i].prompt, completion: data.rows[i].rejected }));
        steps.push({ rows: [...chosen, ...rejected], tokens: tokenCount([...chosen, ...rejected]) });
      }
    }
    plans[loss] = steps;
  }
  return { modelDir, dataFile, config, parameters, maxLength, plans };
}

const tokenCount = (rows) => rows.reduce((n, r) => n + r.prompt.length + r.completion.length, 0);

// ---------------------------------------------------------------------------------------------
// running and reporting

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const group = (n) => Math.round(n).toLocaleString("en-US");

/** Timed steps (warm-up dropped) → median ms, steps/s, tokens/s over the same steps. */
function summarize(stepMs, tokens, warmup) {
  const timedMs = stepMs.slice(warmup);
  const timedTokens = tokens.slice(warmup);
  const ms = median(timedMs);
  return {
    ms,
    stepsPerSecond: 1000 / ms,
    tokensPerSecond: median(timedTokens) / (ms / 1000),
    min: Math.min(...timedMs),
    max: Math.max(...timedMs),
    count: timedMs.length,
  };
}

function printHeader(setup, prepared, warmup, steps) {
  const m = setup.model;
  console.log("seapo train benchmark: optimizer steps of preference training, fp32 on CPU, seapo (train()) vs PyTorch");
  console.log(
    `model: ${prepared.config.architecture} d=${m.hiddenSize}, ${m.numLayers} layers, ${m.numHeads} heads/${m.numKvHeads} kv, ffn ${m.intermediateSize}, vocab ${m.vocabSize} tied ` +
      `(${fmt(prepared.parameters / 1e6)}M parameters); sequences ${prepared.maxLength} tokens (prompt ${setup.prompt} + completion ${setup.completion})`,
  );
  console.log(
    `step: policy forward+backward, reference forward, loss, grad clip ${TRAIN.maxGradNorm}, AdamW (lr ${TRAIN.lr.toExponential()}); DPO ${BATCH.dpo} pairs = ${2 * BATCH.dpo} sequences, ` +
      `KTO ${BATCH.kto} items + ${BATCH.kto} KL rows; LoRA r ${TRAIN.lora.rank} α ${TRAIN.lora.alpha} on q,k,v,o,gate,up,down (reference: adapters off), full (reference: frozen copy)`,
  );
  console.log(
    `timing: ${warmup} warm-up + ${steps} timed steps per side, median step; tokens/s = trained tokens (prompt + completion of the sequences with gradient) per second`,
  );
  console.log("note: shared machines are noisy; compare the ratios measured in the same run");
  const [load] = loadavg();
  if (load > availableParallelism() * 0.5) {
    console.log(
      `WARNING: load average ${fmt(load, 1)} on ${availableParallelism()} cores before starting: other processes compete for the cores. Multi-threaded\n` +
        "         PyTorch (OpenMP and OpenBLAS threads spin while they wait) loses far more to that than seapo does, so the ratios\n" +
        "         below overstate seapo; measure on an idle machine, or compare at --threads 1.",
    );
  }
  console.log();
}

/** train() in its own process on one combination; the metrics, or { error }. */
function runSeapo(run, name, finetuning, loss) {
  const { dir, prepared, totalSteps, options } = run;
  const seapoJob = join(dir, `seapo-${name}.json`);
  const job = { modelDir: prepared.modelDir, dataFile: prepared.dataFile, outDir: join(dir, `out-${name}`) };
  const vocabSize = prepared.config.vocabSize;
  writeFileSync(
    seapoJob,
    JSON.stringify({ ...job, loss, finetuning, totalSteps, maxLength: prepared.maxLength, vocabSize }),
  );
  const threadEnv = options.threads === undefined ? {} : { SEAPO_THREADS: String(options.threads) };
  return runJson(process.execPath, [fileURLToPath(import.meta.url), "--worker", seapoJob], threadEnv);
}

/** The same steps in PyTorch, in its own process; { error } when it is unavailable or fails. */
function runTorch(run, name, finetuning, loss, threads) {
  const { dir, prepared, torch, blas } = run;
  if (torch.python === undefined) return { error: torch.note };
  const plan = prepared.plans[loss];
  const torchJob = join(dir, `torch-${name}.json`);
  writeFileSync(
    torchJob,
    JSON.stringify({
      model: { ...prepared.config },
      weightsDir: prepared.modelDir,
      threads,
      finetuning,
      lora: TRAIN.lora,
      loss,
      beta: TRAIN.beta,
      lr: TRAIN.lr,
      weightDecay: TRAIN.weightDecay,
      maxGradNorm: TRAIN.maxGradNorm,
      steps: plan.map(({ rows, labels }) => ({ rows, labels })),
    }),
  );
  const threadVars = {
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
  };
  return runJson(torch.python, [join(here, "torch_reference.py"), torchJob], { ...threadVars, ...blas.env });
}

function printRow(label, r, stepMs, tokens, warmup, trainable) {
  if (r.error) return console.log(`  ${label.padEnd(8)} ${r.error}`);
  const s = summarize(stepMs, tokens, warmup);
  console.log(
    `  ${label.padEnd(8)} ${fmt(s.ms).padStart(8)} ms/step  ${fmt(s.stepsPerSecond, 3).padStart(6)} steps/s  ${fmt(s.tokensPerSecond, 0).padStart(6)} tokens/s  ` +
      `peak RSS ${fmt(r.peakRssMiB, 0).padStart(5)} MiB  (${s.count} steps ${fmt(s.min, 0)}–${fmt(s.max, 0)} ms; ${group(trainable)} trainable)`,
  );
  return s;
}

/** Step 1 on both sides: the log-probs (and for full fine-tuning the gradient norm) must agree. */
function printStepOneCheck(finetuning, s1, t1) {
  const gradNote =
    finetuning === "full" ? "same weights: should agree" : "LoRA A drawn by different RNGs: only similar";
  const differ = (x, y) =>
    x === undefined && y === undefined ? false : !(Math.abs(x - y) <= 1e-3 * Math.max(1, Math.abs(x), Math.abs(y)));
  const mismatch =
    differ(s1["logps/chosen"], t1["logps/chosen"]) || (finetuning === "full" && differ(s1.grad_norm, t1.grad_norm));
  console.log(
    `  check    step 1 logps/chosen seapo ${fmt(s1["logps/chosen"], 3)} · pytorch ${fmt(t1["logps/chosen"], 3)}; ` +
      `grad_norm seapo ${fmt(s1.grad_norm, 5)} · pytorch ${fmt(t1.grad_norm, 5)} (${gradNote})` +
      (mismatch ? "  ← MISMATCH: the two sides do not compute the same step" : ""),
  );
}

/** One combination on both sides, printed; what the summary needs. */
function runCombination(run, name) {
  const [finetuning, loss] = name.split("-");
  const tokens = run.prepared.plans[loss].map((s) => s.tokens);
  const loads = [loadavg()[0]];
  const seapo = runSeapo(run, name, finetuning, loss);
  loads.push(loadavg()[0]);
  console.log(
    `== ${name}: ${finetuning === "lora" ? "LoRA" : "full fine-tuning"}, ${loss === "dpo" ? "DPO (sigmoid)" : "KTO"}, β ${TRAIN.beta}, ${tokens[0]} tokens per step`,
  );
  if (seapo.error) {
    console.log(`  seapo    failed: ${seapo.error}\n`);
    return {};
  }
  if (seapo.metrics.length !== run.totalSteps) {
    console.log(`  seapo    metrics.jsonl has ${seapo.metrics.length} lines, expected ${run.totalSteps}\n`);
    return {};
  }
  // Each line covers one step: its tokens over its seconds (tokens/s is tokens ÷ the interval).
  const seapoMs = seapo.metrics.map((line, i) => (1000 * tokens[i]) / line["tokens/s"]);
  const threads = run.options.threads ?? seapo.threads;
  const gemm = measureGemmRate(run, finetuning, loss, seapo.lmHeadChunkRows, fileURLToPath(import.meta.url), {
    SEAPO_THREADS: String(threads),
  });
  const pytorch = runTorch(run, name, finetuning, loss, threads);
  loads.push(loadavg()[0]);
  const { warmup } = run;
  const a = printRow("seapo", seapo, seapoMs, tokens, warmup, seapo.trainable);
  console.log(`           load average ${fmt(loads[0], 1)} → ${fmt(loads[1], 1)} over the seapo run`);
  if (a) printFlopsLine(gemm, a.ms);
  const b = pytorch.error
    ? printRow("pytorch", pytorch)
    : printRow("pytorch", pytorch, pytorch.stepMs, tokens, warmup, pytorch.trainable);
  console.log(
    `           load average ${fmt(loads[1], 1)} → ${fmt(loads[2], 1)} over the GEMM timing and the PyTorch run`,
  );
  let ratio;
  if (a && b) {
    ratio = a.tokensPerSecond / b.tokensPerSecond;
    console.log(`  ratio    seapo tokens/s ÷ PyTorch tokens/s = ${fmt(ratio, 2)} (goal ≥ 1.5)`);
    printStepOneCheck(finetuning, seapo.metrics[0], pytorch.first);
  }
  console.log();
  return { seapo, pytorch: pytorch.error ? undefined : pytorch, ratio };
}

function printSummary(run, ratios, seapoInfo, torchInfo) {
  const { options, torch, blas } = run;
  if (ratios.length > 0)
    console.log(
      `summary  seapo ÷ PyTorch tokens/s: ${ratios.map(({ name, ratio }) => `${name} ${fmt(ratio, 2)}`).join(" · ")}  (goal ≥ 1.5)`,
    );
  if (seapoInfo)
    console.log(
      `seapo: native kernels ${seapoInfo.variant} (${seapoInfo.isa}), ${plural(options.threads ?? seapoInfo.threads, "thread")}, Node ${process.version}`,
    );
  if (torchInfo) {
    console.log(
      `pytorch ${torchInfo.version} (${torch.python}): ${plural(torchInfo.threads, "thread")}, BLAS ${torchInfo.blas}; attention ${torchInfo.attention}`,
    );
    console.log(`  BLAS chosen by ${blas.how}`);
    if (torchInfo.referenceBlas) {
      console.log(
        "  CAUTION: PyTorch is running on the reference (netlib) BLAS, which is not optimised; the ratios above flatter seapo.\n" +
          "           For a fair comparison give it OpenBLAS: apt-get install libopenblas0-pthread (the bench then points PyTorch at it).",
      );
    }
  } else if (torch.note) console.log(torch.note);
}

async function main() {
  const options = parseArgs(process.argv.slice(2), SETUPS, COMBINATIONS);
  if (!existsSync(join(dist, "train/index.js"))) throw new Error("dist/ is missing: run `npm run build` first");
  const chosen = SETUPS[options.model];
  // --layers keeps the model's width, vocabulary and sequences and cuts its depth (where memory is short).
  const setup = options.layers ? { ...chosen, model: { ...chosen.model, numLayers: options.layers } } : chosen;
  options.only ??= setup.only ?? COMBINATIONS;
  const steps = options.steps ?? setup.steps;
  const warmup = options.warmup ?? setup.warmup;
  const totalSteps = warmup + steps;

  const dir = mkdtempSync(join(tmpdir(), "seapo-bench-train-"));
  try {
    const prepared = await prepare(setup, dir, totalSteps);
    const torch = options.torch ? torchPython() : { note: "PyTorch skipped (--no-torch)" };
    const run = { dir, setup, prepared, totalSteps, warmup, options, torch, blas: torchBlasEnv() };
    printHeader(setup, prepared, warmup, steps);
    const ratios = [];
    let seapoInfo;
    let torchInfo;
    for (const name of options.only) {
      const result = runCombination(run, name);
      seapoInfo = result.seapo ?? seapoInfo;
      torchInfo = result.pytorch ?? torchInfo;
      if (result.ratio !== undefined) ratios.push({ name, ratio: result.ratio });
    }
    printSummary(run, ratios, seapoInfo, torchInfo);
    if (options.keep) console.log(`kept ${dir}`);
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--worker") {
  console.log(JSON.stringify(await worker(process.argv[3])));
} else if (process.argv[2] === "--gemm") {
  console.log(JSON.stringify(await timeGemms(dist, JSON.parse(readFileSync(process.argv[3], "utf8")))));
} else {
  await main();
}
