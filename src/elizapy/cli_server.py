"""``elizapy start``: serve agents over the ElizaOS-compatible REST + Socket.IO API, with a web chat at ``/``.

Settings are read here, at the edge: the process environment over ``.env``. ``SERVER_PORT`` (3000),
``ELIZA_SERVER_AUTH_TOKEN`` (the API key for ``/api`` and Socket.IO), ``CORS_ORIGIN`` (comma-separated origins
allowed cross-site, default ``*`` as in ElizaOS), ``ELIZAPY_UI_DIR`` (a built web client
such as ``@elizaos/client``'s dist to serve instead of the built-in page), and the model settings
(``MODEL_PROVIDER``, ``OPENAI_BASE_URL``…) of :func:`elizapy.models.factory.gateway_from_settings`.

``--role`` splits the server for scale-out (docs/deploy.md): ``all`` (the default) runs agents in this
process; ``gateway`` serves the same API but submits messages to the Redis Streams bus (``REDIS_URL``) and
keeps agent records in PostgreSQL (``POSTGRES_URL``); ``worker`` serves no API and runs agents from the bus
(:func:`elizapy.cli_scale.run_worker`). ``ELIZAPY_BUS_PREFIX`` and ``ELIZAPY_BUS_SHARDS`` must match across
gateways and workers.
"""

from __future__ import annotations

import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from .errors import ElizaError

err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


def _port(value: int | None, env: dict[str, str]) -> int:
    if value is not None:
        port = value
    else:
        raw = env.get("SERVER_PORT", "3000")
        if not raw.isdigit():
            _fail(f"SERVER_PORT={raw!r} is not a port number")
        port = int(raw)
    if not 0 <= port <= 65535:
        _fail(f"port {port} is out of range")
    return port


class Role(StrEnum):
    all = "all"
    gateway = "gateway"
    worker = "worker"


def _bus_urls(
    role: Role, redis_url: str | None, postgres_url: str | None, env: dict[str, str]
) -> tuple[str, str]:
    redis = redis_url or env.get("REDIS_URL")
    postgres = postgres_url or env.get("POSTGRES_URL")
    missing = [name for name, value in (("REDIS_URL", redis), ("POSTGRES_URL", postgres)) if not value]
    if missing:
        _fail(
            f"--role {role.value} needs {' and '.join(missing)} (or --redis-url / --postgres-url): "
            "agents' records live in PostgreSQL and messages travel on the Redis bus"
        )
    assert redis and postgres
    return redis, postgres


OFFICIAL_CLIENT = "elizaos-client-1.7.2"
"""Where scripts/setup/server.sh puts the ``@elizaos/client`` build, under ``<cache>/ui/``."""


def default_ui_dir(env: dict[str, str]) -> Path | None:
    """``ELIZAPY_UI_DIR``, else the official web client when it was fetched into the cache, else None."""
    if env.get("ELIZAPY_UI_DIR"):
        return Path(env["ELIZAPY_UI_DIR"])
    cache = (
        Path(env["ELIZAPY_CACHE_DIR"]) if env.get("ELIZAPY_CACHE_DIR") else Path.home() / ".cache" / "elizapy"
    )
    dist = cache / "ui" / OFFICIAL_CLIENT / "dist"
    return dist if (dist / "index.html").is_file() else None


def start(
    character: Annotated[
        list[Path] | None,
        typer.Option("--character", "-c", help="character JSON file; repeat for several agents"),
    ] = None,
    port: Annotated[int | None, typer.Option(help="port (default: SERVER_PORT or 3000)")] = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    db: Annotated[Path | None, typer.Option(help="SQLite file (default: .elizapy/server.db)")] = None,
    ui_dir: Annotated[
        Path | None,
        typer.Option(
            help="built web client to serve at / (default: ELIZAPY_UI_DIR, else @elizaos/client if "
            "scripts/setup/server.sh fetched it, else the built-in chat page)"
        ),
    ] = None,
    builtin_ui: Annotated[
        bool,
        typer.Option(
            "--builtin-ui", help="serve the built-in chat page even when another web client is available"
        ),
    ] = False,
    env_file: Annotated[Path | None, typer.Option(help=".env file with settings")] = None,
    role: Annotated[
        Role,
        typer.Option(
            help="all: agents run here (default); gateway: the API, agents on bus workers; worker: run "
            "agents from the bus, no API",
            case_sensitive=False,
        ),
    ] = Role.all,
    redis_url: Annotated[
        str | None, typer.Option(help="gateway/worker: Redis URL of the bus (default: $REDIS_URL)")
    ] = None,
    postgres_url: Annotated[
        str | None, typer.Option(help="gateway/worker: the shared PostgreSQL store (default: $POSTGRES_URL)")
    ] = None,
    factory: Annotated[
        str | None,
        typer.Option(
            help="worker: runtime factory 'module:attr' (default: agents with the models their settings name)"
        ),
    ] = None,
    max_in_flight: Annotated[int, typer.Option(help="worker: messages run at once by this worker")] = 32,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Start the server: REST API under /api, Socket.IO, OpenAPI docs at /docs, web chat at /."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if role is Role.worker:
        _start_worker(env_file, redis_url, postgres_url, factory, max_in_flight)
        return
    try:
        import uvicorn

        from .server import ServerConfig, create_server
    except ImportError as exc:
        _fail(f"the server needs the server extra: pip install 'elizapy[server]' ({exc.name} is missing)")
        return
    from .character import load_character
    from .cli import data_dir, edge_env
    from .models.factory import gateway_from_settings
    from .models.settings import SettingsSource

    env = edge_env(env_file)
    characters = []
    bus = store = None
    try:
        for path in character or []:
            loaded = load_character(path)
            for warning in loaded.warnings:
                err.print(f"[yellow]warning:[/] {escape(str(warning))}")
            characters.append(loaded.character)
        if role is Role.gateway:  # models run on the workers
            from .cli_scale import _bus_config
            from .models.gateway import ModelGateway

            redis, postgres = _bus_urls(role, redis_url, postgres_url, env)
            try:
                from .scale import Gateway, connect
                from .store.postgres import PostgresStore
            except ImportError as exc:
                _fail(f"--role gateway needs the redis and postgres extras ({exc.name} is missing)")
                return
            gateway = ModelGateway()
            bus = Gateway(connect(redis), config=_bus_config(env, None, None))
            store = PostgresStore(postgres)
        else:
            gateway = gateway_from_settings(
                SettingsSource(None, None, env=env), cache_dir=env.get("ELIZAPY_CACHE_DIR")
            )
    except ElizaError as exc:
        _fail(str(exc))
        return
    ui = None if builtin_ui else ui_dir or default_ui_dir(env)
    if ui is not None and not (ui / "index.html").is_file():
        _fail(f"{ui} has no index.html (expected a built web client)")
    path = db or data_dir(env) / "server.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    dirs = tuple(dict.fromkeys([Path.cwd(), *(p.resolve().parent for p in character or [])]))
    origins = tuple(o.strip() for o in env.get("CORS_ORIGIN", "*").split(",") if o.strip()) or ("*",)
    config = ServerConfig(
        auth_token=env.get("ELIZA_SERVER_AUTH_TOKEN") or None,
        ui_dir=ui,
        character_dirs=dirs,
        cors_origins=origins,
    )
    from .bench.metrics import live_metrics

    metrics = live_metrics(env, label="server")
    server = create_server(
        models=gateway, store=store, db_path=path, characters=characters, config=config, env=env, bus=bus,
        plugins=[metrics[0]] if metrics else [],
    )
    bound = _port(port, env)
    where = (
        f"role gateway (agents on bus workers, messaging tables {os.fspath(path)})"
        if bus is not None
        else f"{len(characters)} agent(s), database {os.fspath(path)}"
    )
    err.print(
        f"ElizaOS-Py server starting on {host}:{bound}: {where}, web UI {ui or 'built-in'}; "
        "API under /api, docs at /docs",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(
        server.asgi,
        host=host,
        port=bound,
        log_level="info" if verbose else "warning",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def _start_worker(
    env_file: Path | None,
    redis_url: str | None,
    postgres_url: str | None,
    factory: str | None,
    max_in_flight: int,
) -> None:
    """``--role worker``: :func:`elizapy.cli_scale.run_worker` until SIGTERM/SIGINT."""
    import anyio

    from .cli import edge_env

    env = edge_env(env_file)
    redis, postgres = _bus_urls(Role.worker, redis_url, postgres_url, env)
    try:
        from .cli_scale import _bus_config, default_factory, load_factory, run_worker

        config = _bus_config(env, None, None, max_in_flight=max_in_flight)
        build = load_factory(factory) if factory else default_factory(env)
        anyio.run(run_worker, redis, postgres, config, build)
    except ImportError as exc:
        _fail(f"--role worker needs the redis and postgres extras ({exc.name} is missing)")
    except ElizaError as exc:
        _fail(str(exc))
