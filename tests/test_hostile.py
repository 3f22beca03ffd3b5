"""Hostile input, generated: only typed errors, no crash, and nothing of another scope touched.

Every example calls the public API as tenant ``mallory`` with generated texts, metadata, ids,
filters and sizes (unicode, huge, empty, NUL bytes, SQL and JSON injection strings) against a
store that also holds tenant ``alice``. Whatever happens, the call either succeeds or raises a
``MemoryLayerError`` subclass, returns only mallory's rows, and leaves alice's rows (vectors
included) and alice's history exactly as they were.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mem_integrations import LimitExceededError, Limits, Memory, MemoryLayerError, ValidationError
from reliability.workers import open_memory

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
VICTIM = "alice"
ATTACKER = "mallory"

INJECTIONS = [
    "'; DROP TABLE memories; --",
    "x' OR '1'='1",
    "alice' OR user_id = 'alice",
    "') OR true OR ('",
    "\\' OR 1=1 --",
    "%",
    "_",
    "\\",
    "*",
    "' UNION SELECT * FROM history --",
    '{"user_id": "alice"}',
    '"}, "user_id": "alice", "x": {"',
    '{"$or": [{"user_id": "alice"}]}',
    "json_extract(metadata, '$.a')",
    "\x00",
    "a\x00b",
    "",
    " ",
    "\u202e\u200b\ufeff",
    "😀" * 3,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑ ∞ ≠ \u0301",
    "null",
    "NaN",
]
texts = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
    st.builds(lambda n: "x" * n, st.sampled_from([31_999, 32_000, 32_001, 100_000])),
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=5), max_size=3),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(INJECTIONS),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
meta_keys = st.one_of(
    st.sampled_from(
        [
            "user_id",
            "agent_id",
            "run_id",
            "app_id",
            "id",
            "actor_id",
            "a",
            "a.b",
            "a'b",
            "$.x",
            "[0]",
            "",
            "\x00",
            "metadata",
            "memory",
        ]
    ),  # fmt: skip
    st.text(max_size=12),
)
metadatas = st.one_of(
    st.dictionaries(meta_keys, json_values, max_size=5),
    st.builds(lambda n: {"big": "y" * n}, st.sampled_from([10, 63_000, 70_000])),
    st.just({"s": {1, 2}}),
    st.just({"b": b"bytes"}),
    st.just({1: "int key"}),
    st.sampled_from([None, "not a dict", 5, ["list"]]),
)
FIELDS = [
    "user_id", "agent_id", "run_id", "app_id", "actor_id", "role", "id", "memory_id",
    "created_at", "updated_at", "expiration_date", "categories", "keywords", "metadata",
    "memory", "vector", "hash", "AND", "OR", "NOT", "metadata.a", "", "x' OR 1=1",
]  # fmt: skip
OPS = [
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains", "exists",
    "missing", "like", "$eq", "", "OR",
]  # fmt: skip
leaf = st.builds(
    lambda f, op, v, raw: {f: v} if raw else {f: {op: v}},
    st.sampled_from(FIELDS) | st.text(max_size=8),
    st.sampled_from(OPS),
    json_values,
    st.booleans(),
)
filters = st.one_of(
    st.none(),
    st.recursive(
        leaf,
        lambda inner: (
            st.builds(
                lambda k, xs: {k: xs},
                st.sampled_from(["AND", "OR", "NOT"]),
                st.lists(inner, max_size=3),
            )
            | st.builds(lambda k, x: {k: x}, st.sampled_from(["AND", "OR", "NOT"]), inner)
        ),
        max_leaves=8,
    ),
    st.sampled_from(["user_id = 'alice'", ["AND"], 42, {"AND": "x"}, {"OR": [None]}]),
)
sizes = st.one_of(
    st.integers(min_value=-5, max_value=2_000),
    st.sampled_from([0, 1, 1000, 1001, 10**12, True, False, 1.5, "10", None, math.inf]),
)
ids = st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=40), st.integers(), st.none())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Memory, list[str]]]:
    m = open_memory(str(tmp_path_factory.mktemp("hostile") / "store"))
    victim = [
        e["id"]
        for e in m.add(
            [{"role": "user", "content": t} for t in ("alice likes tea", "alice's pin is 1234")],
            user_id=VICTIM,
            metadata={"secret": True},
        )["results"]
    ]
    m.add("mallory likes tea too", user_id=ATTACKER, metadata={"a": 1})
    yield m, victim
    m.close()


def victim_dump(m: Memory) -> tuple[pa.Table, int]:
    rows = m.store.memories.search().where(f"user_id = '{VICTIM}'").limit(None).to_arrow()
    hist = m.store.history.count_rows(f"user_id = '{VICTIM}'")
    return rows.sort_by("id"), hist


def attack(m: Memory, call: Callable[[], Any]) -> Any:
    """Run one hostile call; it may only succeed or raise the package's typed errors."""
    before = victim_dump(m)
    try:
        out = call()
    except MemoryLayerError:
        out = None
    after = victim_dump(m)
    assert after[0].equals(before[0]), "the victim's rows changed"
    assert after[1] == before[1], "the victim's history changed"
    for r in (out or {}).get("results", []) if isinstance(out, dict) else []:
        if isinstance(r, dict) and "user_id" in r:
            assert r["user_id"] == ATTACKER, "a row of another scope came back"
    return out


@EXAMPLES
@given(text=texts, metadata=metadatas)
def test_add_hostile_text_and_metadata(
    store: tuple[Memory, list[str]], text: Any, metadata: Any
) -> None:
    m, _ = store
    out = attack(m, lambda: m.add(text, user_id=ATTACKER, metadata=metadata))
    if out is not None:
        for e in out["results"]:
            if e["id"] is None:  # chatter (e.g. "%" alone) is reported, not stored
                assert e["event"] == "NONE" and e["reason"].startswith("not a fact")
                continue
            rec = m.get(e["id"], user_id=ATTACKER)
            assert rec["memory"] == e["memory"]  # stored byte-for-byte, never mangled


@EXAMPLES
@given(query=texts, flt=filters, top_k=sizes)
def test_search_hostile_query_filters_top_k(
    store: tuple[Memory, list[str]], query: Any, flt: Any, top_k: Any
) -> None:
    m, _ = store
    attack(m, lambda: m.search(query, user_id=ATTACKER, filters=flt, top_k=top_k))


@EXAMPLES
@given(flt=filters, page_size=sizes)
def test_get_all_and_delete_all_hostile_filters(
    store: tuple[Memory, list[str]], flt: Any, page_size: Any
) -> None:
    m, _ = store
    attack(m, lambda: m.get_all(user_id=ATTACKER, filters=flt, page=1, page_size=page_size))
    attack(m, lambda: m.delete_all(user_id=ATTACKER, filters=flt))
    m.add("mallory likes tea too", user_id=ATTACKER)  # keep something to aim at


@EXAMPLES
@given(memory_id=ids, text=texts, metadata=metadatas, pick_victim=st.booleans())
def test_by_id_calls_hostile_ids(
    store: tuple[Memory, list[str]], memory_id: Any, text: Any, metadata: Any, pick_victim: bool
) -> None:
    m, victim = store
    target = victim[0] if pick_victim else memory_id  # the victim's real id, from another scope
    attack(m, lambda: m.get(target, user_id=ATTACKER))
    attack(m, lambda: m.update(target, text, metadata=metadata, user_id=ATTACKER))
    attack(m, lambda: m.delete(target, user_id=ATTACKER))


@EXAMPLES
@given(scope=ids, other=st.sampled_from(["agent_id", "run_id", "app_id"]))
def test_hostile_scope_ids(store: tuple[Memory, list[str]], scope: Any, other: str) -> None:
    m, _ = store
    # A scope id is a value, never SQL: an injection in it names a (new, empty) tenant.
    out = attack(m, lambda: m.search("tea", **{other: scope}))
    assert out is None or all(r[other] == scope for r in out["results"])
    out = attack(m, lambda: m.get_all(**{other: scope}))
    assert out is None or all(r[other] == scope for r in out["results"])


@EXAMPLES
@given(items=st.lists(st.fixed_dictionaries({"memory_id": ids, "text": texts}), max_size=4))
def test_batch_calls_hostile_items(store: tuple[Memory, list[str]], items: list[Any]) -> None:
    m, _ = store
    attack(m, lambda: m.batch_update(items))
    attack(m, lambda: m.batch_delete(items))


# -- lone surrogates: valid Python str, not encodable as UTF-8 -----------------------------------

SURROGATE = "tea \udbff"


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda m: m.add(SURROGATE, user_id=ATTACKER), id="text"),
        pytest.param(
            lambda m: m.add("ok", user_id=ATTACKER, metadata={"k": SURROGATE}),
            id="metadata",
        ),
        pytest.param(lambda m: m.add("ok", user_id=ATTACKER, categories=[SURROGATE]), id="cat"),
        pytest.param(lambda m: m.add("ok", user_id=SURROGATE), id="scope"),
        pytest.param(
            lambda m: m.get_all(user_id=ATTACKER, filters={"metadata.k": {"eq": SURROGATE}}),
            id="filter",
        ),
        pytest.param(lambda m: m.put(SURROGATE, "ok", user_id=ATTACKER), id="put-id"),
        pytest.param(lambda m: m.search(SURROGATE, user_id=ATTACKER), id="query"),
    ],
)
def test_lone_surrogates_get_a_typed_error(
    store: tuple[Memory, list[str]], call: Callable[[Memory], Any]
) -> None:
    m, _ = store
    before = victim_dump(m)
    try:
        call(m)
    except MemoryLayerError:
        pass
    assert victim_dump(m)[0].equals(before[0])


# -- limits: each one is enforced before anything is written, with a clear message ------------


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Memory]:
    lim = Limits(max_batch=3, max_text_chars=50, max_metadata_bytes=64, max_top_k=5,
                 max_page_size=5, max_messages=3, max_categories=2)  # fmt: skip
    with open_memory(str(tmp_path / "s"), limits=lim) as m:
        yield m


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda m: m.add("x" * 51, user_id="u"), "50"),
        (lambda m: m.add("ok", user_id="u", metadata={"k": "v" * 80}), "64"),
        (
            lambda m: m.add([{"role": "user", "content": f"m{i}"} for i in range(4)], user_id="u"),
            "3",
        ),
        (lambda m: m.add("ok", user_id="u", categories=["a", "b", "c"]), "2"),
        (lambda m: m.search("ok", user_id="u", top_k=6), "5"),
        (lambda m: m.get_all(user_id="u", page=1, page_size=6), "5"),
        (lambda m: m.batch_delete([{"memory_id": str(i)} for i in range(4)]), "3"),
        (lambda m: m.batch_update([{"memory_id": str(i), "text": "t"} for i in range(4)]), "3"),
    ],
)
def test_limits_are_typed_clear_and_write_nothing(
    small: Memory, call: Callable[[Memory], Any], needle: str
) -> None:
    before = small.store.memories.count_rows(), small.store.history.count_rows()
    with pytest.raises(LimitExceededError, match=needle):
        call(small)
    assert (small.store.memories.count_rows(), small.store.history.count_rows()) == before


def test_text_at_the_limit_is_accepted_and_over_it_refused(small: Memory) -> None:
    assert small.add("y" * 50, user_id="u")["results"][0]["event"] == "ADD"
    with pytest.raises(LimitExceededError):
        small.add("y" * 51, user_id="u")
    with pytest.raises(ValidationError):
        small.add("a\x00b", user_id="u")
