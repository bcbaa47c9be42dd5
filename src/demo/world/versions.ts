/**
 * Versions of the embedded world. A version fixes the world's size, the task generator's options and
 * the corpus, so a base model built for one version is scored only on that version's splits.
 *   1  the first world (60 countries, 120 people, 24 elements): about 120 test items per dimension;
 *   2  twice the entities, 40% of content keys held out and at least 300 test items per dimension, with
 *      shorter orderings and syllogisms and more fact statements in the corpus, because the version-1 base
 *      scored 10% on reasoning and 15% on truthfulness on validation (docs/science.md, world versions).
 */
import type { CorpusOptions } from "./corpus.js";
import type { TaskOptions } from "./tasks/index.js";
import type { WorldOptions } from "./world.js";

export const worldVersions = [1, 2] as const;
export type WorldVersion = (typeof worldVersions)[number];

export interface WorldVersionSpec {
  world: WorldOptions;
  tasks: TaskOptions;
  corpus: CorpusOptions;
}

const specs: Record<WorldVersion, WorldVersionSpec> = {
  1: { world: {}, tasks: {}, corpus: {} },
  2: {
    world: { countries: 120, people: 240, elements: 40 },
    tasks: { test: 560, testFraction: 0.4, orderSizes: [3, 4], syllogismLengths: [2, 3] },
    corpus: { factRepeats: 6 },
  },
};

export function worldVersionSpec(version: WorldVersion): WorldVersionSpec {
  return specs[version];
}
