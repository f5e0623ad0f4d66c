"""The Messages API's keys, in process: ``x-api-key`` is checked against the same keys as a bearer
token, and an empty one never lets a request in."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from proxy.settings import Settings

from .serving import dead_settings, serving

MESSAGE = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def leaky(**values: Any) -> Settings:
    """Keys with an empty one among them: settings refuse it at start, the check must too."""
    good = dead_settings(api_keys=["client-key"], **values)
    return good.model_copy(update={"api_keys": [SecretStr("client-key"), SecretStr("")]})


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"x-api-key": "  "},
                                     {"x-api-key": "other"}, {"authorization": "Bearer"},
                                     {"x-api-key": "", "authorization": "Bearer "}])
async def test_no_key_is_an_authentication_error(headers: dict[str, str]) -> None:
    async with serving(leaky()) as client:
        answer = await client.post("/v1/messages", json=MESSAGE, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"type": "error", "error": {
            "type": "authentication_error",
            "message": "a valid API key is required: Authorization: Bearer <key> or "
                       "x-api-key: <key>"}}
        # the other APIs take the same header, and keep OpenAI's envelope
        chat = await client.post("/v1/chat/completions", json=MESSAGE, headers=headers)
        assert chat.status_code == 401 and chat.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("headers", [{"x-api-key": "client-key"},
                                     {"authorization": "Bearer client-key"},
                                     {"x-api-key": "wrong", "authorization": "Bearer client-key"}])
async def test_the_right_key_in_either_header_gets_in(headers: dict[str, str]) -> None:
    async with serving(leaky()) as client:
        # past the key: the body is read and validated (a 400 for what is missing)
        answer = await client.post("/v1/messages", json={"model": "m"}, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"]["type"] == "invalid_request_error"
