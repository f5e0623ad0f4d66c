"""Named client keys, each with what its caller may do: the keys file (``SAFETHINK_API_KEYS_FILE``).

```yaml
keys:
  - name: team-a                     # what the audit, the logs and the stats show
    sha256: 9f86d081884c7d65...      # sha256 of the key, in hex (or `key: the-key` in plain)
    policy: safethink                # this caller's default policy
    allowed_policies: [safethink]    # the policies its requests may pick
    request_overrides: []            # the knobs its requests may set
    models: [deepseek-r1]            # the models it may use (left out: every model)
```

A caller's grant replaces the deployment's (or the model's) ``policy``, ``allowed_policies`` and
``request_overrides`` for its requests; what it leaves out stays the deployment's. The rules
that bound an override (a request may only make the guard stricter, unless the deployment's
``override_*`` settings widen that) apply to every caller alike. A model the key may not use is
answered as a model that does not exist (404 ``model_not_found``), as OpenAI answers.

A presented key is hashed, and its digest looked up: the file never needs to hold a key itself.
The keys of ``SAFETHINK_API_KEYS`` keep working beside the file, with the deployment's grant and
no name.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from proxy.configfiles import describe, entry_name, read_entries
from proxy.exceptions import ConfigError
from proxy.settings import OverridableField, PolicyName, Settings

SETTING = "SAFETHINK_API_KEYS_FILE"


class KeyEntry(BaseModel):
    """One key of the keys file."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # It goes into logs, stats and Redis key names: plain characters only.
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")
    key: SecretStr | None = None
    policy: PolicyName | None = None
    allowed_policies: list[PolicyName] | None = None
    request_overrides: list[OverridableField] | None = None
    models: list[str] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_key(self) -> KeyEntry:
        if (self.sha256 is None) == (self.key is None):
            raise ValueError("give the key as exactly one of sha256 (its hex digest) or key")
        if self.key is not None and not self.key.get_secret_value().strip():
            raise ValueError("key is empty: it would match a request that sends none")
        return self

    def digest(self) -> bytes:
        if self.sha256 is not None:
            return bytes.fromhex(self.sha256)
        assert self.key is not None
        return _digest(self.key.get_secret_value().strip())


@dataclass(frozen=True)
class Grant:
    """What one named key may do; None: as the deployment (or the model) says."""

    name: str
    policy: PolicyName | None = None
    allowed_policies: tuple[PolicyName, ...] | None = None
    request_overrides: tuple[OverridableField, ...] | None = None
    models: frozenset[str] | None = None  # None: every model

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models

    def apply(self, settings: Settings) -> Settings:
        """``settings`` with this grant in place of its policy, allow-list and overrides."""
        policy = self.policy or settings.policy
        allowed = list(settings.allowed_policies if self.allowed_policies is None
                       else self.allowed_policies)
        if policy not in allowed:  # a request may always restate its own default
            allowed.insert(0, policy)
        overrides = settings.request_overrides if self.request_overrides is None else list(
            self.request_overrides)
        return settings.model_copy(update={
            "policy": policy, "allowed_policies": allowed, "request_overrides": overrides})


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the name of its key in the keys file and its grant, or neither (no
    keys are required, or the key is one of ``SAFETHINK_API_KEYS``)."""

    grant: Grant | None = None

    @property
    def name(self) -> str | None:
        return None if self.grant is None else self.grant.name

    def may_use(self, model: str) -> bool:
        return self.grant is None or self.grant.may_use(model)


ANONYMOUS = Caller()


class Keyring:
    """The client keys: the plain ones of ``SAFETHINK_API_KEYS`` and the named ones."""

    def __init__(self, plain: Iterable[str] = (), named: dict[bytes, Grant] | None = None) -> None:
        self.plain = list(plain)
        self.named = dict(named or {})

    @property
    def required(self) -> bool:
        return bool(self.plain or self.named)

    def caller(self, tokens: list[str]) -> Caller | None:
        """The caller whose key is among ``tokens``, or None when none matches."""
        # A digest is looked up, not compared: its time says nothing about a key.
        for token in tokens:
            if token and (grant := self.named.get(_digest(token))) is not None:
                return Caller(grant)
        if not self.required or matches(tokens, self.plain):
            return ANONYMOUS
        return None


def load_keyring(settings: Settings, models: Iterable[str] | None = None) -> Keyring:
    """The keys of the settings and of the keys file; ``models``: the models file's names, which
    a key's ``models`` must be among. Raises ConfigError naming the entry that is wrong."""
    plain = [key.get_secret_value() for key in settings.api_keys]
    path = settings.api_keys_file
    if path is None:
        return Keyring(plain)
    entries = read_entries(SETTING, path, "keys", settings.max_api_keys)
    known = None if models is None else frozenset(models)
    named: dict[bytes, Grant] = {}
    names: set[str] = set()
    for index, raw in enumerate(entries):
        entry = _entry(path, index, raw)
        problem = _problem(entry, names, named, known)
        if problem:
            raise ConfigError(f"{SETTING} ({path}): {entry_name(index, raw)}: {problem}")
        names.add(entry.name)
        named[entry.digest()] = _grant(entry)
    return Keyring(plain, named)


def hash_key(key: str) -> str:
    """The ``sha256`` to write in the keys file for ``key``."""
    return _digest(key.strip()).hex()


def _entry(path: Path, index: int, raw: Any) -> KeyEntry:
    try:
        return KeyEntry.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{SETTING} ({path}): {entry_name(index, raw)}: {describe(exc)}") from exc


def _problem(entry: KeyEntry, names: set[str], named: dict[bytes, Grant],
             known: frozenset[str] | None) -> str:
    if entry.name in names:
        return f"the name {entry.name!r} is used twice"
    if entry.digest() in named:
        return f"the same key as {named[entry.digest()].name!r}"
    unknown = sorted(set(entry.models or ()) - known) if known is not None else []
    if unknown:
        return f"models not in SAFETHINK_MODELS: {', '.join(unknown)}"
    return ""


def _grant(entry: KeyEntry) -> Grant:
    return Grant(
        name=entry.name,
        policy=entry.policy,
        allowed_policies=None if entry.allowed_policies is None else tuple(entry.allowed_policies),
        request_overrides=None if entry.request_overrides is None
        else tuple(entry.request_overrides),
        models=None if entry.models is None else frozenset(entry.models),
    )


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def matches(tokens: list[str], keys: list[str]) -> bool:
    # Check them all: the time taken must not tell which key was close, nor which header.
    found = False
    for token in tokens:
        for key in keys:
            found |= bool(token) and hmac.compare_digest(token.encode(), key.encode())
    return found
