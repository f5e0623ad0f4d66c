"""Messages to text: the linear merge says what the old quadratic one said, and the bounded read
(`recent_turns`, the engine's `prepare`) keeps the newest text and reports what it left out."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reward_service.engine import create_engine
from reward_service.schemas import ScoreItem
from reward_service.settings import RewardSettings
from reward_service.text import content_text, conversation, has_text, recent_turns


def naive_conversation(prompt: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The merge as it was written before (string `+=`): the reference for the linear one."""
    turns: list[dict[str, str]] = []
    for message in prompt:
        role = message.get("role")
        if role not in ("user", "assistant"):
            continue
        text = content_text(message.get("content"))
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": str(role), "content": text})
    if turns and turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": ""})
    return turns or [{"role": "user", "content": ""}]


texts = st.text(alphabet=st.sampled_from("ab \n\t"), max_size=6)
parts = st.one_of(texts, st.fixed_dictionaries({"type": st.just("text"), "text": texts}),
                  st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.just({})}))
contents = st.one_of(st.none(), texts, st.lists(parts, max_size=3))
messages = st.lists(st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system", "tool"]), "content": contents,
}), max_size=12)


@settings(max_examples=300, derandomize=True, database=None)
@given(messages)
def test_linear_merge_equals_the_naive_merge(prompt: list[dict[str, Any]]) -> None:
    assert conversation(prompt) == naive_conversation(prompt)


@settings(max_examples=300, derandomize=True, database=None)
@given(messages)
def test_recent_turns_within_its_caps_is_the_whole_conversation(
        prompt: list[dict[str, Any]]) -> None:
    turns, cut = recent_turns(prompt, max_turns=len(prompt) + 1, max_chars=10_000)
    assert not cut
    assert [{"role": r, "content": t} for r, t in turns] == naive_conversation(prompt)


@settings(max_examples=300, derandomize=True, database=None)
@given(contents)
def test_has_text_agrees_with_content_text(content: Any) -> None:
    assert has_text(content) == bool(content_text(content).strip())


def test_prepare_keeps_the_newest_turns_and_reports_the_rest() -> None:
    engine = create_engine(RewardSettings(device="cpu", max_prompt_turns=10,
                                          max_prompt_chars=1_000))
    chat = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"}
            for i in range(1_000)]
    prepared = engine.prepare(ScoreItem(prompt=chat))
    assert prepared.truncated
    assert [text for _, text in prepared.turns] == [f"turn {i}" for i in range(990, 1_000)]
    within = engine.prepare(ScoreItem(prompt=chat[-10:]))
    assert not within.truncated and within.turns == prepared.turns


def test_prepare_stops_reading_once_the_character_budget_is_spent() -> None:
    engine = create_engine(RewardSettings(device="cpu", max_prompt_turns=1_000,
                                          max_prompt_chars=100))
    chat = [{"role": "user", "content": "x" * 60} for _ in range(500)]
    chat[-1]["content"] = "NEWEST " + "y" * 60
    prepared = engine.prepare(ScoreItem(prompt=chat))
    assert prepared.truncated
    assert len(prepared.prompt) <= 100 and "NEWEST" in prepared.prompt
