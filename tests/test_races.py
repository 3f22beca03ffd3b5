"""Update racing delete, and duplicate adds racing each other: a delete is final, dedup exact.

``update`` reads a row, embeds the new text, then writes. A delete (by id, or of the whole
user) that commits inside that window must win: the memory stays deleted and its history never
reads ADD, DELETE, UPDATE. The forced interleavings run the delete from a second handle and
from a second process at exactly that point (see ``HookEmbedder``); the free-running variants
start both sides on a barrier and check every pair, whatever order they landed in.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mem_integrations import Memory, MemoryLayerError, MemoryNotFoundError
from reliability.races import (
    SPAWN,
    HookEmbedder,
    assert_stays_deleted,
    events,
    first_open_child,
    open_real_clock,
    racing_child,
    serve_child,
    stored,
)

# -- forced interleavings ------------------------------------------------------------------------


def race_update_against(m: Memory, emb: HookEmbedder, delete: Callable[[str], Any]) -> str:
    """Add a memory, then update it while ``delete`` runs between update's read and write."""
    mid = m.add("the door code is 1234", user_id="bob")["results"][0]["id"]
    emb.hooks["the door code is 5678"] = lambda: delete(mid)
    try:
        m.update(mid, "the door code is 5678", user_id="bob")
    except MemoryNotFoundError:
        pass  # the update ordered after the delete: refused, and that is fine
    assert not emb.hooks, "the hook must have fired inside update"
    return mid


@pytest.mark.parametrize("how", ["delete", "delete_users"])
def test_delete_from_another_handle_inside_update_wins(tmp_path: Path, how: str) -> None:
    emb = HookEmbedder()
    m = open_real_clock(str(tmp_path / "s"), emb)
    other = open_real_clock(str(tmp_path / "s"))

    def delete(mid: str) -> None:
        if how == "delete":
            other.delete(mid, user_id="bob")
        else:
            other.delete_users(user_id="bob")

    mid = race_update_against(m, emb, delete)
    assert_stays_deleted(m, mid)
    assert_stays_deleted(other, mid)
    with pytest.raises(MemoryNotFoundError):
        m.get(mid)
    other.close()
    m.close()


@pytest.mark.parametrize("how", ["delete", "users"])
def test_delete_from_another_process_inside_update_wins(tmp_path: Path, how: str) -> None:
    uri = str(tmp_path / "s")
    emb = HookEmbedder()
    m = open_real_clock(uri, emb)
    parent, child = SPAWN.Pipe()
    p = SPAWN.Process(target=serve_child, args=(uri, child))
    p.start()
    try:
        assert parent.recv() == "ready"

        def delete(mid: str) -> None:
            parent.send((how, mid if how == "delete" else "bob"))
            assert parent.recv() == ("ok", None)

        mid = race_update_against(m, emb, delete)
        assert_stays_deleted(m, mid)
    finally:
        parent.send(None)
        p.join(timeout=120)
        m.close()
    assert p.exitcode == 0


def test_batch_update_with_one_id_deleted_concurrently(tmp_path: Path) -> None:
    """The rows still there are updated; the deleted one stays deleted and is reported."""
    emb = HookEmbedder()
    m = open_real_clock(str(tmp_path / "s"), emb)
    other = open_real_clock(str(tmp_path / "s"))
    ids = [e["id"] for e in m.add(["fact one", "fact two"], user_id="bob")["results"]]
    emb.hooks["fact two changed"] = lambda: other.delete(ids[1])
    try:
        out = m.batch_update(
            [{"memory_id": ids[0], "text": "fact one changed"},
             {"memory_id": ids[1], "text": "fact two changed"}]
        )  # fmt: skip
        assert [r["id"] for r in out["results"]] == [ids[0]]
    except MemoryNotFoundError:
        assert m.get(ids[0])["memory"] == "fact one"  # refused whole: nothing changed
    assert_stays_deleted(m, ids[1])
    assert events(m, ids[0])[-1] in ("ADD", "UPDATE")
    other.close()
    m.close()


# -- free-running races --------------------------------------------------------------------------


def thread_races(tmp_path: Path, pairs: int) -> int:
    """``pairs`` updates each racing a delete (by id or by user) on a shared Memory."""
    m = open_real_clock(str(tmp_path / "s"))
    ids = [m.add(f"fact number {i}", user_id=f"u{i}")["results"][0]["id"] for i in range(pairs)]
    errors: list[BaseException] = []

    def run(fn: Callable[[], Any], gate: threading.Barrier) -> None:
        try:
            gate.wait()
            fn()
        except MemoryNotFoundError:
            pass
        except BaseException as exc:
            errors.append(exc)

    for i, mid in enumerate(ids):
        gate = threading.Barrier(2)

        def update(mid: str = mid, i: int = i) -> None:
            m.update(mid, f"changed {i}")

        def delete(mid: str = mid, i: int = i) -> None:
            if i % 2:
                m.delete_users(user_id=f"u{i}")
            else:
                m.delete(mid)

        upd = threading.Thread(target=run, args=(update, gate))
        dele = threading.Thread(target=run, args=(delete, gate))
        upd.start()
        dele.start()
        upd.join()
        dele.join()
    assert errors == []
    resurrected = [mid for mid in ids if stored(m, mid)]
    assert resurrected == [], f"{len(resurrected)} of {pairs} deleted memories came back"
    for mid in ids:
        assert_stays_deleted(m, mid)
    m.close()
    return pairs


def test_update_racing_delete_in_threads(tmp_path: Path) -> None:
    assert thread_races(tmp_path, 20) == 20


@pytest.mark.slow
def test_update_racing_delete_in_threads_many(tmp_path: Path) -> None:
    assert thread_races(tmp_path, 200) == 200


def process_races(tmp_path: Path, n: int) -> int:
    """One process updates ``n`` memories while another deletes them, in the same order."""
    uri = str(tmp_path / "s")
    with open_real_clock(uri) as m:
        users = [f"u{i}" for i in range(n)]
        added = [m.add(f"fact number {i}", user_id=u) for i, u in enumerate(users)]
        ids = [a["results"][0]["id"] for a in added]
    barrier = SPAWN.Barrier(2)
    procs = [
        SPAWN.Process(target=racing_child, args=(uri, role, ids, users, barrier))
        for role in ("update", "delete")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_real_clock(uri) as m:
        resurrected = [mid for mid in ids if stored(m, mid)]
        assert resurrected == [], f"{len(resurrected)} of {n} deleted memories came back"
        for mid in ids:
            assert_stays_deleted(m, mid)
    return n


def test_update_racing_delete_in_processes(tmp_path: Path) -> None:
    assert process_races(tmp_path, 30) == 30


@pytest.mark.slow
def test_update_racing_delete_in_processes_many(tmp_path: Path) -> None:
    assert process_races(tmp_path, 300) == 300


# -- duplicate detection -----------------------------------------------------------------------


def dedup_threads(m: Memory | list[Memory], threads: int, texts: int) -> Counter[str]:
    handles = m if isinstance(m, list) else [m] * threads
    gate = threading.Barrier(threads)
    found: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(h: Memory) -> None:
        try:
            gate.wait()
            for i in range(texts):
                res = h.add(f"shared fact {i}", user_id="dup")["results"]
                with lock:
                    found.extend(res)
        except BaseException as exc:
            errors.append(exc)

    ts = [threading.Thread(target=worker, args=(h,)) for h in handles]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    return Counter(e["event"] for e in found)


@pytest.mark.parametrize("queued", [False, True], ids=["commit", "queue_adds"])
def test_four_threads_adding_the_same_texts_store_each_once(tmp_path: Path, queued: bool) -> None:
    m = open_real_clock(str(tmp_path / "s"), queue_adds=queued)
    counts = dedup_threads(m, 4, 20)
    assert counts == Counter({"ADD": 20, "NONE": 60})
    m.wait_for_housekeeping()  # queued adds committed
    assert m.store.memories.count_rows() == 20
    m.close()


@pytest.mark.parametrize("queued", [False, True], ids=["commit", "queue_adds"])
def test_two_handles_in_one_process_dedup_too(tmp_path: Path, queued: bool) -> None:
    handles = [open_real_clock(str(tmp_path / "s"), queue_adds=queued) for _ in range(2)]
    counts = dedup_threads(handles, 2, 20)
    assert counts == Counter({"ADD": 20, "NONE": 20})
    for h in handles:
        h.wait_for_housekeeping()
    assert handles[0].store.memories.count_rows() == 20
    for h in handles:
        h.close()


# -- reset while others hold the store open; racing first opens -------------------------------


def test_reset_while_another_handle_is_open(tmp_path: Path) -> None:
    """Both handles keep working after either resets, every round; the store always opens."""
    uri = str(tmp_path / "s")
    a, b = open_real_clock(uri), open_real_clock(uri)
    for r in range(4):
        resetter, user = (a, b) if r % 2 == 0 else (b, a)
        user.add(f"before reset {r}", user_id="x")
        assert user.search("reset", user_id="x")["results"]
        resetter.reset()
        for h in (a, b):
            assert h.get_all(user_id="x")["results"] == []
            assert h.search("reset", user_id="x")["results"] == []
        user.add(f"after reset {r}", user_id="x")
        resetter.add(f"also after reset {r}", user_id="x")
        for h in (a, b):
            got = sorted(x["memory"] for x in h.get_all(user_id="x")["results"])
            assert got == [f"after reset {r}", f"also after reset {r}"]
        user.delete_all(user_id="x")
    with open_real_clock(uri) as fresh:
        assert fresh.get_all(user_id="x")["results"] == []
        fresh.add("opens fine", user_id="x")
    a.close()
    b.close()


def test_reset_while_another_process_is_open(tmp_path: Path) -> None:
    uri = str(tmp_path / "s")
    m = open_real_clock(uri)
    parent, child = SPAWN.Pipe()
    p = SPAWN.Process(target=serve_child, args=(uri, child))
    p.start()
    replies: list[Any] = []
    try:
        assert parent.recv() == "ready"
        for r in range(4):
            parent.send(("add", f"child fact {r}"))
            replies.append(parent.recv())
            m.add(f"parent fact {r}", user_id="kid")
            if r % 2:
                m.reset()
            else:
                parent.send(("reset", None))
                replies.append(parent.recv())
            assert m.get_all(user_id="kid")["results"] == []
            parent.send(("list", "kid"))
            replies.append(parent.recv())
            assert replies[-1] == ("ok", [])
            parent.send(("add", f"child after {r}"))
            replies.append(parent.recv())
            assert [x["memory"] for x in m.get_all(user_id="kid")["results"]] == [
                f"child after {r}"
            ]
            m.delete_all(user_id="kid")
    finally:
        parent.send(None)
        p.join(timeout=120)
        m.close()
    assert p.exitcode == 0
    assert [x for x in replies if x[0] != "ok"] == []
    with open_real_clock(uri) as fresh:
        fresh.add("opens fine", user_id="x")


def test_reset_racing_writers_in_threads(tmp_path: Path) -> None:
    """Writers on other handles only ever see success or a typed error; the store survives."""
    uri = str(tmp_path / "s")
    resetter = open_real_clock(uri)
    writers = [open_real_clock(uri) for _ in range(2)]
    gate = threading.Barrier(3)
    untyped: list[BaseException] = []

    def write(h: Memory, w: int) -> None:
        gate.wait()
        for i in range(15):
            try:
                h.add(f"writer {w} fact {i}", user_id="x")
                h.search("fact", user_id="x")
            except MemoryLayerError:
                pass
            except BaseException as exc:
                untyped.append(exc)

    ts = [threading.Thread(target=write, args=(h, w)) for w, h in enumerate(writers)]
    for t in ts:
        t.start()
    gate.wait()
    for _ in range(3):
        try:
            resetter.reset()
        except MemoryLayerError:
            pass
        except BaseException as exc:
            untyped.append(exc)
    for t in ts:
        t.join()
    assert untyped == [], repr(untyped[:1])
    for h in [resetter, *writers]:
        h.close()
    with open_real_clock(uri) as fresh:
        fresh.add("opens fine", user_id="x")
        assert fresh.get_all(user_id="x")["results"]


def first_opens(uri: str, n: int) -> None:
    """``n`` processes open a Memory on the same new folder at once; all must succeed."""
    barrier = SPAWN.Barrier(n)
    pipes = [SPAWN.Pipe() for _ in range(n)]
    procs = [
        SPAWN.Process(target=first_open_child, args=(uri, barrier, i, pipes[i][1]))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    replies = [pipes[i][0].recv() for i in range(n)]
    for p in procs:
        p.join(timeout=120)
    assert replies == ["ok"] * n
    with open_real_clock(uri) as m:
        got = sorted(r["memory"] for r in m.get_all(user_id="race")["results"])
        assert got == [f"first open {i}" for i in range(n)]


def test_first_opens_racing_on_a_fresh_folder(tmp_path: Path) -> None:
    first_opens(str(tmp_path / "fresh"), 4)


@pytest.mark.slow
def test_first_opens_racing_on_fresh_folders_many_rounds(tmp_path: Path) -> None:
    for r in range(6):
        first_opens(str(tmp_path / f"fresh{r}"), 4)


def test_first_opens_racing_in_threads(tmp_path: Path) -> None:
    uri = str(tmp_path / "fresh")
    gate = threading.Barrier(4)
    out: list[Any] = []

    def first_open(i: int) -> None:
        gate.wait()
        try:
            with open_real_clock(uri) as m:
                m.add(f"first open {i}", user_id="race")
            out.append("ok")
        except BaseException as exc:
            out.append(exc)

    ts = [threading.Thread(target=first_open, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == ["ok"] * 4


# -- property: any subset deleted inside a batch update's window -----------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=5),
    data=st.data(),
)
def test_batch_update_with_any_subset_deleted_inside_its_window(
    tmp_path_factory: pytest.TempPathFactory, n: int, data: st.DataObject
) -> None:
    """The survivors are updated and returned, the deleted stay deleted, history agrees."""
    uri = str(tmp_path_factory.mktemp("prop") / "s")
    emb = HookEmbedder()
    m, other = open_real_clock(uri, emb), open_real_clock(uri)
    ids = [e["id"] for e in m.add([f"item {i}" for i in range(n)], user_id="p")["results"]]
    picked = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True), "updated")
    doomed = data.draw(st.lists(st.sampled_from(ids), unique=True), "deleted inside the window")
    by_user = data.draw(st.booleans(), "delete_users")

    def delete() -> None:
        if by_user and set(doomed) == set(ids):
            other.delete_users(user_id="p")
        elif doomed:
            other.batch_delete([{"memory_id": d} for d in doomed])

    texts = {mid: f"item {mid[:8]} changed" for mid in picked}
    emb.hooks[texts[picked[0]]] = delete
    survivors = [mid for mid in picked if mid not in doomed]
    try:
        out = m.batch_update([{"memory_id": mid, "text": texts[mid]} for mid in picked])
        assert sorted(r["id"] for r in out["results"]) == sorted(survivors)
    except MemoryNotFoundError:
        assert survivors == []
    for mid in doomed:
        assert_stays_deleted(m, mid)
    for mid in survivors:
        assert m.get(mid)["memory"] == texts[mid]
        assert events(m, mid)[-1] == "UPDATE"
    m.close()
    other.close()


def test_a_stamp_not_seen_yet_is_read_again_before_refusing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI saw a first open racing three others read no stamp beside a ``memories`` table.

    The stamp is written before any table, so the open reads again; only a table that stays
    unstamped (not created by this package) is refused.
    """
    import lancedb

    from mem_integrations import SchemaVersionError
    from mem_integrations.core.storage import schema

    uri = str(tmp_path / "s")
    open_real_clock(uri).close()
    reads = {"n": 0}
    read_meta = schema.read_meta

    def stale_once(db: Any) -> dict[str, str]:
        reads["n"] += 1
        return {} if reads["n"] == 1 else read_meta(db)

    monkeypatch.setattr(schema, "read_meta", stale_once)
    open_real_clock(uri).close()  # refused on the old code: the first read was taken as final
    assert reads["n"] >= 2
    monkeypatch.setattr(schema, "read_meta", read_meta)
    foreign = str(tmp_path / "foreign")
    lancedb.connect(foreign).create_table("memories", schema=schema.META_SCHEMA)
    with pytest.raises(SchemaVersionError, match="without a schema stamp"):
        open_real_clock(foreign)
