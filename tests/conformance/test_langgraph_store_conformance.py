"""LanceDBStore against the behaviours LangGraph's own store suites check (issue 20).

One test per behaviour of langchain-ai/langgraph's store suites, at commit
f09cfe8ffc1eeffd68f4b628ed69c30f7cad229f (our own code; each test names the upstream test(s)
it mirrors):

- ``CP``  = libs/checkpoint/tests/test_store.py (InMemoryStore, the reference)
- ``SQ``  = libs/checkpoint-sqlite/tests/test_store.py, ``SQA`` = .../test_async_store.py
- ``TTL`` = libs/checkpoint-sqlite/tests/test_ttl.py
- ``PG``  = libs/checkpoint-postgres/tests/test_store.py, ``PGA`` = .../test_async_store.py

Time is a FrozenClock (no sleeps), embeddings are a letter-count model whose cosines are easy
to state. Where we deliberately differ, docs/langchain.md ("LangGraph conformance") says why.
"""

from __future__ import annotations

import asyncio
import math
import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)

from mem_integrations import InvalidFilterError, Memory, MemoryConfig
from mem_integrations.langchain import LanceDBStore
from mem_integrations.testing import FrozenClock

UPSTREAM = "langchain-ai/langgraph@f09cfe8ffc1eeffd68f4b628ed69c30f7cad229f"


class Letters:
    """Letter counts (a-z plus 'other'), L2-normalised: cos("aaa", "abcd") is exactly 0.5."""

    dim = 27
    model_id = "test-letters-27"

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for ch in text.lower():
            v[string.ascii_lowercase.index(ch) if ch in string.ascii_lowercase else 26] += 1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def cos(a: str, b: str) -> float:
    e = Letters()
    return float(np.dot(e.embed_query(a), e.embed_query(b)))


@pytest.fixture
def mem(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=Letters(), clock=clock))
    yield m
    m.close()


@pytest.fixture
def cosine_mem(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    """``vector_weight=1.0``: scores are LangGraph's cosine similarities (floored at 0)."""
    cfg = MemoryConfig(uri=str(tmp_path / "c"), embedder=Letters(), clock=clock, vector_weight=1.0)
    m = Memory(cfg)
    yield m
    m.close()


@pytest.fixture
def store(mem: Memory) -> LanceDBStore:
    return LanceDBStore(mem)


# -- basic operations and batches ---------------------------------------------------------


def test_basic_put_get_update_delete(store: LanceDBStore) -> None:
    """SQ TestSqliteStore.test_basic_store_ops, SQ test_basic_store_operations, PG
    test_basic_store_ops, SQA test_basic_store_ops."""
    ns = ("test", "documents")
    store.put(ns, "doc1", {"title": "Test Document", "content": "Hello, World!"})
    item = store.get(ns, "doc1")
    assert item is not None and (item.namespace, item.key) == (ns, "doc1")
    assert item.value == {"title": "Test Document", "content": "Hello, World!"}
    store.put(ns, "doc1", {"title": "Updated", "content": "Hello, Updated!"})
    updated = store.get(ns, "doc1")
    assert updated is not None and updated.value["title"] == "Updated"
    assert updated.updated_at >= item.updated_at
    assert store.get(("test", "other_documents"), "doc1") is None
    store.delete(ns, "doc1")
    assert store.get(ns, "doc1") is None


def test_batch_order_and_results(store: LanceDBStore) -> None:
    """SQ/PG test_batch_order, SQA/PGA test_abatch_order: one result per op, in op order."""
    store.put(("test", "foo"), "key1", {"data": "value1"})
    store.put(("test", "bar"), "key2", {"data": "value2"})
    results = store.batch(
        [
            GetOp(("test", "foo"), "key1"),
            PutOp(("test", "bar"), "key2", {"data": "value2"}),
            SearchOp(("test",), filter={"data": "value1"}, limit=10, offset=0),
            ListNamespacesOp(match_conditions=None, max_depth=None, limit=10, offset=0),
            GetOp(("test",), "key3"),
        ]
    )
    assert isinstance(results[0], Item) and results[0].value == {"data": "value1"}
    assert results[1] is None and results[4] is None
    assert isinstance(results[2], list) and [i.key for i in results[2]] == ["key1"]
    assert isinstance(results[3], list) and {("test", "foo"), ("test", "bar")} <= set(results[3])


def test_batch_get_put_delete_ops(store: LanceDBStore) -> None:
    """SQ/PG test_batch_get_ops and test_batch_put_ops: ``value=None`` deletes."""
    res = store.batch(
        [PutOp(("t",), "k1", {"d": 1}), PutOp(("t",), "k2", {"d": 2}), PutOp(("t",), "k3", None)]
    )
    assert res == [None, None, None]
    got = store.batch([GetOp(("t",), "k1"), GetOp(("t",), "k2"), GetOp(("t",), "k3")])
    assert [g.key if g else None for g in got] == ["k1", "k2", None]  # type: ignore[union-attr]


def test_batch_search_and_list_namespace_ops(store: LanceDBStore) -> None:
    """SQ/PG test_batch_search_ops and test_batch_list_namespaces_ops."""
    for ns, key, tag in [(("test", "foo"), "a", "x"), (("test", "bar"), "b", "x"),
                         (("test", "baz"), "c", "y")]:  # fmt: skip
        store.put(ns, key, {"tag": tag})
    tagged, first2, foo = store.batch(
        [
            SearchOp(("test",), filter={"tag": "x"}, limit=10, offset=0),
            SearchOp(("test",), filter=None, limit=2, offset=0),
            SearchOp(("test", "foo"), filter=None, limit=10, offset=0),
        ]
    )
    assert {i.key for i in tagged} == {"a", "b"} and len(first2) == 2  # type: ignore[union-attr]
    assert [i.namespace for i in foo] == [("test", "foo")]  # type: ignore[union-attr]
    suffix = MatchCondition("suffix", ("foo",))
    (spaces,) = store.batch([ListNamespacesOp(match_conditions=(suffix,), limit=10, offset=0)])
    assert spaces == [("test", "foo")]


def test_namespace_validation(store: LanceDBStore) -> None:
    """CP test_cannot_put_empty_namespace: empty, dotted, empty-label and ``langgraph``-rooted
    namespaces are refused by ``put``; a batch PutOp may still use the reserved root."""
    for bad in [(), ("the", "thing.about"), ("some", "fun", ""), ("langgraph", "foo")]:
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "foo", {"foo": "bar"})
    store.put(("foo", "langgraph", "foo"), "bar", {"foo": "bar"})
    assert store.search(("foo", "langgraph", "foo"), query="bar")[0].value == {"foo": "bar"}
    store.batch([PutOp(("langgraph", "foo"), "bar", {"foo": "bar"})])
    assert store.search(("langgraph", "foo"))[0].value == {"foo": "bar"}


# -- listing namespaces ---------------------------------------------------------------------


def test_list_namespaces_prefix_suffix_wildcards_depth_paging(store: LanceDBStore) -> None:
    """CP test_list_namespaces_basic/_with_wildcards/_max_depth/_no_conditions/_empty_store,
    SQ test_list_namespaces_operations, PG/SQ test_list_namespaces."""
    assert store.list_namespaces() == []
    spaces = [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f"),
              ("a", "c", "f"), ("b", "a", "f"), ("users", "123")]  # fmt: skip
    for i, ns in enumerate(spaces):
        store.put(ns, f"id_{i}", {"data": i})
    assert store.list_namespaces() == sorted(spaces)
    assert store.list_namespaces(prefix=("a", "b")) == sorted(spaces[:4])
    ends_f = [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]
    assert store.list_namespaces(suffix=("f",)) == ends_f
    assert store.list_namespaces(prefix=("a",), suffix=("f",)) == ends_f[:2]
    assert store.list_namespaces(prefix=("a", "*", "f")) == ends_f[:2]
    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")
    ]  # fmt: skip
    assert store.list_namespaces(prefix=("a", "b"), limit=2) == sorted(spaces[:4])[:2]
    assert store.list_namespaces(prefix=("a", "b"), offset=2) == sorted(spaces[:4])[2:]
    assert store.list_namespaces(prefix=("nonexistent",)) == []


def test_list_namespaces_pagination(store: LanceDBStore) -> None:
    """CP test_list_namespaces_pagination."""
    for i in range(20):
        store.put(("namespace", f"sub_{i:02d}"), f"id_{i}", {"i": i})
    page = store.list_namespaces(prefix=("namespace",), limit=5, offset=15)
    assert page == [("namespace", f"sub_{i:02d}") for i in range(15, 20)]


def test_namespace_labels_are_literal_and_segment_aligned(store: LanceDBStore) -> None:
    """SQ/PG test_search_namespace_segment_boundary, test_list_namespaces_segment_boundary,
    SQ test_search_namespace_wildcard_chars_are_literal, test_search_namespace_is_case_sensitive,
    test_list_namespaces_metacharacter_labels, test_namespace_labels_with_trailing_newline,
    PG test_search_namespace_like_metacharacters, SQA test_async_namespace_segment_boundary."""
    spaces = [("foo",), ("foo", "child"), ("foobar",), ("user_1",), ("userX1",), ("a%b",),
              ("axxb",), ("star*",), ("starX",), ("Foo",), ("users", "alice"),
              ("users", "alice\n"), ("users", "malice")]  # fmt: skip
    for ns in spaces:
        store.put(ns, "k", {"v": 1})

    def found(prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        return {i.namespace for i in store.search(prefix, limit=100)}

    assert found(("foo",)) == {("foo",), ("foo", "child")}
    assert found(("fo",)) == set() and found(("Foo",)) == {("Foo",)}
    assert found(("user_1",)) == {("user_1",)} and found(("a%b",)) == {("a%b",)}
    assert found(("star*",)) == {("star*",)}
    assert set(store.list_namespaces(suffix=("alice",), limit=100)) == {("users", "alice")}
    assert store.list_namespaces(prefix=("users", "alice")) == [("users", "alice")]


def test_empty_prefix_searches_everything(store: LanceDBStore) -> None:
    """SQ/PG test_search_empty_prefix_is_unconstrained."""
    for ns in [("a",), ("b", "c"), ("d", "e", "f")]:
        store.put(ns, "k", {"v": 1})
    assert {i.namespace for i in store.search((), limit=100)} == {("a",), ("b", "c"),
                                                                   ("d", "e", "f")}  # fmt: skip


# -- search and filters ---------------------------------------------------------------------


def test_search_namespace_value_filter_and_paging(store: LanceDBStore) -> None:
    """SQ/PG test_search, SQ/SQA test_search_items: prefix, equality, list-valued filters,
    limit and offset (pages are disjoint)."""
    data = [(("test", "docs"), "doc1", {"author": "Alice", "tags": ["important"]}),
            (("test", "docs"), "doc2", {"author": "Bob", "tags": ["draft"]}),
            (("test", "images"), "img1", {"author": "Alice", "tags": ["final"]}),
            (("test", "images"), "img2", {"author": "Carol", "tags": ["draft"]})]  # fmt: skip
    for ns, key, value in data:
        store.put(ns, key, value)
    assert len(store.search(("test",))) == 4
    assert {i.key for i in store.search(("test", "docs"))} == {"doc1", "doc2"}
    assert {i.key for i in store.search(("test",), filter={"author": "Alice"})} == {"doc1", "img1"}
    assert {i.key for i in store.search(("test",), filter={"tags": ["draft"]})} == {"doc2", "img2"}
    assert store.search(("test",), filter={"tags": ["draft", "x"]}) == []  # lists are equal whole
    first, second = store.search(("test",), limit=2), store.search(("test",), limit=2, offset=2)
    assert len(first) == len(second) == 2
    assert {i.key for i in first}.isdisjoint({i.key for i in second})


def test_filter_operators_numbers_bools_and_specials(store: LanceDBStore) -> None:
    """SQ test_numeric_filter_safety and test_boolean_filter_safety, CP/SQ/PG
    test_vector_search_with_filters ($gt/$gte/$lt/$lte/$ne)."""
    for key, price, active in [("i1", 10, True), ("i2", 20, False), ("i3", 30, True),
                               ("i4", -10, True)]:  # fmt: skip
        store.put(("items",), key, {"price": price, "active": active})

    def keys(flt: dict[str, Any]) -> set[str]:
        return {i.key for i in store.search(("items",), filter=flt)}

    assert keys({"price": {"$gt": 15}}) == {"i2", "i3"}
    assert keys({"price": {"$gte": 20, "$lt": 30}}) == {"i2"}
    assert keys({"price": {"$lt": 0}}) == {"i4"}
    assert keys({"price": {"$ne": 10}}) == {"i2", "i3", "i4"}
    assert keys({"price": {"$lt": float("inf")}}) == {"i1", "i2", "i3", "i4"}
    assert keys({"price": {"$gt": float("-inf")}}) == {"i1", "i2", "i3", "i4"}
    assert keys({"price": {"$eq": float("nan")}}) == set()
    assert keys({"price": {"$lt": 10**100}}) == {"i1", "i2", "i3", "i4"}
    assert keys({"active": True}) == {"i1", "i3", "i4"} and keys({"active": False}) == {"i2"}
    assert keys({"price": 1}) == set() and keys({"active": 1}) == set()  # JSON-typed equality


def test_filter_values_and_keys_are_never_sql(store: LanceDBStore) -> None:
    """SQ test_sql_injection_filter_values and test_sql_injection_vulnerability: hostile values
    match literally; a hostile key is a (missing) field name. We never raise for a key,
    LangGraph's SQLite store refuses it (docs/langchain.md, "LangGraph conformance")."""
    store.put(("docs",), "doc1", {"access": "public", "title": "Public"})
    store.put(("docs",), "doc2", {"access": "private", "title": "O'Brien's Document"})
    for hostile in ["public' OR '1'='1", "public'; --", "public' UNION SELECT * FROM store --",
                    "''''", "public' OR 'א'='א"]:  # fmt: skip
        assert store.search(("docs",), filter={"access": hostile}) == []
    assert [i.key for i in store.search(("docs",), filter={"title": "O'Brien's Document"})] == [
        "doc2"
    ]
    evil_key = "access') = 'public' OR '1'='1' OR json_extract(value, '$."
    assert store.search(("docs",), filter={evil_key: "dummy"}) == []
    with pytest.raises(InvalidFilterError):  # unknown operators are refused, never ignored
        store.search(("docs",), filter={"access": {"$like": "pub%"}})


def test_filter_keys_with_hyphens_digits_and_dotted_paths(store: LanceDBStore) -> None:
    """SQ test_filter_keys_with_hyphens_and_digits: dotted keys reach nested values."""
    store.put(("docs",), "hyphen", {"access-level": "public", "user": {"access-level": "nested"}})
    store.put(("docs",), "digit", {"123abc": "ok", "user": {"123abc": "ok2"}})
    store.put(("docs",), "literal", {"a.b": "dotted key"})

    def keys(flt: dict[str, Any]) -> list[str]:
        return [i.key for i in store.search(("docs",), filter=flt)]

    assert keys({"access-level": "public"}) == ["hyphen"]
    assert keys({"user.access-level": "nested"}) == ["hyphen"]
    assert keys({"123abc": "ok"}) == ["digit"] and keys({"user.123abc": "ok2"}) == ["digit"]
    assert keys({"a.b": "dotted key"}) == ["literal"]  # a literal dotted key wins
    assert keys({"user": {"access-level": "nested"}}) == ["hyphen"]  # nested dict match


def test_search_without_query_or_with_edge_queries(mem: Memory) -> None:
    """SQ/PG/SQA test_vector_search_edge_cases: '' and None list; long and odd queries work."""
    store = LanceDBStore(mem)
    store.put(("test",), "doc1", {"text": "test document"})
    assert len(store.search(("test",), query="")) == 1
    assert len(store.search(("test",), query=None)) == 1
    assert store.search(("test",), query="")[0].score is None
    assert len(store.search(("test",), query="test " * 100)) == 1
    assert len(store.search(("test",), query="test!@#$%^&*()")) == 1


# -- semantic search -------------------------------------------------------------------------


def test_index_config_reports_the_memory_embedder(mem: Memory) -> None:
    """CP/SQ/PG/SQA/PGA test_vector_store_initialization."""
    store = LanceDBStore(mem, index={"dims": 27, "fields": ["content", "title"]})
    assert store.index_config["dims"] == 27 and store.index_config["embed"] is mem.embedder
    assert store.index_config["fields"] == ["content", "title"]
    with pytest.raises(ValueError, match="differ"):
        LanceDBStore(mem, index={"dims": 500})
    with pytest.raises(ValueError, match="not supported"):
        LanceDBStore(mem, index={"distance_type": "l2"})


def test_insert_auto_embeds_and_update_reembeds(mem: Memory) -> None:
    """CP/SQ/PG test_vector_insert_with_auto_embedding and test_vector_update_with_embedding
    (and their async twins): '$' embeds any field; a re-put re-embeds; index=False is never a
    semantic hit."""
    store = LanceDBStore(mem)
    store.put(("test",), "doc1", {"text": "zany zebra xerxes"})
    store.put(("test",), "doc2", {"description": "something about dogs"})
    first = store.search(("test",), query="zany xerxes")
    assert first[0].key == "doc1" and first[0].score is not None
    store.put(("test",), "doc1", {"text": "new text about dogs"})
    after = {i.key: i.score for i in store.search(("test",), query="zany xerxes")}
    assert after["doc1"] is not None and after["doc1"] < first[0].score
    store.put(("test",), "doc4", {"text": "new text about dogs"}, index=False)
    hits = store.search(("test",), query="new text about dogs", limit=3)
    assert "doc4" not in {h.key for h in hits} and hits[0].key == "doc1"


def test_semantic_search_with_filters_and_pagination(mem: Memory) -> None:
    """CP/SQ/PG test_vector_search_with_filters and test_vector_search_pagination."""
    store = LanceDBStore(mem)
    for key, value in [("doc1", {"text": "red apple", "color": "red", "score": 4.5}),
                       ("doc2", {"text": "red car", "color": "red", "score": 3.0}),
                       ("doc3", {"text": "green apple", "color": "green", "score": 4.0}),
                       ("doc4", {"text": "blue car", "color": "blue", "score": 3.5})]:  # fmt: skip
        store.put(("test",), key, value)
    red = store.search(("test",), query="apple", filter={"color": "red"})
    assert [h.key for h in red][:1] == ["doc1"] and len(red) == 2
    hits = store.search(("test",), query="blue", filter={"score": {"$gt": 3.2}})
    assert hits[0].key == "doc4" and len(hits) == 3
    both = store.search(("test",), query="apple", filter={"score": {"$gte": 4.0}, "color": "green"})
    assert [h.key for h in both] == ["doc3"]
    page1 = store.search(("test",), query="car", limit=2)
    page2 = store.search(("test",), query="car", limit=2, offset=2)
    assert {h.key for h in page1}.isdisjoint({h.key for h in page2}) and len(page2) == 2
    scores = [h.score or 0.0 for h in store.search(("test",), query="car", limit=10)]
    assert scores == sorted(scores, reverse=True)


def test_item_scores_by_its_best_field(cosine_mem: Memory) -> None:
    """CP test_embed_with_path, SQ/SQA test_embed_with_path, PG test_embed_with_path_sync,
    PGA test_embed_with_path: each field is embedded on its own, the item scores by the best."""
    store = LanceDBStore(cosine_mem, index={"fields": ["key0", "key1", "key3"]})
    store.put(("test",), "doc1", {"key1": "xxx", "key2": "yyy", "key3": "zzz"})
    store.put(("test",), "doc2", {"key0": "uuu", "key1": "vvv", "key2": "www", "key3": "xxx"})
    hits = store.search(("test",), query="xxx")
    assert {h.key for h in hits} == {"doc1", "doc2"}
    assert hits[0].score == hits[1].score == pytest.approx(1.0)
    assert store.search(("test",), query="uuu")[0].key == "doc2"
    assert store.search(("test",), query="zzz")[0].key == "doc1"
    assert all((h.score or 0) < 0.5 for h in store.search(("test",), query="www"))  # unindexed


def test_operation_level_index_fields(cosine_mem: Memory) -> None:
    """CP test_embed_with_path (second half), SQ/PG test_embed_with_path_operation_config."""
    store = LanceDBStore(cosine_mem, index={"fields": ["key17"]})
    doc3 = {"key0": "aaa", "key1": "bbb", "key2": "ccc"}
    store.put(("test",), "doc3", doc3, index=["key0", "key1"])
    store.put(
        ("test",), "doc4", {"key0": "eee", "key1": "bbb", "key3": "ggg"}, index=["key1", "key3"]
    )
    assert store.search(("test",), query="aaa")[0].key == "doc3"
    assert store.search(("test",), query="ggg")[0].key == "doc4"
    tie = store.search(("test",), query="bbb")
    assert len(tie) == 2 and tie[0].score == tie[1].score  # the same best field: the same score
    assert all((h.score or 0) < 0.9 for h in store.search(("test",), query="ccc"))
    store.put(("test",), "doc5", {"key0": "hhh"}, index=False)
    listed = store.search(("test",))
    assert len(listed) == 3 and all(i.score is None for i in listed)


@pytest.mark.parametrize("query", ["aaa", "bbb", "ccc", "abcd", "poisson"])
def test_scores_are_cosine_with_vector_weight_one(cosine_mem: Memory, query: str) -> None:
    """SQ/PG test_scores: with ``vector_weight=1.0`` a score is the cosine similarity."""
    store = LanceDBStore(cosine_mem, index={"fields": ["key0"]})
    store.put(("test",), "doc", {"key0": "aaa"}, index=["key0", "key1"])
    (hit,) = store.search((), query=query)
    assert hit.score == pytest.approx(cos(query, "aaa"), abs=1e-3)


def test_default_scores_are_hybrid(mem: Memory) -> None:
    """Deliberate difference from SQ/PG test_scores: the default ``vector_weight`` (0.8) adds
    BM25, so a word match lifts the score above its cosine (docs/langchain.md, "Scores")."""
    store = LanceDBStore(mem)
    store.put(("test",), "doc", {"text": "blue car"})
    (hit,) = store.search(("test",), query="car")
    assert hit.score is not None and hit.score > 0.8 * cos("car", '{"text": "blue car"}')


def test_non_ascii(mem: Memory) -> None:
    """CP/SQ/PG test_non_ascii (Letters maps every non-Latin letter to one bucket, so BM25 on
    the words decides here)."""
    store = LanceDBStore(mem)
    texts = ["这是中文", "これは日本語です", "이건 한국어야", "Это русский", "यह रूसी है"]
    for i, text in enumerate(texts, 1):
        store.put(("user_123", "memories"), str(i), {"text": text})
    for i, text in enumerate(texts, 1):
        assert store.search(("user_123", "memories"), query=text)[0].key == str(i)


# -- TTL ----------------------------------------------------------------------------------------


def test_ttl_expiry_and_sweep(mem: Memory, clock: FrozenClock) -> None:
    """TTL test_ttl_basic, test_ttl_custom_value, test_ttl_override_default and
    test_search_with_ttl (and their async twins)."""
    store = LanceDBStore(mem, ttl={"default_ttl": 5})
    store.put(("test",), "short", {"value": "apple"}, ttl=1)
    store.put(("test",), "default", {"value": "banana"})
    store.put(("test",), "forever", {"value": "cherry"}, ttl=None)
    assert len(store.search(("test",), filter={"value": "apple"})) == 1
    clock.advance(minutes=2)
    assert store.sweep_ttl() == 1
    assert store.get(("test",), "short") is None
    assert store.search(("test",), filter={"value": "apple"}) == []
    assert store.get(("test",), "default", refresh_ttl=False) is not None
    clock.advance(minutes=4)
    assert store.get(("test",), "default", refresh_ttl=False) is None  # hidden before a sweep
    assert store.sweep_ttl() == 1 and store.get(("test",), "forever") is not None


def test_ttl_refresh_on_get_and_search(mem: Memory, clock: FrozenClock) -> None:
    """TTL test_ttl_refresh, test_async_ttl_refresh, test_async_asearch_refresh_ttl and PG/PGA
    test_store_ttl: reads with refresh_ttl push the expiry; reads without do not."""
    store = LanceDBStore(mem, ttl={"default_ttl": 4, "refresh_on_read": True})
    store.put(("docs",), "item1", {"text": "content1", "id": 1})
    store.put(("docs",), "item2", {"text": "content2", "id": 2})
    clock.advance(minutes=3)
    assert [i.key for i in store.search(("docs",), filter={"id": 1}, refresh_ttl=True)] == ["item1"]
    clock.advance(minutes=2)
    assert store.sweep_ttl() == 1
    assert store.get(("docs",), "item1", refresh_ttl=False) is not None
    assert store.get(("docs",), "item2", refresh_ttl=False) is None
    clock.advance(minutes=2.5)
    assert store.get(("docs",), "item1", refresh_ttl=False) is None


def test_refresh_only_moves_live_rows(mem: Memory, clock: FrozenClock) -> None:
    """PG/PGA test_omit_expired_refresh_ttl_only_refreshes_live_rows and
    test_omit_expired_filters_read_paths: an expired row is never read nor brought back."""
    store = LanceDBStore(mem, ttl={"refresh_on_read": True})
    store.put(("r",), "expired", {"n": 0}, ttl=1)
    store.put(("r",), "live", {"n": 1}, ttl=10)
    store.put(("keep",), "c", {"n": 2}, ttl=None)
    clock.advance(minutes=2)
    assert store.get(("r",), "expired", refresh_ttl=True) is None
    assert [i.key for i in store.search(("r",), refresh_ttl=True)] == ["live"]
    assert mem.get(store.memory_id(("r",), "expired"), show_expired=True)["expiration_date"] < (
        clock.now().isoformat()
    )
    assert store.list_namespaces() == [("keep",), ("r",)]
    clock.advance(minutes=9)  # the search refreshed "live" at minute 2: alive until 12
    assert store.get(("r",), "live") is not None


def test_ttl_sweeper_thread(mem: Memory, clock: FrozenClock) -> None:
    """TTL test_ttl_sweeper / test_async_ttl_sweeper: start, sweep, stop."""
    store = LanceDBStore(mem, ttl={"default_ttl": 1, "sweep_interval_minutes": 60})
    store.put(("test",), "item1", {"value": "test"})
    clock.advance(minutes=2)
    future = store.start_ttl_sweeper()
    assert store.stop_ttl_sweeper(timeout=30) and future.done()  # the first sweep ran at start
    assert mem.get_all(app_id="langgraph", show_expired=True)["results"] == []
    assert LanceDBStore(mem).start_ttl_sweeper().done()  # no TTL config: nothing to run
    assert store.stop_ttl_sweeper()  # stopping twice is fine


# -- async -----------------------------------------------------------------------------------


async def test_async_api_and_concurrent_batches(store: LanceDBStore) -> None:
    """SQA/PGA test_large_batches_async and PGA test_large_batches (scaled down), SQA/PGA
    test_abatch_order: concurrent async puts, gets, searches and deletes all complete."""
    ns = ("test", "foo")
    await asyncio.gather(*(store.aput(ns, f"key{i}", {"foo": f"bar{i}"}) for i in range(20)))
    got = await asyncio.gather(*(store.aget(ns, f"key{i}") for i in range(20)))
    assert [g.value["foo"] for g in got if g] == [f"bar{i}" for i in range(20)]
    assert len(await store.asearch(("test",), limit=50)) == 20
    assert await store.alist_namespaces(prefix=("test",)) == [ns]
    await asyncio.gather(*(store.adelete(ns, f"key{i}") for i in range(20)))
    assert await store.asearch(("test",)) == []
    assert await store.asweep_ttl() == 0
