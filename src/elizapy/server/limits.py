"""Request body bounds: nothing a client sends is read without a size limit.

Like Express's ``express.json({limit: "2mb"})`` in ``@elizaos/server``: a body over the limit answers 413,
whether it announces its length or streams it in chunks.
"""

from __future__ import annotations

import contextlib

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "success": False,
            "error": {"code": "PAYLOAD_TOO_LARGE", "message": f"request body exceeds {limit} bytes"},
        },
        status_code=413,
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            # uvicorn's HTTP parser has already rejected a malformed length.
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
        received = 0
        started = False
        rejected = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 went out; whatever the app answers to the aborted body is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def bounded_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not rejected:
                    if not started:
                        await _too_large(self.max_bytes)(scope, receive, send)
                    rejected = True
                if rejected:
                    # Frameworks may catch this while parsing the body; tracking_send drops their answer.
                    raise _TooLarge
            return message

        with contextlib.suppress(_TooLarge):
            await self.app(scope, bounded_receive, tracking_send)
