"""The real upstream servers start and stream (see tests/support/servers.py for their quirks)."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.support.servers import (
    ModelServer,
    gguf_chat_template,
    llama_cpp_available,
    smollm2_gguf,
    tiny_model_dir,
)

pytestmark = pytest.mark.e2e

LLAMA_SKIP = llama_cpp_available()
needs_llama = pytest.mark.skipif(LLAMA_SKIP is not None, reason=f"llama.cpp: {LLAMA_SKIP}")

MESSAGES = [{"role": "user", "content": "How do I bake bread?"}]
RAW_CHATML = "<|im_start|>user\nHow do I bake bread?<|im_end|>\n<|im_start|>assistant\n"


async def sse_events(server: ModelServer, path: str, body: dict) -> list[str]:
    """The `data:` payloads of one streaming call, in order."""
    events: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        async with client.stream("POST", path, json=body) as resp:
            assert resp.status_code == 200, await resp.aread()
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    events.append(line[len("data: "):])
    return events


async def stream_chat_sdk(server: ModelServer, **extra: object) -> tuple[str, list[object]]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="unused") as client:
        stream = await client.chat.completions.create(
            model=server.model, messages=MESSAGES, stream=True, max_tokens=12, seed=1,
            **extra,  # type: ignore[arg-type]
        )
        chunks = [chunk async for chunk in stream]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    text = "".join((d.content or "") + (getattr(d, "reasoning_content", "") or "") for d in deltas)
    return text, chunks


# ------------------------------------------------------------------ transformers serve


def test_tiny_model_template_is_a_reasoning_template() -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir())
    assert tok.eos_token == "<|im_end|>"
    prompt = tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert prompt == RAW_CHATML
    history = [*MESSAGES, {"role": "assistant", "content": "<think>\nplan\n</think>\n\nAnswer"},
               {"role": "user", "content": "More?"}]
    rendered = tok.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>assistant\nAnswer<|im_end|>" in rendered  # old thinking dropped
    assert "plan" not in rendered
    ids = tok("<think>\nx</think>")["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "<think>\nx</think>"


# The proxy always asks for `stream_options.include_usage`, so these do too: transformers up to
# 5.24 put usage on the finish_reason chunk, asked for or not; 5.25 sends it only when asked, in
# a chunk of its own after that one (no choices), as OpenAI does. Either way it is the last event.
USAGE = {"stream_options": {"include_usage": True}}


async def test_transformers_chat_stream(tiny_transformers: ModelServer) -> None:
    text, chunks = await stream_chat_sdk(tiny_transformers, **USAGE)
    assert text
    finish = [c for c in chunks if c.choices][-1]  # type: ignore[attr-defined]
    assert finish.choices[0].finish_reason in ("length", "stop")  # type: ignore[attr-defined]
    last = chunks[-1]
    assert last.usage is not None and last.usage.completion_tokens > 0  # type: ignore[attr-defined]


async def test_transformers_chat_stream_raw_ends_without_done(
        tiny_transformers: ModelServer) -> None:
    events = await sse_events(tiny_transformers, "/v1/chat/completions",
                              {"messages": MESSAGES, "stream": True, "max_tokens": 6, **USAGE})
    assert events[-1] != "[DONE]"
    chunks = [json.loads(e) for e in events]
    finish = [c for c in chunks if c["choices"]][-1]
    assert finish["choices"][0]["finish_reason"] and chunks[-1]["usage"]["completion_tokens"] == 6


async def test_transformers_completions_stream_raw_chatml(tiny_transformers: ModelServer) -> None:
    events = await sse_events(tiny_transformers, "/v1/completions", {
        "model": tiny_transformers.model, "prompt": RAW_CHATML, "stream": True, "max_tokens": 8,
        "seed": 3, **USAGE})
    chunks = [json.loads(e) for e in events]
    assert "[DONE]" not in events
    choices = [c["choices"][0] for c in chunks if c["choices"]]
    assert "".join(choice["text"] for choice in choices)
    assert choices[-1]["finish_reason"] in ("length", "stop")
    assert chunks[-1]["usage"]["prompt_tokens"] > 0


async def test_transformers_rejects_unknown_fields(tiny_transformers: ModelServer) -> None:
    async with openai.AsyncOpenAI(base_url=tiny_transformers.base_url, api_key="unused") as client:
        with pytest.raises(openai.UnprocessableEntityError):
            await client.chat.completions.create(
                model=tiny_transformers.model, messages=MESSAGES, max_tokens=2,
                extra_body={"continue_final_message": True, "add_generation_prompt": False})


# ------------------------------------------------------------------ llama-cpp-python


@needs_llama
def test_gguf_chat_template() -> None:
    template = gguf_chat_template(smollm2_gguf())
    assert "<|im_start|>" in template and "add_generation_prompt" in template


@needs_llama
async def test_llama_chat_stream(smollm2: ModelServer) -> None:
    text, chunks = await stream_chat_sdk(smollm2)
    assert text.strip()
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")


@needs_llama
async def test_llama_completions_stream_raw_chatml(smollm2: ModelServer) -> None:
    events = await sse_events(smollm2, "/v1/completions", {
        "prompt": RAW_CHATML, "stream": True, "max_tokens": 8, "seed": 3, "logprobs": 1})
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks).strip()
    assert chunks[0]["choices"][0]["logprobs"]["token_logprobs"]
    assert chunks[-1]["choices"][0]["finish_reason"] in ("length", "stop")
    assert all("usage" not in c for c in chunks)
