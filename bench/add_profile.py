"""Where a single add's time goes: ``python -m bench.add_profile N NAME``.

N single adds (50 users, ``infer=False``, the HashEmbedder at 384 dimensions), ours and a
raw LanceDB add (``bench.rawlance``) in turn, our adds under cProfile. Writes
``bench/results/NAME.txt``: both p50s and their ratio, then the profile's top entries by
cumulative time. Run it against another checkout's ``src`` (``PYTHONPATH``) to see the
same profile before a change.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mem_integrations import Memory, MemoryConfig

from .common import machine, synthetic_texts
from .rawlance import RawLance, embedder

RESULTS = Path(__file__).resolve().parent / "results"


def profile(n: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-add-profile-") as tmp:
        m = Memory(MemoryConfig(uri=f"{tmp}/ours", embedder=embedder()))
        raw = RawLance(f"{tmp}/raw")
        emb = embedder()
        prof = cProfile.Profile()
        ours: list[float] = []
        theirs: list[float] = []
        for i, text in enumerate(synthetic_texts(n, seed=11, start=60_000_000)):
            user = f"user-{i % 50:03d}"
            t0 = time.perf_counter()
            prof.enable()
            m.add(text, user_id=user, infer=False)
            prof.disable()
            t1 = time.perf_counter()
            raw.add(text, emb.embed_documents([text])[0], user)
            ours.append(t1 - t0)
            theirs.append(time.perf_counter() - t1)
        m.close()
        raw.close()
    o, r = statistics.median(ours[2:]) * 1000, statistics.median(theirs[2:]) * 1000
    out = io.StringIO()
    out.write(f"machine: {machine()}\n{n} single adds: ours p50 {o:.2f} ms, raw p50 {r:.2f} ms")
    out.write(f", ratio {o / r:.2f}\n\n")
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def main() -> None:
    n, name = int(sys.argv[1]), sys.argv[2]
    text = profile(n)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.txt").write_text(text)
    print(text.split("\n\n")[0])


if __name__ == "__main__":
    main()
