"""Test a sidekick module without Node: a Python stand-in for the TS host, over the in-memory transport.

```python
async with connect(SidekickApp.from_module("mymod"), FakeHost(model=lambda t, p: "sunny")) as conn:
    result = await conn.call_action("LOOKUP_WEATHER", parameters={"city": "Oslo"})
    assert conn.host.callbacks[0].text == "sunny"
```

:class:`FakeHost` answers the reverse channel the way the TS plugin does (memories in lists, settings in a
dict, ``useModel`` from a function, TS actions from functions) and records what the sidekick did.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import ValidationError

from ..models.testing import hashed_embedding
from ..runtime.plugin import coerce_action_result
from ..types import ActionResult, Content, Memory, State, new_uuid, now_ms, string_to_uuid
from .dispatcher import Dispatcher, InvalidParams, MethodNotFound, RequestContext
from .errors import RpcError
from .peer import SidekickClient
from .sdk import SidekickApp
from .server import serve
from .transport import memory_pair
from .wire import (
    DEFAULT_MAX_FRAME_BYTES,
    SIDEKICK_CALL,
    SIDEKICK_METHODS,
    ActionInvokeParams,
    ActionOptionsWire,
    AgentInfo,
    CallbackCall,
    CallbackResult,
    ChunkParams,
    CreateMemoryCall,
    CreateMemoryResult,
    DelegateParams,
    DelegateResult,
    ErrorCode,
    GetMemoriesCall,
    GetSettingCall,
    InitializeResult,
    InvokeActionCall,
    InvokeActionResult,
    MemoriesResult,
    Params,
    ProviderGetParams,
    ProviderResultWire,
    SearchMemoriesCall,
    SettingResult,
    ToolSpecWire,
    UseModelCall,
    ValueResult,
)

ModelFn = Callable[[str, Any], Any]
"""``(model_type, params) -> result`` (sync or async), like a TS model handler."""
TsActionFn = Callable[[dict[str, Any]], Any]
"""A TS action as the fake host runs it: ``(parameters) -> ActionResult | dict | str | None``."""


def _default_model(model_type: str, params: Any) -> Any:
    if model_type == "TEXT_EMBEDDING":
        text = params.get("text") if isinstance(params, dict) else None
        return hashed_embedding(str(text or ""))
    raise RpcError(ErrorCode.HANDLER_FAILED, f"FakeHost has no model for {model_type}")


@dataclass
class FakeHost:
    """The host side of the protocol, in memory. Everything the sidekick asks for is recorded."""

    agent: AgentInfo = field(
        default_factory=lambda: AgentInfo(
            id=string_to_uuid("Eliza"), name="Eliza", character={"bio": ["A test agent."]}
        )
    )
    model: ModelFn = _default_model
    settings: dict[str, Any] = field(default_factory=dict)
    ts_actions: dict[str, TsActionFn] = field(default_factory=dict)
    ts_action_callbacks: dict[str, list[str]] = field(default_factory=dict)
    """Texts a TS action "says" through its callback when invoked (returned with its result)."""
    memories: dict[str, list[Memory]] = field(default_factory=dict)
    """By table name, oldest first."""
    callbacks: list[Content] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)
    model_calls: list[tuple[str, Any]] = field(default_factory=list)
    invoked: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def handle_request(self, method: str, params: Params, ctx: RequestContext) -> Any:
        if method not in SIDEKICK_METHODS:
            raise MethodNotFound(method)
        try:
            call = SIDEKICK_CALL.validate_python(
                {"method": method, "params": {} if params is None else params}
            )
        except ValidationError as exc:
            raise InvalidParams(method, exc) from None
        match call:
            case UseModelCall(params=p):
                self.model_calls.append((p.model_type, p.params))
                out = self.model(p.model_type, p.params)
                if inspect.isawaitable(out):
                    out = await out
                return ValueResult(result=out).dump()
            case GetMemoriesCall(params=p):
                rows = [
                    m
                    for m in self.memories.get(p.table_name, [])
                    if (p.room_id is None or m.room_id == p.room_id)
                    and (p.entity_id is None or m.entity_id == p.entity_id)
                ]
                rows = list(reversed(rows))[p.offset or 0 :]
                return MemoriesResult(memories=rows[: p.count] if p.count else rows).dump()
            case SearchMemoriesCall(params=p):
                query = p.embedding or hashed_embedding(p.query or "")
                scored = []
                for m in self.memories.get(p.table_name, []):
                    if p.room_id is not None and m.room_id != p.room_id:
                        continue
                    vec = m.embedding or hashed_embedding(m.content.text or "")
                    sim = _cosine(query, vec)
                    if p.match_threshold is None or sim >= p.match_threshold:
                        scored.append(m.model_copy(update={"similarity": sim}))
                scored.sort(key=lambda m: -(m.similarity or 0.0))
                return MemoriesResult(memories=scored[: p.count or 10]).dump()
            case CreateMemoryCall(params=p):
                mem = p.memory if p.memory.id else p.memory.model_copy(update={"id": new_uuid()})
                if mem.created_at is None:
                    mem = mem.model_copy(update={"created_at": now_ms()})
                self.memories.setdefault(p.table_name, []).append(mem)
                return CreateMemoryResult(id=mem.id or "").dump()
            case GetSettingCall(params=p):
                return SettingResult(value=self.settings.get(p.key)).dump()
            case InvokeActionCall(params=p):
                fn = self.ts_actions.get(p.name)
                if fn is None:
                    raise RpcError(ErrorCode.INVALID_PARAMS, f"no TS action named {p.name!r}")
                self.invoked.append((p.name, dict(p.parameters)))
                out = fn(dict(p.parameters))
                if inspect.isawaitable(out):
                    out = await out
                said = [Content(text=t) for t in self.ts_action_callbacks.get(p.name, [])]
                return InvokeActionResult(result=coerce_action_result(out), callbacks=said).dump()
            case CallbackCall(params=p):
                self.callbacks.append(p.content)
                return CallbackResult(memories=[]).dump()
        raise MethodNotFound(method)  # pragma: no cover

    async def handle_notification(self, method: str, params: Params) -> None:
        if method == "callback/chunk":
            self.chunks.append(ChunkParams.model_validate(params).text)


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


@dataclass
class Connected:
    """A live in-memory connection: the typed client, the fake host, and what ``initialize`` returned."""

    client: SidekickClient
    host: FakeHost
    init: InitializeResult
    dispatcher: Dispatcher
    room_id: str = field(default_factory=new_uuid)
    entity_id: str = field(default_factory=new_uuid)

    def message(self, text: str = "") -> Memory:
        return Memory(
            id=new_uuid(),
            entity_id=self.entity_id,
            agent_id=self.host.agent.id,
            room_id=self.room_id,
            content=Content(text=text, source="test"),
            created_at=now_ms(),
        )

    async def call_action(
        self,
        name: str,
        text: str = "",
        *,
        parameters: Mapping[str, Any] | None = None,
        state: State | None = None,
        streaming: bool = False,
        timeout_s: float | None = None,
    ) -> ActionResult | None:
        params = ActionInvokeParams(
            invocation=new_uuid(),
            name=name,
            message=self.message(text),
            state=state or State(),
            options=ActionOptionsWire(parameters=dict(parameters or {})),
            streaming=streaming,
        )
        return (await self.client.invoke_action(params, timeout_s=timeout_s)).result

    async def get_provider(self, name: str, text: str = "") -> ProviderResultWire:
        return await self.client.get_provider(
            ProviderGetParams(invocation=new_uuid(), name=name, message=self.message(text))
        )

    async def delegate(
        self, task: str, *, tools: list[ToolSpecWire] | None = None, max_steps: int | None = None
    ) -> DelegateResult:
        return await self.client.delegate(
            DelegateParams(
                invocation=new_uuid(),
                message=self.message(task),
                task=task,
                tools=tools or [],
                max_steps=max_steps,
            )
        )


@contextlib.asynccontextmanager
async def connect(
    app: SidekickApp,
    host: FakeHost | None = None,
    *,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    max_in_flight: int = 64,
    request_timeout_s: float = 10.0,
) -> AsyncIterator[Connected]:
    """Serve ``app`` on one end of an in-memory pair and ``initialize`` it from a :class:`FakeHost`."""
    host = host or FakeHost()
    host_end, sidekick_end = memory_pair(max_frame_bytes=max_frame_bytes)
    served = anyio.Event()

    async def run_sidekick() -> None:
        try:
            await serve(app, sidekick_end, max_in_flight=max_in_flight, request_timeout_s=request_timeout_s)
        finally:
            served.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_sidekick)
        dispatcher = Dispatcher(host_end, host, request_timeout_s=request_timeout_s)
        async with dispatcher.running():
            client = SidekickClient(dispatcher)
            init = await client.initialize(host.agent)
            try:
                yield Connected(client, host, init, dispatcher)
            finally:
                await host_end.write.aclose()  # the sidekick sees end-of-stream and returns
        with anyio.move_on_after(5):
            await served.wait()
        tg.cancel_scope.cancel()


__all__ = ["Connected", "FakeHost", "ModelFn", "TsActionFn", "connect"]
