"""The upstream's chunk objects as the engine reads them: typed deltas, in the chunk's order."""

from __future__ import annotations

from proxy.upstream.deltas import Fields, Finished, Text, UsageReport, decode


def test_a_chat_chunk_gives_its_text_fields_then_the_rest_then_the_finish() -> None:
    chunk = {
        "usage": {"prompt_tokens": 3},
        "choices": [{"index": 0, "finish_reason": "tool_calls", "delta": {
            "role": "assistant", "reasoning_content": "think", "content": "say",
            "tool_calls": [{"index": 0, "id": "c1"}], "refusal": None}}],
    }
    assert decode(chunk, "chat") == [
        UsageReport({"prompt_tokens": 3}), Text("reasoning_content", "think"),
        Text("content", "say"), Fields({"tool_calls": [{"index": 0, "id": "c1"}]}),
        Finished("tool_calls"),
    ]


def test_a_completions_chunk_is_content_text() -> None:
    chunk = {"choices": [{"index": 0, "text": "<think>a", "finish_reason": None}]}
    assert decode(chunk, "completions") == [Text("content", "<think>a")]


def test_what_is_not_text_is_never_read_as_text() -> None:
    chunk = {"choices": [{"delta": {"content": 123, "reasoning": ""}}]}
    assert decode(chunk, "chat") == []


def test_a_usage_chunk_without_choices() -> None:
    assert decode({"choices": [], "usage": {"total_tokens": 9}}, "chat") == [
        UsageReport({"total_tokens": 9})]
