"""The reward service's exceptions: one tree, so callers catch at the level they care about.

    RewardError                      base of everything this package raises on purpose
    ├── ConfigError                  bad settings: unknown backend, missing model path, bad labels
    ├── ModelLoadError               the model or tokenizer could not be loaded
    ├── NotReadyError                score() before start() finished, or after aclose()
    └── ScoringError                 a forward pass failed (fails only its own batch)
        ├── GuardOutputError         the guard answered, but not with a usable safe/unsafe token
        └── UpstreamError            openai-guard: the serving engine failed or was unreachable

Errors from libraries (torch, transformers, httpx) are mapped to these at the boundary with
`raise X from exc`, so the HTTP layer and the embedding proxy never see library types.
"""

from __future__ import annotations


class RewardError(Exception):
    """Base class of the reward service's errors."""


class ConfigError(RewardError):
    """The settings are inconsistent or name something that does not exist."""


class ModelLoadError(RewardError):
    """The model, tokenizer or probe head could not be loaded."""


class NotReadyError(RewardError):
    """The engine is not started (or already closed)."""


class ScoringError(RewardError):
    """A forward pass failed; only the callers in that batch see it."""


class GuardOutputError(ScoringError):
    """The guard's first token carried neither the safe nor the unsafe label."""


class UpstreamError(ScoringError):
    """The OpenAI-compatible serving engine behind openai-guard failed."""
