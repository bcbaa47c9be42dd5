/**
 * Training text for the world: a pretraining corpus (every fact stated several times in varied
 * wording and order, plus worked examples from the train split) and an SFT set of
 * `{id, prompt, response}` rows, the plain shape `seapo inject` reads. Test items never appear in
 * either: only their facts do, in statements, never as the question-and-answer pair the test asks.
 */
import { Rng } from "../../engine/index.js";
import { factParaphrases } from "./format.js";
import { dimensions, type WorldDimension, type TaskSet, type WorldItem } from "./tasks/index.js";
import { shuffled, type Fact, type World } from "./world.js";

export interface CorpusOptions {
  /** How many documents state each entity's facts (each in fresh wording and order). */
  factRepeats?: number;
  /** Append the train split's prompts and gold answers as worked examples. */
  workedExamples?: boolean;
  seed?: number;
}

export interface Corpus {
  /** Documents in training order; `text` joins them with blank lines. */
  documents: string[];
  text: string;
  stats: { documents: number; characters: number; factStatements: number; workedExamples: number };
}

export interface SftRow {
  id: string;
  prompt: string;
  response: string;
}

const intro: Record<"country" | "person" | "element", (name: string) => string> = {
  country: (name) => `${name} is a country.`,
  person: (name) => `${name} is a person.`,
  element: (name) => `${name} is an element.`,
};

export function buildCorpus(world: World, tasks: TaskSet, options: CorpusOptions = {}): Corpus {
  const repeats = options.factRepeats ?? 4;
  const rng = new Rng(options.seed ?? world.seed + 2);
  const bySubject = new Map<string, Fact[]>();
  for (const fact of world.facts) bySubject.set(fact.subject, [...(bySubject.get(fact.subject) ?? []), fact]);
  const kinds: Array<[string, "country" | "person" | "element"]> = [
    ...world.countries.map((c) => [c.name, "country"] as [string, "country"]),
    ...world.people.map((p) => [p.name, "person"] as [string, "person"]),
    ...world.elements.map((e) => [e.name, "element"] as [string, "element"]),
  ];
  const documents: string[] = [];
  // Each fact starts its rotation through the wordings at a random place, so with as many repeats
  // as wordings every fact is seen in every wording, and no wording always comes first.
  const offsets = new Map(world.facts.map((f) => [`${f.subject}|${f.relation}`, rng.int(12)]));
  let factStatements = 0;
  for (let r = 0; r < repeats; r++) {
    for (const [name, kind] of kinds) {
      const sentences = shuffled(rng, bySubject.get(name) ?? []).map((fact) => {
        const forms = factParaphrases[fact.relation];
        const form = forms[(r + offsets.get(`${fact.subject}|${fact.relation}`)!) % forms.length]!;
        return form(fact.subject, fact.value);
      });
      factStatements += sentences.length;
      documents.push([intro[kind](name), ...sentences].join(" "));
    }
  }
  let workedExamples = 0;
  if (options.workedExamples ?? true) {
    for (const dimension of dimensions) {
      for (const item of tasks[dimension].train) {
        documents.push(`${item.prompt}\n${item.answer}`);
        workedExamples++;
      }
    }
  }
  const ordered = shuffled(rng, documents);
  const text = ordered.join("\n\n");
  return {
    documents: ordered,
    text,
    stats: { documents: ordered.length, characters: text.length, factStatements, workedExamples },
  };
}

/** Supervised rows from the train split (every dimension unless a list is given). */
export function buildSft(tasks: TaskSet, only: readonly WorldDimension[] = dimensions): SftRow[] {
  return only.flatMap((dimension) =>
    tasks[dimension].train.map((item: WorldItem) => ({ id: item.id, prompt: item.prompt, response: item.answer })),
  );
}
