"""Fixtures of the evaluation tests: the proxy over the scripted upstream and scorer."""

from __future__ import annotations

import pytest

from tests.conftest import ProxyFactory
from tests.e2e.helpers import OPEN_TO_REQUESTS  # the same proxy as tests/e2e/test_steering.py
from tests.support.procs import ServerProcess

DEMO_MODEL = "scripted/prompt-options=1"


@pytest.fixture(scope="module")
def eval_proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
               scripted_scorer: ServerProcess) -> ServerProcess:
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       upstream_continuous_usage=True, **OPEN_TO_REQUESTS)
