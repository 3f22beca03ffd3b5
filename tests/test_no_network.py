"""No telemetry, no downloads: the default configuration never opens a network connection.

Three layers, strongest last. (1) In a fresh interpreter with a clean environment, every Python
socket entry point raises and records the attempt; ``Memory()`` with the bundled MiniLM model
runs add/search/update/delete/get_all/history/optimize. (2) The same child under ``strace``
(where installed): no ``connect``/``sendto`` to an IPv4/IPv6 address from any thread, which
covers LanceDB's and onnxruntime's native code. (3) The same child in a network namespace with
no interfaces (``unshare -rn``, where permitted): it still works, so nothing needs the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).parent / "reliability" / "offline_child.py"


def clean_env(home: Path) -> dict[str, str]:
    """No proxies, no cloud credentials, no LANCEDB_* or AWS_* settings from the outside."""
    keep = {"PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), PYTHONNOUSERSITE="1", HF_HUB_OFFLINE="1", NO_PROXY="*")
    return env


def run_child(tmp_path: Path, prefix: list[str] | None = None) -> dict[str, Any]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    cmd = [*(prefix or []), sys.executable, str(CHILD), str(work)]
    out = subprocess.run(
        cmd, env=clean_env(tmp_path), capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["embedder"] == "MiniLMEmbedder"  # the real default model, not a test double
    assert result["top_hit"] == "I moved to Lisbon last spring"
    assert result["listed"] == ["My favourite food is pastel de nata"]
    assert result["history"] == ["ADD", "UPDATE"]
    return result


def test_default_configuration_makes_no_python_level_network_call(tmp_path: Path) -> None:
    assert run_child(tmp_path)["attempts"] == []


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_no_native_thread_connects_anywhere(tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    prefix = ["strace", "-f", "-qq", "-e", "trace=execve,connect,sendto,sendmsg", "-o", str(trace)]
    probe = subprocess.run(["strace", "-qq", "-o", os.devnull, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("ptrace is not permitted here")
    result = run_child(tmp_path, prefix)
    assert result["attempts"] == []
    calls = trace.read_text().splitlines()
    assert any("execve(" in c and "python" in c for c in calls), "the tracer saw nothing"
    inet = [c for c in calls if re.search(r"AF_INET6?\b", c)]
    assert inet == [], inet[:5]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare is not installed")
def test_works_inside_a_namespace_without_network(tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unprivileged network namespaces are not permitted here")
    assert run_child(tmp_path, ["unshare", "-rn"])["attempts"] == []


def test_lancedb_and_onnxruntime_ship_no_telemetry_client() -> None:
    """Older lancedb releases had a usage-event module; 0.40 has none, and we check it stays so.

    onnxruntime records telemetry only on Windows (ETW), and the embedder turns it off anyway.
    """
    import importlib.util

    import lancedb
    import onnxruntime

    for mod in ("lancedb.utils.events", "lancedb.utils.sentry_log", "lancedb.telemetry"):
        assert importlib.util.find_spec(mod.rsplit(".", 1)[0]) is None or (
            importlib.util.find_spec(mod) is None
        ), mod
    pkg = Path(lancedb.__file__).parent
    hits = [
        str(p.relative_to(pkg))
        for p in pkg.rglob("*.py")
        if re.search(r"posthog|segment\.io|mixpanel|sentry_sdk", p.read_text(errors="ignore"))
    ]
    assert hits == []
    assert hasattr(onnxruntime, "disable_telemetry_events")
