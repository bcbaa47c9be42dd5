import type { EngineModelOptions } from "../engine.js";
import { startServer, type RunningServer, type ServeOptions } from "./server.js";

export interface ServeModelOptions extends Omit<ServeOptions, "engine" | "modelName"> {
  model: EngineModelOptions;
  /** Default: the model folder's name. */
  modelName?: string;
}

/** Loads a Hugging Face folder (and adapter) on the engine and serves it; the engine is imported only here, as it is heavy. */
export async function serveModel(options: ServeModelOptions): Promise<RunningServer & { modelName: string }> {
  const { openEngine } = await import("../engine.js");
  const engine = await openEngine(options.model);
  const modelName = options.modelName ?? folderName(options.model.dir);
  return { ...(await startServer({ ...options, engine, modelName })), modelName };
}

function folderName(dir: string): string {
  return (
    dir
      .replace(/[\\/]+$/, "")
      .split(/[\\/]/)
      .pop() || dir
  );
}
