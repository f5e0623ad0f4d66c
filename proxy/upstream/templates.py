"""Chat templates for ``completions`` continuation mode.

Where the server cannot continue an assistant message itself, the proxy renders the prompt with
the model's own chat template and sends it raw to ``/v1/completions``. The template comes from,
in order:

1. the one the model server reports itself (llama.cpp's ``GET /props``: ``chat_template``), which
   is the one it applies to chat requests (``continuation_probe.Learned.served_template``);
2. ``SAFETHINK_CHAT_TEMPLATE``, a Jinja file (e.g. the one stored in a GGUF file);
3. ``SAFETHINK_TOKENIZER``, a tokenizer directory or hub id the operator chose;
4. the request's model, only when the upstream lists it, and only as a Hugging Face repo id whose
   tokenizer is in the local cache. Never as a path: the ``model`` field is the client's, and a
   directory it names (``../../etc``, ``/tmp/x``, or ``org/name`` relative to the working
   directory) is never read.

Nothing is downloaded at run time.

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

from proxy.exceptions import ContinuationError
from proxy.settings import Settings

_NO_TEMPLATE = (
    "completions-mode continuation needs the model's chat template, and none was found: the "
    "model server reports none, and {why}; set SAFETHINK_CHAT_TEMPLATE to a Jinja file, or "
    "SAFETHINK_TOKENIZER to a tokenizer directory or cached hub id"
)


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
    """Loads each template once, off the event loop: the configured one, or a listed model's
    from the Hugging Face cache (``hub_cache``: that cache's directory, default the usual)."""

    def __init__(self, settings: Settings, *, hub_cache: Path | None = None) -> None:
        self.settings = settings
        self.hub_cache = hub_cache
        # Keyed by "" (the configured template) or a hub repo id the upstream lists, so the
        # cache holds no more entries than the upstream has models.
        self._templates: dict[str, ChatTemplate] = {}
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return self.settings.chat_template is not None or bool(self.settings.tokenizer)

    async def get(self, model: str | None) -> ChatTemplate:
        """The configured template, else that of ``model``: a model id the upstream lists, or
        None when it does not list the request's (then only a configured template will do)."""
        key = "" if self.configured else model
        if key is None:
            raise ContinuationError(
                _NO_TEMPLATE.format(why="the upstream does not list the request's model")
            )
        if key in self._templates:
            return self._templates[key]
        async with self._lock:
            if key not in self._templates:
                self._templates[key] = await asyncio.to_thread(self._load, key)
        return self._templates[key]

    def _load(self, key: str) -> ChatTemplate:
        if not key:
            return self._configured()
        snapshot = hub_snapshot(key, self.hub_cache)
        if snapshot is None:
            raise ContinuationError(_NO_TEMPLATE.format(
                why=f"{key!r} is not a Hugging Face repo id whose tokenizer is in the local cache"
            ))
        return _from_tokenizer(str(snapshot), key)

    def _configured(self) -> ChatTemplate:
        path = self.settings.chat_template
        if path is not None:
            try:
                return ChatTemplate(str(path), Path(path).read_text(), {})
            except OSError as exc:
                raise ContinuationError(f"cannot read the chat template {path}: {exc}") from exc
        # The operator's choice, so a local directory is fine here.
        return _from_tokenizer(self.settings.tokenizer, self.settings.tokenizer)


def hub_snapshot(repo_id: str, cache_dir: Path | None = None) -> Path | None:
    """The local Hugging Face cache's snapshot of ``repo_id`` holding a tokenizer, or None when
    ``repo_id`` is not a valid repo id (any path is not) or the cache has no tokenizer for it.
    Resolved inside the cache's own layout, never against the working directory."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        # It validates the id first (``namespace/name`` of word characters, dots and dashes,
        # no ``..``), which no absolute or dotted path passes.
        found = try_to_load_from_cache(repo_id, "tokenizer_config.json", cache_dir=cache_dir)
    except HFValidationError:
        return None
    return Path(found).parent if isinstance(found, str) else None


def _from_tokenizer(location: str, name: str) -> ChatTemplate:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ContinuationError(
            _NO_TEMPLATE.format(why=f"no local tokenizer {name!r} could be loaded")
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
