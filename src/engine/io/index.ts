export {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  parseSafetensorsHeader,
  SafetensorsFile,
  f32ToBf16,
  bf16ToF32,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type WriteDtype,
  type WriteSafetensorsOptions,
} from "./safetensors.js";
export {
  readWeightsIndex,
  readWeights,
  writeWeights,
  SINGLE_FILE,
  INDEX_FILE,
  type WeightsIndex,
  type WriteWeightsOptions,
} from "./weights-folder.js";
export {
  parseHfConfig,
  readHfConfig,
  hfConfigJson,
  writeHfConfig,
  generationConfigJson,
  HF_ARCHITECTURES,
  CONFIG_FILE,
  type TorchDtype,
} from "./hf-config.js";
export {
  loadHfModel,
  saveHfModel,
  inspectHfModel,
  checkTensorNames,
  countParameters,
  type HfModel,
  type HfModelSummary,
  type SaveHfModelOptions,
} from "./hf-model.js";
export {
  HfTokenizer,
  loadTokenizer,
  saveTokenizerFiles,
  type TemplateMessage,
  type ChatTemplateOptions,
  type EncodeOptions,
  type TokenizerFiles,
} from "./tokenizer.js";
export {
  buildByteLevelBpeTokenizer,
  CHATML_SPECIALS,
  DEFAULT_CORPUS,
  type ByteLevelBpe,
  type ByteLevelBpeOptions,
} from "./bpe.js";
export {
  initHfModel,
  presetModel,
  randomWeights,
  MODEL_PRESETS,
  PRESET_NAMES,
  ARCHITECTURE_NAMES,
  INIT_STD,
  type InitOptions,
  type PresetName,
} from "./init.js";
export {
  saveLoraAdapter,
  loadLoraAdapter,
  mergeLoraAdapter,
  adapterConfigJson,
  toPeftName,
  fromPeftName,
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type LoraAdapter,
  type LoraAdapterConfig,
} from "./lora-adapter.js";
export {
  exportGguf,
  ggufTensorName,
  permuteForLlamaRope,
  type ExportGgufOptions,
  type GgufExportModel,
} from "./hf-to-gguf.js";
export { tokenizerMetadata, tokenizerKind, pieceScores } from "./gguf-tokenizer.js";
export { loadGgufTokenizer, tokenizerFilesFromGguf, scoreMerges, PRE_TOKENIZERS } from "./gguf-vocab.js";
