"""The JSON-RPC dispatcher: method names and dicts only.

It owns request ids, timeouts, cancellation (``$/cancelRequest`` both ways), progress routing, the in-flight
bounds, frame-size checks on what it sends, and it is the **single place where exceptions become JSON-RPC
errors** (:func:`error_for`). It knows nothing about actions, models or ElizaOS: the typed peers above it
(:mod:`.peer`) decode params and encode results.

Backpressure: a side never has more than the peer's ``maxInFlight`` requests outstanding (``request()``
waits for a slot, within its timeout); a request beyond the receiver's own bound is answered at once with
``OVERLOADED`` rather than queued, because the read loop must never stop (a handler may be waiting on a
reverse-channel response that is queued behind it).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import traceback
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream
from pydantic import ValidationError

from ..errors import BridgeError
from .errors import ConnectionClosed, FrameTooLarge, RequestTimeout, RpcError, error_from_wire
from .transport import Incoming, Oversize, Transport
from .wire import (
    DEFAULT_MAX_IN_FLIGHT,
    FRAME,
    ErrorCode,
    Frame,
    Limits,
    Params,
    ProgressParams,
    RequestId,
    RpcErrorObject,
    RpcFailure,
    RpcNotification,
    RpcRequest,
    RpcSuccess,
)

log = logging.getLogger("elizapy.sidekick.rpc")

_loads: Callable[[bytes], Any]
try:  # optional: about 3x faster than json.loads on a typical frame
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is installed wherever the benchmarks run
    _loads = json.loads

ProgressFn = Callable[[ProgressParams], Awaitable[None] | None]
_TRACEBACK_CHARS = 2000


class InvalidParams(RpcError):
    """Params that do not match the method's schema (raised by a typed peer while decoding)."""

    def __init__(self, method: str, exc: ValidationError) -> None:
        problems = [{"loc": _where(method, e["loc"]), "msg": e["msg"]} for e in exc.errors()[:10]]
        summary = "; ".join(f"{p['loc'] or 'params'}: {p['msg']}" for p in problems[:3])
        super().__init__(ErrorCode.INVALID_PARAMS, f"invalid params for {method}: {summary}", problems)


def _where(method: str, loc: tuple[int | str, ...]) -> str:
    """``message.roomId`` rather than ``action/invoke.params.message.roomId`` (the union tag and wrapper)."""
    parts = list(loc)
    while parts and parts[0] in (method, "params"):
        parts.pop(0)
    return ".".join(str(p) for p in parts)


class MethodNotFound(RpcError):
    def __init__(self, method: str) -> None:
        super().__init__(ErrorCode.METHOD_NOT_FOUND, f"method not found: {method}")


def error_for(exc: BaseException) -> RpcErrorObject:
    """The one mapping from a Python exception to the JSON-RPC error sent to the peer."""
    if isinstance(exc, RpcError):
        return RpcErrorObject(code=exc.code, message=exc.message, data=exc.data)
    if isinstance(exc, TimeoutError):
        return RpcErrorObject(
            code=ErrorCode.REQUEST_TIMEOUT, message=f"handler timed out: {exc}".rstrip(": ")
        )
    tb = "".join(traceback.format_exception(exc))[-_TRACEBACK_CHARS:]
    name = type(exc).__name__
    message = f"reverse call failed: {name}: {exc}" if isinstance(exc, BridgeError) else f"{name}: {exc}"
    return RpcErrorObject(
        code=ErrorCode.HANDLER_FAILED, message=message, data={"exception": name, "traceback": tb}
    )


@dataclass(slots=True)
class RequestContext:
    """Handed to a request handler: which request it serves, and how to report progress on it."""

    id: RequestId
    method: str
    dispatcher: Dispatcher

    async def progress(
        self, message: str | None = None, progress: float | None = None, total: float | None = None
    ) -> None:
        params = ProgressParams(id=self.id, message=message, progress=progress, total=total)
        await self.dispatcher.notify("$/progress", params.dump())


class RequestHandler(Protocol):
    async def handle_request(self, method: str, params: Params, ctx: RequestContext) -> Any:
        """Return a JSON-ready value, or raise (an :class:`RpcError` picks the code)."""
        ...

    async def handle_notification(self, method: str, params: Params) -> None:
        """Called in the read loop, in order: must return quickly."""
        ...


@dataclass(slots=True)
class _Pending:
    method: str
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Any = None
    error: BaseException | None = None
    on_progress: ProgressFn | None = None


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class Dispatcher:
    """One JSON-RPC connection. Use ``async with Dispatcher(...).running():`` to serve it."""

    def __init__(
        self,
        transport: Transport,
        handler: RequestHandler,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        request_timeout_s: float = 30.0,
        handler_timeout_s: float | None = None,
    ) -> None:
        self.transport = transport
        self.handler = handler
        self.max_in_flight = max_in_flight
        """Incoming requests served at once; more are answered ``OVERLOADED``."""
        self.request_timeout_s = request_timeout_s
        self.handler_timeout_s = handler_timeout_s
        self.peer_limits = Limits()
        self._slots = anyio.CapacityLimiter(self.peer_limits.max_in_flight)
        self._next_id = 0
        self._pending: dict[RequestId, _Pending] = {}
        self._incoming: dict[RequestId, anyio.CancelScope] = {}
        self._queue: deque[tuple[RpcRequest, anyio.CancelScope]] = deque()
        self._idle: list[anyio.Event] = []
        self._workers = 0
        self._tg: TaskGroup | None = None
        self._closed: BaseException | None = None
        self.closed = anyio.Event()

    @property
    def limits(self) -> Limits:
        """What this side accepts (sent to the peer in ``initialize``)."""
        return Limits(max_frame_bytes=self.transport.max_frame_bytes, max_in_flight=self.max_in_flight)

    def set_peer_limits(self, limits: Limits) -> None:
        self.peer_limits = limits
        self._slots.total_tokens = limits.max_in_flight

    @property
    def in_flight(self) -> int:
        return len(self._incoming)

    # --- lifecycle ---------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Dispatcher]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._read_loop)
            try:
                yield self
            finally:
                self._close(ConnectionClosed("the connection was closed locally"))
                tg.cancel_scope.cancel()

    async def _read_loop(self) -> None:
        read = self.transport.read
        # frames already buffered are handled without a checkpoint each (one per batch is enough)
        nowait: Callable[[], Incoming] | None = getattr(read, "receive_nowait", None)
        try:
            async for item in read:
                await self._on_frame(item)
                while nowait is not None:
                    try:
                        item = nowait()
                    except anyio.WouldBlock:
                        break
                    await self._on_frame(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            pass
        finally:
            self._close(ConnectionClosed("the peer closed the connection"))

    def _close(self, why: BaseException) -> None:
        if self._closed is not None:
            return
        self._closed = why
        for pending in self._pending.values():
            pending.error = why
            pending.done.set()
        self.closed.set()

    # --- sending -----------------------------------------------------------------------------------------

    async def _write(self, frame: bytes) -> None:
        write = self.transport.write
        try:
            if isinstance(write, MemoryObjectSendStream):
                try:  # no checkpoint per frame when the outgoing buffer has room
                    write.send_nowait(frame)
                    return
                except anyio.WouldBlock:
                    pass
            await write.send(frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            self._close(ConnectionClosed("the transport is closed"))
            raise ConnectionClosed("the transport is closed") from exc

    async def notify(self, method: str, params: Params = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        frame = encode(message)
        if len(frame) > self.peer_limits.max_frame_bytes:
            raise FrameTooLarge(
                f"{method} notification of {len(frame)} bytes exceeds the peer's maxFrameBytes "
                f"({self.peer_limits.max_frame_bytes})"
            )
        if self._closed is not None:
            raise ConnectionClosed(f"cannot send {method}: {self._closed}")
        await self._write(frame)

    async def request(
        self,
        method: str,
        params: Params = None,
        *,
        timeout_s: float | None = None,
        on_progress: ProgressFn | None = None,
    ) -> Any:
        """Send a request and wait for its result (raises :class:`RpcError` for an error answer).

        The timeout covers waiting for an in-flight slot too. On timeout or cancellation the peer is told
        with ``$/cancelRequest``.
        """
        if self._closed is not None:
            raise ConnectionClosed(f"cannot send {method}: {self._closed}")
        timeout = self.request_timeout_s if timeout_s is None else timeout_s
        self._next_id += 1
        rid = self._next_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        frame = encode(message)
        if len(frame) > self.peer_limits.max_frame_bytes:
            raise FrameTooLarge(
                f"{method} request of {len(frame)} bytes exceeds the peer's maxFrameBytes "
                f"({self.peer_limits.max_frame_bytes})"
            )
        pending = _Pending(method, on_progress=on_progress)
        token = object()
        acquired = False
        try:
            with anyio.fail_after(timeout):
                await self._slots.acquire_on_behalf_of(token)
                acquired = True
                self._pending[rid] = pending
                await self._write(frame)
                await pending.done.wait()
        except TimeoutError:
            await self._cancel_remote(rid)
            raise RequestTimeout(f"{method} got no answer within {timeout:g}s") from None
        except anyio.get_cancelled_exc_class():
            await self._cancel_remote(rid)
            raise
        finally:
            self._pending.pop(rid, None)
            if acquired:
                self._slots.release_on_behalf_of(token)
        if pending.error is not None:
            raise pending.error
        return pending.result

    async def _cancel_remote(self, rid: RequestId) -> None:
        if rid not in self._pending or self._closed is not None:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(1), contextlib.suppress(BridgeError):
            await self.notify("$/cancelRequest", {"id": rid})

    async def _reply(
        self, rid: RequestId | None, result: Any = None, error: RpcErrorObject | None = None
    ) -> None:
        if error is None:
            try:
                frame = encode({"jsonrpc": "2.0", "id": rid, "result": result})
            except (TypeError, ValueError) as exc:
                error = RpcErrorObject(
                    code=ErrorCode.INTERNAL_ERROR, message=f"the result is not JSON-serializable: {exc}"
                )
            else:
                if len(frame) > self.peer_limits.max_frame_bytes:
                    error = RpcErrorObject(
                        code=ErrorCode.FRAME_TOO_LARGE,
                        message=f"the result of {len(frame)} bytes exceeds the peer's maxFrameBytes "
                        f"({self.peer_limits.max_frame_bytes})",
                    )
        if error is not None:
            frame = encode({"jsonrpc": "2.0", "id": rid, "error": error.model_dump(exclude_none=True)})
        with contextlib.suppress(ConnectionClosed):
            await self._write(frame)

    # --- receiving ---------------------------------------------------------------------------------------

    async def _on_frame(self, item: bytes | Oversize) -> None:
        if isinstance(item, Oversize):
            await self._on_oversize(item)
            return
        frame: Frame | None = _fast_frame(item)
        if frame is None:
            try:
                frame = FRAME.validate_json(item)
            except ValidationError as exc:
                await self._on_malformed(item, exc)
                return
        if isinstance(frame, RpcRequest):
            self._start_request(frame)
        elif isinstance(frame, RpcNotification):
            await self._on_notification(frame)
        elif isinstance(frame, RpcSuccess):
            self._resolve(frame.id, result=frame.result)
        else:
            self._on_failure(frame)

    async def _on_malformed(self, raw: bytes, exc: ValidationError) -> None:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            log.warning("unparseable frame (%d bytes)", len(raw))
            await self._reply(None, error=RpcErrorObject(code=ErrorCode.PARSE_ERROR, message="parse error"))
            return
        obj = json.loads(raw)
        if isinstance(obj, dict) and ("result" in obj or "error" in obj) and "method" not in obj:
            log.warning("malformed response frame ignored: %s", exc.errors()[:1])
            return
        rid = obj.get("id") if isinstance(obj, dict) else None
        rid = rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
        await self._reply(
            rid,
            error=RpcErrorObject(
                code=ErrorCode.INVALID_REQUEST,
                message=f"invalid request: {where + ': ' if where else ''}{first['msg']}",
            ),
        )

    async def _on_oversize(self, item: Oversize) -> None:
        rid, keys = sniff_head(item.head)
        limit = self.transport.max_frame_bytes
        log.warning("dropped a frame of %d bytes (maxFrameBytes %d)", item.size, limit)
        if "method" not in keys and ("result" in keys or "error" in keys):
            if rid is not None:
                self._resolve(
                    rid,
                    error=FrameTooLarge(
                        f"the answer of {item.size} bytes exceeds this side's maxFrameBytes ({limit})"
                    ),
                )
            return
        if "method" in keys and rid is None:
            return  # a notification: nobody to answer
        await self._reply(
            rid,
            error=RpcErrorObject(
                code=ErrorCode.FRAME_TOO_LARGE,
                message=f"frame of {item.size} bytes exceeds maxFrameBytes ({limit})",
                data={"maxFrameBytes": limit, "size": item.size},
            ),
        )

    def _start_request(self, req: RpcRequest) -> None:
        assert self._tg is not None
        if len(self._incoming) >= self.max_in_flight:
            self._tg.start_soon(
                self._reply,
                req.id,
                None,
                RpcErrorObject(
                    code=ErrorCode.OVERLOADED,
                    message=f"too many requests in flight (maxInFlight {self.max_in_flight}); retry later",
                ),
            )
            return
        if req.id in self._incoming:
            self._tg.start_soon(
                self._reply,
                req.id,
                None,
                RpcErrorObject(code=ErrorCode.INVALID_REQUEST, message=f"duplicate request id {req.id!r}"),
            )
            return
        scope = anyio.CancelScope()
        self._incoming[req.id] = scope
        # Served by a pool of long-lived workers (at most max_in_flight of them, started on demand) rather
        # than a task per request: spawning a task is most of the per-request cost of a small call.
        self._queue.append((req, scope))
        if self._idle:
            self._idle.pop().set()
        elif self._workers < self.max_in_flight:
            self._workers += 1
            self._tg.start_soon(self._worker)

    async def _worker(self) -> None:
        queue = self._queue
        while True:
            while queue:
                req, scope = queue.popleft()
                await self._serve(req, scope)
            wake = anyio.Event()
            self._idle.append(wake)
            await wake.wait()

    async def _serve(self, req: RpcRequest, scope: anyio.CancelScope) -> None:
        ctx = RequestContext(req.id, req.method, self)
        result: Any = None
        error: RpcErrorObject | None = None
        try:
            with scope:
                if self.handler_timeout_s is not None:
                    scope.deadline = anyio.current_time() + self.handler_timeout_s
                result = await self.handler.handle_request(req.method, req.params, ctx)
            if scope.cancelled_caught:
                if self.handler_timeout_s is not None and _past(scope.deadline):
                    error = RpcErrorObject(
                        code=ErrorCode.REQUEST_TIMEOUT,
                        message=f"{req.method} timed out after {self.handler_timeout_s:g}s",
                    )
                else:
                    error = RpcErrorObject(code=ErrorCode.REQUEST_CANCELLED, message="request cancelled")
        except Exception as exc:
            if not isinstance(exc, RpcError):
                log.warning("handler for %s failed: %r", req.method, exc)
            error = error_for(exc)
        finally:
            self._incoming.pop(req.id, None)
        await self._reply(req.id, result, error)

    async def _on_notification(self, note: RpcNotification) -> None:
        params = note.params if isinstance(note.params, dict) else {}
        if note.method == "$/cancelRequest":
            scope = self._incoming.get(params.get("id"))  # type: ignore[arg-type]
            if scope is not None:
                scope.cancel()
            return
        if note.method == "$/progress":
            try:
                progress = ProgressParams.model_validate(params)
            except ValidationError:
                log.warning("malformed $/progress ignored")
                return
            pending = self._pending.get(progress.id)
            if pending is not None and pending.on_progress is not None:
                try:
                    out = pending.on_progress(progress)
                    if inspect.isawaitable(out):
                        await out
                except Exception as exc:
                    log.warning("progress callback for %s failed: %r", pending.method, exc)
            return
        try:
            await self.handler.handle_notification(note.method, note.params)
        except Exception as exc:
            log.warning("notification %s failed: %r", note.method, exc)

    def _resolve(
        self, rid: RequestId | None, *, result: Any = None, error: BaseException | None = None
    ) -> None:
        pending = self._pending.get(rid) if rid is not None else None
        if pending is None:
            log.debug("answer for unknown or finished request %r ignored", rid)
            return
        pending.result = result
        pending.error = error
        pending.done.set()

    def _on_failure(self, frame: RpcFailure) -> None:
        err = frame.error
        if frame.id is None:
            log.warning("peer reported an error without an id: [%s] %s", err.code, err.message)
            return
        self._resolve(frame.id, error=error_from_wire(err.code, err.message, err.data))


_REQUEST_KEYS = frozenset(("jsonrpc", "id", "method", "params"))
_SUCCESS_KEYS = frozenset(("jsonrpc", "id", "result"))


def _fast_frame(raw: bytes) -> RpcRequest | RpcSuccess | None:
    """The common frames (a well-formed request or success answer) without the pydantic envelope pass.

    Accepts only what ``FRAME.validate_json`` accepts with the same outcome; anything else (a notification,
    an error answer, a malformed or unusual frame) returns None and takes the validating path.
    """
    try:
        obj = _loads(raw)
    except ValueError:
        return None
    if type(obj) is not dict or obj.get("jsonrpc") != "2.0":
        return None
    rid = obj.get("id")
    if type(rid) is not int and type(rid) is not str:
        return None
    keys = obj.keys()
    if "method" in obj:
        method = obj["method"]
        params = obj.get("params")
        if type(method) is not str or not keys <= _REQUEST_KEYS:
            return None
        if params is not None and type(params) is not dict and type(params) is not list:
            return None
        return RpcRequest.model_construct(jsonrpc="2.0", id=rid, method=method, params=params)
    if "result" in obj and keys <= _SUCCESS_KEYS:
        return RpcSuccess.model_construct(jsonrpc="2.0", id=rid, result=obj["result"])
    return None


def _past(deadline: float) -> bool:
    return anyio.current_time() >= deadline


def sniff_head(head: bytes) -> tuple[RequestId | None, set[str]]:
    """The top-level ``id`` and the top-level keys visible in the first bytes of a (truncated) JSON object.

    Only depth-1 keys count, so an ``"id"`` inside ``params`` is never mistaken for the request's id.
    """
    text = head.decode("utf-8", errors="replace")
    keys: set[str] = set()
    rid: RequestId | None = None
    depth = 0
    i = 0
    n = len(text)
    expect_key = False
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            if end < 0:
                break
            if depth == 1 and expect_key:
                key = text[i + 1 : end]
                keys.add(key)
                j = end + 1
                while j < n and text[j] in " \t\r\n:":
                    j += 1
                if key == "id":
                    rid = _scalar_id(text[j:])
                i = j
                expect_key = False
                continue
            i = end + 1
            continue
        if ch in "{[":
            depth += 1
            expect_key = ch == "{" and depth == 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 1:
            expect_key = True
        i += 1
    return rid, keys


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return -1


def _scalar_id(rest: str) -> RequestId | None:
    if rest.startswith('"'):
        end = _string_end(rest, 0)
        if end < 0:
            return None
        try:
            value = json.loads(rest[: end + 1])
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    digits = ""
    for ch in rest:
        if ch.isdigit() or (ch == "-" and not digits):
            digits += ch
        elif ch in ",} \t\r\n" and digits not in ("", "-"):
            return int(digits)
        else:
            return None
    return None  # truncated inside the number: it may have had more digits


__all__ = [
    "Dispatcher",
    "InvalidParams",
    "MethodNotFound",
    "ProgressFn",
    "RequestContext",
    "RequestHandler",
    "encode",
    "error_for",
    "sniff_head",
]
