"""One held scope's growing state in RAM, and what it really costs (``scope_index``'s cache).

Why the care about bytes: the scope cache is most of this process's memory at scale, and its
budget must be what it holds, not a row count times a guess. Two things made a held row cost
about twice its data (``bench/scope_memory.py``, ``bench/results/scope-memory.json``):

- The rows a scope read returns are slices of the buffers LanceDB decoded to find them
  (a scope's memories are scattered over the table, so those buffers hold mostly other
  scopes' rows). Arrow reports only the slice (``nbytes`` and ``get_total_buffer_size``
  agree) while the buffer stays alive behind it. Measured on a 200k store with 1k-row
  scopes: 5,000 bytes of RSS per held row with the slices kept, 2,499 with exact copies
  (``compact``), of which the account below counts 2,116 (the rest is outside the cache:
  LanceDB's side of the reads and the allocators', not measured apart). At 1M with 99k
  rows held, the copies alone took peak RSS from 937 to 776 MB
  (``bench/results/rss-cache-after.json``, ablation). The copy costs a memcpy of the
  scope's own bytes, small next to the read (search latency unchanged in the same runs).
- Buffers grown by doubling: one own append to a held 1k-row scope made room for 2k. They
  now grow by an eighth (still amortised O(1) per appended row).

``Chain.nbytes`` is the chain's real footprint: its arrays by size, Python objects (ids,
the id -> slot map, the vocabulary, converted rows) by measured per-object constants.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..clock import utc
from .rows import vector_matrix
from .text_index import TextIndex

__all__ = ["ALIVE", "Chain", "compact", "inv_norms", "own_matrix"]

ALIVE = np.iinfo(np.int64).max

#: Per held row, the Python objects besides the arrays: its id string (~85 bytes for a UUID),
#: its list slot and its entry in the id -> slot dict (tracemalloc, 1k-row scopes).
ROW_OBJECT_BYTES = 140
#: Per converted row kept for ``Snapshot.records``: a dict of ~15 fields and its strings
#: (tracemalloc on the store's rows; shared keys, None and time zones not counted).
RECORD_BYTES = 1000


def compact(rows: pa.Table) -> pa.Table:
    """``rows`` in buffers of their own, exactly their size, in one chunk.

    Rows read from LanceDB may be slices of larger decoded pages that stay alive as long as
    any slice does; a copy lets those pages go. ``take`` always allocates new buffers.
    """
    return rows.take(pa.array(np.arange(rows.num_rows, dtype=np.int64)))


def own_matrix(rows: pa.Table) -> npt.NDArray[np.float32]:
    """The ``vector`` column as a C-contiguous float32 matrix that owns its memory."""
    return np.array(vector_matrix(rows), dtype=np.float32, order="C", copy=True)


class Chain:
    """The growing state shared by the successive snapshots of one scope in this process.

    Buffers grow at the end only (by an eighth, amortised O(1)), so a snapshot is a prefix of
    them (its first ``n`` slots) and stays valid while later snapshots append. An update of
    a held row kills its slot (``killed_at``, the sequence number of the snapshot that killed
    it: older snapshots still see it) and appends the new row. Only the newest snapshot of
    the chain (``tip``) may extend it; any other gets re-read instead.
    """

    def __init__(self, rows: pa.Table, vectors: npt.NDArray[np.float32]) -> None:
        n = rows.num_rows
        self.lock = threading.Lock()
        self.base = rows  # the rows read from LanceDB, without vectors; slots 0..n-1
        self.base_bytes = int(rows.get_total_buffer_size())  # it never changes: counted once
        self.ids: list[str] = rows.column("id").to_pylist()
        self.slot_of: dict[str, int] = {i: k for k, i in enumerate(self.ids)}
        self.vectors = vectors
        self.inv_norms = inv_norms(vectors)
        expires = rows.column("expires_at").cast(pa.timestamp("us", tz="UTC"))
        self.expires = expires.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        self.expiring = int((~np.isnat(self.expires)).sum())
        self.killed_at = np.full(n, ALIVE, dtype=np.int64)
        self.kills = 0
        self.text = TextIndex(rows.column("memory").to_pylist())
        self.records: dict[int, dict[str, Any]] = {}  # slot -> row; appended rows start here
        self.n = n
        self.tip = 0  # sequence number of the newest snapshot

    @property
    def nbytes(self) -> int:
        """What this chain holds in RAM, by its buffers' capacity (not only the used part)."""
        arrays = (self.vectors, self.inv_norms, self.expires, self.killed_at)
        return (
            self.base_bytes
            + sum(int(a.nbytes) for a in arrays)
            + self.text.nbytes
            + len(self.ids) * ROW_OBJECT_BYTES
            + len(self.records) * RECORD_BYTES
        )

    def _room(self, extra: int) -> None:
        """Grow the buffers for ``extra`` more slots; old arrays stay valid for readers."""
        need = self.n + extra
        if need <= len(self.killed_at) and need <= len(self.vectors):
            return
        cap = max(need, self.n + self.n // 8, 16)

        def grown(a: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            out = np.empty((cap, *a.shape[1:]), dtype=a.dtype)
            out[: self.n] = a[: self.n]
            out[self.n :] = fill
            return out

        self.vectors = grown(self.vectors, 0.0)
        self.inv_norms = grown(self.inv_norms, 0.0)
        self.expires = grown(self.expires, np.datetime64("NaT"))
        self.killed_at = grown(self.killed_at, ALIVE)

    def extend(
        self, seq: int, kill: Sequence[str], rows: list[dict[str, Any]], vectors: npt.NDArray[Any]
    ) -> None:
        """Kill the slots of ``kill`` and append ``rows`` as snapshot ``seq`` (holding the lock)."""
        for row_id in kill:
            slot = self.slot_of.pop(row_id, None)
            if slot is not None and self.killed_at[slot] == ALIVE:
                self.killed_at[slot] = seq
                self.kills += 1
        k = len(rows)
        if k:
            self._room(k)
            lo, hi = self.n, self.n + k
            self.vectors[lo:hi] = vectors
            self.inv_norms[lo:hi] = inv_norms(vectors)
            for j, row in enumerate(rows):
                exp = row.get("expires_at")
                if exp is not None:
                    self.expires[lo + j] = np.datetime64(utc(exp).replace(tzinfo=None), "us")
                    self.expiring += 1
                self.records[lo + j] = row
                self.slot_of[row["id"]] = lo + j
                self.ids.append(row["id"])
            self.text.extend([r["memory"] for r in rows])
            self.n = hi
        self.tip = seq


def inv_norms(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """1 / the L2 norm of each row (0 for a zero row), for cosine without re-normalising."""
    norms = np.linalg.norm(vectors, axis=1).astype(np.float32)
    out: npt.NDArray[np.float32] = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return out
