/**
 * The demo area: the embedded world, its base model, and the whole SeaPO experiment on it
 * (`seapo demo`), with the results.json schema that `seapo report` reads.
 */
export { runDemo } from "./run.js";
export {
  SHIPPED_BASE_DIR,
  SHIPPED_BASE_DIRS,
  defaultDemoOptions,
  demoFlagsSchema,
  demoOptionsFromFlags,
  demoProfiles,
  type DemoFlags,
  type DemoOptions,
  type DemoProfile,
} from "./options.js";
export {
  BASE_RECIPE_FILE,
  baseRecipeSchema,
  baseOptionsFor,
  buildBaseModel,
  defaultBaseOptions,
  worldOfRecipe,
  readBaseRecipe,
  writeBaseRecipe,
  type BaseModelOptions,
  type BaseModelSummary,
  type BaseRecipe,
} from "./base.js";
export {
  ERROR_MIX_KEYS,
  REPORT_FILE,
  RESULTS_FILE,
  demoResultsSchema,
  errorMixOf,
  type ArmResult,
  type CurvePoint,
  type DemoResults,
  type ErrorMix,
  type InjectionExample,
  type Spread,
} from "./results.js";
export * as world from "./world/index.js";
export { worldVersions, type WorldVersion } from "./world/index.js";
