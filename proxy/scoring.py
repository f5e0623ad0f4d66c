"""How the proxy asks for R(x, z + y): one small interface, two implementations.

- ``HttpScorer``: the reward service's ``POST /v1/score`` (DESIGN.md), over the app's shared
  aiohttp session, each call bounded by ``score_timeout``.
- ``EmbeddedScorer``: the reward service's engine in this process (``--reward embedded``), with
  the reward service's own settings (``SAFETHINK_REWARD_*``); it needs the ``reward`` extra.

Both raise ``ScoringError`` subclasses and nothing else; what follows a failure is the
``fail_mode`` decision, taken by the steering engine.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from .exceptions import ScorerTimeout, ScorerUnavailable, ScoringError
from .upstream import probe

if TYPE_CHECKING:
    from reward_service.engine import Engine

Messages = list[dict[str, Any]]


class Scorer(Protocol):
    async def score(self, prompt: Messages, trace: str) -> float:
        """R(x, z + y) in [-1, 1], positive = safe."""
        ...

    async def check(self) -> str | None:
        """None when ready, else why not."""
        ...

    async def aclose(self) -> None: ...


def text_only(messages: Messages) -> Messages:
    """The messages as the scorer sees them: text parts kept, images and audio left out."""
    out: Messages = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            texts = [
                part.get("text", "")
                for part in content
                if isinstance(part, dict) and part.get("type") == "text"
            ]
            content = "\n".join(t for t in texts if t)
        out.append({"role": message.get("role", "user"), "content": content or ""})
    return out


class HttpScorer:
    def __init__(self, session: aiohttp.ClientSession, url: str, timeout: float) -> None:
        self.session = session
        self.url = url + "/v1/score"
        self.ready_url = url + "/readyz"
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def score(self, prompt: Messages, trace: str) -> float:
        body = {"items": [{"prompt": prompt, "trace": trace}]}
        try:
            async with self.session.post(self.url, json=body, timeout=self.timeout) as response:
                if response.status != 200:
                    text = (await response.read())[:300].decode(errors="replace")
                    raise ScorerUnavailable(
                        f"the reward service answered HTTP {response.status}: {text}"
                    )
                answer = await response.json(content_type=None)
        except TimeoutError as exc:
            limit = self.timeout.total
            raise ScorerTimeout(f"the reward service did not answer in {limit}s") from exc
        except aiohttp.ClientError as exc:
            raise ScorerUnavailable(f"the reward service cannot be reached: {exc}") from exc
        except ValueError as exc:
            raise ScorerUnavailable("the reward service's answer is not JSON") from exc
        try:
            return _clamp(float(answer["results"][0]["score"]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ScorerUnavailable("the reward service's answer has no score") from exc

    async def check(self) -> str | None:
        status = await probe(self.session, self.ready_url)
        if isinstance(status, str):
            return status
        return None if status == 200 else f"HTTP {status}"

    async def aclose(self) -> None:
        return None  # the session belongs to the app


class EmbeddedScorer:
    def __init__(self, engine: Engine, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout

    @classmethod
    async def start(cls, score_timeout: float) -> EmbeddedScorer:
        try:
            from reward_service.engine import create_engine
            from reward_service.settings import RewardSettings
        except ImportError as exc:
            raise ScorerUnavailable(
                "--reward embedded needs the reward extra: pip install 'safethink[reward]' "
                "(or give --reward the URL of a running reward service)"
            ) from exc
        engine = create_engine(RewardSettings())
        await engine.start()
        return cls(engine, score_timeout)

    async def score(self, prompt: Messages, trace: str) -> float:
        from reward_service.schemas import ScoreItem

        try:
            async with asyncio.timeout(self.timeout):
                results = await self.engine.score([ScoreItem(prompt=prompt, trace=trace)])
        except TimeoutError as exc:
            raise ScorerTimeout(f"the embedded scorer took over {self.timeout}s") from exc
        except ScoringError:
            raise
        except Exception as exc:
            raise ScorerUnavailable(f"the embedded scorer failed: {exc}") from exc
        return _clamp(results[0].score)

    async def check(self) -> str | None:
        return None if self.engine.ready else "model not loaded"

    async def aclose(self) -> None:
        await self.engine.aclose()


def _clamp(score: float) -> float:
    if score != score:  # NaN
        raise ScorerUnavailable("the reward service returned NaN")
    return max(-1.0, min(1.0, score))
