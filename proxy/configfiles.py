"""Reading the operator's YAML files (the models file, the keys file) at start.

Every problem is a ConfigError that names the setting, the file and the entry, so that the
proxy refuses to start with one line saying what to fix. The values given are never quoted:
a keys file holds keys, and a models file upstream keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from proxy.exceptions import ConfigError


def read_entries(setting: str, path: Path, section: str, limit: int) -> list[Any]:
    """The list under ``section:`` in the YAML file ``path``, at most ``limit`` long."""
    import yaml

    where = f"{setting} ({path})"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}: not valid YAML{line}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(section), list):
        raise ConfigError(f"{where}: the file must hold a list under '{section}:'")
    unknown = sorted(str(key) for key in data if key != section)
    if unknown:
        raise ConfigError(f"{where}: unknown top-level keys {', '.join(unknown)} "
                          f"(only '{section}:' is read)")
    entries: list[Any] = data[section]
    if not entries:
        raise ConfigError(f"{where}: '{section}:' is empty")
    if len(entries) > limit:
        raise ConfigError(f"{where}: {len(entries)} entries under '{section}:', more than the "
                          f"limit of {limit} (raise it with {_limit_setting(section)})")
    return entries


def entry_name(index: int, entry: Any) -> str:
    """How an error names an entry: its number, and its name when it has one."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"entry {index + 1}" + (f" ({name!r})" if isinstance(name, str) else "")


def describe(exc: ValidationError) -> str:
    """A pydantic error in a line: where, what is wrong, and how many more problems."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where + ': ' if where else ''}{first.get('msg', 'invalid')}{more}"


def _limit_setting(section: str) -> str:
    return {"models": "SAFETHINK_MAX_MODELS", "keys": "SAFETHINK_MAX_API_KEYS"}.get(
        section, "the matching SAFETHINK_MAX_* setting")
