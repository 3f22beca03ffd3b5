"""Every failure as Mem0-shaped JSON: ``{"error", "detail", "code"}`` with Mem0's status codes.

Mem0's clients turn a non-2xx answer into a typed exception and take its message from
``detail`` (their 400/404 bodies say ``error``), so both keys carry the same text. ``code``
names our error class, for callers that branch on it. Bad input is refused before the core
writes anything (the core validates first), so an error here always means "nothing changed".
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mem_integrations import (
    ConfigurationError,
    LimitExceededError,
    MemoryLayerError,
    MemoryNotFoundError,
    StoreError,
)

from .auth import AuthError, Forbidden

__all__ = ["BodyLimit", "error_response", "install_error_handlers", "status_for"]

log = logging.getLogger(__name__)


def error_response(status: int, message: str, code: str) -> JSONResponse:
    """The one error body of this server."""
    return JSONResponse({"error": message, "detail": message, "code": code}, status_code=status)


def status_for(exc: MemoryLayerError) -> int:
    """Mem0's codes: 404 for a missing memory, 400 for bad input, 5xx for the store."""
    if isinstance(exc, MemoryNotFoundError):
        return 404
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, ConfigurationError):
        return 500
    return 400  # validation, scope, filter, expiration and limit errors: the caller's input


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "Malformed JSON in the request body.", "MalformedJSON"
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts), "ValidationError"


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception type to :func:`error_response`; nothing escapes as HTML."""

    async def on_layer(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MemoryLayerError)
        code = "LimitExceeded" if isinstance(exc, LimitExceededError) else type(exc).__name__
        return error_response(status_for(exc), str(exc), code)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(400, *_validation_message(exc))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        text = {404: "Not found.", 405: "Method not allowed."}.get(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else None
        message = text or detail or "HTTP error"
        return error_response(exc.status_code, message, f"HTTP{exc.status_code}")

    async def on_auth(_: Request, exc: Exception) -> JSONResponse:
        return error_response(401, str(exc), "Unauthorized")

    async def on_forbidden(_: Request, exc: Exception) -> JSONResponse:
        return error_response(403, str(exc), "Forbidden")

    async def on_other(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "Internal server error.", "InternalError")

    app.add_exception_handler(MemoryLayerError, on_layer)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(Forbidden, on_forbidden)
    app.add_exception_handler(Exception, on_other)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before any route reads them.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is read up
    to the limit and refused when it goes over, so a lying client gets the same answer.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the body up to the limit, then hand the app a replay of it."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Request body larger than {self.max_bytes} bytes."
        response: Any = error_response(413, message, "PayloadTooLarge")
        await response(scope, receive, send)
