"""The keys file: named keys found by their digest, each with its grant; a wrong file stops the
proxy naming the entry, and never printing a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.api.schemas import ChatRequest
from proxy.engine.policies import resolve
from proxy.exceptions import ConfigError, PolicyNotAllowed
from proxy.keys import ANONYMOUS, hash_key, load_keyring
from proxy.settings import Settings

KEYS = f"""
keys:
  - name: team-a
    sha256: {hash_key("key-a")}
    models: [alpha]
  - name: team-b
    key: key-b
    policy: zerothink
    allowed_policies: [safethink, none]
    request_overrides: [policy, tau]
"""


def keys_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    return path


def settings(tmp_path: Path, text: str = KEYS, **values: object) -> Settings:
    return Settings(api_keys_file=keys_file(tmp_path, text), **values)  # type: ignore[arg-type]


def chat(**options: object) -> ChatRequest:
    return ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "q"}],
                                       **({"safethink": options} if options else {})})


def test_a_key_is_found_by_its_digest_in_either_header(tmp_path: Path) -> None:
    keyring = load_keyring(settings(tmp_path, api_keys=["legacy"]))
    a = keyring.caller(["key-a", ""])
    b = keyring.caller(["", "key-b"])
    assert a is not None and a.name == "team-a" and a.may_use("alpha") and not a.may_use("beta")
    assert b is not None and b.name == "team-b" and b.may_use("anything")
    assert keyring.caller(["legacy", ""]) is ANONYMOUS  # SAFETHINK_API_KEYS keeps working
    assert keyring.caller(["wrong", ""]) is None
    assert keyring.caller(["", ""]) is None


def test_no_keys_at_all_lets_everyone_in() -> None:
    assert load_keyring(Settings()).caller(["", ""]) is ANONYMOUS


def test_a_grant_replaces_the_deployments_policy_and_allow_lists(tmp_path: Path) -> None:
    base = settings(tmp_path, policy="safethink", request_overrides=["steer_steps"], tau=0.2)
    keyring = load_keyring(base)
    team_b = keyring.caller(["key-b"])
    team_a = keyring.caller(["key-a"])
    assert team_a is not None and team_a.grant is not None
    assert team_b is not None and team_b.grant is not None
    granted = team_b.grant.apply(base)
    assert granted.policy == "zerothink"
    assert granted.allowed_policies == ["zerothink", "safethink", "none"]
    assert granted.request_overrides == ["policy", "tau"]
    assert resolve(granted, chat(), None).policy == "zerothink"
    assert resolve(granted, chat(policy="none"), None).policy == "none"
    # the stricter-only rule stays: team-b may raise tau, not lower it
    assert resolve(granted, chat(tau=0.5), None).tau == 0.5
    with pytest.raises(PolicyNotAllowed, match="loosen"):
        resolve(granted, chat(tau=-0.5), None)
    # what a grant leaves out stays the deployment's
    kept = team_a.grant.apply(base)
    assert (kept.policy, kept.allowed_policies, kept.request_overrides) == (
        "safethink", ["safethink"], ["steer_steps"])
    with pytest.raises(PolicyNotAllowed):
        resolve(kept, chat(policy="none"), None)


@pytest.mark.parametrize(("text", "problem"), [
    ("keys: [{name: a}]", "entry 1 ('a'): Value error, give the key as exactly one of sha256"),
    ("keys: [{name: a, key: k, sha256: '" + "0" * 64 + "'}]", "exactly one of sha256"),
    ("keys: [{name: a, sha256: abc}]", "entry 1 ('a'): sha256: String should match pattern"),
    ("keys: [{name: a, key: '  '}]", "key is empty"),
    ("keys: [{name: 'a b', key: k}]", "entry 1 ('a b'): name: String should match pattern"),
    ("keys: [{name: a, key: k, policy: yolo}]", "entry 1 ('a'): policy:"),
    ("keys: [{name: a, key: k, request_overrides: [temperature]}]", "request_overrides.0:"),
    ("keys: [{name: a, key: k, models: []}]", "models: List should have at least 1 item"),
    ("keys: [{name: a, key: k, admin: true}]", "admin: Extra inputs are not permitted"),
    ("keys: [{name: a, key: k1}, {name: a, key: k2}]", "entry 2 ('a'): the name 'a' is used twice"),
    ("keys: [{name: a, key: k1}, {name: b, sha256: " + hash_key("k1") + "}]",
     "entry 2 ('b'): the same key as 'a'"),
    ("keys: {a: 1}", "must hold a list under 'keys:'"),
])
def test_a_wrong_file_names_the_entry_and_the_problem(tmp_path: Path, text: str,
                                                      problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_keyring(settings(tmp_path, text))
    message = caught.value.message
    assert message.startswith(f"SAFETHINK_API_KEYS_FILE ({tmp_path / 'keys.yaml'}): ")
    assert problem in message
    for secret in ("k1", "k2"):
        assert f"'{secret}'" not in message


def test_a_keys_models_must_be_listed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"entry 1 \('team-a'\): models not in "
                                          "SAFETHINK_MODELS: alpha"):
        load_keyring(settings(tmp_path), models=["beta"])
    assert load_keyring(settings(tmp_path), models=["alpha"]).named


def test_the_number_of_keys_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"2 entries .* limit of 1 .*SAFETHINK_MAX_API_KEYS"):
        load_keyring(settings(tmp_path, max_api_keys=1))
