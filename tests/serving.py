"""Starting and stopping real servers on 127.0.0.1 for the server suites.

Servers bind a free loopback port; readiness is a bounded poll of ``/healthz`` (each wait is
on the server process or thread itself, so a server that dies is noticed at once). Tools the
suites need beyond Python (the mem0 client, chromium) are skipped with a reason outside CI and
are failures in CI (``CI=true``), where ``.ci/run`` installs them.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

HASH_EMBEDDER = "mem_integrations.testing:HashEmbedder"
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """Skip outside CI, fail in CI: CI installs everything these suites need."""
    if IN_CI:
        pytest.fail(f"{what} is missing in CI (.ci/run installs it)", pytrace=False)
    pytest.skip(f"{what} is not installed", allow_module_level=True)


def require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"python package {module!r}")
        raise  # unreachable: missing() raises


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"the {name!r} executable")
    assert path is not None
    return path


def require_mem0() -> ModuleType:
    """Mem0's client with telemetry off and its config file in a temp folder, not ``~``."""
    os.environ["MEM0_TELEMETRY"] = "False"  # read when mem0 is first imported
    os.environ.setdefault("MEM0_DIR", tempfile.mkdtemp(prefix="mem0-home-"))
    return require("mem0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def thread_server(app: Any) -> Iterator[str]:
    """An app served by uvicorn on a thread of this process; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # at most ~30 s
            if server.started:
                break
            assert thread.is_alive(), "the server thread died while starting"
            thread.join(0.05)
        assert server.started, "the server did not start in time"
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def cli(*args: str) -> list[str]:
    """The ``mem-integrations`` command, run by this interpreter (and this ``PYTHONPATH``)."""
    return [sys.executable, "-c", "from mem_integrations.cli import main; main()", *args]


@contextmanager
def process_server(
    args: Sequence[str], log: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``mem-integrations serve ARGS --port P`` as a child process; yields (URL, process)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cli("serve", *args, "--host", "127.0.0.1", "--port", str(port)),
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            start_new_session=True,
        )  # fmt: skip
    try:
        for _ in range(1200):  # at most ~120 s: four workers each open the store
            if healthy(url):
                break
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        else:
            raise AssertionError(f"server not healthy in time:\n{log.read_text()}")
        yield url, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (uvicorn shuts its workers down cleanly), then SIGKILL the group if needed."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def moto_s3(bucket: str) -> Iterator[dict[str, str]]:
    """A new, empty local S3 server (moto, its own process) with one bucket; yields LanceDB
    storage options for it. See ``s3_server.py`` for why a process and how it is set up."""
    require("moto.server")
    boto3 = require("boto3")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("s3_server.py")), "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(300):  # at most ~30 s
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                try:
                    proc.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    continue
                raise AssertionError(f"the S3 server exited with {proc.returncode}") from None
        else:
            raise AssertionError("the S3 server did not start in time")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
        s3.create_bucket(Bucket=bucket)
        yield {"aws_endpoint": endpoint, "aws_region": "us-east-1", "allow_http": "true", **keys}
    finally:
        stop(proc)
