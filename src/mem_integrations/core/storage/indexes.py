"""The memories table's indexes: which ones, and creating the missing ones safely."""

from __future__ import annotations

import logging
from typing import Any

from lancedb.index import FTS, Bitmap, BTree

__all__ = ["INDEXED_COLUMNS", "SCOPE_INDEXED", "create_missing", "index_once"]

log = logging.getLogger(__name__)

#: Scope columns with a bitmap index (run ids are many and short-lived: a BTree suits them).
SCOPE_INDEXED = ("user_id", "agent_id", "app_id")


def _wanted() -> list[tuple[str, Any]]:
    # hash: the duplicate check of every add looks rows up by content hash.
    # seq: recovery reads the rows written since its watermark (``storage.watermark``).
    wanted: list[tuple[str, Any]] = [("id", BTree()), ("run_id", BTree()), ("hash", BTree())]
    wanted.append(("seq", BTree()))
    wanted += [(c, Bitmap()) for c in SCOPE_INDEXED]
    wanted.append(("memory", FTS(with_position=False)))
    return wanted


#: The columns of the memories table that carry an index once the table has rows.
INDEXED_COLUMNS = frozenset(column for column, _ in _wanted())


def create_missing(table: Any, indexed: set[str]) -> int:
    """Create the indexes ``indexed`` lacks (LanceDB needs rows first); adds what now exists.

    Returns how many were created here. Another process may create one first, which counts as
    existing; anything else is logged and tried again later, since reads stay correct without
    an index.
    """
    created = 0
    for column, cfg in _wanted():
        if column in indexed:
            continue
        try:
            table.create_index(column, config=cfg, replace=False)
            created += 1
        except Exception as exc:
            if "already exists" not in str(exc).lower():
                log.debug("index on %s not created yet: %s", column, exc)
                continue
        indexed.add(column)
    return created


def index_once(table: Any, column: str) -> None:
    """A BTREE on ``column`` unless one exists (another process may create it first)."""
    if any(column in ix.columns for ix in table.list_indices()):
        return
    try:
        table.create_index(column, config=BTree(), replace=False)
    except Exception as exc:
        if "already exists" not in str(exc).lower():
            log.debug("index on %s.%s not created yet: %s", table.name, column, exc)
