"""A local S3 server (moto) in a process of its own: ``python s3_server.py HOST PORT``.

Why a process, not moto's ``ThreadedMotoServer`` in the test process:

- moto keeps its buckets in module-level state, so every in-process server of one test
  process shares them: a second round on bucket ``memories`` started on the first round's
  store (the slow S3 round then found the quick round's memories, same seeds and texts, and
  answered ``NONE`` to its own first adds). A process per server starts empty.
- moto serves S3 in Python: in the test process it competed for one GIL with the client
  threads; here it has its own.

Two settings make it behave like S3 for LanceDB:

- Writes of one object are atomic. moto checks ``If-None-Match: *`` / ``If-Match`` and then
  stores the object in two unlocked steps; real S3 decides a conditional write atomically,
  and Lance relies on that to let exactly one writer create each table version. A lock around
  every object write closes the window (never observed open in 4,800 racing creates, but
  nothing in moto's code forbids it).
- No line per request on the log: werkzeug's access log costs a write per S3 call.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


def serve(host: str, port: int) -> None:
    """Serve S3 on ``host:port`` until the process is terminated."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.s3.responses import S3Response
    from werkzeug.serving import make_server

    writing = threading.Lock()
    put_object = S3Response.put_object

    def atomic_put_object(self: Any) -> Any:
        with writing:  # check the precondition and store the object as one step
            return put_object(self)

    S3Response.put_object = atomic_put_object  # type: ignore[method-assign]

    class QuietHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """No access log (errors are still logged)."""

    app = DomainDispatcherApplication(create_backend_app)
    make_server(host, port, app, threaded=True, request_handler=QuietHandler).serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
