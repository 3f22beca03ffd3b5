"""The reference for ``bench.growth``: raw LanceDB used well, and a fast fill for both systems.

"Done well" means what a careful engineer would write against LanceDB directly for the same
job (one scope per user, hybrid search, single adds):

- a BITMAP index on ``user_id`` (the scope column), a BTREE on ``id``, a full-text index on the
  text (``with_position=False``, as ours);
- search = a prefiltered exact vector query and a prefiltered full-text query on the scope,
  gathered concurrently on LanceDB's async API (one event loop thread), each fetching as many
  candidates per signal as ours does (``4 x top_k``);
- compaction with ``table.optimize()`` every ``compact_every`` adds on a background thread
  (one at a time), which also folds new rows into the indexes; versions older than two
  minutes are cleaned up, the same policy as ours.

The fill writes the same rows (same texts, same vectors, same ids) to our store and to the
raw table in big commits: it is set-up, not a measurement. Vectors come from
:class:`FastHash`, which gives exactly ``mem_integrations.testing.HashEmbedder``'s vectors
(numpy instead of Python floats), so a reopened store searches with the real HashEmbedder
and the encode costs both systems the same small amount.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import uuid
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, Bitmap, BTree

from mem_integrations import Memory, MemoryConfig
from mem_integrations.testing import HashEmbedder

from .common import FloatMatrix, chunks, memory_rows, synthetic_texts

T = TypeVar("T")
DIM = 384  # MiniLM's width: rows, disk and RAM cost what they cost with the real model
CANDIDATES = 40  # ours fetches top_k x candidate_multiplier (10 x 4) per signal
RAW_COLUMNS = ["id", "memory", "vector", "user_id", "created_at"]
_WORD = re.compile(r"\w+", re.UNICODE)  # HashEmbedder's tokenizer


class FastHash:
    """``HashEmbedder(dim)``'s vectors for many texts at once (word buckets cached)."""

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim
        self._bucket: dict[str, int] = {}

    def _b(self, word: str) -> int:
        b = self._bucket.get(word)
        if b is None:
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            b = self._bucket[word] = h % self.dim
        return b

    def array(self, texts: Sequence[str]) -> FloatMatrix:
        rows: list[int] = []
        cols: list[int] = []
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                rows.append(i)
                cols.append(self._b(w))
        m = np.zeros((len(texts), self.dim), dtype=np.float64)
        np.add.at(m, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), 1.0)
        norms = np.linalg.norm(m, axis=1)
        empty = norms == 0
        m[empty, 0] = 1.0
        norms[empty] = 1.0
        out: FloatMatrix = (m / norms[:, None]).astype(np.float32)
        return out


def embedder() -> HashEmbedder:
    return HashEmbedder(dim=DIM)


def history_rows(schema: pa.Schema, rows: pa.Table) -> pa.Table:
    """One ADD event per filled memory, so the filled store is consistent (nothing to recover)."""
    n = rows.num_rows
    cols: dict[str, Any] = {
        "id": pa.array([str(uuid.uuid4()) for _ in range(n)]),
        "memory_id": rows.column("id"),
        "event": pa.array(["ADD"] * n),
        "new_memory": rows.column("memory"),
        "user_id": rows.column("user_id"),
        "created_at": rows.column("created_at"),
        "is_deleted": pa.array([False] * n),
    }
    arrays = [cols[f.name] if f.name in cols else pa.nulls(n, type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def fill_both(
    ours_uri: str,
    raw_uri: str | None,
    users: Sequence[str],
    *,
    seed: int = 0,
    chunk: int = 50_000,
    log: Any = None,
) -> dict[str, Any]:
    """Write ``len(users)`` memories (row i belongs to ``users[i]``) to both systems, compacted."""
    fast = FastHash()
    m = Memory(MemoryConfig(uri=ours_uri, embedder=embedder()))
    m.wait_for_housekeeping()
    raw = None if raw_uri is None else RawLance(raw_uri)
    n = len(users)
    step = timedelta(milliseconds=1)
    start = datetime.now(UTC) - n * step  # one add per millisecond, up to now
    schema = m.store.memories.schema
    hist_schema = m.store.history.schema
    for a, b in chunks(n, chunk):
        texts = synthetic_texts(b - a, seed=seed + a, start=a)
        rows = memory_rows(schema, texts, fast.array(texts), users[a:b], start + a * step, step)
        m.store.append(rows)
        m.store.history.add(history_rows(hist_schema, rows))
        if raw is not None:
            raw.bulk(rows.select(RAW_COLUMNS))
        if log:
            log(f"fill {b:,}/{n:,}")
    m.store.wait_for_housekeeping()
    m.optimize()
    stats = m.stats()
    m.close()
    if raw is not None:
        raw.finish_fill()
        raw.close()
    return {"rows": n, "fragments": stats["fragments"], "bytes": stats["bytes"]}


class RawLance:
    """One raw LanceDB table searched and written the way LanceDB's docs recommend."""

    def __init__(self, uri: str, *, compact_every: int = 100) -> None:
        self.uri = uri
        self.db = lancedb.connect(uri, read_consistency_interval=timedelta(0))
        self.compact_every = compact_every
        self.table: Any = None
        if "raw" in self.db.table_names():
            self.table = self.db.open_table("raw")
        self._adds = 0
        self._bg = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-optimize")
        self._compacting: Future[None] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._atable: Any = None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def bulk(self, rows: pa.Table) -> None:
        if self.table is None:
            self.table = self.db.create_table("raw", data=rows)
        else:
            self.table.add(rows)

    def finish_fill(self) -> None:
        """Indexes, then one compaction: what the fill of our store ends with too."""
        self.ensure_indexes()
        self.table.optimize(cleanup_older_than=timedelta(0))

    def ensure_indexes(self) -> None:
        have = {c for ix in self.table.list_indices() for c in ix.columns}
        for col, cfg in (
            ("user_id", Bitmap()),
            ("id", BTree()),
            ("memory", FTS(with_position=False)),
        ):
            if col not in have:
                self.table.create_index(col, config=cfg, replace=False)

    def add(self, text: str, vector: Sequence[float], user: str) -> None:
        """One memory, one commit; a background compaction every ``compact_every`` adds."""
        row = pa.table(
            {
                "id": [str(uuid.uuid4())],
                "memory": [text],
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(np.asarray(vector, dtype=np.float32)), len(vector)
                ),
                "user_id": [user],
                "created_at": pa.array([datetime.now(UTC)], type=pa.timestamp("us", tz="UTC")),
            }
        )
        if self.table is None:
            self.table = self.db.create_table("raw", data=row)
        else:
            self.table.add(row)
        self._adds += 1
        if self._adds == 1:
            self.ensure_indexes()
        running = self._compacting is not None and not self._compacting.done()
        if self._adds % self.compact_every == 0 and not running:
            self._compacting = self._bg.submit(self._compact)

    def _compact(self) -> None:
        try:
            self.table.optimize(cleanup_older_than=timedelta(minutes=2))
        except Exception as exc:  # a lost commit race: the next round tries again
            print(f"raw optimize: {exc}", flush=True)

    def search(self, vector: Sequence[float], text: str, user: str) -> tuple[pa.Table, pa.Table]:
        where = f"user_id = '{user}'"

        async def go() -> tuple[pa.Table, pa.Table]:
            if self._atable is None:
                adb = await lancedb.connect_async(self.uri, read_consistency_interval=timedelta(0))
                self._atable = await adb.open_table("raw")
            t = self._atable
            vq = (
                t.vector_search(list(vector))
                .distance_type("cosine")
                .where(where)
                .select(["id", "memory", "_distance"])
                .limit(CANDIDATES)
            )
            fq = (
                t.query()
                .nearest_to_text(text, columns="memory")
                .where(where)
                .select(["id", "memory", "_score"])
                .limit(CANDIDATES)
            )
            v, f = await asyncio.gather(vq.to_arrow(), fq.to_arrow())
            return v, f

        return self._run(go())

    def wait(self) -> None:
        if self._compacting is not None:
            self._compacting.result()

    def close(self) -> None:
        self.wait()
        self._bg.shutdown(wait=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
