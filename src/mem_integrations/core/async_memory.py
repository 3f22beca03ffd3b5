"""``AsyncMemory``: the same API for asyncio apps.

It runs the synchronous core on worker threads instead of re-implementing it over LanceDB's
async client: one code path means one set of semantics, and LanceDB releases the GIL during
I/O, so calls overlap for real. Concurrency is bounded by ``max_concurrency`` so that
``asyncio.gather`` over hundreds of calls queues instead of spawning hundreds of threads.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from .config import MemoryConfig
from .memory import Memory
from .records import AddResult, MemoryRecord, Page, SearchHit

__all__ = ["AsyncMemory", "AsyncProject"]

P = ParamSpec("P")
R = TypeVar("R")


class AsyncMemory:
    """Awaitable twin of :class:`Memory`; every method has the same arguments and result."""

    def __init__(
        self,
        config: MemoryConfig | None = None,
        *,
        memory: Memory | None = None,
        max_concurrency: int = 8,
        **overrides: Any,
    ) -> None:
        self.sync = memory if memory is not None else Memory(config, **overrides)
        self._limit = asyncio.Semaphore(max_concurrency)

    async def _run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._limit:
            return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    async def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.add`."""
        return await self._run(self.sync.add, messages, **kwargs)

    async def add_events(self, messages: Any, **kwargs: Any) -> AddResult:
        """See :meth:`Memory.add_events`."""
        return await self._run(self.sync.add_events, messages, **kwargs)

    async def search(self, query: str, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.search`."""
        return await self._run(self.sync.search, query, **kwargs)

    async def search_hits(self, query: str, **kwargs: Any) -> list[SearchHit]:
        """See :meth:`Memory.search_hits`."""
        return await self._run(self.sync.search_hits, query, **kwargs)

    async def get(self, memory_id: str, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.get`."""
        return await self._run(self.sync.get, memory_id, **kwargs)

    async def get_record(self, memory_id: str, **kwargs: Any) -> MemoryRecord:
        """See :meth:`Memory.get_record`."""
        return await self._run(self.sync.get_record, memory_id, **kwargs)

    async def get_all(self, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.get_all`."""
        return await self._run(self.sync.get_all, **kwargs)

    async def get_all_page(self, **kwargs: Any) -> Page:
        """See :meth:`Memory.get_all_page`."""
        return await self._run(self.sync.get_all_page, **kwargs)

    async def update(
        self, memory_id: str, data: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """See :meth:`Memory.update`."""
        return await self._run(self.sync.update, memory_id, data, **kwargs)

    async def set_expiration(
        self, memory_ids: Sequence[str], expiration_date: Any, **kwargs: Any
    ) -> int:
        """See :meth:`Memory.set_expiration`."""
        return await self._run(self.sync.set_expiration, memory_ids, expiration_date, **kwargs)

    async def put(self, memory_id: str, text: str, **kwargs: Any) -> MemoryRecord:
        """See :meth:`Memory.put`."""
        return await self._run(self.sync.put, memory_id, text, **kwargs)

    async def put_many(self, items: Sequence[Mapping[str, Any]]) -> list[MemoryRecord]:
        """See :meth:`Memory.put_many`."""
        return await self._run(self.sync.put_many, items)

    async def delete(self, memory_id: str, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.delete`."""
        return await self._run(self.sync.delete, memory_id, **kwargs)

    async def delete_all(self, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.delete_all`."""
        return await self._run(self.sync.delete_all, **kwargs)

    async def history(self, memory_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """See :meth:`Memory.history`."""
        return await self._run(self.sync.history, memory_id, **kwargs)

    async def users(self, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.users`."""
        return await self._run(self.sync.users, **kwargs)

    async def delete_users(self, **kwargs: Any) -> dict[str, Any]:
        """See :meth:`Memory.delete_users`."""
        return await self._run(self.sync.delete_users, **kwargs)

    async def batch_update(
        self, memories: Sequence[Mapping[str, Any]], **kwargs: Any
    ) -> dict[str, Any]:
        """See :meth:`Memory.batch_update`."""
        return await self._run(self.sync.batch_update, memories, **kwargs)

    async def batch_delete(
        self, memories: Sequence[Mapping[str, Any]], **kwargs: Any
    ) -> dict[str, Any]:
        """See :meth:`Memory.batch_delete`."""
        return await self._run(self.sync.batch_delete, memories, **kwargs)

    async def feedback(
        self, memory_id: str, feedback: str | None = None, feedback_reason: str | None = None
    ) -> dict[str, Any]:
        """See :meth:`Memory.feedback`."""
        return await self._run(self.sync.feedback, memory_id, feedback, feedback_reason)

    async def get_feedback(self, memory_id: str) -> dict[str, Any] | None:
        """See :meth:`Memory.get_feedback`."""
        return await self._run(self.sync.get_feedback, memory_id)

    @property
    def project(self) -> AsyncProject:
        """See :attr:`Memory.project`; ``get`` and ``update`` are awaitable here."""
        return AsyncProject(self)

    async def purge_expired(self) -> dict[str, Any]:
        """See :meth:`Memory.purge_expired`."""
        return await self._run(self.sync.purge_expired)

    async def reset(self) -> None:
        """See :meth:`Memory.reset`."""
        await self._run(self.sync.reset)

    async def optimize(self) -> dict[str, Any]:
        """See :meth:`Memory.optimize`."""
        return await self._run(self.sync.optimize)

    async def close(self) -> None:
        """See :meth:`Memory.close`."""
        await self._run(self.sync.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncProject:
    """Mem0's ``AsyncMemoryClient.project``: awaitable ``get`` and ``update``."""

    def __init__(self, owner: AsyncMemory) -> None:
        self._owner = owner

    async def get(self, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """See ``Memory.project.get``."""
        return await self._owner._run(self._owner.sync.project.get, fields)

    async def update(self, decay: bool | None = None, **kwargs: Any) -> dict[str, Any]:
        """See ``Memory.project.update``."""
        return await self._owner._run(self._owner.sync.project.update, decay, **kwargs)
