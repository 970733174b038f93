"""A real server for the server tests: uvicorn on 127.0.0.1 (ephemeral port) in a background thread, with a
scripted model, plus helpers to run the official Node clients against it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from elizapy.character import parse_character
from elizapy.models import FunctionModel, ModelGateway, TextRequest, TextResult, xml_reply
from elizapy.server import ElizaServer, ServerConfig, create_server
from elizapy.types import Character, ModelType

NODE_DIR = Path(__file__).parent / "node"
SAY = re.compile(r"please say ([A-Za-z0-9_-]+)")


async def echo_reply(model_type: ModelType, request: TextRequest) -> str | TextResult:
    """The agents' model: RESPOND to should-respond; otherwise reply to the newest "please say X" with
    "You said X." (the current message is the last one in the prompt), streamed in 5-character pieces when
    the caller streams."""
    prompt = "\n".join(m.content or "" for m in request.as_messages())
    if model_type == ModelType.TEXT_SMALL:
        return "<response><thought>it is for me</thought><action>RESPOND</action></response>"
    said = SAY.findall(prompt)
    raw = xml_reply(f"You said {said[-1]}." if said else "Hello there.", thought="echo what was asked")
    if request.on_token is not None:
        for i in range(0, len(raw), 5):
            await request.on_token(raw[i : i + 5])
    return TextResult(text=raw)


def make_gateway() -> ModelGateway:
    gateway = ModelGateway()
    gateway.register_provider(FunctionModel(echo_reply))
    return gateway


def character(name: str = "Ada", **extra: Any) -> Character:
    return parse_character({"name": name, "bio": [f"{name} is a test agent."], **extra}).character


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class LiveServer:
    """An :class:`ElizaServer` served by uvicorn in a thread; ``url`` is its base URL."""

    def __init__(self, server: ElizaServer) -> None:
        self.server = server
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            server.asgi, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=2
        )
        self._uvicorn = _Uvicorn(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run,
            kwargs={"sockets": [self._sock]},
            name=f"elizapy-server-{self.port}",
            daemon=True,
        )

    def start(self) -> LiveServer:
        self._thread.start()
        if not self._uvicorn.ready.wait(20) or not self._uvicorn.started:
            raise RuntimeError("the server did not start")
        return self

    def stop(self) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(15)

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"X-API-KEY": api_key} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=20)


ServerFactory = Callable[..., LiveServer]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers, stopped after the test: ``start_server(characters=[...], config=ServerConfig(...))``."""
    started: list[LiveServer] = []

    def start(*, characters: list[Character] | None = None, config: ServerConfig | None = None) -> LiveServer:
        live = serve(tmp_path / f"server{len(started)}", characters=characters, config=config)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


def serve(
    tmp: Path, *, characters: list[Character] | None = None, config: ServerConfig | None = None
) -> LiveServer:
    server = create_server(
        models=make_gateway(),
        db_path=tmp / "server.db",
        characters=characters if characters is not None else [character()],
        config=config or ServerConfig(character_dirs=(tmp,)),
    )
    return LiveServer(server).start()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per module, with agent "Ada" running."""
    live = serve(tmp_path_factory.mktemp("shared"))
    yield live
    live.stop()


# --- Node ---------------------------------------------------------------------------------------------------


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/setup/server.sh installs it)")
    if not (NODE_DIR / "node_modules" / "@elizaos" / "api-client").is_dir():
        pytest.fail(
            f"the Node test packages are not installed: run `npm ci` in {NODE_DIR} "
            "(scripts/setup/server.sh does)"
        )
    return node


def chromium_or_skip() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (scripts/setup/server.sh installs Debian's chromium)")
    return path


def run_node(script: str, *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run a script of ``tests/server/node`` and parse the JSON it prints on its last line."""
    node = node_or_skip()
    proc = subprocess.run(
        [node, script, *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def official_client_dist() -> Path:
    """The ``@elizaos/client`` 1.7.2 build that scripts/setup/server.sh puts in the cache."""
    cache = Path(os.environ.get("ELIZAPY_CACHE_DIR") or Path.home() / ".cache" / "elizapy")
    dist = cache / "ui" / "elizaos-client-1.7.2" / "dist"
    if not (dist / "index.html").is_file():
        pytest.fail(f"the official web client is not installed in {dist}: run scripts/setup/server.sh")
    return dist
