"""What the fuzz tests of test_fuzz.py send: hypothesis strategies for request bodies (valid ones,
and valid ones with a place or two broken) and headers, and hand-picked malformed bodies."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from proxy.settings import POLICIES
from tests.support.scripted_script import CHUNKINGS, SHAPES

# Text that a valid request may carry (no lone surrogates), and text that it may not.
TRICKY = ["", " ", "\n\n", "   \n\n  ", "<think>", "</think>", "<think>\nx\n\n</think>", "UNSAFE",
          "\x00", "\u2028", "café ☕", "[[scripted:steps=1]]", "Step 1: UNSAFE\n\nStep 2"]
clean_texts = st.one_of(st.text(max_size=30), st.sampled_from(TRICKY))
texts = st.one_of(clean_texts, st.sampled_from(["\ud800", "a\udfffb"]))
numbers = st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.sampled_from([0, -1, 10**30]))
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8)


def usually(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` about four times in five, else ``bad``: most requests get past validation."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


@st.composite
def scripted_models(draw: st.DrawFn) -> str:
    """A scripted upstream's scenario (tests/support/scripted_upstream.py), unpaced."""
    steps = draw(st.integers(0, 6))
    options = {
        "shape": draw(st.sampled_from(SHAPES)),
        "steps": str(steps),
        "chunking": draw(st.sampled_from(CHUNKINGS)),
        "done": draw(st.sampled_from(["1", "1", "0"])),
    }
    unsafe = draw(st.sets(st.integers(1, max(steps, 1)), max_size=2))
    if unsafe:
        options["unsafe-step"] = ",".join(map(str, sorted(unsafe)))
        options["unsafe-resamples"] = str(draw(st.integers(0, 3)))
    if draw(st.integers(0, 3)) == 0:
        options["reject-continue"] = "1"
    if draw(st.integers(0, 9)) == 0:
        options["fail"] = str(draw(st.sampled_from([400, 404, 413, 422, 429])))
    options["id"] = f"fuzz-{draw(st.integers(0, 3))}"
    return "scripted/" + "/".join(f"{k}={v}" for k, v in options.items())


models = st.integers(0, 9).flatmap(
    lambda n: st.text(min_size=1, max_size=20) if n == 0 else scripted_models())
good_parts = st.fixed_dictionaries({"type": st.just("text"), "text": clean_texts})
contents = st.one_of(clean_texts, st.lists(good_parts, min_size=1, max_size=3))
messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "user", "system", "assistant", "developer"]),
     "content": contents},
    optional={"name": clean_texts})
options = st.fixed_dictionaries({}, optional={
    "policy": st.sampled_from(POLICIES),
    "tau": st.floats(-1, 1),
    "steer_steps": st.integers(0, 6),
    "resamples": st.integers(0, 4),
    "steering_prefix": st.sampled_from(["Wait, think safely.", "Safety first.", "\n\n"]),
    "show_prefix": st.booleans(),
    "fail_mode": st.sampled_from(["closed", "open"]),
})
stream_options = st.fixed_dictionaries({}, optional={"include_usage": st.booleans()})
chat_bodies = st.fixed_dictionaries(
    {"model": models, "messages": st.lists(messages, min_size=1, max_size=3)},
    optional={"stream": st.booleans(), "stream_options": stream_options,
              "max_tokens": st.integers(1, 200), "seed": st.integers(0, 2**31),
              "temperature": st.floats(0, 2), "safethink": options, "user": clean_texts})
completion_bodies = st.fixed_dictionaries(
    {"model": models,
     "prompt": st.one_of(clean_texts, st.lists(clean_texts, min_size=1, max_size=2))},
    optional={"stream": st.booleans(), "stream_options": stream_options,
              "max_tokens": st.integers(1, 200), "seed": st.integers(0, 2**31),
              "safethink": options})

# What a mutation puts in place of a valid value: wrong types, bounds, lone surrogates.
bad_values = st.one_of(
    json_values,
    st.sampled_from(["false", "true", "\ud800", "", 123, -1, 0, 65, 1.5, 10**20, 1e308, True,
                     None, [], {}, [{}], {"type": "text", "text": 123}, "x" * 501]),
    st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "bogus"])},
                                   optional={"text": json_values}), max_size=2))
BAD_KEYS = ["stream", "n", "logprobs", "top_logprobs", "max_tokens", "stream_options", "tools",
            "echo", "best_of", "suffix", "safethink", "colour", "content", "role", "text",
            "policy", "tau", "steer_steps", "resamples", "fail_mode", "show_prefix"]


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value, the value itself included."""
    found = [at]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*at, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> Any:
    """A valid body with one or two places broken: a value replaced by a bad one, a key
    dropped, or a key added."""
    body = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.sampled_from(paths(body)[1:]))  # a body not an object: elsewhere
        parent = body
        for part in at[:-1]:
            parent = parent[part]
        how = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if how == "replace":
            parent[at[-1]] = draw(bad_values)
        elif how == "drop" and isinstance(parent, dict):
            del parent[at[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(BAD_KEYS))] = draw(bad_values)
    return body


policy_headers = usually(
    st.one_of(st.just({}), st.builds(lambda p: {"x-safethink-policy": p},
                                     st.sampled_from(POLICIES))),
    st.builds(lambda p: {"x-safethink-policy": p}, st.sampled_from(["", "NONE", "bogus", " "])))


# Bodies the strategies above are unlikely to make: deep nesting, huge numbers, bad encodings.
MALFORMED = {
    "nested 5000 deep": b"[" * 5000 + b"]" * 5000,
    "objects nested 5000 deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "extra field nested 5000 deep": b'{"model":"scripted","messages":[{"role":"user","content":'
    b'"hi"}],"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
    "content nested 900 deep": b'{"model":"scripted","messages":[{"role":"user","content":'
    + b"[" * 900 + b"]" * 900 + b"}]}",
    "lone surrogate in content": b'{"model":"scripted","messages":[{"role":"user",'
    b'"content":"\\ud800"}]}',
    "lone surrogate, streamed": b'{"model":"scripted","stream":true,"messages":[{"role":"user",'
    b'"content":"\\ud800"}]}',
    "lone surrogate in model": b'{"model":"scripted\\udfff","messages":[{"role":"user",'
    b'"content":"hi"}]}',
    "lone surrogate in a text part": b'{"model":"scripted","messages":[{"role":"user","content"'
    b':[{"type":"text","text":"\\ud800"}]}]}',
    "text part 123": b'{"model":"scripted","messages":[{"role":"user","content":[{"type":"text",'
    b'"text":123}]}]}',
    "text part 123, streamed": b'{"model":"scripted","stream":true,"messages":[{"role":"user",'
    b'"content":[{"type":"text","text":123}]}]}',
    "stream as a string": b'{"model":"scripted","stream":"false","messages":[{"role":"user",'
    b'"content":"hi"}]}',
    "a 5000-digit number": b'{"model":"scripted","messages":[{"role":"user","content":"hi"}],'
    b'"max_tokens":1' + b"0" * 5000 + b"}",
    "1e999": b'{"model":"scripted","messages":[{"role":"user","content":"hi"}],'
    b'"temperature":1e999,"max_tokens":1e999}',
    "NaN": b'{"model":"scripted","messages":[{"role":"user","content":"hi"}],"seed":NaN}',
    "tau 1e999": b'{"model":"scripted","messages":[{"role":"user","content":"hi"}],'
    b'"safethink":{"tau":1e999}}',
    "invalid UTF-8": b'{"model":"scripted","messages":[{"role":"user","content":"\xff\xfe"}]}',
    "UTF-8 BOM": b'\xef\xbb\xbf{"model":"scripted","messages":[{"role":"user","content":"hi"}]}',
    "not JSON": b"\x00\x01\x02 not json",
    "empty body": b"",
    "empty object": b"{}",
    "empty list": b"[]",
    "null": b"null",
    "empty string": b'""',
    "empty messages": b'{"model":"scripted","messages":[]}',
    "empty message": b'{"model":"scripted","messages":[{}]}',
    "messages null": b'{"model":"scripted","messages":null}',
    "safethink null": b'{"model":"scripted","messages":[{"role":"user","content":"hi"}],'
    b'"safethink":null}',
    "prompt nested 5000 deep": b'{"model":"scripted","prompt":' + b"[" * 5000 + b"]" * 5000
    + b"}",
    "prompt lone surrogate": b'{"model":"scripted","prompt":"\\ud800"}',
    "prompt lone surrogate, streamed": b'{"model":"scripted","stream":true,"prompt":"\\ud800"}',
    "prompt 123, streamed": b'{"model":"scripted","stream":true,"prompt":123}',
}
