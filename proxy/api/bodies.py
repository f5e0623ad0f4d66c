"""Reading a request body as JSON, bounded in size and in time.

Whatever a client sends, the answer is a 4xx in OpenAI's envelope, never a 500: a body over
``max_body_bytes`` is 413 (before a byte is parsed when Content-Length says so), one that does
not arrive within ``body_read_timeout_s`` is 408, and JSON that Python can parse but nothing
downstream can use is 400: nesting deep enough to exhaust the parser's recursion, and lone UTF-16
surrogates (``"\\ud800"``), which no UTF-8 encoder, and so no upstream call, can carry.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import Request

from proxy.exceptions import PayloadTooLarge, RequestError, RequestTimeout


async def read_json(request: Request, limit: int, timeout_s: float) -> dict[str, Any]:
    """The body as a JSON object, read no further than ``limit`` bytes, within ``timeout_s``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
    try:
        async with asyncio.timeout(timeout_s):
            raw = await _read(request, limit)
    except TimeoutError as exc:
        raise RequestTimeout(f"the request body did not arrive within {timeout_s:g}s") from exc
    return parse_object(raw)


async def _read(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except RecursionError as exc:
        raise RequestError("the request body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    try:
        # The upstream call encodes the body the same way; a failure here is the client's.
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise RequestError(
            "the request body holds a lone UTF-16 surrogate (such as \\ud800), "
            "which is not text"
        ) from exc
    except RecursionError as exc:
        raise RequestError("the request body is nested too deeply") from exc
    return body
