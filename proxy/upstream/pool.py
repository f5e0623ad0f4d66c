"""Which of a model's server URLs a call goes to.

A model listed with several URLs (replicas of one server) has its calls spread over them in
turn. A URL that refuses a connection, or does not accept one within the connect timeout, is
marked down: calls skip it for ``upstream_retry_s``, then the next call whose turn it is tries
it again (no background task). Nothing was sent on a connection that never opened, so the call
goes on to the next URL at once; a down URL is still tried when no other is left, so a
recovered server is found by the first call that needs it. A ``/readyz`` probe that gets an
answer marks a URL up too.

The health of a URL is shared by every model served from it: one refused connection is enough
for all of them to skip it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("safethink.upstream")


def redact_url(url: str) -> str:
    """``url`` without its user and password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


class Health:
    """The URLs that refused a connection lately, and until when they are skipped."""

    def __init__(self, retry_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_s = retry_s
        self.clock = clock
        self._down: dict[str, float] = {}  # url: skipped until

    def is_up(self, url: str) -> bool:
        until = self._down.get(url)
        return until is None or self.clock() >= until

    def refused(self, url: str, exc: BaseException) -> None:
        if self.is_up(url):
            log.warning("model server %s refused a connection (%s): skipped for %g s",
                        redact_url(url), exc.__class__.__name__, self.retry_s)
        self._down[url] = self.clock() + self.retry_s

    def answered(self, url: str) -> None:
        if self._down.pop(url, None) is not None:
            log.warning("model server %s answers again", redact_url(url))


class Rotation:
    """One model's URLs, taken in turn, the healthy ones first."""

    def __init__(self, urls: Sequence[str], health: Health) -> None:
        if not urls:
            raise ValueError("a model needs at least one upstream URL")
        self.urls = tuple(urls)
        self.health = health
        self._turn = 0

    def order(self) -> list[str]:
        """The URLs one call tries, in order: from this call's turn on, the healthy ones, then
        the ones marked down (a last resort, when none of the others could be reached)."""
        start = self._turn
        self._turn = (start + 1) % len(self.urls)
        rotated = self.urls[start:] + self.urls[:start]
        up = [url for url in rotated if self.health.is_up(url)]
        return up + [url for url in rotated if url not in up]

    def peek(self) -> str:
        """The URL the next call would try first, without taking a turn."""
        start = self._turn
        rotated = self.urls[start:] + self.urls[:start]
        return next((url for url in rotated if self.health.is_up(url)), rotated[0])
