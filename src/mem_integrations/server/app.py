"""The FastAPI application: Mem0's routes, ``/healthz``, the inspector at ``/ui``, ``/docs``.

:func:`build_app` wires one ``Memory`` and one key table into an app; :func:`create_app` is
the factory uvicorn's workers call, reading the parent's settings from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from mem_integrations import Memory, __version__

from .api import router
from .auth import Authenticator
from .errors import BodyLimit, install_error_handlers
from .settings import ServerSettings

__all__ = ["build_app", "create_app"]

log = logging.getLogger("mem_integrations.server")


def _inspector_page() -> str:
    return resources.files(__package__).joinpath("ui", "index.html").read_text(encoding="utf-8")


def build_app(settings: ServerSettings | None = None, memory: Memory | None = None) -> FastAPI:
    """An app over ``memory`` (or the store ``settings`` name, opened at startup).

    A ``Memory`` passed in is the caller's to close; one opened here is closed at shutdown,
    which flushes access records and finishes background compaction.
    """
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = memory is None
        app.state.memory = memory if memory is not None else settings.open_memory()
        try:
            yield
        finally:
            if owned:
                app.state.memory.close()

    app = FastAPI(
        title="mem_integrations",
        version=__version__,
        summary="Mem0's platform REST API over a LanceDB store.",
        lifespan=lifespan,
    )
    app.state.auth = Authenticator(settings.keys)
    if memory is not None:
        app.state.memory = memory
    install_error_handlers(app)
    app.include_router(router)
    page = _inspector_page()

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, Any]:
        """Liveness without a key: for load balancers and for tests waiting on startup."""
        return {"status": "ok", "version": __version__, "auth": not app.state.auth.open}

    @app.get("/ui", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/ui/", response_class=HTMLResponse, include_in_schema=False)
    def inspector() -> str:
        """The inspector: one static page over the JSON routes (no build step)."""
        return page

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def create_app() -> FastAPI:
    """Uvicorn factory (``--workers``): each worker opens the store the parent was given."""
    return build_app(ServerSettings.from_env())
