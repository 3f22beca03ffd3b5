"""``mem-integrations serve`` and ``mem-integrations mcp``.

Both import their server libraries inside the command, so the rest of the CLI works without
the ``[server]`` extra and these two say what to install instead of failing on import.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from mem_integrations import ConfigurationError

from .settings import ServerSettings, is_loopback

__all__ = ["KEYS_ENV", "SERVER_HINT", "add_server_commands", "mcp", "serve"]

log = logging.getLogger("mem_integrations.server")

SERVER_HINT = 'this command needs its extra: pip install "mem-integrations[server]"'

#: Environment variable holding the API keys (JSON, or the path of a JSON file).
KEYS_ENV = "MEM_INTEGRATIONS_API_KEYS"

#: Seconds a worker may take to answer uvicorn's supervisor before it is restarted.
WORKER_HEALTHCHECK_S = 120


def _need_server_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import mcp  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise click.ClickException(SERVER_HINT) from None


def _settings(uri: str | None, storage_options: str | None, embedder: str | None,
              **extra: Any) -> ServerSettings:  # fmt: skip
    try:
        options = json.loads(storage_options) if storage_options else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON ({exc.msg})", param_hint="--storage-options"
        ) from None
    return ServerSettings(uri=uri, storage_options=options, embedder=embedder, **extra)


_store = [
    click.option("--uri", envvar="MEM_INTEGRATIONS_URI", default=None, show_envvar=True,
                 help="LanceDB URI of the store (default ./.mem_integrations/lancedb)."),
    click.option("--storage-options", default=None,
                 help='Object-store options as JSON, e.g. {"aws_endpoint": "..."}.'),
    click.option("--embedder", default=None,
                 help="module:attribute of an embedder (default: the bundled MiniLM)."),
]  # fmt: skip


def _with_store(fn: Any) -> Any:
    for option in reversed(_store):
        fn = option(fn)
    return fn


@click.command()
@_with_store
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the store.")  # fmt: skip
@click.option("--keys", envvar=KEYS_ENV, default=None, show_envvar=True,
              help='API keys: JSON {"KEY": {"app_id": ...} | {"user_ids": [...]} | '
                   '{"admin": true}}, or the path of such a file.')  # fmt: skip
@click.option("--decay", is_flag=True, help="Rank recently used memories higher.")
@click.option("--max-body-bytes", default=None, type=int, help="Largest request body.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
def serve(uri: str | None, storage_options: str | None, embedder: str | None, host: str,
          port: int, workers: int, keys: str | None, decay: bool, max_body_bytes: int | None,
          log_level: str) -> None:  # fmt: skip
    """Serve the store over Mem0's platform REST API (MemoryClient(host=...) works).

    Without API keys the server has no authentication, so it only binds to loopback. Docs
    of the API at /docs, the inspector page at /ui.
    """
    _need_server_extra()
    import os

    import uvicorn

    from .auth import parse_keys

    try:
        key_table = parse_keys(keys) if keys else {}
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--keys") from None
    if not key_table and not is_loopback(host):
        raise click.UsageError(
            f"no API keys configured: refusing to bind to {host}. Give --keys (or "
            f"${KEYS_ENV}) to serve beyond this machine."
        )
    extra: dict[str, Any] = {"keys": key_table, "decay": decay}
    if max_body_bytes is not None:
        extra["max_body_bytes"] = max_body_bytes
    settings = _settings(uri, storage_options, embedder, **extra)
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s: %(message)s")
    if key_table:
        log.info("%d API key(s) configured", len(key_table))
    else:
        log.warning("no API keys configured: listening on loopback only (%s), and every "
                    "caller has full access to the store", host)  # fmt: skip
    log.info("serving http://%s:%d (API docs /docs, inspector /ui) with %d worker(s)",
             host, port, workers)  # fmt: skip
    os.environ.update(settings.to_env())  # the workers read their settings from here
    # Workers are spawned and import the whole stack before they answer the supervisor's
    # health ping; uvicorn's default 5 s restarts them in a loop on a busy 2-core machine.
    uvicorn.run("mem_integrations.server.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level=log_level,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)  # fmt: skip


@click.command()
@_with_store
@click.option("--user-id", default=None, help="Scope of every tool call: user_id.")
@click.option("--agent-id", default=None, help="Scope: agent_id.")
@click.option("--run-id", default=None, help="Scope: run_id.")
@click.option("--app-id", default=None, help="Scope: app_id.")
@click.option("--transport", type=click.Choice(["stdio", "streamable-http"]), default="stdio",
              show_default=True)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="streamable-http only; loopback only (MCP here has no keys).")  # fmt: skip
@click.option("--port", default=8001, show_default=True, type=int)
def mcp(uri: str | None, storage_options: str | None, embedder: str | None,
        user_id: str | None, agent_id: str | None, run_id: str | None, app_id: str | None,
        transport: str, host: str, port: int) -> None:  # fmt: skip
    """Serve one scope's memory as MCP tools (add, search, list, get, update, delete, ...)."""
    _need_server_extra()
    from .mcp import build_mcp

    if transport == "streamable-http" and not is_loopback(host):
        raise click.UsageError(f"the MCP server has no authentication: refusing to bind {host}")
    scope = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
    if not any(scope.values()):
        raise click.UsageError("name the scope: --user-id, --agent-id, --run-id or --app-id")
    memory = _settings(uri, storage_options, embedder).open_memory()
    try:
        server = build_mcp(memory, {k: v for k, v in scope.items() if v}, host=host, port=port)
        server.run("stdio" if transport == "stdio" else "streamable-http")
    finally:
        memory.close()


def add_server_commands(group: click.Group) -> None:
    """Register ``serve`` and ``mcp`` on the main command group."""
    group.add_command(serve)
    group.add_command(mcp)
