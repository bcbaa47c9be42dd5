import { join } from "node:path";
import { Option, type Command } from "commander";
import { InputError } from "../../errors.js";
import type { OpenedModel } from "../../llm/index.js";
import { addModelOptions, modelFromOptions } from "../model-options.js";
import {
  buildBaseModel,
  defaultBaseOptions,
  defaultDemoOptions,
  RESULTS_FILE,
  runDemo,
  SHIPPED_BASE_DIR,
  writeBaseRecipe,
  type DemoResults,
} from "../../demo/index.js";
import { buildReport } from "../../report/index.js";
import { integerArg } from "../schema-options.js";

const positiveInt = (flag: string) => integerArg(flag, 1);

function seedList(value: string): number[] {
  const seeds = value.split(",").map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new InputError(
      "--seeds",
      undefined,
      undefined,
      `expected comma-separated non-negative integers, got "${value}"`,
    );
  return seeds;
}

type DemoFlags = Record<string, unknown> & {
  out: string;
  quick: boolean;
  seeds?: number[];
  base: string;
  steps?: number;
  trainPerDimension?: number;
  testPerDimension?: number;
  injector: "rules" | "llm";
};

export function registerDemoCommand(program: Command): void {
  const demo = program
    .command("demo")
    .description("run the whole SeaPO experiment on the embedded world on this CPU and write an HTML report")
    .option("--out <dir>", "run directory", "out/demo")
    .option("--quick", "one seed and fewer arms (the CI run)", false)
    .option("--seeds <list>", "comma-separated seeds (default 1,2,3; --quick: 1)", seedList)
    .option("--base <dir>", "base model folder from `seapo demo build-base`", SHIPPED_BASE_DIR)
    .option("--steps <n>", "optimizer steps per arm", positiveInt("--steps"))
    .option(
      "--train-per-dimension <n>",
      "training prompts per dimension and seed",
      positiveInt("--train-per-dimension"),
    )
    .option("--test-per-dimension <n>", "held-out test items per dimension", positiveInt("--test-per-dimension"))
    .addOption(
      new Option(
        "--injector <kind>",
        "who writes SeaPO's negatives: the world's rules, or an LLM through `seapo inject` (give it with the model options)",
      )
        .choices(["rules", "llm"])
        .default("rules"),
    );
  addModelOptions(demo);
  demo.action(runDemoCommand);
  registerBuildBaseCommand(demo);
}

async function runDemoCommand(flags: DemoFlags): Promise<void> {
  const defaults = defaultDemoOptions(flags.quick);
  const started = Date.now();
  const llm = await injectorModel(flags);
  let results: DemoResults;
  try {
    results = await runDemo({
      ...defaults,
      out: flags.out,
      baseDir: flags.base,
      seeds: flags.seeds ?? defaults.seeds,
      steps: flags.steps ?? defaults.steps,
      trainPerDimension: flags.trainPerDimension ?? defaults.trainPerDimension,
      testPerDimension: flags.testPerDimension ?? defaults.testPerDimension,
      llmInjector: llm,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } finally {
    await llm?.model.close?.();
  }
  const report = await buildReport(flags.out);
  process.stderr.write(`demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const verdict = results.verdict?.map((line) => `${line}\n`).join("") ?? "";
  process.stdout.write(`${verdict}results: ${join(flags.out, RESULTS_FILE)}\nreport: ${report}\n`);
}

/** `--injector llm`: the model the model options name (required); the world's rules need none. */
async function injectorModel(flags: DemoFlags): Promise<OpenedModel | undefined> {
  if (flags.injector !== "llm") return undefined;
  const llm = await modelFromOptions(flags, { cacheDir: join(flags.out, "inject", "cache") });
  if (llm === undefined)
    throw new InputError(
      "--injector",
      undefined,
      undefined,
      "--injector llm needs a model",
      "give --base-url and --model, --gguf, or --hf",
    );
  return llm;
}

function registerBuildBaseCommand(demo: Command): void {
  demo
    .command("build-base")
    .description("train the demo's base model from scratch (the recorded command that rebuilds the shipped one)")
    .argument("<dir>", "where to write the model folder")
    .option("--pretrain-steps <n>", "pretraining steps", positiveInt("--pretrain-steps"))
    .option("--sft-steps <n>", "SFT steps", positiveInt("--sft-steps"))
    .action(async (dir: string, flags: { pretrainSteps?: number; sftSteps?: number }) => {
      const options = {
        ...defaultBaseOptions,
        pretrainSteps: flags.pretrainSteps ?? defaultBaseOptions.pretrainSteps,
        sftSteps: flags.sftSteps ?? defaultBaseOptions.sftSteps,
      };
      let lastPrint = 0;
      const summary = await buildBaseModel(dir, options, (phase, step, total, loss) => {
        if (step === total || Date.now() - lastPrint > 5_000) {
          lastPrint = Date.now();
          process.stderr.write(`${phase}: step ${step}/${total} · loss ${loss.toFixed(3)}\n`);
        }
      });
      writeBaseRecipe(options, summary);
      process.stdout.write(
        `${dir}: ${summary.parameters} parameters, model.safetensors sha256 ${summary.weightsSha256}, ${summary.seconds.toFixed(0)} s\n`,
      );
    });
}
