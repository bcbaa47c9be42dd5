// The sandbox lives in ./sandbox/; this file keeps the import path the rest of eval uses.
export * from "./sandbox/index.js";
