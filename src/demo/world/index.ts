export {
  createWorld,
  defaultWorldOptions,
  factIndex,
  relations,
  randomChoice,
  shuffled,
  type World,
  type WorldOptions,
  type Fact,
  type Relation,
} from "./world.js";
export {
  generateTasks,
  allItems,
  inTest,
  dimensions,
  defaultTaskOptions,
  type WorldDimension,
  type ItemSpec,
  type Split,
  type TaskOptions,
  type TaskSet,
  type WorldItem,
} from "./tasks/index.js";
export { buildCorpus, buildSft, type Corpus, type CorpusOptions, type SftRow } from "./corpus.js";
export {
  checkAnswer,
  worldClassifier,
  worldErrorTypes,
  mcScores,
  type Verdict,
  type WorldErrorType,
} from "./checker.js";
export { injectError } from "./injectors.js";
export { worldVersions, worldVersionSpec, type WorldVersion, type WorldVersionSpec } from "./versions.js";
