"""The app's shared state, typed: built once by the lifespan (proxy/app.py), reached by every
route through ``state_of(request)``. Nothing else holds a client or a setting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from proxy.catalog import Catalog
    from proxy.keys import Keyring
    from proxy.metrics import Metrics
    from proxy.scoring import Scorer
    from proxy.settings import Settings
    from proxy.state.store import Store
    from proxy.upstream.client import Upstream
    from proxy.upstream.probe import Learned
    from proxy.upstream.templates import TemplateCache


@dataclass(frozen=True)
class AppState:
    settings: Settings
    metrics: Metrics
    # The routes of the models served (the models file's, else the one upstream below).
    catalog: Catalog
    keys: Keyring
    upstream: Upstream
    templates: TemplateCache
    learned_continuation: Learned  # what `auto` continuation learned of the upstream
    scorer: Scorer
    store: Store


def state_of(connection: HTTPConnection) -> AppState:
    state: AppState = connection.app.state.safethink
    return state
