"""Backends, all behind `Backend`; torch-based ones are imported only when chosen."""

from __future__ import annotations

from reward_service.backends.base import Backend
from reward_service.exceptions import ConfigError
from reward_service.settings import RewardSettings


def make_backend(settings: RewardSettings) -> Backend:
    if settings.backend == "cross-encoder":
        from reward_service.backends.cross_encoder import CrossEncoderBackend

        return CrossEncoderBackend(settings)
    if settings.backend == "probe":
        from reward_service.backends.probe import ProbeBackend

        return ProbeBackend(settings)
    if settings.backend == "llama-guard":
        from reward_service.backends.llama_guard import LlamaGuardBackend

        return LlamaGuardBackend(settings)
    if settings.backend == "classifier":
        from reward_service.backends.classifier import ClassifierBackend

        return ClassifierBackend(settings)
    if settings.backend == "openai-guard":
        from reward_service.backends.openai_guard import OpenAIGuardBackend

        return OpenAIGuardBackend(settings)
    raise ConfigError(f"unknown backend {settings.backend!r}")
