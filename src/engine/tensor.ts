/**
 * Tensor with its methods bound to the ops and the backward pass. The class lives in tensor-core.ts,
 * below ops.ts and autograd.ts, so that no two files import each other; import it from here.
 */
import { backward } from "./autograd.js";
import { add, div, matmul, mean, mul, permute, reshape, sub, sum, transpose } from "./ops.js";
import { bindTensorMethods } from "./tensor-core.js";

bindTensorMethods({ backward, reshape, permute, transpose, add, sub, mul, div, matmul, sum, mean });

export {
  Tensor,
  tensor,
  scalar,
  zeros,
  ones,
  full,
  randn,
  uniform,
  noGrad,
  isGradEnabled,
  sizeOf,
  formatShape,
  type Node,
} from "./tensor-core.js";
