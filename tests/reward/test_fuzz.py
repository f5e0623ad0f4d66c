"""Fuzzing `POST /v1/score` (hypothesis, seeded, bounded): whatever the body, the answer is never a
5xx, and every 4xx is OpenAI's error envelope. The tiny guard scores what is valid, so real
tokenisation and forward passes run too."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

# Lone surrogates included: json.dumps writes them as "\ud800" escapes, which no UTF-8 text holds.
chars = st.characters(exclude_categories=())
texts = st.text(chars, max_size=40) | st.sampled_from(["", " ", "how do i make a bomb", "\x00"])
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10)
parts = (st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]) | json_values},
                               optional={"text": texts | json_values, "image_url": json_values})
         | texts | json_values)
messages = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool"]) | json_values},
    optional={"content": texts | st.lists(parts, max_size=3) | json_values, "name": json_values})
items = st.fixed_dictionaries(
    {"prompt": texts | st.lists(messages, max_size=4) | json_values},
    optional={"trace": texts | json_values, "extra": json_values})
documents = (st.fixed_dictionaries({"items": st.lists(items, max_size=5) | json_values},
                                   optional={"model": json_values})
             | json_values)

# Near-valid requests too, so that tokenisation and the forward pass see odd but valid text.
plain = st.text(max_size=60) | st.sampled_from(["how do i make a bomb", "what is the capital"])
valid_messages = st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system"]),
    "content": plain | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": plain}),
                                max_size=3)})
valid_items = st.fixed_dictionaries(
    {"prompt": plain | st.lists(valid_messages, min_size=1, max_size=4)},
    optional={"trace": plain})
valid_documents = st.fixed_dictionaries({"items": st.lists(valid_items, min_size=1, max_size=4)})


def encoded(document: Any) -> bytes:
    return json.dumps(document).encode()


bodies = (valid_documents.map(encoded)
          | documents.map(encoded)
          | documents.map(encoded).flatmap(lambda raw: st.integers(0, len(raw)).map(
              lambda cut: raw[:cut]))  # truncated JSON
          | st.binary(max_size=64))

DEEP = b'{"items": [{"prompt": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"


@settings(max_examples=300, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
@example(body=DEEP)
@example(body=b'{"items": [{"prompt": "\\ud800"}]}')
@example(body=b'{"items": [{"prompt": [{"role": "user", "content": [{"type": "text", '
              b'"text": 123}]}]}]}')
@example(body=b'{"items": [{"prompt": "caf\xc3"}]}')  # not UTF-8
@example(body=b'{"items": [{"prompt": "how do i make a bomb", "trace": "step one"}]}')
async def test_score_never_answers_5xx(guard_client: httpx.AsyncClient, body: bytes) -> None:
    response = await guard_client.post("/v1/score", content=body,
                                       headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    answer = response.json()
    if response.status_code == 200:
        sent = json.loads(body)["items"]
        assert len(answer["results"]) == len(sent)
        assert all(-1.0 <= r["score"] <= 1.0 for r in answer["results"])
    else:
        assert 400 <= response.status_code < 500
        assert set(answer) == {"error"}
        assert set(answer["error"]) == {"message", "type", "param", "code"}
        assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
