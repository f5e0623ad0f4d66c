"""Chat templates for ``completions`` continuation mode.

Where the server cannot continue an assistant message itself, the proxy renders the prompt with
the model's own chat template and sends it raw to ``/v1/completions``. The template comes from,
in order: ``SAFETHINK_CHAT_TEMPLATE`` (a Jinja file, e.g. the one stored in a GGUF file), or the
tokenizer named by ``SAFETHINK_TOKENIZER`` or else by the request's model, loaded offline from a
local directory or the Hugging Face cache (never downloaded at run time).

Reasoning templates (DeepSeek-R1, Qwen3 and kin) rewrite or drop the thinking part of assistant
messages, so the partial assistant text is never passed through the template: the conversation
is rendered with its generation prompt, and the raw assistant text (the thinking opener unless
the template emitted it, the accepted trace, the prefix) is appended by the caller.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .exceptions import ContinuationError
from .settings import Settings


@dataclass(frozen=True)
class ChatTemplate:
    source: str
    template: str
    special_tokens: dict[str, str]

    def render(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> str:
        """The conversation with the generation prompt, as the model's template writes it."""
        from transformers.utils.chat_template_utils import render_jinja_template

        try:
            special: dict[str, Any] = dict(self.special_tokens)
            rendered = render_jinja_template(
                [messages],
                tools=tools,
                chat_template=self.template,
                add_generation_prompt=True,
                **special,
            )
        except Exception as exc:  # jinja raises many kinds, TemplateError among them
            raise ContinuationError(
                f"the chat template from {self.source} cannot render this request: {exc}"
            ) from exc
        # transformers returns (rendered conversations, generation indices) or a string.
        if isinstance(rendered, tuple):
            rendered = rendered[0]
        if isinstance(rendered, list):
            rendered = rendered[0]
        return str(rendered)


class TemplateCache:
    """Loads each model's template once, off the event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._templates: dict[str, ChatTemplate] = {}
        self._lock = asyncio.Lock()

    async def get(self, model: str) -> ChatTemplate:
        key = self.settings.tokenizer or model
        if key in self._templates:
            return self._templates[key]
        async with self._lock:
            if key not in self._templates:
                self._templates[key] = await asyncio.to_thread(self._load, key)
        return self._templates[key]

    def _load(self, name: str) -> ChatTemplate:
        path = self.settings.chat_template
        if path is not None:
            try:
                return ChatTemplate(str(path), Path(path).read_text(), {})
            except OSError as exc:
                raise ContinuationError(f"cannot read the chat template {path}: {exc}") from exc
        return _from_tokenizer(name)


def _from_tokenizer(name: str) -> ChatTemplate:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ContinuationError(
            f"completions-mode continuation needs the chat template of {name!r}, and no local "
            "tokenizer of that name was found: set SAFETHINK_TOKENIZER to its directory, or "
            "SAFETHINK_CHAT_TEMPLATE to a Jinja file"
        ) from exc
    template = tokenizer.chat_template
    if isinstance(template, dict):
        template = template.get("default")
    if not isinstance(template, str) or not template:
        raise ContinuationError(f"the tokenizer {name!r} has no chat template")
    special = {
        key: str(value)
        for key, value in tokenizer.special_tokens_map.items()
        if isinstance(value, str)
    }
    return ChatTemplate(name, template, special)
