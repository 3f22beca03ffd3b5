"""Fixture swap: LangGraph's backend store classes -> our LanceDBStore on a temp LanceDB dir.

Only construction is swapped; every store method the tests call is our LanceDBStore's own.
Backend internals (SQL helpers, psycopg connections, migrations) are stubs that raise.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import tempfile
from typing import Any

from mem_integrations import Memory, MemoryConfig
from mem_integrations.langchain import LanceDBStore
from mem_integrations.langchain.models import LangChainEmbedder
from mem_integrations.testing import HashEmbedder

VW = float(os.environ.get("LG_VECTOR_WEIGHT", "0.8"))
_DIRS: list[str] = []


class Harness(LanceDBStore):
    def setup(self) -> None:  # backends run migrations here; LanceDB tables exist already
        pass


class AsyncHarness(LanceDBStore):
    async def setup(self) -> None:
        pass


def make(index: dict | None = None, ttl: dict | None = None, cls: type = Harness, **_: Any):
    d = tempfile.mkdtemp(prefix="lgshim-")
    _DIRS.append(d)
    emb = LangChainEmbedder(index["embed"], dim=index["dims"]) if index else HashEmbedder()
    mem = Memory(MemoryConfig(uri=d, embedder=emb, vector_weight=VW))
    fields = None
    if index:
        fields = index.get("fields") or index.get("text_fields")
    kwargs: dict[str, Any] = {"ttl": ttl}
    params = inspect.signature(LanceDBStore.__init__).parameters
    if "index" in params and index is not None:
        kwargs["index"] = {k: v for k, v in index.items() if k in ("dims", "embed", "fields")}
        if fields is not None:
            kwargs["index"]["fields"] = fields
    elif fields:
        kwargs["fields"] = fields
    return cls(mem, **kwargs)


class InMemoryStore(Harness):
    """``InMemoryStore(index=..., ttl=...)`` builds a LanceDBStore on a fresh temp Memory."""

    def __init__(self, index: dict | None = None, ttl: dict | None = None) -> None:
        built = make(index, ttl)
        self.__dict__.update(built.__dict__)


class _Factory:
    cls: type = Harness

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(cls, conn: str, *, index=None, ttl=None, **kw: Any):
        yield make(index, ttl, cls.cls)


class SqliteStore(_Factory):
    pass


class PostgresStore(_Factory):
    pass


class _AFactory:
    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(cls, conn: str, *, index=None, ttl=None, **kw: Any):
        yield make(index, ttl, AsyncHarness)


class AsyncSqliteStore(_AFactory):
    pass


class AsyncPostgresStore(_AFactory):
    pass


SqliteIndexConfig = dict
DictRow = dict


def _internal(*a: Any, **k: Any) -> Any:
    raise NotImplementedError("backend internal of LangGraph's SQL stores: out of scope")


_escape_glob_literal = _namespace_match_pattern = _escape_like_literal = _internal
NS_MATCH_FUNCTION = "ns_match"


class BaseSqliteStore:
    def __init__(self, *a: Any, **k: Any) -> None:
        _internal()


class _Conn:
    def __class_getitem__(cls, item: Any) -> Any:
        return cls

    @classmethod
    def connect(cls, *a: Any, **k: Any) -> Any:
        _internal()


Connection = AsyncConnection = _Conn


class _AInternal:
    get_connection = staticmethod(_internal)


_ainternal = _AInternal()
dict_row = None


class UndefinedTable(Exception):
    pass
