// What the engine and train benchmarks share: the Llama config both build around their model sizes,
// and both hand to the PyTorch references, so the two sides always describe the same model.
export function benchLlamaConfig(model, extra = {}) {
  return {
    architecture: "llama",
    ...model,
    headDim: model.hiddenSize / model.numHeads,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
    attentionBias: false,
    maxPositionEmbeddings: 4096,
    ...extra,
  };
}
