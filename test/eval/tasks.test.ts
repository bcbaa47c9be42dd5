import { describe, expect, it } from "vitest";
import { runEval } from "../../src/eval/run.js";
import { MMLU_SUBJECTS } from "../../src/eval/tasks/mmlu.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";

const PRIMER =
  "Q: What is human life expectancy in the United States?\nA: Human life expectancy in the United States is 78 years.\n\n" +
  "Q: Who was president of the United States in 1955?\nA: Dwight D. Eisenhower was president of the United States in 1955.\n\n" +
  "Q: Which party did he belong to?\nA: He belonged to the Republican Party.\n\n" +
  "Q: What is the square root of banana?\nA: I have no comment.\n\n" +
  "Q: How does a telescope work?\nA: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n" +
  "Q: Where were the 1992 Olympics held?\nA: The 1992 Olympics were held in Barcelona, Spain.";

describe("truthfulqa_mc1 / truthfulqa_mc2", () => {
  const dir = dataDir({
    "truthfulqa/mc_task_v0.jsonl": jsonl([
      {
        question: "What color is the sky?",
        mc1_targets: { choices: ["Blue.", "Green."], labels: [1, 0] },
        mc2_targets: { choices: ["Blue.", "Azure.", "Green.", "Red."], labels: [1, 1, 0, 0] },
      },
      {
        question: "Is water wet?",
        mc1_targets: { choices: ["Yes.", "No."], labels: [1, 0] },
        mc2_targets: { choices: ["Yes.", "No."], labels: [1, 0] },
      },
    ]),
  });
  const lls: Record<string, number> = {
    " Blue.": -1,
    " Green.": -2,
    " Azure.": -1,
    " Red.": -3,
    " Yes.": -4,
    " No.": -4,
  };
  const model = scriptedModel({ logprob: (_context, continuation) => lls[continuation]! });

  it("scores each answer after the QA primer and computes MC1 and MC2 by hand's rule", async () => {
    const run = await runEval(model, { tasks: ["truthfulqa_mc1", "truthfulqa_mc2"], dataDir: dir });
    expect(model.logprobCalls[0]).toEqual({
      context: `${PRIMER}\n\nQ: What color is the sky?\nA:`,
      continuation: " Blue.",
    });
    // MC1: row 1 picks "Blue." (-1 > -2); row 2 is a tie, which goes to the first (true) answer.
    expect(run.results.truthfulqa_mc1!.metrics.acc).toEqual({ value: 1, stderr: 0 });
    // MC2: row 1 = (e⁻¹ + e⁻¹) / (e⁻¹ + e⁻¹ + e⁻² + e⁻³); row 2 = e⁻⁴ / (2e⁻⁴) = 0.5.
    const row1 = (2 * Math.exp(-1)) / (2 * Math.exp(-1) + Math.exp(-2) + Math.exp(-3));
    const mc2 = run.results.truthfulqa_mc2!.metrics.acc!;
    expect(mc2.value).toBeCloseTo((row1 + 0.5) / 2, 12);
    // two values a, b: sample sd |a − b|/√2, stderr |a − b|/2
    expect(mc2.stderr).toBeCloseTo(Math.abs(row1 - 0.5) / 2, 12);
    expect(run.dataFiles).toHaveProperty(["truthfulqa/mc_task_v0.jsonl"], expect.stringMatching(/^[0-9a-f]{64}$/));
  });
});

describe("mmlu", () => {
  const subjects = Object.keys(MMLU_SUBJECTS);
  const files: Record<string, string> = {};
  for (const subject of subjects) {
    files[`mmlu/dev/${subject}_dev.csv`] = Array.from(
      { length: 5 },
      (_, i) => `Dev ${subject} ${i}?,a${i},b${i},c${i},d${i},B\n`,
    ).join("");
    files[`mmlu/test/${subject}_test.csv`] = `Test ${subject} one?,w,x,y,z,A\nTest ${subject} two?,w,x,y,z,C\n`;
  }
  // A question with a quoted comma and a line break, to check the CSV reader and the strip().
  files["mmlu/dev/abstract_algebra_dev.csv"] =
    `"  Find c, in Z_3.\nWhich c?",0,1,2,3,B\n` +
    files["mmlu/dev/abstract_algebra_dev.csv"]!.split("\n").slice(1).join("\n");
  const dir = dataDir(files);

  it("builds the harness prompt: description, exemplars from dev with their letter, then the question", async () => {
    const model = scriptedModel({ logprob: () => -1 });
    await runEval(model, { tasks: ["mmlu"], dataDir: dir, limit: 1, numFewshot: 1 });
    expect(model.logprobCalls.slice(0, 4)).toEqual(
      [" A", " B", " C", " D"].map((continuation) => ({
        context:
          "The following are multiple choice questions (with answers) about abstract algebra.\n\n" +
          "Find c, in Z_3.\nWhich c?\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n" +
          "Test abstract_algebra one?\nA. w\nB. x\nC. y\nD. z\nAnswer:",
        continuation,
      })),
    );
  });

  it("micro-averages over questions, per category and overall, with the harness's pooled stderr", async () => {
    // STEM subjects answer the gold letter, others always say A. abstract_algebra misses its second question.
    const model = scriptedModel({
      logprob: (context, continuation) => {
        const subject = /about ([a-z ]+)\.\n/.exec(context)![1]!.replaceAll(" ", "_");
        const second = context.endsWith(`Test ${subject} two?\nA. w\nB. x\nC. y\nD. z\nAnswer:`);
        const stem = MMLU_SUBJECTS[subject] === "stem";
        const wanted = !stem || (subject === "abstract_algebra" && second) ? " A" : second ? " C" : " A";
        return continuation === wanted ? -0.1 : -5;
      },
    });
    const run = await runEval(model, { tasks: ["mmlu"], dataDir: dir });
    const mmlu = run.results.mmlu!;
    expect(mmlu.n).toBe(114);
    expect(Object.keys(mmlu.subtasks!)).toHaveLength(57);
    // 19 STEM subjects × 2 questions, 37 right; the other 76 questions: only "one?" (gold A) right, 38 of them
    expect(mmlu.groups!.stem!.metrics.acc!.value).toBeCloseTo(37 / 38, 12);
    expect(mmlu.groups!.humanities!.metrics.acc!.value).toBeCloseTo(13 / 26, 12);
    expect(mmlu.groups!.social_sciences!.n).toBe(24);
    expect(mmlu.groups!.other!.n).toBe(26);
    expect(mmlu.metrics.acc!.value).toBeCloseTo((37 + 38) / 114, 12);
    // Subject stderrs: abstract_algebra [1,0] → 0.5; other STEM [1,1] → 0; non-STEM [1,0] → 0.5.
    // STEM: Σ(n−1)·n·se² = 1·2·0.25 = 0.5; / (38 − 19) / 38
    const seStem = Math.sqrt(0.5 / 19 / 38);
    expect(mmlu.groups!.stem!.metrics.acc!.stderr).toBeCloseTo(seStem, 12);
    // humanities: 13 subjects each 0.5 → Σ = 13·0.5 = 6.5; / (26 − 13) / 26
    const seHum = Math.sqrt(6.5 / 13 / 26);
    expect(mmlu.groups!.humanities!.metrics.acc!.stderr).toBeCloseTo(seHum, 12);
    // overall pools the 57 subjects, as the harness aggregates a group from its leaf tasks (not the 4
    // categories, which would give sqrt((37·38·seStem² + …) / (114 − 4) / 114) = 0.05467):
    // abstract_algebra and the 38 non-STEM subjects each add 1·2·0.25 = 0.5 → 19.5 / (114 − 57) / 114
    expect(mmlu.metrics.acc!.stderr).toBeCloseTo(Math.sqrt(19.5 / 57 / 114), 12);
  });
});

describe("arc_easy / arc_challenge", () => {
  const question = (id: string, stem: string, texts: string[], labels: string[], answerKey: string) => ({
    id,
    question: { stem, choices: texts.map((text, i) => ({ text, label: labels[i] })) },
    answerKey,
  });
  const dir = dataDir({
    "arc/ARC-Easy/ARC-Easy-Test.jsonl": jsonl([
      question("q1", "Which is a metal?", ["iron", "wood", "glass"], ["A", "B", "C"], "A"),
      question("q2", "Pick the long one.", ["no", "absolutely"], ["1", "2"], "2"),
    ]),
    "arc/ARC-Easy/ARC-Easy-Train.jsonl": jsonl([
      question("t0", "Train zero?", ["z0", "z1"], ["A", "B"], "A"),
      question("t1", "Train one?", ["o1", "o2"], ["A", "B"], "B"),
      question("t2", "Train two?", ["w1", "w2"], ["A", "B"], "A"),
    ]),
  });
  const lls: Record<string, number> = { " iron": -2, " wood": -1, " glass": -9, " no": -1, " absolutely": -2 };

  it("scores acc and acc_norm (log-likelihood per character) by hand", async () => {
    const model = scriptedModel({ logprob: (_c, continuation) => lls[continuation]! });
    const run = await runEval(model, { tasks: ["arc_easy"], dataDir: dir });
    expect(model.logprobCalls[0]).toEqual({ context: "Question: Which is a metal?\nAnswer:", continuation: " iron" });
    // q1: acc picks wood (-1) → wrong; norm: iron -2/4 = -0.5, wood -1/4 = -0.25 → wood → wrong.
    // q2: acc picks "no" (-1) → wrong; norm: -1/2 = -0.5 vs -2/10 = -0.2 → "absolutely" → right.
    expect(run.results.arc_easy!.metrics.acc!.value).toBe(0);
    expect(run.results.arc_easy!.metrics.acc_norm!.value).toBe(0.5);
  });

  it("draws few-shot exemplars from train with Python's random.Random(seed).sample", async () => {
    const model = scriptedModel({ logprob: () => -1 });
    await runEval(model, { tasks: ["arc_easy"], dataDir: dir, numFewshot: 1 });
    // CPython: r = random.Random(1234); r.sample(range(3), 1) → [1], then r.sample(range(3), 1) → [0]
    expect(model.logprobCalls[0]!.context).toBe(
      "Question: Train one?\nAnswer: o2\n\nQuestion: Which is a metal?\nAnswer:",
    );
    expect(model.logprobCalls[3]!.context).toBe(
      "Question: Train zero?\nAnswer: z0\n\nQuestion: Pick the long one.\nAnswer:",
    );
  });
});

describe("gsm8k_cot", () => {
  const dir = dataDir({
    "gsm8k/test.jsonl": jsonl([
      { question: "Janet has 9 eggs and buys 9 more. How many?", answer: "9 + 9 = <<9+9=18>>18\n#### 18" },
      { question: "A TV costs a thousand dollars. Price?", answer: "It is 1000.\n#### 1,000" },
      { question: "What is 2 + 3?", answer: "#### 5" },
      { question: "Apples and pears?", answer: "#### 7" },
    ]),
  });
  const replies: Record<string, string> = {
    "Janet has": "9 + 9 = 18. The answer is 18.\n\nQ: What is 2+3?\nA: 5",
    "A TV costs": "It costs $1,000. The answer is $1,000.",
    "What is 2 + 3": "I am not sure.",
    "Apples and": "3 apples and 4 pears make 7. The answer is 7",
  };
  const model = scriptedModel({
    generate: (prompt) => {
      const question = /Q: ([^\n]*)\nA:$/.exec(prompt)![1]!;
      return replies[Object.keys(replies).find((k) => question.startsWith(k))!]!;
    },
  });

  it("uses the eight CoT exemplars, stops at Q:, and scores strict and flexible matches", async () => {
    const run = await runEval(model, { tasks: ["gsm8k_cot"], dataDir: dir });
    const first = model.generateCalls[0]!;
    expect(first.prompt!.startsWith("Q: There are 15 trees in the grove.")).toBe(true);
    expect(first.prompt!.endsWith("The answer is 8.\n\nQ: Janet has 9 eggs and buys 9 more. How many?\nA:")).toBe(true);
    expect(first.prompt!.match(/\nA: /g)).toHaveLength(8);
    expect(first).toMatchObject({ stop: ["Q:", "</s>", "<|im_end|>"], temperature: 0, maxTokens: 256 });
    const m = run.results.gsm8k_cot!.metrics;
    // strict: 18 ✓ (the text after "Q:" is cut), "$1,000" ✗ ($ not allowed), none ✗, "7" at the very end ✗ → 1/4
    expect(m["exact_match,strict-match"]!.value).toBe(0.25);
    // flexible (last number): "18." ✓ (without the cut it would be "5"), "$1,000." ✓, none ✗, "7" ✓ → 3/4
    expect(m["exact_match,flexible-extract"]!.value).toBe(0.75);
  });

  it("takes the first n exemplars with --num-fewshot", async () => {
    const one = scriptedModel({ generate: () => "" });
    await runEval(one, { tasks: ["gsm8k_cot"], dataDir: dir, limit: 1, numFewshot: 1 });
    expect(one.generateCalls[0]!.prompt).toBe(
      "Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?\n" +
        "A: There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.\n\n" +
        "Q: Janet has 9 eggs and buys 9 more. How many?\nA:",
    );
  });
});

describe("gsm8k (train exemplars, #### answers)", () => {
  const train = Array.from({ length: 10 }, (_, i) => ({ question: `Train ${i}?`, answer: `Work ${i}.\n#### ${i}` }));
  const dir = dataDir({
    "gsm8k/train.jsonl": jsonl(train),
    "gsm8k/test.jsonl": jsonl([
      { question: "First?", answer: "1 + 1 = 2\n#### 2" },
      { question: "Second?", answer: "#### 3" },
    ]),
  });

  it("draws exemplars per question with the seeded sampler and matches the #### line", async () => {
    const model = scriptedModel({
      generate: (prompt) => (prompt.endsWith("First?\nAnswer:") ? " 1 + 1 = 2\n#### 2" : " So 3."),
    });
    const run = await runEval(model, { tasks: ["gsm8k"], dataDir: dir, numFewshot: 2, fewshotSeed: 7 });
    // CPython: r = random.Random(7); r.sample(range(10), 2) → [5, 2], then → [6, 0]
    expect(model.generateCalls[0]!.prompt).toBe(
      "Question: Train 5?\nAnswer: Work 5.\n#### 5\n\nQuestion: Train 2?\nAnswer: Work 2.\n#### 2\n\nQuestion: First?\nAnswer:",
    );
    expect(model.generateCalls[1]!.prompt).toBe(
      "Question: Train 6?\nAnswer: Work 6.\n#### 6\n\nQuestion: Train 0?\nAnswer: Work 0.\n#### 0\n\nQuestion: Second?\nAnswer:",
    );
    expect(run.results.gsm8k!.settings).toMatchObject({ fewshotSeed: 7, sampler: "random" });
    // strict: "2" ✓, no "####" ✗; flexible: last number "2" ✓ and "3." ✓
    expect(run.results.gsm8k!.metrics["exact_match,strict-match"]!.value).toBe(0.5);
    expect(run.results.gsm8k!.metrics["exact_match,flexible-extract"]!.value).toBe(1);
  });
});

describe("minerva_math500", () => {
  const row = (problem: string, solution: string, i: number) => ({
    problem,
    solution,
    answer: "",
    subject: "Algebra",
    level: 1,
    unique_id: `test/algebra/${i}.json`,
  });
  const dir = dataDir({
    "math500/test.jsonl": jsonl([
      row("What is $1/2$ as a fraction?", "It is $\\boxed{\\frac{1}{2}}$.", 0),
      row("How many dollars?", "We get $\\boxed{10,000}$.", 1),
      row("What is 3+4?", "So $\\boxed{7}$.", 2),
    ]),
  });
  const replies = [
    "Half.\nFinal Answer: The final answer is $\\frac12$. I hope it is correct.",
    "It is \\boxed{10000}.\nFinal Answer: The final answer is $10,000$ dollars. I hope it is correct.",
    "The sum is $8$.",
  ];

  it("builds the 4-shot Minerva prompt and matches normalised final answers", async () => {
    let i = 0;
    const model = scriptedModel({ generate: () => replies[i++]! });
    const run = await runEval(model, { tasks: ["minerva_math500"], dataDir: dir, concurrency: 1 });
    const prompt = model.generateCalls[0]!.prompt!;
    expect(
      prompt.startsWith(
        "Problem:\nFind the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}\n\nSolution: The expressions",
      ),
    ).toBe(true);
    expect(prompt.endsWith("I hope it is correct.\n\nProblem:\nWhat is $1/2$ as a fraction?\n\nSolution:")).toBe(true);
    expect(prompt.match(/\n\nSolution: /g)).toHaveLength(4);
    expect(model.generateCalls[0]!.stop).toEqual(["Problem:"]);
    // exact_match: \frac12 → \frac{1}{2} ✓; "$10,000$ dollars" → 10000 vs 10,000 → 10000 ✓; no final answer ✗
    expect(run.results.minerva_math500!.metrics.exact_match!.value).toBeCloseTo(2 / 3, 12);
    // boxed_match: no box → text between the $ signs "\frac12" ≡ "\frac{1}{2}" ✓; "10000" vs "10,000" ✗; "8" vs "7" ✗
    expect(run.results.minerva_math500!.metrics.boxed_match!.value).toBeCloseTo(1 / 3, 12);
  });
});

describe("bbh_cot_fewshot", () => {
  const cot = (description: string, shots: string[]) =>
    `BENCHMARK DATA canary line\n-----\n${description}\n\n${shots.join("\n\n")}`;
  const dir = dataDir({
    "bbh/bbh/alpha.json": JSON.stringify({
      canary: "x",
      examples: [
        { input: "alpha one", target: "(A)" },
        { input: "alpha two", target: "Yes" },
      ],
    }),
    "bbh/bbh/beta.json": JSON.stringify({ canary: "x", examples: [{ input: "beta one", target: "12" }] }),
    "bbh/cot-prompts/alpha.txt": cot("Answer alpha questions.", [
      "Q: a1\nA: Let's think step by step.\nIt is A. So the answer is (A).",
      "Q: a2\nA: Let's think step by step.\nIt is B. So the answer is (B).",
      "Q: a3\nA: Let's think step by step.\nIt is C. So the answer is (C).",
    ]),
    "bbh/cot-prompts/beta.txt": cot("Count things.", [
      "Q: b1\nA: Let's think step by step.\nOne. So the answer is 1.",
      "Q: b2\nA: Let's think step by step.\nTwo. So the answer is 2.",
      "Q: b3\nA: Let's think step by step.\nThree. So the answer is 3.",
    ]),
  });
  const replies: Record<string, string> = {
    "alpha one": "A holds. So the answer is (A).\n\nQ: next",
    "alpha two": "So the answer is No.",
    "beta one": "Twelve. So the answer is 12.",
  };

  it("appends the question to the task's CoT prompt and exact-matches the extracted answer", async () => {
    const model = scriptedModel({
      generate: (prompt) => replies[/Q: ([a-z ]+)\nA: Let's think step by step.\n$/.exec(prompt)![1]!]!,
    });
    const run = await runEval(model, { tasks: ["bbh_cot_fewshot"], dataDir: dir });
    expect(model.generateCalls[0]!.prompt).toBe(
      "Answer alpha questions.\n\nQ: a1\nA: Let's think step by step.\nIt is A. So the answer is (A).\n\n" +
        "Q: a2\nA: Let's think step by step.\nIt is B. So the answer is (B).\n\n" +
        "Q: a3\nA: Let's think step by step.\nIt is C. So the answer is (C).\n\n" +
        "Q: alpha one\nA: Let's think step by step.\n",
    );
    expect(model.generateCalls[0]).toMatchObject({ stop: ["</s>", "Q", "\n\n"], maxTokens: 1024, temperature: 0 });
    const bbh = run.results.bbh_cot_fewshot!;
    expect(bbh.subtasks!.alpha!.metrics.exact_match).toEqual({ value: 0.5, stderr: 0.5 });
    expect(bbh.subtasks!.beta!.metrics.exact_match).toEqual({ value: 1, stderr: null });
    // size-weighted: 2 of 3; pooled: (1·2·0.25 + 0) / (3 − 2) / 3
    expect(bbh.metrics.exact_match!.value).toBeCloseTo(2 / 3, 12);
    expect(bbh.metrics.exact_match!.stderr).toBeCloseTo(Math.sqrt(0.5 / 1 / 3), 12);
  });

  it("keeps the first n exemplars with --num-fewshot", async () => {
    const model = scriptedModel({ generate: () => "" });
    await runEval(model, { tasks: ["bbh_cot_fewshot"], dataDir: dir, numFewshot: 1, limit: 1 });
    expect(model.generateCalls[0]!.prompt).toBe(
      "Answer alpha questions.\n\nQ: a1\nA: Let's think step by step.\nIt is A. So the answer is (A).\n\nQ: alpha one\nA: Let's think step by step.\n",
    );
  });
});
