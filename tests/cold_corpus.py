"""The small corpus the cold-search tests share: varied texts over few words, three users."""

from __future__ import annotations

WORDS = (
    "kayak tent river lake park dog cat shelter marathon coffee café tea kettle garden "
    "guitar piano bread sourdough trip lisbon paint sunrise adoption 2024 42 running"
).split()
QUERIES = ["kayak river", "dog shelter", "marathon running 42", "café coffee trip", "piano"]
USERS = ["u", "v", "w"]


def text(i: int) -> str:
    """The ``i``-th text: 1 to 6 words picked by ``i``, then its number (all distinct)."""
    return " ".join(WORDS[(i * k + k * k) % len(WORDS)] for k in range(1, 2 + i % 6)) + f" n{i}"
