"""Child-process bodies for the reliability suites (importable, so ``spawn`` can pickle them).

Each writer keeps an *acknowledgement log*: one JSON line per call that returned, written after
the call returned. The parent replays the logs to compute what the store must hold; anything
that was acknowledged and is missing, duplicated or stale is a lost write.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from mem_integrations import Memory, MemoryConfig
from mem_integrations.testing import FrozenClock, HashEmbedder

#: The fault-injection point the crash suite uses: when set in a child's environment, the
#: child SIGKILLs itself right after the memories commit of its N-th write call and before
#: that call's history commit (see ``kill_between_commits``).
KILL_AFTER_ENV = "MEM_RELIABILITY_KILL_AFTER_COMMIT"

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()


class TickingClock(FrozenClock):
    """Moves one millisecond per reading: strictly increasing without waiting for real time.

    A frozen clock would give every event of a memory the same timestamp, and history is
    ordered by timestamp; each process starts at its own offset so that no two collide.
    """

    def __init__(self, offset: int = 0) -> None:
        super().__init__()
        self.advance(hours=offset)

    def now(self) -> datetime:
        return self.advance(milliseconds=1)


def open_memory(
    uri: str, storage_options: dict[str, str] | None = None, clock_offset: int = 0, **kw: Any
) -> Memory:
    """The store every child opens: deterministic embedder and clock, so runs are exact."""
    return Memory(
        MemoryConfig(
            uri=uri,
            storage_options=storage_options,
            embedder=HashEmbedder(),
            clock=TickingClock(clock_offset),
            **kw,
        )
    )


class AckLog:
    """Append-only JSON lines, flushed per entry so a killed child leaves whole lines."""

    def __init__(self, path: str | Path) -> None:
        self._f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, **entry: Any) -> None:
        self._f.write(json.dumps(entry) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """Whole lines only: a line cut by SIGKILL is not an acknowledgement."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def expected_state(entries: list[dict[str, Any]]) -> tuple[dict[str, str], set[str]]:
    """Replay acknowledgements: (live id -> latest text, deleted ids)."""
    live: dict[str, str] = {}
    deleted: set[str] = set()
    for e in entries:
        if e["op"] in ("add", "update"):
            live.update(e["ids"])
        elif e["op"] == "delete":
            for i in e["ids"]:
                live.pop(i, None)
                deleted.add(i)
    return live, deleted


def mixed_writer(
    uri: str,
    worker: int,
    n_ops: int,
    log_path: str,
    storage_options: dict[str, str] | None = None,
    optimize_every: int = 25,
) -> None:
    """Add, batch-add, update, batch-update, delete, batch-delete, search and list, at random.

    The worker only updates and deletes its own memories (other workers' rows are read, not
    written) so that the expected final state is exact; all workers share one table, one
    history table and the compaction that ``optimize_every`` triggers in the background.
    """
    rng = random.Random(worker * 7919 + n_ops)
    log = AckLog(log_path)
    m = open_memory(uri, storage_options, worker + 1, optimize_every=optimize_every)
    user = f"user-{worker}"
    mine: list[str] = []
    try:
        for i in range(n_ops):
            r = rng.random()
            if r < 0.30 or len(mine) < 3:
                text = f"w{worker} op{i} {rng.choice(WORDS)} {rng.choice(WORDS)}"
                res = m.add(text, user_id=user, metadata={"w": worker, "i": i})
                ids = {e["id"]: e["memory"] for e in res["results"] if e["event"] == "ADD"}
                mine += list(ids)
                log.write(op="add", ids=ids)
            elif r < 0.40:
                msgs = [{"role": "user", "content": f"w{worker} op{i} batch {j}"} for j in range(5)]
                res = m.add(msgs, user_id=user, infer=False)
                ids = {e["id"]: e["memory"] for e in res["results"] if e["event"] == "ADD"}
                mine += list(ids)
                log.write(op="add", ids=ids)
            elif r < 0.55:
                mid = rng.choice(mine)
                text = f"w{worker} op{i} updated {rng.choice(WORDS)}"
                m.update(mid, text, user_id=user)
                log.write(op="update", ids={mid: text})
            elif r < 0.60:
                picked = rng.sample(mine, min(3, len(mine)))
                items = [{"memory_id": p, "text": f"w{worker} op{i} bulk {p[:4]}"} for p in picked]
                m.batch_update(items)
                log.write(op="update", ids={it["memory_id"]: it["text"] for it in items})
            elif r < 0.70:
                mid = mine.pop(rng.randrange(len(mine)))
                m.delete(mid, user_id=user)
                log.write(op="delete", ids=[mid])
            elif r < 0.73:
                picked = [mine.pop(rng.randrange(len(mine))) for _ in range(2)]
                m.batch_delete([{"memory_id": p} for p in picked])
                log.write(op="delete", ids=picked)
            elif r < 0.90:
                hits = m.search(rng.choice(WORDS), user_id=user, top_k=5)["results"]
                assert all(h["user_id"] == user for h in hits), "search crossed scopes"
            else:
                rows = m.get_all(user_id=f"user-{rng.randrange(4)}", limit=50)["results"]
                assert len({r["id"] for r in rows}) == len(rows), "get_all returned a duplicate"
    except BaseException:
        log.write(op="error", trace=traceback.format_exc())
        raise
    finally:
        m.close()
        log.close()


# -- crash injection -----------------------------------------------------------------------------


@contextmanager
def kill_between_commits(m: Memory, method: str, nth: int) -> Iterator[None]:
    """SIGKILL this process right after the ``nth`` commit by ``store.<method>``, before history.

    The real commit runs, then the process dies exactly where a power cut between the memories
    commit and the history commit would leave it; nothing of the store is faked.
    """
    real = getattr(m.store, method)
    count = 0

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        out = real(*args, **kwargs)
        count += 1
        if count >= nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(m.store, method, wrapped)
    try:
        yield
    finally:
        setattr(m.store, method, real)


def crash_writer(
    uri: str, log_path: str, batch: int, seed: int, kill: tuple[str, int] | None = None
) -> None:
    """Batch-add, update and delete until killed: by ``kill`` (method, nth) or by the parent.

    Logs ``begin`` before each call and the acknowledgement after it, so the parent knows which
    call was in flight when the process died.
    """
    log = AckLog(log_path)
    m = open_memory(uri, clock_offset=seed)
    rng = random.Random(seed)
    tag = f"s{seed}p{os.getpid()}"
    mine = [r["id"] for r in m.get_all(user_id="crash", limit=1000)["results"]]
    with kill_between_commits(m, *kill) if kill else _null():
        for i in range(100_000):
            r = rng.random()
            if r < 0.5 or len(mine) < 2:
                texts = [f"{tag} call{i} item{j}" for j in range(batch)]
                log.write(op="begin", kind="add", texts=texts)
                res = m.add([{"role": "user", "content": t} for t in texts], user_id="crash")
                ids = {e["id"]: e["memory"] for e in res["results"] if e["event"] == "ADD"}
                mine += list(ids)
                log.write(op="add", ids=ids)
            elif r < 0.75:
                picked = rng.sample(mine, min(batch, len(mine)))
                items = [{"memory_id": p, "text": f"{tag} call{i} upd {p[:6]}"} for p in picked]
                log.write(op="begin", kind="update", ids={x["memory_id"]: x["text"] for x in items})
                m.batch_update(items)
                log.write(op="update", ids={x["memory_id"]: x["text"] for x in items})
            else:
                picked = [mine.pop(rng.randrange(len(mine))) for _ in range(min(3, len(mine)))]
                log.write(op="begin", kind="delete", ids=picked)
                m.batch_delete([{"memory_id": p} for p in picked])
                log.write(op="delete", ids=picked)


@contextmanager
def _null() -> Iterator[None]:
    yield


def queued_history_writer(uri: str, log_path: str, n_adds: int) -> None:
    """Single adds, an update and a delete whose history never leaves the queue, then wait.

    The history commit is held back (it blocks forever), so every acknowledged call's events
    are still queued in this process when the parent SIGKILLs it: what the parent finds at
    reopen is what recovery rebuilt, nothing the writer committed.
    """
    log = AckLog(log_path)
    m = open_memory(uri)
    m.wait_for_housekeeping()
    held_back = threading.Event()
    m.store.add_history = lambda rows: held_back.wait()  # type: ignore[method-assign, assignment]
    ids: dict[str, str] = {}
    for i in range(n_adds):
        res = m.add(f"queued fact {i} {WORDS[i % len(WORDS)]}", user_id="crash", infer=False)
        ids.update({e["id"]: e["memory"] for e in res["results"] if e["event"] == "ADD"})
        log.write(op="add", ids={e["id"]: e["memory"] for e in res["results"]})
    first, second = list(ids)[:2]
    m.update(first, "queued fact rewritten", user_id="crash")
    log.write(op="update", ids={first: "queued fact rewritten"})
    m.delete(second, user_id="crash")
    log.write(op="delete", ids=[second])
    log.write(op="done")
    held_back.wait()  # until killed


def queued_add_writer(uri: str, log_path: str, n_adds: int, committed_then_deleted: bool) -> None:
    """Queued adds acknowledged while their commit is held back, then wait to be killed.

    The queue's writer thread needs the store's write lock to commit; a queued add does not.
    Holding that lock, every add this child acknowledges is logged and none is committed when
    the parent SIGKILLs it. With ``committed_then_deleted`` one more add is committed and
    deleted first, and its log file is put back: the crash a moment after a commit, before
    its file was removed, followed by a delete; the next open must not bring it back.
    """
    log = AckLog(log_path)
    m = open_memory(uri, queue_adds=True)
    m.wait_for_housekeeping()
    if committed_then_deleted:
        lock = m.store.write_lock
        lock.acquire()
        gone = m.add("a fact that is deleted later", user_id="crash", infer=False)
        saved = {p: p.read_bytes() for p in Path(m._core.add_log.folder).glob("*.arrow")}  # type: ignore[union-attr]
        lock.release()
        gone_id = gone["results"][0]["id"]
        m.delete(gone_id)  # waits for the commit, which removes the file
        for p, data in saved.items():
            p.write_bytes(data)
        log.write(op="delete", ids=[gone_id])
    m.store.write_lock.acquire()  # the writer thread cannot commit from here on
    for i in range(n_adds):
        res = m.add(
            [{"role": "user", "content": f"queued add {i} {WORDS[i % len(WORDS)]}"},
             {"role": "user", "content": f"second half {i}"}],
            user_id="crash", infer=False,
        )  # fmt: skip
        log.write(op="add", ids={e["id"]: e["memory"] for e in res["results"]})
    log.write(op="done")
    threading.Event().wait()  # until killed


def kill_when_done(tmp_path: Path, target: Callable[..., None], *args: Any) -> tuple[str, Path]:
    """Run ``target(uri, log, *args)`` in a spawned child on a fresh store; SIGKILL it once
    its acknowledgement log says ``done``. Returns the store's uri and the log."""
    import multiprocessing as mp
    import time

    uri = str(tmp_path / "store")
    open_memory(uri).close()
    log = tmp_path / "log.jsonl"
    log.touch()
    p = mp.get_context("spawn").Process(target=target, args=(uri, str(log), *args))
    p.start()
    deadline = time.monotonic() + 120
    while not any(e["op"] == "done" for e in read_log(log)) and time.monotonic() < deadline:
        assert p.is_alive(), "the writer died before it was killed"
        time.sleep(0.005)  # waiting for the child's progress, not for a time to pass
    assert p.pid is not None
    os.kill(p.pid, signal.SIGKILL)
    p.join(timeout=60)
    assert p.exitcode == -signal.SIGKILL
    return uri, log
