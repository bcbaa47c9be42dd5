export * from "./errors.js";
export type * from "./llm/provider.js";
export type * from "./data/types.js";
