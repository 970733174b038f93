"""``elizapy start`` as a user runs it: a subprocess, settings from the environment, the model gateway built
from them (here: an OpenAI-compatible fake on loopback), characters from files."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from elizapy.models import xml_reply
from elizapy.types import string_to_uuid

RUN_START = "import typer; from elizapy.cli_server import start; typer.run(start)"


async def _chat(request: Request) -> JSONResponse:
    body = await request.json()
    prompt = "\n".join(str(m.get("content")) for m in body["messages"])
    said = re.findall(r"please say ([A-Za-z0-9_-]+)", prompt)
    text = xml_reply(f"The CLI agent heard {said[-1] if said else 'nothing'}.")
    return JSONResponse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    )


async def _embed(request: Request) -> JSONResponse:
    body = await request.json()
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dims = body.get("dimensions") or 384
    data = [
        {"object": "embedding", "index": i, "embedding": [1.0] + [0.0] * (dims - 1)}
        for i in range(len(inputs))
    ]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    )


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", _chat, methods=["POST"]),
            Route("/v1/embeddings", _embed, methods=["POST"]),
        ]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    server.should_exit = True
    thread.join(10)


class Cli:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUN_START, *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r} in {timeout}s:\n{''.join(self.seen)}"
                ) from None
            if line is None:
                raise AssertionError(f"the CLI exited ({self.proc.wait()}):\n{''.join(self.seen)}")
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in __import__("os").environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH")
    }
    return {
        **keep,
        "HOME": str(tmp),
        "ELIZAPY_CACHE_DIR": str(tmp / "cache"),
        "ELIZAPY_DATA_DIR": str(tmp / "data"),
        **extra,
    }


def test_start_serves_the_characters_with_the_configured_model(tmp_path: Path, fake_openai: str) -> None:
    char = tmp_path / "nova.json"
    char.write_text(json.dumps({"name": "Nova", "bio": ["Nova is served from the CLI."]}))
    env = _env(
        tmp_path,
        MODEL_PROVIDER="openai",
        OPENAI_BASE_URL=fake_openai,
        OPENAI_API_KEY="sk-test",
        OPENAI_EMBEDDING_DIMENSIONS="384",
        ELIZA_SERVER_AUTH_TOKEN="cli-token",
    )
    cli = Cli(["--character", str(char), "--port", "0", "--verbose"], env, tmp_path)
    try:
        # uvicorn logs this once the app's startup (agents started) is complete and the socket listens.
        port = int(cli.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1))
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/agents").status_code == 401
        c = httpx.Client(base_url=base, headers={"X-API-KEY": "cli-token"}, timeout=20)
        agents = c.get("/api/agents").json()["data"]["agents"]
        assert [(a["name"], a["status"]) for a in agents] == [("Nova", "active")]
        session: dict[str, Any] = c.post(
            "/api/messaging/sessions", json={"agentId": string_to_uuid("Nova"), "userId": str(uuid.uuid4())}
        ).json()
        reply = c.post(
            f"/api/messaging/sessions/{session['sessionId']}/messages",
            json={"content": "please say mu7", "transport": "http"},
        ).json()
        assert reply["agentResponse"]["text"] == "The CLI agent heard mu7."
        assert "ElizaOS-Py chat" in c.get("/").text  # no web client in the cache: the built-in page
    finally:
        code = cli.stop()
    assert code == 0, "".join(cli.seen)
    assert (tmp_path / "data" / "server.db").is_file()


def test_start_rejects_a_bad_character_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "Bad", "bio": 7}))
    proc = subprocess.run(
        [sys.executable, "-c", RUN_START, "--character", str(bad)],
        cwd=tmp_path,
        env=_env(tmp_path, MODEL_PROVIDER="openai", OPENAI_BASE_URL="http://127.0.0.1:9/v1"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "bad.json" in proc.stderr and "bio" in proc.stderr
