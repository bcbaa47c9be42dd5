import { readFileSync } from "node:fs";

/**
 * A stand-in for a hosted Batch API: it sends each request line of a batch file to a real server
 * (the body as written, to `url` under the server's root) and returns the result lines in the
 * OpenAI Batch output shape {id, custom_id, response: {status_code, request_id, body}, error},
 * in the order of the input.
 */
export async function answerBatchFile(requestFile: string, serverUrl: string): Promise<string[]> {
  const lines = readFileSync(requestFile, "utf8").split("\n").filter(Boolean);
  const results: string[] = [];
  for (const [n, text] of lines.entries()) {
    const request = JSON.parse(text) as { custom_id: string; method: string; url: string; body: unknown };
    const reply = await fetch(`${serverUrl}${request.url}`, {
      method: request.method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request.body),
    });
    const body = (await reply.json()) as unknown;
    const ok = reply.status === 200;
    results.push(
      JSON.stringify({
        id: `batch_req_${n}`,
        custom_id: request.custom_id,
        response: { status_code: reply.status, request_id: `req_${n}`, body },
        error: ok ? null : { code: "server_error", message: `HTTP ${reply.status}` },
      }),
    );
  }
  return results;
}
