"""Commits: races retried, other failures typed, check-then-commit atomic in a process.

Commits that lose LanceDB's optimistic-concurrency races are retried, never lost; commits that
fail for any other reason (full disk, read-only mount) raise a typed error; and a lock per
store makes a check-then-commit (duplicate detection) atomic within one process.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import MemoryLayerError, ReadOnlyStoreError, StorageFullError, StoreError

__all__ = [
    "CONFLICT_ATTEMPTS",
    "is_commit_conflict",
    "retry_on_conflict",
    "store_error",
    "write_lock",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# -- commit conflicts (added by the reliability work, issue 8) ---------------------------------
# Lance commits optimistically and rebases most concurrent commits by itself. The ones it
# cannot rebase fail with "Retryable commit conflict ... preempted by concurrent transaction":
# measured with 4 writer processes, that is a compaction (Rewrite) losing to an update, delete
# or index build that touched the same fragments, several times per 100 operations, and even
# within one process (background optimize vs foreground delete). A failed commit applied
# nothing, so running the same call again on the new version is safe.
CONFLICT_ATTEMPTS = 8
CONFLICT_FIRST_DELAY_S = 0.02  # doubled per attempt up to 1 s, with jitter: ~4 s at most


def is_commit_conflict(exc: BaseException) -> bool:
    """True for LanceDB's retryable optimistic-concurrency failures (they carry no type).

    "Incompatible transaction" is a commit that lost to one it cannot be rebased on (seen: the
    schema stamp of one first open against another's table creation, an ``Overwrite``); "too
    many concurrent writers" is LanceDB giving up its own retries (seen on object storage with
    two servers writing). Like the others they applied nothing, so running the commit again on
    the new version is safe.
    """
    text = str(exc).lower()
    return any(
        s in text
        for s in (
            "commit conflict",
            "preempted by concurrent transaction",
            "incompatible transaction",
            "too many concurrent writers",
        )
    )


def retry_on_conflict(fn: Callable[[], T], what: str) -> T:
    """Run a commit, retrying with jittered exponential backoff while it loses races.

    Any other failure becomes a typed error (:func:`store_error`).
    """
    delay = CONFLICT_FIRST_DELAY_S
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_commit_conflict(exc):
                raise store_error(exc, what) from exc
            if attempt == CONFLICT_ATTEMPTS:
                raise StoreError(
                    f"{what} lost {attempt} commit races in a row to concurrent writers; "
                    "nothing was changed, try again"
                ) from exc
            log.debug("%s lost a commit race (attempt %d), retrying: %s", what, attempt, exc)
            time.sleep(delay * (1.0 + random.random()))
            delay = min(delay * 2.0, 1.0)
    raise AssertionError("unreachable")  # pragma: no cover


#: Text of the OS errors LanceDB passes on (it gives them no type of their own).
_NO_SPACE = ("no space left on device", "os error 28", "disk quota exceeded", "os error 122")
_READ_ONLY = ("read-only file system", "os error 30", "permission denied", "os error 13")


def store_error(exc: BaseException, what: str) -> MemoryLayerError:
    """The typed error for a failed LanceDB call: the cause, that nothing changed, what to do.

    A Lance commit is atomic (its manifest is written last, and only then is the version
    visible), so a commit that raised applied nothing: the fault suite checks that on a real
    full and read-only disk. Errors of this package pass through unchanged.
    """
    if isinstance(exc, MemoryLayerError):
        return exc
    text = " ".join(str(exc).split())
    brief = text if len(text) <= 300 else text[:297] + "..."
    low = text.lower()
    if any(s in low for s in _NO_SPACE):
        return StorageFullError(
            f"{what} failed: the disk holding the store is full ({brief}). Nothing was "
            "changed; free space (or raise the quota), then retry the call."
        )
    if any(s in low for s in _READ_ONLY):
        return ReadOnlyStoreError(
            f"{what} failed: the store cannot be written ({brief}). Nothing was changed; "
            "remount it read-write or fix its permissions, then retry the call."
        )
    return StoreError(f"{what} failed in LanceDB: {brief}. Nothing was changed.")


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def write_lock(uri: str) -> threading.Lock:
    """The lock of the store at ``uri``, shared by every handle on it in this process.

    Duplicate detection reads (is this text stored?) then commits (store it): two threads
    doing that at once would both store it. Holding this lock across the check and the
    commit makes it atomic for every ``Memory`` of this process on the store. Processes do
    not share it: across processes LanceDB offers no conditional append, so two processes
    adding the same text at the same instant can both store it (docs/reliability.md).
    """
    key = uri if "://" in uri else os.path.realpath(uri)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())
