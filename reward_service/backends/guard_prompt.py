"""A guard's prompt for one item: the request's turns, then the trace as the assistant's turn.

Shared by `llama-guard` (which tokenises the text itself) and `openai-guard` in completions mode
(which sends the text to a serving engine). A renderer is the guard's chat template applied with
its generation prompt; it comes from a tokenizer directory or from a Jinja file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import TemplateError

from reward_service.backends.base import PreparedItem

Renderer = Callable[[list[dict[str, Any]]], str]


def guard_turns(item: PreparedItem, trace: str | None = None) -> list[dict[str, str]]:
    """The request's turns with the trace as (the end of) the assistant turn, guard-style."""
    trace = item.trace if trace is None else trace
    turns = [{"role": role, "content": text} for role, text in item.turns]
    if trace and turns and turns[-1]["role"] == "assistant":
        turns[-1] = {"role": "assistant", "content": turns[-1]["content"] + trace}
    elif trace:
        turns.append({"role": "assistant", "content": trace})
    return turns


def render_guard_prompt(render: Renderer, item: PreparedItem, trace: str | None = None) -> str:
    """The guard's prompt text for `item` (with `trace` in place of the item's own, if given)."""
    return render(guard_turns(item, trace))


def settle_content_format(render: Renderer) -> Renderer:
    """`render`, or, for a template that wants content as a list of text parts (Llama-Guard-3-1B),
    `render` over such parts: tried once on a sample conversation, when the guard is loaded."""
    sample = [{"role": "user", "content": "Hello."}, {"role": "assistant", "content": "Hi."}]
    try:
        render(sample)
        return render
    except (TemplateError, TypeError):
        pass

    def render_parts(turns: list[dict[str, Any]]) -> str:
        return render([{**t, "content": [{"type": "text", "text": t["content"]}]} for t in turns])

    try:
        render_parts(sample)
    except (TemplateError, TypeError):
        return render  # neither works on the sample: each item's error says why
    return render_parts


def tokenizer_renderer(tokenizer: Any) -> Renderer:
    """The chat template of a transformers tokenizer."""

    def render(turns: list[dict[str, Any]]) -> str:
        return str(tokenizer.apply_chat_template(turns, tokenize=False,
                                                 add_generation_prompt=True))

    return render


def jinja_renderer(template: str) -> Renderer:
    """A chat template given as Jinja text (a guard's template file, or the one in a GGUF).

    Special tokens are unknown here, so `{{ bos_token }}` renders empty: what a completions
    server wants, since it adds BOS itself when it tokenises the prompt."""
    from transformers.utils.chat_template_utils import render_jinja_template

    def render(turns: list[dict[str, Any]]) -> str:
        rendered: Any = render_jinja_template([turns], chat_template=template,
                                              add_generation_prompt=True)
        # transformers returns (conversations, generation indices), or older: a list or str.
        if isinstance(rendered, tuple):
            rendered = rendered[0]
        if isinstance(rendered, list):
            rendered = rendered[0]
        return str(rendered)

    return render
