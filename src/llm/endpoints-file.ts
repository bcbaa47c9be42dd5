/**
 * The `--endpoints FILE` format (YAML or JSON): a list of endpoints, each with its url and
 * optionally model, weight, max-concurrency and api-key-env, either bare or under `endpoints:`.
 * Also the start-up check that each endpoint serves the model it is declared with.
 */
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { InputError } from "../errors.js";
import type { EndpointSpec } from "./endpoint-pool.js";

const endpointEntrySchema = z.strictObject({
  url: z.url(),
  model: z.string().min(1).optional(),
  weight: z.number().positive().default(1),
  "max-concurrency": z.number().int().positive().optional(),
  "api-key-env": z.string().min(1).optional(),
});

const endpointsFileSchema = z.union([
  z.array(endpointEntrySchema).min(1),
  z.strictObject({ endpoints: z.array(endpointEntrySchema).min(1) }),
]);

/** What the command line gives every endpoint the file leaves a field out of. */
export interface EndpointDefaults {
  model: string | undefined;
  maxConcurrency: number;
  apiKeyEnv: string;
}

/** Read synchronously: it is small, and the model flags are turned into a choice without awaiting. */
export function readEndpointsFile(file: string, defaults: EndpointDefaults): EndpointSpec[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(file, undefined, undefined, `cannot read the endpoints file (${(error as Error).message})`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new InputError(file, first.linePos?.[0]?.line, undefined, `not valid YAML/JSON: ${first.message}`);
  }
  const parsed = endpointsFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    // The union reports its last branch; the issues of the branch whose shape matches are clearer.
    const issue = deepestIssue(parsed.error);
    const node = doc.getIn(issue.path as Array<string | number>, true) as { range?: [number, number] } | undefined;
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    throw new InputError(file, line, issue.path.join(".") || undefined, issue.message, "each endpoint needs a url");
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.endpoints;
  return entries.map((entry, i) => {
    const model = entry.model ?? defaults.model;
    if (!model)
      throw new InputError(file, undefined, `${i}.model`, "no model for this endpoint", "give model: or --model");
    return {
      url: entry.url.replace(/\/+$/, ""),
      model,
      weight: entry.weight,
      maxConcurrency: entry["max-concurrency"] ?? defaults.maxConcurrency,
      apiKey: process.env[entry["api-key-env"] ?? defaults.apiKeyEnv],
    };
  });
}

function deepestIssue(error: z.ZodError): { path: PropertyKey[]; message: string } {
  const issue = error.issues[0]!;
  if (issue.code !== "invalid_union") return issue;
  const branches = (issue as { errors?: Array<Array<{ path: PropertyKey[]; message: string }>> }).errors ?? [];
  const all = branches.flat().map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
  return all.sort((a, b) => b.path.length - a.path.length)[0] ?? issue;
}

/**
 * Asks each endpoint's /models which models it serves and refuses one that does not serve its
 * declared model: a run must not mix two models' answers. An endpoint that cannot be asked
 * (down, or without /models) is kept with a warning; the pool cools it down if it stays down.
 */
export async function checkServedModels(
  endpoints: readonly EndpointSpec[],
  source: string,
  warn: (message: string) => void,
): Promise<void> {
  await Promise.all(
    endpoints.map(async (endpoint) => {
      const served = await listModels(endpoint).catch((error: Error) => error);
      if (served instanceof Error)
        return warn(`${endpoint.url}: could not list its models (${served.message}); not checked`);
      if (served.includes(endpoint.model)) return;
      throw new InputError(
        source,
        undefined,
        endpoint.url,
        `serves ${served.length ? served.join(", ") : "no model"}, not the declared "${endpoint.model}"`,
        "point every endpoint at a server of the same model, or correct its model:",
      );
    }),
  );
}

const modelListSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

async function listModels(endpoint: EndpointSpec): Promise<string[]> {
  const reply = await fetch(`${endpoint.url}/models`, {
    headers: endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
  if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
  const parsed = modelListSchema.safeParse(await reply.json());
  if (!parsed.success) throw new Error("the reply is not an OpenAI model list");
  return parsed.data.data.map((model) => model.id);
}
