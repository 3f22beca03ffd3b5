"""LOCOMO dev recall of the product ranker on both search paths: scopes in RAM, and cold.

``python -m bench.locomo_paths [--name NAME]`` builds the LOCOMO store once (int8 MiniLM, one
add per session) and evaluates every question twice: with the default config (each scope is
read into RAM and searched there) and with the scope cache emptied and off, so every search
takes the cold LanceDB path (``core/storage/search.py``). Why: a change to either path must
keep recall (issue 21: within 0.5 of the previous round's recall@10).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .common import machine
from .locomo import KS, build_store, evaluate, locomo_path, product_ranker, questions, report

RESULTS = Path(__file__).resolve().parent / "results"


def run() -> dict[str, Any]:
    """Recall@k on both paths, with the commit measured."""
    samples = json.loads(locomo_path().read_text())
    qs = questions(samples)
    out: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench-locomo-paths-") as tmp:
        store = build_store(samples, str(Path(tmp) / "store"))
        present = sorted(store.users)
        for mode in ("default", "cold"):
            if mode == "cold":
                store.memory.store.scopes.max_rows = 0
                store.memory.store.scopes.clear()
            rec, _ = evaluate(store, qs, product_ranker)
            scores = report(rec, present, present, [])["all"]
            out[mode] = {f"recall@{k}": scores[f"recall@{k}"] for k in KS}
            out[mode]["rows_held"] = store.memory.store.scopes.rows
        store.memory.close()
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    out["code_commit"] = head.stdout.strip()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.locomo_paths", description=__doc__)
    ap.add_argument("--name", default="locomo-paths")
    args = ap.parse_args()
    res = run()
    (RESULTS / f"{args.name}.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
