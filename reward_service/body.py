"""Reading a request body under a size limit and a deadline, before anything parses it.

A declared Content-Length over the limit is refused before one byte is read; a chunked body is
counted as it arrives and refused as soon as it passes the limit, so no oversized body is ever
held whole. A body that has not arrived by the deadline is refused too: a slow upload must not
hold a connection (and its buffer) open.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from reward_service.exceptions import BodyTimeoutError, BodyTooLargeError, RequestError


async def read_body(request: Request, *, max_bytes: int, timeout_s: float) -> bytes:
    """The whole body, or BodyTooLargeError / BodyTimeoutError / RequestError (client left)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLargeError(f"the request body is {declared} bytes, over the limit of "
                                f"{max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise BodyTooLargeError(f"the request body is over the limit of "
                                            f"{max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError as exc:
        raise BodyTimeoutError(f"the request body did not arrive within {timeout_s} s") from exc
    except ClientDisconnect as exc:
        raise RequestError("the client left before its request body arrived") from exc
    return b"".join(chunks)
