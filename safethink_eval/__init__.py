"""SafeThink evaluation tools: ``safethink-eval`` (attack success and utility through the proxy)
and ``safethink-prefix-search`` (the paper's offline choice of the steering prefix)."""

from __future__ import annotations

import importlib.util

__all__ = ["require_extras"]


def require_extras(*modules: str) -> None:
    """Stop with a clear message when a dependency of the ``eval`` extra is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: pip install 'safethink[eval]'")
