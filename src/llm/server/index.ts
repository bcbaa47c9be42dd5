/** `seapo serve`'s server: OpenAI-compatible completions and chat over the engine provider. */
export { startServer, type RunningServer, type ServeOptions } from "./server.js";
export { serveModel, type ServeModelOptions } from "./open.js";
