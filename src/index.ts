export * from "./errors.js";
export type * from "./llm/provider.js";
export type * from "./data/types.js";
export * as engine from "./engine/index.js";
export * as train from "./train/index.js";
export * as evaluation from "./eval/index.js";
export {
  world,
  runDemo,
  defaultDemoOptions,
  demoResultsSchema,
  type DemoOptions,
  type DemoResults,
} from "./demo/index.js";
export { buildReport } from "./report/index.js";
