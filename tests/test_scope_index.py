"""Scopes searched in RAM (core/scope_index.py, core/text_index.py) against LanceDB itself.

The in-RAM path must return what LanceDB's two queries return for the same scope: the same
text analysis and BM25 scores, the same rows, every commit of every writer, expiry applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import lancedb
import pyarrow as pa
import pytest
from lancedb.index import FTS

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage.text_index import STOP_WORDS, TextIndex, terms
from mem_integrations.testing import FrozenClock, HashEmbedder

DOCS = [
    'Caroline said, "I went to the LGBTQ support group yesterday and it was powerful."',
    'Melanie said, "We painted a sunrise together at the lake; painting calms me."',
    'Caroline said, "The adoption agency called about the interview!"',
    'Melanie said, "My kids love the park, we go to the park every weekend."',
    'John said, "Café visits are my thing: the café near work owns the best croissants."',
    'Maria said, "Volunteering at the dog shelter again; the dogs were so happy."',
    'John said, "Running a marathon in under 4 hours is my goal for next year."',
    'Maria said, "does anyone own a kayak? I\'d love to rent one for the river."',
]
QUERIES = [
    "What did Caroline attend yesterday?",
    "Which park does Melanie go to with her kids on the weekend, the park by the lake?",
    "Where does John buy croissants at the cafe?",
    "How many dogs did Maria see at the shelter?",
    "What does Melanie paint?",
    "who owns a kayak",
    "marathon goal hours",
    "marathon in under 4 hours, 2 goals",
]


@pytest.fixture
def lance_fts(tmp_path: Path) -> lancedb.table.Table:
    """DOCS in a LanceDB table with the full-text index our store builds."""
    db = lancedb.connect(str(tmp_path / "probe"))
    table = db.create_table("t", pa.table({"id": list(range(len(DOCS))), "memory": DOCS}))
    table.create_index("memory", config=FTS(with_position=False))
    return table


def test_analysis_drops_exactly_the_words_lancedb_drops(lance_fts: lancedb.table.Table) -> None:
    # Stop words are compared with the stem: "owns" and "own" go, "does" (stem "doe") stays.
    words = ["owns", "own", "does", "the", "painting", "café", "cafe", "dogs", "kayak", "were"]
    for word in words:
        found = len(lance_fts.search(word, query_type="fts").limit(10).to_list()) > 0
        analysed = terms(word)
        assert (analysed != []) == found, word
    assert terms("owns does Painting CAFÉ dogs") == ["doe", "paint", "cafe", "dog"]
    assert "own" in STOP_WORDS and "doe" not in STOP_WORDS


def test_bm25_scores_equal_lancedb_on_one_scope(lance_fts: lancedb.table.Table) -> None:
    index = TextIndex(DOCS)
    compared = 0
    for query in QUERIES:
        result = lance_fts.search(query, query_type="fts").limit(len(DOCS)).to_arrow()
        ours = index.scores(query)
        assert {i for i, s in enumerate(ours) if s > 0} == set(result["id"].to_pylist()), query
        for doc, score in zip(result["id"].to_pylist(), result["_score"].to_pylist(), strict=True):
            assert ours[doc] == pytest.approx(score, rel=1e-5), (query, doc)
            compared += 1
    assert compared > len(QUERIES)  # the probe matched something for most queries


def _memory(path: Path, clock: FrozenClock, **kw: object) -> Memory:
    return Memory(MemoryConfig(uri=str(path), embedder=HashEmbedder(), clock=clock, **kw))


@pytest.fixture
def pair(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[Memory, Memory]]:
    """One store opened twice: with scopes in RAM (the default) and with LanceDB only.

    One scope, so that LanceDB's table-wide BM25 statistics are the scope's own.
    """
    ram = _memory(tmp_path / "s", clock)
    ram.add([{"role": "user", "content": d} for d in DOCS], user_id="u", infer=False)
    ram.store.wait_for_housekeeping()
    ram.store.optimize()  # the full-text index covers every row: LanceDB scores them all
    lance = _memory(tmp_path / "s", clock, search_cache_rows=0)
    yield ram, lance
    ram.close()
    lance.close()


def test_ram_search_returns_what_lancedb_returns(pair: tuple[Memory, Memory]) -> None:
    ram, lance = pair
    for query in QUERIES:
        a = ram.search_hits(query, user_id="u", top_k=5)
        b = lance.search_hits(query, user_id="u", top_k=5)
        assert [h.id for h in a] == [h.id for h in b], query
        assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-5)
    assert ram.store.scopes.rows == len(DOCS) and lance.store.scopes.rows == 0


def test_scores_do_not_depend_on_what_is_cached(pair: tuple[Memory, Memory]) -> None:
    ram, _ = pair
    first = ram.search_hits(QUERIES[1], user_id="u")
    ram.store.scopes.clear()
    again = ram.search_hits(QUERIES[1], user_id="u")
    held = ram.search_hits(QUERIES[1], user_id="u")
    assert [(h.id, h.score) for h in first] == [(h.id, h.score) for h in again]
    assert [(h.id, h.score) for h in held] == [(h.id, h.score) for h in first]


def test_a_held_scope_sees_another_writers_commits(tmp_path: Path, clock: FrozenClock) -> None:
    reader = _memory(tmp_path / "s", clock)
    reader.add("I like green tea", user_id="u", infer=False)
    assert reader.search_hits("tea", user_id="u")
    held = reader.store.scopes.rows
    writer = _memory(tmp_path / "s", clock)
    new = writer.add("my kayak is red", user_id="u", infer=False)["results"][0]["id"]
    gone = writer.get_all(user_id="u")["results"]
    writer.delete(next(m["id"] for m in gone if m["memory"] == "I like green tea"))
    hits = reader.search_hits("kayak tea", user_id="u")
    assert held == 1 and [h.id for h in hits] == [new]
    writer.close()
    reader.close()


def test_expiry_applies_to_a_held_scope_without_a_commit(
    memory: Memory, clock: FrozenClock
) -> None:
    soon = clock.now() + timedelta(hours=1)
    kept = memory.add("the kayak is red", user_id="u", infer=False)["results"][0]["id"]
    brief = memory.add("the kayak is rented", user_id="u", infer=False, expiration_date=soon)
    brief_id = brief["results"][0]["id"]
    assert {h.id for h in memory.search_hits("kayak", user_id="u")} == {kept, brief_id}
    clock.advance(hours=2)
    assert [h.id for h in memory.search_hits("kayak", user_id="u")] == [kept]
    shown = memory.search_hits("kayak", user_id="u", show_expired=True)
    assert {h.id for h in shown} == {kept, brief_id}
    assert memory.store.scopes.rows == 2  # all three searches were answered from RAM


def test_scopes_over_the_budget_go_to_lancedb(tmp_path: Path, clock: FrozenClock) -> None:
    m = _memory(tmp_path / "s", clock, search_cache_rows=4)
    m.add([{"role": "user", "content": d} for d in DOCS[:5]], user_id="big", infer=False)
    m.add([{"role": "user", "content": d} for d in DOCS[5:8]], user_id="small", infer=False)
    assert m.search_hits("Caroline", user_id="big")  # five rows: over a budget of four
    assert m.store.scopes.rows == 0
    assert m.search_hits("Maria", user_id="small")
    assert m.store.scopes.rows == 3
    m.add('Maria said, "one more"', user_id="other", infer=False)
    m.add('Maria said, "and another"', user_id="other", infer=False)
    assert m.search_hits("Maria", user_id="other")
    assert m.store.scopes.rows == 2  # "small" was least recently used: evicted for "other"
    m.close()


def test_in_a_table_over_the_budget_a_scope_is_read_once_it_is_searched_again(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """A cold scope's first search costs LanceDB's two indexed queries, not a scope read."""
    m = _memory(tmp_path / "s", clock, search_cache_rows=4)
    m.add([{"role": "user", "content": d} for d in DOCS[:5]], user_id="big", infer=False)
    m.add([{"role": "user", "content": d} for d in DOCS[5:8]], user_id="small", infer=False)
    m.close()
    m = _memory(tmp_path / "s", clock, search_cache_rows=4)  # opens a table of 8 rows > 4
    first = [h.id for h in m.search_hits("Maria dogs shelter", user_id="small")]
    m.store.search.wait_for_loads()
    assert m.store.scopes.rows == 0  # answered by LanceDB, nothing read into RAM
    again = [h.id for h in m.search_hits("Maria dogs shelter", user_id="small")]
    m.store.search.wait_for_loads()
    assert m.store.scopes.rows == 3  # searched again: read on the loader thread
    held = [h.id for h in m.search_hits("Maria dogs shelter", user_id="small")]
    assert first[0] == again[0] == held[0]
    assert set(first) == set(held)
    m.close()


def test_reset_forgets_held_scopes(memory: Memory) -> None:
    memory.add("the kayak is red", user_id="u", infer=False)
    assert memory.search_hits("kayak", user_id="u")
    memory.reset()
    assert memory.store.scopes.rows == 0
    assert memory.search_hits("kayak", user_id="u") == []


def test_own_appends_extend_a_held_scope_without_reading_it_again(
    memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory.add("the kayak is red", user_id="u", infer=False)
    memory.add("the tent is green", user_id="v", infer=False)
    assert memory.search_hits("kayak", user_id="u") and memory.search_hits("tent", user_id="v")
    memory.store.wait_for_housekeeping()  # no background optimize between here and the end
    reads: list[str] = []
    real_run = memory.store._reader.run

    def counting_run(coro: object) -> object:
        reads.append(getattr(coro, "__qualname__", "?"))
        return real_run(coro)  # type: ignore[arg-type]

    monkeypatch.setattr(memory.store._reader, "run", counting_run)
    new = memory.add("the kayak paddle is blue", user_id="u", infer=False)["results"][0]["id"]
    hits = memory.search_hits("kayak paddle", user_id="u")
    assert hits[0].id == new and len(hits) == 2
    assert [h.memory for h in memory.search_hits("tent", user_id="v")] == ["the tent is green"]
    assert memory.store.scopes.rows == 3
    assert reads == []  # both scopes were carried over to the new version: no LanceDB read


def test_another_writer_after_an_own_append_is_seen(tmp_path: Path, clock: FrozenClock) -> None:
    reader = _memory(tmp_path / "s", clock)
    reader.add("I like green tea", user_id="u", infer=False)
    assert reader.search_hits("tea", user_id="u")
    reader.store.wait_for_housekeeping()
    mine = reader.add("my tea kettle is red", user_id="u", infer=False)["results"][0]["id"]
    writer = _memory(tmp_path / "s", clock)
    theirs = writer.add("the tea shop opens at nine", user_id="u", infer=False)["results"][0]["id"]
    assert {h.id for h in reader.search_hits("tea", user_id="u")} >= {mine, theirs}
    writer.close()
    reader.close()
