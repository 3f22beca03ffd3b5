"""Tables, their Arrow schemas and the named, ordered migrations that create and evolve them.

Never drop data: each migration brings a store from version N-1 to N, and a store newer than
this package, or one built with another embedder, is refused with a clear error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..errors import ConfigurationError, SchemaVersionError

__all__ = [
    "ACCESSES",
    "ACCESSES_SCHEMA",
    "HISTORY",
    "HISTORY_SCHEMA",
    "MEMORIES",
    "META",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "StoreStats",
    "has_table",
    "read_meta",
    "memories_schema",
    "migrate",
]

log = logging.getLogger(__name__)

MEMORIES = "memories"
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
    db.create_table(MEMORIES, schema=memories_schema(dim), exist_ok=True)
    db.create_table(HISTORY, schema=HISTORY_SCHEMA, exist_ok=True)
    db.create_table(ACCESSES, schema=ACCESSES_SCHEMA, exist_ok=True)


#: (version it brings the store to, migration(db, dim)); append, never reorder or remove.
MIGRATIONS: list[tuple[int, Callable[[Any, int], None]]] = [(1, m001_create_tables)]
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


def _write_meta(db: Any, values: dict[str, str]) -> None:
    table = db.create_table(META, schema=META_SCHEMA, exist_ok=True)
    data = pa.Table.from_pylist(
        [{"key": k, "value": v} for k, v in values.items()], schema=META_SCHEMA
    )
    table.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(data)


def migrate(db: Any, uri: str, dim: int, model_id: str) -> None:
    """Bring the store at ``uri`` to :data:`SCHEMA_VERSION`, or refuse to touch it."""
    meta = read_meta(db)
    if not meta and has_table(db, MEMORIES):
        raise SchemaVersionError(
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
    for target, migration in MIGRATIONS:
        if target > version:
            log.info("migrating %s to schema %d (%s)", uri, target, migration.__name__)
            migration(db, dim)
            _write_meta(db, {"schema_version": str(target), "dim": str(dim), "model_id": model_id})
