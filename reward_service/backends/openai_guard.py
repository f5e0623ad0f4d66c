"""openai-guard: a guard served by vLLM/SGLang behind an OpenAI-compatible API.

Each item is one call with max_tokens=1 and the top logprobs of the first token; score =
P(safe) - P(unsafe) of that token. Two ways to ask (`SAFETHINK_REWARD_OPENAI_GUARD_API`):
- `chat` (default): `/chat/completions` with the request's turns and the trace as the assistant
  turn; the server applies the guard's chat template.
- `completions`: this service renders the guard's chat template itself (a Jinja file in
  `OPENAI_GUARD_TEMPLATE`, else the tokenizer in `--model PATH`) and sends the text to
  `/completions`. For servers whose chat endpoint cannot apply the guard's template, or which
  expose only completions. A leading BOS token is dropped from the text: completions servers
  (vLLM, SGLang, llama.cpp) add their own when they tokenise the prompt.
The serving engine batches concurrent calls itself, so the engine keeps several batches in
flight for this backend.
"""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path
from typing import Any

import httpx

from reward_service.backends.base import PreparedItem, RemoteBackend, clamp_score
from reward_service.backends.guard_prompt import (
    Renderer,
    guard_turns,
    jinja_renderer,
    render_guard_prompt,
    settle_content_format,
    tokenizer_renderer,
)
from reward_service.exceptions import (
    ConfigError,
    GuardOutputError,
    ModelLoadError,
    ScoringError,
    UpstreamError,
)
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings

log = logging.getLogger("reward_service.openai_guard")


class OpenAIGuardBackend(RemoteBackend):
    name = "openai-guard"

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__()
        self.settings = settings
        self._client: httpx.AsyncClient | None = None
        self._render: Renderer | None = None
        self._bos = ""

    def load(self) -> None:
        if self.settings.openai_guard_api == "completions":
            self._render = settle_content_format(self._load_template())
        headers = {}
        if self.settings.openai_guard_api_key is not None:
            key = self.settings.openai_guard_api_key.get_secret_value()
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.AsyncClient(base_url=self.settings.openai_guard_url.rstrip("/"),
                                         headers=headers,
                                         timeout=self.settings.openai_guard_timeout_s)
        self.model_name = self.settings.openai_guard_model

    def _load_template(self) -> Renderer:
        if self.settings.openai_guard_template:
            path = Path(self.settings.openai_guard_template).expanduser()
            try:
                return jinja_renderer(path.read_text())
            except OSError as exc:
                raise ConfigError(f"cannot read the guard's chat template {path}: {exc}") from exc
        path_or_none = self.settings.model_path()
        if path_or_none is None:
            raise ConfigError("openai-guard with api=completions needs the guard's chat template: "
                              "SAFETHINK_REWARD_OPENAI_GUARD_TEMPLATE (a Jinja file) or --model "
                              "PATH (a local directory with the guard's tokenizer)")
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path_or_none))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load the guard's tokenizer from {path_or_none}: "
                                 f"{exc}") from exc
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(f"the tokenizer in {path_or_none} has no chat template")
        self._bos = str(tokenizer.bos_token or "")
        return tokenizer_renderer(tokenizer)

    async def aforward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        return list(await asyncio.gather(*(self._score(item) for item in items)))

    async def _score(self, item: PreparedItem) -> ScoreResult:
        body: dict[str, Any] = {"model": self.settings.openai_guard_model, "max_tokens": 1,
                                "temperature": 0.0}
        if self._render is None:
            path = "/chat/completions"
            body.update(messages=guard_turns(item), logprobs=True,
                        top_logprobs=self.settings.openai_guard_top_logprobs)
        else:
            path = "/completions"
            body.update(prompt=self._prompt(item),
                        logprobs=self.settings.openai_guard_top_logprobs)
        p_safe, p_unsafe = self._label_probs(first_token_logprobs(await self._post(path, body)))
        return ScoreResult(score=clamp_score(p_safe - p_unsafe),
                           raw={"p_safe": p_safe, "p_unsafe": p_unsafe},
                           truncated=item.truncated)

    def _prompt(self, item: PreparedItem) -> str:
        assert self._render is not None
        try:
            text = render_guard_prompt(self._render, item)
        except Exception as exc:  # jinja raises many kinds, TemplateError among them
            message = f"the guard's chat template cannot render this item: {exc}"
            raise ScoringError(message) from exc
        return text[len(self._bos):] if self._bos and text.startswith(self._bos) else text

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._client is None:
            raise UpstreamError("openai-guard client is closed")
        try:
            response = await self._client.post(path, json=body)
            response.raise_for_status()
            data = response.json()
        except httpx.HTTPStatusError as exc:
            raise UpstreamError(f"guard server answered {exc.response.status_code}: "
                                f"{exc.response.text[:200]}") from exc
        except (httpx.HTTPError, ValueError) as exc:
            # Its address stays in the log: this message reaches the proxy's clients.
            log.warning("guard server %s unreachable or invalid: %r", path, exc)
            raise UpstreamError(
                f"guard server unreachable or invalid ({exc.__class__.__name__})"
            ) from exc
        if not isinstance(data, dict):
            raise GuardOutputError("guard response is not a JSON object")
        return data

    def _label_probs(self, top: list[tuple[str, float]]) -> tuple[float, float]:
        safe, unsafe = (self.settings.guard_safe_token.lower(),
                        self.settings.guard_unsafe_token.lower())
        pairs = [(token.strip().lower(), logprob) for token, logprob in top]
        p_safe = sum(math.exp(lp) for token, lp in pairs if token == safe)
        p_unsafe = sum(math.exp(lp) for token, lp in pairs if token == unsafe)
        if p_safe == 0.0 and p_unsafe == 0.0:
            raise GuardOutputError(f"neither {safe!r} nor {unsafe!r} among the guard's top tokens")
        return p_safe, p_unsafe

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def first_token_logprobs(data: dict[str, Any]) -> list[tuple[str, float]]:
    """(token, logprob) of the first generated token's top candidates, from a chat response
    (`logprobs.content[0].top_logprobs`, a list) or a completions one (`logprobs.top_logprobs[0]`,
    a token -> logprob mapping)."""
    try:
        logprobs = data["choices"][0]["logprobs"]
        if "content" in logprobs:
            top = logprobs["content"][0]["top_logprobs"]
            return [(str(t["token"]), float(t["logprob"])) for t in top]
        first = logprobs["top_logprobs"][0]
        return [(str(token), float(lp)) for token, lp in first.items()]
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise GuardOutputError(f"guard response has no first-token logprobs: {exc!r}") from exc
