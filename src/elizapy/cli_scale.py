"""Scale-out commands: ``worker`` (a stateless agent worker) and ``bus-status`` (who holds what).

Settings are read here, at the edge: options first, then the environment and ``.env`` (``REDIS_URL``,
``POSTGRES_URL``, ``ELIZAPY_BUS_PREFIX``, ``ELIZAPY_BUS_SHARDS``). Run as ``python -m elizapy.cli_scale``
until the main CLI mounts these commands.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import ConfigError, ElizaError

if TYPE_CHECKING:  # the scale package needs the redis extra; the commands import it when they run
    from .scale import BusConfig, RuntimeFactory

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Scale-out: agent workers on a Redis Streams bus sharing one PostgreSQL store.")
console = Console()
err = Console(stderr=True)


@app.callback()
def _group() -> None:
    """Scale-out commands."""


def _env(env_file: Path | None) -> dict[str, str]:
    from .models.settings import load_env_file

    return {**load_env_file(env_file or Path(".env")), **os.environ}


def _setting(value: Any, env: dict[str, str], key: str, default: Any = None) -> Any:
    return value if value is not None else env.get(key, default)


def load_factory(spec: str) -> Any:
    """``package.module:attribute`` → the attribute (a runtime factory: ``(character, store) -> runtime``)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"--factory {spec!r}: expected 'package.module:attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"--factory {spec!r}: cannot import {module_name}: {exc}") from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(f"--factory {spec!r}: {module_name} has no {attr}") from None
    if not callable(target):
        raise ConfigError(f"--factory {spec!r} is not callable")
    return target


def default_factory(env: dict[str, str]) -> RuntimeFactory:
    """Agents with the models their settings name (character settings, then the environment)."""
    from .models.factory import gateway_from_settings
    from .models.settings import SettingsSource
    from .runtime.runtime import AgentRuntime
    from .store.base import Store
    from .types import Character

    def build(character: Character, store: Store) -> AgentRuntime:
        settings = SettingsSource(character_settings=dict(character.settings or {}),
                                  character_secrets=dict(character.secrets or {}), env=env)
        models = gateway_from_settings(settings, cache_dir=env.get("ELIZAPY_CACHE_DIR"))
        return AgentRuntime(character, store=store, models=models, env=env)

    return build


def _bus_config(env: dict[str, str], prefix: str | None, shards: int | None, **extra: Any) -> BusConfig:
    from .scale import BusConfig

    return BusConfig(prefix=_setting(prefix, env, "ELIZAPY_BUS_PREFIX", "elizapy"),
                     shards=int(_setting(shards, env, "ELIZAPY_BUS_SHARDS", 16)), **extra)


@app.command()
def worker(
    redis_url: Annotated[str | None, typer.Option(help="Redis URL (default: $REDIS_URL)")] = None,
    postgres_url: Annotated[str | None, typer.Option(help="PostgreSQL URL (default: $POSTGRES_URL)")] = None,
    name: Annotated[str | None, typer.Option(help="consumer name (default: host:pid)")] = None,
    prefix: Annotated[str | None, typer.Option(help="bus key prefix ($ELIZAPY_BUS_PREFIX, elizapy)")] = None,
    shards: Annotated[int | None, typer.Option(help="shard count, same everywhere ($ELIZAPY_BUS_SHARDS, 16)")]
    = None,
    max_in_flight: Annotated[int, typer.Option(help="messages run at once by this worker")] = 32,
    lease_ttl: Annotated[float, typer.Option(help="seconds before a dead worker's shards move")] = 10.0,
    grace: Annotated[float, typer.Option(help="seconds to finish in-flight messages on SIGTERM")] = 30.0,
    factory: Annotated[str | None, typer.Option(help="runtime factory 'module:attr' (default: agents with "
                                                     "the models their settings name)")] = None,
    env_file: Annotated[Path | None, typer.Option(help=".env file with settings")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a stateless agent worker until SIGTERM/SIGINT (a second signal stops without waiting)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        env = _env(env_file)
        redis = _setting(redis_url, env, "REDIS_URL")
        postgres = _setting(postgres_url, env, "POSTGRES_URL")
        if not redis or not postgres:
            raise ConfigError("a worker needs REDIS_URL and POSTGRES_URL (or --redis-url / --postgres-url)")
        config = _bus_config(env, prefix, shards, max_in_flight=max_in_flight, lease_ttl_s=lease_ttl)
        build = load_factory(factory) if factory else default_factory(env)
        anyio.run(run_worker, redis, postgres, config, build, name, grace)
    except ElizaError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=2) from None


async def run_worker(redis_url: str, postgres_url: str, config: BusConfig, build: RuntimeFactory,
                     name: str | None = None, grace: float = 30.0) -> None:
    """A worker until SIGTERM/SIGINT (a second one stops without waiting); what ``elizapy start --role
    worker`` can call. ``config`` is a :class:`~elizapy.scale.BusConfig`, ``build`` a runtime factory."""
    from .scale import Worker, connect
    from .store.postgres import PostgresStore

    redis = connect(redis_url)
    store = PostgresStore(postgres_url, max_size=max(4, config.max_in_flight // 2))
    agent_worker = Worker(redis, store, build, config=config, name=name)
    try:
        async with anyio.create_task_group() as tg:
            async def on_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as received:
                    async for _signal in received:
                        if agent_worker.stopping:
                            tg.cancel_scope.cancel()  # asked twice: do not wait for in-flight work
                        agent_worker.stop()

            tg.start_soon(on_signals)
            async with anyio.create_task_group() as running:
                await running.start(functools.partial(agent_worker.run, grace_s=grace))
                err.print(f"worker {agent_worker.name} ready (shards {agent_worker.shards})", highlight=False)
            tg.cancel_scope.cancel()  # run() returned: stop listening for signals
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(15):
            await store.close()
            await redis.aclose()
    err.print(f"worker {agent_worker.name} stopped: {agent_worker.stats}", highlight=False)


@app.command("bus-status")
def bus_status(
    redis_url: Annotated[str | None, typer.Option(help="Redis URL (default: $REDIS_URL)")] = None,
    prefix: Annotated[str | None, typer.Option(help="bus key prefix ($ELIZAPY_BUS_PREFIX, elizapy)")] = None,
    env_file: Annotated[Path | None, typer.Option(help=".env file with settings")] = None,
) -> None:
    """Show live workers and, per shard, its holder, backlog and pending entries."""
    try:
        env = _env(env_file)
        url = _setting(redis_url, env, "REDIS_URL")
        if not url:
            raise ConfigError("bus-status needs REDIS_URL (or --redis-url)")
        anyio.run(_status, url, _setting(prefix, env, "ELIZAPY_BUS_PREFIX", "elizapy"))
    except ElizaError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=2) from None


async def _status(url: str, prefix: str) -> None:
    from .scale import BusConfig, connect

    redis = connect(url)
    try:
        probe = BusConfig(prefix=prefix)
        shards = await redis.hget(probe.meta, "shards")
        if shards is None:
            console.print(f"no bus with prefix {prefix!r} here")
            return
        config = BusConfig(prefix=prefix, shards=int(shards))
        workers = [str(w) for w in await redis.zrange(config.workers, 0, -1)]
        console.print(f"bus {prefix!r}: {config.shards} shards, live workers: {', '.join(workers) or 'none'}")
        table = Table("shard", "holder", "entries", "pending", "lag")
        for shard in range(config.shards):
            stream = config.stream(shard)
            holder = str(await redis.get(config.lease(shard)) or "-")
            length = await redis.xlen(stream)
            pending = (await redis.xpending(stream, config.group))["pending"]
            groups = await redis.xinfo_groups(stream)
            lag = next((g.get("lag") for g in groups if g.get("name") == config.group), None)
            table.add_row(str(shard), holder.split("#")[0], str(length), str(pending), str(lag))
        console.print(table)
        replies, dead = await redis.xlen(config.replies), await redis.xlen(config.dead)
        console.print(f"replies: {replies}, dead letters: {dead}")
    finally:
        await redis.aclose()


if __name__ == "__main__":
    if len(sys.argv) == 1:
        sys.argv.append("--help")
    app()
