// The matrix products one seapo training step performs, shape by shape, so the benchmark can print the
// step's achieved GFLOP/s beside the engine's own GEMM GFLOP/s on the same shapes.
//
// A pass over R sequences of T positions (S of them scored: the completion) makes, per layer, the seven
// projections (x·Wᵀ, M = R·T rows), LoRA's two small products per projection when adapters are on, and
// attention's two batched products (grouped heads, the full T × T scores the engine computes); then the
// fused lm_head on the S·R scored rows only: the logits chunk h·Wᵀ and, when the hidden states need a
// gradient, P·W (the expected output row, from which backward takes dh without a GEMM).
// Backward: every projection's input gradient (g·W), the LoRA products twice over, attention's four
// products (twice the forward), and for full fine-tuning every weight gradient (gᵀ·x) and the lm_head's
// dW (the logits chunk again and Pᵀ·(g·h)). Elementwise work is not counted: that is the point of the ratio.

/** [{ name, m, n, k, transA, transB, batch, times }]: `times` copies of one GEMM C[m,n] += op(A)[m,k]·op(B)[k,n]. */
export function stepGemms(config, setup, finetuning, loss, chunkRows) {
  const { hiddenSize: d, intermediateSize: F, numLayers: L, numHeads: H, numKvHeads: Hkv, vocabSize: V } = config;
  const D = d / H;
  const q = H * D;
  const kv = Hkv * D;
  const T = setup.prompt + setup.completion - 1;
  const S = setup.completion;
  const r = 8;
  const linears = [
    ["q_proj", d, q],
    ["k_proj", d, kv],
    ["v_proj", d, kv],
    ["o_proj", q, d],
    ["gate_proj", d, F],
    ["up_proj", d, F],
    ["down_proj", F, d],
  ];
  const list = [];
  const add = (name, m, n, k, times, extra = {}) =>
    list.push({ name, m, n, k, times, transA: false, transB: false, batch: 1, ...extra });

  const pass = (R, { lora, grad, backward }) => {
    const M = R * T;
    const rowsScored = R * S;
    const lm = Math.min(chunkRows, rowsScored);
    for (const [name, inF, outF] of linears) {
      add(`${name} x·Wᵀ`, M, outF, inF, L, { transB: true });
      if (lora) {
        add(`${name} LoRA A`, M, r, inF, L * (backward ? 3 : 1), { transB: true });
        add(`${name} LoRA B`, M, outF, r, L * (backward ? 3 : 1), { transB: true });
      }
      if (backward) add(`${name} dx = g·W`, M, inF, outF, L);
      if (backward && finetuning === "full") add(`${name} dW = gᵀ·x`, outF, inF, M, L, { transA: true });
    }
    const attn = { batch: R * Hkv };
    add("attention q·kᵀ", (H / Hkv) * T, T, D, L * (backward ? 3 : 1), { ...attn, transB: true });
    add("attention p·v", (H / Hkv) * T, D, T, L * (backward ? 3 : 1), attn);
    add("lm_head h·Wᵀ (chunk)", lm, V, d, rowsScored / lm, { transB: true });
    if (grad) add("lm_head P·W (chunk)", lm, d, V, rowsScored / lm);
    if (backward && finetuning === "full") {
      add("lm_head dW: h·Wᵀ again", lm, V, d, rowsScored / lm, { transB: true });
      add("lm_head dW: Pᵀ·(g·h)", V, d, lm, rowsScored / lm, { transA: true });
    }
  };

  const R = loss === "dpo" ? 4 : 4; // DPO 2 pairs = 4 sequences; KTO 4 items
  const lora = finetuning === "lora";
  pass(R, { lora, grad: true, backward: true }); // the policy
  pass(R, { lora: false, grad: false, backward: false }); // the reference
  if (loss === "kto") {
    pass(R, { lora, grad: false, backward: false }); // KL rows, policy without gradient
    pass(R, { lora: false, grad: false, backward: false }); // KL rows, reference
  }
  return list;
}

export const gemmFlops = (g) => 2 * g.m * g.n * g.k * g.batch * g.times;
