"""Mem0's own ``MemoryClient`` / ``AsyncMemoryClient`` against ``mem-integrations serve``.

The server runs on 127.0.0.1 in this process (uvicorn on a thread) over a real LanceDB store
in ``tmp_path``; the client is the real ``mem0ai`` package, telemetry off. Every method the
issue lists, tenant isolation with several keys, and bad requests that change nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from serving import require, require_mem0, thread_server

require("fastapi")
require_mem0()
from mem0 import AsyncMemoryClient, MemoryClient  # noqa: E402
from mem0.exceptions import (  # noqa: E402
    AuthenticationError,
    MemoryNotFoundError,
    MemoryQuotaExceededError,
)
from mem0.exceptions import ValidationError as Mem0ValidationError  # noqa: E402

from mem_integrations import Memory  # noqa: E402
from mem_integrations.cli import build_cli  # noqa: E402
from mem_integrations.server import ServerSettings, build_app, parse_keys  # noqa: E402

ADMIN = "key-admin-0001"
SHOP = "key-shop-00001"
ALICE = "key-alice-0001"
BOB = "key-bob-000001"
SHOP_ALICE = "key-shop-alice1"
KEYS = {
    SHOP_ALICE: {"app_id": "shop", "user_ids": ["alice"]},
    ADMIN: {"admin": True},
    SHOP: {"app_id": "shop"},
    ALICE: {"user_ids": ["alice"]},
    BOB: {"user_ids": ["bob"]},
}
MAX_BODY = 64 * 1024


@pytest.fixture
def url(memory: Memory) -> Iterator[str]:
    settings = ServerSettings(keys=parse_keys(KEYS), max_body_bytes=MAX_BODY)
    with thread_server(build_app(settings, memory=memory)) as base:
        yield base


OPEN: list[Any] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().client.close()


def client(url: str, key: str = ADMIN) -> Any:
    c = MemoryClient(host=url, api_key=key)
    OPEN.append(c)
    return c


def texts(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(r["memory"] for r in rows)


def test_every_client_method(url: str, memory: Memory) -> None:
    c = client(url)  # the constructor already called /v1/ping/ with the key
    tea = c.add("I like green tea", user_id="alice", metadata={"kind": "drink"})["results"][0]
    assert tea["event"] == "ADD" and tea["data"]["memory"] == "I like green tea"
    msgs = [{"role": "user", "content": "I live in Lisbon"},
            {"role": "user", "content": "I cycle to work"}]  # fmt: skip
    assert [e["event"] for e in c.add(msgs, user_id="alice")["results"]] == ["ADD", "ADD"]
    assert c.add("I like green tea", user_id="alice")["results"][0]["event"] == "NONE"
    c.add("Bob plays chess", user_id="bob")
    c.add("Carol sings", user_id="carol", agent_id="coach")
    c.add("Carol hums", filters={"AND": [{"user_id": "carol"}, {"agent_id": "coach"}]})
    assert texts(memory.get_all(user_id="carol", agent_id="coach")["results"]) == [
        "Carol hums", "Carol sings"]  # fmt: skip

    got = c.get(tea["id"])
    assert got["memory"] == "I like green tea" and got["metadata"] == {"kind": "drink"}

    page1 = c.get_all(filters={"user_id": "alice"}, page=1, page_size=2)
    assert page1["count"] == 3 and len(page1["results"]) == 2
    assert page1["previous"] is None and "page=2" in page1["next"]
    page2 = c.get_all(filters={"user_id": "alice"}, page=2, page_size=2)
    assert len(page2["results"]) == 1 and page2["next"] is None
    assert texts(page1["results"] + page2["results"]) == [
        "I cycle to work", "I like green tea", "I live in Lisbon"]  # fmt: skip
    only = c.get_all(filters={"AND": [{"user_id": "alice"}, {"metadata": {"kind": "drink"}}]})
    assert texts(only["results"]) == ["I like green tea"]

    hits = c.search("green tea", filters={"user_id": "alice"}, top_k=2)["results"]
    assert hits[0]["id"] == tea["id"] and 0 < hits[0]["score"] <= 1
    assert hits[0]["score_breakdown"]["decay"] == 1.0  # decay is off on this server
    assert c.search("tea", filters={"user_id": "alice"}, fields=["id"])["results"][0] == {
        "id": tea["id"]}  # fmt: skip

    c.update(tea["id"], text="I like oolong tea", metadata={"kind": "tea"})
    assert memory.get(tea["id"])["memory"] == "I like oolong tea"
    c.update(tea["id"], expiration_date="2999-01-01")
    assert c.get(tea["id"])["expiration_date"] == "2999-01-01"  # Mem0's date shape
    assert [e["event"] for e in c.history(tea["id"])] == ["ADD", "UPDATE", "UPDATE"]

    lisbon, cycle = sorted(page1["results"] + page2["results"], key=lambda r: r["memory"])[:2]
    out = c.batch_update([{"memory_id": lisbon["id"], "text": "I live in Porto"}])
    assert "1" in out["message"] and memory.get(lisbon["id"])["memory"] == "I live in Porto"
    c.batch_delete([{"memory_id": cycle["id"]}])
    with pytest.raises(MemoryNotFoundError):
        c.get(cycle["id"])

    assert c.delete(lisbon["id"])["message"] == "Memory deleted successfully!"
    assert [e["event"] for e in c.history(lisbon["id"])] == ["ADD", "UPDATE", "DELETE"]

    names = {(e["type"], e["name"]) for e in c.users()["results"]}
    assert names == {("user", "alice"), ("user", "bob"), ("user", "carol"), ("agent", "coach")}
    c.delete_all(user_id="bob")
    assert memory.get_all(user_id="bob")["results"] == []
    c.delete_users(agent_id="coach")
    assert memory.get_all(user_id="carol")["results"] == []

    c.reset()  # the client deletes every entity it is shown
    assert c.users()["results"] == [] and memory.get_all(user_id="alice")["results"] == []


def test_feedback(url: str) -> None:
    c = client(url)
    mid = c.add("I like jazz", user_id="alice")["results"][0]["id"]
    out = c.feedback(mid, feedback="POSITIVE", feedback_reason="spot on")
    assert out["feedback"] == "POSITIVE"
    with pytest.raises(MemoryNotFoundError):
        client(url, BOB).feedback(mid, feedback="NEGATIVE")


def test_async_client(url: str, memory: Memory) -> None:
    async def run() -> None:
        async with AsyncMemoryClient(host=url, api_key=ALICE) as c:
            added = await c.add("I collect stamps", user_id="alice")
            mid = added["results"][0]["id"]
            assert (await c.get(mid))["memory"] == "I collect stamps"
            hits = await c.search("stamps", filters={"user_id": "alice"})
            assert hits["results"][0]["id"] == mid
            listed = await c.get_all(filters={"user_id": "alice"})
            assert [r["id"] for r in listed["results"]] == [mid]
            await c.update(mid, text="I collect old stamps")
            assert [e["event"] for e in await c.history(mid)] == ["ADD", "UPDATE"]
            await c.delete(mid)
            assert (await c.users())["results"] == []

    asyncio.run(run())
    assert memory.get_all(user_id="alice")["results"] == []


def test_tenants_cannot_touch_each_other(url: str, memory: Memory) -> None:
    alice, bob, shop = client(url, ALICE), client(url, BOB), client(url, SHOP)
    secret = alice.add("alice's secret", user_id="alice")["results"][0]["id"]
    shop_row = shop.add("bought a kettle", user_id="alice")["results"][0]
    assert memory.get(shop_row["id"])["app_id"] == "shop"  # the key's app is stamped on
    bob.add("bob's note", user_id="bob")

    with pytest.raises(AuthenticationError):  # 403: naming another user is refused
        bob.search("secret", filters={"user_id": "alice"})
    with pytest.raises(AuthenticationError):  # an OR cannot widen a user key
        bob.get_all(filters={"OR": [{"user_id": "bob"}, {"user_id": "alice"}]})
    with pytest.raises(AuthenticationError):
        shop.add("x", user_id="alice", app_id="other")
    for call in (bob.get, bob.history, bob.delete, shop.get):
        with pytest.raises(MemoryNotFoundError):
            call(secret)
    with pytest.raises(MemoryNotFoundError):
        bob.update(secret, text="hacked")
    with pytest.raises(MemoryNotFoundError):
        bob.batch_delete([{"memory_id": secret}])
    with pytest.raises(MemoryNotFoundError):
        shop.batch_update([{"memory_id": secret, "text": "hacked"}])
    with pytest.raises(AuthenticationError):
        bob.delete_users(user_id="alice")

    # The shop key sees only the shop's memories, whatever its filter says.
    wide = shop.get_all(filters={"OR": [{"app_id": "other"}, {"user_id": "alice"}]})
    assert [r["id"] for r in wide["results"]] == [shop_row["id"]]
    assert {(e["type"], e["name"]) for e in shop.users()["results"]} == {
        ("app", "shop"), ("user", "alice")}  # fmt: skip
    assert {e["name"] for e in bob.users()["results"]} == {"bob"}
    shop.delete_all(user_id="alice")  # only alice's memories inside the shop
    assert memory.get(secret)["memory"] == "alice's secret"
    assert [e["event"] for e in memory.history(secret)] == ["ADD"]

    both = client(url, SHOP_ALICE)  # an app and a user: both bounds hold at once
    memory.add("alice at the bakery", user_id="alice", app_id="bakery")
    with pytest.raises(AuthenticationError):
        both.delete_users(app_id="bakery")
    with pytest.raises(AuthenticationError):
        both.delete_users(user_id="bob")
    note = both.add("alice's shop note", user_id="alice")["results"][0]["id"]
    assert memory.get(note)["app_id"] == "shop"
    assert [r["id"] for r in both.get_all(filters={"user_id": "alice"})["results"]] == [note]
    assert memory.get_all(user_id="alice", app_id="bakery")["results"] != []

    with httpx.Client() as own, pytest.raises(ValueError, match="Invalid API key"):
        MemoryClient(host=url, api_key="key-nobody-01", client=own)
    assert httpx.get(f"{url}/v1/ping/").status_code == 401


def counts(memory: Memory) -> tuple[Any, ...]:
    stats = memory.stats()
    return stats["memories"], stats["history"], stats["version"]


def test_bad_requests_get_mem0_errors_and_change_nothing(url: str, memory: Memory) -> None:
    c = client(url)
    c.add("I keep bees", user_id="alice")
    before = counts(memory)
    auth = {"Authorization": f"Token {ADMIN}"}
    json_headers = {**auth, "Content-Type": "application/json"}

    def post(path: str, **kw: Any) -> httpx.Response:
        return httpx.post(url + path, headers=json_headers, timeout=30, **kw)

    def expect(res: httpx.Response, status: int, words: str) -> None:
        assert res.status_code == status, res.text
        body = res.json()
        assert body["detail"] == body["error"] and words in body["detail"], body

    expect(post("/v3/memories/add/", content=b'{"messages": [oops'), 400, "Malformed JSON")
    expect(post("/v3/memories/add/", content=b"[1, 2]"), 400, "Invalid request")
    big = {"messages": "x" * (MAX_BODY + 1), "user_id": "alice"}
    expect(post("/v3/memories/add/", json=big), 413, "larger than")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b'{"messages": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"y" * 1024
        yield b'", "user_id": "alice"}'

    expect(post("/v3/memories/add/", content=chunks()), 413, "larger than")
    expect(httpx.get(url + "/v9/nothing/", headers=auth), 404, "Not found")
    expect(httpx.patch(url + "/v1/ping/", headers=auth), 405, "not allowed")
    search = {"query": "bees", "filters": {"user_id": "alice"}}
    expect(post("/v3/memories/search/", json={**search, "reference_date": "2020-01-01"}),
           400, "reference_date")  # fmt: skip
    expect(post("/v3/memories/search/", json={**search, "rerank": True}), 400, "rerank")
    expect(post("/v3/memories/add/", json={"messages": "no scope"}), 400, "user_id")
    for bad in ({"user_id": "*"}, {"genre": "x"}, {"OR": [{"user_id": "alice"}]}):
        expect(post("/v3/memories/add/", json={"messages": "x", "filters": bad}), 400, "filters")
    twice = {"messages": "x", "user_id": "alice", "filters": {"user_id": "bob"}}
    expect(post("/v3/memories/add/", json=twice), 400, "user_id")
    expect(httpx.request("DELETE", url + "/v1/batch/", headers=json_headers, json={
        "memories": [{"memory_id": "m"}] * 1001}), 400, "1000")  # fmt: skip
    expect(httpx.delete(url + "/v1/memories/?user_id=alice&everything=1", headers=auth),
           400, "everything")  # fmt: skip
    expect(post("/v3/memories/", json={"filters": {"user_id": {"regex": ".*"}}}), 400, "regex")

    with pytest.raises(Mem0ValidationError):
        c.add("no scope at all")
    with pytest.raises(MemoryQuotaExceededError):  # mem0's name for HTTP 413
        c.add("z" * (MAX_BODY + 1), user_id="alice")
    with pytest.raises(MemoryNotFoundError):
        c.update("no-such-id", text="x")
    assert counts(memory) == before


def test_openapi_page_and_health(url: str) -> None:
    assert httpx.get(url + "/healthz").json()["auth"] is True
    spec = httpx.get(url + "/openapi.json").json()
    for path in ("/v3/memories/add/", "/v3/memories/search/", "/v3/memories/",
                 "/v1/memories/{memory_id}/history/", "/v1/batch/", "/v1/feedback/"):  # fmt: skip
        assert path in spec["paths"]
    assert "swagger" in httpx.get(url + "/docs").text.lower()


def test_keyless_server_refuses_to_leave_loopback(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["serve", "--uri", str(tmp_path / "s"),
                                              "--host", "0.0.0.0"])  # fmt: skip
    assert result.exit_code == 2
    assert "no API keys configured: refusing to bind to 0.0.0.0" in result.output
    bad = CliRunner().invoke(build_cli(), ["serve", "--keys", '{"short": {"admin": true}}'])
    assert bad.exit_code == 2 and "at least 8 characters" in bad.output
