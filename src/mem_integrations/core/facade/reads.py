"""``Memory``'s read methods: Mem0's arguments in, one read operation out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..read import listing
from ..read.search import search_hits
from ..read.select import get_row
from ..records import HistoryEvent, MemoryRecord, Page, SearchHit
from ..storage.rows import to_record
from .base import Facade

__all__ = ["Reads"]


class Reads(Facade):
    """search, get, get_all, history and users, each with its typed form."""

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        top_k: int | None = None,
        limit: int | None = None,
        threshold: float | None = None,
        show_expired: bool = False,
        decay: bool | None = None,
    ) -> dict[str, Any]:
        """Hybrid (vector + full-text) search in one scope; ``{"results": [hits]}``.

        ``score`` is in [0, 1]. ``threshold`` is compared with relevance before decay, so with
        decay on a stale but relevant memory can come back scored slightly under it.
        """
        hits = self.search_hits(
            query, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
            filters=filters, top_k=top_k, limit=limit, threshold=threshold,
            show_expired=show_expired, decay=decay,
        )  # fmt: skip
        return {"results": [h.to_dict() for h in hits]}

    def search_hits(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        top_k: int | None = None,
        limit: int | None = None,
        threshold: float | None = None,
        show_expired: bool = False,
        decay: bool | None = None,
        record_access: bool = True,
    ) -> list[SearchHit]:
        """Typed form of :meth:`search`.

        ``record_access=False`` is for internal lookups (extraction, dedup) that should not
        count as the user touching a memory.
        """
        return search_hits(
            self._engine, query,
            scope_ids={"user_id": user_id, "agent_id": agent_id, "run_id": run_id,
                       "app_id": app_id},
            filters=filters, top_k=top_k, limit=limit, threshold=threshold,
            show_expired=show_expired, decay=decay, record_access=record_access,
        )  # fmt: skip

    def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        show_expired: bool = False,
    ) -> dict[str, Any]:
        """One memory by id; scope ids, if given, must match. Raises MemoryNotFoundError."""
        return self.get_record(
            memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
            show_expired=show_expired,
        ).to_dict()  # fmt: skip

    def get_record(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        show_expired: bool = False,
    ) -> MemoryRecord:
        """Typed form of :meth:`get`."""
        scope = self._scope(user_id, agent_id, run_id, app_id)
        return to_record(get_row(self._engine, memory_id, scope, show_expired=show_expired))

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        keywords: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        top_k: int | None = None,
        show_expired: bool = False,
    ) -> dict[str, Any]:
        """List memories in a scope, newest first.

        With ``page``/``page_size`` the result is Mem0's paginated shape (count, next,
        previous, results); otherwise ``{"results": [...]}`` capped at ``limit`` (100).
        """
        pg = self.get_all_page(
            user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id, filters=filters,
            categories=categories, keywords=keywords, page=page or 1,
            page_size=page_size or limit or top_k or 100, show_expired=show_expired,
        )  # fmt: skip
        if page is None and page_size is None:
            return {"results": [r.to_dict() for r in pg.results]}
        return pg.to_dict()

    def get_all_page(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 100,
        show_expired: bool = False,
    ) -> Page:
        """Typed, always-paginated form of :meth:`get_all`."""
        return listing.page(
            self._engine, self._scope(user_id, agent_id, run_id, app_id), filters=filters,
            categories=categories, keywords=keywords, page=page, page_size=page_size,
            show_expired=show_expired,
        )  # fmt: skip

    def history(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every change of one memory, oldest first (kept after the memory is deleted).

        Scope ids, if given, confine it: another scope's memory has no history for this caller.
        """
        return [
            e.to_dict()
            for e in self.history_events(
                memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id
            )
        ]

    def history_events(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> list[HistoryEvent]:
        """Typed form of :meth:`history`."""
        scope = self._scope(user_id, agent_id, run_id, app_id)
        return listing.history_events(self._engine, memory_id, scope)

    def users(self, *, show_expired: bool = False) -> dict[str, Any]:
        """Every entity (user, agent, run, app) that owns memories, with counts."""
        return listing.users(self._engine, show_expired=show_expired)
