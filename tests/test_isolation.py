"""Tenant isolation as a property: whatever scope A does, every other scope is byte-identical.

Hypothesis builds a store with many scopes (users, agents, runs, apps, and combinations), then
runs a random program of operations as one scope. Before and after, it dumps every other
scope's rows in full (vectors, metadata, timestamps) and its history, and compares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mem_integrations import Memory, MemoryLayerError
from reliability.workers import WORDS, open_memory

SCOPES: list[dict[str, Any]] = [
    {"user_id": "alice"},
    {"user_id": "bob"},
    {"user_id": "alice", "agent_id": "helper"},
    {"agent_id": "helper"},
    {"user_id": "alice", "run_id": "r1"},
    {"app_id": "crm"},
    {"user_id": "carol", "app_id": "crm"},
    {"user_id": "alice'--"},  # a scope whose id looks like SQL is still just a value
]
FILTERS = [
    None,
    {"categories": {"in": ["x"]}},
    {"memory": {"icontains": "tea"}},
    {"OR": [{"user_id": "bob"}, {"agent_id": "helper"}]},  # tries to reach other scopes
    {"NOT": {"user_id": "alice"}},
    {"metadata": {"n": {"gte": 1}}},
]
ops = st.lists(
    st.tuples(
        st.sampled_from(
            ["add", "add_batch", "update", "delete", "delete_all", "search", "get_all", "put"]
        ),
        st.sampled_from(WORDS),
        st.sampled_from(range(len(FILTERS))),
        st.integers(min_value=0, max_value=10),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    m = open_memory(str(Path(tmp_path_factory.mktemp("iso")) / "store"))
    for n, scope in enumerate(SCOPES):
        m.add(
            [{"role": "user", "content": f"{w} tea {n}"} for w in WORDS[:4]],
            metadata={"n": n},
            categories=["x"] if n % 2 else ["y"],
            **scope,
        )
    yield m
    m.close()


def where(scope: dict[str, Any]) -> str:
    """Rows owned by exactly this scope (every id equal, the others null)."""
    parts = []
    for k in ("user_id", "agent_id", "run_id", "app_id"):
        v = scope.get(k)
        parts.append(f"{k} = '{v.replace(chr(39), chr(39) * 2)}'" if v else f"{k} IS NULL")
    return " AND ".join(parts)


def dump(m: Memory, scope: dict[str, Any]) -> tuple[pa.Table, pa.Table]:
    rows = m.store.memories.search().where(where(scope)).limit(None).to_arrow().sort_by("id")
    hist = m.store.history.search().where(where(scope)).limit(None).to_arrow().sort_by("id")
    return rows, hist


def run_as(m: Memory, scope: dict[str, Any], program: list[tuple[str, str, int, int]]) -> int:
    """Run a program as ``scope``; every result must belong to a scope containing it."""
    done = 0
    for op, word, f, k in program:
        flt = FILTERS[f]
        mine = [r["id"] for r in m.get_all(**scope)["results"]]
        try:
            out: Any = None
            if op == "add":
                m.add(f"{word} new {k}", metadata={"n": k}, **scope)
            elif op == "add_batch":
                msgs = [{"role": "user", "content": f"{word} batch {k} {j}"} for j in range(3)]
                m.add(msgs, **scope)
            elif op == "update" and mine:
                m.update(mine[k % len(mine)], f"{word} updated {k}", **scope)
            elif op == "delete" and mine:
                m.delete(mine[k % len(mine)], **scope)
            elif op == "delete_all":
                m.delete_all(filters=flt or {"memory": {"contains": word}}, **scope)
            elif op == "search":
                out = m.search(f"{word} tea", filters=flt, top_k=k + 1, **scope)
            elif op == "get_all":
                out = m.get_all(filters=flt, **scope)
            elif op == "put":
                m.put(f"{scope_key(scope)}-{k}", f"{word} put {k}", **scope)
            done += 1
        except MemoryLayerError:
            done += 1
        for r in (out or {}).get("results", []):
            assert all(r[key] == v for key, v in scope.items()), "a row of another scope"
    return done


def scope_key(scope: dict[str, Any]) -> str:
    return "|".join(f"{k}={v}" for k, v in sorted(scope.items()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actor=st.sampled_from(range(len(SCOPES))), program=ops)
def test_every_operation_of_one_scope_leaves_every_other_scope_unchanged(
    store: Memory, actor: int, program: list[tuple[str, str, int, int]]
) -> None:
    scope = SCOPES[actor]
    # Scopes that contain the actor's ids (e.g. alice+helper when the actor is alice) are the
    # actor's own sub-scopes: Mem0 lets user_id=alice reach them. All others must not change.
    others = [s for s in SCOPES if not scope.items() <= s.items()]
    before = {scope_key(s): dump(store, s) for s in others}
    assert run_as(store, scope, program) == len(program)
    for s in others:
        rows, hist = dump(store, s)
        b_rows, b_hist = before[scope_key(s)]
        assert rows.equals(b_rows), f"{scope} changed rows of {s}"
        assert hist.equals(b_hist), f"{scope} changed history of {s}"


def test_put_cannot_take_over_an_id_of_another_scope(store: Memory) -> None:
    store.put("shared-key", "bob's value", user_id="bob")
    before = dump(store, {"user_id": "bob"})
    with pytest.raises(MemoryLayerError):
        store.put("shared-key", "alice's value", user_id="alice")
    assert dump(store, {"user_id": "bob"})[0].equals(before[0])
