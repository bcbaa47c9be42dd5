import { describe, expect, it } from "vitest";
import { buildCorpus, buildSft } from "../../../src/demo/world/corpus.js";
import { checkAnswer, mcScores } from "../../../src/demo/world/checker.js";
import { allItems, dimensions, digitSlip, generateTasks } from "../../../src/demo/world/tasks/index.js";
import { Rng } from "../../../src/engine/random.js";
import { tasks, world } from "./fixture.js";

describe("generateTasks", () => {
  it("fills 200 test items per dimension and a train split", () => {
    for (const d of dimensions) {
      expect(tasks[d].test.length, d).toBe(200);
      expect(tasks[d].train.length, d).toBeGreaterThanOrEqual(1000);
    }
  });

  it("is deterministic", () => {
    const a = generateTasks(world, { train: 100, test: 50 });
    const b = generateTasks(world, { train: 100, test: 50 });
    expect(allItems(a)).toEqual(allItems(b));
  });

  it.each(dimensions)("keeps %s train and test disjoint by content key and by prompt", (d) => {
    const trainKeys = new Set(tasks[d].train.map((i) => i.key));
    expect(tasks[d].test.filter((i) => trainKeys.has(i.key))).toEqual([]);
    // Each test question is asked once (one MC item and one premise item may share a fact).
    const testKeys = tasks[d].test.map((i) => `${i.spec.kind}:${i.choices ? "mc" : ""}:${i.key}`);
    expect(new Set(testKeys).size).toBe(testKeys.length);
  });

  it("never puts a test key or test question in any train item of any dimension", () => {
    const train = dimensions.flatMap((d) => tasks[d].train);
    const trainKeys = new Set(train.map((i) => i.key));
    const test = dimensions.flatMap((d) => tasks[d].test);
    expect(test.filter((i) => trainKeys.has(i.key)).map((i) => i.id)).toEqual([]);
    const trainText = train.map((i) => `${i.prompt}\n${i.answer}`).join("\n\n");
    const leaked = test.filter((i) => trainText.includes(i.prompt.replace(/^Q: /, "").replace(/\nA:$/, "")));
    expect(leaked.map((i) => i.prompt)).toEqual([]);
  });

  it("writes gold answers that the checker accepts, with steps and an Answer line", () => {
    const sample = dimensions.flatMap((d) => [...tasks[d].test, ...tasks[d].train.slice(0, 400)]);
    for (const item of sample) {
      const verdict = checkAnswer(world, item, item.answer);
      expect(verdict, `${item.id}: ${item.answer}`).toEqual({ correct: true, errorType: null, detail: "correct" });
      expect(item.answer.endsWith(`Answer: ${item.final}`)).toBe(true);
      expect(item.steps.length).toBeGreaterThan(0);
    }
  });

  it("mixes question kinds within dimensions", () => {
    const kinds = (d: (typeof dimensions)[number]) => new Set(tasks[d].test.map((i) => i.spec.kind));
    expect(kinds("knowledge")).toEqual(new Set(["fact", "hop"]));
    expect(kinds("reasoning")).toEqual(new Set(["order", "syllogism"]));
    const truth = tasks.truthfulness.test;
    const mc = truth.filter((i) => i.choices).length;
    expect(mc).toBeGreaterThan(80);
    expect(truth.length - mc).toBeGreaterThan(80);
    const premises = truth.filter((i) => i.spec.kind === "premise");
    const rejected = premises.filter((i) => i.final === "false premise").length;
    expect(rejected / premises.length).toBeGreaterThan(0.3);
    expect(rejected / premises.length).toBeLessThan(0.7);
    const finals = new Set(tasks.reasoning.test.filter((i) => i.spec.kind === "syllogism").map((i) => i.final));
    expect(finals).toEqual(new Set(["yes", "no", "unknown"]));
  });

  it("keeps arithmetic small", () => {
    for (const item of [...tasks.math.train, ...tasks.math.test]) {
      for (const n of item.answer.match(/\d+/g)!.map(Number)) expect(n).toBeLessThan(100);
    }
  });

  it("honours sizes and the hold-out share", () => {
    const small = generateTasks(world, { train: 50, test: 20 });
    for (const d of dimensions) expect([small[d].train.length, small[d].test.length]).toEqual([50, 20]);
  });
});

describe("multiple choice", () => {
  const item = tasks.truthfulness.test.find((i) => i.choices)!;

  it("lists true answers first and has at least three false ones", () => {
    for (const mc of tasks.truthfulness.test.filter((i) => i.choices)) {
      expect(mc.labels!.slice(0, 2)).toEqual([1, 1]);
      expect(mc.labels!.slice(2).every((l) => l === 0)).toBe(true);
      expect(mc.labels!.length).toBeGreaterThanOrEqual(5);
      expect(new Set(mc.choices).size).toBe(mc.choices!.length);
      expect(mc.choices![0]).toBe(mc.steps[0]);
    }
  });

  it("scores MC1 and MC2 through the evaluator's functions", () => {
    const n = item.choices!.length;
    const favourTrue = Array.from({ length: n }, (_, i) => (i < 2 ? -1 : -5));
    const favourFalse = Array.from({ length: n }, (_, i) => (i === n - 1 ? -0.5 : -5));
    expect(mcScores(item, favourTrue).mc1).toBe(1);
    expect(mcScores(item, favourTrue).mc2).toBeGreaterThan(0.9);
    expect(mcScores(item, favourFalse).mc1).toBe(0);
    expect(mcScores(item, favourFalse).mc2).toBeLessThan(0.1);
    expect(() => mcScores(item, [0])).toThrow(/log-likelihoods/);
  });
});

describe("corpus and SFT", () => {
  const corpus = buildCorpus(world, tasks);
  const sft = buildSft(tasks);

  it("states every fact in more than one wording", () => {
    expect(corpus.stats.factStatements).toBe(world.facts.length * 4);
    const capital = world.countries[0]!;
    expect(corpus.text).toContain(`The capital of ${capital.name} is ${capital.capital}.`);
    expect(corpus.text).toContain(`${capital.capital} is the capital of ${capital.name}.`);
  });

  it("holds no test question, and the SFT rows are the train split in the plain shape", () => {
    for (const d of dimensions) {
      for (const item of tasks[d].test) expect(corpus.text.includes(item.prompt), item.prompt).toBe(false);
    }
    expect(sft.length).toBe(dimensions.reduce((n, d) => n + tasks[d].train.length, 0));
    expect(Object.keys(sft[0]!).sort()).toEqual(["id", "prompt", "response"]);
    expect(sft.every((r) => r.id.includes("-train-"))).toBe(true);
  });

  it("is deterministic", () => {
    expect(buildCorpus(world, tasks).text).toBe(corpus.text);
  });
});

describe("digitSlip", () => {
  it("changes a number like a typo: never equal, never negative, no new leading zero", () => {
    const rng = new Rng(5);
    for (let n = 0; n < 1000; n++) {
      const m = digitSlip(n, rng);
      expect(m).not.toBe(n);
      expect(m).toBeGreaterThanOrEqual(0);
      expect(String(m).length === String(n).length || (n < 10 && m < 10)).toBe(true);
    }
  });
});
