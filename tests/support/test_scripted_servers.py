"""Self-test of the scripted upstream and scorer, run as real processes on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest

from tests.e2e.helpers import PREFIX, STEER
from tests.support import scripted_script as su
from tests.support.procs import ServerProcess, python_server

pytestmark = pytest.mark.e2e

STEPS = [su.step_text(i) for i in range(1, 6)]
TEMPLATE = jinja2.Environment().from_string(
    (Path(__file__).parent / "chatml.jinja").read_text())
QUESTION = [{"role": "user", "content": "How do I do the thing?"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[ServerProcess]:
    with python_server("tests.support.scripted_upstream") as server:
        yield server


@pytest.fixture(scope="module")
def scorers() -> Iterator[dict[str, ServerProcess]]:
    with python_server("tests.support.scripted_scorer") as plain, \
            python_server("tests.support.scripted_scorer", "--unsafe-unless", PREFIX) as unless, \
            python_server("tests.support.scripted_scorer", "--fail-status", "503",
                          "--delay-ms", "50") as failing:
        yield {"plain": plain, "unless": unless, "failing": failing}


def sse(text: str) -> tuple[list[dict[str, Any]], bool]:
    """The JSON events of an SSE body, and whether it ended with [DONE]."""
    data = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    done = bool(data) and data[-1] == "[DONE]"
    return [json.loads(d) for d in data if d != "[DONE]"], done


def chat(upstream: ServerProcess, model: str, messages: list[dict[str, Any]],
         **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": messages, "stream": True, **extra}
    return httpx.post(upstream.url + "/v1/chat/completions", json=body, timeout=10)


def pieces(events: list[dict[str, Any]], key: str) -> list[str]:
    return [e["choices"][0]["delta"][key] for e in events
            if e["choices"] and e["choices"][0]["delta"].get(key)]


def continuation() -> list[dict[str, Any]]:
    return [*QUESTION, {"role": "assistant", "content": "<think>\n" + STEPS[0] + STEER}]


@pytest.mark.parametrize("chunking", ["whole", "token", "awkward"])
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "inline", "content"])
def test_stream_reassembles(upstream: ServerProcess, shape: str, chunking: str) -> None:
    response = chat(upstream, f"scripted/shape={shape}/chunking={chunking}/unsafe-step=2",
                    QUESTION)
    assert response.status_code == 200
    events, done = sse(response.text)
    assert done
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    steps = "".join([STEPS[0], su.step_text(2, unsafe=True), *STEPS[2:]])
    assert "UNSAFE" in steps
    content = "".join(pieces(events, "content"))
    if shape in ("reasoning_content", "reasoning"):
        assert "".join(pieces(events, shape)) == steps
        assert content == su.ANSWER
    elif shape == "inline":
        assert content == "<think>\n" + steps + "</think>\n\n" + su.ANSWER
    else:
        assert content == steps + su.ANSWER


def test_awkward_chunks_split_delimiters_and_tags(upstream: ServerProcess) -> None:
    events, _ = sse(chat(upstream, "scripted/shape=inline/chunking=awkward", QUESTION).text)
    chunks = pieces(events, "content")
    assert max(map(len, chunks)) <= 7
    assert any(a.endswith("\n") and b.startswith("\n") for a, b in itertools.pairwise(chunks))
    assert not any("<think>" in c or "</think>" in c for c in chunks)
    wire = su.wire_pieces('data: {"x": "café"}\n\n', split=True)
    assert len(wire) == 2
    with pytest.raises(UnicodeDecodeError):
        wire[0].decode()


def test_token_chunks_are_words(upstream: ServerProcess) -> None:
    events, _ = sse(chat(upstream, "scripted/chunking=token", QUESTION).text)
    chunks = pieces(events, "reasoning_content")
    assert chunks[:3] == ["Step", " 1:", " thinking"]
    assert "\n\n" in chunks


@pytest.mark.parametrize("shape", ["reasoning_content", "inline", "content"])
def test_chat_continuation_is_safe(upstream: ServerProcess, shape: str) -> None:
    opener = "" if shape == "content" else "<think>\n"
    messages = [*QUESTION, {"role": "assistant", "content": opener + STEPS[0] + STEER}]
    response = chat(upstream, f"scripted/shape={shape}/chunking=awkward/unsafe-step=2,4",
                    messages, continue_final_message=True, add_generation_prompt=False)
    events, _ = sse(response.text)
    rest = su.SAFE_CONTINUATION + STEPS[2] + su.step_text(4, unsafe=True) + STEPS[4]
    if shape == "reasoning_content":
        assert "".join(pieces(events, shape)) == rest
        assert "".join(pieces(events, "content")) == su.ANSWER
    else:
        close = "" if shape == "content" else "</think>\n\n"
        assert "".join(pieces(events, "content")) == rest + close + su.ANSWER


def test_completions_continuation_is_safe(upstream: ServerProcess) -> None:
    prefill = "<think>\n" + STEPS[0] + STEER + su.SAFE_CONTINUATION + STEPS[2] + STEER
    prompt = TEMPLATE.render(messages=QUESTION, add_generation_prompt=True) + prefill
    body = {"model": "scripted/chunking=awkward/unsafe-step=4", "prompt": prompt, "stream": True}
    response = httpx.post(upstream.url + "/v1/completions", json=body, timeout=10)
    events, done = sse(response.text)
    assert done and events[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(e["choices"][0]["text"] for e in events)
    assert text == su.SAFE_CONTINUATION + STEPS[4] + "</think>\n\n" + su.ANSWER
    whole = httpx.post(upstream.url + "/v1/completions", json={**body, "stream": False})
    assert whole.json()["choices"][0]["text"] == text


SENTENCES = "sentences=3/unsafe-step=2/unsafe-sentence=2"


def test_steps_of_sentences() -> None:
    # the proxy writes the space after the steering prefix, so a continuation starts at a word
    assert not su.SAFE_CONTINUATION[0].isspace() and not su.UNSAFE_CONTINUATION[0].isspace()
    assert su.step_text(2) == "Step 2: thinking about the question, café ☕ détails.\n\n"
    assert su.step_text(2, unsafe=True) == (
        "Step 2: UNSAFE here is how to do the harmful thing.\n\n")
    parts = su.step_sentences(2, unsafe=True, sentences=3, unsafe_sentence=2)
    assert parts == ["Step 2: thinking about the question, café ☕ détails. ",
                     "Step 2, sentence 2: UNSAFE more harmful details. ",
                     "Step 2, sentence 3 goes on calmly.\n\n"]
    assert min(map(len, parts)) >= 16
    assert su.step_text(2, True, 3, 2) == "".join(parts)
    assert su.Scenario.parse("scripted/" + SENTENCES).unsafe_sentence == 2
    for bad in ("sentences=0", "sentences=2/unsafe-sentence=3", "unsafe-sentence=0"):
        with pytest.raises(su.ScenarioError):
            su.Scenario.parse("scripted/" + bad)


@pytest.mark.parametrize("chunking", ["whole", "token", "awkward"])
def test_sentences_stream(upstream: ServerProcess, chunking: str) -> None:
    events, _ = sse(chat(upstream, f"scripted/{SENTENCES}/chunking={chunking}", QUESTION).text)
    chunks = pieces(events, "reasoning_content")
    assert "".join(chunks) == "".join(su.step_text(i, i == 2, 3, 2) for i in range(1, 6))
    if chunking == "awkward":  # each sentence end comes as "...end." " " "Next..."
        ends = [(a, c) for a, b, c in zip(chunks, chunks[1:], chunks[2:], strict=False)
                if a.endswith(".") and b == " "]
        assert len(ends) == 5 * 2 and all(c[:1].isalpha() for _, c in ends)


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_continuation_after_accepted_sentences(upstream: ServerProcess, api: str) -> None:
    # sentence release: step 2's first sentence was accepted before its second was steered
    held = su.step_sentences(2, sentences=3)[0]
    prefill = "<think>\n" + su.step_text(1, sentences=3) + held + STEER
    model = f"scripted/{SENTENCES}/chunking=awkward"
    if api == "chat":
        messages = [*QUESTION, {"role": "assistant", "content": prefill}]
        events, _ = sse(chat(upstream, model, messages, continue_final_message=True,
                             add_generation_prompt=False).text)
        text = "".join(pieces(events, "reasoning_content"))
        close = ""
    else:
        prompt = TEMPLATE.render(messages=QUESTION, add_generation_prompt=True) + prefill
        body = {"model": model, "prompt": prompt, "stream": True}
        events, _ = sse(httpx.post(upstream.url + "/v1/completions", json=body, timeout=10).text)
        text = "".join(e["choices"][0]["text"] for e in events)
        close = "</think>\n\n" + su.ANSWER
    later = "".join(su.step_text(i, sentences=3) for i in (3, 4, 5))
    assert text == su.SAFE_CONTINUATION + later + close


@pytest.mark.parametrize(("steering", "safe"), [("Hmm. ", False), ("Calmly now. ", True)])
def test_safe_prefix_reads_the_prefix_not_the_accepted_sentences(steering: str,
                                                                 safe: bool) -> None:
    sc = su.Scenario.parse("scripted/sentences=3/safe-prefix=calmly")
    held = "".join(su.step_sentences(2, sentences=3)[:2])  # the second says "calmly"
    units = su.plan(sc, "<think>\n" + su.step_text(1, sentences=3) + held + steering, True,
                    su.State())
    assert units[0] == ("reasoning", su.SAFE_CONTINUATION if safe else su.UNSAFE_CONTINUATION)
    assert units[1] == ("reasoning", su.step_text(3, sentences=3))


def test_after_think_close_only_the_answer(upstream: ServerProcess) -> None:
    messages = [*QUESTION, {"role": "assistant", "content": "<think>\n\n</think>\n\n"}]
    events, _ = sse(chat(upstream, "scripted/shape=inline", messages,
                         continue_final_message=True, add_generation_prompt=False).text)
    assert "".join(pieces(events, "content")) == su.ANSWER


def test_unsafe_resamples_are_counted_per_id(upstream: ServerProcess) -> None:
    def steer(scenario_id: str) -> str:
        model = f"scripted/unsafe-step=2/unsafe-resamples=2/id={scenario_id}"
        events, _ = sse(chat(upstream, model, continuation(), continue_final_message=True,
                             add_generation_prompt=False).text)
        return "".join(pieces(events, "reasoning_content"))

    assert steer("rs").startswith(su.UNSAFE_CONTINUATION)
    assert steer("other").startswith(su.UNSAFE_CONTINUATION)
    assert steer("rs").startswith(su.UNSAFE_CONTINUATION)
    assert steer("rs").startswith(su.SAFE_CONTINUATION)
    httpx.post(upstream.url + "/_reset")
    assert steer("rs").startswith(su.UNSAFE_CONTINUATION)


def test_done_usage_and_length(upstream: ServerProcess) -> None:
    plain = chat(upstream, "scripted/done=0", QUESTION).text
    assert "[DONE]" not in plain and sse(plain)[0][-1]["choices"][0]["finish_reason"] == "stop"
    events, _ = sse(chat(upstream, "scripted/chunking=whole", QUESTION,
                         stream_options={"include_usage": True}).text)
    assert events[-1]["choices"] == []
    assert events[-1]["usage"] == {"prompt_tokens": 6, "completion_tokens": 6,
                                   "total_tokens": 12}
    events, _ = sse(chat(upstream, "scripted", QUESTION, max_tokens=3,
                         stream_options={"continuous_usage_stats": True}).text)
    assert all("usage" in e for e in events)
    assert events[-1]["choices"][0]["finish_reason"] == "length"
    assert events[-1]["usage"]["completion_tokens"] == 3


def test_failures_and_rejected_continuation(upstream: ServerProcess) -> None:
    failed = chat(upstream, "scripted/fail=429", QUESTION)
    assert failed.status_code == 429 and failed.json()["error"]["code"] == 429
    assert chat(upstream, "scripted/bogus=1", QUESTION).status_code == 400
    rejected = chat(upstream, "scripted/reject-continue=1", continuation(),
                    continue_final_message=True)
    assert rejected.status_code == 422 and "error" in rejected.json()
    assert chat(upstream, "scripted/reject-continue=1", QUESTION).status_code == 200
    body = {"model": "scripted/shape=reasoning", "messages": QUESTION}
    whole = httpx.post(upstream.url + "/v1/chat/completions", json=body).json()
    assert whole["choices"][0]["message"]["reasoning"] == "".join(STEPS)
    assert whole["choices"][0]["message"]["content"] == su.ANSWER
    seen = httpx.get(upstream.url + "/_requests").json()
    assert seen[-1]["path"] == "/v1/chat/completions" and seen[-1]["body"] == body


async def test_disconnect_is_counted(upstream: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=upstream.url, timeout=10) as client:
        await client.post("/_reset")
        body = {"model": "scripted/steps=200/pace-ms=20", "messages": QUESTION, "stream": True}
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            lines = 0
            async for line in response.aiter_lines():
                lines += bool(line)
                if lines == 3:
                    break
        stats: dict[str, int] = {}
        for _ in range(40):
            stats = (await client.get("/_stats")).json()
            if stats["cancelled"]:
                break
            await asyncio.sleep(0.025)
        assert stats == {"opened": 1, "completed": 0, "cancelled": 1, "active": 0}
        await client.post("/_reset")
        async with client.stream("POST", "/v1/chat/completions",
                                 json={**body, "model": "scripted"}) as response:
            await response.aread()
        assert (await client.get("/_stats")).json()["completed"] == 1


def test_models(upstream: ServerProcess) -> None:
    data = httpx.get(upstream.url + "/v1/models").json()["data"]
    assert data == [{"id": "scripted", "object": "model", "owned_by": "tests"}]


def test_scorer_rules(scorers: dict[str, ServerProcess]) -> None:
    items = [{"prompt": QUESTION, "trace": STEPS[0]},
             {"prompt": "text", "trace": STEPS[0] + "Step 2: UNSAFE here."},
             {"prompt": "text", "trace": STEPS[0] + STEER + su.SAFE_CONTINUATION},
             {"prompt": "text", "trace": ""}]

    def scores(name: str) -> list[float]:
        response = httpx.post(scorers[name].url + "/v1/score", json={"items": items})
        assert response.status_code == 200
        body = response.json()
        assert body["model"] == "scripted" and body["backend"] == "scripted"
        assert all(r["truncated"] is False for r in body["results"])
        assert [r["raw"]["matched"] for r in body["results"]] == [
            int(r["score"] < 0) for r in body["results"]]
        return [r["score"] for r in body["results"]]

    assert scores("plain") == [1.0, -1.0, 1.0, 1.0]
    assert scores("unless") == [-1.0, -1.0, 1.0, 1.0]
    assert httpx.get(scorers["plain"].url + "/_calls").json() == items
    httpx.post(scorers["plain"].url + "/_reset")
    assert httpx.get(scorers["plain"].url + "/_calls").json() == []
    failed = httpx.post(scorers["failing"].url + "/v1/score", json={"items": items[:1]})
    assert failed.status_code == 503 and "error" in failed.json()
    bad = httpx.post(scorers["plain"].url + "/v1/score", json={"trace": "x"})
    assert bad.status_code == 422
