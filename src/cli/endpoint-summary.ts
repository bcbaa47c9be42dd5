import type { EndpointStats, OpenedModel } from "../llm/index.js";

/** Per-endpoint counts of the models that talk to servers, keyed by role, or undefined when none does. */
export function endpointsByRole(
  models: Record<string, OpenedModel | undefined>,
): Record<string, EndpointStats[]> | undefined {
  const entries = Object.entries(models).flatMap(([role, model]) =>
    model?.endpointStats ? [[role, model.endpointStats()] as const] : [],
  );
  return entries.length ? Object.fromEntries(entries) : undefined;
}

/** One summary line per endpoint: requests, errors, cool-downs, latency and tokens. */
export function endpointLines(endpoints: Record<string, EndpointStats[]> | undefined): string[] {
  return Object.entries(endpoints ?? {}).flatMap(([role, list]) =>
    list.map(
      (e) =>
        `${role} ${e.url} (weight ${e.weight}): ${e.requests} requests, ${e.errors} errors, ${e.cooldowns} cool-downs · ` +
        `latency p50 ${e.latencyMs.p50} ms, p95 ${e.latencyMs.p95} ms · tokens in ${e.tokens.input} out ${e.tokens.output}`,
    ),
  );
}
