"""Golden values for seapo's listwise losses (src/train/losses/listwise.ts), computed independently.

Run:  /usr/bin/python3 test/train/generators/listwise_golden.py > test/train/fixtures/listwise-golden.json
Made with torch 1.13 and numpy 1.24 (Debian bookworm's python3-torch / python3-numpy), both float64.

The losses are written here from their formulas with torch ops (logsigmoid, logsumexp over the
masked list) and the gradients come from torch's autograd, so neither shares code or derivation
with the TypeScript module's hand-written float64 forward and analytic gradient. Metrics are
numpy means. Every input is rounded to float32 first: those are the numbers seapo's float32
tensors hold, so the float64 values below are exact for them. Masked entries hold junk (1e4) that
must never be read.

Formulas, with z_c = beta*(pc - rc), z_k = beta*(pk - rk) over a row's unmasked negatives:
  multi_dpo    row = mean_k -logsigmoid(z_c - z_k)
  listwise_pl  row = logsumexp(z_c, z_1..z_K) - z_c
  loss = mean over rows.
Metrics, per row then averaged over rows: rewards/rejected and logps/rejected are the means over
the row's negatives (so rewards/margins = rewards/chosen - rewards/rejected, as in TRL);
rewards/rejected_max is the hardest negative; rewards/accuracies is 1 when the chosen beats every
negative, rewards/pair_accuracies the share of negatives it beats.
"""

import json

import numpy as np
import torch

JUNK = 1.0e4


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def row_losses(kind, zc, zr, mask):
    if kind == "multi_dpo":
        terms = -torch.nn.functional.logsigmoid(zc[:, None] - zr)
        terms = torch.where(mask, terms, torch.zeros_like(terms))
        return terms.sum(dim=1) / mask.sum(dim=1)
    if kind == "listwise_pl":
        masked = torch.where(mask, zr, torch.full_like(zr, -float("inf")))
        return torch.logsumexp(torch.cat([zc[:, None], masked], dim=1), dim=1) - zc
    raise ValueError(kind)


def metrics(beta, pc, rc, pr, rr, mask):
    zc = beta * (pc - rc)
    zr = beta * (pr - rr)
    rows = []
    for b in range(len(pc)):
        present = zr[b][mask[b]]
        best = present.max()
        rows.append(
            {
                "rewards/chosen": zc[b],
                "rewards/rejected": present.mean(),
                "rewards/rejected_max": best,
                "rewards/margins": zc[b] - present.mean(),
                "rewards/accuracies": 1.0 if zc[b] > best else 0.0,
                "rewards/pair_accuracies": float(np.mean(zc[b] > present)),
                "logps/chosen": pc[b],
                "logps/rejected": pr[b][mask[b]].mean(),
            }
        )
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def case(case_id, kind, beta, pc, rc, pr, rr, mask=None, tags=()):
    pc, rc, pr, rr = f32(pc), f32(rc), f32(pr), f32(rr)
    mask_given = mask is not None
    mask = np.ones_like(pr, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    pr = np.where(mask, pr, JUNK)
    rr = np.where(mask, rr, JUNK)
    tensors = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True) for name, v in
               [("pc", pc), ("rc", rc), ("pr", pr), ("rr", rr)]}
    zc = beta * (tensors["pc"] - tensors["rc"])
    zr = beta * (tensors["pr"] - tensors["rr"])
    per_row = row_losses(kind, zc, zr, torch.tensor(mask))
    loss = per_row.mean()
    loss.backward()
    grad = {name: tensors[key].grad.numpy().tolist() for name, key in NAMES.items()}
    inputs = {name: {"pc": pc, "rc": rc, "pr": pr, "rr": rr}[key].tolist() for name, key in NAMES.items()}
    if mask_given:
        inputs["rejected_list_mask"] = mask.astype(np.float64).tolist()
    return {
        "id": case_id,
        "loss": kind,
        "tags": list(tags),
        "params": {"beta": beta},
        "inputs": inputs,
        "expected": {
            "loss": loss.item(),
            "per_example_loss": per_row.detach().numpy().tolist(),
            "metrics": metrics(beta, pc, rc, pr, rr, mask),
            "grad": grad,
        },
    }


NAMES = {
    "policy_chosen_logps": "pc",
    "reference_chosen_logps": "rc",
    "policy_rejected_list_logps": "pr",
    "reference_rejected_list_logps": "rr",
}


def shapes(rng):
    """(id, beta, inputs, mask, tags) for each scenario; both losses run on each."""
    out = []
    for b, k, beta in [(1, 1, 0.1), (4, 3, 0.1), (5, 2, 0.5), (3, 4, 0.05)]:
        pc, rc = rng.normal(-40, 8, b), rng.normal(-40, 8, b)
        pr, rr = rng.normal(-45, 8, (b, k)), rng.normal(-45, 8, (b, k))
        out.append((f"random_b{b}_k{k}", beta, (pc, rc, pr, rr), None, ["random"]))
    pc, rc = rng.normal(-30, 5, 4), rng.normal(-30, 5, 4)
    pr, rr = rng.normal(-35, 5, (4, 3)), rng.normal(-35, 5, (4, 3))
    mask = [[1, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0]]
    out.append(("ragged_mask", 0.1, (pc, rc, pr, rr), mask, ["mask"]))
    # Ties: the chosen's reward equals one negative's (accuracy 0 for that row), and all equal.
    pc, rc = np.array([-10.0, -12.0]), np.array([-11.0, -12.0])
    pr, rr = np.array([[-20.0, -9.0], [-5.0, -5.0]]), np.array([[-20.0, -10.0], [-5.0, -5.0]])
    out.append(("ties", 0.2, (pc, rc, pr, rr), None, ["ties"]))
    # Extreme magnitudes: log-probs near -2e4 and |beta*delta| in the hundreds, both signs.
    pc = np.array([-20000.0, -150.0, -18000.5, -3.0])
    rc = np.array([-21000.0, -2150.0, -17000.25, -3.0])
    pr = np.array([[-25000.0, -19990.0, -30000.0], [-100.0, -9000.0, -50.0], [-16000.0, -18000.0, -17500.0],
                   [-2.5, -3.0, -3.5]])
    rr = np.array([[-24000.0, -21000.0, -29000.0], [-2100.0, -9100.0, -2000.0], [-17000.0, -17000.0, -17000.0],
                   [-3.0, -3.0, -3.0]])
    out.append(("extreme_magnitudes", 0.5, (pc, rc, pr, rr), [[1, 1, 1], [1, 0, 1], [1, 1, 1], [1, 1, 1]],
                ["extreme"]))
    pc, rc = np.array([-5000.0, -1.0]), np.array([-1.0, -5000.0])
    pr, rr = np.array([[-1.0, -2.0], [-5000.0, -4000.0]]), np.array([[-5000.0, -5000.0], [-1.0, -1.0]])
    out.append(("saturated", 1.0, (pc, rc, pr, rr), None, ["extreme"]))
    return out


def main():
    rng = np.random.default_rng(20261202)
    cases = []
    for case_id, beta, (pc, rc, pr, rr), mask, tags in shapes(rng):
        for kind in ["multi_dpo", "listwise_pl"]:
            cases.append(case(f"{kind}/{case_id}", kind, beta, pc, rc, pr, rr, mask, tags))
    doc = {
        "generator": "test/train/generators/listwise_golden.py",
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
        "note": "float64; inputs rounded to float32; masked entries hold junk (1e4) that must not be read",
        "cases": cases,
    }
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
