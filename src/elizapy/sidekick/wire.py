"""The sidekick protocol on the wire: JSON-RPC 2.0 frames and the typed params/results of every method.

``docs/sidekick-protocol.md`` is the human-readable form of this module; the TypeScript plugin mirrors it in
``packages/plugin-python-sidekick/src/protocol.ts``. Two message families, each decoded with one
``TypeAdapter``:

- :data:`Frame` — the JSON-RPC envelope (request, notification, success, failure);
- :data:`HostCall` / :data:`SidekickCall` — the methods each side serves, discriminated by ``method``.

Params and results are camelCase on the wire and tolerate unknown keys (a newer peer may add fields).
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.alias_generators import to_camel

from ..types import ActionResult, Content, Memory, State

PROTOCOL_VERSION = "1.0"
SUPPORTED_VERSIONS: tuple[str, ...] = ("1.0",)
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_IN_FLIGHT = 64

RequestId = Annotated[int, Strict()] | Annotated[str, Strict()]
"""Strict: a JSON ``true`` is not the id ``1``."""
Params = dict[str, Any] | list[Any] | None


class ErrorCode(IntEnum):
    """JSON-RPC 2.0 codes, then the implementation-defined range -32000..-32099."""

    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    HANDLER_FAILED = -32000
    """The handler raised; ``data`` is ``{"exception": type name, "traceback": tail}``."""
    REQUEST_CANCELLED = -32001
    REQUEST_TIMEOUT = -32002
    OVERLOADED = -32003
    """More requests in flight than the receiver's ``maxInFlight``; retry later."""
    FRAME_TOO_LARGE = -32004
    NOT_INITIALIZED = -32005
    UNSUPPORTED_VERSION = -32006
    UNAVAILABLE = -32007
    """Raised locally by the TS plugin while the sidekick process is down or restarting."""
    SHUTTING_DOWN = -32008


# --- the envelope ------------------------------------------------------------------------------------------


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jsonrpc: Literal["2.0"]


class RpcRequest(_Envelope):
    id: RequestId
    method: str
    params: Params = None


class RpcNotification(_Envelope):
    method: str
    params: Params = None


class RpcErrorObject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: int
    message: str
    data: Any = None


class RpcSuccess(_Envelope):
    id: RequestId
    result: Any


class RpcFailure(_Envelope):
    id: RequestId | None
    error: RpcErrorObject


def _frame_kind(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    if "method" in obj:
        return "request" if "id" in obj else "notification"
    if "error" in obj:
        return "failure"
    if "result" in obj:
        return "success"
    return None


Frame = Annotated[
    Annotated[RpcRequest, Tag("request")]
    | Annotated[RpcNotification, Tag("notification")]
    | Annotated[RpcSuccess, Tag("success")]
    | Annotated[RpcFailure, Tag("failure")],
    Discriminator(_frame_kind),
]
FRAME: TypeAdapter[Frame] = TypeAdapter(Frame)


# --- shared shapes -----------------------------------------------------------------------------------------


class WireParams(BaseModel):
    """Base of method params/results: camelCase on the wire, unknown keys ignored (forward compatible)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class PeerInfo(WireParams):
    name: str
    version: str


class Limits(WireParams):
    """What the *sender of this object* accepts: the other side must respect it."""

    max_frame_bytes: int = Field(DEFAULT_MAX_FRAME_BYTES, ge=1024)
    max_in_flight: int = Field(DEFAULT_MAX_IN_FLIGHT, ge=1)


class AgentInfo(WireParams):
    id: str
    name: str
    character: dict[str, Any] = Field(default_factory=dict)
    """The TS character without its secrets."""


class ActionSpec(WireParams):
    name: str
    description: str = ""
    similes: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] | None = None
    """JSON schema of the arguments (``options.parameters`` in TS), or None for none."""
    examples: list[list[dict[str, Any]]] = Field(default_factory=list)
    has_validate: bool = False
    """False: always valid, so the host need not ask (saves a round trip per message)."""


class ProviderSpec(WireParams):
    name: str
    description: str = ""
    dynamic: bool = False
    private: bool = False
    position: int = 0


class EvaluatorSpec(WireParams):
    name: str
    description: str = ""
    similes: list[str] = Field(default_factory=list)
    always_run: bool = False
    has_validate: bool = False


class ServiceSpec(WireParams):
    service_type: str
    description: str = ""


class Manifest(WireParams):
    actions: list[ActionSpec] = Field(default_factory=list)
    providers: list[ProviderSpec] = Field(default_factory=list)
    evaluators: list[EvaluatorSpec] = Field(default_factory=list)
    services: list[ServiceSpec] = Field(default_factory=list)
    delegate: bool = True
    """Whether ``delegate/run`` is served."""


def _lenient_memory(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """TS connectors put loosely typed optional fields in messages (a custom ``channelType``, attachments
    without a url): such a field is dropped, with a warning, instead of failing the whole call. Required
    fields (``entityId``, ``roomId``, ``content``) still must be right."""
    try:
        return handler(value)
    except ValidationError as exc:
        if not isinstance(value, dict):
            raise
        cleaned = dict(value)
        dropped: list[str] = []
        for err in exc.errors():
            loc = err["loc"]
            part = cleaned.get(str(loc[0])) if loc else None
            if len(loc) >= 2 and loc[0] in ("content", "metadata") and isinstance(part, dict):
                cleaned[str(loc[0])] = {k: v for k, v in part.items() if k != loc[1]}
                dropped.append(f"{loc[0]}.{loc[1]}")
        if not dropped:
            raise
        logging.getLogger("elizapy.sidekick").warning(
            "message fields of an unexpected shape dropped: %s", dropped
        )
        return handler(cleaned)


WireMemory = Annotated[Memory, WrapValidator(_lenient_memory)]
"""A TS ``Memory`` as received: tolerant of malformed optional fields."""


class InvocationParams(WireParams):
    """What every component call carries: the host-chosen invocation id and the TS message and state."""

    invocation: str
    """Names this call for the reverse channel (callbacks, TS actions) while it runs."""
    message: WireMemory
    state: State = Field(default_factory=State)


class ActionContextWire(WireParams):
    previous_results: list[ActionResult] = Field(default_factory=list)


class ActionOptionsWire(WireParams):
    parameters: dict[str, Any] = Field(default_factory=dict)
    action_context: ActionContextWire = Field(default_factory=ActionContextWire)


# --- host -> sidekick methods ------------------------------------------------------------------------------


class InitializeParams(WireParams):
    protocol_versions: list[str]
    host: PeerInfo
    agent: AgentInfo
    limits: Limits = Field(default_factory=Limits)


class InitializeResult(WireParams):
    protocol_version: str
    sidekick: PeerInfo
    limits: Limits
    manifest: Manifest


class PingResult(WireParams):
    uptime_s: float
    in_flight: int


class ActionValidateParams(InvocationParams):
    name: str


class ValidateResult(WireParams):
    valid: bool


class ActionInvokeParams(InvocationParams):
    name: str
    options: ActionOptionsWire = Field(default_factory=ActionOptionsWire)
    responses: list[WireMemory] = Field(default_factory=list)
    streaming: bool = False
    """True when the host forwards ``callback/chunk`` notifications to a live stream."""


class ActionInvokeResult(WireParams):
    result: ActionResult | None = None


class ProviderGetParams(InvocationParams):
    name: str


class ProviderResultWire(WireParams):
    text: str | None = None
    values: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


class EvaluatorValidateParams(InvocationParams):
    name: str


class EvaluatorInvokeParams(InvocationParams):
    name: str
    did_respond: bool = False
    responses: list[WireMemory] = Field(default_factory=list)


class ServiceParams(WireParams):
    service_type: str


class Empty(WireParams):
    pass


class ToolSpecWire(WireParams):
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None


class DelegateParams(InvocationParams):
    task: str
    tools: list[ToolSpecWire] = Field(default_factory=list)
    """The host's own actions offered as tools (invoked back through ``runtime/invokeAction``)."""
    max_steps: int | None = Field(None, ge=1, le=50)
    model_type: str = "TEXT_LARGE"
    backend: str | None = None
    """``tools`` (default), ``langgraph`` or ``callable``/``module:attr``; None: read the host's settings."""
    graph: str | None = None
    """``module:attr`` of the LangGraph graph or factory when ``backend`` is ``langgraph``."""
    streaming: bool = False
    """Send answer text as ``callback/chunk`` notifications while it is generated."""


class ToolCallRecord(WireParams):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    success: bool
    output: str = ""


class DelegateResult(WireParams):
    text: str
    thought: str | None = None
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    success: bool = True


class _Call(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InitializeCall(_Call):
    method: Literal["initialize"]
    params: InitializeParams


class ShutdownCall(_Call):
    method: Literal["shutdown"]
    params: Empty = Field(default_factory=Empty)


class PingCall(_Call):
    method: Literal["$/ping"]
    params: Empty = Field(default_factory=Empty)


class ActionValidateCall(_Call):
    method: Literal["action/validate"]
    params: ActionValidateParams


class ActionInvokeCall(_Call):
    method: Literal["action/invoke"]
    params: ActionInvokeParams


class ProviderGetCall(_Call):
    method: Literal["provider/get"]
    params: ProviderGetParams


class EvaluatorValidateCall(_Call):
    method: Literal["evaluator/validate"]
    params: EvaluatorValidateParams


class EvaluatorInvokeCall(_Call):
    method: Literal["evaluator/invoke"]
    params: EvaluatorInvokeParams


class ServiceStartCall(_Call):
    method: Literal["service/start"]
    params: ServiceParams


class ServiceStopCall(_Call):
    method: Literal["service/stop"]
    params: ServiceParams


class DelegateCall(_Call):
    method: Literal["delegate/run"]
    params: DelegateParams


HostCall = Annotated[
    InitializeCall
    | ShutdownCall
    | PingCall
    | ActionValidateCall
    | ActionInvokeCall
    | ProviderGetCall
    | EvaluatorValidateCall
    | EvaluatorInvokeCall
    | ServiceStartCall
    | ServiceStopCall
    | DelegateCall,
    Field(discriminator="method"),
]
"""A request the host (the TS plugin) sends to the sidekick."""
HOST_CALL: TypeAdapter[HostCall] = TypeAdapter(HostCall)
HOST_METHODS = frozenset(
    {
        "initialize",
        "shutdown",
        "$/ping",
        "action/validate",
        "action/invoke",
        "provider/get",
        "evaluator/validate",
        "evaluator/invoke",
        "service/start",
        "service/stop",
        "delegate/run",
    }
)


# --- sidekick -> host methods (the reverse channel) -----------------------------------------------------


class UseModelParams(WireParams):
    invocation: str | None = None
    model_type: str
    params: Any = None
    """ElizaOS ``useModel`` params as is (``{prompt, maxTokens, …}`` for text, ``{text}`` for embeddings)."""


class ValueResult(WireParams):
    result: Any = None


class GetMemoriesParams(WireParams):
    table_name: str = "messages"
    room_id: str | None = None
    entity_id: str | None = None
    world_id: str | None = None
    count: int | None = Field(None, ge=1)
    offset: int | None = Field(None, ge=0)
    unique: bool | None = None
    start: int | None = None
    end: int | None = None
    with_embeddings: bool = False
    """Vectors are left out unless asked for (they dominate the frame size)."""


class SearchMemoriesParams(WireParams):
    table_name: str = "messages"
    embedding: list[float] | None = None
    query: str | None = None
    """Embedded by the host (``TEXT_EMBEDDING``) when ``embedding`` is absent; also reranks (BM25) in TS."""
    match_threshold: float | None = None
    count: int | None = Field(None, ge=1)
    unique: bool | None = None
    room_id: str | None = None
    world_id: str | None = None
    entity_id: str | None = None
    with_embeddings: bool = False


class MemoriesResult(WireParams):
    memories: list[Memory]


class CreateMemoryParams(WireParams):
    memory: Memory
    table_name: str = "messages"
    unique: bool | None = None
    embed: bool = False
    """Have the host embed the memory first (``addEmbeddingToMemory``), so vector search can find it."""


class CreateMemoryResult(WireParams):
    id: str


class GetSettingParams(WireParams):
    key: str


class SettingResult(WireParams):
    value: str | bool | int | float | None = None


class InvokeActionParams(WireParams):
    invocation: str
    name: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class InvokeActionResult(WireParams):
    result: ActionResult | None = None
    callbacks: list[Content] = Field(default_factory=list)
    """What the TS action said through its callback (collected, not sent to the user)."""


class CallbackParams(WireParams):
    invocation: str
    content: Content


class CallbackResult(WireParams):
    memories: list[Memory] = Field(default_factory=list)


class ChunkParams(WireParams):
    """Notification ``callback/chunk``: a piece of streamed reply text, before its ``callback/send``."""

    invocation: str
    text: str


class ProgressParams(WireParams):
    """Notification ``$/progress`` (either direction): about the in-flight request ``id`` of the receiver."""

    id: RequestId
    message: str | None = None
    progress: float | None = None
    total: float | None = None


class CancelParams(WireParams):
    """Notification ``$/cancelRequest`` (either direction): stop working on request ``id``."""

    id: RequestId


class UseModelCall(_Call):
    method: Literal["runtime/useModel"]
    params: UseModelParams


class GetMemoriesCall(_Call):
    method: Literal["runtime/getMemories"]
    params: GetMemoriesParams


class SearchMemoriesCall(_Call):
    method: Literal["runtime/searchMemories"]
    params: SearchMemoriesParams


class CreateMemoryCall(_Call):
    method: Literal["runtime/createMemory"]
    params: CreateMemoryParams


class GetSettingCall(_Call):
    method: Literal["runtime/getSetting"]
    params: GetSettingParams


class InvokeActionCall(_Call):
    method: Literal["runtime/invokeAction"]
    params: InvokeActionParams


class CallbackCall(_Call):
    method: Literal["callback/send"]
    params: CallbackParams


SidekickCall = Annotated[
    UseModelCall
    | GetMemoriesCall
    | SearchMemoriesCall
    | CreateMemoryCall
    | GetSettingCall
    | InvokeActionCall
    | CallbackCall,
    Field(discriminator="method"),
]
"""A request the sidekick sends to the host (the reverse channel)."""
SIDEKICK_CALL: TypeAdapter[SidekickCall] = TypeAdapter(SidekickCall)
SIDEKICK_METHODS = frozenset(
    {
        "runtime/useModel",
        "runtime/getMemories",
        "runtime/searchMemories",
        "runtime/createMemory",
        "runtime/getSetting",
        "runtime/invokeAction",
        "callback/send",
    }
)


__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_MAX_IN_FLIGHT",
    "FRAME",
    "HOST_CALL",
    "HOST_METHODS",
    "PROTOCOL_VERSION",
    "SIDEKICK_CALL",
    "SIDEKICK_METHODS",
    "SUPPORTED_VERSIONS",
    "ActionInvokeParams",
    "ActionInvokeResult",
    "ActionSpec",
    "AgentInfo",
    "CallbackParams",
    "CallbackResult",
    "CancelParams",
    "ChunkParams",
    "CreateMemoryParams",
    "CreateMemoryResult",
    "DelegateParams",
    "DelegateResult",
    "ErrorCode",
    "EvaluatorSpec",
    "Frame",
    "GetMemoriesParams",
    "GetSettingParams",
    "HostCall",
    "InitializeParams",
    "InitializeResult",
    "InvokeActionParams",
    "InvokeActionResult",
    "Limits",
    "Manifest",
    "MemoriesResult",
    "PeerInfo",
    "ProgressParams",
    "ProviderResultWire",
    "ProviderSpec",
    "RpcErrorObject",
    "RpcFailure",
    "RpcNotification",
    "RpcRequest",
    "RpcSuccess",
    "SearchMemoriesParams",
    "ServiceSpec",
    "SettingResult",
    "SidekickCall",
    "ToolCallRecord",
    "ToolSpecWire",
    "UseModelParams",
    "ValueResult",
    "WireParams",
]
