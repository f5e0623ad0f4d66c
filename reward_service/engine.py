"""The engine: one backend behind a dynamic batcher; used by the HTTP app and the embedded proxy.

    engine = create_engine(RewardSettings())
    await engine.start()            # loads the model in the worker thread
    results = await engine.score([ScoreItem(prompt=messages, trace=trace)])
    await engine.aclose()

    async with create_engine(settings) as engine:   # the same: start, and aclose on the way out
        ...

This interface (create_engine, start, aclose, ready, model_name, backend_name, score) is what the
proxy's `--reward embedded` mode imports: keep it stable.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from reward_service.backends import make_backend
from reward_service.backends.base import Backend, ModelBackend, PreparedItem, RemoteBackend
from reward_service.batching import BatchObserver, DynamicBatcher
from reward_service.exceptions import ModelLoadError, NotReadyError, RewardError, ScoringError
from reward_service.schemas import ScoreItem, ScoreResult
from reward_service.settings import RewardSettings
from reward_service.text import recent_turns, spend_budget, truncate_middle


class Engine:
    """Owns the backend, its worker thread and the batcher; start()/aclose() bound their life."""

    def __init__(self, settings: RewardSettings, backend: Backend,
                 observer: BatchObserver | None = None) -> None:
        self.settings = settings
        self._backend = backend
        # One thread per device: a model is not re-entrant, and one thread keeps its kernels
        # and caches warm; batching, not threads, gives the throughput.
        self._executor: ThreadPoolExecutor | None = None
        remote = isinstance(backend, RemoteBackend)
        concurrency = settings.openai_guard_concurrency if remote else 1
        self._batcher: DynamicBatcher[PreparedItem, ScoreResult] = DynamicBatcher(
            self._forward, max_batch_size=settings.max_batch_size,
            max_wait_s=settings.max_wait_ms / 1000.0, concurrency=concurrency,
            max_queue=settings.max_queue_items, observer=observer)

    @property
    def ready(self) -> bool:
        """Loaded and batching: the batcher starts only once the model has loaded."""
        return self._batcher.running

    @property
    def model_name(self) -> str:
        return self._backend.model_name

    @property
    def backend_name(self) -> str:
        return self._backend.name

    async def start(self) -> None:
        """Load the model off the event loop, then start batching. Idempotent."""
        if self.ready:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reward-device")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._backend.load)
        except RewardError:
            await self._shutdown_executor()
            raise
        except Exception as exc:
            await self._shutdown_executor()
            raise ModelLoadError(f"{self._backend.name}: {exc}") from exc
        await self._batcher.start()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop batching (waiting callers get NotReadyError), then release the model."""
        await self._batcher.stop()
        with contextlib.suppress(Exception):
            await self._backend.aclose()
        if self._executor is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._backend.close)
        await self._shutdown_executor()

    async def score(self, items: list[ScoreItem]) -> list[ScoreResult]:
        """Scores in [-1, 1] (positive = safe), one per item, in order.

        Raises OverloadedError, with nothing queued, when the items do not fit the queue."""
        if not self.ready:
            raise NotReadyError("the reward engine is not started")
        # Bounded, but still up to megabytes of text: prepare it in a helper thread, so the
        # event loop (/healthz, other callers) never waits for it.
        prepared = await asyncio.to_thread(self.prepare_all, items)
        return await self._batcher.submit_many(prepared)

    def prepare_all(self, items: list[ScoreItem]) -> list[PreparedItem]:
        return [self.prepare(item) for item in items]

    def prepare(self, item: ScoreItem) -> PreparedItem:
        """Apply the turn and character budgets; whatever is cut is reported, never silent."""
        budget = self.settings.max_prompt_chars
        turns, turns_cut = recent_turns(item.prompt, max_turns=self.settings.max_prompt_turns,
                                        max_chars=budget)
        # The newest turn matters most: spend the budget from the end of the conversation.
        kept, budget_cut = spend_budget(reversed(turns), budget)
        cut_any = turns_cut or budget_cut
        trace, trace_cut = truncate_middle(item.trace, self.settings.max_trace_chars)
        prompt = "\n\n".join(text for role, text in kept if role == "user").strip()
        return PreparedItem(tuple(kept), prompt, trace, cut_any or trace_cut)

    async def _forward(self, batch: list[PreparedItem]) -> list[ScoreResult]:
        try:
            if isinstance(self._backend, RemoteBackend):
                return await self._backend.aforward(batch)
            assert isinstance(self._backend, ModelBackend)
            if self._executor is None:
                raise NotReadyError("the reward engine is closed")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._backend.forward, batch)
        except RewardError:
            raise
        except Exception as exc:  # torch/transformers errors become ours at this boundary
            raise ScoringError(f"{self._backend.name} forward failed: {exc}") from exc

    async def _shutdown_executor(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            # Waiting blocks, so wait in a helper thread: the event loop stays responsive.
            await asyncio.to_thread(executor.shutdown, wait=True)


def create_engine(settings: RewardSettings, observer: BatchObserver | None = None) -> Engine:
    """Build (not load) the engine for `settings.backend`; call `await engine.start()` next."""
    return Engine(settings, make_backend(settings), observer)
