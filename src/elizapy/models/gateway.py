"""ModelType routing: the highest-priority registration for a type wins, as in ElizaOS's ``useModel``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError, NoModelHandler
from ..types import TEXT_MODEL_TYPES, ModelType
from .base import ModelProvider, TextRequest, TextResult, ToolSpec

RawHandler = Callable[[Any, dict[str, Any]], Awaitable[Any]]
"""An ElizaOS-style handler ``(runtime, params) -> result``, as plugins register under ``models``."""

OBJECT_TYPES = frozenset({ModelType.OBJECT_SMALL, ModelType.OBJECT_LARGE})
EMBEDDING_TYPES = frozenset({ModelType.TEXT_EMBEDDING})


@dataclass(slots=True)
class _Registration:
    priority: int
    order: int
    provider: ModelProvider | None
    raw: RawHandler | None
    name: str


def request_from_params(params: dict[str, Any]) -> TextRequest:
    """Map ElizaOS ``useModel`` params (camelCase) to a typed request."""
    tools = params.get("tools")
    return TextRequest(
        prompt=params.get("prompt"),
        system=params.get("system"),
        max_tokens=params.get("maxTokens", params.get("max_tokens")),
        temperature=params.get("temperature"),
        stop_sequences=params.get("stopSequences", params.get("stop_sequences")),
        response_schema=params.get("schema"),
        tools=[t if isinstance(t, ToolSpec) else ToolSpec(**t) for t in tools] if tools else None,
    )


def eliza_sampling_params(request: TextRequest) -> dict[str, Any]:
    """The sampling part of an ElizaOS ``useModel`` text call (``maxTokens``, ``temperature``,
    ``stopSequences``), the inverse of :func:`request_from_params`; callers add prompt and schema keys."""
    params: dict[str, Any] = {}
    if request.max_tokens is not None:
        params["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.stop_sequences:
        params["stopSequences"] = request.stop_sequences
    return params


class ModelGateway:
    """Holds model registrations; shared by every agent of a process (it keeps no per-agent state)."""

    def __init__(self) -> None:
        self._by_type: dict[ModelType, list[_Registration]] = {}
        self._order = 0

    def register_provider(
        self, provider: ModelProvider, *, priority: int = 0, types: Sequence[ModelType] | None = None
    ) -> None:
        for mt in types or provider.model_types:
            self._add(ModelType(mt), _Registration(priority, self._next(), provider, None, provider.name))

    def register_handler(
        self, model_type: ModelType | str, handler: RawHandler, *, provider: str = "plugin", priority: int = 0
    ) -> None:
        self._add(ModelType(model_type), _Registration(priority, self._next(), None, handler, provider))

    def has(self, model_type: ModelType | str) -> bool:
        return bool(self._by_type.get(ModelType(model_type)))

    def provider_for(self, model_type: ModelType | str) -> ModelProvider | None:
        """The typed provider that would serve ``model_type`` (None when a raw handler wins)."""
        return self._pick(ModelType(model_type)).provider

    def provider_name(self, model_type: ModelType | str) -> str:
        return self._pick(ModelType(model_type)).name

    def _next(self) -> int:
        self._order += 1
        return self._order

    def _add(self, model_type: ModelType, reg: _Registration) -> None:
        regs = self._by_type.setdefault(model_type, [])
        regs.append(reg)
        # Highest priority first; among equals the first registered wins (TS keeps insertion order).
        regs.sort(key=lambda r: (-r.priority, r.order))

    def _pick(self, model_type: ModelType) -> _Registration:
        regs = self._by_type.get(model_type)
        if not regs:
            raise NoModelHandler(f"no model handler registered for {model_type.value}")
        return regs[0]

    async def generate(
        self, model_type: ModelType | str, request: TextRequest, *, runtime: Any = None
    ) -> TextResult:
        mt = ModelType(model_type)
        reg = self._pick(mt)
        if reg.provider is not None:
            return await reg.provider.generate(mt, request)
        assert reg.raw is not None
        params: dict[str, Any] = {"prompt": request.prompt or ""}
        if request.system is not None:
            params["system"] = request.system
        params.update(eliza_sampling_params(request))
        if request.response_schema is not None:
            params["schema"] = request.response_schema
        out = await reg.raw(runtime, params)
        if isinstance(out, TextResult):
            return out
        if isinstance(out, str):
            return TextResult(text=out)
        raise ModelError(f"{reg.name} handler for {mt.value} returned {type(out).__name__}, expected str")

    async def embed(self, texts: Sequence[str], *, runtime: Any = None) -> list[list[float]]:
        mt = ModelType.TEXT_EMBEDDING
        reg = self._pick(mt)
        if reg.provider is not None:
            return await reg.provider.embed(mt, texts)
        assert reg.raw is not None
        return [list(await reg.raw(runtime, {"text": t})) for t in texts]

    async def use_model(
        self, model_type: ModelType | str, params: dict[str, Any] | str, *, runtime: Any = None
    ) -> Any:
        """ElizaOS-compatible call: text types return a string, embeddings a vector, OBJECT types a dict."""
        mt = ModelType(model_type)
        if isinstance(params, str):
            params = {"prompt": params} if mt != ModelType.TEXT_EMBEDDING else {"text": params}
        reg = self._pick(mt)
        if reg.raw is not None:
            return await reg.raw(runtime, params)
        if mt in EMBEDDING_TYPES:
            text = params.get("text") if params else None
            return (await self.embed([str(text or "")], runtime=runtime))[0]
        if mt in TEXT_MODEL_TYPES or mt in OBJECT_TYPES:
            request = request_from_params(params)
            result = await self.generate(mt, request, runtime=runtime)
            if mt in OBJECT_TYPES:
                from .parsing import parse_json_object

                return parse_json_object(result.text)
            return result.text
        raise ModelError(f"{mt.value} has no typed provider path; register a raw handler for it")
