"""Keys: an empty one never lets a request in, whether it comes from the settings or the header."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from .serving import dead_settings, serving

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Bearer \t ", "Basic x"])
async def test_no_token_is_401_even_if_an_empty_key_got_past_the_settings(
        authorization: str | None) -> None:
    # Settings refuse an empty key at start; the check must not rely on that alone.
    leaky = dead_settings(api_keys=["client-key"], admin_key="admin-key").model_copy(
        update={"api_keys": [SecretStr("client-key"), SecretStr("")],
                "admin_key": SecretStr("")})
    headers = {} if authorization is None else {"authorization": authorization}
    async with serving(leaky) as client:
        assert_401(await client.post("/v1/chat/completions", json=CHAT, headers=headers))
        assert_401(await client.get("/v1/models", headers=headers))
        assert_401(await client.get("/v1/safethink/stats", headers=headers))
        # the real keys still work
        stats = await client.get("/v1/safethink/stats",
                                 headers={"authorization": "Bearer client-key"})
        assert stats.status_code == 401  # a client key is not the admin key
        models = await client.get("/v1/models", headers={"authorization": "Bearer client-key"})
        assert models.status_code != 401


async def test_a_key_with_whitespace_around_it_matches_the_token() -> None:
    async with serving(dead_settings(api_keys=[" client-key\n"])) as client:
        ok = await client.get("/v1/models", headers={"authorization": "Bearer client-key"})
        assert ok.status_code != 401
        assert_401(await client.get("/v1/models"))


async def test_with_named_keys_the_admin_routes_need_the_admin_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  - name: team-a\n    key: team-a-key\n")
    team = {"authorization": "Bearer team-a-key"}
    async with serving(dead_settings(api_keys_file=keys)) as client:
        # no admin key set: one team's key must not read every team's records
        refused = await client.get("/v1/safethink/stats", headers=team)
        assert_401(refused)
        assert "SAFETHINK_ADMIN_KEY" in refused.json()["error"]["message"]
        assert (await client.get("/v1/models", headers=team)).status_code != 401
    async with serving(dead_settings(api_keys_file=keys, admin_key="admin-key")) as client:
        assert_401(await client.get("/v1/safethink/stats", headers=team))
        admin = await client.get("/v1/safethink/stats",
                                 headers={"authorization": "Bearer admin-key"})
        assert admin.status_code == 200
