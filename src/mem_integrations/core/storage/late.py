"""Full records of a cold search's candidates, read after ranking, at the version searched.

Why: Lance reads a query's selected columns row by row after the search (late
materialization), so each column costs per candidate row. A cold scoped search returns up to
two x ``pool`` candidates and keeps ``top_k`` (3 x ``top_k`` with decay); selecting all 15
record columns in its two queries cost 15-18 ms more than selecting only what ranking reads
(measured at 1M memories, a pair ~40 ms), while one take of the kept rows' full columns costs
~3-9 ms. So the queries return ``id``, ``vector``, the score and Lance's row id, and
``rows.materialize`` fetches the rest for the rows it converts, in one take. (Since then
the vector query returns every column of its head, ``storage.search``: a take is left for
the rows kept from the full-text list alone, and for searches whose head did not suffice.)

Consistency: the two queries and the take run on one handle fixed at the version the search
started at (``SearchReader.at``). Row ids are row addresses: a compaction committed between
the two steps moves rows, and a later version drops deleted rows, so reading the take at the
latest version could miss rows or, after an in-place rewrite, return other content. At the
version searched every candidate exists with the content it was ranked on; the result is
exactly what a one-step search at that version returns (a row deleted after it is still in
that result, as it would be in a one-step search answered just before the delete). Every
fetched row's ``id`` is still checked against the candidate's, and a mismatch or a missing row
is read by id at the same version. If that version is gone (``optimize`` with
``cleanup_older_than=0`` between the two steps), ``VersionGone`` tells the caller to search
again in one step rather than guess a record from a later version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..clock import utc
from ..errors import StoreError
from .reader import SearchReader
from .rows import candidates, ids_sql

__all__ = ["RANK_COLUMNS", "LateRecords", "VersionGone", "expired"]

#: What ranking reads from a candidate (``read.ranking.fuse``, ``explain``), and its expiry
#: (checked on the candidates, not in the query's filter: ``storage.search``): the rest waits.
RANK_COLUMNS = ["id", "vector", "expires_at"]

_ROW_ID = "_rowid"


class VersionGone(StoreError):
    """The version a cold search ranked can no longer be read: search again in one step."""


def expired(table: pa.Table, now: datetime | None) -> bool:
    """Whether a query result holds a row expired at ``now`` (the rule of ``expiry.live_sql``)."""
    if now is None or table.num_rows == 0:
        return False
    column = table.column("expires_at")
    if column.null_count == len(column):
        return False
    cutoff = pa.scalar(utc(now), type=column.type)
    return bool(pc.any(pc.less_equal(column, cutoff)).as_py())


class LateRecords:
    """The full rows of one cold search's candidates, fetched when ``materialize`` asks.

    Both candidate lists (vector and text) share this source, so the rows kept from either
    are fetched together in one take. ``columns`` are the record columns to fetch.
    """

    def __init__(self, reader: SearchReader, version: int, columns: Sequence[str]) -> None:
        self._reader = reader
        self.version = version
        self._columns = [c for c in columns if c != "vector"]
        self._ids: list[str] = []
        self._row_ids: list[int] = []

    def candidates(self, table: pa.Table) -> list[dict[str, Any]]:
        """A narrow query result (``RANK_COLUMNS`` and ``_rowid``) as ``rows.candidates``."""
        first = len(self._ids)
        if table.num_rows:
            self._ids += table.column("id").to_pylist()
            self._row_ids += table.column(_ROW_ID).to_pylist()
        return candidates(table, self, first)

    def records(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Full rows (without the vector) of candidates ``numbers``, read at ``version``."""
        wanted = {self._ids[n]: self._row_ids[n] for n in numbers}
        found = self._reader.run(self._fetch(wanted))
        return [found[self._ids[n]] for n in numbers]

    async def _fetch(self, wanted: dict[str, int]) -> dict[str, dict[str, Any]]:
        """Rows by memory id (``wanted``: id -> row address): one take, then by id if needed."""
        try:
            table = await self._reader.at(self.version)
            taken = await (
                table.take_row_ids(list(wanted.values()))
                .select(self._columns)
                .with_row_id()
                .to_arrow()
            )
            at = {address: n for n, address in enumerate(taken.column(_ROW_ID).to_pylist())}
            rows = taken.drop_columns([_ROW_ID]).to_pylist()
            found: dict[str, dict[str, Any]] = {}
            for memory_id, address in wanted.items():
                n = at.get(address)
                if n is not None and rows[n]["id"] == memory_id:
                    found[memory_id] = rows[n]
            missing = [i for i in wanted if i not in found]
            if missing:
                more = await (
                    table.query()
                    .where(ids_sql(missing))
                    .select(self._columns)
                    .limit(len(missing))
                    .to_arrow()
                )
                found.update((r["id"], r) for r in more.to_pylist())
        except Exception as exc:  # the version was cleaned up, its files with it
            raise VersionGone(f"version {self.version} of the memories table is gone") from exc
        if len(found) < len(wanted):
            raise VersionGone(f"candidates missing at version {self.version}")
        return found
