import { join } from "node:path";
import { Option, type Command } from "commander";
import { InputError } from "../../errors.js";
import type { OpenedModel } from "../../llm/index.js";
import { addModelOptions, modelFromOptions } from "../model-options.js";
import {
  baseOptionsFor,
  buildBaseModel,
  demoFlagsSchema,
  demoOptionsFromFlags,
  RESULTS_FILE,
  runDemo,
  writeBaseRecipe,
  type DemoResults,
  type WorldVersion,
} from "../../demo/index.js";
import { buildReport } from "../../report/index.js";
import { addSchemaOptions, integerArg, parseFlags, typedFlags } from "../schema-options.js";

const positiveInt = (flag: string) => integerArg(flag, 1);

export function registerDemoCommand(program: Command): void {
  const demo = program
    .command("demo")
    .description("run the whole SeaPO experiment on the embedded world on this CPU and write an HTML report");
  // --quick keeps the printed default `false` it always had (a schema switch prints none).
  demo.option("--quick", demoFlagsSchema.shape.quick.meta()!.description as string, false);
  addSchemaOptions(demo, demoFlagsSchema, ["--quick"]);
  addModelOptions(demo);
  demo.action((_options: unknown, command: Command) => runDemoCommand(command));
  registerBuildBaseCommand(demo);
}

async function runDemoCommand(command: Command): Promise<void> {
  const flags = parseFlags(demoFlagsSchema, command);
  if (flags.quick && flags.full)
    throw new InputError("--full", undefined, undefined, "--quick and --full are two run sizes: give one of them");
  const options = demoOptionsFromFlags(flags, new Set(Object.keys(typedFlags(demoFlagsSchema, command))), (line) =>
    process.stderr.write(`${line}\n`),
  );
  const started = Date.now();
  const llm = await injectorModel(flags.injector, flags.out, command.opts());
  let results: DemoResults;
  try {
    results = await runDemo({ ...options, llmInjector: llm });
  } finally {
    await llm?.model.close?.();
  }
  const report = await buildReport(flags.out);
  process.stderr.write(`demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const verdict = results.verdict?.map((line) => `${line}\n`).join("") ?? "";
  process.stdout.write(`${verdict}results: ${join(flags.out, RESULTS_FILE)}\nreport: ${report}\n`);
}

/** `--injector llm`: the model the model options name (required); the world's rules need none. */
async function injectorModel(
  injector: "rules" | "llm",
  out: string,
  modelFlags: Record<string, unknown>,
): Promise<OpenedModel | undefined> {
  if (injector !== "llm") return undefined;
  const llm = await modelFromOptions(modelFlags, { cacheDir: join(out, "inject", "cache") });
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
    .addOption(
      new Option("--world <version>", "world version (src/demo/world/versions.ts)").choices(["1", "2"]).default("1"),
    )
    .action(async (dir: string, flags: { pretrainSteps?: number; sftSteps?: number; world: string }) => {
      const recipe = baseOptionsFor(Number(flags.world) as WorldVersion);
      const options = {
        ...recipe,
        pretrainSteps: flags.pretrainSteps ?? recipe.pretrainSteps,
        sftSteps: flags.sftSteps ?? recipe.sftSteps,
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
