"""History written behind the memories commit: queued in the process, group-committed.

Why: every write is two LanceDB commits, memories then history, and a commit costs what it
costs (~8 ms on a local disk, measured in ``bench/growth.py``): a single add paid for two.
The memories commit is what a caller needs acknowledged; its history events can follow.
So write calls queue their events here and return; one writer thread per store handle
commits whatever is queued in one history commit (a burst of adds shares one), and the
next batch queues while it does.

Guarantees:

- Nothing acknowledged is lost on a crash: the memories commit landed before the call
  returned, and a history event that never made it to disk is rebuilt, marked recovered,
  at the next open (``storage.recovery`` through the write sequence; ``test_crash`` kills a
  writer with events still queued). What a crash costs is the exact timestamp of a queued
  DELETE (an ADD or UPDATE keeps it: the row carries it).
- This process reads its own history: every history read, ``wait_for_housekeeping`` and
  ``close`` first :meth:`~HistoryQueue.flush` (``Engine.settle_history``), so ``history``
  after a write in the same process always shows the write's event.
- Other processes see an event once its batch is committed, usually within one history
  commit of the write (milliseconds); a write's memories change itself is visible to them
  at once, as before.
- A failed background commit (full disk, read-only mount) loses nothing: the batch goes
  back to the head of the queue and is retried with a growing delay (up to
  :data:`MAX_RETRY_S`). :meth:`~HistoryQueue.flush` writes in the caller's thread and
  raises ``PartialWriteError``; the events stay queued, so a later flush (or the background
  retry) completes them. At interpreter exit queued events are flushed once more
  (``atexit``).
- Who the error speaks for: a write that commits its own history before returning
  (``history_behind_writes=False``) flushes with ``mine=`` its events, waits only until
  those are committed (by whichever thread) and, if they cannot be, names only its own
  changes; events of earlier calls queued beside them are theirs to report. A plain flush
  (history reads, ``wait_for_housekeeping``, ``reset``, ``close``...) names every memory whose
  events are still queued and says that the call meeting them changed nothing itself.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from ..errors import PartialWriteError

__all__ = ["MAX_RETRY_S", "HistoryQueue", "WriteBehind"]

log = logging.getLogger(__name__)

#: The longest wait between two background attempts at a failing history commit.
MAX_RETRY_S = 5.0
_FIRST_RETRY_S = 0.05
#: The writer thread ends after this long with nothing queued (started again when needed).
_IDLE_S = 2.0
_KIND = {"ADD": "added", "UPDATE": "updated", "DELETE": "deleted", "EXPIRE": "deleted"}

T = TypeVar("T")

_LIVE: weakref.WeakSet[WriteBehind[Any]] = weakref.WeakSet()


class WriteBehind(ABC, Generic[T]):
    """Items of calls that have returned, waiting for their (group) commit on a thread.

    ``write`` commits a list of items in one commit. The same machinery serves history events
    (:class:`HistoryQueue`) and logged adds (``storage.add_log``); a subclass says, in
    :meth:`unwritten`, what a failed flush means for its items.
    """

    #: the writer thread's name
    thread_name = "mem-write-behind"

    def __init__(self, write: Callable[[list[T]], object]) -> None:
        self._write = write
        self._cond = threading.Condition()
        self._pending: list[T] = []
        self._writing = False  # a batch is being committed (by the thread or a flush)
        self._thread: threading.Thread | None = None
        self._closed = False
        _LIVE.add(self)

    def submit(self, events: Sequence[T]) -> None:
        """Queue the items of a call that is about to return; never blocks on I/O."""
        if not events:
            return
        with self._cond:
            if not self._closed:
                self._pending.extend(events)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name=self.thread_name, daemon=True
                    )
                    self._thread.start()
                self._cond.notify_all()
                return
        self._write(list(events))  # closed: nobody would commit them later

    @property
    def pending(self) -> int:
        """Events queued and not yet committed."""
        with self._cond:
            return len(self._pending)

    def flush(self, mine: Sequence[T] = ()) -> None:
        """Commit what is queued, in this thread; raise ``PartialWriteError`` if that fails.

        A batch the thread is committing is waited for first. On failure the events stay
        queued (they are retried). Without ``mine`` everything queued before this call is
        committed and the error names every memory still waiting for its events. With
        ``mine`` (a write's own events) the flush ends as soon as those are committed,
        whoever committed them, and the error names only the memories among ``mine``.
        """
        own = {id(e) for e in mine}
        with self._cond:
            while self._writing:
                self._cond.wait()
            if not self._pending or (own and not any(id(e) in own for e in self._pending)):
                return
            batch, self._pending = self._pending, []
            self._writing = True
        try:
            self._write(batch)
        except Exception as exc:
            with self._cond:
                self._pending[:0] = batch
                self._writing = False
                self._cond.notify_all()
            if own:
                raise self.unwritten([e for e in batch if id(e) in own], exc, own=True) from exc
            raise self.unwritten(batch, exc, own=False) from exc
        with self._cond:
            self._writing = False
            self._cond.notify_all()

    @abstractmethod
    def unwritten(self, batch: list[T], exc: Exception, *, own: bool) -> Exception:
        """The error a flush raises when ``batch`` could not be committed (still queued)."""

    def close(self) -> None:
        """Flush, then stop the thread; later items are written in the caller's thread.

        If the flush fails, its error is raised and the items it could not write are
        dropped here: the next open of the store writes them (history events marked
        recovered; queued adds from their files, ``storage.add_log``).
        """
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._pending = []
                self._cond.notify_all()
                thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join()

    def _run(self) -> None:
        retry = 0.0
        while True:
            with self._cond:
                if retry:
                    self._cond.wait(retry)  # after a failure; a flush may get there first
                while not self._pending or self._writing:
                    if self._closed or (
                        not self._cond.wait(_IDLE_S) and not self._pending and not self._writing
                    ):
                        self._thread = None
                        return
                batch, self._pending = self._pending, []
                self._writing = True
            error: Exception | None = None
            try:
                self._write(batch)
            except Exception as exc:  # kept queued and retried: see the module docstring
                error = exc
            with self._cond:
                self._writing = False
                if error is not None:
                    self._pending[:0] = batch
                    retry = min(max(2 * retry, _FIRST_RETRY_S), MAX_RETRY_S)
                    log.warning(
                        "%s commit failed, retrying in %.2fs: %s", self.thread_name, retry, error
                    )
                else:
                    retry = 0.0
                self._cond.notify_all()


class HistoryQueue(WriteBehind[dict[str, Any]]):
    """History events of committed writes, waiting for their (group) commit.

    ``write`` commits a list of events in one history commit (``Store.add_history``).
    """

    thread_name = "mem-history"

    def unwritten(
        self, batch: list[dict[str, Any]], exc: Exception, *, own: bool
    ) -> PartialWriteError:
        """Names the memories whose events are still queued (all, or only the caller's)."""
        return _unwritten(batch, exc, own=own)


def _unwritten(batch: list[dict[str, Any]], exc: Exception, *, own: bool) -> PartialWriteError:
    committed: dict[str, list[str]] = {}
    for e in batch:
        ids = committed.setdefault(_KIND.get(str(e.get("event")), "updated"), [])
        if e["memory_id"] not in ids:
            ids.append(e["memory_id"])
    kinds = ", ".join(f"{len(v)} {k}" for k, v in committed.items())
    whose = (
        "this call's changes to memories were committed"
        if own
        else "earlier write calls' changes to memories were committed"
    )
    nothing = "" if own else " The call that raised this changed no memory or history itself."
    return PartialWriteError(
        f"{whose} ({kinds}), but their history events could not be written yet.{nothing} "
        "They stay queued and are retried (flush again with wait_for_housekeeping); if this "
        "process ends first, they are written, marked recovered, at the next open of the "
        f"store. Do not retry the write. Cause: {exc}",
        committed=committed,
        result=None,
    )


@atexit.register
def _flush_all() -> None:
    """Commit what is still queued when the interpreter exits (best effort: logged).

    History queues go last: committing queued adds queues their ADD events.
    """
    for queue in sorted(_LIVE, key=lambda q: isinstance(q, HistoryQueue)):
        try:
            queue.flush()
        except Exception:
            log.warning("%s: items left unwritten at exit", queue.thread_name, exc_info=True)
