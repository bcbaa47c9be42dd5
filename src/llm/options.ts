/**
 * @deprecated Transitional: the model flags moved to src/cli/model-options.ts (commander code
 * belongs in cli/) and the model opener to ./open-model.ts. The eval and demo commands still import
 * from here; once they use cli/model-options.ts and zod ranges, delete this file.
 */
import { InputError } from "../errors.js";

export { addModelOptions, modelFromOptions } from "../cli/model-options.js";
export type { ModelFromOptions } from "./open-model.js";

/** @deprecated let the options schema check ranges (z.number().int().positive()). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError("command line", undefined, undefined, `expected a positive integer, got "${value}"`);
  return n;
}

/** @deprecated let the options schema check ranges (z.number().int().min(0)). */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InputError("command line", undefined, undefined, `expected a non-negative integer, got "${value}"`);
  return n;
}
