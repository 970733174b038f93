"""What a model provider implements, and the request/response shapes every layer above uses.

ElizaOS's ``useModel(type, params)`` indirection is kept (it is the good part of its design): callers name a
:class:`~elizapy.types.ModelType`, the gateway picks the highest-priority provider.
Under it, providers get typed requests so native tool calling, JSON-schema output and streaming need no
stringly-typed params.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..errors import ModelError
from ..types import ModelType

Role = Literal["system", "user", "assistant", "tool"]
TokenSink = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class ChatMessage:
    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(slots=True)
class ToolSpec:
    """A tool offered to the model: ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class TextRequest:
    """One text-generation request. Either ``prompt`` (ElizaOS style) or ``messages`` (chat style)."""

    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stop_sequences: list[str] | None = None
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["auto", "required", "none"] | None = None
    response_schema: dict[str, Any] | None = None
    """JSON schema the output must satisfy (OBJECT_* types and constrained planning)."""
    on_token: TokenSink | None = None
    """Streaming sink: called with each text delta as it arrives."""

    def as_messages(self) -> list[ChatMessage]:
        """The request as a chat transcript, for providers that only speak chat."""
        out: list[ChatMessage] = []
        if self.system:
            out.append(ChatMessage("system", self.system))
        if self.messages:
            out.extend(self.messages)
        if self.prompt is not None:
            out.append(ChatMessage("user", self.prompt))
        return out


@dataclass(slots=True)
class TextResult:
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None


class ModelProvider(Protocol):
    """A source of model capabilities (an HTTP API, a local llama.cpp, a test double)."""

    name: str

    @property
    def model_types(self) -> frozenset[ModelType]:
        """The ModelTypes this provider serves."""
        ...

    @property
    def native_tools(self) -> bool:
        """True when ``TextRequest.tools`` is honoured natively (else reasoners use JSON-schema planning)."""
        ...

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult: ...

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]: ...


# --- the switch that keeps tests honest -------------------------------------------------------------------

_ALLOW_REQUESTS = [True]


def set_allow_model_requests(allow: bool) -> None:
    """Globally allow or forbid real model requests (the test suite's conftest forbids them)."""
    _ALLOW_REQUESTS[0] = allow


@contextlib.contextmanager
def allow_model_requests(allow: bool = True) -> Iterator[None]:
    """Temporarily allow (or forbid) real model requests, e.g. in a test that loads a real model."""
    previous = _ALLOW_REQUESTS[0]
    _ALLOW_REQUESTS[0] = allow
    try:
        yield
    finally:
        _ALLOW_REQUESTS[0] = previous


def check_allow_model_requests(provider: str) -> None:
    """Real providers call this before any network or weights access."""
    if not _ALLOW_REQUESTS[0]:
        raise ModelError(
            f"real model request to {provider!r} blocked: model requests are disabled "
            "(use elizapy.models.allow_model_requests() in a test that needs a real model)"
        )
