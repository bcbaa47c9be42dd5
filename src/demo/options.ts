/** The settings of one `seapo demo` run and their defaults (full run, or --quick for CI). */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenedModel } from "../llm/index.js";

/** The shipped base model, relative to the package root (dist/demo/ → ../../assets/…). */
export const SHIPPED_BASE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../assets/demo/base-model");

export interface DemoOptions {
  out: string;
  quick: boolean;
  seeds: number[];
  /** A base model folder built by `seapo demo build-base` (default: the shipped one). */
  baseDir: string;
  /** Training prompts per dimension and seed. */
  trainPerDimension: number;
  /** Held-out test items per dimension (the same for every arm). */
  testPerDimension: number;
  /** Prompts per dimension whose base answers `analyze` classifies. */
  analyzePerDimension: number;
  steps: number;
  batchSize: number;
  lr: number;
  beta: number;
  maxNewTokens: number;
  /** `--injector llm`: SeaPO negatives come from this LLM through `seapo inject`; the world's rules otherwise. */
  llmInjector?: OpenedModel;
  log: (line: string) => void;
}

export function defaultDemoOptions(quick: boolean): Omit<DemoOptions, "out" | "log"> {
  return {
    quick,
    seeds: quick ? [1] : [1, 2, 3],
    baseDir: SHIPPED_BASE_DIR,
    trainPerDimension: quick ? 24 : 48,
    testPerDimension: quick ? 24 : 60,
    analyzePerDimension: quick ? 12 : 30,
    steps: 30,
    batchSize: 8,
    lr: 5e-3,
    beta: 0.1,
    maxNewTokens: 80,
  };
}
