"""The sidekick's request handler and the ``serve`` entry points.

:class:`SidekickServer` decodes host calls with one ``TypeAdapter`` (:data:`~.wire.HOST_CALL`), runs the
user's components with a :class:`~.proxy.SidekickRuntime` bound to the call, and returns wire results. It
raises; the dispatcher turns exceptions into JSON-RPC errors, and the TS plugin turns those into failed
``ActionResult``\\ s — one failing handler never takes the process down.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import anyio
from pydantic import ValidationError

from .. import __version__
from ..runtime.plugin import (
    Action,
    ActionContext,
    ActionOptions,
    Evaluator,
    Service,
    call_flexible,
    coerce_action_result,
    coerce_provider_result,
)
from .delegate import run_delegate
from .dispatcher import Dispatcher, InvalidParams, MethodNotFound, RequestContext
from .errors import RpcError
from .peer import HostApi
from .proxy import ReplyCallback, SidekickRuntime
from .sdk import SidekickApp
from .transport import Transport, stdio_transport
from .wire import (
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_MAX_IN_FLIGHT,
    HOST_CALL,
    HOST_METHODS,
    SUPPORTED_VERSIONS,
    ActionInvokeCall,
    ActionInvokeResult,
    ActionValidateCall,
    AgentInfo,
    DelegateCall,
    Empty,
    ErrorCode,
    EvaluatorInvokeCall,
    EvaluatorValidateCall,
    InitializeCall,
    InitializeParams,
    InitializeResult,
    InvocationParams,
    Params,
    PeerInfo,
    PingCall,
    PingResult,
    ProviderGetCall,
    ProviderResultWire,
    ServiceStartCall,
    ServiceStopCall,
    ShutdownCall,
    ValidateResult,
)

log = logging.getLogger("elizapy.sidekick")


@contextlib.contextmanager
def _bounded(timeout_s: float | None) -> Iterator[None]:
    if timeout_s is None:
        yield
        return
    with anyio.fail_after(timeout_s):
        yield


class SidekickServer:
    """Serves one host connection for a :class:`~.sdk.SidekickApp`."""

    def __init__(self, app: SidekickApp, *, tool_timeout_s: float = 60.0) -> None:
        self.app = app
        self.tool_timeout_s = tool_timeout_s
        self.agent: AgentInfo | None = None
        self.protocol_version: str | None = None
        self.services: dict[str, Service] = {}
        self.shutdown_requested = anyio.Event()
        self._started = time.monotonic()
        self._dispatcher: Dispatcher | None = None
        self._host: HostApi | None = None

    def bind(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher
        self._host = HostApi(dispatcher)

    @property
    def host(self) -> HostApi:
        assert self._host is not None, "bind() the server to a dispatcher first"
        return self._host

    # --- dispatch ----------------------------------------------------------------------------------------

    async def handle_request(self, method: str, params: Params, ctx: RequestContext) -> Any:
        if method not in HOST_METHODS:
            raise MethodNotFound(method)
        if self.agent is None and method not in ("initialize", "$/ping"):
            raise RpcError(ErrorCode.NOT_INITIALIZED, f"{method} before initialize")
        try:
            call = HOST_CALL.validate_python({"method": method, "params": {} if params is None else params})
        except ValidationError as exc:
            raise InvalidParams(method, exc) from None
        match call:
            case InitializeCall(params=p):
                return self._initialize(p).dump()
            case PingCall():
                return PingResult(
                    uptime_s=time.monotonic() - self._started, in_flight=ctx.dispatcher.in_flight
                ).dump()
            case ShutdownCall():
                await self.stop_services()
                self.shutdown_requested.set()
                return Empty().dump()
            case ActionValidateCall(params=p):
                action = self._action(p.name)
                valid = await self._validate(action.validate, p, ctx)
                return ValidateResult(valid=valid).dump()
            case ActionInvokeCall(params=p):
                action = self._action(p.name)
                options = ActionOptions(
                    action_context=ActionContext(
                        previous_results=list(p.options.action_context.previous_results)
                    ),
                    parameters=dict(p.options.parameters),
                )
                callback = ReplyCallback(self.host, p.invocation, streaming=p.streaming)
                with _bounded(action.timeout_s):
                    raw = await call_flexible(
                        action.handler,
                        self._proxy(p, ctx),
                        p.message,
                        p.state,
                        options,
                        callback,
                        p.responses,
                    )
                return ActionInvokeResult(result=coerce_action_result(raw)).dump()
            case ProviderGetCall(params=p):
                provider = self.app.providers.get(p.name)
                if provider is None:
                    raise RpcError(ErrorCode.INVALID_PARAMS, f"no provider named {p.name!r} in this sidekick")
                out = coerce_provider_result(
                    await call_flexible(provider.get, self._proxy(p, ctx), p.message, p.state)
                )
                return ProviderResultWire(text=out.text, values=out.values, data=out.data).dump()
            case EvaluatorValidateCall(params=p):
                evaluator = self._evaluator(p.name)
                valid = await self._validate(evaluator.validate, p, ctx)
                return ValidateResult(valid=valid).dump()
            case EvaluatorInvokeCall(params=p):
                evaluator = self._evaluator(p.name)
                callback = ReplyCallback(self.host, p.invocation)
                raw = await call_flexible(
                    evaluator.handler,
                    self._proxy(p, ctx),
                    p.message,
                    p.state,
                    ActionOptions(),
                    callback,
                    p.responses,
                )
                return ActionInvokeResult(result=coerce_action_result(raw)).dump()
            case ServiceStartCall(params=p):
                await self._start_service(p.service_type, ctx)
                return Empty().dump()
            case ServiceStopCall(params=p):
                service = self.services.pop(p.service_type, None)
                if service is not None:
                    await service.stop()
                return Empty().dump()
            case DelegateCall(params=p):
                result = await run_delegate(
                    p,
                    actions=list(self.app.actions.values()),
                    host=self.host,
                    proxy=self._proxy(p, ctx),
                    callback=ReplyCallback(self.host, p.invocation),
                    tool_timeout_s=self.tool_timeout_s,
                )
                return result.dump()
        raise MethodNotFound(method)  # pragma: no cover - the union is exhaustive

    async def handle_notification(self, method: str, params: Params) -> None:
        log.debug("notification %s ignored", method)

    # --- helpers -----------------------------------------------------------------------------------------

    def _initialize(self, p: InitializeParams) -> InitializeResult:
        if self.agent is not None:
            raise RpcError(ErrorCode.INVALID_REQUEST, "already initialized")
        version = next((v for v in SUPPORTED_VERSIONS if v in p.protocol_versions), None)
        if version is None:
            raise RpcError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"no common protocol version: host offers {p.protocol_versions}, "
                f"this sidekick speaks {list(SUPPORTED_VERSIONS)}",
                {"supported": list(SUPPORTED_VERSIONS)},
            )
        assert self._dispatcher is not None
        self._dispatcher.set_peer_limits(p.limits)
        self.agent = p.agent
        self.protocol_version = version
        log.info("initialized for agent %s (%s), protocol %s", p.agent.name, p.agent.id, version)
        return InitializeResult(
            protocol_version=version,
            sidekick=PeerInfo(name="elizapy-sidekick", version=__version__),
            limits=self._dispatcher.limits,
            manifest=self.app.manifest(),
        )

    def _proxy(self, p: InvocationParams | None, ctx: RequestContext | None) -> SidekickRuntime:
        assert self.agent is not None
        return SidekickRuntime(
            self.host, self.agent, invocation=p.invocation if p is not None else None, request=ctx
        )

    def _action(self, name: str) -> Action:
        action = self.app.actions.get(name)
        if action is None:
            raise RpcError(ErrorCode.INVALID_PARAMS, f"no action named {name!r} in this sidekick")
        return action

    def _evaluator(self, name: str) -> Evaluator:
        evaluator = self.app.evaluators.get(name)
        if evaluator is None:
            raise RpcError(ErrorCode.INVALID_PARAMS, f"no evaluator named {name!r} in this sidekick")
        return evaluator

    async def _validate(self, fn: Any, p: InvocationParams, ctx: RequestContext) -> bool:
        if fn is None:
            return True
        return bool(await call_flexible(fn, self._proxy(p, ctx), p.message, p.state))

    async def _start_service(self, service_type: str, ctx: RequestContext) -> None:
        entry = self.app.services.get(service_type)
        if entry is None:
            raise RpcError(ErrorCode.INVALID_PARAMS, f"no service {service_type!r} in this sidekick")
        if service_type in self.services:
            return
        instance = entry.factory()
        await call_flexible(instance.start, self._proxy(None, ctx))
        self.services[service_type] = instance

    async def stop_services(self) -> None:
        """Stop every started service (each bounded to 10 s; failures are logged, not raised)."""
        while self.services:
            name, service = self.services.popitem()
            try:
                with anyio.fail_after(10):
                    await service.stop()
            except Exception as exc:
                log.warning("service %s failed to stop: %r", name, exc)


async def serve(
    app: SidekickApp,
    transport: Transport,
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    request_timeout_s: float = 30.0,
    tool_timeout_s: float = 60.0,
    shutdown_grace_s: float = 5.0,
) -> None:
    """Serve ``app`` on ``transport`` until the host hangs up (or asked for ``shutdown`` and then did not)."""
    server = SidekickServer(app, tool_timeout_s=tool_timeout_s)
    dispatcher = Dispatcher(
        transport, server, max_in_flight=max_in_flight, request_timeout_s=request_timeout_s
    )
    server.bind(dispatcher)
    try:
        async with dispatcher.running(), anyio.create_task_group() as tg:

            async def end_after_shutdown() -> None:
                await server.shutdown_requested.wait()
                with anyio.move_on_after(shutdown_grace_s):
                    await dispatcher.closed.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(end_after_shutdown)
            await dispatcher.closed.wait()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await server.stop_services()


async def serve_stdio(
    app: SidekickApp, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, **options: Any
) -> None:
    """Serve ``app`` on this process's stdin/stdout (how the TS plugin runs ``elizapy sidekick``)."""
    async with stdio_transport(max_frame_bytes=max_frame_bytes) as transport:
        await serve(app, transport, **options)


__all__ = ["SidekickServer", "serve", "serve_stdio"]
