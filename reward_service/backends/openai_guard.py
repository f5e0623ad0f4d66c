"""openai-guard: a guard served by vLLM/SGLang behind an OpenAI-compatible API.

Each item is one `/chat/completions` call (the server applies the guard's own chat template) with
max_tokens=1 and top logprobs; score = P(safe) - P(unsafe) of the first token. The serving engine
batches concurrent calls itself, so the engine keeps several batches in flight for this backend.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx

from reward_service.backends.base import PreparedItem, RemoteBackend, clamp_score, guard_turns
from reward_service.exceptions import GuardOutputError, UpstreamError
from reward_service.schemas import ScoreResult
from reward_service.settings import RewardSettings


class OpenAIGuardBackend(RemoteBackend):
    name = "openai-guard"

    def __init__(self, settings: RewardSettings) -> None:
        super().__init__()
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    def load(self) -> None:
        headers = {}
        if self.settings.openai_guard_api_key is not None:
            key = self.settings.openai_guard_api_key.get_secret_value()
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.AsyncClient(base_url=self.settings.openai_guard_url.rstrip("/"),
                                         headers=headers,
                                         timeout=self.settings.openai_guard_timeout_s)
        self.model_name = self.settings.openai_guard_model

    async def aforward(self, items: list[PreparedItem]) -> list[ScoreResult]:
        return list(await asyncio.gather(*(self._score(item) for item in items)))

    async def _score(self, item: PreparedItem) -> ScoreResult:
        if self._client is None:
            raise UpstreamError("openai-guard client is closed")
        body = {"model": self.settings.openai_guard_model, "messages": guard_turns(item),
                "max_tokens": 1, "temperature": 0.0, "logprobs": True,
                "top_logprobs": self.settings.openai_guard_top_logprobs}
        try:
            response = await self._client.post("/chat/completions", json=body)
            response.raise_for_status()
            data = response.json()
        except httpx.HTTPStatusError as exc:
            raise UpstreamError(f"guard server answered {exc.response.status_code}: "
                                f"{exc.response.text[:200]}") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(f"guard server unreachable or invalid: {exc}") from exc
        p_safe, p_unsafe = self._label_probs(data)
        return ScoreResult(score=clamp_score(p_safe - p_unsafe),
                           raw={"p_safe": p_safe, "p_unsafe": p_unsafe},
                           truncated=item.truncated)

    def _label_probs(self, data: dict[str, Any]) -> tuple[float, float]:
        try:
            top = data["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            pairs = [(str(t["token"]).strip().lower(), float(t["logprob"])) for t in top]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise GuardOutputError(f"guard response has no first-token logprobs: {exc}") from exc
        safe, unsafe = (self.settings.guard_safe_token.lower(),
                        self.settings.guard_unsafe_token.lower())
        p_safe = sum(math.exp(lp) for token, lp in pairs if token == safe)
        p_unsafe = sum(math.exp(lp) for token, lp in pairs if token == unsafe)
        if p_safe == 0.0 and p_unsafe == 0.0:
            raise GuardOutputError(f"neither {safe!r} nor {unsafe!r} among the guard's top tokens")
        return p_safe, p_unsafe

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

