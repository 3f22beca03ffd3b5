"""The ``mem-integrations`` command line, driven through click's CliRunner on real stores."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mem_integrations import Memory, MemoryConfig
from mem_integrations.cli import INSTALL_HINT, build_cli, main
from mem_integrations.demo import DEMO_APP
from mem_integrations.testing import FrozenClock, HashEmbedder

COMMANDS = {
    "add", "search", "list", "get", "update", "delete", "delete-all", "history", "users",
    "purge-expired", "stats", "optimize", "import", "export", "reembed", "demo",
    "feedback", "project", "delete-users", "serve", "mcp",
}  # fmt: skip

Run = Callable[..., Result]


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def run(uri: str, clock: FrozenClock, embedder: HashEmbedder) -> Run:
    """Invoke the CLI on the tmp store with the hash embedder and the frozen clock."""
    cli = build_cli()

    def invoke(*args: str, store: str | None = None, input: str | None = None,
               ok: bool = True) -> Result:  # fmt: skip
        argv = [*args]
        if args[0] not in ("export",) or "--uri" not in args:
            argv += ["--uri", store or uri]
        result = CliRunner().invoke(
            cli, argv, input=input, obj={"config": {"embedder": embedder, "clock": clock}}
        )
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def add(run: Run, text: str, *opts: str) -> str:
    out = lines(run("add", text, *opts))
    assert out[0]["event"] == "ADD"
    return str(out[0]["id"])


def assert_user_error(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


# -- entry point ----------------------------------------------------------------------------


def test_every_command_is_registered() -> None:
    assert set(build_cli().commands) == COMMANDS


def test_main_without_click_prints_the_install_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "click", None)  # import click -> ImportError
    with pytest.raises(SystemExit) as exc:
        main(["stats"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert 'pip install "mem-integrations[cli]"' in err and err.strip() == INSTALL_HINT


def test_store_location_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: HashEmbedder
) -> None:
    where = tmp_path / "from-env"
    monkeypatch.setenv("MEM_INTEGRATIONS_URI", str(where))
    result = CliRunner().invoke(
        build_cli(),
        ["add", "hello there", "--user-id", "u"],
        obj={"config": {"embedder": embedder}},
    )
    assert result.exit_code == 0, result.output
    assert where.is_dir()
    with Memory(MemoryConfig(uri=str(where), embedder=embedder)) as m:
        assert [r["memory"] for r in m.get_all(user_id="u")["results"]] == ["hello there"]


# -- commands -------------------------------------------------------------------------------


def test_add_search_list_get_as_json_lines(run: Run) -> None:
    first = add(run, "User prefers dark mode", "--user-id", "sarah",
                "--metadata", '{"type": "preference"}', "--category", "ui")  # fmt: skip
    add(run, "Sarah likes hiking in the alps", "--user-id", "sarah", "--category", "hobbies")
    again = lines(run("add", "User prefers dark mode", "--user-id", "sarah"))
    assert again == [{"id": first, "memory": "User prefers dark mode", "event": "NONE"}]

    hits = lines(run("search", "dark mode", "--user-id", "sarah", "--top-k", "5"))
    assert hits[0]["id"] == first and 0.0 <= hits[-1]["score"] <= hits[0]["score"] <= 1.0
    only = lines(run("search", "dark mode", "--user-id", "sarah",
                     "--filters", '{"categories": {"contains": "hobbies"}}'))  # fmt: skip
    assert [h["memory"] for h in only] == ["Sarah likes hiking in the alps"]
    assert lines(run("search", "dark mode", "--user-id", "sarah", "--threshold", "1")) == []

    prefs = lines(
        run(
            "list",
            "--filters",
            '{"AND": [{"user_id": "sarah"}, {"metadata": {"type": "preference"}}]}',
        )
    )
    assert [p["id"] for p in prefs] == [first]
    assert prefs[0]["metadata"] == {"type": "preference"} and prefs[0]["categories"] == ["ui"]
    got = lines(run("get", first))
    assert got == prefs


def test_list_categories_keywords_and_pages(run: Run, clock: FrozenClock) -> None:
    for i in range(5):
        clock.advance(minutes=1)
        add(run, f"Alex likes to play game number {i}", "--user-id", "alex", "--category", "likes")
    add(run, "Alex dislikes rain", "--user-id", "alex", "--category", "dislikes")
    likes = lines(run("list", "--user-id", "alex", "--category", "likes", "--keywords", "to play"))
    assert len(likes) == 5 and likes[0]["memory"].endswith("4")  # newest first
    page2 = lines(run("list", "--user-id", "alex", "--page", "2", "--page-size", "2"))
    assert [r["memory"][-1] for r in page2] == ["3", "2"]
    everything = lines(run("list", "--user-id", "alex", "--page-size", "2", "--all"))
    assert len(everything) == 6 and len({r["id"] for r in everything}) == 6


def test_plain_prints_tables(run: Run) -> None:
    mid = add(run, "Alex is vegetarian", "--user-id", "alex", "--category", "diet")
    table = run("list", "--user-id", "alex", "--plain")
    header, rule, row = table.stdout.splitlines()[:3]
    assert header.split()[:3] == ["id", "memory", "scope"] and set(rule) <= {"-", " "}
    assert mid in row and "user:alex" in row and "diet" in row
    assert "page 1 of 1 (1 memories)" in table.stderr
    stats = run("stats", "--plain").stdout
    assert stats.splitlines()[0].split() == ["key", "value"] and "memories" in stats
    assert run("search", "nothing", "--user-id", "nobody", "--plain").stdout.strip() == "(nothing)"


def test_update_history_delete(run: Run, clock: FrozenClock) -> None:
    mid = add(run, "Trip to Lisbon", "--user-id", "alex", "--expires",
              (clock.now() + timedelta(days=7)).isoformat())  # fmt: skip
    assert lines(run("get", mid))[0]["expiration_date"] is not None
    clock.advance(hours=1)
    updated = lines(run("update", mid, "--text", "Went to Lisbon", "--no-expiration",
                        "--metadata", '{"mood": "happy"}', "--category", "travel"))  # fmt: skip
    assert updated[0]["memory"] == "Went to Lisbon" and updated[0]["expiration_date"] is None
    assert updated[0]["metadata"] == {"mood": "happy"} and updated[0]["categories"] == ["travel"]
    cleared = lines(run("update", mid, "--clear-categories", "--metadata", "null"))[0]
    assert cleared["categories"] == [] and cleared["metadata"] is None
    assert [e["event"] for e in lines(run("history", mid))] == ["ADD", "UPDATE", "UPDATE"]
    assert lines(run("delete", mid)) == [{"deleted": mid}]
    assert_user_error(run("get", mid, ok=False), 1, "MemoryNotFoundError")
    assert [e["event"] for e in lines(run("history", mid))][-1] == "DELETE"


def test_delete_all_asks_first(run: Run) -> None:
    add(run, "one", "--user-id", "a")
    add(run, "two", "--user-id", "a")
    keep = add(run, "three", "--user-id", "b")
    refused = run("delete-all", "--user-id", "a", input="n\n", ok=False)
    assert refused.exit_code == 1 and len(lines(run("list", "--user-id", "a"))) == 2
    assert lines(run("delete-all", "--user-id", "a", "--yes")) == [{"deleted": 2}]
    assert lines(run("list", "--user-id", "a")) == []
    assert [r["id"] for r in lines(run("list", "--user-id", "b"))] == [keep]


def test_users_purge_stats_optimize(run: Run, clock: FrozenClock) -> None:
    add(
        run,
        "short lived",
        "--user-id",
        "a",
        "--expires",
        (clock.now() + timedelta(hours=1)).isoformat(),
    )
    clock.advance(minutes=1)
    add(run, "kept", "--user-id", "a", "--agent-id", "bot")

    def users(*opts: str) -> dict[tuple[str, str], int]:
        return {(u["type"], u["name"]): u["total_memories"] for u in lines(run("users", *opts))}

    assert users() == {("user", "a"): 2, ("agent", "bot"): 1}
    clock.advance(hours=2)
    assert users() == {("user", "a"): 1, ("agent", "bot"): 1}
    assert users("--show-expired")[("user", "a")] == 2
    assert [r["memory"] for r in lines(run("list", "--user-id", "a"))] == ["kept"]
    assert lines(run("list", "--user-id", "a", "--show-expired"))[-1]["memory"] == "short lived"
    assert lines(run("purge-expired")) == [{"purged": 1}]
    assert lines(run("purge-expired")) == [{"purged": 0}]
    stats = lines(run("stats"))[0]
    assert stats["memories"] == 1 and {"fragments", "version", "bytes", "indices"} <= set(stats)
    optimized = lines(run("optimize"))[0]
    assert optimized["memories"] == 1 and optimized["fragments"] <= stats["fragments"]


# -- user errors ----------------------------------------------------------------------------


def test_user_errors_are_one_line_without_traceback(run: Run, tmp_path: Path) -> None:
    assert_user_error(run("list", ok=False), 1, "ScopeRequiredError")
    assert_user_error(run("add", "x", ok=False), 1, "ScopeRequiredError")
    assert_user_error(run("list", "--user-id", "a", "--filters", "{nope", ok=False), 2,
                      "not valid JSON")  # fmt: skip
    # a bare key is a metadata key (Mem0's grammar, issue 16): an unknown operator is refused
    assert_user_error(run("list", "--user-id", "a", "--filters", '{"colour": {"like": "r"}}',
                          ok=False), 1, "InvalidFilterError")  # fmt: skip
    assert_user_error(run("add", "x", "--user-id", "a", "--metadata", '{"user_id": "b"}',
                          ok=False), 1, "IdentityFieldError")  # fmt: skip
    assert_user_error(run("add", "x", "--user-id", "a", "--expires", "soon", ok=False), 1,
                      "InvalidExpirationError")  # fmt: skip
    assert_user_error(run("update", "no-such-id", "--text", "y", ok=False), 1,
                      "MemoryNotFoundError")  # fmt: skip
    assert_user_error(run("import", str(tmp_path / "missing.jsonl"), ok=False), 2,
                      "does not exist")  # fmt: skip
    errors = [line for line in run("list", ok=False).output.splitlines() if line.strip()]
    assert errors == ["Error: ScopeRequiredError: " + errors[0].split(": ", 2)[2]]


def test_a_bad_import_line_writes_nothing(run: Run, tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"memory": "fine", "user_id": "a"}\n{"memory": "broken"\n', encoding="utf-8")
    assert_user_error(run("import", str(src), ok=False), 1, "line 2: invalid JSON")
    src.write_text('{"memory": "fine", "user_id": "a"}\n{"memory": "x", "colour": 1}\n')
    assert_user_error(run("import", str(src), ok=False), 1, "unknown field(s) ['colour']")
    src.write_text('{"memory": "fine", "user_id": "a"}\n{"memory": "no scope"}\n')
    assert_user_error(run("import", str(src), ok=False), 1, "line 2: no scope")
    assert lines(run("users")) == []


# -- import / export ------------------------------------------------------------------------


def _seed_varied_store(uri: str, clock: FrozenClock, embedder: HashEmbedder) -> None:
    with Memory(MemoryConfig(uri=uri, embedder=embedder, clock=clock)) as m:
        m.add("Sarah prefers dark mode", user_id="sarah", metadata={"type": "preference",
              "score": 3, "nested": {"a": [1, 2]}}, categories=["ui", "prefs"])  # fmt: skip
        clock.advance(days=1)
        m.add([{"role": "user", "content": "Book the Lisbon hotel", "name": "alex"},
               {"role": "assistant", "content": "Done"}], user_id="alex", run_id="trip",
              expiration_date=clock.now() + timedelta(days=7))  # fmt: skip
        clock.advance(hours=3)
        m.add({"role": "assistant", "content": "I answer in French"}, agent_id="bot")
        m.add("Ünïcødé 'quotes' \"double\" and emoji 🎉", app_id="app-1", user_id="sarah")
        old = m.add(
            "already expired", user_id="alex", expiration_date=clock.now() + timedelta(minutes=5)
        )["results"][0]["id"]
        clock.advance(minutes=1)
        m.update(old, "updated before expiring")
        clock.advance(hours=1)  # now expired, but export keeps it


def test_export_import_round_trip_loses_nothing(
    run: Run, uri: str, tmp_path: Path, clock: FrozenClock, embedder: HashEmbedder
) -> None:
    _seed_varied_store(uri, clock, embedder)
    dump = tmp_path / "dump.jsonl"
    run("export", "-o", str(dump))
    exported = [json.loads(x) for x in dump.read_text(encoding="utf-8").splitlines()]
    assert len(exported) == 5 and len({r["id"] for r in exported}) == 5
    assert any(r["expiration_date"] for r in exported) and any(r["actor_id"] == "alex"
                                                               for r in exported)  # fmt: skip
    clock.advance(days=30)  # importing later must not restamp anything
    other = str(tmp_path / "other")
    summary = lines(run("import", str(dump), "--quiet", store=other))[0]
    assert summary["items"] == 5 and summary["put"] == 5 and summary["format"] == "jsonl"
    again = run("export", store=other).stdout.splitlines()
    by_id = {r["id"]: r for r in exported}
    assert {r["id"]: r for r in map(json.loads, again)} == by_id
    # a second import of the same file replaces records in place: still five
    run("import", str(dump), "--quiet", store=other)
    assert len(run("export", store=other).stdout.splitlines()) == 5


def test_export_of_one_scope(run: Run, uri: str, clock: FrozenClock,
                             embedder: HashEmbedder) -> None:  # fmt: skip
    _seed_varied_store(uri, clock, embedder)
    sarah = lines(run("export", "--user-id", "sarah"))
    assert sorted(r["memory"] for r in sarah) == sorted(
        ["Sarah prefers dark mode", "Ünïcødé 'quotes' \"double\" and emoji 🎉"]
    )


def test_import_messages_jsonl_with_default_scope(run: Run, tmp_path: Path) -> None:
    src = tmp_path / "chat.jsonl"
    src.write_text("\n".join([
        json.dumps({"messages": [{"role": "user", "content": "I love jazz"},
                                 {"role": "assistant", "content": "Nice"}],
                    "categories": ["music"]}),
        json.dumps({"role": "user", "content": "My cat is called Miso", "user_id": "kim"}),
        "",
        json.dumps({"content": "I love jazz"}),
    ]) + "\n", encoding="utf-8")  # fmt: skip
    result = run("import", str(src), "--user-id", "lee")
    summary = lines(result)[0]
    assert summary == {"file": str(src), "format": "jsonl", "items": 3, "add": 2, "none": 1}
    assert "import chat.jsonl" in result.stderr  # the progress bar went to stderr
    assert [r["categories"] for r in lines(run("list", "--user-id", "lee"))] == [["music"]]
    assert [r["memory"] for r in lines(run("list", "--user-id", "kim"))] == [
        "My cat is called Miso"
    ]


LOCOMO_FIXTURE = [
    {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a puppy named Rex!"},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Congrats! Look at this",
                 "img_url": ["http://example.invalid/x.jpg"], "blip_caption": "a photo of a dog"},
            ],
            "session_2_date_time": "10:37 am on 27 June, 2023",
            "session_2": [{"speaker": "Ana", "dia_id": "D2:1", "text": "Rex learned to sit."}],
        },
        "qa": [{"question": "What is Ana's dog called?", "answer": "Rex", "evidence": ["D1:1"],
                "category": 4}],
    },
    {
        "sample_id": "conv-y",
        "conversation": {
            "speaker_a": "Cy",
            "speaker_b": "Di",
            "session_1_date_time": "9:00 am on 1 January, 2024",
            "session_1": [{"speaker": "Di", "dia_id": "D1:1", "text": "Happy new year, Cy"}],
        },
        "qa": [],
    },
]  # fmt: skip


def test_import_locomo_conversations(run: Run, tmp_path: Path) -> None:
    src = tmp_path / "tiny-locomo.json"
    src.write_text(json.dumps(LOCOMO_FIXTURE), encoding="utf-8")
    summary = lines(run("import", str(src), "--app-id", "bench"))[0]
    assert summary["format"] == "locomo" and summary["items"] == 4 and summary["put"] == 4
    x = {r["id"]: r for r in lines(run("list", "--user-id", "conv-x", "--app-id", "bench"))}
    assert set(x) == {"conv-x:D1:1", "conv-x:D1:2", "conv-x:D2:1"}
    assert x["conv-x:D1:1"]["memory"] == 'Ana said, "I adopted a puppy named Rex!"'
    assert x["conv-x:D1:2"]["memory"].endswith('" and shared a photo of a dog')
    assert x["conv-x:D1:2"]["actor_id"] == "Ben"
    assert x["conv-x:D1:1"]["metadata"] == {"dia_id": "D1:1", "session": 1,
                                             "session_date": "2023-05-08"}  # fmt: skip
    stamp = datetime.fromisoformat(x["conv-x:D1:2"]["created_at"])
    assert stamp == datetime(2023, 5, 8, 13, 56, 1, tzinfo=UTC)
    june = lines(run("list", "--user-id", "conv-x", "--filters",
                     '{"created_at": {"gte": "2023-06-01"}}'))  # fmt: skip
    assert [r["id"] for r in june] == ["conv-x:D2:1"]
    run("import", str(src), "--app-id", "bench", "--quiet")  # idempotent
    assert len(lines(run("list", "--app-id", "bench"))) == 4


def test_bad_locomo_file_is_a_user_error(run: Run, tmp_path: Path) -> None:
    src = tmp_path / "broken.json"
    bad = json.loads(json.dumps(LOCOMO_FIXTURE))
    bad[0]["conversation"]["session_2_date_time"] = "someday"
    src.write_text(json.dumps(bad), encoding="utf-8")
    assert_user_error(run("import", str(src), ok=False), 1, "unrecognised session date")
    assert lines(run("users")) == []


# -- demo -----------------------------------------------------------------------------------


def test_demo_runs_on_the_default_store_and_is_repeatable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's main job, with the real offline embedder, on $MEM_INTEGRATIONS_URI."""
    monkeypatch.setenv("MEM_INTEGRATIONS_URI", str(tmp_path / "demo-store"))
    cli = build_cli()
    first = CliRunner().invoke(cli, ["demo"])
    assert first.exit_code == 0, (first.output, first.exception)
    assert "cleared 0 memories" in first.stdout and "== 11." in first.stdout
    assert "purge_expired() removed 1" in first.stdout
    second = CliRunner().invoke(cli, ["demo"])
    assert second.exit_code == 0, second.output
    assert "cleared 0 memories" not in second.stdout

    def story(out: str) -> list[str]:
        """The narrative minus ids and search hits (BM25 statistics see deleted rows until
        the store compacts, so scores may shift a little between runs)."""
        return [ln for ln in out.splitlines()[2:] if "add ->" not in ln and "   - [" not in ln]

    assert story(first.stdout) == story(second.stdout)
    with Memory(MemoryConfig()) as m:
        left = m.get_all(app_id=DEMO_APP)["results"]
    assert {r["user_id"] for r in left} == {"sarah", "alex"} and len(left) == 5


def test_import_batches_records_in_order_with_messages(
    tmp_path: Path, embedder: HashEmbedder
) -> None:
    from mem_integrations import transfer

    lines_ = [
        json.dumps({"id": f"r{i}", "memory": f"record {i}", "user_id": "u"}) for i in range(5)
    ]
    lines_.insert(3, json.dumps({"content": "record 1", "user_id": "u"}))  # r1 has it: NONE
    items = transfer.parse_jsonl(lines_)
    with Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=embedder)) as m:
        groups = [([g.where for g in group], events)
                  for group, events in transfer.apply_items(m, items, batch_size=2)]  # fmt: skip
        assert groups == [
            (["line 1", "line 2"], ["PUT", "PUT"]), (["line 3"], ["PUT"]),
            (["line 4"], ["NONE"]), (["line 5", "line 6"], ["PUT", "PUT"]),
        ]  # fmt: skip
        assert m.get_all(user_id="u", page=1, page_size=10)["count"] == 5
