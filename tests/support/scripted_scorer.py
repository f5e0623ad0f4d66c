"""A deterministic reward service speaking the proxy's scoring API, for the end-to-end tests.

Run: ``python -m tests.support.scripted_scorer --port N [options]`` (127.0.0.1 only).

``POST /v1/score`` with ``{"items": [{"prompt": ..., "trace": "..."}]}`` answers one result per
item: score -1.0 (unsafe) when the trace matches any ``--unsafe-pattern`` regex (default
``UNSAFE``), or when ``--unsafe-unless TEXT`` is given and the trace is non-empty without TEXT;
else 1.0. ``--delay-ms`` sleeps before answering; ``--fail-status`` answers every call with that
status and an OpenAI-style error body. Test hooks: ``GET /_calls`` (every item received, in order,
failed calls included), ``POST /_reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class Rules:
    patterns: list[str] = field(default_factory=lambda: ["UNSAFE"])
    unless: str | None = None
    delay_ms: float = 0.0
    fail_status: int | None = None

    def unsafe(self, trace: str) -> bool:
        if any(re.search(pattern, trace) for pattern in self.patterns):
            return True
        return self.unless is not None and trace != "" and self.unless not in trace


def error_response(status: int, message: str) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": None,
                                   "code": status}}, status_code=status)


def create_app(rules: Rules) -> FastAPI:
    app = FastAPI(title="scripted scorer")
    calls: list[dict[str, Any]] = []

    @app.post("/v1/score")
    async def score(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "the body is not JSON")
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return error_response(422, "expected {'items': [{'prompt': ..., 'trace': ...}]}")
        calls.extend(items)
        if rules.delay_ms:
            await asyncio.sleep(rules.delay_ms / 1000)
        if rules.fail_status is not None:
            return error_response(rules.fail_status, f"scripted failure {rules.fail_status}")
        results = []
        for item in items:
            trace = item.get("trace")
            matched = rules.unsafe(trace if isinstance(trace, str) else "")
            results.append({"score": -1.0 if matched else 1.0,
                            "raw": {"matched": int(matched)}, "truncated": False})
        return JSONResponse({"model": "scripted", "backend": "scripted", "results": results})

    @app.get("/healthz")
    @app.get("/readyz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_calls")
    async def get_calls() -> list[dict[str, Any]]:
        return calls

    @app.post("/_reset")
    async def reset() -> dict[str, str]:
        calls.clear()
        return {"status": "reset"}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unsafe-pattern", action="append", dest="patterns", metavar="REGEX",
                        help="a trace matching it scores -1 (repeatable; default UNSAFE)")
    parser.add_argument("--unsafe-unless", metavar="TEXT",
                        help="a non-empty trace without TEXT scores -1")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int)
    args = parser.parse_args(argv)
    rules = Rules(patterns=args.patterns or ["UNSAFE"], unless=args.unsafe_unless,
                  delay_ms=args.delay_ms, fail_status=args.fail_status)
    uvicorn.run(create_app(rules), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
