"""Recency decay: the curve on a frozen clock, the search behaviour, and the access recorder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from mem_integrations import ConfigurationError, Memory, MemoryConfig
from mem_integrations.core.decay import (
    DecayEngine,
    DecaySettings,
    category_weight,
    decay_factor,
    decay_score,
)
from mem_integrations.testing import FrozenClock, HashEmbedder

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
QUIET = {"flush_interval": timedelta(hours=1), "flush_rows": 10_000}  # only explicit flushes


def factor_at(age: timedelta, **kw: object) -> float:
    return decay_factor([NOW - age], None, NOW, **kw)  # type: ignore[arg-type]


# -- the curve --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), 1.5),
        (timedelta(days=1), 0.3 + 1.2 / (1 + 1 / 3)),  # 1.2
        (timedelta(weeks=1), 0.3 + 1.2 / (1 + 7 / 3)),  # 0.66
        (timedelta(weeks=4), 0.3 + 1.2 / (1 + 28 / 3)),  # 0.416
        (timedelta(days=365), 0.3 + 1.2 / (1 + 365 / 3)),  # 0.310
    ],
)
def test_curve_single_touch(age: timedelta, expected: float) -> None:
    assert factor_at(age) == pytest.approx(expected, abs=1e-9)


def test_curve_matches_the_mem0_bands() -> None:
    assert factor_at(timedelta(minutes=1)) > 1.49  # just accessed
    for hours in (8, 12, 18, 24):
        assert 1.2 <= factor_at(timedelta(hours=hours)) <= 1.4  # touched today
    assert 0.6 <= factor_at(timedelta(days=3)) <= 1.0  # idle for a few days
    for weeks in (2, 3, 4):
        assert 0.4 <= factor_at(timedelta(weeks=weeks)) <= 0.6  # idle for weeks
    assert factor_at(timedelta(days=3 * 365)) < 0.305  # years: the floor
    ages = [timedelta(hours=h) for h in range(0, 24 * 400, 7)]
    values = [factor_at(a) for a in ages]
    assert values == sorted(values, reverse=True)


@settings(max_examples=100, deadline=None)
@given(
    ages=st.lists(st.floats(min_value=-1e6, max_value=1e10), min_size=0, max_size=40),
    relevance=st.floats(min_value=0.0, max_value=1.0),
    floor=st.floats(min_value=0.01, max_value=1.0),
    ceiling=st.floats(min_value=1.0, max_value=10.0),
    shape=st.floats(min_value=0.2, max_value=5.0),
    weight=st.floats(min_value=0.0, max_value=100.0),
)
def test_floor_and_ceiling_always_hold(
    ages: list[float], relevance: float, floor: float, ceiling: float, shape: float, weight: float
) -> None:
    s = DecaySettings(floor=floor, ceiling=ceiling, shape=shape, category_weights={"c": weight})
    times = [NOW - timedelta(seconds=a) for a in ages]
    f = decay_factor(times, NOW - timedelta(days=9), NOW, categories=["c"], settings=s)
    assert floor - 1e-12 <= f <= ceiling + 1e-12
    score = decay_score(relevance, times, None, NOW, categories=["c"], settings=s)
    assert 0.0 <= score <= 1.0


def test_score_is_clamped_and_the_floor_never_zeroes() -> None:
    assert decay_score(0.9, [NOW], None, NOW) == 1.0  # 0.9 x 1.5, clamped
    assert decay_score(0.5, [NOW - timedelta(days=10_000)], None, NOW) == pytest.approx(
        0.15, abs=1e-3
    )
    assert factor_at(timedelta(days=-3)) == 1.5  # clock skew counts as "now"


def test_fallback_to_updated_at_and_no_evidence() -> None:
    week = NOW - timedelta(weeks=1)
    assert decay_factor([], week, NOW) == decay_factor([week], None, NOW)
    assert decay_factor([NOW - timedelta(days=1)], week, NOW) == factor_at(timedelta(days=1))
    assert decay_factor([], None, NOW) == 1.0


def test_frequency_helps_and_only_the_last_twenty_count() -> None:
    once = factor_at(timedelta(weeks=2))
    often = decay_factor([NOW - timedelta(weeks=2, hours=h) for h in range(10)], None, NOW)
    assert often > once
    recent = [NOW - timedelta(days=d) for d in range(1, 21)]
    ancient = [NOW - timedelta(days=100 + d) for d in range(5)]
    assert decay_factor(recent + ancient, None, NOW) == decay_factor(recent, None, NOW)
    assert decay_factor(recent + ancient, None, NOW, settings=DecaySettings(max_accesses=25)) > (
        decay_factor(recent, None, NOW)
    )


def test_category_weights() -> None:
    s = DecaySettings(category_weights={"health": 0.0, "diet": 0.5, "chit_chat": 3.0})
    year = timedelta(days=365)
    assert factor_at(year, categories=["health"], settings=s) == 1.5  # never decays
    assert factor_at(year, categories=["travel", "health"], settings=s) == 1.5  # slowest wins
    assert factor_at(timedelta(weeks=2), categories=["diet"], settings=s) == pytest.approx(
        factor_at(timedelta(weeks=1))
    )
    assert factor_at(timedelta(days=1), categories=["chit_chat"], settings=s) == pytest.approx(
        factor_at(timedelta(days=3))
    )
    assert factor_at(year, categories=["travel"], settings=s) == factor_at(year)
    assert category_weight(["travel"], s) == 1.0
    assert category_weight(["chit_chat", "diet"], s) == 0.5


def test_band_and_speed_are_tunable() -> None:
    s = DecaySettings(floor=0.5, ceiling=1.2, half_life=timedelta(days=10), shape=2.0)
    assert factor_at(timedelta(0), settings=s) == 1.2
    assert factor_at(timedelta(days=10), settings=s) == pytest.approx(0.85)
    assert factor_at(timedelta(days=1000), settings=s) == pytest.approx(0.5, abs=1e-3)
    assert DecaySettings(half_life=86400).half_life == timedelta(days=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        {"floor": 0.0},
        {"floor": 1.2},
        {"ceiling": 0.9},
        {"ceiling": 11},
        {"half_life": timedelta(0)},
        {"half_life": timedelta(days=-1)},
        {"shape": 0.0},
        {"max_accesses": 0},
        {"category_weights": {"health": -1.0}},
        {"category_weights": {"health": float("nan")}},
        {"category_weights": {" ": 0.5}},
        {"flush_rows": 100, "max_pending": 10},
        {"flush_interval": timedelta(0)},
        {"half_lfe": timedelta(days=1)},
    ],
)
def test_settings_validation(bad: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(PydanticValidationError):
        DecaySettings(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Memory(MemoryConfig(uri=str(tmp_path), embedder=HashEmbedder(), decay_settings=bad))


def test_settings_coercion(tmp_path: Path) -> None:
    assert DecaySettings.coerce(None) == DecaySettings()
    custom = DecaySettings(floor=0.5)
    assert DecaySettings.coerce(custom) is custom
    assert DecaySettings.coerce({"category_weights": {"health": 0}}).category_weights == {
        "health": 0.0
    }
    with pytest.raises(ConfigurationError):
        DecaySettings.coerce(0.3)
    with Memory(
        MemoryConfig(uri=str(tmp_path), embedder=HashEmbedder(), decay_settings={"floor": 0.5})
    ) as m:
        assert m.decay.settings.floor == 0.5


# -- search -----------------------------------------------------------------------------------


@pytest.fixture
def decayed(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "store"), embedder=HashEmbedder(), clock=clock, decay=True,
            decay_settings=QUIET,
        )
    )  # fmt: skip
    yield m
    m.close()


def _add(m: Memory, text: str, **kw: object) -> str:
    return str(m.add(text, user_id="u", infer=False, **kw)["results"][0]["id"])  # type: ignore[arg-type]


QUERY = "my favourite morning drink"


@pytest.fixture
def story(decayed: Memory, clock: FrozenClock) -> dict[str, str]:
    """Two weeks ago: a strong match and an old preference; today: a fresh preference."""
    ids = {
        "strong": _add(decayed, "my favourite morning drink: coffee"),
        "old": _add(decayed, "I drink coffee every morning"),
        "noise": _add(decayed, "my sister lives in Paris"),
    }
    clock.advance(days=14)
    ids["fresh"] = _add(decayed, "lately I drink green tea")
    return ids


def _names(ids: dict[str, str], hits: list[object]) -> list[str]:
    back = {v: k for k, v in ids.items()}
    return [back[h.id] for h in hits]  # type: ignore[attr-defined]


def test_fresh_preference_overtakes_old_but_strong_old_match_stays_first(
    decayed: Memory, story: dict[str, str]
) -> None:
    hits = decayed.search_hits(QUERY, user_id="u")
    names = _names(story, hits)
    assert names[:3] == ["strong", "fresh", "old"]
    by = dict(zip(names, hits, strict=True))
    # plain relevance would put the old preference above the fresh one, and close to it
    assert by["old"].relevance > by["fresh"].relevance > by["old"].relevance - 0.2
    assert by["strong"].relevance > 2.5 * by["fresh"].relevance
    two_weeks = 0.3 + 1.2 / (1 + 14 / 3)
    assert by["old"].score == pytest.approx(by["old"].relevance * two_weeks)
    assert by["fresh"].score == pytest.approx(by["fresh"].relevance * 1.5)


def test_toggle_off_restores_plain_relevance(decayed: Memory, story: dict[str, str]) -> None:
    on = decayed.search_hits(QUERY, user_id="u")
    off = decayed.search_hits(QUERY, user_id="u", decay=False)
    assert _names(story, off)[:3] == ["strong", "old", "fresh"]
    assert [h.score for h in off] == [h.relevance for h in off]
    assert [h.relevance for h in off] == sorted((h.relevance for h in off), reverse=True)
    assert _names(story, on) != _names(story, off)
    assert decayed.search(QUERY, user_id="u", decay=False)["results"][0]["score"] == off[0].score


def test_per_search_override_on_a_store_without_decay(tmp_path: Path, clock: FrozenClock) -> None:
    with Memory(MemoryConfig(uri=str(tmp_path), embedder=HashEmbedder(), clock=clock)) as m:
        assert m.decay.enabled is False
        old = _add(m, "I drink coffee every morning")
        clock.advance(days=14)
        fresh = _add(m, "lately I drink green tea")
        assert [h.id for h in m.search_hits(QUERY, user_id="u", decay=True)][:2] == [fresh, old]
        assert [h.id for h in m.search_hits(QUERY, user_id="u")][:2] == [old, fresh]


def test_threshold_applies_to_relevance_before_scaling(
    decayed: Memory, story: dict[str, str]
) -> None:
    hits = decayed.search_hits(QUERY, user_id="u", threshold=0.25)
    names = _names(story, hits)
    assert "fresh" not in names  # relevance 0.19 < 0.25 even though 0.19 x 1.5 > 0.25
    old = hits[names.index("old")]
    assert old.relevance >= 0.25 > old.score  # stale but relevant: comes back under threshold
    assert all(0.0 <= h.score <= 1.0 for h in hits)


def test_search_counts_as_access_and_survives_reopen(
    decayed: Memory, story: dict[str, str], clock: FrozenClock, tmp_path: Path
) -> None:
    first = {h.id: h for h in decayed.search_hits(QUERY, user_id="u")}
    old = first[story["old"]]
    assert old.score == pytest.approx(old.relevance * (0.3 + 1.2 / (1 + 14 / 3)))
    again = {h.id: h for h in decayed.search_hits(QUERY, user_id="u")}
    assert again[story["old"]].score == pytest.approx(min(1.0, old.relevance * 1.5))
    decayed.close()
    clock.advance(days=1)
    with Memory(
        MemoryConfig(uri=str(tmp_path / "store"), embedder=HashEmbedder(), clock=clock, decay=True)
    ) as reopened:
        hit = {h.id: h for h in reopened.search_hits(QUERY, user_id="u")}[story["old"]]
        # two touches a day ago: x = 2 * 3 = 6 -> 0.3 + 1.2 * 6 / 7
        assert hit.score == pytest.approx(old.relevance * (0.3 + 1.2 * 6 / 7))


def test_category_weight_in_search(tmp_path: Path, clock: FrozenClock) -> None:
    cfg = MemoryConfig(
        uri=str(tmp_path), embedder=HashEmbedder(), clock=clock, decay=True,
        decay_settings={"category_weights": {"health": 0.0}},
    )  # fmt: skip
    with Memory(cfg) as m:
        allergy = _add(m, "allergic to peanuts", categories=["health"])
        snack = _add(m, "likes peanuts as a snack")
        clock.advance(days=200)
        hits = {h.id: h for h in m.search_hits("peanuts", user_id="u")}
        assert hits[allergy].score == pytest.approx(min(1.0, hits[allergy].relevance * 1.5))
        assert hits[snack].score < hits[snack].relevance * 0.32


def test_add_is_unchanged_by_decay(decayed: Memory) -> None:
    out = decayed.add("I drink coffee every morning", user_id="u", infer=False)
    assert [e["event"] for e in out["results"]] == ["ADD"]
    decayed.get_all(user_id="u")
    decayed.decay.flush()
    assert decayed.store.access_rows("true").num_rows == 0


# -- the access recorder ----------------------------------------------------------------------


def test_accesses_are_batched_into_their_own_table(decayed: Memory, clock: FrozenClock) -> None:
    for i in range(5):
        _add(decayed, f"coffee fact number {i}")
    version = decayed.store.memories.version
    for _ in range(3):
        decayed.search_hits("coffee", user_id="u", top_k=2)
    assert decayed.decay.pending() == 6
    assert decayed.store.access_rows("true").num_rows == 0
    decayed.decay.flush()
    rows = decayed.store.access_rows("true").to_pylist()
    assert len(rows) == 6 and decayed.decay.pending() == 0
    assert {r["accessed_at"] for r in rows} == {clock.now()}
    assert decayed.store.memories.version == version  # the memories table was not written


def test_buffer_is_bounded_and_drops_the_oldest(tmp_path: Path, clock: FrozenClock) -> None:
    with Memory(MemoryConfig(uri=str(tmp_path), embedder=HashEmbedder(), clock=clock)) as m:
        engine = DecayEngine(m.store, clock, {**QUIET, "flush_rows": 4, "max_pending": 5}, True)
        engine.record_access([f"m{i}" for i in range(12)])
        assert engine.dropped == 7
        engine.close()
        ids = set(m.store.access_rows("true").column("memory_id").to_pylist())
        assert ids == {f"m{i}" for i in range(7, 12)}
        engine.record_access(["late"])  # after close: ignored, never raises
        assert engine.pending() == 0


def test_close_stops_the_writer_and_loses_nothing(tmp_path: Path, clock: FrozenClock) -> None:
    with Memory(MemoryConfig(uri=str(tmp_path), embedder=HashEmbedder(), clock=clock)) as m:
        engine = DecayEngine(m.store, clock, {**QUIET, "flush_rows": 10}, True)
        for i in range(3):
            engine.record_access([f"m{i}-{j}" for j in range(7)])  # a batch is due at 10
        thread = engine._thread
        assert thread is not None and thread.daemon  # never keeps the process alive
        engine.close()
        assert not thread.is_alive()
        assert m.store.access_rows("true").num_rows == 21 and engine.pending() == 0


def test_prune_keeps_the_last_twenty_per_live_memory(decayed: Memory, clock: FrozenClock) -> None:
    keep = _add(decayed, "coffee every day")
    gone = _add(decayed, "coffee on sundays")
    for _ in range(25):
        clock.advance(hours=1)
        decayed.search_hits("coffee", user_id="u")
    score_before = decayed.search_hits("coffee", user_id="u")[0].score
    decayed.delete(gone, user_id="u")
    decayed.decay.flush()
    assert decayed.store.access_rows("true").num_rows == 52
    assert decayed.decay.prune() == 32
    rows = decayed.store.access_rows("true").to_pylist()
    assert {r["memory_id"] for r in rows} == {keep}
    assert min(r["accessed_at"] for r in rows) == clock.now() - timedelta(hours=18)
    decayed.decay._cache.clear()
    assert decayed.search_hits("coffee", user_id="u")[0].score == pytest.approx(score_before)


def test_reset_forgets_cached_access_history(decayed: Memory, clock: FrozenClock) -> None:
    _add(decayed, "coffee every day")
    decayed.search_hits("coffee", user_id="u")
    decayed.reset()
    clock.advance(days=30)
    mid = _add(decayed, "coffee every day")
    clock.advance(days=30)
    hit = decayed.search_hits("coffee", user_id="u")[0]
    assert hit.id == mid
    assert hit.score == pytest.approx(hit.relevance * (0.3 + 1.2 / 11))


def test_a_crash_loses_only_unflushed_access_records(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    script = textwrap.dedent(
        f"""
        import os
        from datetime import timedelta
        from mem_integrations import Memory, MemoryConfig
        from mem_integrations.testing import HashEmbedder
        m = Memory(MemoryConfig(uri={uri!r}, embedder=HashEmbedder(), decay=True,
                   decay_settings={{"flush_interval": timedelta(hours=1), "flush_rows": 10000}}))
        for t in ("coffee at dawn", "coffee at noon", "coffee at dusk"):
            m.add(t, user_id="u", infer=False)
        m.search("coffee", user_id="u")
        m.decay.flush()
        m.search("coffee", user_id="u")
        assert m.decay.pending() == 3
        os._exit(17)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == 17, proc.stderr.decode()
    with Memory(MemoryConfig(uri=uri, embedder=HashEmbedder())) as m:
        assert len(m.get_all(user_id="u")["results"]) == 3
        assert m.store.access_rows("true").num_rows == 3
