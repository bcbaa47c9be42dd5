export {
  BUILTIN_ERROR_TYPES,
  builtinErrorTypes,
  loadErrorTypes,
  findErrorType,
  type BuiltinErrorType,
  type ErrorType,
} from "./error-types.js";
