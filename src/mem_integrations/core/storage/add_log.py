"""Adds acknowledged once logged on local disk, committed to the table behind the call.

Why: a LanceDB commit on a local disk costs ~12 ms (a data file, a transaction file and a
manifest per version: ``bench/results``), and a single add paid for one before it could
return. With ``MemoryConfig(queue_adds=True)`` an add that stores only new texts writes its
rows to a small Arrow file here (~0.2 ms) and returns; a writer thread commits whatever is
queued in one memories commit (a burst of adds shares one), with their ADD history.

Guarantees:

- Nothing acknowledged is lost on a crash: the file is complete (written aside, then
  renamed) before the add returns, and it is removed only after its rows are committed. A
  handle holds an exclusive ``flock`` on its own folder while it lives; an open of the store
  that finds a folder nobody holds (its process died, or its close could not commit)
  commits the rows not already in the table and not deleted since (``Engine`` at open).
  Like LanceDB's own local commits, which do not ``fsync`` (checked with strace), a file
  survives a process crash; ``add_queue_fsync=True`` also syncs it to the device.
- This handle reads its own adds: every ``Memory`` call other than a queued add first
  waits until what it queued is committed (``facade.base``), so a search, get, update or
  delete after an add sees it, and a delete can never be undone by a later commit.
- An add that repeats a queued text of its scope, or a text the scope already holds, takes
  the synchronous path after the queue is committed, so the duplicate rules are unchanged.
- Other processes see a queued add once its batch is committed (milliseconds behind).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import uuid
import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from ..errors import PartialWriteError
from .commits import store_error
from .history_queue import WriteBehind
from .reader import local_path

__all__ = ["AddLog", "Queued", "log_folder", "orphans"]

_LOCK = "lock"
_SUFFIX = ".arrow"


def log_folder(uri: str, configured: str | None) -> Path | None:
    """Where queued adds of the store at ``uri`` are logged: ``configured``, or beside it."""
    if configured is not None:
        return Path(configured)
    local = local_path(uri)
    return None if local is None else Path(local) / "_add_queue"


@dataclass(eq=False)
class Queued:
    """One add call's new rows: the file that holds them and what their history needs."""

    path: Path
    rows: pa.Table
    at: datetime
    keys: list[tuple[Hashable, str]] = field(default_factory=list)  # (scope, content hash)


class _Queue(WriteBehind[Queued]):
    thread_name = "mem-adds"

    def unwritten(self, batch: list[Queued], exc: Exception, *, own: bool) -> PartialWriteError:
        """Names every queued memory: they are the earlier adds', not the waiting call's."""
        ids = [str(i) for q in batch for i in q.rows.column("id").to_pylist()]
        return PartialWriteError(
            f"{len(ids)} acknowledged memories are logged but could not be committed to the "
            "table yet; the call that raised this changed nothing itself. They stay queued and "
            "are retried (and, if this process ends first, committed at the next open of the "
            f"store). Cause: {exc}",
            committed={"added": ids},
            result=None,
        )


class _Folder:
    """What every handle of this process on one queue folder shares: the lock, the texts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[tuple[Hashable, str], int] = {}
        self.logs: weakref.WeakSet[AddLog] = weakref.WeakSet()


_FOLDERS: dict[str, _Folder] = {}
_FOLDERS_GUARD = threading.Lock()


class AddLog:
    """One handle's queued adds: their files, the texts they hold, the writer thread.

    ``commit`` writes the rows of a batch (one memories commit) and their history; it runs
    on the writer thread, or in the caller's thread when a call waits (:meth:`settle`). The
    writer holds ``store_lock`` (``commits.write_lock``) across the commit, then :attr:`lock`
    to forget the batch's texts; adds hold :attr:`lock` across their duplicate check, so a
    text is either queued or in the table. :attr:`lock` and the queued texts are shared by
    every handle of this process on the same folder, as the store's write lock is, so two
    handles adding one text store it once. The handle's own folder is made at its first add
    (a handle that only reads writes nothing to the store's disk).
    """

    def __init__(
        self,
        folder: Path,
        commit: Callable[[pa.Table, list[Queued]], None],
        store_lock: threading.Lock,
        *,
        fsync: bool = False,
    ) -> None:
        self._parent = folder
        self.folder = folder / uuid.uuid4().hex
        self._lock_fd: int | None = None
        self._commit = commit
        self._store_lock = store_lock
        self._fsync = fsync
        with _FOLDERS_GUARD:
            self._shared = _FOLDERS.setdefault(str(folder.resolve()), _Folder())
        self._shared.logs.add(self)
        #: held across an add's duplicate check and its :meth:`submit` (shared, see above)
        self.lock = self._shared.lock
        self._seq = 0
        self._closed = False
        self._queue = _Queue(self._write)

    def holds(self, scope: Hashable, hashes: Sequence[str]) -> bool:
        """Whether one of these texts is queued in this scope by a handle of this process.

        Call with :attr:`lock` held.
        """
        return any((scope, h) in self._shared.keys for h in hashes)

    def submit(self, rows: pa.Table, scope: Hashable, hashes: Sequence[str], at: datetime) -> None:
        """Log the rows durably, then queue them; call with :attr:`lock` held.

        When this returns the add may be acknowledged: the file is complete on disk. If
        writing it fails (full disk, read-only mount) the typed error says nothing changed.
        """
        self._seq += 1
        path = self.folder / f"{self._seq:012d}{_SUFFIX}"
        tmp = path.with_suffix(".tmp")
        try:
            if self._lock_fd is None:
                self._claim()
            with open(tmp, "wb") as f:
                with ipc.new_file(f, rows.schema) as writer:
                    writer.write_table(rows)
                if self._fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
            if self._fsync:
                _sync_dir(self.folder)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise store_error(exc, "logging a queued add") from exc
        item = Queued(path, rows, at, [(scope, h) for h in hashes])
        for k in item.keys:
            self._shared.keys[k] = self._shared.keys.get(k, 0) + 1
        self._queue.submit([item])

    def _claim(self) -> None:
        """Make this handle's folder, locked before any other process can see it."""
        hidden = self._parent / f".{self.folder.name}"
        hidden.mkdir(parents=True)
        fd = os.open(hidden / _LOCK, os.O_CREAT | os.O_RDONLY, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(hidden, self.folder)  # only now do ``orphans`` look at it: already held
        self._lock_fd = fd

    @property
    def pending(self) -> int:
        """Add calls logged and not yet committed."""
        return self._queue.pending

    def settle(self) -> None:
        """Commit everything queued, in this thread if need be (``PartialWriteError`` if not)."""
        self._queue.flush()

    def settle_all(self) -> None:
        """Commit what every handle of this process on the folder queued (a repeat's wait)."""
        for log in list(self._shared.logs):
            log.settle()

    def close(self) -> None:
        """Commit what is queued and let go of the folder (left for the next open on failure)."""
        if self._closed:
            return
        self._closed = True
        self._shared.logs.discard(self)
        try:
            self._queue.close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
        if self._lock_fd is not None and not any(self.folder.glob(f"*{_SUFFIX}")):
            shutil.rmtree(self.folder, ignore_errors=True)

    def _write(self, batch: list[Queued]) -> None:
        with self._store_lock:
            self._commit(pa.concat_tables([q.rows for q in batch]), batch)
            with self.lock:
                keys = self._shared.keys
                for q in batch:
                    for k in q.keys:
                        left = keys[k] - 1
                        if left:
                            keys[k] = left
                        else:
                            del keys[k]
        for q in batch:
            q.path.unlink(missing_ok=True)


def orphans(folder: Path) -> Iterator[tuple[Path, pa.Table]]:
    """Folders of handles that are gone, with the rows their files hold, each locked meanwhile.

    A folder is removed once the caller has committed its rows (the generator resumes);
    if the caller raises, the folder stays for the next open. Incomplete files (``.tmp``:
    the process died while writing, before the add returned) are not read.
    """
    if not folder.is_dir():
        return
    for sub in sorted(folder.iterdir()):
        if sub.name.startswith("."):  # a handle's folder being made (``AddLog._claim``)
            continue
        try:
            fd = os.open(sub / _LOCK, os.O_RDONLY)
        except OSError:  # not a log folder, or removed by another open meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live handle's folder
                continue
            files = sorted(sub.glob(f"*{_SUFFIX}"))
            if files:
                tables = [ipc.open_file(str(p)).read_all() for p in files]
                yield sub, pa.concat_tables(tables, promote_options="default")
            shutil.rmtree(sub, ignore_errors=True)
        finally:
            os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
