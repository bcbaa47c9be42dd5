import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { readSourceRows, type SourceFormat, type SourceReject } from "../../src/data/index.js";
import type { SourceRow } from "../../src/data/types.js";
import { collect, fixtureDir, jsonl } from "./fixtures.js";

const files = fixtureDir();

const system = { role: "system", content: "Be brief." } as const;
const user = (content: string) => ({ role: "user", content }) as const;
const assistant = (content: string) => ({ role: "assistant", content }) as const;

describe("readSourceRows: every format, detected and named", () => {
  const cases: Array<[SourceFormat, string, string, SourceRow[]]> = [
    [
      "plain",
      "plain.jsonl",
      jsonl({ id: "a1", prompt: "What is 2+2?", response: "4." }) +
        "\n" +
        jsonl({ prompt: "Name a colour.", response: "Blue." }),
      [
        { id: "a1", prompt: "What is 2+2?", history: [], response: "4.", line: 1 },
        // The blank line still counts, so the default id points at the real line.
        { id: "plain.jsonl:3", prompt: "Name a colour.", history: [], response: "Blue.", line: 3 },
      ],
    ],
    [
      "ultrafeedback",
      "uf.jsonl",
      jsonl(
        {
          prompt: "Capital of France?",
          chosen: "Paris.",
          rejected: "Lyon.",
          source_index: 7,
          metadata: { score_chosen: 9, score_rejected: 4 },
        },
        {
          prompt: "Say hi.",
          prompt_id: "p-2",
          chosen: [user("Say hi."), assistant("Hi!")],
          rejected: [user("Say hi."), assistant("No.")],
          messages: [user("Say hi."), assistant("Hi!")],
          score_chosen: 8,
          score_rejected: 2,
        },
        // trl-lib's copy has no prompt column: the list's user turn is the prompt.
        {
          chosen: [system, user("Count to two."), assistant("1, 2.")],
          rejected: [system, user("Count to two."), assistant("2, 1.")],
        },
      ),
      [
        {
          id: "7",
          prompt: "Capital of France?",
          history: [],
          response: "Paris.",
          rejected: "Lyon.",
          meta: { score_chosen: 9, score_rejected: 4 },
          line: 1,
        },
        {
          id: "p-2",
          prompt: "Say hi.",
          history: [],
          response: "Hi!",
          rejected: "No.",
          meta: { score_chosen: 8, score_rejected: 2 },
          line: 2,
        },
        { id: "uf.jsonl:3", prompt: "Count to two.", history: [system], response: "1, 2.", rejected: "2, 1.", line: 3 },
      ],
    ],
    [
      "messages",
      "chat.jsonl",
      jsonl({ id: 12, messages: [system, user("Hi."), assistant("Hello."), user("And 3*3?"), assistant("9.")] }),
      [{ id: "12", prompt: "And 3*3?", history: [system, user("Hi."), assistant("Hello.")], response: "9.", line: 1 }],
    ],
    [
      "sharegpt",
      "dpo.json",
      JSON.stringify([
        {
          conversations: [
            { from: "system", value: "Be brief." },
            { from: "human", value: "Hi." },
            { from: "gpt", value: "Hello." },
            { from: "human", value: "And 3*3?" },
          ],
          chosen: { from: "gpt", value: "9." },
          rejected: { from: "gpt", value: "6." },
        },
        {
          conversations: [
            { from: "human", value: "Name a colour." },
            { from: "gpt", value: "Blue." },
          ],
          system: "Be brief.",
        },
      ]),
      [
        {
          id: "dpo.json:1",
          prompt: "And 3*3?",
          history: [system, user("Hi."), assistant("Hello.")],
          response: "9.",
          rejected: "6.",
          line: 1,
        },
        { id: "dpo.json:2", prompt: "Name a colour.", history: [system], response: "Blue.", line: 2 },
      ],
    ],
    [
      "alpaca",
      "alpaca.json",
      JSON.stringify([
        {
          instruction: "Translate to English.",
          input: "bonjour",
          output: "hello",
          system: "Be brief.",
          history: [["Hi.", "Hello."]],
        },
        { instruction: "Pick the better word.", input: "", chosen: "good", rejected: "goodly" },
      ]),
      [
        {
          id: "alpaca.json:1",
          prompt: "Translate to English.\nbonjour",
          history: [system, user("Hi."), assistant("Hello.")],
          response: "hello",
          line: 1,
        },
        {
          id: "alpaca.json:2",
          prompt: "Pick the better word.",
          history: [],
          response: "good",
          rejected: "goodly",
          line: 2,
        },
      ],
    ],
    [
      "kto",
      "kto.json",
      JSON.stringify([{ messages: [user("Hi."), assistant("Hello.")], label: true }]),
      [{ id: "kto.json:1", prompt: "Hi.", history: [], response: "Hello.", line: 1 }],
    ],
  ];

  it.each(cases)("%s, named explicitly", async (format, file, text, expected) => {
    expect(await collect(readSourceRows(files.write(file, text), { format }))).toEqual(expected);
  });

  it.each(cases)("%s, detected from its keys", async (_format, file, text, expected) => {
    expect(await collect(readSourceRows(files.write(`auto-${file}`, text)))).toEqual(
      expected.map((row) => ({ ...row, id: row.id.replace(file, `auto-${file}`) })),
    );
  });
});

describe("readSourceRows: bad input names file:line:field", () => {
  const cases: Array<[string, string, SourceFormat, string]> = [
    [
      "malformed JSON",
      jsonl({ prompt: "a", response: "b" }) + '{"prompt": "a", "response": \n',
      "auto",
      ":2: malformed JSON: ",
    ],
    [
      "missing field",
      jsonl({ prompt: "a", response: "b" }, { prompt: "only a prompt" }),
      "auto",
      ":2:response: missing",
    ],
    ["wrong type", jsonl({ prompt: "a", response: 42 }), "auto", ":1:response: expected string, got number"],
    ["empty prompt", jsonl({ prompt: "   ", response: "b" }), "plain", ":1:prompt: is empty"],
    ["empty response", jsonl({ prompt: "a", response: "" }), "plain", ":1:response: is empty"],
    [
      "wrong role",
      jsonl({ messages: [{ role: "robot", content: "hi" }, assistant("yo")] }),
      "auto",
      ':1:messages[0].role: unknown value "robot"',
    ],
    [
      "content of the wrong type",
      jsonl({ messages: [user("hi"), { role: "assistant", content: null }] }),
      "messages",
      ":1:messages[1].content: expected string, got null",
    ],
    [
      "conversation not ending with the answer",
      jsonl({ messages: [user("hi"), assistant("yo"), user("and?")] }),
      "messages",
      ":1:messages[2].role: the conversation must end",
    ],
    [
      "answer not following a user turn",
      jsonl({ messages: [system, assistant("yo")] }),
      "messages",
      ":1:messages[0].role: the answer must follow a user turn",
    ],
    [
      "empty answer in a conversation",
      jsonl({ messages: [user("hi"), assistant(" ")] }),
      "messages",
      ":1:messages[1].content: the answer is empty",
    ],
    ["empty message list", jsonl({ messages: [] }), "messages", ":1:messages: is empty"],
    [
      "unknown sharegpt role",
      jsonl({
        conversations: [
          { from: "human", value: "hi" },
          { from: "bot", value: "yo" },
        ],
      }),
      "auto",
      ':1:conversations[1].from: unknown value "bot"',
    ],
    [
      "sharegpt ranking row ending with the answer",
      jsonl({
        conversations: [
          { from: "human", value: "hi" },
          { from: "gpt", value: "yo" },
        ],
        chosen: { from: "gpt", value: "a" },
        rejected: { from: "gpt", value: "b" },
      }),
      "sharegpt",
      ":1:conversations[1].from: the conversation must end with the user turn",
    ],
    [
      "chosen not from gpt",
      jsonl({ conversations: [{ from: "human", value: "hi" }], chosen: { from: "human", value: "a" } }),
      "sharegpt",
      ':1:chosen.from: unknown value "human"',
    ],
    ["alpaca without an answer", jsonl({ instruction: "Say hi." }), "auto", ":1:output: missing"],
    [
      "alpaca history of the wrong type",
      jsonl({ instruction: "Say hi.", output: "hi", history: [["a", 2]] }),
      "alpaca",
      ":1:history[0][1]: expected string, got number",
    ],
    [
      "ultrafeedback chosen of the wrong type",
      jsonl({ prompt: "a", chosen: 3 }),
      "ultrafeedback",
      ":1:chosen: expected a string or a list",
    ],
    [
      "ultrafeedback chosen list without the answer",
      jsonl({ prompt: "a", chosen: [user("a")] }),
      "ultrafeedback",
      ":1:chosen[0].role: the conversation must end",
    ],
    ["ultrafeedback string chosen without a prompt", jsonl({ chosen: "yes" }), "ultrafeedback", ":1:prompt: missing"],
    [
      "undesirable KTO row",
      jsonl({ messages: [user("hi"), assistant("go away")], label: false }),
      "kto",
      ":1:label: undesirable example has no good answer",
    ],
    [
      "keys no format knows",
      jsonl({ question: "q", answer: "a" }),
      "auto",
      ':1: cannot tell the input format from the keys ["question","answer"]',
    ],
    ["a row that is not an object", "[1, 2]\n", "auto", ":1: expected a JSON object, got an array"],
    [
      "a row of another format than the one named",
      jsonl({ prompt: "a", response: "b" }),
      "sharegpt",
      ":1:conversations: missing",
    ],
  ];

  it.each(cases)("%s", async (name, text, format, where) => {
    const path = files.write(`${name.replaceAll(" ", "-")}.jsonl`, text);
    const error = await collect(readSourceRows(path, { format })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message.startsWith(`${path}${where}`), (error as Error).message).toBe(true);
  });

  it("auto holds every row to the first row's format and says so", async () => {
    const path = files.write(
      "mixed.jsonl",
      jsonl({ prompt: "a", response: "b" }, { messages: [user("hi"), assistant("yo")] }),
    );
    const error = await collect(readSourceRows(path)).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      new RegExp(`^${path}:2:prompt: missing\\n.*format "plain" was detected from line 1`),
    );
  });

  it("a named format is not second-guessed by the keys", async () => {
    const path = files.write(
      "plain-as-messages.jsonl",
      jsonl({ prompt: "a", response: "b", messages: [user("x"), assistant("y")] }),
    );
    expect(await collect(readSourceRows(path, { format: "messages" }))).toMatchObject([{ prompt: "x", response: "y" }]);
  });
});

describe("readSourceRows: skipInvalid", () => {
  it("reports each bad row through onReject and goes on", async () => {
    const path = files.write(
      "some-bad.jsonl",
      jsonl({ prompt: "one", response: "1" }) +
        '{"prompt": \n' +
        jsonl({ prompt: "no answer" }, { prompt: "", response: "x" }, { prompt: "two", response: "2" }),
    );
    const rejects: SourceReject[] = [];
    const rows = await collect(readSourceRows(path, { skipInvalid: true, onReject: (reject) => rejects.push(reject) }));
    expect(rows.map((row) => [row.line, row.prompt])).toEqual([
      [1, "one"],
      [5, "two"],
    ]);
    expect(rejects).toEqual([
      { line: 2, reason: expect.stringMatching(/^malformed JSON: /), raw: '{"prompt": ' },
      { line: 3, field: "response", reason: "missing", raw: { prompt: "no answer" } },
      { line: 4, field: "prompt", reason: "is empty", raw: { prompt: "", response: "x" } },
    ]);
  });

  it("a file of only bad rows yields nothing and reports them all", async () => {
    const path = files.write("all-bad.jsonl", "1\n" + jsonl({ question: "q" }));
    const rejects: SourceReject[] = [];
    expect(
      await collect(readSourceRows(path, { skipInvalid: true, onReject: (reject) => rejects.push(reject) })),
    ).toEqual([]);
    expect(rejects.map((reject) => reject.line)).toEqual([1, 2]);
  });
});
