"""The offline default add keeps facts and drops chatter, visibly; Direct Import keeps all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mem_integrations import Memory
from mem_integrations.core.write.chatter import chatter_reason

LABELS = Path(__file__).resolve().parents[1] / "bench" / "data" / "chatter-labels.jsonl"

CHATTER = {
    "What is my dog's name?": "question",
    "what tea": "question",
    "Hi there!": "greeting",
    "Thanks, that means a lot!": "thanks",
    "Ok, got it.": "acknowledgement",
    "Wow, that's awesome! Keep it up!": "acknowledgement",
    " ;) ": "empty",
}
FACTS = [
    "I live in Porto and I work night shifts as a nurse.",
    "Alex likes tennis",  # a third-person note, as most callers write them
    "Is vegetarian",
    "Thanks, I moved to Berlin last week.",
    "Can I come over? I'm allergic to cats.",
    "Wow! That skyline looks amazing - I've been wanting to visit NYC. How was it?",
]


@pytest.mark.parametrize(("text", "kind"), sorted(CHATTER.items()))
def test_chatter_is_named(text: str, kind: str) -> None:
    assert chatter_reason(text) == kind


@pytest.mark.parametrize("text", FACTS)
def test_what_can_hold_a_fact_is_kept(text: str) -> None:
    assert chatter_reason(text) is None


def test_no_labelled_cookbook_fact_is_dropped() -> None:
    rows = [json.loads(line) for line in LABELS.read_text().splitlines()]
    ours = [r for r in rows if "text" in r]
    assert len(ours) >= 20
    dropped_facts = [r["text"] for r in ours if r["fact"] and chatter_reason(r["text"])]
    kept_chatter = [r["text"] for r in ours if not r["fact"] and not chatter_reason(r["text"])]
    assert dropped_facts == []
    assert kept_chatter == ["Delete all of my food preferences."]  # a command: kept, harmless


def test_default_add_drops_chatter_with_a_none_event(memory: Memory) -> None:
    out = memory.add(
        [{"role": "user", "content": t} for t in ["Hi!", "I adopted a beagle called Biscuit.",
                                                   "What was my dog's name again?"]],
        user_id="alice",
    )  # fmt: skip
    assert out["results"][0]["event"] == "ADD"
    assert [(e["memory"], e["event"], e["id"], e["reason"]) for e in out["results"][1:]] == [
        ("Hi!", "NONE", None, "not a fact: greeting"),
        ("What was my dog's name again?", "NONE", None, "not a fact: question"),
    ]
    stored = [r["memory"] for r in memory.get_all(user_id="alice")["results"]]
    assert stored == ["I adopted a beagle called Biscuit."]
    assert memory.history(out["results"][0]["id"])[0]["event"] == "ADD"


def test_direct_import_stores_every_turn(memory: Memory) -> None:
    out = memory.add(["Thanks!", "What tea?"], user_id="bob", infer=False)
    assert [e["event"] for e in out["results"]] == ["ADD", "ADD"]
    assert all("reason" not in e for e in out["results"])
    assert len(memory.get_all(user_id="bob")["results"]) == 2
