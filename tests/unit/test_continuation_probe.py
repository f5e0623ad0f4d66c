"""How ``auto`` continuation learns its mode: a probe per listed model, on the proxy's own text,
against an in-process fake upstream (tests/unit/fake_upstream.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from proxy.settings import Settings
from proxy.upstream.client import Upstream
from proxy.upstream.probe import Learned, Verdict
from tests.unit.fake_upstream import FakeUpstream, serving

TTL, RETRY = 600.0, 30.0
LISTED = ["continues", "new-turn", "refuses", "broken", "no-usage"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Probing:
    """One app's worth of state: the upstream client and what it learned."""

    def __init__(self, fake: FakeUpstream, session: aiohttp.ClientSession,
                 **settings: Any) -> None:
        config = Settings(upstream_url=fake.base_url, continuation_probe_ttl_s=TTL,
                          continuation_probe_retry_s=RETRY, **settings)
        self.fake = fake
        self.clock = Clock()
        self.upstream = Upstream(session, config)
        self.learned = Learned(config, clock=self.clock)

    async def verdict(self, model: str) -> Verdict:
        return await self.learned.verdict(self.upstream, model)

    def probe_calls(self, model: str) -> int:
        return sum(1 for body in self.fake.posts("/v1/chat/completions")
                   if body["model"] == model)


@pytest.fixture
async def probing() -> AsyncIterator[Probing]:
    async with serving(FakeUpstream(models=list(LISTED))) as fake, aiohttp.ClientSession() as s:
        yield Probing(fake, s)


@pytest.mark.parametrize(("model", "mode"), [
    ("continues", "chat"),
    ("new-turn", "completions"),  # llama-cpp-python: the flags ignored, a new turn started
    ("refuses", "completions"),  # transformers serve: 422 to the flags
])
async def test_the_probe_tells_how_the_server_treats_a_continued_message(
        probing: Probing, model: str, mode: str) -> None:
    verdict = await probing.verdict(model)
    assert verdict.mode == mode, verdict.reason


async def test_the_probe_sends_fixed_one_token_calls(probing: Probing) -> None:
    await probing.verdict("continues")
    plain, short, long = probing.fake.posts("/v1/chat/completions")
    for body in (plain, short, long):
        assert body["max_tokens"] == 1 and body["stream"] is False
    assert "continue_final_message" not in plain and len(plain["messages"]) == 1
    for body in (short, long):
        assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
        assert body["messages"][:1] == plain["messages"]
    p = short["messages"][1]["content"]
    assert long["messages"][1]["content"] == f"{p} {p}"


@pytest.mark.parametrize("model", ["broken", "no-usage"])
async def test_a_probe_that_cannot_tell_learns_nothing_durable(
        probing: Probing, model: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="safethink.continuation"):
        verdict = await probing.verdict(model)
    assert verdict.mode is None and verdict.reason
    assert any("cannot tell" in r.getMessage() and verdict.reason in r.getMessage()
               for r in caplog.records)  # the log says why
    calls = probing.probe_calls(model)
    probing.clock.now += RETRY - 1
    assert (await probing.verdict(model)).mode is None
    assert probing.probe_calls(model) == calls  # not probed again at once
    probing.clock.now += 1
    await probing.verdict(model)
    assert probing.probe_calls(model) == 2 * calls  # tried again after the retry interval


async def test_a_verdict_expires_after_its_ttl(probing: Probing) -> None:
    await probing.verdict("continues")
    probing.clock.now += TTL - 1
    await probing.verdict("continues")
    assert probing.probe_calls("continues") == 3
    probing.clock.now += 1
    assert (await probing.verdict("continues")).mode == "chat"
    assert probing.probe_calls("continues") == 6


async def test_concurrent_requests_wait_for_one_probe(probing: Probing) -> None:
    verdicts = await asyncio.gather(*(probing.verdict("new-turn") for _ in range(20)))
    assert {v.mode for v in verdicts} == {"completions"}
    assert probing.probe_calls("new-turn") == 3
    assert sum(1 for path, _ in probing.fake.requests if path == "/v1/models") == 1


async def test_a_model_the_upstream_does_not_list_is_never_probed(probing: Probing) -> None:
    for name in ("refuses-but-unlisted", "../../etc", "/tmp/x", *(f"m{i}" for i in range(50))):
        verdict = await probing.verdict(name)
        assert verdict.mode is None and "does not list" in verdict.reason
    assert probing.fake.posts("/v1/chat/completions") == []
    # the listing is fetched once, not once per name a client makes up
    assert [path for path, _ in probing.fake.requests] == ["/v1/models"]


async def test_a_model_listed_later_is_probed_after_the_retry_interval(probing: Probing) -> None:
    assert (await probing.verdict("late")).mode is None
    probing.fake.models.append("late")
    probing.clock.now += RETRY
    assert (await probing.verdict("late")).mode == "chat"


async def test_a_probe_that_hangs_times_out(probing: Probing) -> None:
    release = asyncio.Event()

    async def hanging(*args: Any, **kwargs: Any) -> Any:
        await release.wait()

    probing.upstream.request = hanging  # type: ignore[method-assign]
    probing.learned.settings = probing.learned.settings.model_copy(
        update={"continuation_probe_timeout_s": 0.05})
    verdict = await probing.verdict("continues")
    assert verdict.mode is None


async def test_the_served_template_is_read_from_props() -> None:
    props = {"chat_template": "{{ bos_token }}T", "bos_token": "<s>", "eos_token": "<|im_end|>"}
    async with serving(FakeUpstream(models=[], props=props)) as fake, \
            aiohttp.ClientSession() as session:
        probing = Probing(fake, session)
        template = await probing.learned.served_template(probing.upstream)
        assert template is not None and template.template == "{{ bos_token }}T"
        # llama.cpp adds the BOS itself to a raw prompt: the template must not write another
        assert template.render([{"role": "user", "content": "hi"}]) == "T"
        await probing.learned.served_template(probing.upstream)
        assert [path for path, _ in fake.requests] == ["/props"]  # cached


async def test_no_props_means_no_served_template(probing: Probing) -> None:
    assert await probing.learned.served_template(probing.upstream) is None
    assert await probing.learned.served_template(probing.upstream) is None
    assert [path for path, _ in probing.fake.requests] == ["/props"]  # a 404 is an answer
