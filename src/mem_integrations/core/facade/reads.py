"""``Memory``'s read methods: Mem0's arguments in, one read operation out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from ..expiry import parse_instant
from ..read import listing
from ..read.search import search_hits
from ..read.select import get_row
from ..records import HistoryEvent, MemoryRecord, Page, SearchHit
from ..storage.rows import to_record
from .base import Facade
from .compat import accepts_options

__all__ = ["Reads"]


class Reads(Facade):
    """search, get, get_all, history and users, each with its typed form."""

    @accepts_options
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
        categories: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        explain: bool = False,
        reference_date: Any = None,
        **ignored: Any,
    ) -> dict[str, Any]:
        """Hybrid (vector + full-text) search in one scope; ``{"results": [hits]}``.

        ``score`` is in [0, 1]. ``threshold`` is compared with relevance before decay, so with
        decay on a stale but relevant memory can come back scored slightly under it.
        ``categories`` (any of) and ``metadata`` (each key equal) narrow like filters;
        ``explain=True`` adds ``score_details`` to each hit; ``reference_date`` (epoch, date
        or ISO-8601) searches as of that instant: what had expired by then stays hidden.
        """
        self._args.check("search", ignored)
        hits = self.search_hits(
            query, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
            filters=narrowed(filters, categories, metadata), top_k=top_k, limit=limit,
            threshold=threshold, show_expired=show_expired, decay=decay, explain=explain,
            reference_date=reference_date,
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
        explain: bool = False,
        reference_date: Any = None,
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
            explain=explain,
            at=parse_instant(reference_date, "reference_date") if reference_date is not None
            else None,
        )  # fmt: skip

    def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        show_expired: bool = True,
        **ignored: Any,
    ) -> dict[str, Any]:
        """One memory by id; scope ids, if given, must match. Raises MemoryNotFoundError.

        An expired memory is returned too (Mem0 hides expired memories from search and
        lists, not from a direct get); ``show_expired=False`` treats it as not found.
        """
        self._args.check("get", ignored)
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

    @accepts_options
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
        offset: int | None = None,
        show_expired: bool = False,
        start_date: str | None = None,
        end_date: str | None = None,
        **ignored: Any,
    ) -> dict[str, Any]:
        """List memories in a scope, newest first, as Mem0 v3's page envelope.

        ``{"count", "next", "previous", "results"}`` (plus ``page``/``page_size``): ``next``
        and ``previous`` are page numbers. ``page_size`` (or ``top_k``/``limit``, default 100)
        memories per page; ``offset`` skips that many first (then ``page`` is not allowed).
        """
        self._args.check("get_all", ignored)
        filters = narrowed(filters, None, None, created=(start_date, end_date))
        # the first size given wins; 0 is refused by its own name, never read as "unset"
        name, size = next(
            ((n, v) for n, v in (("page_size", page_size), ("top_k", top_k), ("limit", limit))
             if v is not None),
            ("page_size", 100),
        )  # fmt: skip
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValidationError(f"{name} must be a positive integer, got {size!r}")
        if offset is not None:
            if page is not None:
                raise ValidationError("give page or offset, not both")
            return listing.window(
                self._engine, self._scope(user_id, agent_id, run_id, app_id), filters=filters,
                categories=categories, keywords=keywords, offset=offset, size=size,
                show_expired=show_expired,
            )  # fmt: skip
        return self.get_all_page(
            user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id, filters=filters,
            categories=categories, keywords=keywords, page=page or 1, page_size=size,
            show_expired=show_expired,
        ).to_dict()  # fmt: skip

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
        **ignored: Any,
    ) -> list[dict[str, Any]]:
        """Every change of one memory, oldest first (kept after the memory is deleted).

        Scope ids, if given, confine it: another scope's memory has no history for this caller.
        """
        self._args.check("history", ignored)
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
        """Every entity (user, agent, run, app) that owns memories, with counts.

        Mem0's entities envelope: ``{"count", "next", "previous", "results"}``, one page.
        """
        return listing.users(self._engine, show_expired=show_expired)


def narrowed(
    filters: Mapping[str, Any] | None,
    categories: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    created: tuple[str | None, str | None] = (None, None),
) -> Mapping[str, Any] | None:
    """Mem0's narrowing arguments as filter conditions ANDed to ``filters``.

    ``search(categories=, metadata=)``, and ``get_all(start_date=, end_date=)`` on
    ``created_at`` (a bare end date covers its whole day, as in the filter language).
    """
    parts: list[Mapping[str, Any]] = [filters] if filters else []
    for op, when in zip(("gte", "lte"), created, strict=True):
        if when is not None:
            parts.append({"created_at": {op: when}})
    if categories is not None:
        if isinstance(categories, str) or not isinstance(categories, Sequence):
            raise ValidationError("categories must be a list of strings")
        if categories:
            parts.append({"categories": {"in": list(categories)}})
    if metadata:
        parts.append({"metadata": metadata})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"AND": parts}
