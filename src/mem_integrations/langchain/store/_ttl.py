"""TTL sweeping as LangGraph's SQL stores offer it, over the core's purge of expired memories.

Expired items are invisible to every read at once (reads filter on ``expires_at``); sweeping
deletes them now. Left alone, the core keeps expired memories for ``expired_retention`` (so
they can be revived) before its write-time housekeeping purges them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import threading
from datetime import timedelta

from langgraph.store.base import TTLConfig

from ...core.errors import ValidationError
from ...core.memory import Memory
from ...core.records import MemoryRecord

__all__ = ["TTL", "TTLSweeper"]

log = logging.getLogger(__name__)

DEFAULT_SWEEP_MINUTES = 5.0
TTL = "lg.ttl"


class TTLSweeper:
    """TTL refresh on read, and ``sweep_ttl`` / ``start_ttl_sweeper`` / ``stop_ttl_sweeper``."""

    memory: Memory
    app_id: str
    ttl_config: TTLConfig | None
    _sweeper: threading.Thread | None = None
    _sweeper_stop: threading.Event | None = None

    def sweep_ttl(self) -> int:
        """Delete every expired memory of the store now; returns how many were deleted.

        Purges the whole ``Memory``'s expired rows, not only this store's app: they are
        invisible already, and one purge is one commit.
        """
        return int(self.memory.purge_expired()["purged"])

    async def asweep_ttl(self) -> int:
        """``sweep_ttl`` on a worker thread."""
        return await asyncio.to_thread(self.sweep_ttl)

    def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Sweep now and then every ``sweep_interval_minutes`` (else the TTL config's, else 5).

        Without a TTL config there is nothing to sweep: the returned future is already done.
        The future completes when :meth:`stop_ttl_sweeper` stops the thread; cancelling it
        stops the thread too.
        """
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        if not self.ttl_config:
            future.set_result(None)
            return future
        if self._sweeper is not None and self._sweeper.is_alive():
            log.info("TTL sweeper already running")
            return future
        interval = float(
            sweep_interval_minutes
            or self.ttl_config.get("sweep_interval_minutes")
            or DEFAULT_SWEEP_MINUTES
        )
        if interval <= 0:
            raise ValidationError(f"sweep interval must be positive, got {interval} minutes")
        stop = threading.Event()

        def loop() -> None:  # sweeps at once, then every interval, until stopped
            while True:
                try:
                    swept = self.sweep_ttl()
                    if swept:
                        log.info("TTL sweeper deleted %d expired items", swept)
                except Exception:  # a failed sweep must not end the sweeper
                    log.warning("TTL sweep failed; retrying next interval", exc_info=True)
                if stop.wait(interval * 60):
                    break
            if not future.done():
                future.set_result(None)

        future.add_done_callback(lambda f: stop.set() if f.cancelled() else None)
        self._sweeper_stop = stop
        self._sweeper = threading.Thread(target=loop, name="lg-ttl-sweeper", daemon=True)
        self._sweeper.start()
        return future

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; False if it did not stop within ``timeout`` seconds."""
        thread, stop = self._sweeper, self._sweeper_stop
        if thread is None or stop is None or not thread.is_alive():
            return True
        stop.set()
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._sweeper = None
        return True

    @staticmethod
    def _want_refresh(rec: MemoryRecord, flag: bool, refresh: dict[str, float]) -> None:
        ttl = (rec.metadata or {}).get(TTL)
        if flag and isinstance(ttl, int | float) and not isinstance(ttl, bool):
            if math.isfinite(ttl) and ttl > 0:
                refresh[rec.id] = float(ttl)

    def _refresh(self, refresh: dict[str, float]) -> None:
        """Push the expiry of what was read forward: one conditional UPDATE per TTL value.

        Only rows that still exist, are live and still carry the TTL that was read move; a
        delete racing the read makes this a no-op and a put racing it keeps its own expiry.
        No UPDATE history and no new ``updated_at`` (which decay would read as a touch).
        """
        now = self.memory.clock.now()
        by_ttl: dict[float, list[str]] = {}
        for mid, ttl in refresh.items():
            by_ttl.setdefault(ttl, []).append(mid)
        step = min(1000, self.memory.limits.max_batch)
        for ttl, ids in by_ttl.items():
            for start in range(0, len(ids), step):
                self.memory.set_expiration(
                    ids[start : start + step], now + timedelta(minutes=ttl), app_id=self.app_id,
                    filters={"metadata": {TTL: ttl}}, missing_ok=True,
                )  # fmt: skip

    def __del__(self) -> None:
        try:
            self.stop_ttl_sweeper(timeout=0.1)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
