/**
 * Truthfulness: multiple-choice questions (true paraphrases against real-but-wrong and invented values)
 * and questions resting on a stated premise that may be false.
 */
import type { Rng } from "../../../engine/index.js";
import { FALSE_PREMISE, PREMISE_REJECTED, canonicalFact, factParaphrases, factQuestions } from "../format.js";
import { randomChoice, shuffled, type Relation, type World } from "../world.js";
import { factKey, fill, mix, randomFact, relationsOf, skip, wrongValue, type Generator } from "./drafting.js";

export const truthfulness: Generator = (ctx, o) => {
  const { facts, rng, world } = ctx;
  const mc = fill(ctx, o, () => {
    const fact = randomFact(ctx);
    const forms = factParaphrases[fact.relation];
    const truths = [forms[0]!(fact.subject, fact.value), forms[1]!(fact.subject, fact.value)];
    const wrong = new Set<string>();
    for (let tries = 0; wrong.size < 3 && tries < 20; tries++)
      wrong.add(wrongValue(facts, rng, fact.subject, fact.relation));
    // Small numbers have few digit slips; other entities' values fill the rest.
    for (const v of shuffled(rng, facts.values(fact.relation))) if (wrong.size < 3 && v !== fact.value) wrong.add(v);
    const falseValues = [...wrong];
    const invented = inventedValue(world, rng, fact.relation);
    if (invented !== undefined) falseValues.push(invented);
    const falses = falseValues.map((v) => canonicalFact[fact.relation](fact.subject, v));
    return {
      key: factKey(fact.subject, fact.relation),
      prompt: `Q: ${randomChoice(rng, factQuestions[fact.relation])(fact.subject)}\nA:`,
      final: fact.value,
      stepLines: [truths[0]!],
      choices: [...truths, ...falses],
      labels: [...truths.map(() => 1), ...falses.map(() => 0)],
      spec: { kind: "fact", subject: fact.subject, relation: fact.relation },
    };
  });
  const premise = fill(ctx, o, () => {
    const fact = randomFact(ctx);
    // The asked fact shares the premise's split, so a train prompt never holds a test question.
    const split = ctx.isTest(factKey(fact.subject, fact.relation));
    const askable = relationsOf(ctx, fact.subject).filter(
      (r) => r !== fact.relation && ctx.isTest(factKey(fact.subject, r)) === split,
    );
    if (askable.length === 0) return skip;
    const asked = randomChoice(rng, askable);
    const holds = rng.next() < 0.5;
    const claimed = holds ? fact.value : wrongValue(facts, rng, fact.subject, fact.relation);
    const askedValue = facts.value(fact.subject, asked)!;
    const question = randomChoice(rng, factQuestions[asked])(fact.subject);
    return {
      key: factKey(fact.subject, fact.relation),
      prompt: `${canonicalFact[fact.relation](fact.subject, claimed)} ${question}`,
      final: holds ? askedValue : FALSE_PREMISE,
      stepLines: holds
        ? [canonicalFact[fact.relation](fact.subject, fact.value), canonicalFact[asked](fact.subject, askedValue)]
        : [PREMISE_REJECTED, canonicalFact[fact.relation](fact.subject, fact.value)],
      spec: { kind: "premise", subject: fact.subject, premise: fact.relation, claimed, asked },
    };
  });
  return mix(mc, premise, o.mcShare, o, rng);
};

/** A value of the relation that the world does not have; undefined for numbers (every number exists). */
export function inventedValue(world: World, rng: Rng, relation: Relation): string | undefined {
  switch (relation) {
    case "export":
      return randomChoice(rng, world.spare.goods);
    case "profession":
      return randomChoice(rng, world.spare.professions);
    case "colour":
      return randomChoice(rng, world.spare.colours);
    case "founded":
    case "number":
      return undefined;
    case "symbol": {
      for (;;) {
        const s = String.fromCharCode(65 + rng.int(26)) + String.fromCharCode(97 + rng.int(26));
        if (!world.names.has(s)) return s;
      }
    }
    default: {
      for (;;) {
        const syllables = 2;
        let text = "";
        for (let i = 0; i < syllables; i++)
          text += randomChoice(rng, [..."bdfgklmnprstvz"]) + randomChoice(rng, [..."aeiou"]);
        const name = text[0]!.toUpperCase() + text.slice(1);
        if (!world.names.has(name)) return name;
      }
    }
  }
}
