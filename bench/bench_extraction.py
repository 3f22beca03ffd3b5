"""LLM calls and tokens per ``add`` with extraction on: our single-call pipeline vs two-step.

Mem0 OSS makes 1 LLM call per add (its default extraction only ever adds); the classic Mem0
pipeline makes 2 (extract facts, then reconcile ADD / UPDATE / DELETE / NONE against similar
memories). This project reconciles in one call by default (``mode="single"``) and keeps the
classic shape as ``mode="two_step"``. Both run here side by side on the same scripted
conversation (36 adds of 2-4 turns: new facts, refinements, contradictions, a repeated fact,
a "delete all of my food preferences"), each against its own fresh store, with a ScriptedLLM
that gives the same decisions in both modes. What is measured is what our prompts cost:

- calls per add, prompt and completion tokens per add (cl100k_base through tiktoken when its
  vocabulary is available offline, e.g. from llama-index-core's bundled cache, else ~4
  characters per token; chat-format overhead of a few tokens per message is not counted);
- existing memories shown per add (retrieval is capped, so the prompt stops growing);
- wall time per add outside the LLM (retrieval + writes), vs ``infer=False``.

Run: ``python bench/bench_extraction.py [--repeat 3] [--embedder hash|minilm]``; prints JSON.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.messages import Message
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM


def _token_counter() -> tuple[str, Callable[[str], int]]:
    if importlib.util.find_spec("tiktoken") is not None:
        spec = importlib.util.find_spec("llama_index.core")
        if spec is not None and spec.origin and "TIKTOKEN_CACHE_DIR" not in os.environ:
            cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
        try:
            import tiktoken

            enc = tiktoken.get_encoding("cl100k_base")
            return "tiktoken cl100k_base", lambda text: len(enc.encode(text))
        except Exception:  # no vocabulary offline: fall back to the estimate
            pass
    return "len/4 estimate", lambda text: -(-len(text) // 4)


@dataclass(frozen=True)
class Session:
    turns: list[tuple[str, str]]
    #: ("ADD", text, cats) | ("UPDATE", old, new, cats) | ("DELETE", old) | ("NONE", old)
    actions: list[tuple[Any, ...]]


def scenario() -> list[Session]:
    """36 adds about one user; later sessions refine, contradict or repeat earlier ones."""
    base = [
        Session(
            [
                ("user", "Hi! I'm Maya, I live in Lisbon and work as a data engineer at a bank."),
                ("assistant", "Nice to meet you, Maya! How can I help today?"),
                ("user", "I want to plan meals for the week. I love grilled chicken and rice."),
            ],
            [
                ("ADD", "Name is Maya", ["personal_details"]),
                ("ADD", "Lives in Lisbon", ["personal_details"]),
                ("ADD", "Works as a data engineer at a bank", ["professional_details"]),
                ("ADD", "Loves grilled chicken and rice", ["food"]),
            ],
        ),
        Session(
            [
                ("user", "I run 10k every Sunday morning along the river, it keeps me sane."),
                ("assistant", "That's a great habit. Do you follow a training plan?"),
            ],
            [("ADD", "Runs 10k every Sunday morning", ["sports"])],
        ),
        Session(
            [
                ("user", "My daughter Inês turns six in May, we're thinking of a small party."),
                ("assistant", "How lovely! Do you want ideas for the party?"),
                ("user", "Yes, something with dinosaurs, she is obsessed with them."),
            ],
            [
                ("ADD", "Has a daughter named Inês who turns six in May", ["family"]),
                ("ADD", "Daughter Inês loves dinosaurs", ["family"]),
            ],
        ),
        Session(
            [
                ("user", "I turned vegetarian last month, so no more chicken for me."),
                ("assistant", "Got it, I'll suggest vegetarian meals from now on."),
            ],
            [
                (
                    "UPDATE",
                    "Loves grilled chicken and rice",
                    "Is vegetarian since last month",
                    ["food", "health"],
                )
            ],
        ),
        Session(
            [
                ("user", "We are flying to Tokyo in October for two weeks, first time in Japan."),
                ("assistant", "Exciting! Do you want an itinerary?"),
                ("user", "Later. I prefer trains over domestic flights when travelling."),
            ],
            [
                ("ADD", "Travelling to Tokyo in October for two weeks", ["travel", "milestones"]),
                ("ADD", "Prefers trains over domestic flights", ["travel", "user_preferences"]),
            ],
        ),
        Session(
            [
                ("user", "Please keep your answers short, bullet points are best for me."),
                ("assistant", "Understood."),
            ],
            [("ADD", "Prefers short answers in bullet points", ["user_preferences"])],
        ),
        Session(
            [
                ("user", "Quick reminder: I live in Lisbon, in case you forgot."),
                ("assistant", "I remember, thanks!"),
            ],
            [("NONE", "Lives in Lisbon")],
        ),
        Session(
            [
                ("user", "Big news, I got promoted to lead data engineer!"),
                ("assistant", "Congratulations, Maya!"),
            ],
            [
                (
                    "UPDATE",
                    "Works as a data engineer at a bank",
                    "Works as lead data engineer at a bank",
                    ["professional_details", "milestones"],
                )
            ],
        ),
        Session(
            [
                ("user", "I've been learning the cello for a year, Bach suites mostly."),
                ("assistant", "Beautiful instrument. Which suite are you on?"),
                ("user", "The first one, the prelude is still hard."),
            ],
            [
                (
                    "ADD",
                    "Has been learning the cello for a year, mostly Bach suites",
                    ["music", "hobbies"],
                )
            ],
        ),
        Session(
            [
                ("user", "I'm allergic to peanuts, please never suggest them."),
                ("assistant", "Noted, no peanuts."),
            ],
            [("ADD", "Is allergic to peanuts", ["health", "food"])],
        ),
        Session(
            [
                ("user", "Delete all of my food preferences, I want to start fresh."),
                ("assistant", "Done, I've forgotten them."),
            ],
            [("DELETE", "Is vegetarian since last month"), ("DELETE", "Is allergic to peanuts")],
        ),
        Session(
            [
                ("user", "We moved to Porto last weekend, the new flat is near the river."),
                ("assistant", "Welcome to Porto! Settling in well?"),
            ],
            [
                (
                    "UPDATE",
                    "Lives in Lisbon",
                    "Moved to Porto, lives near the river",
                    ["personal_details", "milestones"],
                )
            ],
        ),
    ]
    sessions = list(base)
    # Two more rounds of new facts so the store keeps growing past the retrieval cap.
    for round_ in (1, 2):
        for i, s in enumerate(base):
            facts = [a for a in s.actions if a[0] == "ADD"] or [("ADD", "", ["misc"])]
            topic = facts[0][1] or "a new topic"
            text = f"Round {round_}: mentioned again {topic.lower()} (note {i})"
            sessions.append(
                Session(
                    [
                        ("user", f"Another thing about me: {topic.lower()}, variant {round_}-{i}."),
                        ("assistant", "Thanks for sharing!"),
                    ],
                    [("ADD", text, list(facts[0][2]))],
                )
            )
    return sessions  # fmt: skip


def _actions(session: Session, messages: list[Message]) -> dict[str, Any]:
    ids = ScriptedLLM.memory_ids(messages)
    out: list[dict[str, Any]] = []
    for act in session.actions:
        if act[0] == "ADD":
            out.append({"event": "ADD", "text": act[1], "categories": act[2]})
        elif act[1] not in ids:  # retrieval did not surface it: the model can only add
            if act[0] == "UPDATE":
                out.append({"event": "ADD", "text": act[2], "categories": act[3]})
        elif act[0] == "UPDATE":
            out.append({"event": "UPDATE", "id": ids[act[1]], "text": act[2],
                        "categories": act[3]})  # fmt: skip
        else:
            out.append({"event": act[0], "id": ids[act[1]]})
    return {"actions": out}


def _facts(session: Session) -> dict[str, Any]:
    facts = []
    for act in session.actions:
        if act[0] == "ADD":
            facts.append(act[1])
        elif act[0] == "UPDATE":
            facts.append(act[2])
        elif act[0] == "NONE":
            facts.append(act[1])
    if any(a[0] == "DELETE" for a in session.actions) and not facts:
        facts.append("Asked to forget all food preferences")
    return {"facts": facts}


def _memory(mode: str, uri: str, llm: ScriptedLLM | None, embedder: Any) -> Memory:
    extra = {"extraction_mode": mode}
    return Memory(MemoryConfig(uri=uri, embedder=embedder, llm=llm, clock=FrozenClock(), **extra))


def run(mode: str, embedder: Any, count: Callable[[str], int]) -> dict[str, Any]:
    sessions = scenario()
    llm = ScriptedLLM() if mode != "verbatim" else None
    with tempfile.TemporaryDirectory() as tmp:
        mem = _memory(mode if llm else "single", tmp, llm, embedder)
        shown: list[int] = []
        walls: list[float] = []
        for s in sessions:
            if llm is not None:
                answer = functools.partial(lambda s, schema, msgs: _actions(s, msgs), s)
                llm.push(*([_facts(s)] if mode == "two_step" else []), answer)
            msgs = [{"role": r, "content": c} for r, c in s.turns]
            before = len(llm.calls) if llm else 0
            t0 = time.perf_counter()
            mem.add(msgs, user_id="maya", infer=llm is not None)
            walls.append(time.perf_counter() - t0)
            if llm is not None:
                shown.append(max(len(ScriptedLLM.memory_ids(c.messages)) for c in
                                 llm.calls[before:]))  # fmt: skip
        stored = len(mem.get_all(user_id="maya", limit=1000)["results"])
        mem.close()
    out: dict[str, Any] = {
        "adds": len(sessions),
        "stored_memories": stored,
        "ms_per_add_outside_llm": round(1000 * statistics.median(walls), 2),
    }
    if llm is None:
        return out
    prompt = [sum(count(m.content) for m in c.messages) for c in llm.calls]
    completion = [
        count(json.dumps(c.answer, ensure_ascii=False) if not isinstance(c.answer, str)
              else c.answer)
        for c in llm.calls
    ]  # fmt: skip
    n = len(sessions)
    out.update({
        "llm_calls": len(llm.calls),
        "calls_per_add": round(len(llm.calls) / n, 2),
        "prompt_tokens_per_add": round(sum(prompt) / n),
        "completion_tokens_per_add": round(sum(completion) / n),
        "tokens_per_add": round((sum(prompt) + sum(completion)) / n),
        "first_add_tokens": prompt[0] + completion[0] + (
            prompt[1] + completion[1] if mode == "two_step" else 0),
        "memories_shown_per_add": {"mean": round(statistics.mean(shown), 1), "max": max(shown)},
    })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (median wall time)")
    parser.add_argument("--embedder", choices=["hash", "minilm"], default="hash")
    args = parser.parse_args()
    if args.embedder == "minilm":
        from mem_integrations.core.embeddings import default_embedder

        embedder: Any = default_embedder()
    else:
        embedder = HashEmbedder(dim=384)
    tokenizer, count = _token_counter()
    results: dict[str, Any] = {}
    for mode in ("single", "two_step", "verbatim"):
        runs = [run(mode, embedder, count) for _ in range(args.repeat)]
        best = runs[0]
        best["ms_per_add_outside_llm"] = statistics.median(
            r["ms_per_add_outside_llm"] for r in runs
        )
        results[mode] = best
    single, two = results["single"], results["two_step"]
    print(json.dumps({
        "benchmark": "llm extraction cost per add",
        "tokenizer": tokenizer,
        "embedder": getattr(embedder, "model_id", "?"),
        "reference_calls_per_add": {"mem0_oss_add_only": 1, "mem0_classic_two_step": 2},
        "results": results,
        "two_step_over_single": {
            "calls": round(two["calls_per_add"] / single["calls_per_add"], 2),
            "tokens": round(two["tokens_per_add"] / single["tokens_per_add"], 2),
            "ms_outside_llm": round(
                two["ms_per_add_outside_llm"] / single["ms_per_add_outside_llm"], 2),
        },
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
