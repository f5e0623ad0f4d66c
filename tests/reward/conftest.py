"""Fixtures of the reward-service tests: tiny models on disk, and started engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reward_service.app import create_app
from reward_service.engine import Engine, create_engine
from reward_service.settings import RewardSettings
from tests.reward.servers import guard_settings, open_client, wait_ready
from tests.reward.tiny_models import build_classifier, build_guard


@pytest.fixture(scope="session")
def guard_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_guard(tmp_path_factory.mktemp("guard"))


@pytest.fixture(scope="session")
def classifier_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_classifier(tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="session")
def scalar_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_classifier(tmp_path_factory.mktemp("scalar"), labels=("reward",))


@pytest.fixture(scope="session")
async def probe_engine() -> AsyncIterator[Engine]:
    engine = create_engine(RewardSettings(backend="probe", device="cpu"))
    await engine.start()
    yield engine
    await engine.aclose()


@pytest.fixture(scope="module")
async def guard_client(guard_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app, in process, scoring with the tiny guard; the body limit raised to take the
    issue's 5.7 MB chat of 150k turns, the other limits at their defaults."""
    settings = guard_settings(guard_path, max_body_bytes=8 * 1024 * 1024)
    async with open_client(create_app(settings)) as client:
        await wait_ready(client)
        yield client
