"""A model server that dies fails the tests using it, saying how it died (how it ended and the
tail of its log), instead of those tests seeing the proxy's 502s: the `ModelServerWatch` plugin,
which tests/conftest.py registers. The servers are those of tests/support/servers.py."""

from __future__ import annotations

from collections.abc import Generator, Sequence

import pytest

from tests.support.procs import ServerDied, ServerProcess
from tests.support.servers import ModelServer

# How long a failed test waits for its model server to finish dying: the proxy can answer 502
# as soon as the server's sockets close, a moment before its exit can be reaped.
DYING_GRACE_S = 1.0


class ModelServerWatch:
    """pytest plugin: a model server that dies fails the test using it, saying how it died.

    Before a test, a server found dead (it died in an earlier test) fails the test at once; after
    it, a server that died during it turns the test's failure (the proxy's 502s) into a
    `ServerDied` caused by it, and fails a test that passed all the same. Register it from a
    conftest: ``config.pluginmanager.register(ModelServerWatch(), "model-server-watch")``.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        servers = model_servers_of(item)
        for server in servers:
            server.check_alive("before this test")
        try:
            result = yield
        except (Exception, pytest.fail.Exception) as exc:  # an error, an assert, pytest.fail
            if (died := first_death(servers, DYING_GRACE_S)) is not None:
                raise died from exc
            raise
        if (died := first_death(servers, 0.0)) is not None:
            raise died
        return result


def model_servers_of(item: pytest.Item) -> list[ModelServer]:
    """The model servers among a test's fixture values, those it uses through others included."""
    values = getattr(item, "funcargs", {}).values()
    return list({id(v): v for v in values if isinstance(v, ModelServer)}.values())


def first_death(servers: Sequence[ServerProcess], grace_s: float) -> ServerDied | None:
    for server in servers:
        if (died := server.death("during this test", grace_s=grace_s)) is not None:
            return died
    return None
