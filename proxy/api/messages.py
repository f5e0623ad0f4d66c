"""``POST /v1/messages``: Anthropic's Messages API, guarded by the chat engine.

The request is translated into a chat completions body (the upstream is spoken to in chat
completions, whatever the client speaks) and steered like any chat request; messages_wire.py
writes the engine's events back as Anthropic's message and stream events.

Translation:
- ``system`` (a string or text blocks) becomes a system message first; ``messages`` keep their
  order. Text blocks of one turn are joined with a blank line; a turn with an image becomes
  OpenAI content parts (``image`` with a ``base64`` or ``url`` source -> ``image_url``).
- ``thinking`` and ``redacted_thinking`` blocks of earlier assistant turns are dropped: the
  model's past reasoning is not sent back, and a returned signature is never trusted.
- ``max_tokens`` (required, as Anthropic requires) bounds each upstream call; ``temperature``,
  ``top_p``, ``top_k`` pass on; ``stop_sequences`` becomes ``stop``; ``metadata`` is ignored.
- ``thinking`` is accepted (``enabled`` with ``budget_tokens``, ``disabled``, ``adaptive``) and
  changes nothing: whatever it says, a model that reasons has its guarded reasoning returned as
  thinking blocks, and ``budget_tokens`` is not enforced (``max_tokens`` is).
- What cannot be translated is a 400 in Anthropic's envelope: tools (``tools``,
  ``tool_choice``, ``tool_use`` and ``tool_result`` blocks), documents and other block types,
  images in assistant turns, image sources other than ``base64`` and ``url``.
Other fields are ignored. Under policy ``none`` the engine runs too (nothing is held or
steered): an upstream's chat completion stream is never relayed as a Messages stream.

Errors, from the body's validation to the admission 503, are rendered in Anthropic's envelope
``{"type": "error", "error": {"type", "message"}}`` by ``error_response`` (messages_wire.py;
proxy/app.py maps this path to it).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from proxy.api.chat import chat_engine
from proxy.api.messages_wire import MessagesWire
from proxy.api.messages_wire import error_response as error_response  # app.py's renderer
from proxy.api.schemas import ModelRequest
from proxy.api.serving import accept, begin, respond
from proxy.exceptions import RequestError, UnsupportedFeature

PATH = "/v1/messages"


class Turn(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class Thinking(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _budget_when_enabled(self) -> Thinking:
        if self.type == "enabled" and self.budget_tokens is None:
            raise ValueError("budget_tokens is required when thinking.type is 'enabled'")
        return self


class MessagesRequest(ModelRequest):
    """``POST /v1/messages``. Strict, as Anthropic is: ``"max_tokens": "5"`` is a 400."""

    model_config = ConfigDict(extra="allow", strict=True)

    max_tokens: int = Field(ge=1)
    messages: list[Turn] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    stop_sequences: list[str] | None = None
    metadata: dict[str, Any] | None = None
    thinking: Thinking | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None


async def create_message(request: Request) -> Response:
    """Mounted as a plain Starlette route, as chat is (see app.py)."""
    incoming = await accept(request, MessagesRequest)
    parsed = incoming.parsed
    engine = chat_engine(request, incoming, chat_body(parsed))
    await begin(engine, incoming)
    return await respond(request, engine, stream=parsed.stream, headers=incoming.headers,
                         wire=MessagesWire(parsed.model))


def chat_body(request: MessagesRequest) -> dict[str, Any]:
    """The chat completions body of a Messages request, or a 400 that says what cannot be."""
    if request.tools or request.tool_choice is not None:
        raise _invalid("tools" if request.tools else "tool_choice",
                       "tools are not supported on /v1/messages by this proxy; "
                       "use /v1/chat/completions", UnsupportedFeature)
    messages: list[dict[str, Any]] = []
    if (system := _system(request.system)) is not None:
        messages.append({"role": "system", "content": system})
    for index, turn in enumerate(request.messages):
        content = _content(turn.role, turn.content, f"messages.{index}.content")
        messages.append({"role": turn.role, "content": content})
    body: dict[str, Any] = {"model": request.model, "messages": messages,
                            "max_tokens": request.max_tokens, "stream": request.stream}
    for name in ("temperature", "top_p", "top_k"):
        if (value := getattr(request, name)) is not None:
            body[name] = value
    if request.stop_sequences:
        body["stop"] = request.stop_sequences
    return body


def _system(system: str | list[dict[str, Any]] | None) -> str | None:
    if system is None or isinstance(system, str):
        return system or None
    texts = []
    for index, block in enumerate(system):
        if block.get("type") != "text":
            raise _invalid(f"system.{index}.type", "system blocks must be text blocks")
        texts.append(_text(block, f"system.{index}"))
    return "\n\n".join(texts) or None


def _content(role: str, content: str | list[dict[str, Any]], where: str) -> Any:
    """A turn's content as chat completions takes it: a string, or parts when it has images."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for index, block in enumerate(content):
        at = f"{where}.{index}"
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": _text(block, at)})
        elif kind in ("thinking", "redacted_thinking") and role == "assistant":
            continue  # past reasoning is not sent back (module docstring)
        elif kind == "image" and role == "user":
            parts.append(_image(block, at))
        elif kind in ("tool_use", "tool_result"):
            raise _invalid(f"{at}.type", f"{kind} blocks are not supported on /v1/messages by "
                           "this proxy (no tools); use /v1/chat/completions", UnsupportedFeature)
        else:
            raise _invalid(f"{at}.type", f"a content block of type {kind!r} is not supported in "
                           f"a {role} turn (supported: text, image in user turns, thinking in "
                           "assistant turns)")
    if all(part["type"] == "text" for part in parts):
        return "\n\n".join(part["text"] for part in parts)
    return parts


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise _invalid(f"{where}.text", "must be a string")
    return text


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        media, data = source.get("media_type"), source.get("data")
        if isinstance(media, str) and isinstance(data, str):
            return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    elif kind == "url" and isinstance(source, dict) and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise _invalid(f"{where}.source",
                   "an image's source must be {type: base64, media_type, data} or {type: url, url}")


def _invalid(param: str, problem: str, kind: type[RequestError] = RequestError) -> RequestError:
    # Anthropic's envelope has no ``param``: the message says where, as validation errors do.
    return kind(f"invalid request at {param}: {problem}", param=param)
