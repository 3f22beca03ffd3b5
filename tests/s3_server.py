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
- A LIST answer converts each object's time stamp with dateutil (~0.4 ms each), and Lance
  lists every kept version of a table before each read: each stamp is converted once.
"""

from __future__ import annotations

import functools
import socket
import sys
import threading
from typing import Any

from moto.core.serialize import TimestampSerializer
from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class Handler(MotoRequestHandler):
    """moto's request handler, answering without delay and without an access log."""

    def setup(self) -> None:
        super().setup()  # small answers go out at once, not after the client's delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log (errors are still logged)."""


def s3_app() -> Any:
    """moto's S3 app, one request at a time, with time stamps converted once."""
    stamps = TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_ISO8601)
    convert = functools.lru_cache(maxsize=65536)(
        functools.partial(TimestampSerializer._convert_timestamp_to_str, stamps)
    )

    def convert_once(self: Any, value: Any, timestamp_format: str) -> Any:
        return convert(value, timestamp_format)

    TimestampSerializer._convert_timestamp_to_str = convert_once  # type: ignore[method-assign]
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
