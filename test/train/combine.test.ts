/** The table's entry points: names and aliases, parameter and input checks, weighted combination. */
import { describe, expect, it } from "vitest";
import { tensor } from "../../src/engine/index.js";
import { SeapoError } from "../../src/errors.js";
import { combineLosses, LOSS_NAMES, resolveLossName, runLoss, type LossInputs } from "../../src/train/losses/index.js";

function pairBatch(track = false): LossInputs {
  return {
    policy_chosen_logps: tensor([-10, -20, -5], [3], track),
    policy_rejected_logps: tensor([-12, -18, -9], [3], track),
    reference_chosen_logps: tensor([-11, -19, -6]),
    reference_rejected_logps: tensor([-11, -19, -8]),
    chosen_lengths: tensor([4, 8, 2]),
    rejected_lengths: tensor([5, 6, 3]),
  };
}

describe("loss names", () => {
  it("resolves table names and TRL's `sigmoid` alias, and rejects the rest with the list", () => {
    expect(resolveLossName("kto")).toBe("kto");
    expect(resolveLossName("sigmoid")).toBe("dpo_sigmoid");
    expect(() => resolveLossName("dpo")).toThrow(SeapoError);
    expect(() => resolveLossName("dpo")).toThrow(/known losses: .*kto/);
  });

  it("lists every family", () => {
    for (const name of [
      "dpo_sigmoid",
      "cdpo",
      "robust",
      "hinge",
      "ipo",
      "ipo_unnormalized",
      "sigmoid_norm",
      "exo_pair",
      "nca_pair",
      "bco_pair",
      "sppo_hard",
      "apo_zero",
      "apo_down",
      "discopop",
      "fdpo",
      "simpo",
      "cpo",
      "orpo",
      "orpo_llamafactory",
      "kto",
      "apo_zero_unpaired",
      "sft",
    ]) {
      expect(LOSS_NAMES).toContain(name);
    }
  });
});

describe("runLoss checks", () => {
  it("rejects unknown parameters, naming the ones the loss takes", () => {
    expect(() => runLoss("dpo_sigmoid", pairBatch(), { betta: 0.1 })).toThrow(
      /unknown parameter "betta"; it takes beta/,
    );
  });

  it("requires parameters without a default (F-DPO's delta)", () => {
    const inputs = { ...pairBatch(), chosen_hallucinated: tensor([0, 0, 1]), rejected_hallucinated: tensor([1, 0, 1]) };
    expect(() => runLoss("fdpo", inputs)).toThrow(/delta has no default/);
    expect(runLoss("fdpo", inputs, { delta: 2 }).loss.size).toBe(1);
  });

  it("names missing inputs and mismatched batch sizes", () => {
    const { reference_rejected_logps: _dropped, ...partial } = pairBatch();
    expect(() => runLoss("ipo", partial)).toThrow(/missing input reference_rejected_logps/);
    const short = { ...pairBatch(), rejected_lengths: tensor([1, 2]) };
    expect(() => runLoss("ipo", short)).toThrow(/rejected_lengths has 2 values but policy_chosen_logps has 3/);
  });

  it("needs nll_chosen for SimPO only when cpo_alpha is not 0", () => {
    const inputs = pairBatch();
    expect(runLoss("simpo", inputs).metrics.nll_loss).toBeUndefined();
    expect(() => runLoss("simpo", inputs, { cpo_alpha: 0.5 })).toThrow(/nll_chosen/);
  });

  it("checks parameter ranges", () => {
    expect(() => runLoss("robust", pairBatch(), { label_smoothing: 0.5 })).toThrow(/label_smoothing/);
    expect(() => runLoss("exo_pair", pairBatch(), { label_smoothing: 0 })).toThrow(/label_smoothing/);
    expect(() => runLoss("dpo_sigmoid", pairBatch(), { beta: 0 })).toThrow(/beta must be positive/);
  });
});

describe("combineLosses", () => {
  it("is the weighted sum of the terms, in value and in gradient", () => {
    const single = (name: "dpo_sigmoid" | "sft", weight: number) => {
      const inputs = pairBatch(true);
      const out = runLoss(name, inputs);
      out.loss.mul(weight).backward();
      return { value: out.loss.item() * weight, grad: inputs.policy_chosen_logps!.grad!.toArray() };
    };
    const dpo = single("dpo_sigmoid", 0.8);
    const sft = single("sft", 0.2);

    const inputs = pairBatch(true);
    const combined = combineLosses(
      [
        { name: "dpo_sigmoid", weight: 0.8 },
        { name: "sft", weight: 0.2 },
      ],
      inputs,
    );
    combined.loss.backward();
    expect(combined.loss.item()).toBeCloseTo(dpo.value + sft.value, 5);
    inputs
      .policy_chosen_logps!.grad!.toArray()
      .forEach((g, i) => expect(g).toBeCloseTo(dpo.grad[i]! + sft.grad[i]!, 6));
  });

  it("logs one un-prefixed set for several terms (TRL's names), each term's loss, and keeps one term's as they are", () => {
    const one = combineLosses([{ name: "ipo", params: { beta: 0.5 } }], pairBatch());
    expect(Object.keys(one.metrics)).toContain("rewards/chosen");
    expect(one.metrics).toEqual(runLoss("ipo", pairBatch(), { beta: 0.5 }).metrics);

    const two = combineLosses([{ name: "dpo_sigmoid" }, { name: "bco_pair", weight: 2 }, { name: "sft" }], pairBatch());
    const dpo = runLoss("dpo_sigmoid", pairBatch()).metrics;
    const sft = runLoss("sft", pairBatch()).metrics;
    expect(two.metrics).toEqual({
      ...dpo,
      nll_loss: sft.nll_loss,
      "dpo_sigmoid/loss": two.terms[0]!.output.loss.item(),
      "bco_pair/loss": two.terms[1]!.output.loss.item(),
      "sft/loss": two.terms[2]!.output.loss.item(),
    });
    // A later term that sees a key otherwise keeps its own value under its prefix (SimPO's rewards are β·ℓ̄).
    const mixed = combineLosses([{ name: "dpo_sigmoid" }, { name: "simpo" }], pairBatch());
    expect(mixed.metrics["rewards/margins"]).toBe(dpo["rewards/margins"]);
    expect(mixed.metrics["simpo/rewards/margins"]).toBe(runLoss("simpo", pairBatch()).metrics["rewards/margins"]);
    const [a, b, c] = two.terms.map((t) => t.output.loss.item());
    expect(two.loss.item()).toBeCloseTo(a! + 2 * b! + c!, 5);
  });

  it("refuses an empty list and a repeated name", () => {
    expect(() => combineLosses([], pairBatch())).toThrow(/at least one/);
    expect(() => combineLosses([{ name: "hinge" }, { name: "hinge", weight: 2 }], pairBatch())).toThrow(
      /appears twice/,
    );
  });
});
