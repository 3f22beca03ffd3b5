"""Strong reads on object storage for one version check per table call, not one per LanceDB call.

With ``read_consistency_interval=0`` LanceDB looks for a newer version (a LIST of the table's
``_versions/``, up to 1,000 keys long) before every call it makes, and one read of ours is
several: a ``Store.query`` made 5 LISTs, an add 15, a delete 22 (measured on moto). On object
storage those LISTs are most of the requests and most of the time. So there the store opens
its tables without LanceDB's check and moves each one to the latest version once, when one of
its methods is called (:class:`FreshTable`): every read and write still sees every commit
made, in any process, before it started, which is what the interval of 0 promises.
Moving to the latest version never goes back (LanceDB keeps the newer of two), so threads
sharing a table cannot undo each other's refresh.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar, cast

__all__ = ["FreshTable", "fresh"]

T = TypeVar("T")

#: Methods that need no refresh before them (see :class:`FreshTable`).
_AS_IS = frozenset({"checkout_latest", "add"})


class FreshTable:
    """A LanceDB sync table that is moved to its latest version at each method call.

    Attributes that are not methods (``name``, ``version``) are read as they are; a builder a
    method returns (``search()``, ``merge_insert()``) works on the version it was made at. An
    append (``add``) is not moved first: it reads nothing, and Lance rebases it on whatever
    version is latest when it commits (listing the versions then anyway).
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._table, name)
        if name in _AS_IS or not callable(attr):
            return attr

        @functools.wraps(attr)
        def latest_then(*args: Any, **kwargs: Any) -> Any:
            self._table.checkout_latest()
            return attr(*args, **kwargs)

        return latest_then

    def __repr__(self) -> str:
        return f"FreshTable({self._table!r})"


def fresh(table: T, latest: bool = True) -> T:
    """``table`` behind a :class:`FreshTable` when ``latest``, typed as the table it stands for."""
    return cast(T, FreshTable(table)) if latest else table
