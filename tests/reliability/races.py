"""Helpers for the race and fault suites: a hooked embedder, child bodies, state snapshots.

Interleavings are forced, not hoped for: :class:`HookEmbedder` runs a callback when it is asked
to embed a chosen text, which ``update`` does after reading the row and before writing it back,
exactly the window where a concurrent delete used to be undone. No sleeps, no timing.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from mem_integrations import Memory, MemoryConfig, MemoryLayerError, MemoryNotFoundError
from mem_integrations.core.storage.recovery import visible
from mem_integrations.testing import HashEmbedder

SPAWN = mp.get_context("spawn")


class HookEmbedder(HashEmbedder):
    """A :class:`HashEmbedder` that calls ``hooks[text]()`` (once) before embedding ``text``."""

    def __init__(self) -> None:
        super().__init__()
        self.hooks: dict[str, Callable[[], None]] = {}

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        for text in texts:
            hook = self.hooks.pop(text, None)
            if hook is not None:
                hook()
        return super().embed_documents(texts)


def open_real_clock(uri: str, embedder: HashEmbedder | None = None, **kw: Any) -> Memory:
    """A Memory on the system clock: history across processes is then in real order."""
    return Memory(MemoryConfig(uri=uri, embedder=embedder or HashEmbedder(), **kw))


def events(m: Memory, memory_id: str) -> list[str]:
    """The visible history of one memory, oldest first, as event names."""
    m.wait_for_housekeeping()
    rows = m.store.history.search().where(f"memory_id = '{memory_id}'").limit(None).to_arrow()
    return [e["event"] for e in visible(rows.to_pylist())]


def stored(m: Memory, memory_id: str) -> int:
    """How many rows hold ``memory_id`` (expired or not)."""
    return int(m.store.memories.count_rows(f"id = '{memory_id}'"))


def assert_stays_deleted(m: Memory, memory_id: str) -> None:
    """An acknowledged delete is final: no row, no UPDATE after the DELETE in history."""
    assert stored(m, memory_id) == 0, f"memory {memory_id} came back after its delete"
    seq = events(m, memory_id)
    assert seq[-1] == "DELETE", seq
    assert "UPDATE" not in seq[seq.index("DELETE") :], seq


def racing_child(uri: str, role: str, ids: list[str], users: list[str], barrier: Any) -> None:
    """Update every id, or delete it (``delete``/``delete_users`` alternately), after a barrier.

    Outcomes are not reported: every delete here is acknowledged (nothing else removes these
    rows), so the parent checks that each one stayed deleted, whatever the updates returned.
    """
    m = open_real_clock(uri)
    try:
        barrier.wait()
        for i, (mid, user) in enumerate(zip(ids, users, strict=True)):
            try:
                if role == "update":
                    m.update(mid, f"updated text {i}")
                elif i % 2:
                    m.delete_users(user_id=user)
                else:
                    m.delete(mid)
            except MemoryNotFoundError:
                pass  # ordered after the delete: fine
    finally:
        m.close()


def serve_child(uri: str, conn: Connection) -> None:
    """Run the parent's commands on this process's own Memory: (name, argument) -> reply.

    Replies "ok" (with a result for reads), "typed <Error>: ..." or "untyped <traceback>", so
    the parent can count both kinds without the child dying on the first one. The child
    commits each write's history before it replies, as ``mem-integrations serve`` does: with
    history behind writes (the default) another process may read history before it lands,
    and the parent reads history right after the reply (CI saw ``['ADD']`` without the DELETE).
    """
    m = open_real_clock(uri, history_behind_writes=False)
    try:
        conn.send("ready")
        while True:
            msg = conn.recv()
            if msg is None:
                break
            kind, arg = msg
            try:
                out: Any = None
                if kind == "delete":
                    m.delete(arg)
                elif kind == "users":
                    m.delete_users(user_id=arg)
                elif kind == "reset":
                    m.reset()
                elif kind == "add":
                    out = [e["event"] for e in m.add(arg, user_id="kid")["results"]]
                elif kind == "list":
                    out = sorted(r["memory"] for r in m.get_all(user_id=arg)["results"])
                conn.send(("ok", out))
            except MemoryLayerError as exc:
                conn.send((f"typed {type(exc).__name__}: {exc}", None))
            except BaseException:
                conn.send(("untyped " + traceback.format_exc(), None))
    finally:
        m.close()


def first_open_child(uri: str, barrier: Any, n: int, conn: Connection) -> None:
    """Open a Memory on a folder nobody created yet, at the same instant as the others."""
    barrier.wait()
    try:
        with open_real_clock(uri) as m:
            m.add(f"first open {n}", user_id="race")
        conn.send("ok")
    except MemoryLayerError as exc:
        conn.send(f"typed {type(exc).__name__}: {exc}")
    except BaseException:
        conn.send("untyped " + traceback.format_exc())
