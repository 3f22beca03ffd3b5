"""Which texts a scope may hold, in RAM: an add's duplicate check without a LanceDB query.

Why: every add checks whether its text is already stored in its exact scope (Mem0's dedup),
and that check was a LanceDB query: ~12 ms of a 28 ms single add (cProfile, issue 21), more
than the commit itself. Almost every add brings a new text, so what the check needs most is
a cheap, certain "no".

What is held: per scope, the content hashes (64 bits of the MD5) of every row of the scope,
expired or not, as the table was at one version, plus the hashes this process's own commits
have written since. That is a *superset* of the scope's live texts: a hash that is not in it
is certainly not stored, and the add needs no query; a hash that is in it (a repeat, or a
memory since deleted, expired or rewritten) is looked up by the query as before, which
applies expiry and returns the row. Deletes therefore never need to be followed.

Staying a superset across versions, without reading the scope again:

- this process's commits (``committed``) log the hashes they wrote per scope, by version;
  a held scope replays the versions after its own, which must all be in the log;
- any other version (another process's write, a compaction, an index build, a commit whose
  version this process did not learn) triggers a *rebase*: one query for the rows stamped
  (``seq``, ``storage.watermark``) since the oldest held scope was read, minus the grace
  recovery also allows a writer between its stamp and its commit, adds their hashes to every
  held scope, and moves them to the latest version. A compaction costs one small query for
  all scopes together, not a re-read of each; after a bulk load (more than
  :data:`MAX_DELTA` such rows) the held scopes are dropped and re-read one by one instead.
- the latest version is found as the search reader finds it (``storage.reader``): one
  ``stat`` of the next version's manifest, and a real listing once per ``FULL_REFRESH_S``.

Only local stores answer from RAM (an object store has no cheap "is there a newer version");
elsewhere, and for scopes over :data:`SCOPE_MAX_KEYS`, every add queries, as before. The
lookup runs under the store's write lock (``write.add``), so duplicate detection stays
atomic within a process; across processes it is what it was (docs/reliability.md).
Rows written without a ``seq`` (a writer older than migration ``m002``) are not found by a
rebase: run one version of the package per store.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .hash_keys import as_keys, column_keys
from .reader import FULL_REFRESH_S, MANIFEST_NAMES
from .schema import SCOPE_COLUMNS, SEQ
from .watermark import GRACE_NS

__all__ = ["MAX_DELTA", "SCOPE_COLUMNS", "SCOPE_MAX_KEYS", "SeenHashes"]

#: Scopes with more rows than this are not held: every add of theirs queries.
SCOPE_MAX_KEYS = 200_000
#: Hashes held across all scopes (8 bytes each), least recently used scope out first.
MAX_KEYS = 2_000_000
#: Rows a rebase reads at most; beyond (a bulk load), held scopes are dropped and re-read.
MAX_DELTA = 20_000
#: Versions replayed from the log at most; beyond, a rebase is cheaper.
_MAX_REPLAY = 10_000
#: Versions a rebase reads the transactions of at most, to find that they kept the rows.
_MAX_LEARN = 64
#: How long a scope found over :data:`SCOPE_MAX_KEYS` is not loaded again.
_RECOUNT_S = 60.0

Key = tuple[str | None, ...]
#: The key of the whole table's hashes: a superset of every scope's, so a text it lacks is
#: in no scope. Held first, it answers a cold scope's "no" without reading that scope (at 1M
#: memories a 1k-row scope read cost ~20x a raw LanceDB add, ``bench/results/growth-*``).
ALL: Key = ()
Read = Callable[[str | None, list[str], int | None], pa.Table]


class _Held:
    """One scope's hashes, a superset of its texts at ``version``."""

    __slots__ = ("extra", "known_ns", "scope", "sorted", "version")

    def __init__(
        self, scope: Key, version: int, keys: npt.NDArray[np.uint64], known_ns: int
    ) -> None:
        self.scope = scope
        self.version = version
        self.sorted = np.sort(keys)
        self.extra: set[int] = set()
        self.known_ns = known_ns  # wall clock before it was read: rebases read from here

    def __len__(self) -> int:
        return len(self.sorted) + len(self.extra)

    def has(self, key: int) -> bool:
        if key in self.extra:
            return True
        i = int(np.searchsorted(self.sorted, np.uint64(key)))
        return i < len(self.sorted) and int(self.sorted[i]) == key


def _by_scope(rows: pa.Table) -> dict[Key, list[int]]:
    """Hashes of ``rows`` grouped by scope (rows need ``hash`` and the scope columns)."""
    cols = [rows.column(c).to_pylist() for c in SCOPE_COLUMNS]
    keys = column_keys(rows.column("hash"))
    out: dict[Key, list[int]] = {}
    if len(keys) != rows.num_rows:  # a malformed hash: let the rows go one by one
        for i, h in enumerate(rows.column("hash").to_pylist()):
            for k in as_keys([h]).tolist():
                out.setdefault(tuple(c[i] for c in cols), []).append(int(k))
        return out
    for i, k in enumerate(keys.tolist()):
        out.setdefault(tuple(c[i] for c in cols), []).append(int(k))
    out[ALL] = [int(k) for k in keys.tolist()]
    return out


class SeenHashes:
    """Per-scope hash sets valid at the table's latest version (see the module docstring).

    ``versions_dir`` is the local table's ``_versions`` folder (None: object store, never
    answers); ``latest`` lists the table's newest version; ``read(where, columns, limit)``
    is the store's plain scan.
    """

    def __init__(
        self,
        versions_dir: str | None,
        latest: Callable[[], int],
        read: Read,
        kept: Callable[[int, int], list[int]] | None = None,
    ) -> None:
        self._dir = versions_dir
        self._latest = latest
        self._read = read
        self._kept = kept
        self._lock = threading.Lock()
        self._held: OrderedDict[Key, _Held] = OrderedDict()
        self._keys = 0
        self._too_big: dict[Key, float] = {}
        self._own: dict[int, dict[Key, list[int]]] = {}  # version -> hashes written, by scope
        self._top: int | None = None  # newest version known to exist
        self._confirmed = -math.inf  # when ``_top`` was last known to be the latest
        self._namer: Callable[[int], str] | None = None
        self._prune_at = 64
        self._gap = False
        self._appending = 0  # this process's appends between their commit and ``committed``

    def committed(self, version: int, rows: pa.Table | None = None) -> None:
        """Note a commit of this process: its ``version``, the ``rows`` it wrote (None: no text)."""
        added = _by_scope(rows) if rows is not None and rows.num_rows else {}
        with self._lock:
            self._own[version] = added
            if self._top is not None and version > self._top + 1:
                self._gap = True  # a version in between is not known to be this process's
            if self._top is None or version > self._top:
                self._top = version
                self._confirmed = time.monotonic()
            self._prune()

    @contextmanager
    def appending(self) -> Iterator[None]:
        """Around an append of this process, from before its commit until ``committed``.

        Meanwhile a newer version on disk is most likely that append's, whose rows the caller
        of :meth:`may_hold` knows (queued adds: ``storage.add_log``), so it is not read back
        (a rebase, ~27 ms). Another process's rows committed in that window are taken in at
        the next check after it; across processes the duplicate check was never atomic.
        """
        with self._lock:
            self._appending += 1
        try:
            yield
        finally:
            with self._lock:
                self._appending -= 1

    def clear(self) -> None:
        """Forget every scope (the tables were emptied)."""
        with self._lock:
            self._held.clear()
            self._keys = 0
            self._own.clear()
            self._top = None

    def may_hold(self, scope: Key, hashes: Sequence[str], where: str) -> set[str] | None:
        """Those of ``hashes`` the scope may hold now, or None when that cannot be told cheaply.

        ``where`` selects exactly the scope's rows (its four ids). Call it under the store's
        write lock: the answer holds until this process's next commit.
        """
        if self._dir is None or not hashes:
            return None if hashes else set()
        top = self._settle()
        if top is None:
            return None
        held = self._current(scope, top)
        if held is None:
            held = self._whole(top)
        if held is None:
            held = self._load(scope, where, top)
            if held is None:
                return None
        keys = as_keys(hashes).tolist()
        if len(keys) != len(hashes):
            return None
        return {h for h, k in zip(hashes, keys, strict=True) if held.has(int(k))}

    # -- internals ----------------------------------------------------------------------------

    def _settle(self) -> int | None:
        """The latest version, with every held scope brought to it; None if it is unknown."""
        with self._lock:
            top, confirmed, gap = self._top, self._confirmed, self._gap
            if self._appending and top is not None and not gap:
                return top
        if gap or top is None or time.monotonic() - confirmed >= FULL_REFRESH_S:
            latest = int(self._latest())
            if gap or top is None or latest != top:
                return self._rebase(latest)
            with self._lock:
                self._confirmed = time.monotonic()
            return top
        namer = self._learn(top)
        if namer is None:
            return None
        assert self._dir is not None
        if os.path.exists(os.path.join(self._dir, namer(top + 1))):
            return self._rebase(int(self._latest()))
        return top

    def _learn(self, version: int) -> Callable[[int], str] | None:
        if self._namer is None:
            assert self._dir is not None
            for name in MANIFEST_NAMES:
                if os.path.exists(os.path.join(self._dir, name(version))):
                    self._namer = name
                    break
        return self._namer

    def _rebase(self, latest: int) -> int:
        """Bring every held scope to ``latest`` with the rows stamped since they were read."""
        now_ns = time.time_ns()
        with self._lock:
            held = list(self._held.values())
            self._gap = False
        if held and self._log_kept(min(h.version for h in held), latest):
            with self._lock:  # only this process's commits and same-row versions: replay
                for h in list(self._held.values()):
                    if not self._replay(h, latest):
                        self._drop(h.scope)
                self._top = latest if self._top is None else max(self._top, latest)
                self._confirmed = time.monotonic()
                return self._top
        added: dict[Key, list[int]] = {}
        if held:
            since = min(h.known_ns for h in held) - GRACE_NS
            cols = ["hash", *SCOPE_COLUMNS]
            rows = self._read(f"{SEQ} > {since}", cols, MAX_DELTA + 1)
            if rows.num_rows > MAX_DELTA:  # a bulk load: re-reading each scope costs less
                held = []
                with self._lock:
                    self._held.clear()
                    self._keys = 0
            added = _by_scope(rows) if held else {}
        with self._lock:
            for h in held:
                self._grow(h, added.get(h.scope, ()))
                h.version = latest
                h.known_ns = now_ns  # every row stamped before it, less the grace, is in
            self._own = {v: a for v, a in self._own.items() if v > latest}
            if self._top is None or latest >= self._top:
                self._top = latest
            self._confirmed = time.monotonic()
            return self._top

    def _log_kept(self, after: int, upto: int) -> bool:
        """Whether every version in (``after``, ``upto``] is logged, once same-row ones are.

        Why: a compaction or an index build (this process's, seen before it returns, or
        another's) changes no rows, yet its versions sent every held scope to the ``seq``
        query, which within the grace of a bulk load returns the load: past
        :data:`MAX_DELTA` rows all were dropped, and the next add re-read the whole table's
        hashes. At 1M memories right after a bulk load that was every 16th single add, at
        200-500 ms (``bench/results/rss-round6.json``). ``kept`` reads the versions'
        transactions (``compaction.same_rows``); those that kept the rows are logged as
        writing nothing.
        """
        with self._lock:
            unknown = [v for v in range(after + 1, upto + 1) if v not in self._own]
        if not unknown:
            return True
        if self._kept is None or len(unknown) > _MAX_LEARN or upto - after > _MAX_REPLAY:
            return False
        runs: list[list[int]] = []
        for v in unknown:
            if runs and runs[-1][-1] == v - 1:
                runs[-1].append(v)
            else:
                runs.append([v])
        for run in runs:
            if len(self._kept(run[0] - 1, run[-1])) < len(run):
                return False
        with self._lock:
            for v in unknown:
                self._own.setdefault(v, {})
        return True

    def _grow(self, held: _Held, keys: Iterable[int]) -> None:
        before = len(held.extra)
        held.extra.update(keys)
        if held.scope in self._held:
            self._keys += len(held.extra) - before

    def _replay(self, held: _Held, top: int) -> bool:
        """Apply this process's commits after the scope's version; False if one is unknown."""
        if top - held.version > _MAX_REPLAY:
            return False
        for v in range(held.version + 1, top + 1):
            written = self._own.get(v)
            if written is None:
                return False
            self._grow(held, written.get(held.scope, ()))
        held.version = top
        return True

    def _current(self, scope: Key, top: int) -> _Held | None:
        """The held entry of ``scope`` brought to ``top``, or None (not held, or stale)."""
        with self._lock:
            held = self._held.get(scope)
            if held is not None:
                self._held.move_to_end(scope)
                if not self._replay(held, top):
                    self._drop(scope)
                    held = None
        return held

    def _whole(self, top: int) -> _Held | None:
        """The whole table's hashes, held (read once), or None when over :data:`MAX_KEYS`."""
        held = self._current(ALL, top)
        return held if held is not None else self._load(ALL, None, top, MAX_KEYS)

    def _load(
        self, scope: Key, where: str | None, top: int, limit: int = SCOPE_MAX_KEYS
    ) -> _Held | None:
        """Read the scope's hashes (one scan) and hold them, unless it is too big."""
        counted = self._too_big.get(scope)
        if counted is not None and time.monotonic() - counted < _RECOUNT_S:
            return None
        known_ns = time.time_ns()
        rows = self._read(where, ["hash"], limit + 1)
        if rows.num_rows > limit:
            self._too_big[scope] = time.monotonic()
            return None
        held = _Held(scope, top, column_keys(rows.column("hash")), known_ns)
        with self._lock:
            if not self._replay(held, self._top if self._top is not None else top):
                return None
            self._drop(scope)
            self._held[scope] = held
            self._keys += len(held)
            while self._keys > MAX_KEYS and len(self._held) > 1:
                self._drop(next(iter(self._held)))
            self._prune()
        return held

    def _drop(self, scope: Key) -> None:
        old = self._held.pop(scope, None)
        if old is not None:
            self._keys -= len(old)

    def _prune(self) -> None:
        """Forget logged commits every held scope has replayed (amortised: when it doubled)."""
        if len(self._own) <= self._prune_at:
            return
        top = self._top or 0
        for scope in [s for s, h in self._held.items() if top - h.version > _MAX_REPLAY]:
            self._drop(scope)
        oldest = min((h.version for h in self._held.values()), default=top)
        self._own = {v: a for v, a in self._own.items() if v > oldest}
        self._prune_at = 2 * len(self._own) + 64

    @property
    def scopes(self) -> int:
        """Scopes held now."""
        return len(self._held)

    def held(self, scope: Key) -> Any:
        """The scope's entry (tests look at it), or None."""
        return self._held.get(scope)
