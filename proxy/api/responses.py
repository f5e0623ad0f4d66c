"""``POST /v1/responses``: OpenAI's Responses API, guarded by the chat engine.

The request becomes a chat-completions body (``instructions`` a system message first, the input
items messages, ``max_output_tokens`` ``max_tokens``), the upstream is spoken to in chat
completions as for ``/v1/chat/completions``, and ``responses_wire`` writes the engine's events
back as a ``response``. Under every policy, ``none`` included, the same engine runs (with
``none`` nothing is held or steered): the upstream does not speak this API, so there is nothing
to relay.

The proxy keeps no responses, so ``previous_response_id``, ``conversation``, ``store: true`` and
``background: true`` get a 400 that says so; so do tools (none are passed through), structured
``text.format`` and ``top_logprobs`` (the text is re-segmented and resampled). ``reasoning``
(``effort``...) is accepted and echoed, not forwarded: chat servers do not agree on its name.
Reasoning items in ``input`` (a previous response's output sent back) are dropped, as chat
templates drop earlier thinking. ``developer`` turns are sent as ``system``, which every chat
template knows.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from proxy.api.chat import chat_engine
from proxy.api.responses_wire import ResponsesWire
from proxy.api.schemas import ModelRequest
from proxy.api.serving import accept, begin, respond
from proxy.exceptions import RequestError

_ITEM_TYPES = ("message", "reasoning")


class InputText(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["input_text", "output_text"]  # output_text: an assistant turn sent back
    text: str


class Refusal(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["refusal"]
    refusal: str


class InputImage(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: str = "auto"


Part = Annotated[InputText | Refusal | InputImage, Field(discriminator="type")]


class InputMessage(BaseModel):
    """A turn; ``type`` may be left out, as the SDK's ``EasyInputMessage`` does."""

    model_config = ConfigDict(extra="allow")

    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[Part]


class ReasoningInput(BaseModel):
    """A reasoning item of an earlier response: accepted, not sent upstream."""

    model_config = ConfigDict(extra="allow")

    type: Literal["reasoning"]


def _item_type(value: Any) -> str:
    found = value.get("type", "message") if isinstance(value, dict) else getattr(value, "type", "")
    return str(found)


InputItem = Annotated[
    Annotated[InputMessage, Tag("message")] | Annotated[ReasoningInput, Tag("reasoning")],
    Discriminator(_item_type),
]


class ResponsesRequest(ModelRequest):
    """``POST /v1/responses``: the fields the proxy acts on; others are ignored."""

    input: list[InputItem] = Field(min_length=1)  # a string is one user turn
    instructions: str | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    # OpenAI's bounds: 16 pairs, keys up to 64 characters, values up to 512
    metadata: dict[Annotated[str, Field(max_length=64)],
                   Annotated[str, Field(max_length=512)]] | None = Field(None, max_length=16)
    reasoning: dict[str, Any] | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    store: bool | None = None
    background: bool | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    top_logprobs: int | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _known_items(cls, value: Any) -> Any:
        # Said here, by name, rather than as pydantic's union errors.
        if isinstance(value, str):
            return [{"type": "message", "role": "user", "content": value}]
        if not isinstance(value, list):
            raise ValueError("input must be a string or a list of input items")
        for index, item in enumerate(value):
            kind = _item_type(item)
            if kind not in _ITEM_TYPES:
                raise ValueError(
                    f"input[{index}] is a {kind!r} item: the proxy passes no tools through, "
                    f"and takes only {' and '.join(_ITEM_TYPES)} items"
                )
        return value


def refuse_unsupported(request: ResponsesRequest) -> None:
    """What the proxy cannot honour is a 400 naming it, never silently dropped."""
    keeps = "the SafeThink proxy keeps no responses"
    refused: list[tuple[str, bool, str]] = [
        ("previous_response_id", request.previous_response_id is not None,
         f"{keeps}: send the whole conversation in input instead"),
        ("conversation", request.conversation is not None,
         f"{keeps}: send the whole conversation in input instead"),
        ("store", request.store is True, f"{keeps}: leave store out or set it to false"),
        ("background", request.background is True,
         f"{keeps}, so it cannot run one in the background: stream it instead"),
        ("tools", bool(request.tools), "tools are not passed through on /v1/responses; "
         "use /v1/chat/completions, where tool calls pass through"),
        ("tool_choice", request.tool_choice not in (None, "auto", "none"),
         "there are no tools to choose on /v1/responses"),
        ("text.format", _format_type(request.text) not in (None, "text"),
         "structured output is not supported on /v1/responses; use /v1/chat/completions"),
        ("top_logprobs", bool(request.top_logprobs), "logprobs are not supported: the proxy "
         "re-segments and resamples the text, so the upstream's logprobs would not match it"),
    ]
    for param, asked, why in refused:
        if asked:
            raise RequestError(f"{param} is not supported: {why}", param=param)


def _format_type(text: dict[str, Any] | None) -> Any:
    fmt = (text or {}).get("format")
    return fmt.get("type") if isinstance(fmt, dict) else fmt


def chat_body(request: ResponsesRequest) -> dict[str, Any]:
    """The chat-completions body the engine sends upstream."""
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    messages += [_message(item, index) for index, item in enumerate(request.input)
                 if isinstance(item, InputMessage)]
    if not any(message["role"] != "system" for message in messages):
        raise RequestError("input has no user or assistant turn to answer", param="input")
    body: dict[str, Any] = {"model": request.model, "messages": messages,
                            "stream": request.stream}
    for name, value in (("max_tokens", request.max_output_tokens),
                        ("temperature", request.temperature), ("top_p", request.top_p)):
        if value is not None:
            body[name] = value
    return body


def _message(item: InputMessage, index: int) -> dict[str, Any]:
    role = "system" if item.role == "developer" else item.role
    if isinstance(item.content, str):
        return {"role": role, "content": item.content}
    parts = [_part(part, f"input[{index}].content[{at}]") for at, part in enumerate(item.content)]
    if all(part["type"] == "text" for part in parts):
        # one string: every chat template reads it, not all read text parts
        return {"role": role, "content": "".join(part["text"] for part in parts)}
    return {"role": role, "content": parts}


def _part(part: InputText | Refusal | InputImage, where: str) -> dict[str, Any]:
    if isinstance(part, InputText):
        return {"type": "text", "text": part.text}
    if isinstance(part, Refusal):
        return {"type": "text", "text": part.refusal}
    if part.image_url is None:
        raise RequestError(
            f"{where}: an image by file_id cannot be served (the proxy has no files); "
            "send it as image_url (a URL or a data: URL)",
            param=f"{where}.file_id",
        )
    return {"type": "image_url", "image_url": {"url": part.image_url, "detail": part.detail}}


def echoed(request: ResponsesRequest) -> dict[str, Any]:
    """The request's fields that the response object repeats."""
    return {
        "model": request.model,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "metadata": request.metadata or {},
        "reasoning": request.reasoning or {"effort": None, "summary": None},
        "parallel_tool_calls": False,
        "tool_choice": request.tool_choice or "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
        "previous_response_id": None,
        "store": False,
        "background": False,
        "truncation": "disabled",
    }


async def responses(request: Request) -> Response:
    """Mounted as a plain Starlette route (see app.py), as chat completions is."""
    incoming = await accept(request, ResponsesRequest)
    parsed = incoming.parsed
    refuse_unsupported(parsed)
    engine = chat_engine(request, incoming, chat_body(parsed))
    await begin(engine, incoming)
    wire = ResponsesWire(incoming.request_id, echoed(parsed))
    return await respond(request, engine, stream=parsed.stream, headers=incoming.headers,
                         wire=wire)
