"""The default configuration end to end, with every Python-level network entry point blocked.

Run as a script in a fresh interpreter (``python offline_child.py STORE_DIR``) so that nothing
imported by the test runner is reused. It prints one JSON line: the attempts it caught (must be
none) and what the calls returned. ``Memory()`` here is the zero-argument default: bundled
MiniLM embedder through onnxruntime, embedded LanceDB in the working directory.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

attempts: list[str] = []


def _blocked(name: str) -> Any:
    def guard(*args: Any, **kwargs: Any) -> Any:
        attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
        raise OSError(f"network disabled by the offline test: {name}")

    return guard


socket.socket.connect = _blocked("socket.connect")  # type: ignore[method-assign]
socket.socket.connect_ex = _blocked("socket.connect_ex")  # type: ignore[method-assign]
socket.socket.sendto = _blocked("socket.sendto")  # type: ignore[method-assign]
socket.getaddrinfo = _blocked("getaddrinfo")
socket.gethostbyname = _blocked("gethostbyname")
socket.create_connection = _blocked("create_connection")


def main(workdir: str) -> None:
    os.chdir(workdir)
    from mem_integrations import Memory

    m = Memory()
    added = m.add(
        [
            {"role": "user", "content": "I moved to Lisbon last spring"},
            {"role": "user", "content": "My favourite food is grilled sardines"},
        ],
        user_id="ana",
    )["results"]
    hits = m.search("Where does Ana live?", user_id="ana", top_k=1)["results"]
    m.update(added[1]["id"], "My favourite food is pastel de nata", user_id="ana")
    m.delete(added[0]["id"], user_id="ana")
    listed = m.get_all(user_id="ana")["results"]
    history = m.history(added[1]["id"])
    m.optimize()
    m.close()
    print(
        json.dumps(
            {
                "attempts": attempts,
                "top_hit": hits[0]["memory"],
                "listed": [r["memory"] for r in listed],
                "history": [e["event"] for e in history],
                "embedder": type(m.embedder).__name__,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
