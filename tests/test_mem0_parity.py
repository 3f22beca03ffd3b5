"""Issue 16's list, item by item, through ``Memory``, ``AsyncMemory`` and the CLI.

``tests/test_mem0_docs.py`` runs Mem0's documented snippets; this module pins the edges the
docs leave open (one-time warnings, typed errors, what "impossible by accident" means,
persistence across reopening) and checks each item on all three faces.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mem_integrations import (
    AsyncMemory,
    InvalidFilterError,
    Memory,
    MemoryConfig,
    MemoryLayerError,
    MemoryNotFoundError,
    ScopeRequiredError,
    UnknownArgumentError,
    ValidationError,
)
from mem_integrations.cli import build_cli
from mem_integrations.testing import FrozenClock, HashEmbedder


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def mem(uri: str, clock: FrozenClock) -> Iterator[Memory]:
    m = Memory(uri=uri, embedder=HashEmbedder(), clock=clock)
    yield m
    m.close()


def reopen(uri: str, clock: FrozenClock, **kw: Any) -> Memory:
    return Memory(uri=uri, embedder=HashEmbedder(), clock=clock, **kw)


def texts(result: dict[str, Any]) -> set[str]:
    return {r["memory"] for r in result["results"]}


def first_id(result: dict[str, Any]) -> str:
    return str(result["results"][0]["id"])


# -- constructor ------------------------------------------------------------------------------


def test_unknown_constructor_argument_is_a_typed_error(uri: str) -> None:
    with pytest.raises(UnknownArgumentError, match="url") as info:
        Memory(url="/x")
    assert isinstance(info.value, TypeError) and isinstance(info.value, MemoryLayerError)
    with pytest.raises(UnknownArgumentError, match="colour"):
        AsyncMemory(uri=uri, colour="blue")
    with pytest.raises(UnknownArgumentError, match="url"):
        Memory(MemoryConfig(uri=uri), url="/x")


def test_platform_constructor_arguments(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    m = Memory(uri=uri, embedder=HashEmbedder(), api_key="k", host="http://localhost:1")
    try:
        assert (m.api_key, m.host) == ("k", "http://localhost:1")
        assert m.config.uri == uri  # host names no server: nothing is contacted
    finally:
        m.close()
    monkeypatch.setenv("MEM0_API_KEY", "from-env")
    with pytest.warns(DeprecationWarning, match=r"org_id.*project_id|project_id.*org_id"):
        m = Memory(uri=uri, embedder=HashEmbedder(), org_id="o", project_id="p")
    try:
        assert m.api_key == "from-env" and (m.org_id, m.project_id) == ("o", "p")
    finally:
        m.close()


# -- arguments --------------------------------------------------------------------------------


def test_retired_arguments_warn_once_per_name(mem: Memory) -> None:
    with pytest.warns(DeprecationWarning, match="output_format") as record:
        mem.add("fact one", user_id="u", output_format="v1.1", version="v2", async_mode=True)
    named = " ".join(str(w.message) for w in record)
    assert all(n in named for n in ("output_format", "version", "async_mode"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mem.add("fact two", user_id="u", output_format="v1.1", version="v2", async_mode=True)
        mem.search("fact", user_id="u", output_format="v1.1")
    with pytest.warns(DeprecationWarning, match="enable_graph"):
        mem.get_all(user_id="u", enable_graph=True)
    mid = mem.get_all(user_id="u")["results"][0]["id"]
    with pytest.warns(DeprecationWarning, match="api_version"):
        mem.get(mid, api_version="v1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mem.history(mid, output_format="v1.1", api_version="v1")


def test_unknown_method_argument_is_a_typed_error(mem: Memory) -> None:
    mem.add("fact", user_id="u")
    for call in (
        lambda: mem.add("x", user_id="u", colour="red"),
        lambda: mem.search("x", user_id="u", colour="red"),
        lambda: mem.get_all(user_id="u", colour="red"),
        lambda: mem.update("id", text="x", colour="red"),
        lambda: mem.delete_all(user_id="u", colour="red"),
        lambda: mem.get("id", colour="red"),
        lambda: mem.history("id", colour="red"),
    ):
        with pytest.raises(UnknownArgumentError, match="colour"):
            call()
    assert mem.get_all(user_id="u")["count"] == 1  # nothing written by the refused calls


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1672531200, datetime(2023, 1, 1, tzinfo=UTC)),
        (1672531200.5, datetime(2023, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2023-01-01T00:00:00Z", datetime(2023, 1, 1, tzinfo=UTC)),
        ("2023-01-01", datetime(2023, 1, 1, tzinfo=UTC)),
    ],
)
def test_add_timestamp(mem: Memory, stamp: Any, expected: datetime) -> None:
    record = mem.get(first_id(mem.add("backdated", user_id="u", timestamp=stamp)))
    assert datetime.fromisoformat(record["created_at"]) == expected
    assert datetime.fromisoformat(record["updated_at"]) == expected


@pytest.mark.parametrize("bad", ["yesterday", True, [1], float("nan")])
def test_bad_timestamp_is_refused_before_writing(mem: Memory, bad: Any) -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        mem.add("x", user_id="u", timestamp=bad)
    assert mem.get_all(user_id="u")["count"] == 0


def test_update_timestamp_sets_updated_at(mem: Memory, clock: FrozenClock) -> None:
    mid = first_id(mem.add("text", user_id="u"))
    created = mem.get(mid)["created_at"]
    mem.update(mid, text="new text", timestamp=1700000000)
    record = mem.get(mid)
    assert record["created_at"] == created
    assert datetime.fromisoformat(record["updated_at"]).timestamp() == 1700000000


def test_get_all_top_k_and_offset(mem: Memory, clock: FrozenClock) -> None:
    for i in range(5):
        mem.add(f"fact {i}", user_id="u")
        clock.advance(seconds=1)
    page = mem.get_all(user_id="u", top_k=2, offset=1)
    assert [r["memory"] for r in page["results"]] == ["fact 3", "fact 2"]
    assert page["count"] == 5
    with pytest.raises(ValidationError, match="offset"):
        mem.get_all(user_id="u", offset=-1)


def test_search_categories_metadata_explain(mem: Memory) -> None:
    mem.add("rent is due monthly", user_id="u", categories=["finance"], metadata={"src": "a"})
    mem.add("rent of a bike", user_id="u", categories=["sport"], metadata={"src": "b"})
    assert texts(mem.search("rent", user_id="u", categories=["finance"])) == {
        "rent is due monthly"}  # fmt: skip
    assert texts(mem.search("rent", user_id="u", metadata={"src": "b"})) == {"rent of a bike"}
    hit = mem.search("rent", user_id="u", explain=True)["results"][0]
    details = hit["score_details"]
    assert details["final_score"] == hit["score"]
    assert 0.0 <= details["semantic_score"] <= 1.0 and 0.0 <= details["bm25_score"] <= 1.0


def test_search_reference_date(mem: Memory, clock: FrozenClock) -> None:
    mem.add("valid in 2025 only", user_id="u", expiration_date="2025-06-30")
    assert texts(mem.search("valid", user_id="u", reference_date="2025-03-01"))
    assert mem.search("valid", user_id="u", reference_date="2026-01-01")["results"] == []
    epoch = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert mem.search("valid", user_id="u", reference_date=epoch)["results"] == []
    with pytest.raises(ValidationError, match="reference_date"):
        mem.search("valid", user_id="u", reference_date="soon")


def test_delete_linked(mem: Memory) -> None:
    mid = first_id(mem.add("x", user_id="u"))
    assert mem.delete(mid, delete_linked=True) == {
        "message": "Memory deleted successfully!", "cascade_count": 0}  # fmt: skip


def test_feedback_is_stored_and_readable(uri: str, clock: FrozenClock) -> None:
    mem = reopen(uri, clock)
    mid = first_id(mem.add("likes tea", user_id="u"))
    out = mem.feedback(mid, feedback="negative", feedback_reason="outdated")
    assert out["feedback"] == "NEGATIVE" and out["feedback_reason"] == "outdated"
    mem.close()
    mem = reopen(uri, clock)
    try:
        got = mem.get_feedback(mid)
        assert got is not None
        assert (got["memory_id"], got["feedback"], got["feedback_reason"]) == (
            mid, "NEGATIVE", "outdated")  # fmt: skip
        mem.feedback(mid, feedback="VERY_NEGATIVE")
        assert mem.get_feedback(mid)["feedback"] == "VERY_NEGATIVE"  # type: ignore[index]
        mem.feedback(mid)
        assert mem.get_feedback(mid) is None
        with pytest.raises(ValidationError, match="feedback"):
            mem.feedback(mid, feedback="MEH")
        with pytest.raises(MemoryNotFoundError):
            mem.feedback("nope", feedback="POSITIVE")
        mem.reset()
        assert mem.get_feedback(mid) is None
    finally:
        mem.close()


# -- filters ----------------------------------------------------------------------------------


@pytest.fixture
def people(mem: Memory) -> Memory:
    mem.add("alice likes jazz", user_id="alice", metadata={"genre": "jazz", "priority": 7})
    mem.add("bob likes rock", user_id="bob", run_id="r1", metadata={"genre": "rock"})
    mem.add("bot notes", agent_id="bot", metadata={"genre": "jazz", "priority": 2})
    mem.add("app notes", app_id="portal")
    return mem


def _all(mem: Memory, filters: dict[str, Any]) -> set[str]:
    return texts(mem.get_all(filters=filters))


def test_filter_wildcard_scope_and_top_level_or(people: Memory) -> None:
    assert _all(people, {"user_id": "*"}) == {"alice likes jazz", "bob likes rock"}
    assert _all(people, {"OR": [{"user_id": "alice"}, {"agent_id": "bot"}]}) == {
        "alice likes jazz", "bot notes"}  # fmt: skip
    assert texts(people.search("notes", filters={"OR": [{"agent_id": "*"}, {"app_id": "*"}]})) == {
        "bot notes", "app notes"}  # fmt: skip
    for unscoped in ({"genre": "jazz"}, {"OR": [{"user_id": "alice"}, {"genre": "jazz"}]},
                     {"NOT": {"user_id": "alice"}}, {"user_id": {"ne": "alice"}}):  # fmt: skip
        with pytest.raises(ScopeRequiredError):
            people.get_all(filters=unscoped)


def test_filter_memory_ids_dotted_and_bare_metadata(people: Memory) -> None:
    ids = [r["id"] for r in people.get_all(filters={"user_id": "*"})["results"]]
    assert len(people.get_all(filters={"user_id": "*", "memory_ids": ids[:1]})["results"]) == 1
    assert _all(people, {"agent_id": "*", "metadata.genre": "jazz"}) == {"bot notes"}
    assert _all(people, {"user_id": "*", "genre": "rock"}) == {"bob likes rock"}
    assert _all(people, {"OR": [{"user_id": "*"}, {"agent_id": "*"}],
                         "priority": {"gte": 5}}) == {"alice likes jazz"}  # fmt: skip
    assert _all(people, {"user_id": "*", "metadata": {"genre": "jazz"}}) == {"alice likes jazz"}


@pytest.mark.parametrize(
    "bad",
    [
        {"user_id": "alice", "genre": {"like": "j%"}},
        {"user_id": "alice", "metadata.genre": {">=": 1}},
        {"user_id": "alice", "metadata.": "x"},
        {"user_id": "alice", "memory_ids": "not-a-list"},
        {"user_id": "alice", "genre": {"gt": ["a"]}},
    ],
)
def test_filter_errors_are_typed(people: Memory, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidFilterError):
        people.get_all(filters=bad)


def test_filter_keys_never_reach_sql_unescaped(people: Memory) -> None:
    hostile = "genre') OR 1=1 --"
    assert _all(people, {"user_id": "*", hostile: "x"}) == set()
    assert _all(people, {"user_id": "*", f"metadata.{hostile}": "x"}) == set()


# -- shapes -----------------------------------------------------------------------------------


def test_envelopes(people: Memory) -> None:
    page = people.get_all(user_id="alice")
    assert set(page) >= {"count", "next", "previous", "results"}
    users = people.users()
    # alice, bob, bob's run r1, bot, portal
    assert users["count"] == 5 and users["next"] is None and users["previous"] is None


# -- semantics --------------------------------------------------------------------------------


CONVERSATION = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "I moved to Lisbon"},
    {"role": "assistant", "content": "Lisbon is lovely in spring"},
]


def test_infer_false_is_direct_import_default_keeps_seed_rule(mem: Memory) -> None:
    default = mem.add(CONVERSATION, user_id="u")
    assert [e["memory"] for e in default["results"]] == ["I moved to Lisbon"]
    direct = mem.add(CONVERSATION, user_id="v", infer=False)
    assert [e["memory"] for e in direct["results"]] == [
        "I moved to Lisbon",
        "Lisbon is lovely in spring",
    ]
    roles = {r["memory"]: r["role"] for r in mem.get_all(user_id="v")["results"]}
    assert roles == {"I moved to Lisbon": "user", "Lisbon is lovely in spring": "assistant"}


def test_re_adding_identical_text_keeps_what_the_caller_gave(mem: Memory) -> None:
    mid = first_id(mem.add("likes tea", user_id="u", metadata={"a": 1}, categories=["food"]))
    again = mem.add("likes tea", user_id="u", metadata={"b": 2}, categories=["drinks"],
                    expiration_date="2030-01-01")  # fmt: skip
    (event,) = again["results"]
    assert (event["id"], event["event"]) == (mid, "UPDATE")
    record = mem.get(mid)
    assert record["metadata"] == {"a": 1, "b": 2}
    assert record["categories"] == ["food", "drinks"]
    assert record["expiration_date"] == "2030-01-01"
    assert [e["event"] for e in mem.history(mid)] == ["ADD", "UPDATE"]
    same = mem.add("likes tea", user_id="u", metadata={"b": 2})
    assert same["results"][0]["event"] == "NONE"
    assert [e["event"] for e in mem.history(mid)] == ["ADD", "UPDATE"]


def test_date_only_expiration(mem: Memory, clock: FrozenClock) -> None:
    a = first_id(mem.add("a", user_id="u", expiration_date="20300101"))
    b = first_id(mem.add("b", user_id="u", expiration_date="2030-01-01"))
    assert mem.get(a)["expiration_date"] == mem.get(b)["expiration_date"] == "2030-01-01"
    clock.set(datetime(2030, 1, 1, 23, 59, 59, tzinfo=UTC))
    assert mem.get_all(user_id="u")["count"] == 2
    clock.set(datetime(2030, 1, 2, tzinfo=UTC))
    assert mem.get_all(user_id="u")["count"] == 0
    full = first_id(mem.add("c", user_id="v", expiration_date="2031-05-05T10:30:00+00:00"))
    assert mem.get(full)["expiration_date"] == "2031-05-05T10:30:00+00:00"


def test_expired_memory_is_kept_gettable_and_revivable(mem: Memory, clock: FrozenClock) -> None:
    mid = first_id(mem.add("trial plan", user_id="u", expiration_date=clock.now().date()))
    clock.advance(days=29)  # expired, within the 30-day retention, past the purge interval
    mem.add("a later write", user_id="u")  # write calls do housekeeping
    assert mem.get(mid)["memory"] == "trial plan"
    assert mem.get_all(user_id="u")["count"] == 1
    mem.update(mid, expiration_date=None)
    assert mem.get_all(user_id="u")["count"] == 2
    assert "EXPIRE" not in [e["event"] for e in mem.history(mid)]


def test_housekeeping_purges_only_past_the_retention(mem: Memory, clock: FrozenClock) -> None:
    """Session context cleans itself up: kept for ``expired_retention``, then purged."""
    old = first_id(mem.add("last month's session", user_id="u", expiration_date=clock.now()))
    clock.advance(days=20)
    recent = first_id(mem.add("yesterday's session", user_id="u", expiration_date=clock.now()))
    clock.advance(days=11)  # old: expired 31 days ago; recent: 11 days ago
    mem.add("a later write", user_id="u")
    with pytest.raises(MemoryNotFoundError):
        mem.get(old)
    assert [e["event"] for e in mem.history(old)][-1] == "EXPIRE"
    assert mem.get(recent)["memory"] == "yesterday's session"


def test_expired_retention_none_keeps_expired_memories(tmp_path: Path, clock: FrozenClock) -> None:
    keep = Memory(uri=str(tmp_path / "keep"), embedder=HashEmbedder(), clock=clock,
                  expired_retention=None)  # fmt: skip
    mid = first_id(keep.add("trial plan", user_id="u", expiration_date=clock.now()))
    clock.advance(days=400)
    keep.add("a later write", user_id="u")
    assert keep.get(mid)["memory"] == "trial plan"
    assert keep.purge_expired() == {"purged": 1}
    keep.close()


def test_wiping_everything_takes_the_exact_call(people: Memory) -> None:
    for accident in (
        lambda: people.delete_all(),
        lambda: people.delete_all(user_id=None),
        lambda: people.delete_users(user_id=None),
        lambda: people.delete_users(user_id=""),
    ):
        with pytest.raises(ValidationError):
            accident()
    assert people.users()["count"] == 5
    people.delete_all(user_id="*")
    assert {u["type"] for u in people.users()["results"]} == {"agent", "app"}
    out = people.delete_users()
    assert out["message"] == "All users, agents, apps and runs deleted."
    assert people.users()["count"] == 0


def test_full_wildcard_delete_all(people: Memory) -> None:
    people.delete_all(user_id="*", agent_id="*", app_id="*", run_id="*")
    assert people.users()["count"] == 0


def test_not_found_is_value_error_and_key_error(mem: Memory) -> None:
    for call in (lambda: mem.get("nope"), lambda: mem.update("nope", text="x"),
                 lambda: mem.delete("nope")):  # fmt: skip
        with pytest.raises(MemoryNotFoundError) as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, KeyError)


def test_project_decay_is_persisted(uri: str, clock: FrozenClock) -> None:
    mem = reopen(uri, clock)
    try:
        assert mem.project.get() == {"decay": False}
        assert mem.decay.enabled is False
        mem.project.update(decay=True)
        assert mem.decay.enabled is True
    finally:
        mem.close()
    mem = reopen(uri, clock)
    try:
        assert mem.project.get(fields=["decay"]) == {"decay": True}
        assert mem.decay.enabled is True
        with pytest.raises(ValidationError):
            mem.project.update()
        with pytest.raises(UnknownArgumentError, match="colour"):
            mem.project.update(colour="red")
        with pytest.raises(ValidationError, match="decay"):
            mem.project.update(decay="yes")
    finally:
        mem.close()
    explicit = reopen(uri, clock, decay=False)  # the constructor argument wins for this object
    try:
        assert explicit.decay.enabled is False
        assert explicit.project.get()["decay"] is True
    finally:
        explicit.close()


# -- AsyncMemory ------------------------------------------------------------------------------


async def test_async_face(uri: str, clock: FrozenClock) -> None:
    m = AsyncMemory(uri=uri, embedder=HashEmbedder(), clock=clock, api_key="k")
    try:
        with pytest.warns(DeprecationWarning, match="output_format"):
            out = await m.add(CONVERSATION, user_id="u", infer=False, timestamp=1672531200,
                              output_format="v1.1")  # fmt: skip
        assert len(out["results"]) == 2
        mid = first_id(out)
        assert (await m.get(mid))["created_at"].startswith("2023-01-01")
        await m.feedback(mid, feedback="POSITIVE")
        assert (await m.get_feedback(mid))["feedback"] == "POSITIVE"  # type: ignore[index]
        await m.project.update(decay=True)
        assert (await m.project.get())["decay"] is True
        page = await m.get_all(filters={"OR": [{"user_id": "u"}, {"agent_id": "*"}]}, offset=1)
        assert page["count"] == 2 and len(page["results"]) == 1
        hits = await m.search("Lisbon", filters={"user_id": "*"}, explain=True)
        assert "score_details" in hits["results"][0]
        await m.delete(mid, delete_linked=True)
        with pytest.raises(ValueError):
            await m.delete(mid)
        assert (await m.users())["count"] == 1
        await m.delete_users()
        assert (await m.users())["count"] == 0
    finally:
        await m.close()


# -- CLI --------------------------------------------------------------------------------------

Run = Callable[..., Result]


@pytest.fixture
def run(uri: str, clock: FrozenClock) -> Run:
    cli = build_cli()
    embedder = HashEmbedder()

    def invoke(*args: str, ok: bool = True, input: str | None = None) -> Result:
        result = CliRunner().invoke(
            cli,
            [*args, "--uri", uri],
            input=input,
            obj={"config": {"embedder": embedder, "clock": clock}},
        )
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_cli_add_timestamp_and_expiration(run: Run, clock: FrozenClock) -> None:
    (event,) = lines(run("add", "backdated", "--user-id", "u", "--timestamp", "1672531200",
                         "--expires", "20300101"))  # fmt: skip
    (record,) = lines(run("get", event["id"]))
    assert record["created_at"].startswith("2023-01-01")
    assert record["expiration_date"] == "2030-01-01"
    clock.set(datetime(2030, 1, 15, tzinfo=UTC))  # expired, within the retention
    assert lines(run("list", "--user-id", "u")) == []
    (expired,) = lines(run("get", event["id"]))  # get returns an expired memory
    assert expired["memory"] == "backdated"
    run("update", event["id"], "--no-expiration")
    assert len(lines(run("list", "--user-id", "u"))) == 1


def test_cli_filters_wildcards_and_explain(run: Run) -> None:
    run("add", "alice likes jazz", "--user-id", "alice", "--metadata", '{"genre": "jazz"}')
    run("add", "bot notes", "--agent-id", "bot", "--metadata", '{"genre": "jazz"}')
    listed = lines(run("list", "--filters", '{"OR": [{"user_id": "*"}, {"agent_id": "*"}], '
                                            '"genre": "jazz"}'))  # fmt: skip
    assert {r["memory"] for r in listed} == {"alice likes jazz", "bot notes"}
    (hit,) = lines(run("search", "jazz", "--filters", '{"user_id": "*"}', "--explain"))
    assert "score_details" in hit
    bad = run("list", "--filters", '{"user_id": "*", "genre": {"like": "x"}}', ok=False)
    assert bad.exit_code == 1 and "InvalidFilterError" in bad.output


def test_cli_feedback_project_and_wipes(run: Run) -> None:
    (event,) = lines(run("add", "likes tea", "--user-id", "u"))
    run("add", "bot fact", "--agent-id", "bot")
    (fb,) = lines(run("feedback", event["id"], "--feedback", "NEGATIVE", "--reason", "old"))
    assert fb["feedback"] == "NEGATIVE" and fb["feedback_reason"] == "old"
    bad = run("feedback", event["id"], "--feedback", "MEH", ok=False)
    assert bad.exit_code != 0
    assert lines(run("project")) == [{"decay": False}]
    assert lines(run("project", "--decay"))[0]["decay"] is True
    assert lines(run("project")) == [{"decay": True}]
    refused = run("delete-users", "--yes", ok=False)
    assert refused.exit_code != 0  # no entity and no --all: nothing is deleted
    run("delete-all", "--user-id", "*", "--yes")
    assert [u["type"] for u in lines(run("users"))] == ["agent"]
    run("delete-users", "--all", "--yes")
    assert lines(run("users")) == []


def test_cli_add_iso_timestamp(run: Run) -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC) - timedelta(days=1)
    (event,) = lines(run("add", "hello", "--agent-id", "bot", "--timestamp", when.isoformat()))
    assert lines(run("get", event["id"]))[0]["created_at"].startswith("2024-04-30")


def test_documented_differences(uri: str, clock: FrozenClock) -> None:
    """The rows of docs/migration-from-mem0.md that no Mem0 snippet covers."""
    with pytest.raises(UnknownArgumentError, match="client"):
        Memory(uri=uri, embedder=HashEmbedder(), client=object())
    mem = reopen(uri, clock)
    try:
        assert not hasattr(Memory, "from_config") and not hasattr(mem, "chat")
        assert not hasattr(mem, "create_memory_export") and not hasattr(mem, "get_summary")
        with pytest.raises(ValidationError, match="procedural"):
            mem.add("x", agent_id="a", memory_type="procedural_memory")
        with pytest.raises(ValidationError, match="not both"):
            mem.add("x", user_id="u", prompt="p", custom_instructions="c")
        mem.add("custom instructions need an LLM to matter", user_id="u", custom_instructions="c")
        with pytest.raises(UnknownArgumentError, match="fields"):
            mem.search("x", user_id="u", fields=["id"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            hits = mem.search("matter", user_id="u", rerank=False, keyword_search=True,
                              latest_only=True)  # fmt: skip
        assert len(hits["results"]) == 1
        far = mem.search("zebra quantum", user_id="u")["results"]
        assert far and far[0]["score"] < 0.1  # Mem0's default threshold 0.1 would drop it
        with pytest.raises(ValidationError, match="custom_instructions"):
            mem.project.update(custom_instructions="be brief")
        mem.project.update(decay=True)
        assert mem.reset() is None
        assert mem.project.get()["decay"] is True  # settings outlive reset
        mid = first_id(mem.add("kept metadata", user_id="u", metadata={"a": 1, "b": 2}))
        mem.update(mid, metadata={"a": 3})
        assert mem.get(mid)["metadata"] == {"a": 3}  # replaced (Mem0 OSS merges)
    finally:
        mem.close()


# -- typed options and add's filters ----------------------------------------------------------


def test_add_filters_name_the_scope_only(mem: Memory) -> None:
    mem.add("likes tea", filters={"user_id": "u"}, run_id="r")
    assert texts(mem.get_all(filters={"user_id": "u", "run_id": "r"})) == {"likes tea"}
    mem.add("likes coffee", user_id="u", filters={"AND": [{"user_id": "u"}]})
    assert mem.get_all(user_id="u")["count"] == 2
    for bad in ({"genre": "x"}, {"user_id": {"eq": "u"}}, {"OR": [{"user_id": "u"}]},
                {"user_id": "*"}):  # fmt: skip
        with pytest.raises(ValidationError, match="filters"):
            mem.add("refused", filters=bad)
    with pytest.raises(ValidationError, match="user_id"):
        mem.add("refused", user_id="u", filters={"user_id": "v"})
    assert mem.get_all(filters={"user_id": "*"})["count"] == 2  # nothing written by refusals


def test_options_objects_and_mappings(mem: Memory) -> None:
    mem.add("likes tea", options={"filters": {"user_id": "u"}, "metadata": {"a": 1}})
    (hit,) = mem.search("tea", options={"filters": {"user_id": "u"}})["results"]
    assert hit["metadata"] == {"a": 1}
    with pytest.raises(UnknownArgumentError, match="colour"):
        mem.search("tea", options={"filters": {"user_id": "u"}, "colour": "red"})
    with pytest.raises(ValidationError, match="options"):
        mem.search("tea", user_id="u", options=["top_k", 1])
    with pytest.raises(UnknownArgumentError, match="colour"):
        mem.add("refused", options={"user_id": "u", "colour": "red"})
    assert mem.get_all(user_id="u")["count"] == 1


async def test_async_options_and_add_filters(uri: str, clock: FrozenClock) -> None:
    m = AsyncMemory(uri=uri, embedder=HashEmbedder(), clock=clock)
    try:
        await m.add("likes tea", filters={"agent_id": "bot"})
        await m.add("likes rain", options={"filters": {"agent_id": "bot"}})
        page = await m.get_all(options={"filters": {"agent_id": "bot"}, "page_size": 1})
        assert page["count"] == 2 and len(page["results"]) == 1
        hits = await m.search("tea", options={"filters": {"agent_id": "bot"}, "top_k": 1})
        mid = first_id(hits)
        await m.update(mid, options={"text": "likes green tea"})
        assert (await m.get(mid))["memory"] == "likes green tea"
        await m.delete_all(options={"filters": {"agent_id": "bot"}})
        assert (await m.get_all(agent_id="bot"))["count"] == 0
    finally:
        await m.close()


def test_get_all_start_and_end_date(mem: Memory, clock: FrozenClock) -> None:
    """Mem0's client ``get_all(start_date=, end_date=)`` (``GetAllMemoryOptions``): created on
    or after / on or before a date, the end date's whole day included."""
    clock.set(datetime(2025, 1, 1, 9, tzinfo=UTC))
    mem.add("new year", user_id="u")
    clock.set(datetime(2025, 1, 31, 23, tzinfo=UTC))
    mem.add("end of january", user_id="u")
    clock.set(datetime(2025, 2, 2, tzinfo=UTC))
    mem.add("february", user_id="u")
    got = mem.get_all(filters={"user_id": "u"}, start_date="2025-01-02", end_date="2025-01-31")
    assert texts(got) == {"end of january"}
    assert texts(mem.get_all(user_id="u", end_date="2025-01-01")) == {"new year"}
    assert texts(mem.get_all(user_id="u", start_date="2025-02-01")) == {"february"}
    with pytest.raises(InvalidFilterError, match="soon"):
        mem.get_all(user_id="u", start_date="soon")


def test_the_migration_page_names_only_tests_that_exist() -> None:
    """docs/migration-from-mem0.md claims nothing that a named test does not show."""
    here = Path(__file__).parent
    page = (here.parent / "docs" / "migration-from-mem0.md").read_text(encoding="utf-8")
    modules = {"docs": "test_mem0_docs.py", "parity": "test_mem0_parity.py"}
    named = re.findall(r"\b(docs|parity)::(test_\w+)(\*?)", page)
    assert len(named) > 50
    for module, name, glob in named:
        source = (here / modules[module]).read_text(encoding="utf-8")
        tail = r"\w*\(" if glob else r"\("
        assert re.search(rf"def {name}{tail}", source), f"{module}::{name}"


def test_re_add_enrichment_across_handles_and_reopen(uri: str, clock: FrozenClock) -> None:
    """The duplicate check answers from per-handle hash sets in RAM (``storage.seen_hashes``)
    and history is written behind the add: a repeat seen by another handle, or after reopening,
    still merges what it brings (UPDATE, history complete) and a bare repeat is still NONE."""
    first, second = reopen(uri, clock), reopen(uri, clock)
    try:
        mid = first_id(first.add("likes tea", user_id="u", metadata={"a": 1}))
        assert second.add("likes tea", user_id="u", metadata={"b": 2})["results"][0] == {
            "id": mid, "memory": "likes tea", "event": "UPDATE", "previous_memory": "likes tea"}
        assert first.add("likes tea", user_id="u", categories=["drinks"])["results"][0][
            "event"] == "UPDATE"  # fmt: skip
        assert second.add("likes tea", user_id="u", metadata={"a": 1})["results"][0][
            "event"] == "NONE"  # fmt: skip
    finally:
        first.close()
        second.close()
    again = reopen(uri, clock)
    try:
        out = again.add("likes tea", user_id="u", expiration_date="20300101")
        assert (out["results"][0]["id"], out["results"][0]["event"]) == (mid, "UPDATE")
        record = again.get(mid)
        assert record["metadata"] == {"a": 1, "b": 2} and record["categories"] == ["drinks"]
        assert record["expiration_date"] == "2030-01-01"
        assert [e["event"] for e in again.history(mid)] == ["ADD", "UPDATE", "UPDATE", "UPDATE"]
        assert again.get_all(user_id="u")["count"] == 1
    finally:
        again.close()


async def test_async_face_covers_the_rest_of_the_list(uri: str, clock: FrozenClock) -> None:
    """The issue's items that test_async_face leaves out, through AsyncMemory."""
    m = AsyncMemory(uri=uri, embedder=HashEmbedder(), clock=clock)
    try:
        with pytest.raises(UnknownArgumentError, match="colour"):
            await m.add("x", user_id="u", colour="red")
        mid = first_id(await m.add("likes tea", user_id="u", metadata={"a": 1},
                                   categories=["food"]))  # fmt: skip
        again = await m.add("likes tea", user_id="u", metadata={"b": 2}, categories=["drinks"])
        assert (again["results"][0]["id"], again["results"][0]["event"]) == (mid, "UPDATE")
        assert (await m.get(mid))["metadata"] == {"a": 1, "b": 2}
        await m.add("rent is due", user_id="u", categories=["finance"], metadata={"src": "b"},
                    expiration_date="20250630")  # fmt: skip
        assert texts(await m.search("rent", user_id="u", categories=["finance"])) == {
            "rent is due"}  # fmt: skip
        assert texts(await m.search("rent", user_id="u", metadata={"src": "b"})) == {"rent is due"}
        gone = await m.search("rent", user_id="u", reference_date="2025-07-01")
        assert "rent is due" not in texts(gone)
        await m.update(mid, text="likes green tea", timestamp=1700000000)
        assert datetime.fromisoformat((await m.get(mid))["updated_at"]).timestamp() == 1700000000
        assert len((await m.get_all(user_id="u", top_k=1))["results"]) == 1
        for filters, want in (
            ({"user_id": "*", "memory_ids": [mid]}, {"likes green tea"}),
            ({"user_id": "*", "metadata.src": "b"}, {"rent is due"}),
            ({"user_id": "*", "a": 1}, {"likes green tea"}),
        ):
            assert texts(await m.get_all(filters=filters)) == want
        with pytest.raises(InvalidFilterError):
            await m.get_all(filters={"user_id": "u", "a": {"like": "x"}})
        assert set(await m.users()) >= {"count", "next", "previous", "results"}
        rent = next(r for r in (await m.get_all(user_id="u"))["results"]
                    if r["memory"] == "rent is due")  # fmt: skip
        assert rent["expiration_date"] == "2025-06-30"
        clock.set(datetime(2025, 7, 1, tzinfo=UTC))
        assert (await m.get(rent["id"]))["memory"] == "rent is due"  # expired, still gettable
        assert (await m.get_all(user_id="u"))["count"] == 1
        await m.update(rent["id"], expiration_date=None)
        assert (await m.get_all(user_id="u"))["count"] == 2
        with pytest.raises(ValueError):
            await m.update("nope", text="x")
        with pytest.raises(ValidationError):
            await m.delete_users(user_id=None)
        await m.add("bot fact", agent_id="bot")
        await m.delete_all(user_id="*")
        assert [u["type"] for u in (await m.users())["results"]] == ["agent"]
    finally:
        await m.close()


def test_cli_covers_the_rest_of_the_list(run: Run, clock: FrozenClock) -> None:
    """The issue's items that the other CLI tests leave out, through the command line."""
    (event,) = lines(run("add", "likes tea", "--user-id", "u", "--metadata", '{"a": 1}'))
    (again,) = lines(run("add", "likes tea", "--user-id", "u", "--metadata", '{"b": 2}',
                         "--category", "drinks"))  # fmt: skip
    assert (again["id"], again["event"]) == (event["id"], "UPDATE")
    (record,) = lines(run("get", event["id"]))
    assert record["metadata"] == {"a": 1, "b": 2} and record["categories"] == ["drinks"]
    run("add", "rent is due", "--user-id", "u", "--category", "finance", "--expires", "20250630")
    (hit,) = lines(run("search", "rent", "--user-id", "u", "--category", "finance"))
    assert hit["memory"] == "rent is due"
    assert lines(run("search", "rent", "--user-id", "u", "--category", "finance",
                     "--reference-date", "2025-07-01")) == []  # fmt: skip
    (updated,) = lines(run("update", event["id"], "--text", "likes green tea",
                           "--timestamp", "1700000000"))  # fmt: skip
    assert datetime.fromisoformat(updated["updated_at"]).timestamp() == 1700000000
    ids = json.dumps({"user_id": "*", "memory_ids": [event["id"]]})
    assert [r["memory"] for r in lines(run("list", "--filters", ids))] == ["likes green tea"]
    missing = run("update", "nope", "--text", "x", ok=False)
    assert missing.exit_code != 0 and "MemoryNotFoundError" in missing.output
