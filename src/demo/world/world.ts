/**
 * The embedded world of `seapo demo`: a small, seeded, fictional domain whose every fact is known,
 * so that answers about it can be checked exactly. Names are short syllable strings (a few dozen
 * distinct characters in all), which suits a character- or byte-level model.
 */
import { Rng } from "../../engine/index.js";

export const countryRelations = ["capital", "river", "founded", "export", "north"] as const;
export const personRelations = ["birthplace", "profession"] as const;
export const elementRelations = ["symbol", "number", "colour"] as const;
export type CountryRelation = (typeof countryRelations)[number];
export type PersonRelation = (typeof personRelations)[number];
export type ElementRelation = (typeof elementRelations)[number];
export type Relation = CountryRelation | PersonRelation | ElementRelation;
export const relations: readonly Relation[] = [...countryRelations, ...personRelations, ...elementRelations];

/** Relations whose value is a number; the rest take a name or a word from the world's vocabulary. */
export const numericRelations: ReadonlySet<Relation> = new Set<Relation>(["founded", "number"]);

export interface Country {
  name: string;
  capital: string;
  river: string;
  /** A three-digit year. */
  founded: number;
  export: string;
  /** The country that lies north of this one (the map is one cycle, so every country has exactly one). */
  north: string;
}

export interface Person {
  name: string;
  birthplace: string;
  profession: string;
}

export interface ChemElement {
  name: string;
  symbol: string;
  number: number;
  colour: string;
}

export interface Fact {
  subject: string;
  relation: Relation;
  value: string;
}

export interface WorldOptions {
  countries?: number;
  people?: number;
  elements?: number;
}

export interface World {
  seed: number;
  countries: Country[];
  people: Person[];
  elements: ChemElement[];
  /** The vocabulary the world uses for exports, trades and colours. */
  goods: readonly string[];
  professions: readonly string[];
  colours: readonly string[];
  /** Plausible words the world never uses: the raw material of invented attributes. */
  spare: { goods: readonly string[]; professions: readonly string[]; colours: readonly string[] };
  /** Made-up category nouns for syllogisms (lower case). */
  kinds: readonly string[];
  spareKinds: readonly string[];
  facts: Fact[];
  /** Every capitalised name in the world: countries, cities, rivers, people, elements, symbols. */
  names: ReadonlySet<string>;
}

export const defaultWorldOptions: Required<WorldOptions> = { countries: 60, people: 120, elements: 24 };

const GOODS = [
  "salt",
  "wool",
  "tin",
  "rice",
  "silk",
  "tea",
  "copper",
  "glass",
  "figs",
  "honey",
  "cotton",
  "leather",
  "plums",
  "pearls",
  "cheese",
  "paper",
];
const PROFESSIONS = [
  "baker",
  "potter",
  "smith",
  "weaver",
  "sailor",
  "miner",
  "farmer",
  "tailor",
  "singer",
  "painter",
  "mason",
  "fisher",
  "hunter",
  "brewer",
];
const COLOURS = ["red", "blue", "green", "grey", "black", "white", "gold", "pink", "violet", "brown", "teal", "silver"];
const KINDS = [
  "wug",
  "blick",
  "dax",
  "fep",
  "tove",
  "zorp",
  "mib",
  "gleb",
  "snib",
  "plon",
  "krat",
  "drem",
  "voss",
  "brel",
  "quil",
  "jask",
  "tiv",
  "norp",
  "hesk",
  "lurb",
];
const USED = { goods: 10, professions: 9, colours: 8, kinds: 16 };

const CONSONANTS = "bdfgklmnprstvz";
const VOWELS = "aeiou";

/** Builds the world for a seed. The same seed and options always give the same world. */
export function createWorld(seed: number, options: WorldOptions = {}): World {
  const sizes = { ...defaultWorldOptions, ...options };
  const rng = new Rng(seed);
  const taken = new Set<string>();
  const name = (syllables: number, suffix = "") => freshName(rng, taken, syllables, suffix);

  const [goods, spareGoods] = split(shuffled(rng, GOODS), USED.goods);
  const [professions, spareProfessions] = split(shuffled(rng, PROFESSIONS), USED.professions);
  const [colours, spareColours] = split(shuffled(rng, COLOURS), USED.colours);
  const [kinds, spareKinds] = split(shuffled(rng, KINDS), USED.kinds);

  const countryNames = Array.from({ length: sizes.countries }, () => name(rng.next() < 0.5 ? 2 : 3));
  const cycle = shuffled(rng, countryNames);
  const northOf = new Map(cycle.map((c, i) => [c, cycle[(i + 1) % cycle.length]!]));
  const countries: Country[] = countryNames.map((country) => ({
    name: country,
    capital: name(2),
    river: name(2),
    founded: 100 + rng.int(900),
    export: randomChoice(rng, goods),
    north: northOf.get(country)!,
  }));
  const people: Person[] = Array.from({ length: sizes.people }, () => ({
    name: name(2),
    birthplace: randomChoice(rng, countryNames),
    profession: randomChoice(rng, professions),
  }));
  const numbers = shuffled(
    rng,
    Array.from({ length: Math.max(60, sizes.elements) }, (_, i) => i + 1),
  ).slice(0, sizes.elements);
  const symbols = new Set<string>();
  const elements: ChemElement[] = numbers.map((number) => {
    const element = name(2, rng.next() < 0.5 ? "ium" : "on");
    return {
      name: element,
      symbol: symbolFor(rng, element, symbols, taken),
      number,
      colour: randomChoice(rng, colours),
    };
  });

  const facts: Fact[] = [
    ...countries.flatMap((c) =>
      countryRelations.map((relation) => ({ subject: c.name, relation, value: String(c[relation]) })),
    ),
    ...people.flatMap((p) => personRelations.map((relation) => ({ subject: p.name, relation, value: p[relation] }))),
    ...elements.flatMap((e) =>
      elementRelations.map((relation) => ({ subject: e.name, relation, value: String(e[relation]) })),
    ),
  ];
  return {
    seed,
    countries,
    people,
    elements,
    goods,
    professions,
    colours,
    spare: { goods: spareGoods, professions: spareProfessions, colours: spareColours },
    kinds,
    spareKinds,
    facts,
    names: taken,
  };
}

/** Looks facts up by subject and relation; build once per world. */
export class FactIndex {
  private readonly byKey = new Map<string, string>();
  private readonly valuesByRelation = new Map<Relation, string[]>();
  private readonly kindBySubject = new Map<string, "country" | "person" | "element">();

  constructor(readonly world: World) {
    for (const fact of world.facts) {
      this.byKey.set(`${fact.subject}|${fact.relation}`, fact.value);
      const values = this.valuesByRelation.get(fact.relation) ?? [];
      if (!values.includes(fact.value)) values.push(fact.value);
      this.valuesByRelation.set(fact.relation, values);
    }
    for (const c of world.countries) this.kindBySubject.set(c.name, "country");
    for (const p of world.people) this.kindBySubject.set(p.name, "person");
    for (const e of world.elements) this.kindBySubject.set(e.name, "element");
  }

  value(subject: string, relation: Relation): string | undefined {
    return this.byKey.get(`${subject}|${relation}`);
  }

  /** Every value the relation takes somewhere in the world (the "real but wrong" candidates). */
  values(relation: Relation): readonly string[] {
    return this.valuesByRelation.get(relation) ?? [];
  }

  kindOf(subject: string): "country" | "person" | "element" | undefined {
    return this.kindBySubject.get(subject);
  }

  /**
   * Whether a value exists in the world at all, for any entity: a known name, a word of the world's
   * vocabulary, or a number. A value that fails this is invented (a hallucination).
   */
  exists(value: string): boolean {
    if (/^\d+$/.test(value)) return true;
    const w = this.world;
    return w.names.has(value) || w.goods.includes(value) || w.professions.includes(value) || w.colours.includes(value);
  }
}

const indexes = new WeakMap<World, FactIndex>();

/** The world's fact index, built once per world object. */
export function factIndex(world: World): FactIndex {
  let index = indexes.get(world);
  if (!index) indexes.set(world, (index = new FactIndex(world)));
  return index;
}

/** A capitalised name the world does not contain, built like the world's own names. */
export function inventName(world: World, rng: Rng, syllables = 2): string {
  for (;;) {
    const candidate = syllableString(rng, syllables);
    if (!world.names.has(candidate)) return candidate;
  }
}

/** A lower-case category noun that is not among the world's kinds. */
export function inventKind(world: World, rng: Rng): string {
  if (world.spareKinds.length > 0 && rng.next() < 0.5) return randomChoice(rng, world.spareKinds);
  for (;;) {
    const candidate = syllableString(rng, 1).toLowerCase() + randomChoice(rng, ["b", "k", "p", "sk", "rn"]);
    if (!world.kinds.includes(candidate)) return candidate;
  }
}

/** One of `items`, drawn uniformly with `rng`. */
export function randomChoice<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("randomChoice: empty list");
  return items[rng.int(items.length)]!;
}

export function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function split<T>(items: T[], n: number): [T[], T[]] {
  return [items.slice(0, n), items.slice(n)];
}

function syllableString(rng: Rng, syllables: number): string {
  let text = "";
  for (let i = 0; i < syllables; i++) text += randomChoice(rng, [...CONSONANTS]) + randomChoice(rng, [...VOWELS]);
  return text[0]!.toUpperCase() + text.slice(1);
}

function freshName(rng: Rng, taken: Set<string>, syllables: number, suffix: string): string {
  for (;;) {
    const candidate = syllableString(rng, syllables) + suffix;
    if (!taken.has(candidate)) {
      taken.add(candidate);
      return candidate;
    }
  }
}

function symbolFor(rng: Rng, element: string, symbols: Set<string>, taken: Set<string>): string {
  const letters = [...element.slice(1)];
  for (const letter of [...letters, ...shuffled(rng, [..."abcdefghijklmnopqrstuvwxyz"])]) {
    const symbol = element[0]! + letter;
    if (!symbols.has(symbol) && !taken.has(symbol)) {
      symbols.add(symbol);
      taken.add(symbol);
      return symbol;
    }
  }
  throw new Error(`no free symbol for ${element}`);
}
