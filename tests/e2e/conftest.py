"""The e2e modules' shared proxy: one per module, on the scripted upstream and scorer, open to
every per-request choice (``helpers.open_proxy``). A module that needs other settings defines its
own ``proxy`` fixture, which wins over this one."""

from __future__ import annotations

import pytest

from tests.conftest import ProxyFactory
from tests.support.procs import ServerProcess

from .helpers import open_proxy


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess) -> ServerProcess:
    return open_proxy(start_proxy, scripted_upstream, scripted_scorer)
