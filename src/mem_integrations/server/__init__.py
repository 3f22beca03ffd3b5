"""The store as a service: Mem0's platform REST API, an MCP server and an inspector page.

Needs the extra ``[server]`` (FastAPI, uvicorn, the MCP SDK). Nothing here reaches into the
core: every route calls the public :class:`~mem_integrations.Memory` API, so the server and an
in-process ``Memory`` on the same store behave the same way.
"""

from .auth import Tenant, parse_keys
from .settings import ServerSettings

__all__ = ["ServerSettings", "Tenant", "build_app", "parse_keys"]


def __getattr__(name: str) -> object:
    # FastAPI is imported only when an app is built, so ``ServerSettings`` and the key parser
    # stay importable (and testable) without the extra.
    if name == "build_app":
        from .app import build_app

        return build_app
    raise AttributeError(name)
