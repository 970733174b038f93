"""``elizapy mcp``: serve an agent over MCP. Settings are read here, at the edge, and passed inward.

Mounted by :mod:`elizapy.cli` as ``elizapy mcp``; also runnable as ``python -m elizapy.cli_mcp``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Literal

import anyio
import typer

from .errors import ConfigError, ElizaError
from .models.gateway import ModelGateway
from .models.settings import SettingsSource

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Serve an agent over the Model Context Protocol.")

Transport = Literal["stdio", "http"]


@app.callback()
def mcp() -> None:
    """Serve an agent over the Model Context Protocol (keeps `serve` a subcommand when run on its own)."""
PYTHON_PROVIDER_PREFIXES = ("python:", "scripted:")


def model_gateway(settings: SettingsSource, *, cache_dir: str | None = None) -> ModelGateway:
    """The gateway the settings ask for; ``MODEL_PROVIDER=python:module:attr`` names a provider object.

    The ``python:`` form (alias ``scripted:``) takes a :class:`~elizapy.models.base.ModelProvider` instance,
    or a function returning one: a ``ScriptedModel`` for tests and demos, or a custom provider.
    """
    choice = (settings.get_str("MODEL_PROVIDER") or "").strip()
    prefix = next((p for p in PYTHON_PROVIDER_PREFIXES if choice.lower().startswith(p)), None)
    if prefix is None:
        from .models.factory import gateway_from_settings

        return gateway_from_settings(settings, cache_dir=cache_dir)
    from .tools._loading import load_object

    provider = load_object(choice[len(prefix):], what="MODEL_PROVIDER")
    if not hasattr(provider, "generate") and callable(provider):
        try:
            provider = provider()
        except TypeError as exc:
            raise ConfigError(f"MODEL_PROVIDER={choice!r}: calling it with no arguments failed ({exc})") \
                from None
    if not hasattr(provider, "generate") or not hasattr(provider, "model_types"):
        raise ConfigError(f"MODEL_PROVIDER={choice!r} does not name a model provider")
    gateway = ModelGateway()
    gateway.register_provider(provider)
    return gateway


@app.command()
def serve(
    character: Annotated[Path, typer.Option("--character", "-c", help="character JSON file")],
    transport: Annotated[str, typer.Option(help="stdio (a client starts this command) or http")] = "stdio",
    host: Annotated[str, typer.Option(help="http: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: port to listen on")] = 8000,
    path: Annotated[str, typer.Option(help="http: endpoint path")] = "/mcp",
    db: Annotated[str | None, typer.Option(help="SQLite file or :memory: (default .elizapy/…)")] = None,
    env_file: Annotated[Path | None, typer.Option(help=".env file with settings")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the agent's actions (those with parameters) and a `chat` tool over MCP."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if transport not in ("stdio", "http"):
        _fail(f"--transport must be stdio or http, not {transport!r}")
    try:
        anyio.run(_serve, character, transport, host, port, path, db, env_file)
    except (ElizaError, ImportError) as exc:  # an ImportError here names the extra to install
        _fail(str(exc))
    except KeyboardInterrupt:
        pass


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code=2)


async def _serve(character_file: Path, transport: str, host: str, port: int, path: str, db: str | None,
                 env_file: Path | None) -> None:
    from .character import load_character
    from .cli import data_dir, edge_env
    from .mcp_server import AgentMcpServer, serve_http, serve_stdio
    from .runtime.runtime import AgentRuntime
    from .store.sqlite import SqliteStore
    from .tools.sources import tool_sources_plugin

    env = edge_env(env_file)
    loaded = load_character(character_file)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    character = loaded.character
    settings = SettingsSource(character_settings=dict(character.settings or {}),
                              character_secrets=dict(character.secrets or {}), env=env)
    gateway = model_gateway(settings, cache_dir=env.get("ELIZAPY_CACHE_DIR"))
    if db is None:
        file = data_dir(env) / f"{character.name.lower().replace(' ', '-')}.db"
        file.parent.mkdir(parents=True, exist_ok=True)
        db = str(file)
    store = SqliteStore(db)
    runtime = AgentRuntime(character, store=store, models=gateway, env=env, plugins=[tool_sources_plugin()])
    try:
        await runtime.initialize()
        server = AgentMcpServer(runtime)
        if transport == "http":
            await serve_http(server, host=host, port=port, path=path)
        else:
            await serve_stdio(server)
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(15):
            await runtime.stop()
            await store.close()


if __name__ == "__main__":
    app()
