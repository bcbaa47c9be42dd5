/**
 * The settings of one `seapo demo` run: the command line's zod schema (the CLI's flags come from it)
 * and the three run profiles it resolves against (--quick for CI, the default, --full for the powered run).
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { OpenedModel } from "../llm/index.js";
import { armSets, type ArmSet } from "./arms.js";
import { shippedTuned, type TunedArms } from "./tuned.js";
import type { WorldVersion } from "./world/index.js";

/** The shipped base models, relative to the package root (dist/demo/ → ../../assets/…), per world version. */
export const SHIPPED_BASE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../assets/demo/base-model");
export const SHIPPED_BASE_DIRS: Record<WorldVersion, string> = { 1: SHIPPED_BASE_DIR, 2: `${SHIPPED_BASE_DIR}-v2` };

export const demoProfiles = ["quick", "default", "full"] as const;
export type DemoProfile = (typeof demoProfiles)[number];

export interface DemoOptions {
  out: string;
  quick: boolean;
  /** Which profile the defaults came from (results.json records it). */
  profile: DemoProfile;
  seeds: number[];
  /** Which arms are trained (src/demo/arms.ts). */
  arms: ArmSet;
  /** The world version the base model was built on (its recipe must agree). */
  world: WorldVersion;
  /** A base model folder built by `seapo demo build-base` (default: the shipped one of the world). */
  baseDir: string;
  /** Training prompts per dimension and seed. */
  trainPerDimension: number;
  /** The split scored: test (results), or validation (the hyperparameter search; never a result). */
  evalSplit: "test" | "validation";
  /** Test items per dimension (the same for every arm); "all" scores the whole test split. */
  testPerDimension: number | "all";
  /** Validation items per dimension whose gold log-prob is scored before and after training. */
  heldOutGoldPerDimension: number;
  /** Prompts per dimension whose base answers `analyze` classifies. */
  analyzePerDimension: number;
  steps: number;
  batchSize: number;
  lr: number;
  beta: number;
  /** Weight of an NLL term on the chosen answer (`sft:w`); the paired (DPO) arms only: the trainer cannot add it to KTO. */
  sftWeight: number;
  loraRank: number;
  /** Per-arm hyperparameters from the frozen validation search; an arm without a row uses the five above. */
  tuned?: TunedArms;
  maxNewTokens: number;
  /** `--injector llm`: SeaPO negatives come from this LLM through `seapo inject`; the world's rules otherwise. */
  llmInjector?: OpenedModel;
  log: (line: string) => void;
}

const common = {
  quick: false,
  evalSplit: "test" as const,
  steps: 30,
  batchSize: 8,
  lr: 5e-3,
  beta: 0.1,
  sftWeight: 0,
  loraRank: 8,
  maxNewTokens: 80,
};

type Defaults = Omit<DemoOptions, "out" | "log">;
const profiles: Record<DemoProfile, Omit<Defaults, "baseDir">> = {
  quick: {
    ...common,
    quick: true,
    profile: "quick",
    arms: "quick",
    seeds: [1],
    world: 1,
    trainPerDimension: 24,
    testPerDimension: 24,
    heldOutGoldPerDimension: 8,
    analyzePerDimension: 12,
  },
  // The headline comparison (base, vanilla, mixed) on world 2's whole test split, three seeds.
  default: {
    ...common,
    profile: "default",
    arms: "main",
    seeds: [1, 2, 3],
    world: 2,
    trainPerDimension: 48,
    testPerDimension: "all",
    heldOutGoldPerDimension: 16,
    analyzePerDimension: 30,
  },
  // The powered run: five seeds and the whole test split of world 2 (at least 300 items per dimension).
  full: {
    ...common,
    profile: "full",
    arms: "full",
    seeds: [1, 2, 3, 4, 5],
    world: 2,
    trainPerDimension: 48,
    testPerDimension: "all",
    heldOutGoldPerDimension: 32,
    analyzePerDimension: 30,
  },
};

/** A profile's settings; `true`/`false` are --quick and the default run (the library's older call). */
export function defaultDemoOptions(profile: DemoProfile | boolean = "default"): Defaults {
  const name: DemoProfile = profile === true ? "quick" : profile === false ? "default" : profile;
  const chosen = profiles[name];
  return {
    ...chosen,
    seeds: [...chosen.seeds],
    baseDir: SHIPPED_BASE_DIRS[chosen.world],
    tuned: shippedTuned(chosen.world),
  };
}

const count = z.number().int().positive();
const help = (description: string, flag?: string) => (flag === undefined ? { description } : { description, flag });

/** `seapo demo`'s own flags (the model options of `--injector llm` are the shared ones). */
export const demoFlagsSchema = z.object({
  out: z.string().default("out/demo").meta(help("run directory", "--out <dir>")),
  quick: z.boolean().default(false).meta(help("one seed, world 1, 24 items per dimension (the CI run)")),
  full: z
    .boolean()
    .default(false)
    .meta(help("the powered run: 5 seeds, world 2's whole test split (≥ 300 items per dimension), every arm")),
  arms: z
    .enum(armSets)
    .optional()
    .meta(
      help(
        "arms to train: quick, main (base, vanilla, mixed), paper (+ single ×3, most-common) or full (+ all, on-policy); default: the profile's",
        "--arms <set>",
      ),
    ),
  seeds: z
    .array(z.coerce.number().int().min(0))
    .min(1)
    .optional()
    .meta(help("comma-separated seeds (default 1,2,3; --quick: 1; --full: 1,2,3,4,5)", "--seeds <list>")),
  world: z
    .enum(["1", "2"])
    .optional()
    .meta(help("world version (src/demo/world/versions.ts; default 2, --quick: 1)", "--world <version>")),
  base: z
    .string()
    .default(SHIPPED_BASE_DIR)
    .meta(help("base model folder from `seapo demo build-base` (world 2: the shipped base-model-v2)", "--base <dir>")),
  steps: count.optional().meta(help("optimizer steps per arm", "--steps <n>")),
  trainPerDimension: count
    .optional()
    .meta(help("training prompts per dimension and seed", "--train-per-dimension <n>")),
  testPerDimension: count.optional().meta(help("held-out test items per dimension", "--test-per-dimension <n>")),
  lr: z
    .number()
    .positive()
    .optional()
    .meta(help("learning rate of every arm (default: the tuned rows on world 2, else 5e-3)", "--lr <x>")),
  beta: z.number().positive().optional().meta(help("β of every arm's loss (default 0.1)", "--beta <x>")),
  sftWeight: z
    .number()
    .min(0)
    .optional()
    .meta(help("weight of an NLL term on the chosen answer, DPO arms (default 0)", "--sft-weight <w>")),
  loraRank: count.optional().meta(help("LoRA rank of every arm (default 8)", "--lora-rank <r>")),
  evalSplit: z
    .enum(["test", "validation"])
    .default("test")
    .meta(
      help(
        "the split every arm is scored on: validation for the hyperparameter search (never reported as a result)",
        "--eval-split <split>",
      ),
    ),
  injector: z
    .enum(["rules", "llm"])
    .default("rules")
    .meta(
      help(
        "who writes SeaPO's negatives: the world's rules, or an LLM through `seapo inject` (give it with the model options)",
        "--injector <kind>",
      ),
    ),
});
export type DemoFlags = z.output<typeof demoFlagsSchema>;

/** The flags that set a hyperparameter the validation search tunes. */
const HYPER_FLAGS = ["lr", "beta", "steps", "sftWeight", "loraRank"] as const;

/** The run's options from the flags the user typed (`typed` says which), over the chosen profile. */
export function demoOptionsFromFlags(
  flags: DemoFlags,
  typed: ReadonlySet<string>,
  log: (line: string) => void,
): DemoOptions {
  const defaults = defaultDemoOptions(flags.full ? "full" : flags.quick ? "quick" : "default");
  const world = flags.world === undefined ? defaults.world : (Number(flags.world) as WorldVersion);
  // A hyperparameter typed on the command line applies to every arm, in place of the tuned rows.
  const untuned = HYPER_FLAGS.some((flag) => typed.has(flag));
  return {
    ...defaults,
    out: flags.out,
    world,
    arms: flags.arms ?? defaults.arms,
    baseDir: typed.has("base") ? flags.base : SHIPPED_BASE_DIRS[world],
    seeds: flags.seeds ?? defaults.seeds,
    steps: flags.steps ?? defaults.steps,
    trainPerDimension: flags.trainPerDimension ?? defaults.trainPerDimension,
    testPerDimension: flags.testPerDimension ?? defaults.testPerDimension,
    lr: flags.lr ?? defaults.lr,
    beta: flags.beta ?? defaults.beta,
    sftWeight: flags.sftWeight ?? defaults.sftWeight,
    loraRank: flags.loraRank ?? defaults.loraRank,
    tuned: untuned ? undefined : shippedTuned(world),
    evalSplit: flags.evalSplit,
    log,
  };
}
