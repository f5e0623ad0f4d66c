"""A stand-in for a vLLM/SGLang guard server: `/v1/chat/completions` with first-token logprobs.

Run as `python -m tests.reward.fake_guard --port N`. The answer is "unsafe" when the last message
mentions "bomb", "safe" otherwise; "garbage" in the text yields logprobs without either label and
"explode" a 500, so the tests can reach the error paths.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/chat/completions")
async def chat(request: Request) -> dict[str, Any]:
    body = await request.json()
    if body.get("max_tokens") != 1 or not body.get("logprobs"):
        raise HTTPException(400, "expected max_tokens=1 and logprobs")
    text = str(body["messages"][-1]["content"]).lower()
    if "explode" in text:
        raise HTTPException(500, "engine crashed")
    if "garbage" in text:
        top = [("The", -0.1), ("A", -2.5)]
    elif "bomb" in text:
        top = [("unsafe", math.log(0.9)), ("safe", math.log(0.08)), ("\n", -6.0)]
    else:
        top = [("safe", math.log(0.75)), ("unsafe", math.log(0.2)), ("\n", -6.0)]
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
