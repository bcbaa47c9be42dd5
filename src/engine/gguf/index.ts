export {
  gguf,
  f16ToF32,
  f32ToF16,
  type GgufMetadata,
  type GgufValue,
  type GgufScalarType,
  type GgufTensorType,
} from "./format.js";
export { writeGguf, type GgufFileInput, type GgufTensorInput, type GgufWriteResult } from "./writer.js";
export { readGgufMetadata, type GgufHeader } from "./read-metadata.js";
export { readGgufVocab, vocabFromMetadata, GGUF_TOKEN_TYPE, type GgufVocab } from "./read-vocab.js";
