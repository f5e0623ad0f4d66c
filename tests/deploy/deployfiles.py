"""Reading the deploy files: Kubernetes manifests, the compose file, .env.example, Dockerfiles.

Plain functions that the tests in this folder share. Nothing here talks to a network or a
Docker engine: everything is parsed from the files in the repository.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILES = {"proxy": DEPLOY / "proxy.Dockerfile", "reward": DEPLOY / "reward.Dockerfile"}

KUSTOMIZATION = "kustomization.yaml"


# --- Kubernetes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Manifest:
    path: Path
    index: int
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}#{self.index} {self.kind}/{self.name}"


def k8s_manifest_files() -> list[Path]:
    """Every YAML file under deploy/k8s except the kustomizations."""
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != KUSTOMIZATION)


def kustomization_files() -> list[Path]:
    return sorted(K8S.rglob(KUSTOMIZATION))


def load_manifests(paths: list[Path] | None = None) -> list[Manifest]:
    out = []
    for path in paths if paths is not None else k8s_manifest_files():
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc is not None:
                out.append(Manifest(path, i, doc))
    return out


def kustomize_resources(directory: Path) -> list[Path]:
    """The manifest files a kustomization (base, component or overlay) pulls in, recursively:
    `resources` and `components` entries that are directories are followed."""
    data = yaml.safe_load((directory / KUSTOMIZATION).read_text())
    out: list[Path] = []
    for entry in [*data.get("resources", []), *data.get("components", [])]:
        target = (directory / entry).resolve()
        if target.is_dir():
            out.extend(kustomize_resources(target))
        else:
            out.append(target)
    return out


def pod_specs(manifests: list[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    for m in manifests:
        if m.kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield m, m.doc["spec"]["template"]["spec"]


def by_kind_name(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    return {(m.kind, m.name): m for m in manifests}


def container_env(spec: dict[str, Any], container: dict[str, Any],
                  manifests: list[Manifest]) -> tuple[dict[str, str], dict[str, str]]:
    """The environment a container gets from `envFrom` and `env`, and the settings files it
    mounts: (env, {mount path of a file: its text}) for Secrets and ConfigMaps in `manifests`.
    A value from a secretKeyRef / configMapKeyRef is resolved too; other valueFrom gives ''."""
    objects = by_kind_name(manifests)

    def data_of(kind: str, name: str) -> dict[str, str]:
        m = objects.get((kind, name))
        assert m is not None, f"{kind}/{name} is referenced but not defined in deploy/k8s"
        return {**m.doc.get("data", {}), **m.doc.get("stringData", {})}

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(data_of("ConfigMap", source["configMapRef"]["name"]))
        if "secretRef" in source:
            env.update(data_of("Secret", source["secretRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            ref = item.get("valueFrom", {})
            if "secretKeyRef" in ref:
                env[item["name"]] = data_of("Secret", ref["secretKeyRef"]["name"])[
                    ref["secretKeyRef"]["key"]]
            elif "configMapKeyRef" in ref:
                env[item["name"]] = data_of("ConfigMap", ref["configMapKeyRef"]["name"])[
                    ref["configMapKeyRef"]["key"]]
            else:
                env[item["name"]] = ""
    files: dict[str, str] = {}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "secret" in volume:
            data = data_of("Secret", volume["secret"]["secretName"])
        elif "configMap" in volume:
            data = data_of("ConfigMap", volume["configMap"]["name"])
        else:
            continue
        for key, text in data.items():
            files[f"{mount['mountPath'].rstrip('/')}/{key}"] = text
    return env, files


# --- Compose ---------------------------------------------------------------------------------

def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, ${VAR+alt}, $VAR
_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def compose_variables(value: Any) -> set[str]:
    """The variables docker compose interpolates in a (parsed) compose file."""
    found: set[str] = set()
    if isinstance(value, str):
        for m in _VAR.finditer(value.replace("$$", "")):
            found.add(m.group("braced") or m.group("bare"))
            if m.group("arg"):
                found |= compose_variables(m.group("arg"))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            found |= compose_variables(k) | compose_variables(v)
    elif isinstance(value, list):
        for v in value:
            found |= compose_variables(v)
    return found


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """docker compose's interpolation of `${...}` (the forms above; `$$` is a literal `$`)."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name = m.group("braced") or m.group("bare")
            op, arg = m.group("op"), interpolate(m.group("arg") or "", variables)
            is_set = name in variables
            nonempty = is_set and variables[name] != ""
            if op in (":-", "-"):
                use_default = not nonempty if op == ":-" else not is_set
                return str(arg) if use_default else variables[name]
            if op in (":?", "?"):
                missing = not nonempty if op == ":?" else not is_set
                if missing:
                    raise KeyError(f"{name}: {arg or 'required'}")
                return variables[name]
            if op in (":+", "+"):
                present = nonempty if op == ":+" else is_set
                return str(arg) if present else ""
            return variables.get(name, "")

        parts = value.split("$$")
        return "$".join(_VAR.sub(sub, part) for part in parts)
    if isinstance(value, Mapping):
        return {interpolate(k, variables): interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    return value


def service_environment(service: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    """A compose service's container environment after interpolation. A key with no value is
    passed through from the compose environment (here `variables`), or left out when unset."""
    raw = service.get("environment", {})
    items: list[tuple[str, Any]]
    if isinstance(raw, list):
        items = [(e.split("=", 1)[0], e.split("=", 1)[1] if "=" in e else None) for e in raw]
    else:
        items = list(raw.items())
    env: dict[str, str] = {}
    for key, value in items:
        if value is None:
            if key in variables:
                env[key] = variables[key]
            continue
        env[key] = _env_str(interpolate(value, variables))
    return env


def _env_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- .env.example --------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^(?P<commented>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass
class EnvExample:
    values: dict[str, str] = field(default_factory=dict)  # the active assignments
    optional: dict[str, str] = field(default_factory=dict)  # `# NAME=value` lines

    @property
    def documented(self) -> set[str]:
        return set(self.values) | set(self.optional)


def load_env_example(path: Path = ENV_EXAMPLE) -> EnvExample:
    out = EnvExample()
    for line in path.read_text().splitlines():
        m = _ENV_LINE.match(line.strip())
        if not m:
            continue
        value = m.group("value").strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        (out.optional if m.group("commented") else out.values)[m.group("name")] = value
    return out


# --- Dockerfiles -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    buffer = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, args = buffer.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
        buffer = ""
    return out


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    return instructions[starts[-1]:]


def image_env(service: str, *, model_id: str = "") -> dict[str, str]:
    """The environment a service's image sets, built with `--build-arg MODEL_ID=model_id`."""
    stage = final_stage(dockerfile_instructions(DOCKERFILES[service]))
    return dockerfile_env(stage, {"MODEL_ID": model_id})


def exec_form(args: str) -> list[str]:
    """The argv of an exec-form ENTRYPOINT / CMD (a JSON list); shell form is split like sh."""
    args = args.strip()
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value
    return ["/bin/sh", "-c", args] if args else []


def dockerfile_env(instructions: list[Instruction],
                   build_args: Mapping[str, str]) -> dict[str, str]:
    """ENV of a stage, with ${ARG}, ${ARG:-x} and ${ARG:+x} resolved from the build args."""
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        tokens = shlex.split(ins.args)
        if len(tokens) >= 2 and "=" not in tokens[0]:  # legacy `ENV KEY value`
            tokens = [f"{tokens[0]}={' '.join(tokens[1:])}"]
        for token in tokens:
            key, _, value = token.partition("=")
            env[key] = str(interpolate(value, {**build_args, **env}))
    return env


def entrypoint(service: str) -> list[str]:
    """The start command of a service's image: the final stage's exec-form ENTRYPOINT (no CMD)."""
    stage = final_stage(dockerfile_instructions(DOCKERFILES[service]))
    assert not [i for i in stage if i.keyword == "CMD"], "the start command is the ENTRYPOINT"
    [found] = [i for i in stage if i.keyword == "ENTRYPOINT"]
    return exec_form(found.args)
