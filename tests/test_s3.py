"""The store on S3-compatible object storage, shared by several processes ("app servers").

A real S3 server (moto's server mode) runs on 127.0.0.1 inside the test process; LanceDB talks
to it over HTTP exactly as it would to AWS, MinIO or R2. Nothing leaves the loopback interface.

Concurrent writers need no lock service: LanceDB 0.40 (Lance 13) commits a new table version
by writing its manifest with ``If-None-Match: *`` (S3 conditional writes), so of two writers
racing for version N exactly one wins and the other rebases and retries. The spy below checks
that every manifest write is conditional, and that the server refused the losers.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

moto_server = pytest.importorskip("moto.server", reason='needs "moto[server]" (dev extra)')
boto3 = pytest.importorskip("boto3")

from moto.s3 import responses as s3_responses  # noqa: E402

from mem_integrations import MemoryNotFoundError  # noqa: E402
from reliability.checks import assert_own_writes_searchable, run_writer_processes  # noqa: E402
from reliability.workers import open_memory  # noqa: E402

BUCKET = "memories"


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[dict[str, str], Counter[str]]]:
    """A local S3 server, a bucket, LanceDB storage options, and a spy on manifest writes."""
    manifest_puts: Counter[str] = Counter()
    real_put = s3_responses.S3Response.put_object

    def spy(self: Any) -> Any:
        if "/_versions/" in self.path and self.path.endswith(".manifest"):
            manifest_puts[self.headers.get("If-None-Match") or "unconditional"] += 1
        try:
            return real_put(self)
        except Exception as exc:  # moto signals a lost race by raising PreconditionFailed
            if type(exc).__name__ == "PreconditionFailed":
                manifest_puts["refused"] += 1
            raise

    s3_responses.S3Response.put_object = spy  # type: ignore[method-assign]
    port = free_loopback_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys).create_bucket(
        Bucket=BUCKET
    )
    options = {"aws_endpoint": endpoint, "aws_region": "us-east-1", "allow_http": "true", **keys}
    try:
        yield options, manifest_puts
    finally:
        server.stop()
        s3_responses.S3Response.put_object = real_put  # type: ignore[method-assign]


def test_memory_round_trip_on_s3(s3: tuple[dict[str, str], Counter[str]]) -> None:
    options, _ = s3
    uri = f"s3://{BUCKET}/roundtrip"
    with open_memory(uri, options) as m:
        added = m.add(
            [
                {"role": "user", "content": "I work at the harbour"},
                {"role": "user", "content": "I own a red bike"},
            ],
            user_id="ines",
            metadata={"source": "chat"},
        )["results"]
        m.update(added[1]["id"], "I own a blue bike", user_id="ines")
        hits = m.search("bike colour", user_id="ines", top_k=1)["results"]
        assert hits[0]["memory"] == "I own a blue bike"
        m.optimize()
    # A second "app server": a new connection to the same bucket sees the same memories.
    with open_memory(uri, options) as other:
        listed = {r["memory"] for r in other.get_all(user_id="ines")["results"]}
        assert listed == {"I work at the harbour", "I own a blue bike"}
        assert [e["event"] for e in other.history(added[1]["id"])] == ["ADD", "UPDATE"]
        other.delete(added[0]["id"], user_id="ines")
        assert (
            other.get_all(filters={"metadata": {"source": "chat"}}, user_id="ines")["results"][0][
                "memory"
            ]
            == "I own a blue bike"
        )


def run_s3_writers(s3: tuple[dict[str, str], Counter[str]], tmp_path: Path, ops: int) -> int:
    options, puts = s3
    before = Counter(puts)
    acked = run_writer_processes(
        f"s3://{BUCKET}/shared-{tmp_path.name}", tmp_path, writers=2, ops=ops,
        storage_options=options, optimize_every=15,
    )  # fmt: skip
    during = Counter(puts)
    during.subtract(before)
    assert during["unconditional"] == 0, "a manifest was written without If-None-Match"
    assert during["*"] > ops  # every commit of both writers went through the conditional path
    return acked


def test_own_writes_searchable_at_once_with_a_lax_interval(
    s3: tuple[dict[str, str], Counter[str]],
) -> None:
    """An hour's interval spares object-store reads; it must not hide this process's writes."""
    options, _ = s3
    uri = f"s3://{BUCKET}/lax"
    with open_memory(uri, options, read_consistency_interval=timedelta(hours=1)) as m:
        assert_own_writes_searchable(m)


def test_a_second_server_sees_each_write_at_once(s3: tuple[dict[str, str], Counter[str]]) -> None:
    """Two servers on one bucket, with no interval to wait for: each read or write on one sees
    every write the other acknowledged before it. On object storage the store checks for the
    latest version once per table call instead of before each LanceDB call
    (``storage.freshness``); a table left at the version it was opened at fails here."""
    options, _ = s3
    uri = f"s3://{BUCKET}/fresh"
    with open_memory(uri, options) as a, open_memory(uri, options, clock_offset=1) as b:
        mid = a.add("I keep bees", user_id="ines")["results"][0]["id"]
        assert b.get(mid)["memory"] == "I keep bees"
        assert [r["memory"] for r in b.get_all(user_id="ines")["results"]] == ["I keep bees"]
        b.update(mid, "I keep wasps", user_id="ines")
        assert a.get(mid)["memory"] == "I keep wasps"
        assert [e["event"] for e in a.history(mid)] == ["ADD", "UPDATE"]
        assert a.add("I keep wasps", user_id="ines")["results"][0]["event"] == "NONE"
        a.delete(mid, user_id="ines")
        with pytest.raises(MemoryNotFoundError):
            b.get(mid)
        assert b.get_all(user_id="ines")["results"] == []
        assert b.add("I keep wasps", user_id="ines")["results"][0]["event"] == "ADD"


def test_two_processes_write_one_s3_store_concurrently(
    s3: tuple[dict[str, str], Counter[str]], tmp_path: Path
) -> None:
    assert run_s3_writers(s3, tmp_path, ops=15) >= 15


@pytest.mark.slow
def test_two_processes_write_one_s3_store_long(
    s3: tuple[dict[str, str], Counter[str]], tmp_path: Path
) -> None:
    assert run_s3_writers(s3, tmp_path, ops=50) >= 50


def test_a_clean_close_on_s3_spares_the_next_open_its_writes(
    s3: tuple[dict[str, str], Counter[str]],
) -> None:
    """The settled record (``storage.watermark``) is a meta commit like any other on S3."""
    from mem_integrations.core.storage.recovery import ROWS_READ
    from mem_integrations.core.storage.schema import read_meta
    from mem_integrations.core.storage.watermark import SETTLED_PREFIX

    options, _ = s3
    uri = f"s3://{BUCKET}/settled"
    with open_memory(uri, options) as m:
        ids = [r["id"] for r in m.add(
            [{"role": "user", "content": f"fact {i}"} for i in range(20)],
            user_id="u", infer=False,
        )["results"]]  # fmt: skip
        m.delete(ids[0])
        writer = m.store.writer.id
    assert SETTLED_PREFIX + writer in read_meta(m.store.db)
    before = dict(ROWS_READ)
    with open_memory(uri, options) as again:
        again.wait_for_housekeeping()
        assert ROWS_READ.get("memories", 0) == before.get("memories", 0)
        assert ROWS_READ.get("deletions", 0) == before.get("deletions", 0)
        assert len(again.get_all(user_id="u")["results"]) == 19
