"""An in-process OpenAI-compatible server for the continuation tests, on 127.0.0.1.

Its ``usage.prompt_tokens`` count as a ChatML template would: each message is a header (3), its
words, and an end of turn (2); the generation prompt is 3 more. How a chat request with a final
assistant message and ``continue_final_message: true`` is treated depends on the model's name:

- ``continues`` (or any other name): the message is continued (no end of turn, no new header);
- ``new-turn``: the flags are ignored, as llama-cpp-python does: the message is closed and a new
  turn is opened;
- ``refuses``: the flags get 422, as ``transformers serve`` answers;
- ``broken``: every chat call gets 500;
- ``no-usage``: answers carry no ``usage``.

A message containing ``TOO LONG`` gets 400 as an over-long prompt would, whatever the model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

HEADER, END, GENERATION_PROMPT = 3, 2, 3


@dataclass
class FakeUpstream:
    models: list[str]
    props: dict[str, Any] | None = None  # what GET /props answers; None: 404
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    base_url: str = ""

    def posts(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.requests if p == path]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/props", self._props)
        return app

    async def _models(self, request: web.Request) -> web.Response:
        self.requests.append(("/v1/models", {}))
        return web.json_response({"object": "list", "data": [{"id": m} for m in self.models]})

    async def _props(self, request: web.Request) -> web.Response:
        self.requests.append(("/props", {}))
        if self.props is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(self.props)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(("/v1/chat/completions", body))
        model = body.get("model")
        messages = body["messages"]
        if model == "broken":
            return _error(500, "the server broke")
        if any("TOO LONG" in m["content"] for m in messages):
            return _error(400, "this model's maximum context length is exceeded")
        flags = "continue_final_message" in body or "add_generation_prompt" in body
        if model == "refuses" and flags:
            return _error(422, "Unexpected fields in the request")
        continued = (model != "new-turn" and bool(body.get("continue_final_message"))
                     and messages[-1]["role"] == "assistant")
        tokens = sum(HEADER + len(m["content"].split()) + END for m in messages)
        tokens += -END if continued else GENERATION_PROMPT
        return await _answer(request, body, {"delta": {"content": " more"}},
                             {"message": {"role": "assistant", "content": "more"}},
                             None if model == "no-usage" else tokens)

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(("/v1/completions", body))
        return await _answer(request, body, {"text": " more"}, {"text": "more"},
                             len(body["prompt"].split()))


async def _answer(request: web.Request, body: dict[str, Any], delta: dict[str, Any],
                  whole: dict[str, Any], tokens: int | None) -> web.StreamResponse:
    usage = None if tokens is None else {"prompt_tokens": tokens, "completion_tokens": 1,
                                         "total_tokens": tokens + 1}
    if not body.get("stream"):
        answer: dict[str, Any] = {"choices": [{"index": 0, "finish_reason": "length", **whole}]}
        if usage is not None:
            answer["usage"] = usage
        return web.json_response(answer)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    for chunk in ({"choices": [{"index": 0, **delta}]},
                  {"choices": [{"index": 0, "finish_reason": "stop", **delta}]}):
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}},
                             status=status)


@asynccontextmanager
async def serving(fake: FakeUpstream) -> AsyncIterator[FakeUpstream]:
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("/v1"))
    try:
        yield fake
    finally:
        await server.close()
