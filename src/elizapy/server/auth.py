"""``X-API-KEY`` on ``/api``: every route under it needs the key when the server has an auth token.

As in ``@elizaos/server``: a missing or wrong key answers 401 ``{"error": "API key required", "message": …}``;
``OPTIONS`` (CORS preflight) passes; ``/healthz``, ``/health`` and the web UI stay public. Keys are
compared in constant time.
"""

from __future__ import annotations

import hmac

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UNAUTHORIZED_BODY = {"error": "API key required", "message": "Missing or invalid X-API-KEY header"}


def key_matches(presented: str | None, token: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.token is None
            or scope["type"] != "http"
            or scope.get("method") == "OPTIONS"
            or not is_api_path(scope.get("path", ""))
        ):
            await self.app(scope, receive, send)
            return
        presented = None
        for name, value in scope.get("headers", []):
            if name == b"x-api-key":
                presented = value.decode("latin-1")
                break
        if not key_matches(presented, self.token):
            await JSONResponse(UNAUTHORIZED_BODY, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)
