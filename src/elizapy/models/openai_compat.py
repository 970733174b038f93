"""A model provider for any OpenAI-compatible HTTP API: OpenAI itself, vLLM, Ollama, llama.cpp's server.

It speaks the chat-completions and embeddings endpoints through the official ``openai`` SDK:

- TEXT_SMALL / REASONING_SMALL / OBJECT_SMALL use the small model; TEXT_LARGE / REASONING_LARGE /
  TEXT_COMPLETION / OBJECT_LARGE the large one; TEXT_EMBEDDING the embedding model.
- Native tool calling (``tools``, ``tool_choice``, assistant ``tool_calls`` and ``tool`` results in history).
- JSON output: ``response_format`` ``json_schema`` when the request carries a schema, ``json_object`` for
  OBJECT_* types without one.
- Streaming when ``TextRequest.on_token`` is set: text deltas go to the sink as they arrive, tool-call deltas
  are assembled, and the result is the same :class:`TextResult` as without streaming.

Every failure (HTTP status, connection, timeout, malformed response) surfaces as :class:`ModelError`; messages
never carry the API key.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionAssistantMessageParam,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.chat.completion_create_params import ResponseFormat

from ..errors import ConfigError, ModelError
from ..types import ModelType
from .base import ChatMessage, TextRequest, TextResult, ToolCall, Usage, check_allow_model_requests

log = logging.getLogger(__name__)

_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError,)
try:  # openai>=3 runs on httpx2; older SDKs on httpx
    import httpx2

    _TRANSPORT_ERRORS += (httpx2.HTTPError,)
except ImportError:  # pragma: no cover - depends on the installed SDK
    pass

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_SMALL_MODEL = "gpt-4o-mini"
DEFAULT_LARGE_MODEL = "gpt-4o"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
NO_KEY_PLACEHOLDER = "sk-no-key"
"""Sent as the API key to local servers that need none (the SDK insists on some key)."""

MAX_TIMEOUT_S = 3600.0

SMALL_TYPES = frozenset({ModelType.TEXT_SMALL, ModelType.REASONING_SMALL, ModelType.OBJECT_SMALL})
LARGE_TYPES = frozenset({
    ModelType.TEXT_LARGE, ModelType.REASONING_LARGE, ModelType.TEXT_COMPLETION, ModelType.OBJECT_LARGE,
})
OBJECT_TYPES = frozenset({ModelType.OBJECT_SMALL, ModelType.OBJECT_LARGE})
SERVED_TYPES = SMALL_TYPES | LARGE_TYPES | {ModelType.TEXT_EMBEDDING}

_KEY_LIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*.]{3,}")
_REASON_MAX = 200


class OpenAICompatProvider:
    """A :class:`~elizapy.models.ModelProvider` over an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        small_model: str = DEFAULT_SMALL_MODEL,
        large_model: str = DEFAULT_LARGE_MODEL,
        embedding_model: str = DEFAULT_EMBEDDING_MODEL,
        embedding_dimensions: int | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 2,
        native_tools: bool = True,
        http_client: Any = None,
        name: str = "openai",
    ) -> None:
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s) and 0 < timeout_s
                <= MAX_TIMEOUT_S):
            raise ConfigError(f"timeout_s must be a number in (0, {MAX_TIMEOUT_S:g}], got {timeout_s!r}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        if embedding_dimensions is not None and embedding_dimensions <= 0:
            raise ConfigError(f"embedding_dimensions must be positive, got {embedding_dimensions}")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.small_model = small_model
        self.large_model = large_model
        self.embedding_model = embedding_model
        self.embedding_dimensions = embedding_dimensions
        self.timeout_s = float(timeout_s)
        self.max_retries = max_retries
        self._native_tools = native_tools
        self._api_key = api_key or NO_KEY_PLACEHOLDER
        self._owns_client = http_client is None
        self._client = AsyncOpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.timeout_s,
            max_retries=max_retries,
            # An httpx.AsyncClient, or the httpx2.AsyncClient openai>=3 uses underneath; the SDK checks it.
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return (f"OpenAICompatProvider(name={self.name!r}, base_url={_safe_url(self.base_url)!r}, "
                f"small_model={self.small_model!r}, large_model={self.large_model!r}, "
                f"embedding_model={self.embedding_model!r})")

    # --- ModelProvider ----------------------------------------------------------------------------------

    @property
    def model_types(self) -> frozenset[ModelType]:
        return SERVED_TYPES

    @property
    def native_tools(self) -> bool:
        return self._native_tools

    def model_for(self, model_type: ModelType) -> str:
        """The configured model name that serves ``model_type``."""
        if model_type in SMALL_TYPES:
            return self.small_model
        if model_type in LARGE_TYPES:
            return self.large_model
        if model_type == ModelType.TEXT_EMBEDDING:
            return self.embedding_model
        raise ModelError(f"{self.name} does not serve {ModelType(model_type).value}")

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        model_type = ModelType(model_type)
        if model_type == ModelType.TEXT_EMBEDDING or model_type not in SERVED_TYPES:
            raise ModelError(f"{self.name} cannot generate text for {model_type.value}")
        model = self.model_for(model_type)
        messages = to_openai_messages(request.as_messages())
        if not messages:
            raise ModelError(f"{self.name}: empty request (no system, messages or prompt)")
        check_allow_model_requests(self.name)

        send_tools = bool(request.tools) and self._native_tools
        tools = ([_tool_param(t.name, t.description, t.parameters) for t in request.tools or ()]
                 if send_tools else None)
        response_format = _response_format(model_type, request.response_schema)
        log.debug("%s: %s via %s (stream=%s, tools=%d)", self.name, model_type.value, model,
                  request.on_token is not None, len(tools or ()))
        try:
            if request.on_token is None:
                completion = await self._client.chat.completions.create(
                    model=model,
                    messages=messages,
                    max_tokens=request.max_tokens if request.max_tokens is not None else omit,
                    temperature=request.temperature if request.temperature is not None else omit,
                    stop=list(request.stop_sequences) if request.stop_sequences else omit,
                    tools=tools if tools else omit,
                    tool_choice=request.tool_choice if tools and request.tool_choice else omit,
                    response_format=response_format if response_format is not None else omit,
                )
                return self._result_from_completion(completion)
            return await self._generate_streaming(model, messages, request, tools, response_format)
        except openai.APIError as exc:
            self._raise_api_error(exc)
        except _TRANSPORT_ERRORS as exc:
            # Older SDKs do not wrap transport failures that happen while a stream is being read.
            raise ModelError(f"{self.name}: connection to {_safe_url(self.base_url)} failed while "
                             f"reading the response: {self._scrub(type(exc).__name__ + ': ' + str(exc))}"
                             ) from exc

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        model_type = ModelType(model_type)
        if model_type != ModelType.TEXT_EMBEDDING:
            raise ModelError(f"{self.name} cannot embed with {model_type.value}")
        if not texts:
            return []
        check_allow_model_requests(self.name)
        try:
            response = await self._client.embeddings.create(
                model=self.embedding_model,
                input=list(texts),
                # The SDK would otherwise ask for base64, which several local servers do not implement.
                encoding_format="float",
                dimensions=self.embedding_dimensions if self.embedding_dimensions is not None else omit,
            )
        except openai.APIError as exc:
            self._raise_api_error(exc)
        data = sorted(response.data or [], key=lambda d: d.index)
        if len(data) != len(texts):
            raise ModelError(f"{self.name}: embeddings endpoint returned {len(data)} vectors for "
                             f"{len(texts)} inputs")
        vectors: list[list[float]] = []
        for item in data:
            if not isinstance(item.embedding, list):
                raise ModelError(f"{self.name}: embeddings endpoint returned a non-list embedding")
            vectors.append([float(v) for v in item.embedding])
        return vectors

    async def aclose(self) -> None:
        """Close the HTTP client this provider created (a client passed in is left to its owner)."""
        if self._owns_client:
            await self._client.close()

    # --- internals --------------------------------------------------------------------------------------

    def _result_from_completion(self, completion: ChatCompletion) -> TextResult:
        if not completion.choices:
            raise ModelError(f"{self.name}: chat completion response had no choices")
        choice = completion.choices[0]
        message = choice.message
        calls: list[ToolCall] = []
        for i, tc in enumerate(message.tool_calls or (), 1):
            if tc.type == "function":
                calls.append(ToolCall(id=tc.id or f"call_{i}", name=tc.function.name,
                                      arguments=parse_tool_arguments(tc.function.arguments)))
            else:  # a "custom" (free-form) tool call: we never offer those, but keep what came back
                calls.append(ToolCall(id=tc.id or f"call_{i}", name=tc.custom.name,
                                      arguments={"_raw": tc.custom.input}))
        usage = None
        if completion.usage is not None:
            usage = Usage(prompt_tokens=completion.usage.prompt_tokens or 0,
                          completion_tokens=completion.usage.completion_tokens or 0)
        return TextResult(text=message.content or "", tool_calls=calls, usage=usage,
                          finish_reason=choice.finish_reason, model=completion.model or None)

    async def _generate_streaming(self, model: str, messages: list[ChatCompletionMessageParam],
                                  request: TextRequest, tools: list[ChatCompletionFunctionToolParam] | None,
                                  response_format: ResponseFormat | None) -> TextResult:
        assert request.on_token is not None
        stream = await self._client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=request.max_tokens if request.max_tokens is not None else omit,
            temperature=request.temperature if request.temperature is not None else omit,
            stop=list(request.stop_sequences) if request.stop_sequences else omit,
            tools=tools if tools else omit,
            tool_choice=request.tool_choice if tools and request.tool_choice else omit,
            response_format=response_format if response_format is not None else omit,
        )
        text_parts: list[str] = []
        partial_calls: dict[int, _PartialCall] = {}
        usage: Usage | None = None
        finish_reason: str | None = None
        model_name: str | None = None
        async with stream:
            async for chunk in stream:
                model_name = chunk.model or model_name
                if chunk.usage is not None:
                    usage = Usage(prompt_tokens=chunk.usage.prompt_tokens or 0,
                                  completion_tokens=chunk.usage.completion_tokens or 0)
                for choice in chunk.choices or ():
                    if choice.index not in (0, None):
                        continue
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
                    delta = choice.delta
                    if delta is None:
                        continue
                    if delta.content:
                        text_parts.append(delta.content)
                        await request.on_token(delta.content)
                    for tc in delta.tool_calls or ():
                        index = tc.index if tc.index is not None else len(partial_calls)
                        partial = partial_calls.setdefault(index, _PartialCall())
                        partial.add(tc.id, tc.function.name if tc.function else None,
                                    tc.function.arguments if tc.function else None)
        calls = [partial_calls[i].finish(n) for n, i in enumerate(sorted(partial_calls), 1)]
        return TextResult(text="".join(text_parts), tool_calls=calls, usage=usage,
                          finish_reason=finish_reason, model=model_name)

    def _scrub(self, text: str) -> str:
        """``text`` with the API key (and anything shaped like one) masked, shortened to one line."""
        if self._api_key and self._api_key != NO_KEY_PLACEHOLDER:
            text = text.replace(self._api_key, "***")
        text = _KEY_LIKE.sub(lambda m: m.group(1) + "-***", text)
        text = " ".join(text.split())
        return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"

    def _raise_api_error(self, exc: openai.APIError) -> NoReturn:
        where = _safe_url(self.base_url)
        if isinstance(exc, openai.APITimeoutError):
            raise ModelError(f"{self.name}: request to {where} timed out after {self.timeout_s:g}s "
                             f"(max_retries={self.max_retries})") from exc
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            detail = f": {self._scrub(str(cause))}" if cause is not None and str(cause) else ""
            raise ModelError(f"{self.name}: could not connect to {where}{detail}") from exc
        if isinstance(exc, openai.APIStatusError):
            reason = self._scrub(_error_reason(exc))
            raise ModelError(f"{self.name}: {where} answered HTTP {exc.status_code}: {reason}") from exc
        raise ModelError(f"{self.name}: {where} failed: {self._scrub(_error_reason(exc))}") from exc


@dataclass(slots=True)
class _PartialCall:
    """A tool call being assembled from stream deltas."""

    id: str | None = None
    name: str = ""
    arguments: str = ""

    def add(self, call_id: str | None, name: str | None, arguments: str | None) -> None:
        if call_id and not self.id:
            self.id = call_id
        if name and name != self.name:
            # Servers send the name once; tolerate ones that repeat it whole, concatenate true fragments.
            self.name += name
        if arguments:
            self.arguments += arguments

    def finish(self, n: int) -> ToolCall:
        return ToolCall(id=self.id or f"call_{n}", name=self.name,
                        arguments=parse_tool_arguments(self.arguments))


def parse_tool_arguments(raw: str | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; anything that is not a JSON object is kept under ``"_raw"``."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def _arguments_json(arguments: dict[str, Any]) -> str:
    if set(arguments) == {"_raw"} and isinstance(arguments["_raw"], str):
        return arguments["_raw"]  # what the model sent, unparseable: send it back unchanged
    return json.dumps(arguments, ensure_ascii=False)


def to_openai_messages(messages: Sequence[ChatMessage]) -> list[ChatCompletionMessageParam]:
    """Map the typed transcript to chat-completions messages."""
    out: list[ChatCompletionMessageParam] = []
    for m in messages:
        if m.role == "system":
            system = ChatCompletionSystemMessageParam(role="system", content=m.content or "")
            if m.name:
                system["name"] = m.name
            out.append(system)
        elif m.role == "user":
            user = ChatCompletionUserMessageParam(role="user", content=m.content or "")
            if m.name:
                user["name"] = m.name
            out.append(user)
        elif m.role == "assistant":
            assistant = ChatCompletionAssistantMessageParam(role="assistant")
            if m.tool_calls:
                assistant["tool_calls"] = [
                    ChatCompletionMessageFunctionToolCallParam(
                        id=tc.id, type="function",
                        function={"name": tc.name, "arguments": _arguments_json(tc.arguments)},
                    )
                    for tc in m.tool_calls
                ]
                assistant["content"] = m.content or None
            else:
                assistant["content"] = m.content or ""
            if m.name:
                assistant["name"] = m.name
            out.append(assistant)
        elif m.role == "tool":
            if not m.tool_call_id:
                raise ModelError("a tool message needs tool_call_id "
                                 "(the id of the assistant tool call it answers)")
            out.append(ChatCompletionToolMessageParam(role="tool", tool_call_id=m.tool_call_id,
                                                      content=m.content or ""))
        else:
            raise ModelError(f"unknown chat role {m.role!r}")
    return out


def _tool_param(name: str, description: str, parameters: dict[str, Any]) -> ChatCompletionFunctionToolParam:
    return ChatCompletionFunctionToolParam(
        type="function",
        function={"name": name, "description": description, "parameters": parameters},
    )


def _response_format(model_type: ModelType, schema: dict[str, Any] | None) -> ResponseFormat | None:
    if schema is not None:
        name = schema.get("title") if isinstance(schema.get("title"), str) else None
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] if name else "response"
        return {"type": "json_schema", "json_schema": {"name": safe, "schema": schema}}
    if model_type in OBJECT_TYPES:
        return {"type": "json_object"}
    return None


def _error_reason(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
    if isinstance(body, str) and body.strip():
        return body
    return exc.message or type(exc).__name__


def _safe_url(url: str) -> str:
    """``url`` without user info or query string (either may carry credentials)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# --- settings ---------------------------------------------------------------------------------------------


def from_settings(get_setting: Callable[[str], str | None]) -> OpenAICompatProvider | None:
    """A provider configured from ElizaOS OpenAI-plugin settings, or None when none are configured.

    Reads ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_SMALL_MODEL`` (then ``SMALL_MODEL``),
    ``OPENAI_LARGE_MODEL`` (then ``LARGE_MODEL``), ``OPENAI_EMBEDDING_MODEL`` and
    ``OPENAI_EMBEDDING_DIMENSIONS``.
    A local server (a non-default base URL) needs no key.
    """

    def setting(*keys: str) -> str | None:
        for key in keys:
            value = get_setting(key)
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    api_key = setting("OPENAI_API_KEY")
    base_url = (setting("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if api_key is None and base_url == DEFAULT_BASE_URL:
        return None
    dims_text = setting("OPENAI_EMBEDDING_DIMENSIONS")
    dimensions: int | None = None
    if dims_text is not None:
        try:
            dimensions = int(dims_text)
        except ValueError:
            raise ConfigError(f"OPENAI_EMBEDDING_DIMENSIONS must be an integer, got {dims_text!r}") from None
    return OpenAICompatProvider(
        api_key=api_key or NO_KEY_PLACEHOLDER,
        base_url=base_url,
        small_model=setting("OPENAI_SMALL_MODEL", "SMALL_MODEL") or DEFAULT_SMALL_MODEL,
        large_model=setting("OPENAI_LARGE_MODEL", "LARGE_MODEL") or DEFAULT_LARGE_MODEL,
        embedding_model=setting("OPENAI_EMBEDDING_MODEL") or DEFAULT_EMBEDDING_MODEL,
        embedding_dimensions=dimensions,
    )


__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_LARGE_MODEL",
    "DEFAULT_SMALL_MODEL",
    "OpenAICompatProvider",
    "from_settings",
    "parse_tool_arguments",
    "to_openai_messages",
]
