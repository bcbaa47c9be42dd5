import type { DataReader } from "./data.js";
import type { EvalRequest, EvalResponse } from "./requests.js";
import type { Sandbox } from "./sandbox.js";

/** The paper's five capability dimensions. */
export const DIMENSIONS = ["truthfulness", "knowledge", "reasoning", "math", "code"] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export type {
  EvalRequest,
  EvalResponse,
  GenerationRequest,
  GenerationResponse,
  LoglikelihoodRequest,
  LoglikelihoodResponse,
} from "./requests.js";

export interface InstanceScore {
  /** One number per metric of the task (0/1 for accuracies, a probability for MC2, an estimate for pass@k). */
  metrics: Record<string, number>;
  /** What the scorer read out of the responses, kept with --log-samples. */
  extracted?: unknown;
}

export interface ScoreContext {
  /** Present when the task declared `needsSandbox`. */
  sandbox?: Sandbox;
}

/** One scored example: its requests and how to score their responses. */
export interface EvalInstance {
  id: string;
  /** For tasks made of subtasks (MMLU subject, BBH task). */
  subtask?: string;
  /** The gold answer as text, for logs. */
  target: string;
  requests: EvalRequest[];
  score(responses: EvalResponse[], context: ScoreContext): InstanceScore | Promise<InstanceScore>;
}

export interface LoadOptions {
  /** Examples per task, or per subtask for MMLU and BBH (the harness's --limit). */
  limit?: number;
  numFewshot?: number;
  /** Seed of the few-shot sampler for tasks that draw exemplars at random (the harness's default is 1234). */
  fewshotSeed: number;
  /** Overrides the task's generation length. */
  maxGenTokens?: number;
  /** The harness version to reproduce: one of the task's `versions` (run.ts resolves the default). */
  taskVersion: string;
}

export interface LoadedTask {
  instances: EvalInstance[];
  numFewshot: number;
  /** Settings that shape the requests (generation parameters, sample counts), recorded in the results. */
  settings: Record<string, unknown>;
}

export interface TaskDefinition {
  dimension: Dimension;
  /** One line: what is asked and how it is scored. */
  description: string;
  /** The lm-evaluation-harness task whose prompt and metric this reproduces. */
  harnessTask: string;
  /**
   * The task's `metadata.version` in the harness: `current` is the one its newest release runs (the
   * default); `older` lists earlier versions that build different prompts or scores and can be picked.
   */
  versions: { current: string; older?: readonly string[] };
  /** Metric names in report order; every instance score has all of them. */
  metrics: readonly string[];
  /** Groups above the subtasks (MMLU's four categories); without it the task aggregates its subtasks directly. */
  groupOf?: (subtask: string) => string;
  /** How subtasks make the task's value: weighted by their sizes (the default, lm-eval's) or each counted once. */
  subtaskMean?: "size-weighted" | "equal";
  needsSandbox?: boolean;
  load(data: DataReader, options: LoadOptions): Promise<LoadedTask>;
}
