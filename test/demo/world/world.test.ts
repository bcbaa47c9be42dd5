import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/engine/random.js";
import { createWorld, factIndex, inventKind, inventName, relations } from "../../../src/demo/world/world.js";
import { canonicalFact, factParaphrases, parseFact } from "../../../src/demo/world/format.js";
import { world } from "./fixture.js";

describe("createWorld", () => {
  it("is a function of its seed", () => {
    expect(createWorld(11)).toEqual(world);
    expect(createWorld(12).countries[0]!.name).not.toBe(world.countries[0]!.name);
  });

  it("has the default sizes, unique names and one fact per entity and relation", () => {
    expect([world.countries.length, world.people.length, world.elements.length]).toEqual([60, 120, 24]);
    const names = [
      ...world.countries.flatMap((c) => [c.name, c.capital, c.river]),
      ...world.people.map((p) => p.name),
      ...world.elements.flatMap((e) => [e.name, e.symbol]),
    ];
    expect(new Set(names).size).toBe(names.length);
    expect(world.facts.length).toBe(60 * 5 + 120 * 2 + 24 * 3);
    const seen = new Set(world.facts.map((f) => `${f.subject}|${f.relation}`));
    expect(seen.size).toBe(world.facts.length);
  });

  it("keeps names short and the alphabet small", () => {
    expect(Math.max(...[...world.names].map((n) => n.length))).toBeLessThanOrEqual(7);
    const alphabet = new Set([...world.names].join(""));
    expect(alphabet.size).toBeLessThan(45);
  });

  it("maps north as one cycle, so every country has exactly one country north of it", () => {
    const norths = world.countries.map((c) => c.north);
    expect(new Set(norths).size).toBe(world.countries.length);
    expect(world.countries.every((c) => c.north !== c.name)).toBe(true);
  });

  it("keeps spare vocabulary out of the world", () => {
    const index = factIndex(world);
    for (const word of [...world.spare.goods, ...world.spare.professions, ...world.spare.colours])
      expect(index.exists(word)).toBe(false);
    const rng = new Rng(1);
    for (let i = 0; i < 50; i++) {
      expect(world.names.has(inventName(world, rng))).toBe(false);
      expect(world.kinds).not.toContain(inventKind(world, rng));
    }
  });
});

describe("fact sentences", () => {
  it("parses every canonical sentence back to its fact", () => {
    for (const fact of world.facts)
      expect(parseFact(canonicalFact[fact.relation](fact.subject, fact.value))).toEqual(fact);
  });

  it("has at least three wordings per relation, all distinct", () => {
    for (const relation of relations) {
      const forms = factParaphrases[relation].map((f) => f("Sub", "Val"));
      expect(forms.length).toBeGreaterThanOrEqual(3);
      expect(new Set(forms).size).toBe(forms.length);
      expect(forms.every((f) => f.includes("Sub") && f.includes("Val"))).toBe(true);
    }
  });
});
