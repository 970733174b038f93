"""The one place where failures become HTTP responses.

``@elizaos/server`` 1.7.2 answers errors in three shapes, and clients (the official api-client among them)
depend on the exact one per route family, so routes raise :class:`ApiError` with the matching ``style``:

- ``envelope`` (agents, memory, system): ``{"success": false, "error": {"code", "message", "details"?}}``
- ``flat`` (messaging): ``{"success": false, "error": "message", "details"?}``
- ``session`` (``/api/messaging/sessions``): ``{"error": {"code", "message", "timestamp", "details"?}}``

Request validation failures (FastAPI's 422) become 400 in the style of the route, naming the field path; an
:class:`~elizapy.errors.ElizaError` or any other exception escaping a route becomes a 500 without a stack
trace.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import CharacterError, ElizaError

log = logging.getLogger("elizapy.server")

Style = Literal["envelope", "flat", "session"]


class ApiError(Exception):
    """A failure a route reports to its client; never logged by itself."""

    def __init__(
        self, status: int, code: str, message: str, *, details: Any = None, style: Style = "envelope"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.style = style


def envelope_error(status: int, code: str, message: str, details: Any = None) -> ApiError:
    return ApiError(status, code, message, details=details, style="envelope")


def flat_error(status: int, message: str, details: Any = None) -> ApiError:
    return ApiError(status, "ERROR", message, details=details, style="flat")


def session_error(status: int, code: str, message: str, details: Any = None) -> ApiError:
    return ApiError(status, code, message, details=details, style="session")


def error_body(err: ApiError) -> dict[str, Any]:
    if err.style == "flat":
        body: dict[str, Any] = {"success": False, "error": err.message}
        if err.details is not None:
            body["details"] = err.details
        return body
    inner: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.style == "session":
        inner["timestamp"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if err.details is not None:
        inner["details"] = err.details
    return {"error": inner} if err.style == "session" else {"success": False, "error": inner}


def style_for_path(path: str) -> Style:
    if path.startswith("/api/messaging/sessions"):
        return "session"
    if path.startswith("/api/messaging"):
        return "flat"
    return "envelope"


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


def _validation_error(request: Request, exc: RequestValidationError) -> ApiError:
    problems: list[dict[str, str]] = []
    for e in exc.errors():
        kind = str(e.get("type", ""))
        message = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        if kind == "json_invalid":
            problems.append({"field": "body", "message": "the body is not valid JSON"})
            continue
        problems.append({"field": _field(tuple(e.get("loc", ()))), "message": message})
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    text = f"Invalid request: {first['field']}: {first['message']}"
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more)"
    return ApiError(400, "VALIDATION_ERROR", text, details=problems, style=style_for_path(request.url.path))


def unexpected_response(path: str, method: str, exc: BaseException) -> JSONResponse:
    """A 500 (or 400 for a bad character) for an exception no route turned into an :class:`ApiError`."""
    if isinstance(exc, CharacterError):
        err = ApiError(400, "INVALID_CHARACTER", str(exc), style=style_for_path(path))
        return JSONResponse(error_body(err), status_code=400)
    kind = "run" if isinstance(exc, ElizaError) else "unexpected"
    log.error("%s error on %s %s: %r", kind, method, path, exc, exc_info=exc)
    err = ApiError(500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred", style=style_for_path(path))
    return JSONResponse(error_body(err), status_code=500)


class CatchAllMiddleware:
    """Turns an exception escaping a route into a JSON error before Starlette's server-error layer sees it
    (which would answer in plain text and log a traceback as if the server had crashed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = unexpected_response(scope.get("path", ""), scope.get("method", ""), exc)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc), status_code=exc.status)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        err = _validation_error(request, exc)
        return JSONResponse(error_body(err), status_code=err.status)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code in (404, 405) and request.url.path.startswith("/api/"):
            # Express falls through to its catch-all for an unknown path and for a known path with a method
            # it does not serve alike.
            return JSONResponse(
                {"success": False, "error": {"message": "API endpoint not found", "code": 404}},
                status_code=404,
            )
        if exc.status_code == 400:  # FastAPI could not read the body at all (e.g. it is not UTF-8)
            err = ApiError(
                400,
                "VALIDATION_ERROR",
                f"Invalid request: body: {exc.detail}",
                style=style_for_path(request.url.path),
            )
            return JSONResponse(error_body(err), status_code=400)
        return JSONResponse(
            {"success": False, "error": {"message": str(exc.detail), "code": exc.status_code}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_middleware(CatchAllMiddleware)
