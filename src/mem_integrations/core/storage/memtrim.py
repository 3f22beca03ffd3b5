"""Hand freed heap memory back to the operating system after large, short-lived reads.

Why: a scope read into RAM, the whole-store history check and LanceDB's scans allocate and
free hundreds of MB on several threads. glibc's allocator keeps what was freed in per-thread
arenas for reuse, so a process's resident memory grows with every such burst even when the
data is gone. Trimming after each background scope read, each slice of the whole-store
check and each background compaction gives those pages back: at 1M memories, 800 searches
that filled the 100k-row scope cache peaked at 684 MB with it and 699 MB without
(``bench/rss_trim.py``, ``bench/results/rss-trim.json``); what it returns is what was freed,
so it matters most after the check and as scopes are evicted. Dask's workers trim for the
same reason.

pyarrow's default memory pool (mimalloc in its Linux wheels) keeps freed memory as well,
out of glibc's reach: after the whole-store check of a 1M store, ``malloc_trim`` gave back
nothing and ``release_unused`` on the pool 122 MB of 587 (a scratch run). Both are asked.

Only glibc has ``malloc_trim``; elsewhere (musl, macOS, Windows) only the pool is asked.
Calls are throttled: trimming walks the heap, and is done from background threads only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable

import pyarrow as pa

__all__ = ["MIN_INTERVAL_S", "trim"]

#: Seconds between two trims, at least.
MIN_INTERVAL_S = 1.0


def _load() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return fn


_malloc_trim = _load()
_lock = threading.Lock()
_last = -float("inf")


def trim() -> bool:
    """Give free heap memory back to the OS; False when throttled."""
    global _last
    with _lock:
        now = time.monotonic()
        if now - _last < MIN_INTERVAL_S:
            return False
        _last = now
    pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)
    return True
