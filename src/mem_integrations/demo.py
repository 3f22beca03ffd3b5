"""The seed scenarios, end to end, narrated: what ``mem-integrations demo`` runs.

It is the shortest honest tour of the API on a real store: preferences, a trip with an
expiration date, searches with thresholds and filters, listing with metadata filters,
categories, keywords and pages, updates that clear an expiration, history, entities, batch
operations, expiry and deletion. Everything lives under one ``app_id`` that is cleared first,
so the demo is repeatable and never touches other memories in the same store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from .core.memory import Memory

__all__ = ["DEMO_APP", "run_demo"]

#: Every demo memory carries this app_id; the demo clears it before it starts.
DEMO_APP = "mem-integrations-demo"

Echo = Callable[[str], None]


def _short(record: Mapping[str, Any]) -> str:
    bits = [f"{record['memory']!r}"]
    if record.get("categories"):
        bits.append(f"categories={record['categories']}")
    if record.get("metadata"):
        bits.append(f"metadata={json.dumps(record['metadata'])}")
    if record.get("expiration_date"):
        bits.append(f"expires={record['expiration_date'][:16]}")
    if "score" in record:
        bits.insert(0, f"[{record['score']:.2f}]")
    return " ".join(bits)


def run_demo(m: Memory, echo: Echo) -> dict[str, int]:
    """Run every seed scenario on ``m``; returns a few counts (the tests check them)."""
    app: dict[str, Any] = {"app_id": DEMO_APP}
    sarah: dict[str, Any] = {"user_id": "sarah", **app}
    alex: dict[str, Any] = {"user_id": "alex", **app}
    now = m.clock.now()

    def step(title: str) -> None:
        echo("")
        echo(f"== {title}")

    def show(records: list[dict[str, Any]]) -> None:
        for r in records:
            echo(f"   - {_short(r)}")
        if not records:
            echo("   (nothing)")

    echo(f"mem_integrations demo on store {m.config.uri!r} (app_id={DEMO_APP!r})")
    cleared = m.delete_all(**app)["deleted"]
    echo(f"cleared {cleared} memories left by an earlier run")

    step("1. Sarah states a preference")
    ev = m.add("User prefers dark mode", **sarah, metadata={"type": "preference"})["results"]
    echo(f"   add -> {ev[0]['event']} {ev[0]['id']}")
    m.add("Sarah is learning Portuguese", **sarah, metadata={"type": "goal"})
    again = m.add("User prefers dark mode", **sarah, metadata={"type": "preference"})
    echo(f"   the same sentence again -> {again['results'][0]['event']} (not stored twice)")

    step("2. Alex plans a trip: messages, a category and a 7-day expiration")
    messages = [
        {"role": "user", "content": "I'm flying to Lisbon for a conference next week"},
        {"role": "assistant", "content": "Great! Want restaurant ideas in Lisbon?"},
        {"role": "user", "content": "I'm vegetarian and allergic to peanuts"},
    ]
    trip = m.add(messages, **alex, run_id="trip-2024", categories=["travel"],
                 expiration_date=(now + timedelta(days=7)).isoformat())["results"]  # fmt: skip
    echo(f"   3 messages -> {len(trip)} memories (assistant turns are not facts about Alex)")
    m.add("Alex likes to play chess on weekends", **alex, categories=["likes", "hobbies"])
    m.add("Alex likes to play the guitar", **alex, categories=["likes", "music"])
    m.add("Alex's sister is called Maya", **alex, categories=["family"])

    step("3. Search: 'What should I cook?' (top 3), then with a relevance threshold")
    show(m.search("What should I cook?", **alex, top_k=3)["results"])
    echo("   'Any dietary restrictions?' with threshold=0.3 keeps only the strong matches:")
    hits = m.search("Any dietary restrictions?", **alex, top_k=5, threshold=0.3)["results"]
    show(hits)

    step("4. Search with filters: only memories in category 'travel' of run trip-2024")
    flt = {"AND": [{"user_id": "alex"}, {"run_id": {"in": ["trip-2024"]}},
                   {"categories": {"contains": "travel"}}]}  # fmt: skip
    show(m.search("Where is Alex going?", **app, filters=flt, top_k=5)["results"])

    step("5. get_all with a metadata filter: Sarah's preferences")
    prefs = m.get_all(**app, filters={"AND": [{"user_id": "sarah"},
                                              {"metadata": {"type": "preference"}}]})  # fmt: skip
    show(prefs["results"])

    step("6. get_all by category and keywords, paginated: Alex 'likes' containing 'to play'")
    page = m.get_all(**alex, categories=["likes"], keywords="to play", page=1, page_size=50)
    echo(f"   page {page['page']}, {page['count']} match(es), next={page['next']}")
    show(page["results"])

    step("7. Update: the Lisbon memory should outlive the trip (expiration cleared)")
    lisbon = trip[0]["id"]
    updated = m.update(lisbon, "Alex travelled to Lisbon for a conference", expiration_date=None)
    echo(f"   expiration_date is now {updated['expiration_date']}")
    echo("   history of that memory:")
    for h in m.history(lisbon):
        echo(f"     {h['event']:<6} {h['old_memory']!r} -> {h['new_memory']!r}")

    step("8. Expiration: a note that expired an hour ago is hidden, then purged")
    m.add("Alex's hotel door code is 4711", **alex, metadata={"type": "session"},
          expiration_date=(now - timedelta(hours=1)).isoformat())  # fmt: skip
    live = m.get_all(**alex)["results"]
    every = m.get_all(**alex, show_expired=True)["results"]
    echo(f"   get_all: {len(live)} live; with show_expired=True: {len(every)}")
    purged = m.purge_expired()["purged"]
    echo(f"   purge_expired() removed {purged} (history keeps an EXPIRE event)")

    step("9. Who has memories? users()")
    for e in m.users()["results"]:
        if e["type"] in ("user", "app"):
            echo(f"   {e['type']:<5} {e['name']:<24} {e['total_memories']} memories")

    step("10. Batch operations: one commit for many memories")
    likes = m.get_all(**alex, categories=["likes"])["results"]
    res = m.batch_update([{"memory_id": r["id"], "text": r["memory"] + " (confirmed)"}
                          for r in likes])  # fmt: skip
    echo(f"   batch_update: {res['message']}")
    family = m.get_all(**alex, categories=["family"])["results"]
    echo(f"   batch_delete: {m.batch_delete([{'memory_id': r['id']} for r in family])['message']}")

    step("11. Delete one memory, then list what is left for Alex")
    m.delete(trip[-1]["id"])
    left = m.get_all(**alex)["results"]
    show(left)

    echo("")
    echo("Done. Explore the same store from the shell, e.g.:")
    echo(f"  mem-integrations list --app-id {DEMO_APP} --plain")
    echo(f"  mem-integrations search 'dark mode' --user-id sarah --app-id {DEMO_APP} --plain")
    return {"cleared": cleared, "hits": len(hits), "purged": purged, "left": len(left)}
