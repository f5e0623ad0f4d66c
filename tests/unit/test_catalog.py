"""The models file: each model's settings are the deployment's with its own over them, and a
wrong file stops the proxy with a message naming the file, the entry and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from proxy.app import create_app
from proxy.catalog import load_models
from proxy.exceptions import ConfigError
from proxy.settings import Settings


def models_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def load(tmp_path: Path, text: str, **settings: object) -> list[tuple[str, Settings]]:
    config = Settings(models=models_file(tmp_path, text), **settings)  # type: ignore[arg-type]
    return [(spec.name, spec.settings) for spec in load_models(config)]


def test_a_model_has_the_deployments_settings_with_its_own_over_them(tmp_path: Path) -> None:
    (alpha, a), (beta, b) = load(tmp_path, """
models:
  - name: alpha
    upstream: http://gpu-1:8000/v1/
  - name: beta
    upstream: [http://gpu-2:8000/v1, http://gpu-3:8000/v1]
    upstream_api_key: beta-secret
    continuation: completions
    chat_template: templates/beta.jinja
    think_open: "<reasoning>"
    think_close: "</reasoning>"
    policy: none
    tau: 0.5
    steer_steps: 1
    release: step
""", tau=0.25, steer_steps=5)
    assert (alpha, beta) == ("alpha", "beta")
    assert a.upstream_url == "http://gpu-1:8000/v1" and a.tau == 0.25 and a.steer_steps == 5
    assert a.think_open == "<think>" and a.continuation == "auto"
    assert b.upstream_url == "http://gpu-2:8000/v1"
    assert b.upstream_api_key == SecretStr("beta-secret")
    assert (b.continuation, b.think_open, b.think_close) == ("completions", "<reasoning>",
                                                             "</reasoning>")
    assert (b.tau, b.steer_steps, b.release) == (0.5, 1, "step")
    # a relative template is beside the models file; the model's policy is always allowed
    assert b.chat_template == tmp_path / "templates" / "beta.jinja"
    assert b.policy == "none" and "none" in b.allowed_policies


def test_without_a_models_file_nothing_is_listed() -> None:
    assert load_models(Settings()) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("models: [{name: a, upstream: http://x/v1, tau: 2}]", "entry 1 ('a'): tau: Input should be"),
    ("models: [{name: a, upstream: http://x/v1, policy: yolo}]", "entry 1 ('a'): policy:"),
    ("models: [{name: a, upstream: http://x/v1, think_open: ''}]", "think_open: Value error, "
                                                                    "must not be empty"),
    ("models: [{name: a, upstream: http://x/v1, temperature: 1}]",
     "entry 1 ('a'): temperature: Extra inputs are not permitted"),
    ("models: [{name: a}]", "entry 1 ('a'): upstream: Field required"),
    ("models: [{name: a, upstream: 'gpu-1:8000'}]", "http:// or https://"),
    ("models: [{name: a, upstream: [http://x/v1, http://x/v1/]}]", "listed twice"),
    ("models: [{name: a, upstream: http://x/v1}, {name: a, upstream: http://y/v1}]",
     "entry 2 ('a'): the name 'a' is listed twice"),
    ("models: [{upstream: http://x/v1}]", "entry 1: name: Field required"),
    ("models: []", "'models:' is empty"),
    ("- name: a", "must hold a list under 'models:'"),
    ("models: [{name: a, upstream: http://x/v1}]\ntau: 1", "unknown top-level keys tau"),
    ("models: [{name: a\n", "not valid YAML at line"),
])
def test_a_wrong_file_names_the_entry_and_the_problem(tmp_path: Path, text: str,
                                                      problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = caught.value.message
    assert message.startswith(f"SAFETHINK_MODELS ({tmp_path / 'models.yaml'}): ")
    assert problem in message


def test_limits_on_models_and_urls(tmp_path: Path) -> None:
    three = "models:\n" + "".join(f"  - {{name: m{i}, upstream: http://x/v1}}\n" for i in range(3))
    with pytest.raises(ConfigError, match=r"3 entries .* more than the limit of 2 .*MAX_MODELS"):
        load(tmp_path, three, max_models=2)
    urls = "models: [{name: a, upstream: [http://x/v1, http://y/v1, http://z/v1]}]"
    with pytest.raises(ConfigError, match=r"entry 1 .*3 upstream URLs, more than the limit of 2"):
        load(tmp_path, urls, max_model_urls=2)


def test_an_upstream_key_is_never_in_the_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "models: [{name: a, upstream: http://x/v1, upstream_api_key: [s3cr3t]}]")
    assert "upstream_api_key" in caught.value.message and "s3cr3t" not in caught.value.message


def test_a_missing_file_fails_when_the_app_is_built(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"SAFETHINK_MODELS \(.*nope.yaml\): cannot be read"):
        create_app(Settings(models=tmp_path / "nope.yaml"))


def test_the_shipped_example_files_load(tmp_path: Path) -> None:
    import yaml

    from proxy.keys import load_keyring

    examples = Path(__file__).parents[2] / "deploy" / "config"
    config = Settings(models=examples / "models.example.yaml",
                      api_keys_file=examples / "keys.example.yaml")
    names = [spec.name for spec in load_models(config)]
    assert len(names) == 2
    assert [grant.name for grant in load_keyring(config, names).named.values()] == [
        "chat-frontend", "red-team"]
    manifests = Path(__file__).parents[2] / "deploy" / "k8s" / "proxy-config.yaml"
    configmap = next(doc for doc in yaml.safe_load_all(manifests.read_text())
                     if doc["metadata"]["name"] == "safethink-proxy-models")
    assert load(tmp_path, configmap["data"]["models.yaml"])
