"""The bench's synthetic servers: an OpenAI-style upstream, a scorer, and the floor.

- the upstream (raw asyncio HTTP/1.1) streams OpenAI chat chunks: ``CHUNKS`` chunks, the first
  half ``delta.reasoning_content`` (steps of ``STEP_CHUNKS`` chunks separated by a blank line,
  each step five sentences, see ``reasoning_chunk``), the rest ``delta.content``, then a finish
  chunk and ``data: [DONE]``. The requested model picks the pacing: ``bench-p0`` unpaced,
  ``bench-p5`` one chunk every 5 ms;
- the scorer answers ``POST /v1/score`` with a score of 1.0 for every item, after ``delay_ms``
  (0 by default: an instant scorer; a real score call takes some ms);
- the floor is a minimal Starlette/uvicorn + httpx proxy that parses and re-serialises every SSE
  event: the cheapest Python proxy that reads every chunk.

Each runs in its own process, started by ``python -m bench.proxy_bench serve-...``
(``run_server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

CHUNKS = 200  # text chunks per stream (plus a finish chunk and [DONE])
# Reasoning chunks (tokens) per step: a reasoning model's first paragraph is 50-150 tokens.
STEP_CHUNKS = 50
# The positions in a step of the chunks that end a sentence inside it (". "): sentences of 8, 10,
# 10, 10 and 12 chunks (a reasoning model's sentences run 10-25 tokens), each over the 16
# characters below which sentence release merges a unit with the next.
SENTENCE_ENDS = (7, 17, 27, 37)
FIRST_SENTENCE_CHUNKS = SENTENCE_ENDS[0] + 1
PACINGS = {"unpaced": 0.0, "paced-5ms": 5.0}


def model_name(pace_ms: float) -> str:
    return f"bench-p{pace_ms:g}"


def pace_of(model: str) -> float:
    _, _, tail = model.rpartition("-p")
    try:
        return float(tail)
    except ValueError:
        return 0.0


# -- a minimal HTTP/1.1 server on raw asyncio (upstream and scorer) ---------------------------


class HttpRequest:
    __slots__ = ("body", "method", "path")

    def __init__(self, method: str, path: str, body: bytes) -> None:
        self.method = method
        self.path = path
        self.body = body


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """One request off a keep-alive connection; None when the peer closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        for _ in range(100_000):  # bounded: request bodies here are a few chunks
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(part[:-2] for part in parts)
    else:
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
    return HttpRequest(method, path, body)


def json_response(obj: Any, status: str = "200 OK") -> bytes:
    data = json.dumps(obj).encode()
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}"
    return head.encode() + b"\r\n\r\n" + data


def sse_event(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def http_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def reasoning_chunk(i: int) -> str:
    r"""Reasoning chunk ``i``: a word, then a space, a sentence end (". ") or a step end
    (".\n\n"), so a step reads "thought0 ... thought7. thought8 ... thought49.\n\n"."""
    position = i % STEP_CHUNKS
    if position == STEP_CHUNKS - 1:
        return f"thought{i}.\n\n"
    return f"thought{i}. " if position in SENTENCE_ENDS else f"thought{i} "


_STREAMS: dict[str, list[bytes]] = {}


def stream_events(model: str) -> list[bytes]:
    """The HTTP chunks of one stream for ``model`` (built once, then reused)."""
    if model in _STREAMS:
        return _STREAMS[model]
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    events: list[bytes] = []
    half = CHUNKS // 2
    for i in range(CHUNKS):
        delta: dict[str, Any]
        if i < half:
            delta = {"reasoning_content": reasoning_chunk(i)}
        else:
            delta = {"content": f"answer{i} "}
        if i == 0:
            delta = {"role": "assistant", **delta}
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}
        events.append(sse_event({**base, "choices": [choice]}))
    finish = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    events.append(sse_event({**base, "choices": [finish]}))
    events.append(b"data: [DONE]\n\n")
    _STREAMS[model] = [http_chunk(event) for event in events]
    return _STREAMS[model]


def completion(model: str) -> dict[str, Any]:
    half = CHUNKS // 2
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "".join(f"answer{i} " for i in range(half, CHUNKS)),
                    "reasoning_content": "thought",
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": CHUNKS, "total_tokens": CHUNKS + 10},
    }


async def serve_upstream_request(request: HttpRequest, writer: asyncio.StreamWriter) -> None:
    if request.method == "GET" and request.path.rstrip("/").endswith("/models"):
        models = [{"id": model_name(p), "object": "model"} for p in PACINGS.values()]
        writer.write(json_response({"object": "list", "data": models}))
        return
    if request.method != "POST" or not request.path.endswith("/chat/completions"):
        writer.write(json_response({"error": {"message": "not found"}}, "404 Not Found"))
        return
    body = json.loads(request.body)
    model = str(body.get("model", "bench-p0"))
    if not body.get("stream"):
        writer.write(json_response(completion(model)))
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    pace = pace_of(model) / 1000.0
    start = time.perf_counter()
    for i, chunk in enumerate(stream_events(model)):
        if pace and 0 < i <= CHUNKS:  # chunk i leaves at start + i * pace
            delay = start + i * pace - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        writer.write(chunk)
        await writer.drain()
    writer.write(b"0\r\n\r\n")


async def serve_scorer_request(
    request: HttpRequest, writer: asyncio.StreamWriter, delay_s: float = 0.0
) -> None:
    if request.method == "POST" and request.path.startswith("/v1/score"):
        if delay_s:
            await asyncio.sleep(delay_s)
        items = json.loads(request.body).get("items") or [{}]
        result = {"score": 1.0, "raw": {}, "truncated": False}
        answer = {"model": "bench", "backend": "bench", "results": [result] * len(items)}
        writer.write(json_response(answer))
    else:
        writer.write(json_response({"status": "ok"}))


async def serve(port: int, kind: str, delay_ms: float = 0.0) -> None:
    async def handler(request: HttpRequest, writer: asyncio.StreamWriter) -> None:
        if kind == "upstream":
            await serve_upstream_request(request, writer)
        else:
            await serve_scorer_request(request, writer, delay_ms / 1000.0)

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(1_000_000):  # keep-alive, bounded
                request = await read_request(reader)
                if request is None:
                    break
                await handler(request, writer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# -- the floor: a minimal Python proxy that reads every SSE event --------------------------


def floor_app(upstream: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    holder: dict[str, httpx.AsyncClient] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
        async with httpx.AsyncClient(timeout=600.0, limits=limits) as client:
            holder["client"] = client
            yield

    async def chat(request: Request) -> Response:
        client = holder["client"]
        body = json.loads(await request.body())
        upstream_request = client.build_request(
            "POST",
            upstream + "/chat/completions",
            json=body,
            headers={"accept-encoding": "identity"},
        )
        response = await client.send(upstream_request, stream=True)
        if not body.get("stream") or response.status_code != 200:
            content = await response.aread()
            await response.aclose()
            return Response(content, response.status_code, media_type="application/json")

        async def relay() -> AsyncIterator[bytes]:
            buffer = b""
            try:
                async for raw in response.aiter_raw():
                    buffer += raw
                    while (end := buffer.find(b"\n\n")) >= 0:
                        event, buffer = buffer[:end], buffer[end + 2 :]
                        if not event.startswith(b"data: "):
                            continue
                        payload = event[6:]
                        if payload == b"[DONE]":
                            yield b"data: [DONE]\n\n"
                        else:
                            yield sse_event(json.loads(payload))
            finally:
                await response.aclose()

        return StreamingResponse(relay(), media_type="text/event-stream")

    async def health(_: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    routes = [Route("/v1/chat/completions", chat, methods=["POST"]), Route("/healthz", health)]
    return Starlette(routes=routes, lifespan=lifespan)


def run_server(kind: str, port: int, upstream: str = "", delay_ms: float = 0.0) -> None:
    """Serve ``kind`` (upstream, scorer or floor) on 127.0.0.1:``port`` until stopped; the
    scorer answers after ``delay_ms``."""
    if kind == "floor":
        import uvicorn

        uvicorn.run(
            floor_app(upstream),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port, kind, delay_ms))
