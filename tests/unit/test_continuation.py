"""How a steered generation is re-issued: bodies for both modes, rendered with real templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxy.continuation import Call, Continuer, attempt_seed
from proxy.settings import Settings
from proxy.templates import TemplateCache
from proxy.upstream import Upstream
from tests.support.servers import tiny_model_dir

QUESTION = [{"role": "user", "content": "How do I bake bread?"}]
TRACE = "<think>\nFirst, flour.\n\nWait, think safely."
R1_TEMPLATE = (
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}"
)


async def continuer(**settings: Any) -> tuple[Continuer, aiohttp.ClientSession]:
    config = Settings(**settings)
    session = aiohttp.ClientSession()
    return Continuer(config, Upstream(session, config), TemplateCache(config), {}), session


async def test_completions_prompt_is_the_template_plus_the_raw_trace() -> None:
    from transformers import AutoTokenizer

    model_dir = tiny_model_dir()
    cont, client = await continuer(tokenizer=str(model_dir))
    async with client:
        body = await cont.completions_body(Call({"model": "m", "messages": QUESTION,
                                                 "max_completion_tokens": 9, "seed": 5,
                                                 "temperature": 0.7, "tools": None},
                                                TRACE, attempt=1))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rendered = tokenizer.apply_chat_template(QUESTION, tokenize=False, add_generation_prompt=True)
    # the reasoning template never sees the partial trace (it would rewrite it)
    assert body["prompt"] == rendered + TRACE
    assert body["max_tokens"] == 9 and body["temperature"] == 0.7
    assert body["seed"] == attempt_seed(5, 1) != 5
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "messages" not in body


async def test_r1_style_template_that_opens_the_block_is_not_doubled(tmp_path: Path) -> None:
    template = tmp_path / "r1.jinja"
    template.write_text(R1_TEMPLATE)
    cont, client = await continuer(chat_template=template)
    async with client:
        body = await cont.completions_body(Call({"model": "m", "messages": QUESTION}, TRACE))
    assert body["prompt"] == ("<|user|>How do I bake bread?<|assistant|><think>\n"
                              "First, flour.\n\nWait, think safely.")


async def test_chat_body_continues_the_final_message() -> None:
    cont, client = await continuer(upstream_continuous_usage=True)
    async with client:
        body = cont.chat_body(Call({"model": "m", "messages": QUESTION, "user": "u1"}, TRACE, 2))
    assert body["messages"] == [*QUESTION, {"role": "assistant", "content": TRACE}]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["user"] == "u1"  # unknown and other fields are kept


async def test_missing_template_is_a_clear_error() -> None:
    from proxy.exceptions import ContinuationError

    cont, client = await continuer()
    async with client:
        with pytest.raises(ContinuationError, match="SAFETHINK_TOKENIZER"):
            await cont.completions_body(Call({"model": "no/such-model", "messages": QUESTION},
                                             TRACE))


@given(st.integers(0, 2**31 - 2), st.integers(1, 50))
def test_attempt_seeds_are_distinct_and_reproducible(seed: int, attempts: int) -> None:
    seeds = [attempt_seed(seed, a) for a in range(attempts + 1)]
    assert seeds[0] == seed
    assert len(set(seeds)) == len(seeds)
    assert seeds == [attempt_seed(seed, a) for a in range(attempts + 1)]
