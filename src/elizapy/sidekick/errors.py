"""Errors of the sidekick bridge, all under :class:`~elizapy.errors.BridgeError`.

    BridgeError
    ├── RpcError            the peer answered with a JSON-RPC error (carries code, message, data)
    │   └── HandlerFailed   one of the peer's handlers raised (code -32000)
    ├── RequestTimeout      no answer within the request's timeout (a ``$/cancelRequest`` was sent)
    ├── FrameTooLarge       an outgoing frame exceeds the peer's ``maxFrameBytes``
    └── ConnectionClosed    the transport ended while requests were in flight

:class:`RpcError` is also what a handler raises on purpose to answer with a specific code.
"""

from __future__ import annotations

from typing import Any

from ..errors import BridgeError
from .wire import ErrorCode


class RpcError(BridgeError):
    """A JSON-RPC error: raised by a handler to answer with ``code``, or received from the peer."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"[{code}] {message}")


class HandlerFailed(RpcError):
    """The peer's handler raised an exception (``data`` names it)."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(ErrorCode.HANDLER_FAILED, message, data)


class RequestTimeout(BridgeError):
    pass


class FrameTooLarge(BridgeError):
    pass


class ConnectionClosed(BridgeError):
    pass


def error_from_wire(code: int, message: str, data: Any = None) -> RpcError:
    if code == ErrorCode.HANDLER_FAILED:
        return HandlerFailed(message, data)
    return RpcError(code, message, data)


__all__ = [
    "ConnectionClosed",
    "FrameTooLarge",
    "HandlerFailed",
    "RequestTimeout",
    "RpcError",
    "error_from_wire",
]
