"""Several server processes on one store: ``--workers 4``, two servers on one folder, and S3.

Four Mem0 clients (threads, each with its own ``MemoryClient``) send mixed requests (add,
search, list, get, update, delete) for their own user. Each keeps what the servers
acknowledged; at the end the store must hold exactly the acknowledged live memories, once
each, with their last acknowledged text, and none of the deleted ones.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from serving import HASH_EMBEDDER, moto_s3, process_server, require, require_mem0

require("fastapi")
require_mem0()
from mem0 import MemoryClient  # noqa: E402
from mem0.exceptions import MemoryError as Mem0Error  # noqa: E402

ADMIN = "key-admin-0001"
KEYS = json.dumps({ADMIN: {"admin": True}})


@dataclass
class Acked:
    """What one client was told: live memories (id -> text) and deleted ids.

    A write answered with a server error was not acknowledged: either outcome is allowed
    for it (``maybe_*``), but it must not leave a duplicate or touch anything else.
    """

    live: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    maybe_added: set[str] = field(default_factory=set)
    maybe_text: dict[str, set[str]] = field(default_factory=dict)
    maybe_deleted: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    error: BaseException | None = None


def client_run(urls: Sequence[str], key: str | None, user: str, n: int, seed: int) -> Acked:
    """``n`` mixed requests for ``user``, alternating between the given servers."""
    rng = random.Random(seed)
    clients = [MemoryClient(host=u, api_key=key or "local-key") for u in urls]
    acked = Acked()
    try:
        for i in range(n):
            c = clients[i % len(clients)]
            roll = rng.random()
            ids = sorted(acked.live)
            mid = rng.choice(ids) if ids else ""
            text = f"{user} note {i} {rng.choice(['tea', 'bike', 'jazz', 'chess'])}"
            try:
                if roll < 0.4 or not ids:
                    for e in c.add(text, user_id=user)["results"]:
                        assert e["event"] == "ADD", e
                        acked.live[e["id"]] = e["memory"]
                elif roll < 0.55:
                    c.search("tea bike", filters={"user_id": user}, top_k=5)
                elif roll < 0.7:
                    assert c.get_all(filters={"user_id": user}, page_size=50)["count"] >= 0
                elif roll < 0.8:
                    assert c.get(mid)["memory"] == acked.live[mid]  # seen by every server
                elif roll < 0.9:
                    c.update(mid, text=text)
                    acked.live[mid] = text
                else:
                    c.delete(mid)
                    del acked.live[mid]
                    acked.deleted.add(mid)
            except Mem0Error as exc:  # a 5xx is not an acknowledgement: either outcome may
                if exc.debug_info.get("status_code", 0) < 500:  # be stored; a 4xx is a bug
                    raise
                acked.failures.append(f"{type(exc).__name__}: {exc}")
                if roll < 0.4 or not ids:
                    acked.maybe_added.add(text)
                elif 0.8 <= roll < 0.9:
                    acked.maybe_text.setdefault(mid, set()).add(text)
                elif roll >= 0.9:
                    acked.maybe_deleted.add(mid)
            acked.requests += 1
    except BaseException as exc:  # reported by the main thread
        acked.error = exc
    finally:
        for c in clients:
            c.client.close()
    return acked


def run_clients(urls: Sequence[str], key: str | None, per_client: int) -> list[Acked]:
    results: list[Acked] = [Acked() for _ in range(4)]

    def body(i: int) -> None:
        results[i] = client_run(urls, key, f"user{i}", per_client, seed=i)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=1800)
    for r in results:
        if r.error is not None:
            raise r.error
        assert r.requests == per_client
    return results


def check_store(url: str, key: str | None, results: list[Acked]) -> None:
    """Exactly the acknowledged memories, once each, with their last acknowledged text."""
    c = MemoryClient(host=url, api_key=key or "local-key")
    try:
        for i, acked in enumerate(results):
            rows: list[dict[str, Any]] = []
            page: int | None = 1
            while page:
                out = c.get_all(filters={"user_id": f"user{i}"}, page=page, page_size=200)
                rows += out["results"]
                page = page + 1 if out["next"] else None
            ids = [r["id"] for r in rows]
            assert len(ids) == len(set(ids)), "a memory is listed twice"
            texts = [r["memory"] for r in rows]
            assert len(texts) == len(set(texts)), "a memory was stored twice"
            stored = dict(zip(ids, texts, strict=True))
            for mid, text in acked.live.items():
                if mid not in stored:
                    assert mid in acked.maybe_deleted, f"acknowledged memory lost: {text!r}"
                    continue
                assert stored[mid] == text or stored[mid] in acked.maybe_text.get(mid, ())
            for mid, text in stored.items():
                assert mid in acked.live or text in acked.maybe_added, f"unexpected {text!r}"
            assert not acked.deleted & set(ids), "a deleted memory came back"
            for mid in sorted(acked.deleted)[:3]:
                assert c.history(mid)[-1]["event"] == "DELETE"
    finally:
        c.client.close()


def failures(results: list[Acked]) -> list[str]:
    return [f for r in results for f in r.failures]


#: 4 clients x this many mixed requests: a quick round always, the issue's 4 x 500 as ``slow``.
ROUNDS = [40, pytest.param(500, marks=pytest.mark.slow, id="4x500")]


@pytest.mark.parametrize("per_client", ROUNDS)
def test_four_workers_share_one_store(tmp_path: Path, per_client: int) -> None:
    args = ["--uri", str(tmp_path / "store"), "--embedder", HASH_EMBEDDER, "--workers", "4"]
    with process_server(args, tmp_path / "serve.log") as (url, proc):
        results = run_clients([url], None, per_client=per_client)
        assert failures(results) == []
        check_store(url, None, results)
        assert proc.poll() is None
    log = (tmp_path / "serve.log").read_text()
    assert "no API keys configured: listening on loopback only" in log
    assert log.count("Started server process") == 4  # uvicorn's line, once per worker
    assert "died" not in log  # no worker was lost and restarted on the way


@pytest.mark.parametrize("per_client", ROUNDS)
def test_two_servers_on_one_folder(tmp_path: Path, per_client: int) -> None:
    args = ["--uri", str(tmp_path / "store"), "--embedder", HASH_EMBEDDER, "--keys", KEYS]
    with (
        process_server(args, tmp_path / "a.log") as (a, _),
        process_server(args, tmp_path / "b.log") as (b, _),
    ):
        results = run_clients([a, b], ADMIN, per_client=per_client)
        assert failures(results) == []
        check_store(a, ADMIN, results)
        check_store(b, ADMIN, results)


def s3_round(tmp_path: Path, per_client: int) -> None:
    with moto_s3("memories") as options:
        args = ["--uri", "s3://memories/served", "--storage-options", json.dumps(options),
                "--embedder", HASH_EMBEDDER, "--keys", KEYS]  # fmt: skip
        with (
            process_server(args, tmp_path / "a.log") as (a, _),
            process_server(args, tmp_path / "b.log") as (b, _),
        ):
            results = run_clients([a, b], ADMIN, per_client=per_client)
            check_store(b, ADMIN, results)
    # Object-store commits can lose races for longer than LanceDB retries (its 30 s budget
    # on a loaded machine): those calls fail and change nothing. At most 1 % may (none did
    # in the 4 x 500 and 4 x 100 rounds measured with the test S3 server of s3_server.py).
    assert len(failures(results)) <= max(1, per_client * 4 // 100), failures(results)


def test_each_s3_server_starts_empty() -> None:
    """Every round gets a new, empty S3. moto's in-process server kept its buckets for the
    whole test process, so the slow round ran on the quick round's store: with the same seeds
    it sent the same texts, and its first add of a text still stored was answered ``NONE``."""
    boto3 = require("boto3")
    for _ in range(2):
        with moto_s3("memories") as options:
            keys = {k: options[k] for k in ("aws_access_key_id", "aws_secret_access_key")}
            endpoint, region = options["aws_endpoint"], options["aws_region"]
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region, **keys)
            assert s3.list_objects_v2(Bucket="memories")["KeyCount"] == 0
            s3.put_object(Bucket="memories", Key="served/leftover", Body=b"x")


def test_two_servers_on_s3(tmp_path: Path) -> None:
    s3_round(tmp_path, per_client=25)


@pytest.mark.slow
def test_two_servers_on_s3_4x500(tmp_path: Path) -> None:
    s3_round(tmp_path, per_client=500)
