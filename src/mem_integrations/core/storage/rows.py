"""Row helpers: LanceDB rows <-> records, history rows, id lists.

Kept apart from ``memory.py`` so the write and read paths share one definition of what a row
and a history event look like.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .. import filters as F
from ..records import MemoryRecord, Scope
from .schema import SCOPE_COLUMNS

__all__ = [
    "RECORD_COLUMNS",
    "RecordSource",
    "candidate",
    "candidates",
    "content_hash",
    "history_event",
    "ids_sql",
    "in_scope_order",
    "materialize",
    "record_fields",
    "scope_sql",
    "to_record",
    "vector_matrix",
]

def in_scope_order(rows: pa.Table) -> pa.Table:
    """``rows`` sorted by their scope columns, arrival order kept within a scope (stable).

    Why: a search in a scope reads every row of it, one read per row where they lie apart.
    Rows of a user that arrived interleaved with others' lie apart; written together in
    scope order they are one contiguous run. At 1M memories, raw LanceDB searched a user's
    scope in 0.46x the time of arrival order with every 10,000 rows sorted by user, 0.33x
    with every 50,000, 0.25x wholly sorted (``bench/results/layout-probe.json``). Only the
    order on disk changes: no query depends on it (listings sort by time).
    """
    if rows.num_rows < 2 or not set(SCOPE_COLUMNS) <= set(rows.column_names):
        return rows
    return rows.sort_by([(c, "ascending") for c in SCOPE_COLUMNS])


RECORD_COLUMNS = [
    "id", "memory", "hash", "user_id", "agent_id", "run_id", "app_id", "actor_id", "role",
    "categories", "metadata", "created_at", "updated_at", "expires_at",
]  # fmt: skip


def content_hash(text: str) -> str:
    """Mem0's dedup key: the MD5 of the text (not a security boundary, just identity)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def record_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the fields of a :class:`MemoryRecord` (metadata decoded from JSON)."""
    meta = row.get("metadata")
    return {
        "id": row["id"],
        "memory": row["memory"],
        "hash": row["hash"],
        "metadata": json.loads(meta) if meta else None,
        "categories": list(row.get("categories") or []),
        "user_id": row.get("user_id"),
        "agent_id": row.get("agent_id"),
        "run_id": row.get("run_id"),
        "app_id": row.get("app_id"),
        "actor_id": row.get("actor_id"),
        "role": row.get("role"),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "expiration_date": row.get("expires_at"),
    }


def to_record(row: Mapping[str, Any]) -> MemoryRecord:
    """A stored row as a validated record."""
    return MemoryRecord(**record_fields(row))


#: Where a candidate's full row lives: (query result table or ``RecordSource``, row number).
_SOURCE = "_source"


def vector_matrix(table: pa.Table) -> npt.NDArray[np.float32]:
    """The ``vector`` column as an (n, dim) matrix, a view of Arrow's buffer where it can be."""
    column = table.column("vector").combine_chunks()
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(-1, column.type.list_size)  # type: ignore[no-any-return]


class RecordSource(Protocol):
    """Where candidates' full rows come from, besides a query's result table."""

    def records(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Full rows, without the vector, by row number."""
        ...


def candidate(
    row_id: str,
    vector: npt.NDArray[np.float32],
    score: float | None,
    source: pa.Table | RecordSource,
    number: int,
) -> dict[str, Any]:
    """One search candidate: what ranking reads, and where ``materialize`` finds the rest."""
    return {"id": row_id, "vector": vector, "_score": score, _SOURCE: (source, number)}


def candidates(
    table: pa.Table, source: RecordSource | None = None, first: int = 0
) -> list[dict[str, Any]]:
    """A query result as light rows: ``id``, ``vector`` (a numpy view), the query's score.

    Ranking needs nothing else, and only the few that are returned need the other columns:
    converting all of them for every candidate (two queries x 4 x top_k rows) cost more
    than the fusion itself. ``materialize`` converts the winners, from the same table, or
    from ``source`` (row numbers from ``first`` on) when the query selected only the
    columns ranking reads (``storage.late``).
    """
    if table.num_rows == 0:
        return []
    ids = table.column("id").to_pylist()
    mat = vector_matrix(table)
    scores = (
        table.column("_score").to_pylist() if "_score" in table.column_names else [None] * len(ids)
    )
    return [
        candidate(i, v, s, table if source is None else source, first + n)
        for n, (i, v, s) in enumerate(zip(ids, mat, scores, strict=True))
    ]


def materialize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The full stored rows of ranked ``candidates``, in order; one conversion per source."""
    out: list[dict[str, Any]] = [{} for _ in rows]
    by_source: dict[int, tuple[pa.Table | RecordSource, list[int], list[int]]] = {}
    for pos, row in enumerate(rows):
        source, n = row[_SOURCE]
        entry = by_source.setdefault(id(source), (source, [], []))
        entry[1].append(pos)
        entry[2].append(n)
    for source, positions, numbers in by_source.values():
        if isinstance(source, pa.Table):
            full = source.take(numbers).drop_columns(["vector"]).to_pylist()
        else:
            full = source.records(numbers)
        for pos, full_row in zip(positions, full, strict=True):
            out[pos] = full_row
    return out


def scope_sql(scope: Scope) -> str:
    """A where-clause suffix confining a by-id query to the caller's scope.

    `` AND user_id = '…'`` for each scope id that is set, "" when none; used by get, update,
    delete and history so by-id access can never cross scopes.
    """
    return "".join(f" AND {k} = {F.sql_string(v)}" for k, v in scope.as_dict().items())


def ids_sql(ids: Sequence[str]) -> str:
    """``id IN (...)`` with every id escaped: ids come from callers and LLMs."""
    return "id IN (" + ", ".join(F.sql_string(i) for i in ids) + ")"


def history_event(
    row: Mapping[str, Any],
    event: str,
    old: str | None,
    new: str | None,
    now: datetime,
    deleted: bool = False,
) -> dict[str, Any]:
    """One history row; it carries the memory's scope so history reads can be scoped too."""
    return {
        "id": str(uuid.uuid4()),
        "memory_id": row["id"],
        "event": event,
        "old_memory": old,
        "new_memory": new,
        "actor_id": row.get("actor_id"),
        "role": row.get("role"),
        "user_id": row.get("user_id"),
        "agent_id": row.get("agent_id"),
        "run_id": row.get("run_id"),
        "app_id": row.get("app_id"),
        "created_at": now,
        "is_deleted": deleted,
    }
