"""A local S3 server (moto) in a process of its own: ``python s3_server.py HOST PORT``.

Why a process, not moto's ``ThreadedMotoServer`` in the test process:

- moto keeps its buckets in module-level state, so every in-process server of one test
  process shares them: a second round on bucket ``memories`` started on the first round's
  store (the slow S3 round then found the quick round's memories, same seeds and texts, and
  answered ``NONE`` to its own first adds). A process per server starts empty.
- moto serves S3 in Python: in the test process it competed for one GIL with the client
  threads; here it has its own.

Settings that make it behave like S3 for LanceDB, and keep it fast enough:

- Requests are handled one at a time, each atomically, as S3 behaves. moto's threads share
  its state without locks: it checks ``If-None-Match: *`` and then stores the object in two
  steps (real S3 decides a conditional write atomically, and Lance relies on that to let
  exactly one writer create each table version; never observed open in 4,800 racing creates,
  but nothing in moto forbids it), and a LIST iterating a bucket while another thread deletes
  from it fails with a KeyError (a 500, seen while Lance cleaned up old versions). moto is
  bound by one GIL anyway, so one lock costs little.
- Only S3 is served, by its app directly: moto's dispatcher looks the service up among all of
  moto's for every request (~5 ms each). No access log line per request either.
- A LIST answer is written straight as S3's XML. moto's generic serializer spends ~0.3 ms
  per listed object (time stamps through dateutil, attribute lookups), and Lance lists every
  kept version of a table to find the latest: LISTs were 60 % of moto's time.
"""

from __future__ import annotations

import socket
import sys
import threading
from typing import Any
from xml.sax.saxutils import escape

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from moto.s3.responses import S3Response
from werkzeug.serving import make_server

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class Handler(MotoRequestHandler):
    """moto's request handler, answering without delay and without an access log."""

    def setup(self) -> None:
        super().setup()  # small answers go out at once, not after the client's delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log (errors are still logged)."""


def list_xml(result: dict[str, Any]) -> bytes:
    """A ``ListObjectsV2`` result of moto as S3's ``ListBucketResult`` XML."""

    def el(name: str, value: Any) -> str:
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return f"<{name}>{escape(text)}</{name}>"

    parts = [el("Name", result["Name"]), el("Prefix", result["Prefix"])]
    parts += [el("KeyCount", result["KeyCount"]), el("MaxKeys", result["MaxKeys"])]
    parts.append(el("IsTruncated", result["IsTruncated"]))
    for item in result["Contents"]:
        fields = ("Key", "LastModified", "ETag", "Size", "StorageClass")
        parts.append("<Contents>" + "".join(el(f, item[f]) for f in fields) + "</Contents>")
    parts += ["<CommonPrefixes>" + el("Prefix", p["Prefix"]) + "</CommonPrefixes>"
              for p in result.get("CommonPrefixes", ())]  # fmt: skip
    for name in ("Delimiter", "EncodingType", "NextContinuationToken", "StartAfter"):
        if name in result:
            parts.append(el(name, result[name]))
    body = "".join(parts)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{S3_NS}">'
            f"{body}</ListBucketResult>").encode()  # fmt: skip


def s3_app() -> Any:
    """moto's S3 app, one request at a time, with LIST answers written directly."""
    serialized = S3Response.serialized

    def fast_list(self: Any, action_result: Any) -> Any:
        result = action_result.result
        plain = isinstance(result, dict) and all(
            set(item) <= {"Key", "LastModified", "ETag", "Size", "StorageClass"}
            for item in result.get("Contents", ())
        )
        if self.data.get("Action") != "ListObjectsV2" or not plain:
            return serialized(self, action_result)  # owners, checksums, errors: moto's way
        return 200, {"Content-Type": "application/xml", **self.response_headers}, list_xml(result)

    S3Response.serialized = fast_list  # type: ignore[method-assign]
    app = create_backend_app("s3")
    lock = threading.Lock()

    def atomic(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:  # the whole answer is made under the lock, body included
            out = app(environ, start_response)
            try:
                return [b"".join(out)]
            finally:
                if hasattr(out, "close"):
                    out.close()

    return atomic


def serve(host: str, port: int) -> None:
    """Serve S3 on ``host:port`` until the process is terminated."""
    make_server(host, port, s3_app(), threaded=True, request_handler=Handler).serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
