/** Knowledge: one-hop fact questions and two-hop questions (a person's birthplace, then its capital). */
import { canonicalFact, factQuestions } from "../format.js";
import { randomChoice } from "../world.js";
import { factKey, fill, mix, randomFact, type Generator } from "./drafting.js";

export const knowledge: Generator = (ctx, o) => {
  const { world, facts, rng } = ctx;
  const oneHop = fill(ctx, o, () => {
    const fact = randomFact(ctx);
    const question = randomChoice(rng, factQuestions[fact.relation])(fact.subject);
    return {
      key: factKey(fact.subject, fact.relation),
      prompt: question,
      final: fact.value,
      stepLines: [canonicalFact[fact.relation](fact.subject, fact.value)],
      spec: { kind: "fact", subject: fact.subject, relation: fact.relation },
    };
  });
  const twoHop = fill(ctx, o, () => {
    const person = randomChoice(rng, world.people);
    const capital = facts.value(person.birthplace, "capital")!;
    const prompt = randomChoice(rng, [
      `What is the capital of the country where ${person.name} was born?`,
      `${person.name} was born in a country. What is the capital of that country?`,
    ]);
    return {
      key: `hop:${person.name}`,
      prompt,
      final: capital,
      stepLines: [
        canonicalFact.birthplace(person.name, person.birthplace),
        canonicalFact.capital(person.birthplace, capital),
      ],
      spec: { kind: "hop", person: person.name },
    };
  });
  return mix(twoHop, oneHop, o.hopShare, o, rng);
};
