"""The models served, each on its own server(s) with its own settings: the models file
(``SAFETHINK_MODELS``).

```yaml
models:
  - name: deepseek-r1                   # the model name clients send (and the server knows)
    upstream: http://gpu-1:8000/v1      # its server's OpenAI base URL, or a list of replicas
    continuation: chat                  # any of the per-model settings below, else the
    tau: 0.1                            # deployment's
  - name: qwq
    upstream: [http://gpu-2:8000/v1, http://gpu-3:8000/v1]
    think_open: "<reasoning>"
    think_close: "</reasoning>"
```

Each model's settings are the deployment's with the model's own values over them, validated once
at start by the same rules (a ``tau`` of 2 fails as ``SAFETHINK_TAU=2`` does); a relative
``chat_template`` is read from beside the models file. Every request is served with the
settings of its model (``Incoming.settings``), on that model's server: its continuation mode,
its think tags, its steering knobs.

With the file, only the listed models are served: ``GET /v1/models`` lists them, and any other
model is a 404 ``model_not_found``. Without it, every request goes to ``SAFETHINK_UPSTREAM_URL``
with the deployment's settings, as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from proxy.configfiles import describe, entry_name, read_entries
from proxy.exceptions import ConfigError, ModelNotFound
from proxy.keys import Caller
from proxy.metrics import OTHER
from proxy.settings import ContinuationMode, PolicyName, Settings
from proxy.upstream.client import Upstream
from proxy.upstream.pool import Health, redact_url
from proxy.upstream.probe import Learned
from proxy.upstream.templates import TemplateCache

SETTING = "SAFETHINK_MODELS"
_GRANTED_MAX = 4096


class ModelEntry(BaseModel):
    """One model of the models file: its name, its server, and its own settings."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=256)
    upstream: list[str] = Field(min_length=1)
    upstream_api_key: SecretStr | None = None
    continuation: ContinuationMode | None = None
    tokenizer: str | None = None
    chat_template: Path | None = None
    think_open: str | None = None
    think_close: str | None = None
    step_delimiter: str | None = None
    max_step_chars: int | None = None
    release: Literal["step", "sentence"] | None = None
    max_sentence_chars: int | None = None
    policy: PolicyName | None = None
    tau: float | None = None
    steer_steps: int | None = None
    resamples: int | None = None
    steering_prefix: str | None = None

    @field_validator("upstream", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("upstream")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        cleaned = [url.strip().rstrip("/") for url in urls]
        if any(not url.startswith(("http://", "https://")) for url in cleaned):
            raise ValueError("each upstream must be an http:// or https:// base URL")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("an upstream URL is listed twice")
        return cleaned

    def overrides(self, folder: Path) -> dict[str, Any]:
        """The settings this model sets, over the deployment's."""
        values = self.model_dump(exclude={"name", "upstream"}, exclude_none=True)
        values["upstream_url"] = self.upstream[0]
        if self.upstream_api_key is not None:
            values["upstream_api_key"] = self.upstream_api_key  # dumped, it would be masked
        if self.chat_template is not None and not self.chat_template.is_absolute():
            values["chat_template"] = folder / self.chat_template
        return values


@dataclass(frozen=True)
class ModelSpec:
    """A listed model, read and validated at start."""

    name: str
    settings: Settings
    urls: tuple[str, ...]


def load_models(settings: Settings) -> list[ModelSpec]:
    """The models of ``SAFETHINK_MODELS`` (none without it); ConfigError names the entry that
    is wrong and why."""
    path = settings.models
    if path is None:
        return []
    entries = read_entries(SETTING, path, "models", settings.max_models)
    base = settings.model_dump()
    specs: dict[str, ModelSpec] = {}
    for index, raw in enumerate(entries):
        where = f"{SETTING} ({path}): {entry_name(index, raw)}"
        try:
            entry = ModelEntry.model_validate(raw)
            own = Settings.model_validate({**base, **entry.overrides(path.parent)})
        except ValidationError as exc:
            raise ConfigError(f"{where}: {describe(exc)}") from exc
        if entry.name in specs:
            raise ConfigError(f"{where}: the name {entry.name!r} is listed twice")
        if len(entry.upstream) > settings.max_model_urls:
            raise ConfigError(f"{where}: {len(entry.upstream)} upstream URLs, more than the limit "
                              f"of {settings.max_model_urls} (SAFETHINK_MAX_MODEL_URLS)")
        specs[entry.name] = ModelSpec(entry.name, own, tuple(entry.upstream))
    return list(specs.values())


@dataclass(frozen=True)
class Route:
    """Where one model's requests go, and what serves them there."""

    name: str | None  # the listed name; None: no models file, the one upstream
    settings: Settings
    upstream: Upstream
    templates: TemplateCache
    learned: Learned  # what ``auto`` continuation learned of this model's server

    @property
    def label(self) -> str:
        """The model as the metrics name it."""
        return self.name or OTHER

    @classmethod
    def of(cls, name: str | None, settings: Settings, session: aiohttp.ClientSession,
           health: Health, urls: Iterable[str] = ()) -> Route:
        upstream = Upstream(session, settings, tuple(urls), health)
        return cls(name, settings, upstream, TemplateCache(settings), Learned(settings))


class Catalog:
    """The routes of the models served, and the settings of each model for each caller."""

    def __init__(self, default: Route, listed: Mapping[str, Route]) -> None:
        self.default = default
        self.listed = dict(listed)
        # (model, key name): the model's settings with the key's grant, made once each, up to
        # _GRANTED_MAX of them (past it they are made per request: a copy, some microseconds).
        self._granted: dict[tuple[str | None, str], Settings] = {}

    @classmethod
    def build(cls, settings: Settings, specs: Iterable[ModelSpec],
              session: aiohttp.ClientSession) -> Catalog:
        health = Health(settings.upstream_retry_s)
        default = Route.of(None, settings, session, health)
        listed = {spec.name: Route.of(spec.name, spec.settings, session, health, spec.urls)
                  for spec in specs}
        return cls(default, listed)

    def route(self, model: str, caller: Caller) -> Route:
        """The route of ``model`` for ``caller``; ModelNotFound when it is not listed or not
        the caller's to use."""
        route = self.listed.get(model) if self.listed else self.default
        if route is None or not caller.may_use(model):
            raise ModelNotFound(model)
        return route

    def settings_for(self, route: Route, caller: Caller) -> Settings:
        grant = caller.grant
        if grant is None:
            return route.settings
        key = (route.name, grant.name)
        if (settings := self._granted.get(key)) is None:
            settings = grant.apply(route.settings)
            if len(self._granted) < _GRANTED_MAX:
                self._granted[key] = settings
        return settings

    def names(self, caller: Caller) -> list[str]:
        """The listed models that ``caller`` may use."""
        return [name for name in self.listed if caller.may_use(name)]

    def label(self, model: str) -> str:
        return model if model in self.listed else OTHER

    def routes(self) -> list[Route]:
        """The routes requests can take: the listed ones, else the default."""
        return list(self.listed.values()) or [self.default]

    async def check(self) -> UpstreamsCheck:
        """Each upstream URL probed once, however many models it serves."""
        routes = self.routes()
        owners: dict[str, Upstream] = {}
        for route in routes:
            for url in route.upstream.urls:
                owners.setdefault(url, route.upstream)
        problems = await asyncio.gather(*(up.check_url(url) for url, up in owners.items()))
        found = dict(zip(owners, problems, strict=True))
        cut = [route for route in routes if all(found[url] for url in route.upstream.urls)]
        return UpstreamsCheck({redact_url(url): problem for url, problem in found.items()},
                              [route.label for route in cut])


@dataclass(frozen=True)
class UpstreamsCheck:
    """What ``/readyz`` says of the upstreams."""

    urls: dict[str, str | None]  # each URL (credentials cut): None when it answers, else why not
    unserved: list[str]  # the models none of whose URLs answers

    @property
    def ready(self) -> bool:
        return not self.unserved

    def summary(self) -> str | None:
        """None when every URL answers, else what is wrong, in a line."""
        down = [problem for problem in self.urls.values() if problem is not None]
        if not down:
            return None
        if len(self.urls) == 1:
            return down[0]
        served = "" if self.ready else f"; no server for {', '.join(self.unserved)}"
        return f"{len(down)} of {len(self.urls)} upstream URLs unreachable ({down[0]}){served}"
