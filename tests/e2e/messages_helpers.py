"""What the ``POST /v1/messages`` tests share: the anthropic SDK's view of an answer (``Seen``),
one request made the SDK's three ways (``ask``), and the stream as it is on the wire."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx
from anthropic.types import Message

from tests.support.procs import ServerProcess

QUESTION = [{"role": "user", "content": "How do I make the thing?"}]
THINKING = {"type": "enabled", "budget_tokens": 2048}


def sdk_client(proxy: ServerProcess) -> Iterator[anthropic.Anthropic]:
    """The anthropic SDK on ``proxy``, no retries: what a module's ``client`` fixture yields."""
    with anthropic.Anthropic(base_url=proxy.url, api_key="unused", max_retries=0) as client:
        yield client


@dataclass
class Seen:
    """What a client got: the blocks as (type, text, signature), and everything it could read."""

    blocks: list[tuple[str, str, str | None]] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    everything: str = ""  # every event and field, as JSON

    def texts(self, kind: str) -> list[str]:
        return [text for block_kind, text, _ in self.blocks if block_kind == kind]


def of_message(message: Message) -> Seen:
    blocks = [(b.type, b.thinking if b.type == "thinking" else b.text,  # type: ignore[union-attr]
               getattr(b, "signature", None)) for b in message.content]
    return Seen(blocks, message.stop_reason, message.usage.model_dump(exclude_none=True),
                dict((message.model_extra or {}).get("safethink") or {}),
                message.model_dump_json())


def of_events(events: Iterable[Any]) -> Seen:
    seen = Seen()
    dumps = []
    for event in events:
        dumps.append(event.model_dump_json())
        if event.type == "content_block_start":
            block = event.content_block
            seen.blocks.append((block.type, "", None))
        elif event.type == "content_block_delta":
            kind, text, sig = seen.blocks[event.index]
            delta = event.delta
            if delta.type == "thinking_delta":
                text += delta.thinking
            elif delta.type == "text_delta":
                text += delta.text
            elif delta.type == "signature_delta":
                sig = delta.signature
            seen.blocks[event.index] = (kind, text, sig)
        elif event.type == "message_delta":
            seen.stop_reason = event.delta.stop_reason
            seen.usage = event.usage.model_dump(exclude_none=True)
            seen.report = dict((event.model_extra or {}).get("safethink") or {})
    seen.everything = "\n".join(dumps)
    return seen


def ask(client: anthropic.Anthropic, way: str, model: str, **kwargs: Any) -> Seen:
    """One request, the SDK's way ``way``: create, create(stream=True), or stream()."""
    kwargs = {"model": model, "messages": QUESTION, "max_tokens": 4096, "thinking": THINKING,
              **kwargs}
    if way == "create":
        return of_message(client.messages.create(**kwargs))
    if way == "create_stream":
        with client.messages.create(**kwargs, stream=True) as events:
            return of_events(events)
    with client.messages.stream(**kwargs) as stream:
        seen = of_events(stream)
        final = of_message(stream.get_final_message())
    # the SDK's own accumulation gives the same blocks, and no more
    assert final.blocks == seen.blocks and final.stop_reason == seen.stop_reason
    assert "UNSAFE" not in final.everything
    return seen


def signed(thinking: str) -> str:
    return "safethink-sha256:" + hashlib.sha256(thinking.encode()).hexdigest()


def raw_events(proxy: ServerProcess, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The stream as it is on the wire: (event name, data) of each SSE event."""
    out = []
    with httpx.stream("POST", proxy.url + "/v1/messages", json={**body, "stream": True},
                      headers=headers, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for frame in response.read().decode().split("\n\n"):
            if not frame.strip():
                continue
            name_line, data_line = frame.split("\n")
            assert name_line.startswith("event: ") and data_line.startswith("data: ")
            out.append((name_line[7:], json.loads(data_line[6:])))
    return out
