"""A stand-in for a vLLM/SGLang guard server: `/v1/chat/completions` and `/v1/completions` with
first-token logprobs, each in its endpoint's own shape.

Run as `python -m tests.reward.fake_guard --port N`. The answer is "unsafe" when the last message
(or the prompt) mentions "bomb", "safe" otherwise; "garbage" in the text yields logprobs without
either label and "explode" a 500, so the tests can reach the error paths. The real-server
counterpart is llama-cpp-python (tests/e2e/test_openai_guard_llama_cpp.py).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request

app = FastAPI()
# The last prompt /v1/completions received, so a test can check how the guard's prompt was built.
LAST_PROMPT: list[str] = [""]


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/last-prompt")
async def last_prompt() -> dict[str, str]:
    return {"prompt": LAST_PROMPT[0]}


def _top(text: str) -> list[tuple[str, float]]:
    text = text.lower()
    if "explode" in text:
        raise HTTPException(500, "engine crashed")
    if "garbage" in text:
        return [("The", -0.1), ("A", -2.5)]
    if "bomb" in text:
        return [("unsafe", math.log(0.9)), ("safe", math.log(0.08)), ("\n", -6.0)]
    return [("safe", math.log(0.75)), ("unsafe", math.log(0.2)), ("\n", -6.0)]


async def _body(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = await request.json()
    if body.get("max_tokens") != 1 or not body.get("logprobs"):
        raise HTTPException(400, "expected max_tokens=1 and logprobs")
    return body


@app.post("/v1/completions")
async def completions(request: Request) -> dict[str, Any]:
    body = await _body(request)
    LAST_PROMPT[0] = str(body["prompt"])
    top = _top(LAST_PROMPT[0])
    logprobs = {"tokens": [top[0][0]], "token_logprobs": [top[0][1]], "text_offset": [0],
                "top_logprobs": [dict(top)]}
    return {"id": "x", "object": "text_completion", "model": body["model"],
            "choices": [{"index": 0, "text": top[0][0], "logprobs": logprobs,
                         "finish_reason": "length"}]}


@app.post("/v1/chat/completions")
async def chat(request: Request) -> dict[str, Any]:
    body = await _body(request)
    top = _top(str(body["messages"][-1]["content"]))
    entry = {"token": top[0][0], "logprob": top[0][1],
             "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}
    return {"id": "x", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": top[0][0]},
                         "logprobs": {"content": [entry]}, "finish_reason": "length"}]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
