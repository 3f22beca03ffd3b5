"""A cold search's cheaper shape: expiry checked on the candidates, the vector query's head.

Both change only how many rows LanceDB reads, never the result: every search here is
checked against the one-step search (every column in two queries filtered by expiry).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cold_corpus import QUERIES, USERS, text
from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage.reader import SearchReader
from mem_integrations.testing import FrozenClock, HashEmbedder

CASES: list[dict[str, Any]] = [
    {"top_k": 3},
    {"top_k": 6},
    {"top_k": 6, "threshold": 0.35},
    {"top_k": 4, "filters": {"batch": {"gte": 6}}},
    {"top_k": 5, "explain": True},
    {"top_k": 4, "decay": True},
]


def _store(path: Path, clock: FrozenClock, embedder: Any = None, **config: Any) -> Memory:
    return Memory(
        MemoryConfig(
            uri=str(path),
            embedder=embedder or HashEmbedder(),
            clock=clock,
            search_cache_rows=0,  # every search goes to LanceDB
            optimize_every=10**6,
            **config,
        )
    )


@pytest.fixture
def cold(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    """64 memories per user, 24 of them expire an hour from the clock's start."""
    m = _store(tmp_path / "s", clock)
    expires = clock.now() + timedelta(hours=1)
    for batch in range(24):
        rows = [{"role": "user", "content": text(batch * 8 + j)} for j in range(8)]
        m.add(rows, user_id=USERS[batch % 3], metadata={"batch": batch}, infer=False,
              expiration_date=expires if batch // 3 % 3 == 1 else None)  # fmt: skip
    m.store.wait_for_housekeeping()
    yield m
    m.close()


def _hits(m: Memory, query: str, user: str, **kw: Any) -> list[dict[str, Any]]:
    found = m.search_hits(query, user_id=user, record_access=False, **kw)
    return [h.model_dump() for h in found]


def _all(m: Memory) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    return {(q, u, i): _hits(m, q, u, **kw) for q in QUERIES for u in USERS
            for i, kw in enumerate(CASES)}  # fmt: skip


def _one_step(m: Memory, monkeypatch: pytest.MonkeyPatch) -> dict[Any, list[dict[str, Any]]]:
    """Every search of ``_all`` in one step: the expiry in the filter, no head, no take."""
    real = m.store.scoped_search
    monkeypatch.setattr(
        m.store, "scoped_search", lambda *a, **kw: real(*a, **{**kw, "fetch_later": False})
    )
    try:
        return _all(m)
    finally:
        monkeypatch.setattr(m.store, "scoped_search", real)


def _heads(m: Memory, monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The ``head`` of every ``scoped_search`` call from now on."""
    heads: list[int | None] = []
    real = m.store.scoped_search

    def noting(*args: Any, **kw: Any) -> Any:
        heads.append(kw.get("head"))
        return real(*args, **kw)

    monkeypatch.setattr(m.store, "scoped_search", noting)
    return heads


def _wheres(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The filter of every vector query LanceDB runs from now on."""
    wheres: list[str] = []
    real = SearchReader.vector

    async def noting(table: Any, vector: Any, where: str | None, *args: Any) -> Any:
        wheres.append(where or "")
        return await real(table, vector, where, *args)

    monkeypatch.setattr(SearchReader, "vector", staticmethod(noting))
    return wheres


def test_searches_return_what_one_step_returns_before_and_after_expiry(
    cold: Memory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiring = {r["id"] for u in USERS for r in cold.get_all(user_id=u, limit=100)["results"]
                if r["expiration_date"]}  # fmt: skip
    assert len(expiring) == 72
    for _ in range(2):  # before the expiry, then after it
        want = _one_step(cold, monkeypatch)
        heads = _heads(cold, monkeypatch)
        got = _all(cold)
        assert got == want  # same ids, order, scores and every record field
        assert sum(len(v) for v in got.values()) > 3 * len(got)
        assert any(heads)  # most searches went through a head
        clock.advance(hours=2)
    assert not {h["id"] for v in got.values() for h in v} & expiring


def test_expiry_is_filtered_only_when_a_candidate_has_expired(
    cold: Memory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheres = _wheres(monkeypatch)
    _hits(cold, "kayak river", "u")  # nothing has expired yet: one query, scope only
    assert len(wheres) == 1 and "expires_at" not in wheres[0]
    clock.advance(hours=2)
    wheres.clear()
    hits = _hits(cold, "kayak river dog", "v", top_k=6)  # a third of v's rows expired
    assert len(wheres) == 2  # the candidates held expired rows: queried again, filtered
    assert "expires_at" not in wheres[0] and "expires_at" in wheres[1]
    assert hits and all(h["expiration_date"] is None for h in hits)
    wheres.clear()
    _hits(cold, "kayak river", "u", show_expired=True)  # nothing to check: one query
    assert len(wheres) == 1 and "expires_at" not in wheres[0]


def test_a_head_that_does_not_suffice_is_searched_again_with_the_pool(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows tied with the head's last one could outrank it by id: the pool decides.

    With the vector signal alone, 30 rows score alike on "tent lake" (the rest of each
    text is one more word), more than the head of 10 holds.
    """
    m = _store(tmp_path / "s", clock, vector_weight=1.0)
    m.add([{"role": "user", "content": f"kayak river r{i}"} for i in range(30)], user_id="u",
          infer=False)  # fmt: skip
    m.add([{"role": "user", "content": f"tent lake r{i}"} for i in range(30)], user_id="u",
          infer=False)  # fmt: skip
    real = m.store.scoped_search
    monkeypatch.setattr(
        m.store, "scoped_search", lambda *a, **kw: real(*a, **{**kw, "fetch_later": False})
    )
    want = _hits(m, "tent lake", "u", top_k=5)
    monkeypatch.setattr(m.store, "scoped_search", real)
    heads = _heads(m, monkeypatch)
    got = _hits(m, "tent lake", "u", top_k=5)
    assert heads == [10, None]  # the head's rows tie with those past it
    assert got == want and len(got) == 5
    m.close()


class _Scaled(HashEmbedder):
    """Vectors three times longer than unit: cosine and dot product order alike, not scores."""

    def embed_documents(self, texts: Any) -> list[list[float]]:
        return [[3.0 * x for x in v] for v in super().embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [3.0 * x for x in super().embed_query(text)]


def test_a_query_that_is_not_a_unit_vector_gets_no_head(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = _store(tmp_path / "s", clock, _Scaled())
    m.add([{"role": "user", "content": text(i)} for i in range(40)], user_id="u", infer=False)
    real = m.store.scoped_search
    monkeypatch.setattr(
        m.store, "scoped_search", lambda *a, **kw: real(*a, **{**kw, "fetch_later": False})
    )
    want = [_hits(m, q, "u", top_k=4) for q in QUERIES]
    monkeypatch.setattr(m.store, "scoped_search", real)
    heads = _heads(m, monkeypatch)
    got = [_hits(m, q, "u", top_k=4) for q in QUERIES]
    assert heads == [None] * len(QUERIES)
    assert got == want and all(got)
    m.close()
