"""Tables, their Arrow schemas and the named, ordered migrations that create and evolve them.

Never drop data: each migration brings a store from version N-1 to N, and a store newer than
this package, or one built with another embedder, is refused with a clear error.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import ConfigurationError, MemoryLayerError, PartialWriteError, SchemaVersionError
from ..filters import sql_string
from .commits import retry_on_conflict

__all__ = [
    "ACCESSES",
    "ACCESSES_SCHEMA",
    "DELETIONS",
    "DELETIONS_SCHEMA",
    "HISTORY",
    "HISTORY_SCHEMA",
    "MEMORIES",
    "META",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SCOPE_COLUMNS",
    "SEQ",
    "WRITER",
    "StoreStats",
    "delete_meta",
    "empty_tables",
    "has_table",
    "read_meta",
    "write_meta",
    "memories_schema",
    "migrate",
]

log = logging.getLogger(__name__)

MEMORIES = "memories"
#: The columns that make a scope: an add's duplicate check matches all four exactly, and
#: rows written together are stored in this order (``rows.in_scope_order``).
SCOPE_COLUMNS = ("user_id", "agent_id", "run_id", "app_id")
HISTORY = "history"
ACCESSES = "accesses"
META = "meta"

TS = pa.timestamp("us", tz="UTC")


def memories_schema(dim: int) -> pa.Schema:
    """Scope ids are real columns (not metadata keys) so filters on them push down to indexes."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("memory", pa.string(), nullable=False),
            pa.field("hash", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("user_id", pa.string()),
            pa.field("agent_id", pa.string()),
            pa.field("run_id", pa.string()),
            pa.field("app_id", pa.string()),
            pa.field("actor_id", pa.string()),
            pa.field("role", pa.string()),
            pa.field("categories", pa.list_(pa.string())),
            # Lance's JSON type: stored as JSONB so json_get_* filters push down.
            pa.field("metadata", pa.json_(pa.utf8())),
            pa.field("created_at", TS, nullable=False),
            pa.field("updated_at", TS, nullable=False),
            pa.field("expires_at", TS),
        ]
    )


HISTORY_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("memory_id", pa.string(), nullable=False),
        pa.field("event", pa.string(), nullable=False),
        pa.field("old_memory", pa.string()),
        pa.field("new_memory", pa.string()),
        pa.field("actor_id", pa.string()),
        pa.field("role", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("app_id", pa.string()),
        pa.field("created_at", TS, nullable=False),
        pa.field("is_deleted", pa.bool_(), nullable=False),
    ]
)

#: Access records for recency decay live in their own table: a write per search would
#: otherwise fragment the memories table and slow every read.
ACCESSES_SCHEMA = pa.schema(
    [
        pa.field("memory_id", pa.string(), nullable=False),
        pa.field("accessed_at", TS, nullable=False),
    ]
)

META_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("value", pa.string())])

#: The write sequence column of memories (``storage.watermark``), from schema version 2.
SEQ = "seq"
#: The store handle that made a row's last change, or a deletion-log entry (``storage.watermark``),
#: from schema version 3; null for rows written before: an unknown writer, always checked.
WRITER = "writer"
#: Ids removed by each delete, logged before it commits: a deleted row leaves nothing else.
DELETIONS = "deletions"
DELETIONS_SCHEMA = pa.schema(
    [
        pa.field("memory_id", pa.string(), nullable=False),
        pa.field(SEQ, pa.int64(), nullable=False),
        pa.field(WRITER, pa.string()),
    ]
)


@dataclass(frozen=True)
class StoreStats:
    """What ``stats()`` reports: enough to decide whether to optimize."""

    memories: int
    history: int
    accesses: int
    fragments: int
    version: int
    bytes: int
    indices: list[str]
    unindexed_rows: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the CLI and logs."""
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------------------
# Migrations: named, ordered, each brings the store from version N-1 to N. Never drop data.
# ---------------------------------------------------------------------------------------------


def m001_create_tables(db: Any, dim: int) -> None:
    """Create memories, history, accesses and the meta table."""
    _create(db, MEMORIES, memories_schema(dim))
    _create(db, HISTORY, HISTORY_SCHEMA)
    _create(db, ACCESSES, ACCESSES_SCHEMA)


def m002_write_sequence(db: Any, dim: int) -> None:
    """Add ``memories.seq`` and the ``deletions`` log, so recovery reads only recent writes.

    Rows already stored get a null ``seq``: below any watermark. The store's first check
    after the upgrade has no watermark yet and reads everything once (``storage.watermark``).
    """
    del dim  # the vector column is untouched
    memories = db.open_table(MEMORIES)
    if SEQ not in memories.schema.names:
        memories.add_columns(pa.field(SEQ, pa.int64()))
    _create(db, DELETIONS, DELETIONS_SCHEMA)


def m003_writer_column(db: Any, dim: int) -> None:
    """Add ``writer`` to ``memories`` and ``deletions``: recovery skips cleanly closed handles.

    Rows and log entries already stored get a null writer, which no clean close vouches
    for: they are checked as before whenever their ``seq`` is above the watermark.
    """
    del dim  # the vector column is untouched
    for name in (MEMORIES, DELETIONS):
        table = db.open_table(name)
        if WRITER not in table.schema.names:
            table.add_columns(pa.field(WRITER, pa.string()))


#: (version it brings the store to, migration(db, dim)); append, never reorder or remove.
MIGRATIONS: list[tuple[int, Callable[[Any, int], None]]] = [
    (1, m001_create_tables),
    (2, m002_write_sequence),
    (3, m003_writer_column),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def has_table(db: Any, name: str) -> bool:
    """Whether ``db`` holds table ``name`` (LanceDB lists table names a page at a time)."""
    names: set[str] = set()
    token = None
    while True:
        resp = db.list_tables(page_token=token)
        names.update(resp.tables)
        token = resp.page_token
        if not token:
            return name in names


def read_meta(db: Any) -> dict[str, str]:
    """The store's stamp (schema version, embedder); empty for a store not created yet."""
    if not has_table(db, META):
        return {}
    rows = db.open_table(META).to_arrow().to_pylist()
    return {r["key"]: r["value"] for r in rows}


def delete_meta(db: Any, keys: list[str]) -> None:
    """Remove meta ``keys`` in one commit (nothing when there are none)."""
    if keys and has_table(db, META):
        where = f"key IN ({', '.join(sql_string(k) for k in keys)})"
        table = db.open_table(META)
        retry_on_conflict(lambda: table.delete(where), "stamping the store")


def _create(db: Any, name: str, schema: pa.Schema) -> Any:
    """Create table ``name`` unless it exists; losing that race to another opener is fine."""
    try:
        return db.create_table(name, schema=schema, exist_ok=True)
    except Exception:
        if has_table(db, name):  # a concurrent first open created it between check and create
            return db.open_table(name)
        raise


def write_meta(db: Any, values: dict[str, str]) -> None:
    """Set meta keys in one commit (other keys are kept)."""
    table = _create(db, META, META_SCHEMA)
    data = pa.Table.from_pylist(
        [{"key": k, "value": v} for k, v in values.items()], schema=META_SCHEMA
    )
    retry_on_conflict(
        lambda: (
            table.merge_insert("key")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(data)
        ),
        "stamping the store",
    )


#: A first open racing another one can find a table half created (listed, not yet readable);
#: the open is then simply run again.
OPEN_ATTEMPTS = 6


def migrate(db: Any, uri: str, dim: int, model_id: str) -> None:
    """Bring the store at ``uri`` to :data:`SCHEMA_VERSION`, or refuse to touch it.

    Safe when several handles or processes open a new folder at once: the stamp (with
    version 0) is written before any table, so a store whose ``memories`` table exists is
    always stamped, and every migration is idempotent.
    """
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            _migrate(db, uri, dim, model_id)
            return
        except Exception as exc:
            # Our own refusals are final, except a stamp not seen yet: CI saw a first open
            # racing three others read none, although ours is written before any table. Data
            # that is really not ours stays unstamped on every attempt, so the last refuses.
            raced = not isinstance(exc, MemoryLayerError) or isinstance(exc, _Unstamped)
            if not raced or attempt == OPEN_ATTEMPTS:
                raise
            log.debug("opening %s raced another opener (attempt %d): %s", uri, attempt, exc)
            time.sleep(0.02 * attempt * (1.0 + random.random()))


class _Unstamped(SchemaVersionError):
    """A ``memories`` table with no stamp beside it (not ours, or a stamp not seen yet)."""


def _migrate(db: Any, uri: str, dim: int, model_id: str) -> None:
    # memories before meta: a stamped-first store with memories always shows its stamp
    legacy = has_table(db, MEMORIES)
    meta = read_meta(db)
    if not meta and legacy:
        raise _Unstamped(
            f"{uri!r} holds a 'memories' table without a schema stamp; refusing to "
            "touch data this package did not create"
        )
    version = int(meta.get("schema_version", "0"))
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"store at {uri!r} has schema version {version}, newer than this "
            f"package's {SCHEMA_VERSION}; upgrade mem-integrations"
        )
    if meta:
        stored_dim = int(meta.get("dim", "0"))
        if stored_dim != dim or meta.get("model_id") != model_id:
            raise ConfigurationError(
                f"store at {uri!r} was built with embedder {meta.get('model_id')!r} "
                f"(dim {stored_dim}); this Memory uses {model_id!r} (dim {dim}). "
                "Vectors from different models are not comparable: use another uri or "
                "re-import with `mem-integrations export`/`import`."
            )
    else:
        write_meta(db, {"schema_version": "0", "dim": str(dim), "model_id": model_id})
    for target, migration in MIGRATIONS:
        if target > version:
            log.info("migrating %s to schema %d (%s)", uri, target, migration.__name__)
            migration(db, dim)
            write_meta(db, {"schema_version": str(target), "dim": str(dim), "model_id": model_id})


def empty_tables(tables: list[Any], memories_emptied: Callable[[], None]) -> None:
    """Delete every row of each table in turn (a reset): never a drop.

    Other handles and processes keep their tables open across a reset: dropping and
    recreating the tables under them made their next call fail (``Not found``) and a drop
    interrupted half way could leave a store that no later open accepts. A delete is an
    ordinary commit: they see it like any other write, the schema stamp and indexes stay, and
    a reset that fails part way is finished by calling it again. The first table (memories)
    goes first, so a reset stopped after it has removed what it was asked to remove.
    """
    done: list[str] = []
    for table in tables:
        try:
            retry_on_conflict(functools.partial(table.delete, "true"), f"reset {table.name}")
        except Exception as exc:
            if not done:
                raise
            raise PartialWriteError(
                f"reset emptied {', '.join(done)}, but emptying {table.name} failed and "
                f"left that table as it was. Call reset() again once the cause is fixed; "
                f"it finishes the job. Cause: {exc}",
                committed={"reset": list(done)},
                result=None,
            ) from exc
        done.append(table.name)
        if len(done) == 1:
            memories_emptied()
