export {
  readSourceRows,
  SOURCE_FORMATS,
  type SourceFormat,
  type ReadSourceOptions,
  type SourceReject,
} from "./read-source.js";
export {
  toDpoRow,
  toDpoConversationalRow,
  toKtoRows,
  toKtoConversationalRows,
  toDpoMultiRow,
  toLlamaFactoryDpoRow,
  toLlamaFactoryKtoRows,
  llamaFactoryDatasetInfo,
  type WithProvenance,
  type DpoRow,
  type DpoConversationalRow,
  type KtoRow,
  type KtoConversationalRow,
  type DpoMultiRow,
  type RejectedProvenance,
  type KtoOptions,
  type ShareGptTurn,
  type LlamaFactoryDpoRow,
  type LlamaFactoryKtoRow,
  type LlamaFactoryDatasetEntry,
} from "./training-rows.js";
export type { SourceRow, Provenance, NegativeRecord } from "./types.js";
export { spreadByPrompt, countWindowConflicts, type SpreadOptions, type Spread } from "./kto-order.js";
