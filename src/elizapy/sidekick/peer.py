"""Typed peers over the dispatcher: each side's calls as methods with pydantic params and results.

- :class:`HostApi` — what the sidekick asks the host (the TS runtime): the reverse channel.
- :class:`SidekickClient` — what a host asks the sidekick; the TS plugin is the real host, this client
  serves :mod:`.testing` and Python-side integration tests.

Results are validated here, so a peer answering with the wrong shape fails as a :class:`BridgeError` naming
the method, not as an ``AttributeError`` deep in user code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import BridgeError
from ..types import Content, Memory
from .dispatcher import Dispatcher, ProgressFn
from .wire import (
    PROTOCOL_VERSION,
    ActionInvokeParams,
    ActionInvokeResult,
    ActionValidateParams,
    AgentInfo,
    CallbackParams,
    CallbackResult,
    ChunkParams,
    CreateMemoryParams,
    CreateMemoryResult,
    DelegateParams,
    DelegateResult,
    EvaluatorInvokeParams,
    EvaluatorValidateParams,
    GetMemoriesParams,
    GetSettingParams,
    InitializeParams,
    InitializeResult,
    InvokeActionParams,
    InvokeActionResult,
    MemoriesResult,
    PeerInfo,
    PingResult,
    ProviderGetParams,
    ProviderResultWire,
    SearchMemoriesParams,
    ServiceParams,
    SettingResult,
    UseModelParams,
    ValidateResult,
    ValueResult,
)

M = TypeVar("M", bound=BaseModel)

SettingValue = str | bool | int | float | None


def _decode(model: type[M], method: str, raw: Any) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BridgeError(f"{method} answered with an invalid result ({where}: {first['msg']})") from exc


class HostApi:
    """The reverse channel: the TS runtime's services as the sidekick sees them."""

    def __init__(self, dispatcher: Dispatcher, *, model_timeout_s: float = 180.0) -> None:
        self.dispatcher = dispatcher
        self.model_timeout_s = model_timeout_s

    async def _call(
        self, method: str, params: BaseModel, result: type[M], timeout_s: float | None = None
    ) -> M:
        raw = await self.dispatcher.request(
            method, params.model_dump(mode="json", by_alias=True, exclude_none=True), timeout_s=timeout_s
        )
        return _decode(result, method, raw)

    async def use_model(self, model_type: str, params: Any, *, invocation: str | None = None) -> Any:
        p = UseModelParams(invocation=invocation, model_type=str(model_type), params=params)
        out = await self._call("runtime/useModel", p, ValueResult, timeout_s=self.model_timeout_s)
        return out.result

    async def get_memories(self, params: GetMemoriesParams) -> list[Memory]:
        return (await self._call("runtime/getMemories", params, MemoriesResult)).memories

    async def search_memories(self, params: SearchMemoriesParams) -> list[Memory]:
        timeout = self.model_timeout_s if params.embedding is None else None
        return (await self._call("runtime/searchMemories", params, MemoriesResult, timeout)).memories

    async def create_memory(
        self, memory: Memory, table_name: str, unique: bool | None = None, *, embed: bool = False
    ) -> str:
        p = CreateMemoryParams(memory=memory, table_name=table_name, unique=unique, embed=embed)
        timeout = self.model_timeout_s if embed else None
        return (await self._call("runtime/createMemory", p, CreateMemoryResult, timeout)).id

    async def get_setting(self, key: str) -> SettingValue:
        return (await self._call("runtime/getSetting", GetSettingParams(key=key), SettingResult)).value

    async def invoke_action(
        self, invocation: str, name: str, parameters: Mapping[str, Any], *, timeout_s: float | None = None
    ) -> InvokeActionResult:
        p = InvokeActionParams(invocation=invocation, name=name, parameters=dict(parameters))
        return await self._call("runtime/invokeAction", p, InvokeActionResult, timeout_s)

    async def send_callback(self, invocation: str, content: Content) -> list[Memory]:
        p = CallbackParams(invocation=invocation, content=content)
        return (await self._call("callback/send", p, CallbackResult)).memories

    async def send_chunk(self, invocation: str, text: str) -> None:
        await self.dispatcher.notify("callback/chunk", ChunkParams(invocation=invocation, text=text).dump())


class SidekickClient:
    """A host's view of a sidekick (the TS plugin's role, in Python)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def _call(
        self,
        method: str,
        params: BaseModel | None,
        result: type[M],
        timeout_s: float | None = None,
        on_progress: ProgressFn | None = None,
    ) -> M:
        raw = await self.dispatcher.request(
            method,
            {} if params is None else params.model_dump(mode="json", by_alias=True, exclude_none=True),
            timeout_s=timeout_s,
            on_progress=on_progress,
        )
        return _decode(result, method, raw)

    async def initialize(
        self, agent: AgentInfo, *, versions: tuple[str, ...] = (PROTOCOL_VERSION,)
    ) -> InitializeResult:
        p = InitializeParams(
            protocol_versions=list(versions),
            host=PeerInfo(name="elizapy-test-host", version="0"),
            agent=agent,
            limits=self.dispatcher.limits,
        )
        out = await self._call("initialize", p, InitializeResult)
        self.dispatcher.set_peer_limits(out.limits)
        return out

    async def ping(self, *, timeout_s: float | None = None) -> PingResult:
        return await self._call("$/ping", None, PingResult, timeout_s)

    async def shutdown(self) -> None:
        await self.dispatcher.request("shutdown", {})

    async def validate_action(self, params: ActionValidateParams) -> bool:
        return (await self._call("action/validate", params, ValidateResult)).valid

    async def invoke_action(
        self,
        params: ActionInvokeParams,
        *,
        timeout_s: float | None = None,
        on_progress: ProgressFn | None = None,
    ) -> ActionInvokeResult:
        return await self._call("action/invoke", params, ActionInvokeResult, timeout_s, on_progress)

    async def get_provider(self, params: ProviderGetParams) -> ProviderResultWire:
        return await self._call("provider/get", params, ProviderResultWire)

    async def validate_evaluator(self, params: EvaluatorValidateParams) -> bool:
        return (await self._call("evaluator/validate", params, ValidateResult)).valid

    async def invoke_evaluator(self, params: EvaluatorInvokeParams) -> ActionInvokeResult:
        return await self._call("evaluator/invoke", params, ActionInvokeResult)

    async def start_service(self, service_type: str) -> None:
        await self.dispatcher.request("service/start", ServiceParams(service_type=service_type).dump())

    async def stop_service(self, service_type: str) -> None:
        await self.dispatcher.request("service/stop", ServiceParams(service_type=service_type).dump())

    async def delegate(self, params: DelegateParams, *, timeout_s: float | None = None) -> DelegateResult:
        return await self._call("delegate/run", params, DelegateResult, timeout_s)


__all__ = ["HostApi", "SettingValue", "SidekickClient"]
