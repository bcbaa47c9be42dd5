export { writeFileAtomic, AtomicLineWriter } from "./atomic.js";
export { hashKey, stableStringify } from "./hash.js";
export { Journal } from "./journal.js";
export { readJsonLines, readJsonEntries, readRecords, toJsonLines, type JsonEntry } from "./jsonl.js";
