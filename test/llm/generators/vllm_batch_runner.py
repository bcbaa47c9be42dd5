"""A stand-in for `vllm run-batch` that checks and answers seapo's batch request files.

It re-implements, from vLLM's source (vllm/entrypoints/openai/run_batch.py at commit 0056ae7b,
classes BatchRequestInput, BatchResponseData and BatchRequestOutput), what run-batch reads and
writes: each input line is {custom_id: str, method: str, url: str, body}, where url
/v1/chat/completions makes body a ChatCompletionRequest (messages required); each output line is
{id, custom_id, response: {status_code, request_id, body}, error}. The reply is the original answer
of seapo's injection prompt with its first number raised by 7 (as test/helpers/scripted-injector.ts
does), so the pipeline gets real rewrites back.

usage: /usr/bin/python3 vllm_batch_runner.py INPUT.jsonl OUTPUT.jsonl
"""
import json
import re
import sys
import uuid


def check_input(line_number, request):
    for field in ("custom_id", "method", "url"):
        if not isinstance(request.get(field), str):
            raise SystemExit(f"line {line_number}: {field} must be a string")
    if request["url"] != "/v1/chat/completions":
        raise SystemExit(f"line {line_number}: only /v1/chat/completions is answered here")
    body = request.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise SystemExit(f"line {line_number}: body must be a chat completion request with messages")
    for message in body["messages"]:
        if message.get("role") not in ("system", "user", "assistant") or not isinstance(message.get("content"), str):
            raise SystemExit(f"line {line_number}: a message needs a role and string content")


def rewrite(prompt):
    match = re.search(r"### Original answer\n([\s\S]*?)\n\n### Rewritten answer", prompt)
    answer = match.group(1) if match else "answer 1"
    return re.sub(r"\d+", lambda m: str(int(m.group(0)) + 7), answer, count=1)


def answer(request):
    body = request["body"]
    content = rewrite(body["messages"][-1]["content"])
    completion = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": len(content.split()), "total_tokens": 50 + len(content.split())},
    }
    return {
        "id": f"vllm-{uuid.uuid4().hex}",
        "custom_id": request["custom_id"],
        "response": {"status_code": 200, "request_id": f"vllm-batch-{uuid.uuid4().hex}", "body": completion},
        "error": None,
    }


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as lines, open(target, "w", encoding="utf-8") as out:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            request = json.loads(text)
            check_input(number, request)
            out.write(json.dumps(answer(request)) + "\n")


if __name__ == "__main__":
    main()
