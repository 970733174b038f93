"""An OpenAI-compatible HTTP front for the local models (``elizapy models serve``).

xllamacpp's own HTTP server serves one model per process, and we serve two (the chat model, and MiniLM for
``/v1/embeddings``), so a small FastAPI app sits in front of the shared engines. Chat and completion bodies
pass through to llama.cpp unchanged (sampling options, ``response_format``, ``stream``), so the endpoint is
as compatible as llama.cpp's own; embeddings go through the provider (truncation, normalisation).
"""

from __future__ import annotations

import base64
import json
import math
import struct
import threading
import time
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..errors import ElizaError
from ..types import ModelType
from .local import LocalModelProvider


def create_app(provider: LocalModelProvider) -> FastAPI:
    """A FastAPI app: ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``."""
    app = FastAPI(title="elizapy local models", docs_url=None, redoc_url=None)
    created = int(time.time())

    def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)

    def chat_type(body: dict[str, Any]) -> ModelType:
        small = provider.label_for(ModelType.TEXT_SMALL)
        if body.get("model") == small and small != provider.label_for(ModelType.TEXT_LARGE):
            return ModelType.TEXT_SMALL
        return ModelType.TEXT_LARGE

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        labels = dict.fromkeys(provider.label_for(t) for t in
                               (ModelType.TEXT_LARGE, ModelType.TEXT_SMALL, ModelType.TEXT_EMBEDDING))
        return {"object": "list",
                "data": [{"id": label, "object": "model", "created": created, "owned_by": "elizapy"}
                         for label in labels]}

    async def generate(request: Request, *, completion: bool) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "request body is not JSON")
        if not isinstance(body, dict):
            return error(400, "request body must be a JSON object")
        mt = chat_type(body)
        label = provider.label_for(mt)
        try:
            engine = await provider.engine_for(mt)
        except ElizaError as exc:
            return error(503, str(exc), "server_error")
        call = engine.complete if completion else engine.chat
        if not any(k in body for k in ("max_tokens", "max_completion_tokens", "n_predict")):
            body["max_tokens"] = provider.max_tokens  # bound what the timeout cannot interrupt
        if body.get("stream"):
            events = _sse(call, body, label, provider.timeout_s)
            return StreamingResponse(events, media_type="text/event-stream")
        out: list[dict[str, Any]] = []
        deadline = _deadline(provider.timeout_s)

        def collect(chunk: dict[str, Any]) -> bool:
            out.append(chunk)
            return time.monotonic() > deadline

        await anyio.to_thread.run_sync(call, body, collect, abandon_on_cancel=True)
        if not out:
            return error(504, "generation timed out", "server_error")
        result = out[-1]
        if "error" in result:
            err = result["error"] if isinstance(result["error"], dict) else {"message": str(result["error"])}
            return JSONResponse({"error": err}, status_code=int(err.get("code") or 500))
        result["model"] = label
        return result

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        return await generate(request, completion=False)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return await generate(request, completion=True)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "request body is not JSON")
        raw = body.get("input") if isinstance(body, dict) else None
        texts = [raw] if isinstance(raw, str) else raw
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return error(400, "input must be a string or a list of strings (token arrays are not supported)")
        try:
            vectors, tokens = await provider.embed_with_usage(texts)
        except ElizaError as exc:
            return error(500, str(exc), "server_error")
        as_base64 = body.get("encoding_format") == "base64"
        data = [{"object": "embedding", "index": i, "embedding": _b64(v) if as_base64 else v}
                for i, v in enumerate(vectors)]
        return {"object": "list", "data": data, "model": provider.label_for(ModelType.TEXT_EMBEDDING),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    return app


def _deadline(limit_s: float | None) -> float:
    return time.monotonic() + limit_s if limit_s else math.inf


def _b64(vec: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode("ascii")


async def _sse(call: Any, body: dict[str, Any], label: str, limit_s: float | None) -> AsyncIterator[str]:
    """Server-sent events from a llama.cpp streaming call running on its own thread."""
    send, recv = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
    stop = threading.Event()
    token = anyio.lowlevel.current_token()
    deadline = _deadline(limit_s)

    def on_chunk(chunk: dict[str, Any]) -> bool:
        if stop.is_set():
            return True
        if time.monotonic() > deadline:
            chunk = {"error": {"message": "generation timed out", "type": "server_error", "code": 504}}
            stop.set()
        try:
            anyio.from_thread.run_sync(send.send_nowait, chunk, token=token)
        except Exception:  # the client went away
            return True
        return stop.is_set()

    def work() -> None:
        try:
            call(body, on_chunk)
        finally:
            with suppress(Exception):
                anyio.from_thread.run_sync(send.close, token=token)

    threading.Thread(target=work, name="elizapy-sse", daemon=True).start()
    try:
        async with recv:
            async for chunk in recv:
                if "choices" in chunk:
                    chunk["model"] = label
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        stop.set()


__all__ = ["create_app"]
