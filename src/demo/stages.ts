/** Timed stages: each is logged when it starts and ends, and its wall time goes into results.json. */
import type { DemoResults } from "./results.js";

export type Stage = <T>(name: string, work: () => Promise<T> | T) => Promise<T>;

export function stageTimer(log: (line: string) => void): { stage: Stage; timings: DemoResults["timings"] } {
  const timings: DemoResults["timings"] = [];
  const stage: Stage = async (name, work) => {
    const started = Date.now();
    log(`▶ ${name}`);
    const result = await work();
    const seconds = (Date.now() - started) / 1000;
    timings.push({ stage: name, seconds });
    log(`  ${name}: ${seconds.toFixed(1)} s`);
    return result;
  };
  return { stage, timings };
}
