"""LLM extraction and reconciliation through the core protocol, with a scripted LLM.

Given a real LanceDB store in tmp_path and a ScriptedLLM, when ``add`` runs with ``infer=True``,
then the scripted decisions are applied (or refused) exactly as the safety rules say.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import (
    AsyncMemory,
    ExtractionError,
    Memory,
    MemoryConfig,
    Scope,
    ValidationError,
)
from mem_integrations.core.extraction import plan_with_llm
from mem_integrations.core.extraction import prompts as P
from mem_integrations.core.messages import Message
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM

Answer = Callable[[Any, list[Message]], Any]


def store(tmp_path: Path, clock: FrozenClock, llm: ScriptedLLM, **config: Any) -> Memory:
    return Memory(
        MemoryConfig(
            uri=str(tmp_path / "store"), embedder=HashEmbedder(), clock=clock, llm=llm, **config
        )
    )


@pytest.fixture
def llm() -> ScriptedLLM:
    return ScriptedLLM()


@pytest.fixture
def mem(tmp_path: Path, clock: FrozenClock, llm: ScriptedLLM) -> Iterator[Memory]:
    m = store(tmp_path, clock, llm)
    yield m
    m.close()


def add(*facts: str, categories: Sequence[str] = ()) -> dict[str, Any]:
    return {"actions": [{"event": "ADD", "text": f, "categories": list(categories)} for f in facts]}


def on(event: str, old_text: str, text: str | None = None, **extra: Any) -> Answer:
    """An answer that names an existing memory by its text, through the prompt's local ids."""

    def answer(schema: Any, messages: list[Message]) -> dict[str, Any]:
        ids = ScriptedLLM.memory_ids(messages)
        action = {"event": event, "id": ids[old_text], **extra}
        if text is not None:
            action["text"] = text
        return {"actions": [action]}

    return answer


def seed(mem: Memory, llm: ScriptedLLM, *facts: str, user_id: str = "alice") -> list[str]:
    llm.push(add(*facts))
    out = mem.add(" and ".join(facts), user_id=user_id)
    return [e["id"] for e in out["results"]]


def texts(mem: Memory, **scope: str) -> list[str]:
    return sorted(r["memory"] for r in mem.get_all(**scope)["results"])


# -- the four events -------------------------------------------------------------------------


def test_add_stores_facts_with_allowed_categories_in_one_call(
    mem: Memory, llm: ScriptedLLM
) -> None:
    llm.push(add("Loves chicken", categories=["Food", "made_up"]))
    out = mem.add(
        [{"role": "user", "content": "I love chicken", "name": "al"},
         {"role": "assistant", "content": "Noted!"}],
        user_id="alice",
    )  # fmt: skip
    assert [(e["event"], e["memory"]) for e in out["results"]] == [("ADD", "Loves chicken")]
    rec = mem.get(out["results"][0]["id"])
    assert rec["categories"] == ["food"]
    assert (rec["role"], rec["actor_id"], rec["user_id"]) == ("user", "al", "alice")
    assert llm.usage.calls == 1
    system, user = llm.calls[0].messages
    assert system.role == "system" and "- food:" in system.content
    assert "user (al): I love chicken" in user.content
    assert "assistant: Noted!" in user.content


def test_update_rewrites_the_memory_and_history_keeps_the_old_text(
    mem: Memory, llm: ScriptedLLM
) -> None:
    [mid] = seed(mem, llm, "Loves chicken")
    llm.push(on("UPDATE", "Loves chicken", "Is vegetarian", categories=["health"]))
    out = mem.add("I turned vegetarian now", user_id="alice")
    assert out["results"] == [{
        "id": mid, "memory": "Is vegetarian", "event": "UPDATE",
        "previous_memory": "Loves chicken",
    }]  # fmt: skip
    assert texts(mem, user_id="alice") == ["Is vegetarian"]
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in mem.history(mid)] == [
        ("ADD", None, "Loves chicken"),
        ("UPDATE", "Loves chicken", "Is vegetarian"),
    ]
    assert mem.get(mid)["categories"] == ["health"]
    assert mem.search("vegetarian", user_id="alice")["results"][0]["id"] == mid


def test_delete_removes_a_contradicted_memory_and_adds_the_new_fact(
    mem: Memory, llm: ScriptedLLM
) -> None:
    [mid] = seed(mem, llm, "Loves chicken")

    def answer(schema: Any, messages: list[Message]) -> dict[str, Any]:
        ids = ScriptedLLM.memory_ids(messages)
        return {
            "actions": [
                {"event": "DELETE", "id": ids["Loves chicken"]},
                {"event": "ADD", "text": "Is vegetarian", "categories": ["food"]},
            ]
        }

    llm.push(answer)
    out = mem.add("I turned vegetarian now", user_id="alice")
    assert sorted((e["event"], e["memory"]) for e in out["results"]) == [
        ("ADD", "Is vegetarian"), ("DELETE", "Loves chicken"),
    ]  # fmt: skip
    assert texts(mem, user_id="alice") == ["Is vegetarian"]
    assert mem.history(mid)[-1]["event"] == "DELETE"


def test_none_reports_the_known_memory_and_writes_nothing(
    mem: Memory, llm: ScriptedLLM, clock: FrozenClock
) -> None:
    [mid] = seed(mem, llm, "Loves chicken")
    before = mem.get(mid)
    clock.advance(hours=1)
    llm.push(on("NONE", "Loves chicken"))
    out = mem.add("Did I tell you I love chicken?", user_id="alice")
    assert out["results"] == [{"id": mid, "memory": "Loves chicken", "event": "NONE"}]
    assert mem.get(mid) == before
    assert len(mem.history(mid)) == 1


def test_an_update_that_changes_nothing_is_none(mem: Memory, llm: ScriptedLLM) -> None:
    [mid] = seed(mem, llm, "Loves chicken")
    llm.push(on("UPDATE", "Loves chicken", "Loves chicken"))
    out = mem.add("I love chicken", user_id="alice")
    assert out["results"] == [{"id": mid, "memory": "Loves chicken", "event": "NONE"}]
    assert len(mem.history(mid)) == 1


def test_an_add_of_a_stored_text_is_none(mem: Memory, llm: ScriptedLLM) -> None:
    [mid] = seed(mem, llm, "Loves chicken")
    llm.push(add("Loves chicken"))
    assert mem.add("I love chicken", user_id="alice")["results"] == [
        {"id": mid, "memory": "Loves chicken", "event": "NONE"}
    ]


def test_natural_language_delete_removes_the_matching_memories(
    mem: Memory, llm: ScriptedLLM
) -> None:
    seed(mem, llm, "Loves chicken", "Dislikes olives", "Works as a nurse")

    def forget_food(schema: Any, messages: list[Message]) -> dict[str, Any]:
        ids = ScriptedLLM.memory_ids(messages)
        assert set(ids) == {"Loves chicken", "Dislikes olives", "Works as a nurse"}
        food = [ids["Loves chicken"], ids["Dislikes olives"]]
        return {"actions": [{"event": "DELETE", "id": i} for i in food]}

    llm.push(forget_food)
    out = mem.add("Delete all of my food preferences", user_id="alice")
    assert sorted(e["memory"] for e in out["results"]) == ["Dislikes olives", "Loves chicken"]
    assert {e["event"] for e in out["results"]} == {"DELETE"}
    assert texts(mem, user_id="alice") == ["Works as a nurse"]


def test_two_decisions_about_one_memory_keep_the_first(mem: Memory, llm: ScriptedLLM) -> None:
    [mid] = seed(mem, llm, "Loves chicken")

    def twice(schema: Any, messages: list[Message]) -> dict[str, Any]:
        i = ScriptedLLM.memory_ids(messages)["Loves chicken"]
        return {
            "actions": [
                {"event": "UPDATE", "id": i, "text": "Loves roast chicken"},
                {"event": "DELETE", "id": i},
            ]
        }

    llm.push(twice)
    out = mem.add("Roast chicken especially", user_id="alice")
    assert [e["event"] for e in out["results"]] == ["UPDATE"]
    assert mem.get(mid)["memory"] == "Loves roast chicken"


# -- categories and prompts ------------------------------------------------------------------


def test_custom_categories_per_store_and_per_call_extend_the_defaults(
    tmp_path: Path, clock: FrozenClock, llm: ScriptedLLM
) -> None:
    m = store(tmp_path, clock, llm, custom_categories=["pets"])
    llm.push(add("Has a cat named Tom", categories=["pets", "Plants", "family", "nope"]))
    out = m.add(
        "My cat Tom", user_id="alice", categories=["manual"],
        custom_categories=[{"plants": "houseplants and gardening"}],
    )  # fmt: skip
    rec = m.get(out["results"][0]["id"])
    assert rec["categories"] == ["manual", "pets", "plants", "family"]
    system = llm.calls[0].messages[0].content
    assert "- pets\n" in system and "- plants: houseplants and gardening" in system
    assert "- milestones:" in system
    assert m.get_all(user_id="alice", categories=["pets"])["results"][0]["id"] == rec["id"]
    m.close()


@pytest.mark.parametrize("bad", ["pets", [""], [123], [{"": "x"}]])
def test_bad_custom_categories_are_refused_before_any_call(
    mem: Memory, llm: ScriptedLLM, bad: Any
) -> None:
    with pytest.raises(ValidationError):
        mem.add("My cat Tom", user_id="alice", custom_categories=bad)
    assert llm.usage.calls == 0


def test_prompt_overrides_the_instructions_per_store_and_per_call(
    tmp_path: Path, clock: FrozenClock, llm: ScriptedLLM
) -> None:
    m = store(tmp_path, clock, llm, prompt="STORE: only remember pets {not a placeholder}.")
    llm.push(add("Has a cat"), add("Has a dog"))
    m.add("I have a cat", user_id="alice")
    m.add("I have a dog", user_id="alice", prompt="CALL: remember animals.")
    first, second = (c.messages[0].content for c in llm.calls)
    assert first.startswith("STORE: only remember pets {not a placeholder}.")
    assert second.startswith("CALL: remember animals.") and "STORE" not in second
    for system in (first, second):
        assert "Today's date is 2025-01-01." in system  # the contract stays
        assert P.USER_INSTRUCTIONS not in system
    m.close()


def test_no_call_when_no_turn_could_hold_a_fact(mem: Memory, llm: ScriptedLLM) -> None:
    assert mem.add({"role": "system", "content": "Be nice."}, user_id="alice") == {"results": []}
    assert mem.add(
        {"role": "assistant", "content": "I am Ada."}, user_id="alice", agent_id="ada"
    ) == {"results": []}  # fmt: skip
    assert llm.usage.calls == 0


def test_agent_only_scope_remembers_the_assistant(mem: Memory, llm: ScriptedLLM) -> None:
    llm.push(add("Is named Ada", categories=["personal_details"]))
    out = mem.add(
        [{"role": "user", "content": "Who are you?"},
         {"role": "assistant", "content": "I am Ada, your tutor.", "name": "ada-bot"}],
        agent_id="ada",
    )  # fmt: skip
    rec = mem.get(out["results"][0]["id"])
    assert (rec["agent_id"], rec["user_id"], rec["role"]) == ("ada", None, "assistant")
    assert rec["actor_id"] == "ada-bot"
    assert llm.calls[0].messages[0].content.startswith(P.AGENT_INSTRUCTIONS)


def test_user_and_agent_scope_uses_the_user_instructions(mem: Memory, llm: ScriptedLLM) -> None:
    llm.push(add("Likes tea"))
    mem.add("I like tea", user_id="alice", agent_id="ada")
    assert llm.calls[0].messages[0].content.startswith(P.USER_INSTRUCTIONS)


# -- safety ----------------------------------------------------------------------------------


def test_ids_from_another_scope_or_invented_are_dropped(mem: Memory, llm: ScriptedLLM) -> None:
    [bob_id] = seed(mem, llm, "Loves chicken", user_id="bob")
    seed(mem, llm, "Likes tea")
    llm.push({"actions": [
        {"event": "DELETE", "id": bob_id},
        {"event": "UPDATE", "id": "7", "text": "Hacked"},
        {"event": "UPDATE", "id": 0, "text": "Likes green tea"},
    ]})  # fmt: skip
    out = mem.add("I turned vegetarian, and I like green tea", user_id="alice")
    assert [(e["event"], e["memory"]) for e in out["results"]] == [("UPDATE", "Likes green tea")]
    assert texts(mem, user_id="bob") == ["Loves chicken"]
    assert len(mem.history(bob_id)) == 1
    shown = llm.calls[-1].messages[1].content
    assert "Loves chicken" not in shown and bob_id not in shown


def test_the_prompt_shows_local_ids_never_stored_ids(mem: Memory, llm: ScriptedLLM) -> None:
    ids = seed(mem, llm, "Likes tea", "Plays chess")
    llm.push(add("Lives in Oslo"))
    mem.add("I live in Oslo", user_id="alice")
    prompt = "".join(m.content for m in llm.calls[-1].messages)
    assert sorted(ScriptedLLM.memory_ids(llm.calls[-1].messages).values()) == ["0", "1"]
    assert not any(i in prompt for i in ids)


@pytest.mark.parametrize(
    "first",
    ["not json", '{"actions": [{"event": "ADD"}]}', '{"actions": [{"event": "MERGE", "id": "0"}]}',
     {"actions": [{"event": "DELETE"}]}, 42],
)  # fmt: skip
def test_malformed_output_is_retried_once_with_the_error(
    mem: Memory, llm: ScriptedLLM, first: Any
) -> None:
    llm.push(first, '```json\n{"actions": [{"event": "ADD", "text": "Likes tea"}]}\n```')
    out = mem.add("I like tea", user_id="alice")
    assert [e["memory"] for e in out["results"]] == ["Likes tea"]
    assert llm.usage.calls == 2
    retry = llm.calls[1].messages[-1]
    assert retry.role == "user" and retry.content.startswith("Your previous answer could not")


def test_malformed_twice_raises_and_writes_nothing(mem: Memory, llm: ScriptedLLM) -> None:
    [mid] = seed(mem, llm, "Likes tea")

    def half_good(schema: Any, messages: list[Message]) -> str:
        i = ScriptedLLM.memory_ids(messages)["Likes tea"]
        return json.dumps({"actions": [{"event": "DELETE", "id": i}, {"event": "ADD"}]})

    llm.push(half_good, "{truncated")
    with pytest.raises(ExtractionError, match="nothing was written"):
        mem.add("Forget tea, I like coffee", user_id="alice")
    assert llm.usage.calls == 3
    assert texts(mem, user_id="alice") == ["Likes tea"]
    assert len(mem.history(mid)) == 1


def test_an_overlong_fact_counts_as_malformed(
    tmp_path: Path, clock: FrozenClock, llm: ScriptedLLM
) -> None:
    from mem_integrations import Limits

    m = store(tmp_path, clock, llm, limits=Limits(max_text_chars=40))
    llm.push(add("x" * 41), add("Likes tea"))
    assert [e["memory"] for e in m.add("I like tea", user_id="alice")["results"]] == ["Likes tea"]
    m.close()


def test_a_failing_llm_propagates_its_error_and_writes_nothing(
    mem: Memory, llm: ScriptedLLM
) -> None:
    llm.push(ConnectionError("provider down"))
    with pytest.raises(ConnectionError):
        mem.add("I like tea", user_id="alice")
    assert llm.usage.calls == 1
    assert texts(mem, user_id="alice") == []


# -- modes, async, verbatim ------------------------------------------------------------------


def test_two_step_mode_extracts_then_reconciles(mem: Memory, llm: ScriptedLLM) -> None:
    seed(mem, llm, "Loves chicken")
    llm.push({"facts": ["Is vegetarian", " "]}, on("DELETE", "Loves chicken"))
    msgs = [Message("user", "I turned vegetarian now")]
    ops = plan_with_llm(mem, msgs, Scope(user_id="alice"), mode="two_step")
    assert [op.event for op in ops] == ["DELETE"]
    facts_call, reconcile_call = llm.calls[-2:]
    assert (facts_call.schema, reconcile_call.schema) == ("FactList", "MemoryPlan")
    assert 'New facts (JSON):\n["Is vegetarian"]' in reconcile_call.messages[1].content
    llm.push({"facts": []})
    assert plan_with_llm(mem, msgs, Scope(user_id="alice"), mode="two_step") == []
    assert llm.pending == 0


def test_unknown_mode_is_refused(mem: Memory, llm: ScriptedLLM) -> None:
    with pytest.raises(ValidationError):
        plan_with_llm(mem, [Message("user", "hi")], Scope(user_id="a"), mode="three")  # type: ignore[arg-type]


def test_infer_false_stays_verbatim_without_a_call(mem: Memory, llm: ScriptedLLM) -> None:
    out = mem.add("I love chicken", user_id="alice", infer=False)
    assert [(e["event"], e["memory"]) for e in out["results"]] == [("ADD", "I love chicken")]
    assert llm.usage.calls == 0


async def test_async_add_extracts_through_the_same_pipeline(mem: Memory, llm: ScriptedLLM) -> None:
    amem = AsyncMemory(memory=mem)
    llm.push(add("Likes tea"), on("UPDATE", "Likes tea", "Likes green tea"))
    first = await amem.add("I like tea", user_id="alice")
    second = await amem.add("Green tea, actually", user_id="alice")
    assert second["results"][0]["id"] == first["results"][0]["id"]
    assert second["results"][0]["previous_memory"] == "Likes tea"
    assert [h["event"] for h in await amem.history(first["results"][0]["id"])] == [
        "ADD", "UPDATE",
    ]  # fmt: skip
