"""Reading another store's tables whole, and writing rows into this store's tables as they are.

Used by ``write.reembed`` to move a store to another embedder: the source is read through
LanceDB directly (its embedder need not be installed, and it is never written to), and its
history and access records are appended here unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lancedb
import pyarrow as pa

from ..errors import StoreError
from .commits import retry_on_conflict
from .schema import ACCESSES, HISTORY, MEMORIES, has_table, read_meta
from .store import Store

__all__ = ["SourceTables", "append_as_is", "conform", "read_source"]


@dataclass(frozen=True)
class SourceTables:
    """Everything a store holds except its vectors."""

    meta: dict[str, str]
    memories: pa.Table
    history: pa.Table | None
    accesses: pa.Table | None


def read_source(uri: str, storage_options: dict[str, str] | None = None) -> SourceTables:
    """Read the store at ``uri``: its stamp, its memories without vectors, history, accesses."""
    db = lancedb.connect(uri, storage_options=storage_options)
    meta = read_meta(db)
    if not meta or not has_table(db, MEMORIES):
        raise StoreError(f"no mem-integrations store at {uri!r}")
    memories = db.open_table(MEMORIES).to_arrow().drop_columns(["vector"])
    history = db.open_table(HISTORY).to_arrow() if has_table(db, HISTORY) else None
    accesses = db.open_table(ACCESSES).to_arrow() if has_table(db, ACCESSES) else None
    return SourceTables(meta, memories, history, accesses)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Columns in ``schema``'s order and types; a column the source lacks is null."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, type=f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def append_as_is(store: Store, history: pa.Table | None, accesses: pa.Table | None) -> None:
    """Append history and access rows unchanged (one commit each)."""
    for table, rows, what in (
        (store.history, history, "history copy"),
        (store.accesses, accesses, "accesses copy"),
    ):
        if rows is not None and rows.num_rows:
            _add(table, conform(rows, table.schema), what)


def _add(table: Any, data: pa.Table, what: str) -> None:
    retry_on_conflict(lambda: table.add(data), what)
