/** TRL-named metrics and their accumulation over steps. */
import { describe, expect, it } from "vitest";
import { MetricAccumulator, preferenceMetrics } from "../../src/train/metrics.js";

describe("preferenceMetrics", () => {
  it("computes the paired names; accuracy is strict", () => {
    const m = preferenceMetrics({
      kind: "paired",
      chosenRewards: [1, 0.5, 2],
      rejectedRewards: [0, 0.5, 3],
      chosenLogps: [-1, -2, -3],
      rejectedLogps: [-4, -5, -6],
    });
    expect(m).toEqual({
      "rewards/chosen": 3.5 / 3,
      "rewards/rejected": 3.5 / 3,
      "rewards/accuracies": 1 / 3,
      "rewards/margins": 0,
      "logps/chosen": -2,
      "logps/rejected": -5,
    });
  });

  it("computes KTO's class means and leaves out the keys of an absent class", () => {
    const both = preferenceMetrics({
      kind: "unpaired",
      rewards: [1, -1, 3],
      logps: [-1, -2, -3],
      labels: [1, 0, 1],
      kl: 0.25,
    });
    expect(both).toEqual({
      kl: 0.25,
      "rewards/chosen": 2,
      "logps/chosen": -2,
      "rewards/rejected": -1,
      "logps/rejected": -2,
      "rewards/margins": 3,
    });
    const onlyBad = preferenceMetrics({ kind: "unpaired", rewards: [1, -1], logps: [-1, -2], labels: [0, 0], kl: 0 });
    expect(Object.keys(onlyBad).sort()).toEqual(["kl", "logps/rejected", "rewards/rejected"]);
  });

  it("adds ORPO's and the NLL extras", () => {
    const m = preferenceMetrics(
      { kind: "paired", chosenRewards: [0], rejectedRewards: [0], chosenLogps: [0], rejectedLogps: [0] },
      { nllLoss: 1.5, logOddsRatio: [-1, -3], logOddsChosen: [2, 4] },
    );
    expect(m.nll_loss).toBe(1.5);
    expect(m.log_odds_ratio).toBe(-2);
    expect(m.log_odds_chosen).toBe(3);
  });
});

describe("MetricAccumulator", () => {
  it("averages each key over the steps that reported it, per mode, and resets on flush", () => {
    const acc = new MetricAccumulator();
    acc.add({ loss: 1, "rewards/chosen": 2 });
    acc.add({ loss: 3 });
    acc.add({ loss: 10 }, "eval");
    expect(acc.flush()).toEqual({ loss: 2, "rewards/chosen": 2 });
    expect(acc.flush()).toEqual({});
    expect(acc.flush("eval")).toEqual({ loss: 10 });
  });
});
