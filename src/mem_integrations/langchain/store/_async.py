"""Concurrent async store calls coalesced into one ``batch``, as LangGraph's async stores do.

``asyncio.gather`` over a thousand ``aput``/``aget`` calls would otherwise be a thousand
worker-thread hops and a thousand LanceDB commits; calls that are pending on the same event
loop at once are run as one batch instead (reads, one ``put_many`` commit, one delete).
Unlike LangGraph's ``AsyncBatchedBaseStore`` the store is not bound to the loop it was built
on: sync calls stay allowed anywhere, and each running loop gets its own queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from langgraph.store.base import Op, Result

__all__ = ["Coalescing"]

Call = tuple[list[Op], "asyncio.Future[list[Result]]"]


class Coalescing:
    """``abatch`` that merges the calls pending on one loop into a single ``batch``."""

    _queues: dict[asyncio.AbstractEventLoop, list[Call]]

    def batch(self, ops: Iterable[Op]) -> list[Result]:  # pragma: no cover - the store's
        raise NotImplementedError

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Queue ``ops``; the first call on a loop schedules one flush for everything queued."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[Result]] = loop.create_future()
        queues = self.__dict__.setdefault("_queues", {})
        queue = queues.setdefault(loop, [])
        queue.append((list(ops), fut))
        if len(queue) == 1:
            loop.create_task(self._flush(loop))
        return await fut

    async def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        calls = self._queues.pop(loop, [])
        merged = [op for ops, _ in calls for op in ops]
        try:
            results = await asyncio.to_thread(self.batch, merged)
        except Exception:  # one bad call must not fail the others: run them one by one
            for ops, fut in calls:
                try:
                    one = await asyncio.to_thread(self.batch, ops)
                except Exception as exc:
                    if not fut.done():
                        fut.set_exception(exc)
                else:
                    if not fut.done():
                        fut.set_result(one)
            return
        start = 0
        for ops, fut in calls:
            if not fut.done():
                fut.set_result(results[start : start + len(ops)])
            start += len(ops)
