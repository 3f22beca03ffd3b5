"""What a scope held in RAM costs, and the cache's byte budget (core/storage/scope_chain.py).

The budget is only as good as the account: a snapshot must hold no more than its own rows
(not the pages LanceDB cut them from), its buffers must not double on one append, and
``Snapshot.nbytes`` must be close to what building it really allocated.
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage.scope_index import ScopeCache, Snapshot
from mem_integrations.testing import FrozenClock, HashEmbedder

DIM = 384
WORDS = "kayak tent river lake dog shelter marathon coffee garden piano paint sunrise".split()


def _rows(n: int, seed: int = 0) -> pa.Table:
    """``n`` rows shaped as a scope read returns them, in Arrow's pool (as its readers' are)."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, 6)) + f" note {i}" for i in range(n)]
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return pa.table(
        {
            "id": [str(uuid.UUID(int=int(rng.integers(2**62)) * 4 + i)) for i in range(n)],
            "memory": texts,
            "expires_at": pa.array([None] * n, pa.timestamp("us", tz="UTC")),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM),
        }
    ).take(np.arange(n))  # numpy's vectors copied into Arrow's pool


def test_a_snapshot_does_not_keep_the_pages_its_rows_were_cut_from() -> None:
    # A LanceDB read of a scope returns slices of larger decoded pages; holding the slice
    # held the page (1k-row scopes of a 200k store: 5.0 KB of RSS per held row, 2.5 with copies).
    gc.collect()
    before = pa.total_allocated_bytes()
    page = _rows(20_000)
    assert pa.total_allocated_bytes() - before > 20_000 * DIM * 4  # the page is in the pool
    snap = Snapshot(1, page.slice(100, 10))
    del page
    gc.collect()
    assert snap.size == 10
    assert pa.total_allocated_bytes() - before < 64 * 1024  # ~10 rows' worth, not 30 MB


def test_nbytes_is_what_building_a_snapshot_allocated() -> None:
    rows = _rows(2_000, seed=1)
    Snapshot(1, rows)  # warm the analysis caches, which are shared and bounded
    gc.collect()
    pool = pa.total_allocated_bytes()
    tracemalloc.start()
    try:
        snap = Snapshot(1, rows)
        gc.collect()
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    real = traced + pa.total_allocated_bytes() - pool
    assert real > 2_000 * DIM * 4
    assert 0.8 < snap.nbytes / real < 1.25, (snap.nbytes, real)


def test_one_append_does_not_double_a_held_scope() -> None:
    rows = _rows(1_000, seed=2)
    snap = Snapshot(1, rows, {"user_id": "u"})
    before = snap.nbytes
    new = _rows(1, seed=3).append_column("user_id", pa.array(["u"]))
    nxt = snap.advanced(2, new)
    assert nxt is not None and nxt.size == 1_001
    assert len(nxt.chain.vectors) <= 1_001 + 1_001 // 8  # it used to make room for 2,000
    assert nxt.nbytes < before * 1.2  # room for an eighth more, not for 1,000 more


def test_the_byte_budget_evicts_the_least_recently_used() -> None:
    snaps = [Snapshot(1, _rows(300, seed=s)) for s in range(3)]
    one = max(s.nbytes for s in snaps)
    cache = ScopeCache(max_rows=10_000, max_bytes=int(2.5 * one))
    cache.put("a", snaps[0])
    cache.put("b", snaps[1])
    assert cache.get("a", 1) is snaps[0]  # "b" is now the least recently used
    cache.put("c", snaps[2])
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) is snaps[0] and cache.get("c", 1) is snaps[2]
    assert cache.rows == 600 and cache.nbytes == snaps[0].nbytes + snaps[2].nbytes
    assert cache.nbytes <= cache.max_bytes


def test_rows_a_search_converts_are_charged_to_the_budget() -> None:
    snap = Snapshot(1, _rows(300, seed=4))
    cache = ScopeCache(max_rows=10_000, max_bytes=10 * snap.nbytes)
    cache.put("a", snap)
    before = cache.nbytes
    assert [r["id"] for r in snap.records([0, 1, 2])] == snap.chain.ids[:3]
    assert cache.get("a", 1) is snap
    assert cache.nbytes > before and cache.nbytes == snap.nbytes


def test_a_scope_over_the_byte_budget_alone_is_not_held() -> None:
    big = Snapshot(1, _rows(500, seed=5))
    cache = ScopeCache(max_rows=10_000, max_bytes=big.nbytes // 2)
    cache.put("big", big)
    assert cache.get("big", 1) is None and cache.rows == 0 and cache.nbytes == 0
    assert not cache.may_hold("big")  # sent to LanceDB for a while, as over the row budget
    assert cache.may_hold("other")
    held = Snapshot(1, _rows(500, seed=6), {"user_id": "u"})
    cache = ScopeCache(max_rows=10_000, max_bytes=held.nbytes + 1_000)
    cache.put("u", held)
    assert cache.get("u", 1) is held
    cache.appended(2, _rows(100, seed=7).append_column("user_id", pa.array(["u"] * 100)))
    assert cache.get("u", 2) is None and cache.rows == 0  # its own append took it over


def test_search_cache_mb_bounds_a_store_and_zero_holds_nothing(
    tmp_path: Path, clock: FrozenClock
) -> None:
    def memory(**kw: object) -> Memory:
        return Memory(
            MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(DIM), clock=clock, **kw)
        )

    m = memory(search_cache_mb=1)
    for user in ("a", "b", "c"):  # ~250 rows at ~2.1 KB: about half a MiB per scope
        texts = [f"{user} {w} note {i}" for i, w in enumerate(WORDS * 21)]
        m.add([{"role": "user", "content": t} for t in texts], user_id=user, infer=False)
    for user in ("a", "b", "c"):
        assert m.search_hits("kayak", user_id=user)
    assert 0 < m.store.scopes.nbytes <= 2**20
    assert 0 < m.store.scopes.rows < 3 * 252  # the first scope went to make room
    m.close()
    off = memory(search_cache_mb=0)
    assert off.search_hits("kayak", user_id="a") and off.store.scopes.rows == 0
    off.close()
    with pytest.raises(ValidationError):
        MemoryConfig(search_cache_mb=-1)
