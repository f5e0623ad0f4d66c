"""A deterministic OpenAI-compatible model server that plays a scripted reasoning trace.

Run: ``python -m tests.support.scripted_upstream --port N`` (127.0.0.1 only; ``--list-model ID``,
repeatable, adds ids to ``GET /v1/models`` beside ``scripted``; ``--chat-template FILE`` serves it
at ``GET /props`` as llama.cpp does, else /props is 404 as on llama-cpp-python; ``--think-open`` and
``--think-close`` make it write other tags than ``<think>`` and ``</think>``). The scenario comes
from the request's ``model``: ``scripted`` followed by slash-separated ``key=value`` options, e.g.
``scripted/shape=inline/chunking=awkward/unsafe-step=2/id=t1``:

- ``shape`` [reasoning_content]: ``reasoning_content`` | ``reasoning`` | ``inline`` | ``content``
- ``steps`` [5]; ``unsafe-step`` [none]: comma-separated 1-based indices of unsafe steps
- ``sentences`` [1]: sentences per step (the first as with 1, then "Step i, sentence k goes on
  calmly."); ``unsafe-sentence`` [1]: the sentence of an unsafe step that says UNSAFE
- ``unsafe-resamples`` [0]: steered continuations (per ``id``) that are still unsafe
- ``chunking`` [token]: ``whole`` | ``token`` | ``awkward`` (random 1..7 characters, ``\\n\\n``
  and a tag always split once; each SSE event also written in two pieces cut inside a multi-byte
  UTF-8 character; a sentence end ". " is cut before and after its space)
- ``done`` [1]: 0 ends the stream without ``data: [DONE]``; ``pace-ms`` [0]: sleep between chunks
- ``cut-after`` [none]: end the body cleanly after this many events, with no ``finish_reason``
  and no ``data: [DONE]`` (a server that stopped mid-generation, e.g. on a worker restart)
- ``fail`` [none]: answer with this HTTP status and an OpenAI error body
- ``reject-continue`` [0]: 1 answers chat requests carrying ``continue_final_message`` or
  ``add_generation_prompt`` with 422 (like ``transformers serve``); a 4xx number, with that status
- ``ignore-continue`` [0]: 1 ignores those flags like llama-cpp-python: a final assistant message
  is closed and a new turn starts (``usage.prompt_tokens`` counts NEW_TURN_TOKENS more, and the
  generation starts afresh instead of continuing the message)
- ``id`` [default]: scenario instance for the resample counter
- ``prompt-options`` [0]: 1 merges the options written in the prompt as
  ``[[scripted:key=value/key=value]]`` (in any message, or the raw completions prompt) over the
  model's, so one model name can serve a prompt set whose prompts behave differently
- ``unsafe-seeds`` [all]: comma-separated seeds; a request whose ``seed`` is not among them plays
  no unsafe step (a request without a seed plays them), so k seeded samples of one prompt differ
- ``safe-prefix`` [none]: comma-separated words; a steering prefix is finished safely only when it
  contains one of them (case-insensitive), else unsafely (``unsafe-resamples`` is then ignored)
- ``logprobs`` [0]: 1 makes ``/v1/completions`` answer a request's ``logprobs`` (and ``echo``):
  the log-probability of a token is ``-0.1 * (1 + w)`` where w counts the words between the last
  blank line before it and the token, across prompt and completion; so a steering prefix of
  w words makes every token of the step after it ``0.1 * w`` less likely
- ``judge`` [0]: 1 answers a chat request with the content ``unsafe`` when its last user message
  contains ``UNSAFE``, else ``safe`` (an LLM judge stand-in)

Continuations (chat ``continue_final_message`` with a final assistant message, or
``/v1/completions`` whose prompt holds ``<|im_start|>assistant\\n`` + PREFILL) continue PREFILL:
its complete steps are kept, a trailing incomplete step (a steering prefix, after the sentences of
that step already accepted, if any) is finished safely (or unsafely while ``unsafe-resamples``
lasts), the steps after the dropped one follow, then the answer.
Test hooks: ``GET /_stats``, ``GET /_requests``, ``POST /_reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from tests.support.scripted_script import (
    ASSISTANT_START,
    TOKEN_RE,
    Scenario,
    ScenarioError,
    State,
    Unit,
    effective,
    plan,
    scripted_logprob,
    split_chunks,
    text_of,
    wire_pieces,
)

# What llama-cpp-python's ChatML template adds when it closes an assistant message and opens a
# new turn: <|im_end|>, "\n", <|im_start|>, "assistant", "\n".
NEW_TURN_TOKENS = 5


@dataclass
class Reply:
    chat: bool
    model: str
    chunks: list[Unit]
    finish: str
    reasoning_field: str | None  # where reasoning goes in a chat reply; None: in content
    prompt_tokens: int
    id: str = field(default_factory=lambda: f"scripted-{uuid.uuid4().hex[:16]}")
    logprobs_of: str | None = None  # the completions prompt, when logprobs are to be sent
    echo: str | None = None  # the prompt, echoed before the completion
    created: int = field(default_factory=lambda: int(time.time()))

    def usage(self, completion: int) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion}

    def _field(self, channel: str) -> str:
        if channel == "reasoning" and self.reasoning_field:
            return self.reasoning_field
        return "content"

    def _chunk(self, payload: dict[str, Any] | None, finish: str | None = None,
               usage: dict[str, int] | None = None) -> dict[str, Any]:
        choices: list[dict[str, Any]] = []
        if payload is not None:
            choice = {"index": 0, "logprobs": None, "finish_reason": finish}
            choices.append({**choice, "delta": payload} if self.chat
                           else {**choice, "text": payload.get("content", "")})
        obj: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created, "model": self.model, "choices": choices}
        if usage is not None:
            obj["usage"] = usage
        return obj

    def events(self, include_usage: bool, continuous: bool) -> Iterator[dict[str, Any]]:
        sent = 0
        if self.chat:
            yield self._chunk({"role": "assistant", "content": ""},
                              usage=self.usage(0) if continuous else None)
        lps = self._logprobs()
        if self.echo:
            yield self._with_logprobs(self._chunk({"content": self.echo}), lps, 0,
                                      len(TOKEN_RE.findall(self.echo)))
        start = len(TOKEN_RE.findall(self.echo)) if self.echo else 0
        for channel, text in self.chunks:
            sent += 1
            chunk = self._chunk({self._field(channel): text},
                                usage=self.usage(sent) if continuous else None)
            yield self._with_logprobs(chunk, lps, start + sent - 1, start + sent)
        yield self._chunk({}, self.finish, usage=self.usage(sent) if continuous else None)
        if include_usage:
            yield self._chunk(None, usage=self.usage(sent))

    def whole(self) -> dict[str, Any]:
        """The non-streaming ChatCompletion or Completion."""
        parts: dict[str, str] = {"content": ""}
        if self.reasoning_field:
            parts[self.reasoning_field] = ""
        for channel, text in self.chunks:
            parts[self._field(channel)] += text
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": self.finish}
        if self.logprobs_of is not None:
            parts["content"] = (self.echo or "") + parts["content"]
            choice["logprobs"] = self._logprobs()
        if self.chat:
            choice["message"] = {"role": "assistant", **{k: v or None for k, v in parts.items()}}
        else:
            choice["text"] = parts["content"]
        return {"id": self.id, "object": "chat.completion" if self.chat else "text_completion",
                "created": self.created, "model": self.model, "choices": [choice],
                "usage": self.usage(len(self.chunks))}


    def _logprobs(self) -> dict[str, Any] | None:
        """Token logprobs of the echoed prompt (if any) and the completion, by the scripted rule."""
        if self.logprobs_of is None:
            return None
        prompt = self.logprobs_of
        tokens = (TOKEN_RE.findall(self.echo) if self.echo else []) + [t for _, t in self.chunks]
        full = prompt + "".join(t for _, t in self.chunks)
        offset = 0 if self.echo else len(prompt)
        offsets: list[int] = []
        logprobs: list[float | None] = []
        for token in tokens:
            offsets.append(offset)
            logprobs.append(scripted_logprob(full, offset))
            offset += len(token)
        if self.echo and logprobs:
            logprobs[0] = None
        return {"tokens": tokens, "token_logprobs": logprobs, "text_offset": offsets,
                "top_logprobs": [None if lp is None else {t: lp}
                                 for t, lp in zip(tokens, logprobs, strict=True)]}

    @staticmethod
    def _with_logprobs(chunk: dict[str, Any], lps: dict[str, Any] | None, lo: int,
                       hi: int) -> dict[str, Any]:
        if lps is not None and chunk["choices"]:
            chunk["choices"][0]["logprobs"] = {k: v[lo:hi] for k, v in lps.items()}
        return chunk


def judge_reply(body: dict[str, Any]) -> Response:
    """The ``judge=1`` scenario: ``unsafe`` when the last user message says UNSAFE."""
    users = [m for m in body.get("messages") or [] if isinstance(m, dict)
             and m.get("role") == "user"]
    verdict = "unsafe" if users and "UNSAFE" in text_of(users[-1].get("content")) else "safe"
    reply = Reply(True, str(body.get("model")), [("content", verdict)], "stop", None, 0)
    if not body.get("stream"):
        return JSONResponse(reply.whole())
    events = [f"data: {json.dumps(e)}\n\n" for e in reply.events(False, False)]
    return StreamingResponse(iter([*events, "data: [DONE]\n\n"]), media_type="text/event-stream")


class TrackedStream(StreamingResponse):
    """An SSE stream that counts itself as completed or cancelled (client went away) on exit."""

    def __init__(self, events: Iterator[dict[str, Any]], sc: Scenario, state: State) -> None:
        self.state = state
        self.finished = False
        self._gen = self._body(events, sc)
        super().__init__(self._gen, media_type="text/event-stream")

    async def _body(self, events: Iterator[dict[str, Any]], sc: Scenario) -> AsyncIterator[bytes]:
        split = sc.chunking == "awkward"
        try:
            for sent, event in enumerate(events):
                if sent == sc.cut_after:
                    return  # finished stays False: the client sees a cut, not a whole reply
                for piece in wire_pieces(f"data: {json.dumps(event, ensure_ascii=False)}\n\n",
                                         split):
                    yield piece
                await asyncio.sleep(sc.pace_ms / 1000)
            if sc.done:
                yield b"data: [DONE]\n\n"
            self.finished = True
        except (asyncio.CancelledError, GeneratorExit):
            self.finished = False  # the client disconnected mid-stream
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stats = self.state.stats
        stats["opened"] += 1
        stats["active"] += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._gen.aclose()
            stats["active"] -= 1
            stats["completed" if self.finished else "cancelled"] += 1


def error_response(status: int, message: str) -> JSONResponse:
    kind = "server_error" if status >= 500 else {429: "rate_limit_error"}.get(
        status, "invalid_request_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": None,
                                   "code": status}}, status_code=status)


def create_app(models: Sequence[str] = (), props_template: str | None = None,
               tags: tuple[str, str] = ("<think>", "</think>")) -> FastAPI:
    app = FastAPI(title="scripted upstream")
    state = State()

    def ours(text: str) -> str:
        """A prefill or prompt with this server's think tags read as the script's own."""
        return text.replace(tags[1], "</think>").replace(tags[0], "<think>")

    def theirs(units: list[Unit]) -> list[Unit]:
        return [(ch, text.replace("<think>", tags[0]).replace("</think>", tags[1]))
                for ch, text in units]

    async def serve(request: Request, chat: bool) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "the body is not JSON")
        state.requests.append({"path": request.url.path, "body": body,
                               "headers": dict(request.headers)})
        if not isinstance(body, dict):
            return error_response(400, "the body must be a JSON object")
        try:
            sc = Scenario.parse(str(body.get("model", "")))
        except ScenarioError as exc:
            return error_response(400, str(exc))
        if sc.fail is not None:
            return error_response(sc.fail, f"scripted failure with status {sc.fail}")
        try:
            sc = effective(sc, body)
        except ScenarioError as exc:
            return error_response(400, str(exc))
        if chat and sc.judge:
            return judge_reply(body)
        if chat:
            if sc.reject_continue and ({"continue_final_message", "add_generation_prompt"}
                                       & body.keys()):
                return error_response(sc.reject_continue, "unknown fields: continue_final_message")
            messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
            prompt_words = sum(len(text_of(m.get("content")).split()) for m in messages)
            prefill = None
            ends_assistant = bool(messages) and messages[-1].get("role") == "assistant"
            if sc.ignore_continue and ends_assistant:
                prompt_words += NEW_TURN_TOKENS  # the end of turn and the new header
            elif body.get("continue_final_message") and ends_assistant:
                prefill = ours(text_of(messages[-1].get("content")))
            units = plan(sc, prefill, sc.shape in ("inline", "content"), state)
        else:
            raw = body.get("prompt", "")
            prompt = raw[0] if isinstance(raw, list) and raw else raw
            prompt = ours(prompt) if isinstance(prompt, str) else ""
            prompt_words = len(prompt.split())
            prefill = prompt.rsplit(ASSISTANT_START, 1)[1] if ASSISTANT_START in prompt else None
            units = plan(sc, prefill, True, state)
        chunks = split_chunks(theirs(units), sc.chunking)
        finish = "stop"
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(limit, int) and 0 < limit < len(chunks):
            chunks, finish = chunks[:limit], "length"
        field_name = sc.shape if chat and sc.shape in ("reasoning_content", "reasoning") else None
        reply = Reply(chat, str(body["model"]), chunks, finish, field_name, prompt_words)
        if not chat and sc.logprobs and body.get("logprobs") is not None:
            reply.echo = prompt if body.get("echo") else None
            reply.logprobs_of = prompt
        if not body.get("stream"):
            return JSONResponse(reply.whole())
        options = body.get("stream_options") or {}
        events = reply.events(bool(options.get("include_usage")),
                              bool(options.get("continuous_usage_stats")))
        return TrackedStream(events, sc, state)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await serve(request, chat=True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        return await serve(request, chat=False)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list",
                "data": [{"id": model, "object": "model", "owned_by": "tests"}
                         for model in ("scripted", *models)]}

    @app.get("/props")
    async def props() -> Response:
        if props_template is None:
            return error_response(404, "no such route")
        return JSONResponse({"chat_template": props_template, "bos_token": "<s>",
                             "eos_token": "<|im_end|>"})

    @app.get("/healthz")
    @app.get("/health")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_stats")
    async def stats() -> dict[str, int]:
        return state.stats

    @app.get("/_requests")
    async def requests() -> list[dict[str, Any]]:
        return state.requests

    @app.post("/_reset")
    async def reset() -> dict[str, str]:
        state.reset()
        return {"status": "reset"}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--list-model", action="append", default=[],
                        help="another id for GET /v1/models (repeatable)")
    parser.add_argument("--chat-template", type=Path, help="a Jinja file served at GET /props")
    parser.add_argument("--think-open", default="<think>", help="the tag that opens thinking")
    parser.add_argument("--think-close", default="</think>", help="the tag that closes it")
    args = parser.parse_args(argv)
    template = args.chat_template.read_text() if args.chat_template else None
    app = create_app(args.list_model, template, (args.think_open, args.think_close))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
