"""Draw the decay curve for docs/concepts/decay.md: ``python docs/scripts/plot_decay.py``.

Every point comes from ``mem_integrations.core.decay.decay_factor``: the figure is the code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mem_integrations.core.decay import DecaySettings, decay_factor  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "assets" / "decay_curve.png"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def curve(days: np.ndarray, touches: int = 1, **settings: object) -> list[float]:
    """Factor when the latest of ``touches`` daily accesses was ``d`` days ago."""
    s = DecaySettings(**settings)  # type: ignore[arg-type]
    out = []
    for d in days:
        times = [NOW - timedelta(days=float(d) + k) for k in range(touches)]
        out.append(decay_factor(times, None, NOW, categories=["c"], settings=s))
    return out


def main() -> None:
    """Write the PNG next to the docs that embed it."""
    days = np.logspace(np.log10(1 / 96), np.log10(730), 400)  # 15 minutes .. 2 years
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    ax.axhspan(0.0, 0.3, color="0.92")
    ax.axhspan(1.5, 1.7, color="0.92")
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.plot(days, curve(days), lw=2.2, label="accessed once (defaults: half-life 3 days)")
    ax.plot(days, curve(days, touches=20), lw=1.6, label="accessed daily 20 times, then idle")
    ax.plot(
        days, curve(days, category_weights={"c": 0.25}), lw=1.6, ls="--",
        label='category weight 0.25 (e.g. {"health": 0.25})',
    )  # fmt: skip
    ax.plot(
        days, curve(days, half_life=timedelta(days=1)), lw=1.2, ls="-.",
        label="half_life = 1 day",
    )  # fmt: skip
    marks = {"1 day": 1, "1 week": 7, "4 weeks": 28, "1 year": 365}
    for name, d in marks.items():
        y = curve(np.array([d]))[0]
        ax.plot([d], [y], "o", color="C0")
        ax.annotate(f"{name}: {y:.2f}x", (d, y), textcoords="offset points", xytext=(6, 6))
    ax.set_xscale("log")
    ax.set_xlim(days[0], days[-1])
    ax.set_ylim(0.0, 1.7)
    ax.set_xticks([1 / 24, 1, 7, 28, 365])
    ax.set_xticklabels(["1 h", "1 d", "1 w", "4 w", "1 y"])
    ax.set_xlabel("idle time since the last access (log scale)")
    ax.set_ylabel("factor multiplying relevance")
    ax.set_title("Recency decay: factor in [0.3, 1.5]; score = clamp(relevance x factor, 0, 1)")
    ax.text(days[1], 0.15, "floor 0.3: never lower", fontsize=8, color="0.35")
    ax.text(days[1], 1.58, "ceiling 1.5: never higher", fontsize=8, color="0.35")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 0.2), fontsize=8, frameon=False)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
