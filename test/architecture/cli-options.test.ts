/**
 * The clean-up of issue 10 generated the CLI options from zod schemas; this pins that no option was
 * lost and no default moved. The fixture is what the CLI offered at commit f4837f7, before the change
 * (`node scripts/cli-options.mjs OLD_DIST`); the test reads the current build the same way.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface OptionEntry {
  flags: string;
  description: string;
  default?: unknown;
  choices?: string[];
}
type CliOptions = Record<string, OptionEntry[]>;

const before = JSON.parse(
  readFileSync(new URL("./fixtures/cli-options-f4837f7.json", import.meta.url), "utf8"),
) as CliOptions;
const script = new URL("../../scripts/cli-options.mjs", import.meta.url).pathname;
const now = JSON.parse(execFileSync(process.execPath, [script], { encoding: "utf8" })) as CliOptions;

/** A default the old help gave in prose, e.g. "(default 0.1)" or "(default all: a,b)". */
function proseDefault(description: string): string | undefined {
  const match = /\(default (?:all: )?([^\s():]+)\)/.exec(description);
  return match?.[1];
}

const asText = (value: unknown) => (Array.isArray(value) ? value.join(",") : String(value));

const cases = Object.entries(before).flatMap(([command, options]) => options.map((option) => ({ command, option })));

describe("every CLI option of before the clean-up", () => {
  it.each(cases)("$command $option.flags is still there, with the same default and choices", ({ command, option }) => {
    const current = now[command]?.find((candidate) => candidate.flags === option.flags);
    expect(current, `${command} lost ${option.flags}`).toBeDefined();
    if (option.default !== undefined) expect(current!.default).toEqual(option.default);
    const prose = proseDefault(option.description);
    if (prose !== undefined && option.default === undefined) {
      // A computed default ("<out>/reference-cache") stays in the help text; a literal one became the option's default.
      if (prose.includes("<")) expect(current!.description).toContain(`(default ${prose})`);
      else if (Number.isFinite(Number(prose))) expect(current!.default).toBe(Number(prose));
      else expect(asText(current!.default)).toBe(prose);
    }
    if (option.choices) expect(current!.choices).toEqual(option.choices);
  });

  it("knows the commands it compares", () => {
    expect(Object.keys(now)).toEqual(expect.arrayContaining(Object.keys(before)));
    expect(cases.length).toBe(166);
  });
});
