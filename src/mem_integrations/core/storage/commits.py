"""Commits that lose LanceDB's optimistic-concurrency races are retried, never lost."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import StoreError

__all__ = ["CONFLICT_ATTEMPTS", "is_commit_conflict", "retry_on_conflict"]

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
    """True for LanceDB's retryable optimistic-concurrency failures (they carry no type)."""
    text = str(exc).lower()
    return "commit conflict" in text or "preempted by concurrent transaction" in text


def retry_on_conflict(fn: Callable[[], T], what: str) -> T:
    """Run a commit, retrying with jittered exponential backoff while it loses races."""
    delay = CONFLICT_FIRST_DELAY_S
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_commit_conflict(exc):
                raise
            if attempt == CONFLICT_ATTEMPTS:
                raise StoreError(
                    f"{what} lost {attempt} commit races in a row to concurrent writers; "
                    "nothing was changed, try again"
                ) from exc
            log.debug("%s lost a commit race (attempt %d), retrying: %s", what, attempt, exc)
            time.sleep(delay * (1.0 + random.random()))
            delay = min(delay * 2.0, 1.0)
    raise AssertionError("unreachable")  # pragma: no cover
