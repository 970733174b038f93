"""A scriptable fake of an OpenAI-compatible HTTP server, for testing the adapter over real HTTP.

A real uvicorn server on 127.0.0.1 (ephemeral port) runs in a background thread. Tests queue canned replies
(``reply``, ``fail``, ``hang``, ``embeddings``); every request pops the next one, in order. Chat requests with
``"stream": true`` get the same reply as Server-Sent Events, split into chunks the way OpenAI streams them.
Every request body is recorded so tests can assert on what the adapter sent.

With nothing queued, a chat request goes to ``script`` (a function of the request body, for clients whose call
order is not fixed) or, without one, fails with HTTP 599 (so an unexpected call is loud); an embeddings
request gets deterministic vectors of the requested ``dimensions`` (default 3).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

UNSCRIPTED_STATUS = 599
TEST_API_KEY = "sk-test-0123456789abcdefSECRET"
"""The key test providers send; tests assert it never shows up in errors."""


@dataclass
class Canned:
    """One scripted answer. ``tool_calls`` items are ``(id, name, arguments)``, arguments a dict or a str."""

    text: str = ""
    tool_calls: list[tuple[str, str, str | dict[str, Any]]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: tuple[int, int] | None = (11, 7)
    model: str | None = None
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunks: list[str] | None = None
    """How to split ``text`` when streaming (default: one chunk per word, spaces kept)."""
    chunk_delay_s: float = 0.0
    """Pause between streamed text chunks (after the first)."""
    embeddings: list[list[float]] | None = None
    stream_error: str | None = None
    """When streaming, send an ``{"error": ...}`` event after the text chunks and stop there."""


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class FakeOpenAI:
    """The scripting and recording side; the HTTP side lives in :func:`start_fake_openai`."""

    def __init__(self) -> None:
        self.base_url = ""
        self._queue: deque[Canned] = deque()
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.script: Callable[[dict[str, Any]], Canned] | None = None
        """Answers a chat request when nothing is queued (called in the server's thread)."""

    # --- scripting ----------------------------------------------------------------------------------------

    def push(self, canned: Canned) -> None:
        with self._lock:
            self._queue.append(canned)

    def reply(self, text: str = "", *, tool_calls: list[tuple[str, str, str | dict[str, Any]]] | None = None,
              **kwargs: Any) -> None:
        self.push(Canned(text=text, tool_calls=list(tool_calls or []), **kwargs))

    def fail(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        self.push(Canned(status=status, error=message, headers=dict(headers or {})))

    def hang(self, seconds: float, text: str = "too late") -> None:
        self.push(Canned(text=text, delay_s=seconds))

    def embeddings(self, vectors: list[list[float]]) -> None:
        self.push(Canned(embeddings=vectors))

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.script = None

    @property
    def pending(self) -> int:
        return len(self._queue)

    # --- assertions ---------------------------------------------------------------------------------------

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests]

    @property
    def last(self) -> dict[str, Any]:
        assert self.requests, "the fake server received no request"
        return self.requests[-1].body

    # --- serving ------------------------------------------------------------------------------------------

    def _next(self) -> Canned | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    async def _record(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        with self._lock:
            self.requests.append(Recorded(request.url.path, body, dict(request.headers)))
        return dict(body)

    async def chat(self, request: Request) -> Response:
        body = await self._record(request)
        canned = self._next()
        if canned is None and self.script is not None:
            canned = self.script(body)
        if canned is None:
            return _error(UNSCRIPTED_STATUS, "fake server: no scripted reply queued", {})
        if canned.delay_s:
            await asyncio.sleep(canned.delay_s)
        if canned.status >= 400:
            return _error(canned.status, canned.error or "error", canned.headers,
                          authorization=request.headers.get("authorization", ""))
        model = canned.model or str(body.get("model", ""))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_sse(canned, model, include_usage), media_type="text/event-stream",
                                     headers=canned.headers)
        return JSONResponse(_completion(canned, model), headers=canned.headers)

    async def embed(self, request: Request) -> Response:
        body = await self._record(request)
        canned = self._next()
        if canned is not None and canned.delay_s:
            await asyncio.sleep(canned.delay_s)
        if canned is not None and canned.status >= 400:
            return _error(canned.status, canned.error or "error", canned.headers)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        if canned is not None and canned.embeddings is not None:
            vectors = canned.embeddings
        else:
            dim = int(body.get("dimensions") or 3)
            vectors = [[float(len(t)), float(i)] + [0.5] * (dim - 2) for i, t in enumerate(texts)]
        return JSONResponse({
            "object": "list",
            "model": body.get("model"),
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        })


def _error(status: int, message: str, headers: dict[str, str], *, authorization: str = "") -> Response:
    # Like real servers, an auth error may quote the key it was given: the adapter must not repeat it.
    if status == 401 and authorization:
        message = f"{message}: {authorization.removeprefix('Bearer ')}"
    payload = {"error": {"message": message, "type": "fake_error", "code": status}}
    return JSONResponse(payload, status_code=status, headers=headers)


def _arguments(arguments: str | dict[str, Any]) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _usage(canned: Canned) -> dict[str, int] | None:
    if canned.usage is None:
        return None
    p, c = canned.usage
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _finish(canned: Canned) -> str:
    return canned.finish_reason or ("tool_calls" if canned.tool_calls else "stop")


def _completion(canned: Canned, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": canned.text or None}
    if canned.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": _arguments(args)}}
            for cid, name, args in canned.tool_calls
        ]
    out: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(canned)}],
    }
    if (usage := _usage(canned)) is not None:
        out["usage"] = usage
    return out


def _text_chunks(canned: Canned) -> list[str]:
    if canned.chunks is not None:
        return canned.chunks
    return re.findall(r"\S+\s*|\s+", canned.text)


async def _sse(canned: Canned, model: str, include_usage: bool) -> AsyncIterator[str]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        data = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for i, piece in enumerate(_text_chunks(canned) if canned.text else []):
        if canned.chunk_delay_s and i:
            await asyncio.sleep(canned.chunk_delay_s)
        yield chunk({"content": piece})
    if canned.stream_error is not None:
        yield f"data: {json.dumps({'error': {'message': canned.stream_error, 'type': 'server_error'}})}\n\n"
        return
    for index, (cid, name, args) in enumerate(canned.tool_calls):
        yield chunk({"tool_calls": [{"index": index, "id": cid, "type": "function",
                                     "function": {"name": name, "arguments": ""}}]})
        text = _arguments(args)
        third = max(1, len(text) // 3)
        for start in range(0, len(text), third):
            piece = text[start:start + third]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, _finish(canned))
    if include_usage and (usage := _usage(canned)) is not None:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


class FakeOpenAIServer:
    """A running fake: ``fake.base_url`` is ``http://127.0.0.1:<port>/v1``."""

    def __init__(self) -> None:
        self.fake = FakeOpenAI()
        app = Starlette(routes=[
            Route("/v1/chat/completions", self.fake.chat, methods=["POST"]),
            Route("/v1/embeddings", self.fake.embed, methods=["POST"]),
        ])
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.fake.base_url = f"http://127.0.0.1:{port}/v1"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="fake-openai", daemon=True)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self.fake

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout=5)
        self._sock.close()
