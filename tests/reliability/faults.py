"""A real disk that fills up or turns read-only: a tmpfs mounted for the test (root only).

Nothing is simulated: LanceDB writes to a kernel tmpfs which is filled with a ballast file
(``ENOSPC``) or remounted read-only (``EROFS``). :func:`classify` names what a call did to the
store, which is what the fault suites count.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import mem_integrations
from mem_integrations import Memory, MemoryLayerError

#: The error a call raises when its memories commit landed and its history commit did not.
PartialWriteError: type[Exception] | None = getattr(mem_integrations, "PartialWriteError", None)

State = tuple[dict[str, tuple[Any, ...]], frozenset[str]]


class Disk:
    """A tmpfs of ``size`` bytes at ``path``; ``fill``/``read_only`` break it, ``heal`` fixes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / "ballast"

    def _mount(self, *args: str) -> None:
        subprocess.run(["mount", *args], check=True, capture_output=True)

    def read_only(self) -> None:
        self._mount("-o", "remount,ro", str(self.path))

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Take all free space but ``leave`` bytes (rounded to pages by the kernel)."""
        chunk = b"\0" * (1 << 20)
        with open(self.ballast, "ab") as f:
            while self.free() > leave:
                want = min(len(chunk), self.free() - leave)
                try:
                    f.write(chunk[: max(want, 1)])
                    f.flush()
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break

    def heal(self) -> None:
        self._mount("-o", "remount,rw", str(self.path))
        self.ballast.unlink(missing_ok=True)


@contextmanager
def tmpfs(base: Path, size: str = "64m") -> Iterator[Disk]:
    """Mount a tmpfs under ``base``; skip (with the reason) where that is not allowed."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("the disk-full / read-only fault run mounts a tmpfs, which needs root")
    path = base / "mnt"
    path.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the fault run needs CAP_SYS_ADMIN")
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def state(m: Memory) -> State:
    """Every memory row (without its vector) by id, and the ids of every history event."""
    rows = m.store.memories.to_arrow().drop_columns(["vector"]).to_pylist()
    hist = m.store.history.to_arrow().column("id").to_pylist()
    return {r["id"]: tuple(r.values()) for r in rows}, frozenset(hist)


def changes(before: State, after: State) -> dict[str, list[str]]:
    """What changed in the memories table, as PartialWriteError.committed reports it."""
    b, a = before[0], after[0]
    out = {
        "added": sorted(set(a) - set(b)),
        "updated": sorted(i for i in set(a) & set(b) if a[i] != b[i]),
        "deleted": sorted(set(b) - set(a)),
    }
    return {k: v for k, v in out.items() if v}


def classify(before: State, after: State, exc: BaseException | None) -> str:
    """ok | refused (typed, nothing changed) | partial (typed, says exactly what) | a failure."""
    if exc is None:
        return "ok"
    if not isinstance(exc, MemoryLayerError):
        return "untyped"
    if before == after:
        return "refused"
    if PartialWriteError is not None and isinstance(exc, PartialWriteError):
        committed = {k: sorted(v) for k, v in getattr(exc, "committed", {}).items() if v}
        if committed == changes(before, after) and before[1] == after[1]:
            return "partial"
        if "memories" in committed.get("reset", []) and not after[0]:
            return "partial"  # a reset that emptied the memories, then stopped: it says so
    return "applied"


def run(m: Memory, call: Callable[[], Any]) -> tuple[str, BaseException | None, State, State]:
    """Run ``call`` and classify what it did."""
    before = state(m)
    exc: BaseException | None = None
    try:
        call()
    except Exception as e:  # classified below; an untyped one fails the caller's assertion
        exc = e
    after = state(m)
    return classify(before, after, exc), exc, before, after
