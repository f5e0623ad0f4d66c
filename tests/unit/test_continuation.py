"""How a steered generation is re-issued: bodies for both modes, rendered with real templates;
where the template comes from; and what one request's refusal changes (nothing for the next)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.exceptions import ContinuationError, UpstreamStatusError
from proxy.settings import Settings
from proxy.upstream.client import Upstream
from proxy.upstream.continuation import Call, CallKind, Continuer, attempt_seed
from proxy.upstream.probe import Learned
from proxy.upstream.templates import TemplateCache
from tests.support.servers import tiny_model_dir
from tests.unit.fake_upstream import FakeUpstream, serving

QUESTION = [{"role": "user", "content": "How do I bake bread?"}]
TRACE = "<think>\nFirst, flour.\n\nWait, think safely."
R1_TEMPLATE = (
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}"
)
CHATML = Path(__file__).parents[1] / "support" / "chatml.jinja"


class App:
    """What the app shares between requests; ``continuer()`` is one request's."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeUpstream,
                 hub_cache: Path | None = None, **settings: Any) -> None:
        self.settings = Settings(upstream_url=fake.base_url, **settings)
        self.fake = fake
        self.upstream = Upstream(session, self.settings)
        self.templates = TemplateCache(self.settings, hub_cache=hub_cache)
        self.learned = Learned(self.settings)

    def continuer(self) -> Continuer:
        return Continuer(self.settings, self.upstream, self.templates, self.learned)


@asynccontextmanager
async def app(models: list[str] | None = None, props: dict[str, Any] | None = None,
              hub_cache: Path | None = None, **settings: Any) -> AsyncIterator[App]:
    async with serving(FakeUpstream(models=models or [], props=props)) as fake, \
            aiohttp.ClientSession() as session:
        yield App(session, fake, hub_cache, **settings)


async def steer(cont: Continuer, model: str, question: str = "How do I bake bread?",
                attempt: int = 1) -> CallKind:
    """Re-issue a steered generation of ``model`` and read it through; the kind of call used."""
    call = Call({"model": model, "messages": [{"role": "user", "content": question}]}, TRACE,
                attempt)
    async with cont.open(call) as (events, kind):
        assert [chunk async for chunk in events]
    return kind


async def test_completions_prompt_is_the_template_plus_the_raw_trace() -> None:
    from transformers import AutoTokenizer

    model_dir = tiny_model_dir()
    async with app(tokenizer=str(model_dir)) as shared:
        body = await shared.continuer().completions_body(Call(
            {"model": "m", "messages": QUESTION, "max_completion_tokens": 9, "seed": 5,
             "temperature": 0.7, "tools": None}, TRACE, attempt=1))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rendered = str(tokenizer.apply_chat_template(QUESTION, tokenize=False,
                                                 add_generation_prompt=True))
    # the reasoning template never sees the partial trace (it would rewrite it)
    assert body["prompt"] == rendered + TRACE
    assert body["max_tokens"] == 9 and body["temperature"] == 0.7
    assert body["seed"] == attempt_seed(5, 1) != 5
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "messages" not in body


async def test_r1_style_template_that_opens_the_block_is_not_doubled(tmp_path: Path) -> None:
    template = tmp_path / "r1.jinja"
    template.write_text(R1_TEMPLATE)
    async with app(chat_template=template) as shared:
        body = await shared.continuer().completions_body(
            Call({"model": "m", "messages": QUESTION}, TRACE))
    assert body["prompt"] == ("<|user|>How do I bake bread?<|assistant|><think>\n"
                              "First, flour.\n\nWait, think safely.")


async def test_chat_body_continues_the_final_message() -> None:
    async with app(upstream_continuous_usage=True) as shared:
        body = shared.continuer().chat_body(
            Call({"model": "m", "messages": QUESTION, "user": "u1"}, TRACE, 2))
    assert body["messages"] == [*QUESTION, {"role": "assistant", "content": TRACE}]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["user"] == "u1"  # unknown and other fields are kept


async def test_missing_template_is_a_clear_error() -> None:
    async with app(models=["no/such-model"]) as shared:
        with pytest.raises(ContinuationError, match="SAFETHINK_TOKENIZER"):
            await shared.continuer().completions_body(
                Call({"model": "no/such-model", "messages": QUESTION}, TRACE))


# --- auto: what one request gets is never learned -------------------------------------------

async def test_a_refused_continuation_does_not_change_what_the_next_request_gets() -> None:
    async with app(models=["continues"], chat_template=CHATML) as shared:
        assert await steer(shared.continuer(), "continues") == "chat"
        # a client's continuation refused with 400 (an over-long prompt): its error is its own
        with pytest.raises(UpstreamStatusError) as refused:
            await steer(shared.continuer(), "continues", "TOO LONG " * 5)
        assert refused.value.status_code == 400
        assert await steer(shared.continuer(), "continues") == "chat"
        assert shared.fake.posts("/v1/completions") == []


async def test_where_the_probe_cannot_tell_a_refused_call_falls_back_for_its_request_only(
) -> None:
    # not listed, so never probed: chat first, and completions for the refused request only
    async with app(models=[], chat_template=CHATML) as shared:
        first = shared.continuer()
        assert await steer(first, "refuses") == "completions"
        assert await steer(first, "refuses", attempt=2) == "completions"  # its next resample
        assert await steer(shared.continuer(), "refuses") == "completions"
        chats = [b for b in shared.fake.posts("/v1/chat/completions") if b.get("stream")]
        assert len(chats) == 2  # the next request tried chat again: nothing was learned


@pytest.mark.parametrize(("model", "path"), [("new-turn", "/v1/completions"),
                                              ("refuses", "/v1/completions"),
                                              ("continues", "/v1/chat/completions")])
async def test_auto_uses_the_probed_mode(model: str, path: str) -> None:
    async with app(models=[model], chat_template=CHATML) as shared:
        await steer(shared.continuer(), model)
        await steer(shared.continuer(), model)
        steered = [p for p, body in shared.fake.requests if body.get("stream")]
        assert steered == [path, path]  # straight to the probed mode, no refused call first


# --- where completions mode finds the chat template -----------------------------------------

SERVED = {"chat_template": "SERVED{{ bos_token }}" + CHATML.read_text(), "bos_token": "<s>",
          "eos_token": "<|im_end|>"}


async def test_the_servers_own_template_comes_first() -> None:
    async with app(models=["new-turn"], props=SERVED, chat_template=CHATML) as shared:
        body = await shared.continuer().completions_body(
            Call({"model": "new-turn", "messages": QUESTION}, TRACE))
    assert body["prompt"] == (
        "SERVED<|im_start|>user\nHow do I bake bread?<|im_end|>\n<|im_start|>assistant\n"
        + TRACE)


def tokenizer_copy(dest: Path) -> Path:
    """A directory holding the tiny model's tokenizer, chat template included."""
    dest.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                 "config.json"):
        shutil.copy(tiny_model_dir() / name, dest / name)
    return dest


@pytest.mark.parametrize("name", ["absolute", "../relative", "org/tok", "./org/tok"])
async def test_a_directory_named_by_the_client_is_never_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    work = tmp_path / "work"
    tokenizer_copy(work / "org" / "tok")
    tokenizer_copy(tmp_path / "relative")
    monkeypatch.chdir(work)
    model = str(work / "org" / "tok") if name == "absolute" else name
    templates = TemplateCache(Settings(), hub_cache=tmp_path / "empty-hub")
    # even for a model id the upstream lists (transformers serve lists its directory)
    with pytest.raises(ContinuationError, match="SAFETHINK_CHAT_TEMPLATE"):
        await templates.get(model)


async def test_an_unlisted_model_gets_no_template_of_its_own(tmp_path: Path) -> None:
    hub = fake_hub(tmp_path / "hub", "org/tok")
    async with app(models=[], hub_cache=hub) as shared:
        with pytest.raises(ContinuationError, match="does not list"):
            await shared.continuer().completions_body(
                Call({"model": "org/tok", "messages": QUESTION}, TRACE))


def fake_hub(cache: Path, repo_id: str) -> Path:
    """A Hugging Face cache holding ``repo_id``'s tokenizer, in the hub's own layout."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    tokenizer_copy(repo / "snapshots" / ("0" * 40))
    return cache


async def test_a_listed_hub_id_is_resolved_from_the_local_cache(tmp_path: Path) -> None:
    hub = fake_hub(tmp_path / "hub", "org/tok")
    async with app(models=["org/tok"], hub_cache=hub) as shared:
        body = await shared.continuer().completions_body(
            Call({"model": "org/tok", "messages": QUESTION}, TRACE))
    assert body["prompt"].endswith("<|im_start|>assistant\n" + TRACE)


@given(st.integers(0, 2**31 - 2), st.integers(1, 50))
def test_attempt_seeds_are_distinct_and_reproducible(seed: int, attempts: int) -> None:
    seeds = [attempt_seed(seed, a) for a in range(attempts + 1)]
    assert seeds[0] == seed
    assert len(set(seeds)) == len(seeds)
    assert seeds == [attempt_seed(seed, a) for a in range(attempts + 1)]
