"""The server factory: FastAPI for REST, python-socketio for Socket.IO, one origin.

    server = create_server(models=gateway, db_path="data/eliza.db", characters=[character])
    uvicorn.run(server.asgi, host="127.0.0.1", port=3000)

Routes, envelopes, status codes and Socket.IO events follow ``@elizaos/server`` 1.7.2 so its clients work
unchanged; OpenAPI docs are at ``/docs``. The model gateway is injected (tests pass a scripted one; the CLI
builds one from settings); the agent store and the central messaging tables share one SQLite file.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .. import __version__
from ..models.gateway import ModelGateway
from ..runtime.plugin import Plugin
from ..store.base import Store
from ..store.sqlite import SqliteStore
from ..types import Character
from . import agents, messaging, sessions, system
from .auth import ApiKeyMiddleware
from .central import DEFAULT_SERVER_ID, CentralStore
from .errors import install_error_handlers
from .limits import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from .manager import AgentManager
from .memory import memory_router
from .socketio import ElizaSocketServer, SocketBroadcaster
from .ui import BUILTIN_UI, mount_ui

if TYPE_CHECKING:
    from ..scale import Gateway

log = logging.getLogger("elizapy.server")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What the edge (CLI, tests) decides; nothing here is read from the environment by the server."""

    auth_token: str | None = None
    """``ELIZA_SERVER_AUTH_TOKEN``: when set, every ``/api`` route and Socket.IO need it as the API key."""
    ui_dir: Path | None = None
    """A built web client to serve at ``/`` (such as ``@elizaos/client``'s dist); None: the built-in page."""
    character_dirs: tuple[Path, ...] = field(default_factory=lambda: (Path.cwd(),))
    """Folders ``POST /api/agents {characterPath}`` may read character files from."""
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    message_timeout_s: float = 300.0


@dataclass(slots=True)
class ElizaServer:
    """The ASGI app (``asgi``) and the parts tests and embedders reach for."""

    asgi: socketio.ASGIApp
    api: FastAPI
    manager: AgentManager
    sockets: ElizaSocketServer


def create_server(
    *,
    models: ModelGateway,
    store: Store | None = None,
    db_path: str | Path = ":memory:",
    central: CentralStore | None = None,
    characters: Sequence[Character] = (),
    config: ServerConfig | None = None,
    plugins: Sequence[Plugin] = (),
    env: Mapping[str, str] | None = None,
    bus: Gateway | None = None,
) -> ElizaServer:
    """Build the server; agents in ``characters`` are stored (replacing their records) and started on startup.

    ``store`` defaults to a :class:`~elizapy.store.sqlite.SqliteStore` on ``db_path``; the central messaging
    tables go to ``central`` or the same ``db_path``.

    ``bus`` makes this a gateway (``elizapy start --role gateway``): agents run on bus workers sharing
    ``store`` (a PostgreSQL store), messages are submitted to the bus, and starting or stopping an agent flips
    ``enabled`` on its record. The server enters the gateway on startup and closes it, and its Redis client,
    on shutdown.
    """
    config = config or ServerConfig()
    manager = AgentManager(
        store=store or SqliteStore(db_path),
        central=central or CentralStore(db_path),
        models=models,
        plugins=plugins,
        env=env,
        server_id=DEFAULT_SERVER_ID,
        message_timeout_s=config.message_timeout_s,
    )
    sockets = ElizaSocketServer(
        manager,
        auth_token=config.auth_token,
        cors_origins=list(config.cors_origins) if config.cors_origins != ("*",) else "*",
    )
    manager.broadcaster = SocketBroadcaster(sockets.sio)
    manager.bus = bus
    log_buffer = system.LogBuffer()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("elizapy").addHandler(log_buffer)
        try:
            async with AsyncExitStack() as stack:
                if bus is not None:
                    stack.push_async_callback(bus.redis.aclose)
                    await stack.enter_async_context(bus)
                stack.push_async_callback(manager.close)
                await manager.open()
                for character in characters:
                    agent_id = await manager.register(character)
                    await manager.start(agent_id)
                yield
        finally:
            logging.getLogger("elizapy").removeHandler(log_buffer)

    api = FastAPI(
        title="ElizaOS-Py server",
        version=__version__,
        lifespan=lifespan,
        description="ElizaOS-compatible REST API (@elizaos/server 1.7.2) with Socket.IO at /socket.io/.",
    )
    api.state.manager = manager
    api.state.sessions = sessions.SessionRegistry()
    api.state.log_buffer = log_buffer
    api.state.character_dirs = [d.resolve() for d in config.character_dirs]
    install_error_handlers(api)
    for router in (
        system.public,
        system.server,
        system.system,
        agents.router,
        memory_router("/api/agents"),
        memory_router("/api/memory"),
        sessions.router,
        messaging.router,
    ):
        api.include_router(router)
    mount_ui(api, config.ui_dir or BUILTIN_UI)
    # Added last = outermost: CORS answers preflights, then the key is checked, then the body is bounded.
    api.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    api.add_middleware(ApiKeyMiddleware, token=config.auth_token)
    api.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.cors_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization", "X-API-KEY", "X-Entity-Id"],
    )
    asgi = socketio.ASGIApp(sockets.sio, other_asgi_app=api, socketio_path="socket.io")
    return ElizaServer(asgi=asgi, api=api, manager=manager, sockets=sockets)
