import type { ChildProcess } from "node:child_process";
import { startCli, type CliResult } from "./cli.js";

/** A running `seapo serve` process (the built CLI) and the base URL it printed as its first line. */
export interface ServeProcess {
  baseURL: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  done: Promise<CliResult>;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<CliResult>;
}

export async function startServe(args: string[], timeoutMs = 30_000): Promise<ServeProcess> {
  const { child, done } = startCli(["serve", "--port", "0", ...args]);
  let stdout = "";
  const baseURL = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`seapo serve printed no URL in ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const newline = stdout.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, newline));
      }
    });
    void done.then((r) => {
      clearTimeout(timer);
      reject(new Error(`seapo serve exited (${r.code}) before printing a URL: ${r.stderr}`));
    });
  });
  return {
    baseURL,
    child,
    done,
    stop: () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return done;
    },
  };
}

/** POST a JSON body; the status and the parsed reply. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the reply as the server sent it
export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}
