"""Answering a guarded request, whatever its API: stream it, or assemble it whole.

Every way a request can end records its outcome exactly once: completed, error, or cancelled
(the client left: before the first event, while a step was scored, during a resample, or after
the guarded steps). The finish is written under a shield inside the Recorder, so a cancellation
cannot cut it short. Each generator in the chain is closed with ``aclosing`` where it is
consumed, so the upstream call it holds is closed before the request's finish, not by the
garbage collector after it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from proxy.api import forward
from proxy.api.bodies import read_json
from proxy.api.errors import validation_error
from proxy.api.schemas import ModelRequest
from proxy.api.streams import EventStream
from proxy.appstate import state_of
from proxy.auth import require_client
from proxy.catalog import Route
from proxy.engine.events import Event
from proxy.engine.policies import Plan, resolve
from proxy.engine.steering import SteeringEngine
from proxy.exceptions import SafeThinkError
from proxy.settings import Settings

T = TypeVar("T")
M = TypeVar("M", bound=ModelRequest)


@dataclass(frozen=True)
class Incoming(Generic[M]):
    """A model request, read, validated and given its plan: what both APIs start from."""

    settings: Settings  # its model's, with its caller's grant (proxy/catalog.py, keys.py)
    body: dict[str, Any]  # as it goes upstream: ``safethink`` removed, ``stream`` validated
    parsed: M
    plan: Plan
    request_id: str
    headers: dict[str, str]
    route: Route  # its model's server, and what serves it there
    key: str | None = None  # the name of the caller's key, if it has one


async def accept(request: Request, schema: type[M]) -> Incoming[M]:
    caller = await require_client(request)
    state = state_of(request)
    app = state.settings
    body = await read_json(request, app.max_body_bytes, app.body_read_timeout_s)
    try:
        parsed = schema.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    route = state.catalog.route(parsed.model, caller)
    settings = state.catalog.settings_for(route, caller)
    plan = resolve(settings, parsed, request.headers.get("x-safethink-policy"))
    request_id = uuid.uuid4().hex
    headers = {"x-safethink-request-id": request_id, "x-safethink-policy": plan.policy}
    body.pop("safethink", None)
    body["stream"] = parsed.stream  # the validated value: "false" is not a request to stream
    return Incoming(settings, body, parsed, plan, request_id, headers, route, caller.name)


async def begin(engine: SteeringEngine, incoming: Incoming[Any]) -> None:
    """The request's first audit write, from what ``accept`` found (every API's)."""
    parsed = incoming.parsed
    await engine.recorder.begin(incoming.plan, parsed.model, parsed.stream, key=incoming.key)


async def relay(request: Request, path: str, incoming: Incoming[Any]) -> Response:
    """Policy ``none``: the request as it came, the answer as it comes."""
    metrics = state_of(request).metrics
    metrics.requests.labels(model=incoming.route.label, policy="none", outcome="forwarded").inc()
    return await forward.post(request, path, incoming.body, incoming.headers,
                              incoming.parsed.stream, incoming.route.upstream)


class ClientLeft(Exception):
    """The client closed its connection before the answer started."""


class Wire(Protocol):
    """How one client API writes what the engine gives: the stream, the whole body, an error.
    Each API module brings one (render.py: chat and completions)."""

    def stream(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> AsyncGenerator[bytes, None]:
        """The SSE bytes, one write a batch; an error raised by ``batches`` after the stream
        started is written in-band, in the API's own format, and ends the stream."""
        ...

    async def assemble(
        self, engine: SteeringEngine, batches: AsyncIterator[list[Event]]
    ) -> dict[str, Any]:
        """The whole answer (a non-streaming request)."""
        ...

    def error(self, exc: SafeThinkError, headers: dict[str, str]) -> Response:
        """An error before anything was sent, in the API's envelope."""
        ...


async def respond(
    request: Request, engine: SteeringEngine, *, stream: bool, headers: dict[str, str],
    wire: Wire,
) -> Response:
    if stream:
        return await _streaming(request, engine, headers, wire)
    return await _complete(request, engine, headers, wire)


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """``work``'s result, unless the client goes away first: then ``work`` is cancelled (and
    awaited) and ClientLeft is raised."""
    working = asyncio.ensure_future(work)
    leaving = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({working, leaving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, leaving):
            task.cancel()
        await asyncio.gather(working, leaving, return_exceptions=True)
    if working.cancelled():
        raise ClientLeft
    return working.result()


async def _complete(
    request: Request, engine: SteeringEngine, headers: dict[str, str], wire: Wire
) -> Response:
    """Assemble the whole answer, unless the client goes away first: then stop at once."""

    async def whole() -> dict[str, Any]:
        async with aclosing(engine.events()) as events:
            return await wire.assemble(engine, events)

    try:
        body = await until_disconnect(request, whole())
    except BaseException as exc:
        return await _failed(engine, exc, headers, wire)
    await _finish(engine, "completed")
    report = engine.result.report
    headers |= {
        "x-safethink-steps-scored": str(report["steps_scored"]),
        "x-safethink-steers": str(report["steers"]),
        "x-safethink-violations": str(report["violations"]),
    }
    return JSONResponse(body, headers=headers)


async def _streaming(
    request: Request, engine: SteeringEngine, headers: dict[str, str], wire: Wire
) -> Response:
    """Start the stream before answering, so that an upstream error keeps its HTTP status."""
    events = engine.events()
    try:
        first = await until_disconnect(request, anext(events))
    except BaseException as exc:
        await events.aclose()
        return await _failed(engine, exc, headers, wire)

    async def replay() -> AsyncGenerator[list[Event], None]:
        yield first
        async for batch in events:
            yield batch

    metrics = state_of(request).metrics

    async def body() -> AsyncGenerator[bytes, None]:
        metrics.active_streams.inc()
        outcome = "cancelled"
        try:
            async with (
                aclosing(replay()) as batches,
                aclosing(wire.stream(engine, batches)) as chunks,
            ):
                async for data in chunks:
                    yield data
            outcome = "error" if engine.result.error else "completed"
        finally:
            metrics.active_streams.dec()
            await events.aclose()
            await _finish(engine, outcome)

    return EventStream(body(), headers)


async def _failed(
    engine: SteeringEngine, exc: BaseException, headers: dict[str, str], wire: Wire
) -> Response:
    """What a request gets when it failed before its answer started, its outcome recorded:
    499 when the client left (nobody is there to read it), the API's error for ours; anything
    else goes on up (a bug: the 500 handler; a cancellation: the server's)."""
    left = isinstance(exc, ClientLeft) or not isinstance(exc, Exception)
    await _finish(engine, "cancelled" if left else "error")
    if isinstance(exc, ClientLeft):
        return Response(status_code=499)
    if isinstance(exc, SafeThinkError):
        return wire.error(exc, headers)
    raise exc


async def _disconnected(request: Request) -> None:
    """Return when the client closes the connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _finish(engine: SteeringEngine, outcome: str) -> None:
    await engine.recorder.finish(engine.result.report, outcome, engine.result.finish_reason)
