"""How the proxy asks for R(x, z + y): one small interface, two implementations.

- ``HttpScorer``: the reward service's ``POST /v1/score`` (docs/design.md, "The scoring API"),
  over the app's shared aiohttp session, each call bounded by ``score_timeout``.
- ``EmbeddedScorer``: the reward service's engine in this process (``--reward embedded``), with
  the reward service's own settings (``SAFETHINK_REWARD_*``); it needs the ``reward`` extra.

Both raise ``ScoringError`` subclasses and nothing else; what follows a failure is the
``fail_mode`` decision, taken by the steering engine. Their messages reach clients (fail-closed
errors), so they never name the reward service's host or port: the log has the details.

A request's prompt is prepared once (``ScorePrompt``): cut to what the scorer reads and
JSON-encoded a single time, however many of its steps are scored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from proxy.exceptions import ScorerTimeout, ScorerUnavailable, ScoringError
from proxy.upstream.client import probe
from reward_service.text import ROLES as READ_ROLES
from reward_service.text import spend_budget, truncate_middle

if TYPE_CHECKING:
    from reward_service.engine import Engine

Messages = list[dict[str, Any]]
log = logging.getLogger("safethink.scoring")


@dataclass(frozen=True)
class ScorePrompt:
    """x as the scorer reads it, prepared once per request."""

    messages: Messages
    json: bytes = field(repr=False)

    @classmethod
    def of(cls, messages: Messages, budget: int, turns: int = 256) -> ScorePrompt:
        """The user and assistant turns, newest first, until ``budget`` characters or ``turns``
        turns are spent, each cut from its middle as the reward service cuts it (it spends its
        own ``max_prompt_chars`` and ``max_prompt_turns`` the same way): what is left out would
        never be read."""
        newest = ((m["role"], m["content"]) for m in reversed(text_only(messages))
                  if m["role"] in READ_ROLES)
        read, _ = spend_budget(islice(newest, turns), budget)
        kept = [{"role": role, "content": text} for role, text in read]
        return cls(kept, json.dumps(kept, ensure_ascii=False).encode())


class Scorer(Protocol):
    async def score(self, prompt: ScorePrompt, trace: str) -> float:
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
    def __init__(
        self, session: aiohttp.ClientSession, url: str, timeout: float, trace_chars: int = 16_000
    ) -> None:
        self.session = session
        self.url = url + "/v1/score"
        self.ready_url = url + "/readyz"
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.trace_chars = trace_chars

    async def score(self, prompt: ScorePrompt, trace: str) -> float:
        trace, _ = truncate_middle(trace, self.trace_chars)
        body = b'{"items":[{"prompt":%b,"trace":%b}]}' % (
            prompt.json,
            json.dumps(trace, ensure_ascii=False).encode(),
        )
        headers = {"content-type": "application/json"}
        try:
            async with self.session.post(
                self.url, data=body, headers=headers, timeout=self.timeout
            ) as response:
                if response.status != 200:
                    raise ScorerUnavailable(await _status_message(response))
                answer = await response.json(content_type=None)
        except TimeoutError as exc:
            limit = self.timeout.total
            raise ScorerTimeout(f"the reward service did not answer in {limit}s") from exc
        except aiohttp.ClientError as exc:
            log.warning("reward service %s unreachable: %s", self.url, exc)
            raise ScorerUnavailable(
                f"the reward service cannot be reached ({exc.__class__.__name__})"
            ) from exc
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


async def _status_message(response: aiohttp.ClientResponse) -> str:
    """The reward service's own error message, without its address."""
    message = ""
    try:
        body = json.loads(await response.read())
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = str(body["error"].get("message", ""))[:300]
    except (ValueError, aiohttp.ClientError):
        pass
    return f"the reward service answered HTTP {response.status}" + (
        f": {message}" if message else ""
    )


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

    async def score(self, prompt: ScorePrompt, trace: str) -> float:
        from reward_service.schemas import ScoreItem

        try:
            async with asyncio.timeout(self.timeout):
                item = ScoreItem(prompt=prompt.messages, trace=trace)
                results = await self.engine.score([item])
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
