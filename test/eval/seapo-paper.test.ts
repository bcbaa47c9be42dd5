/**
 * The seapo-paper harness against open-instruct's own eval code at commit
 * 8b9069993ccfd6e67ce8e41f942c6b9eea8bc5e2 (eval/gsm/run_eval.py, eval/MATH/run_eval.py + utilities.py +
 * minerva_utils.py, eval/bbh/run_eval.py, eval/truthfulqa/utilities.py + metrics.py, eval/mmlu/run_eval.py,
 * eval/codex_humaneval/run_eval.py). The expected values were printed by
 * test/eval/generators/seapo_paper_cases.py, which runs those files' functions (MMLU's by hand: its
 * format_example needs pandas, which is not here). The SeaPO changes are the issue's: GSM8K stops only at
 * "\n\n\n"; MATH is scored on the last \boxed{} with 1,024 new tokens; HumanEval reports pass@10 only.
 */
import { describe, expect, it } from "vitest";
import { aggregate, runEval } from "../../src/eval/run.js";
import { splitCotPrompt } from "../../src/eval/tasks/bbh.js";
import { paperBbhExtract, paperBbhPrompt } from "../../src/eval/harnesses/seapo-paper/bbh.js";
import { oiExactMatch } from "../../src/eval/harnesses/seapo-paper/common.js";
import {
  PAPER_GSM8K_STOP,
  paperGsm8kExtract,
  paperGsm8kPrompt,
  paperGsm8kReference,
} from "../../src/eval/harnesses/seapo-paper/gsm8k.js";
import { paperMathAnswer, paperMathPrompt, scorePaperMath } from "../../src/eval/harnesses/seapo-paper/math.js";
import { formatBest, paperMc1, splitMultiAnswer } from "../../src/eval/harnesses/seapo-paper/truthfulqa.js";
import { truthfulqaMc2 } from "../../src/eval/metrics.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";

describe("seapo-paper GSM8K (eval/gsm/run_eval.py)", () => {
  it("builds open-instruct's CoT prompt: 'Answer the following questions.', Question/Answer pairs, the stripped question", () => {
    expect(paperGsm8kPrompt("  Tom has 3 apples. How many?  ", 1)).toBe(
      "Answer the following questions.\n\nQuestion: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?\nAnswer: There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. So the answer is 6.\n\nQuestion: Tom has 3 apples. How many?\nAnswer:",
    );
    expect(paperGsm8kPrompt("Q?", 8)).toHaveLength(2314);
    expect(PAPER_GSM8K_STOP).toEqual(["\n\n\n"]);
  });

  it("takes the last number anywhere in the output, as re.findall does (integers lose their sign)", () => {
    expect(paperGsm8kExtract("It is 1,234.5 dollars, or 7.")).toBe("7");
    expect(paperGsm8kExtract("costs -5 now")).toBe("5");
    expect(paperGsm8kExtract("+3.5 and .5")).toBe(".5");
    expect(paperGsm8kExtract("1,2,3")).toBe("3");
    expect(paperGsm8kExtract("no digits")).toBe("no digits");
    expect(paperGsm8kReference("so 1,200\n#### 1,200 ")).toBe("1200");
  });

  it("matches as evaluate's exact_match with ignore_case and ignore_punctuation", () => {
    expect([oiExactMatch("5", "-5"), oiExactMatch("5.0", "5"), oiExactMatch("1200", "1200")]).toEqual([1, 0, 1]);
  });
});

describe("seapo-paper MATH (eval/MATH/run_eval.py, vLLM path)", () => {
  it("builds the 4-shot DeepSeekMath prompt with the Final Answer lines and ends at 'Solution:\\n'", () => {
    expect(paperMathPrompt("  What is 1+1?\n", 1)).toBe(
      "Problem:\nFind the domain of the expression $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}\n\nSolution:\nThe expressions inside each square root must be non-negative.\nTherefore, $x-2 \\ge 0$, so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$.\nAlso, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$.\nTherefore, the domain of the expression is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.\n\nProblem:\nWhat is 1+1?\n\nSolution:\n",
    );
    expect(paperMathPrompt("Q", 4)).toHaveLength(1815);
  });

  it("reads the last \\boxed{} with utilities.py (no '\\boxed ' form, \\fbox unread), Minerva-normalised", () => {
    expect(paperMathAnswer("so \\boxed{\\frac12} and then $\\boxed{\\dfrac{1}{2}}$.")).toBe("\\dfrac{1}{2}");
    expect(paperMathAnswer("\\fbox{3}")).toBe("");
    expect(paperMathAnswer("\\boxed 5")).toBe("");
    expect(paperMathAnswer("Final Answer: The final answer is $4$. I hope it is correct.")).toBe("");
    expect(paperMathAnswer("\\boxed{10\\text{ cm}}")).toBe("10");
  });

  it("is correct when strip_string makes the two answers equal", () => {
    const score = (out: string, solution: string) => scorePaperMath(out, paperMathAnswer(solution)).metrics.accuracy;
    expect(score("$\\boxed{\\dfrac{1}{2}}$", "\\boxed{\\frac{1}{2}}")).toBe(1);
    expect(score("\\boxed{0.5}", "\\boxed{\\frac12}")).toBe(1);
    expect(score("\\boxed 5", "\\boxed{5}")).toBe(0);
  });
});

describe("seapo-paper BBH (eval/bbh/run_eval.py)", () => {
  const file =
    "canary\n-----\nDesc.\n\nQ: q1\nA: Let's think step by step.\nr1. So the answer is x.\n\nQ: q2\nA: Let's think step by step.\nr2. So the answer is y.\n\nQ: q3\nA: Let's think step by step.\nr3. So the answer is z.\n";

  it("is the prompt file after two lines, stripped, then '\\n\\nQ: <input>\\nA:'", () => {
    expect(paperBbhPrompt(splitCotPrompt(file), "in", 3)).toBe(
      "Desc.\n\nQ: q1\nA: Let's think step by step.\nr1. So the answer is x.\n\nQ: q2\nA: Let's think step by step.\nr2. So the answer is y.\n\nQ: q3\nA: Let's think step by step.\nr3. So the answer is z.\n\nQ: in\nA:",
    );
  });

  it("extracts up to the first period after the first '[t|T]he answer is', else the stripped output", () => {
    expect(paperBbhExtract("So the answer is (B). Then the answer is (C).")).toBe("(B)");
    expect(paperBbhExtract("THE ANSWER IS no.")).toBe("THE ANSWER IS no.");
    expect(paperBbhExtract("|he answer is Yes.")).toBe("Yes");
    expect(paperBbhExtract("the answer is 3.5.")).toBe("3");
    expect(paperBbhExtract("  nothing here \n")).toBe("nothing here");
    expect([oiExactMatch("(B)", "(b)"), oiExactMatch("Yes", "yes"), oiExactMatch("valid", "invalid")]).toEqual([
      1, 1, 0,
    ]);
  });

  it("averages the tasks equally, not by size", () => {
    const rows = [1, 1, 1, 0].map((v) => ({ subtask: "a", metrics: { exact_match: v } }));
    rows.push(...[0, 0].map((v) => ({ subtask: "b", metrics: { exact_match: v } })));
    const equal = aggregate({ metrics: ["exact_match"], subtaskMean: "equal" }, rows);
    expect(equal.metrics.exact_match!.value).toBe(0.375);
    // a: sample sd 0.5 over 4 → se 0.25; b: se 0. Together sqrt(0.25² + 0²)/2.
    expect(equal.metrics.exact_match!.stderr).toBeCloseTo(0.125, 12);
    expect(aggregate({ metrics: ["exact_match"] }, rows).metrics.exact_match!.value).toBe(0.5);
  });
});

describe("seapo-paper TruthfulQA (eval/truthfulqa/utilities.py, metrics.py MC_calcs)", () => {
  it("splits and closes the CSV's answer sets", () => {
    expect(splitMultiAnswer(" Nothing happens; You eat seeds.;  ; x ")).toEqual([
      "Nothing happens.",
      "You eat seeds.",
      "x.",
    ]);
    expect(formatBest("  The seeds pass through ")).toBe("The seeds pass through.");
  });

  it("MC1 is strict on ties; MC2 is the true answers' share of the probability", () => {
    expect(paperMc1([-1, -2], [-1], 0)).toBe(0);
    expect(truthfulqaMc2([-1, -2, -1], [1, 1, 0])).toBeCloseTo(0.5776812017484818, 14);
    expect(paperMc1([-3, -0.5], [-1, -4], 1)).toBe(1);
    expect(truthfulqaMc2([-3, -0.5, -1, -4], [1, 1, 0, 0])).toBeCloseTo(0.629553635174078, 14);
  });

  it("reads TruthfulQA.csv (BOM, header, quoted fields), skips and lists rows without false answers, and scores from it", async () => {
    const csv =
      "\uFEFFType,Category,Question,Best Answer,Correct Answers,Incorrect Answers,Source\n" +
      'A,M,"Seeds, eaten?",Nothing,"Nothing; You digest them",You grow a tree,s\n' +
      "A,M,Empty?,Yes,Yes,,s\n";
    const dir = dataDir({ "truthfulqa/TruthfulQA.csv": csv });
    const model = scriptedModel({ logprob: (_c, continuation) => (continuation === " You grow a tree." ? -1 : -2) });
    const run = await runEval(model, {
      harness: "seapo-paper",
      tasks: ["truthfulqa_mc1", "truthfulqa_mc2"],
      dataDir: dir,
    });
    expect(model.logprobCalls.slice(0, 3).map((c) => c.continuation)).toEqual([
      " Nothing.",
      " You digest them.",
      " You grow a tree.",
    ]);
    expect(model.logprobCalls[0]!.context.endsWith("Barcelona, Spain.\n\nQ: Seeds, eaten?\nA:")).toBe(true);
    expect(run.results.truthfulqa_mc1!.metrics.mc1!.value).toBe(0);
    expect(run.results.truthfulqa_mc2!.metrics.mc2!.value).toBeCloseTo(
      (2 * Math.exp(-2)) / (2 * Math.exp(-2) + Math.exp(-1)),
      14,
    );
    expect(run.results.truthfulqa_mc1!.settings.skippedCsvLines).toEqual([3]);
    expect(run.harness).toBe("seapo-paper");
    expect(run.harnessCommit).toBe("8b9069993");
  });
});

describe("seapo-paper MMLU (eval/mmlu/run_eval.py)", () => {
  it("puts two spaces after 'about', keeps the cells unstripped, prints pandas' NaN for 'None', picks the top letter", async () => {
    const dir = dataDir({
      "mmlu/dev/high_school_us_history_dev.csv": " Q1 ,a,b,None,d,C\n",
      "mmlu/test/high_school_us_history_test.csv": "Q2,w,x,y,z,B\n",
    });
    const model = scriptedModel({ logprob: (_c, continuation) => (continuation === " B" ? -1 : -2) });
    const run = await runEval(model, { harness: "seapo-paper", tasks: ["mmlu"], dataDir: dir, numFewshot: 1 });
    expect(model.logprobCalls.map((c) => c.continuation)).toEqual([" A", " B", " C", " D"]);
    expect(model.logprobCalls[0]!.context).toBe(
      "The following are multiple choice questions (with answers) about  high school us history.\n\n" +
        " Q1 \nA. a\nB. b\nC. nan\nD. d\nAnswer: C\n\nQ2\nA. w\nB. x\nC. y\nD. z\nAnswer:",
    );
    expect(run.results.mmlu!.metrics.acc!.value).toBe(1);
  });
});

describe("seapo-paper harness selection", () => {
  it("refuses a task the paper harness does not have, and --task-version", async () => {
    const dir = dataDir({ "gsm8k/test.jsonl": jsonl([{ question: "q", answer: "#### 1" }]) });
    const model = scriptedModel({ generate: () => " 1" });
    await expect(runEval(model, { harness: "seapo-paper", tasks: ["arc_easy"], dataDir: dir })).rejects.toThrow(
      /the seapo-paper harness has no task "arc_easy"/,
    );
    await expect(
      runEval(model, {
        harness: "seapo-paper",
        tasks: ["gsm8k_cot"],
        dataDir: dir,
        taskVersions: { gsm8k_cot: "3.0" },
      }),
    ).rejects.toThrow(/one version per task/);
    const run = await runEval(model, { harness: "seapo-paper", tasks: ["gsm8k_cot"], dataDir: dir });
    expect(run.results.gsm8k_cot!.metrics.exact_match!.value).toBe(1);
    expect(model.generateCalls[0]!.stop).toEqual(["\n\n\n"]);
  });
});
