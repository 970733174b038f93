"""Request body bounds: nothing a client sends is read without a size limit.

Like Express's ``express.json({limit: "2mb"})`` in ``@elizaos/server``: a body over the limit answers 413,
whether it announces its length or streams it in chunks.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": "PAYLOAD_TOO_LARGE",
                                                      "message": f"request body exceeds {limit} bytes"}},
                        status_code=413)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                # uvicorn's HTTP parser has already rejected a malformed length.
                if value.isdigit() and int(value) > self.max_bytes:
                    await _too_large(self.max_bytes)(scope, receive, send)
                    return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(self.max_bytes)(scope, receive, send)
