"""The one filter-case table, run through Memory.search, get_all and delete_all.

tests/test_filters.py proves the compiler against raw LanceDB; this proves the same filter
means the same thing on every public path, scoped: each case runs inside several scopes and
must return exactly its expected rows that lie in that scope.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from filter_cases import ALL_IDS, FILTER_CASES, FILTER_ROWS, FilterCase, filter_row_metadata_json
from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.memory import content_hash
from mem_integrations.testing import FrozenClock, HashEmbedder

# Together these scopes cover every fixture row.
SCOPES: list[dict[str, str]] = [
    {"app_id": "app1"},
    {"app_id": "app2"},
    {"app_id": "app3"},
    {"agent_id": "support-bot"},
    {"user_id": "用户一"},
]
SCOPE_FIELD_ROWS = {
    tuple(s.items())[0]: frozenset(
        r["id"] for r in FILTER_ROWS if r[next(iter(s))] == s[next(iter(s))]
    )
    for s in SCOPES
}
VALID = [c for c in FILTER_CASES if not isinstance(c.expected, type)]
INVALID = [c for c in FILTER_CASES if isinstance(c.expected, type)]


def _in_scope(scope: dict[str, str]) -> frozenset[str]:
    return SCOPE_FIELD_ROWS[tuple(scope.items())[0]]


def test_scopes_cover_every_row() -> None:
    assert frozenset().union(*SCOPE_FIELD_ROWS.values()) == ALL_IDS


def _open(uri: Path) -> Memory:
    return Memory(MemoryConfig(uri=str(uri), embedder=HashEmbedder(), clock=FrozenClock()))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    uri = tmp_path_factory.mktemp("filters") / "store"
    m = _open(uri)
    vectors = m.embedder.embed_documents([r["memory"] for r in FILTER_ROWS])
    rows = [
        {
            **r,
            "hash": content_hash(r["memory"]),
            "vector": v,
            "categories": r["categories"] or [],
            "metadata": filter_row_metadata_json(r),
        }
        for r, v in zip(FILTER_ROWS, vectors, strict=True)
    ]
    m.store.append(m._engine.rows(rows))
    m.close()
    # A pristine copy nobody opens: the delete test copies it while `mem` may be writing
    # access records into `uri` in the background.
    shutil.copytree(uri, uri.with_name("pristine"))
    yield uri


@pytest.fixture(scope="module")
def mem(seeded: Path) -> Iterator[Memory]:
    m = _open(seeded)
    yield m
    m.close()


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_case_on_search_and_get_all(mem: Memory, case: FilterCase) -> None:
    assert not isinstance(case.expected, type)
    for scope in SCOPES:
        want = case.expected & _in_scope(scope)
        got_all = mem.get_all(**scope, filters=case.filters, show_expired=True, limit=1000)
        assert {r["id"] for r in got_all["results"]} == want, scope
        hits = mem.search(
            "alex tennis", **scope, filters=case.filters, top_k=100, show_expired=True
        )
        assert {h["id"] for h in hits["results"]} == want, scope


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.name)
def test_invalid_case_raises_on_every_path(mem: Memory, case: FilterCase) -> None:
    assert isinstance(case.expected, type)
    with pytest.raises(case.expected):
        mem.get_all(user_id="alex", filters=case.filters)
    with pytest.raises(case.expected):
        mem.search("x", user_id="alex", filters=case.filters)
    with pytest.raises(case.expected):
        mem.delete_all(user_id="alex", filters=case.filters)
    assert mem.stats()["memories"] == len(FILTER_ROWS)


@pytest.mark.parametrize(
    "case",
    [c for c in VALID if c.injection or c.name.startswith(("user", "meta", "cat"))],
    ids=lambda c: c.name,
)
def test_case_on_delete_all(seeded: Path, tmp_path: Path, case: FilterCase) -> None:
    assert not isinstance(case.expected, type)
    uri = tmp_path / "copy"
    shutil.copytree(seeded.with_name("pristine"), uri)
    m = _open(uri)
    for scope in SCOPES:
        m.delete_all(**scope, filters=case.filters)
    left = {
        r["id"] for s in SCOPES for r in m.get_all(**s, show_expired=True, limit=1000)["results"]
    }
    assert left == ALL_IDS - case.expected
    deleted = {e["memory_id"] for i in case.expected for e in m.history(i)}
    assert deleted == set(case.expected)
    m.close()
