"""The ``elizapy`` command line (typer + rich). Settings are read here, at the edge, and passed inward."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer
from rich.console import Console
from rich.markup import escape

from . import __version__
from .errors import ConfigError, ElizaError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="ElizaOS-Py: Python-native ElizaOS agents."
)
console = Console()
err = Console(stderr=True)


def _mount_optional() -> None:
    from .cli_bench import app as bench_app
    from .cli_tau2 import report_command, tau2_command

    bench_app.command("tau2")(tau2_command)
    app.add_typer(bench_app, name="bench")
    app.command("report")(report_command)
    from .cli_mcp import app as mcp_app  # imports the MCP SDK only when a command runs

    app.add_typer(mcp_app, name="mcp", help="Serve an agent as an MCP server.")
    from .cli_sidekick import sidekick

    app.command("sidekick")(sidekick)
    from .cli_server import start

    app.command()(start)
    from .cli_scale import bus_status, worker  # redis/psycopg are imported only when a command runs

    app.command("worker")(worker)
    app.command("bus-status")(bus_status)
    try:
        from .cli_models import app as models_app
    except ImportError:  # the local-model extra is optional
        return
    app.add_typer(models_app, name="models", help="Prepare, list and serve the embedded local models.")


def edge_env(env_file: Path | None) -> dict[str, str]:
    """Process environment over ``.env`` (as dotenv does: existing variables win)."""
    from .models.settings import load_env_file

    path = env_file or Path(".env")
    return {**load_env_file(path), **os.environ}


def data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("ELIZAPY_DATA_DIR") or ".elizapy")


def _load(character_file: Path) -> Any:
    from .character import load_character

    return load_character(character_file)


def _fail(exc: BaseException) -> None:
    err.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(code=2)


@app.command()
def version() -> None:
    """Print the ElizaOS-Py version."""
    console.print(f"elizapy {__version__}")


@app.command()
def check(file: Annotated[Path, typer.Argument(help="character JSON file")]) -> None:
    """Validate a character file: one summary line and exit 0, or the bad field and exit 2."""
    from .character import describe_character

    try:
        loaded = _load(file)
    except ElizaError as exc:
        _fail(exc)
        return
    for w in getattr(loaded, "warnings", []):
        err.print(f"[yellow]warning:[/] {escape(str(w))}")
    character = getattr(loaded, "character", loaded)
    console.print(describe_character(character), highlight=False, soft_wrap=True)


@app.command()
def chat(
    character: Annotated[Path, typer.Option("--character", "-c", help="character JSON file")],
    user: Annotated[str, typer.Option(help="your name in the conversation")] = "user",
    room: Annotated[str, typer.Option(help="conversation name; the same name continues it")] = "terminal",
    db: Annotated[Path | None, typer.Option(help="SQLite file (default: .elizapy/<agent>.db)")] = None,
    env_file: Annotated[Path | None, typer.Option(help=".env file with settings")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Talk to an agent in the terminal; history is stored, so a restart continues the conversation."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        anyio.run(_chat, character, user, room, db, env_file)
    except (ElizaError, ConfigError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        console.print()


async def _chat(character_file: Path, user: str, room: str, db: Path | None, env_file: Path | None) -> None:
    from .connectors.terminal import run_terminal_chat

    env = edge_env(env_file)
    loaded = _load(character_file)
    character = getattr(loaded, "character", loaded)
    for w in getattr(loaded, "warnings", []):
        err.print(f"[yellow]warning:[/] {escape(str(w))}")
    path = db or data_dir(env) / f"{character.name.lower().replace(' ', '-')}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    from .bench.metrics import live_metrics

    metrics = live_metrics(env, label="chat")
    try:
        await run_terminal_chat(
            character,
            env=env,
            db_path=path,
            user=user,
            room=room,
            console=console,
            interactive=sys.stdin.isatty(),
            plugins=[metrics[0]] if metrics else [],
        )
    finally:
        if metrics:
            metrics[1].close()


def main() -> None:
    _mount_optional()
    app()


if __name__ == "__main__":
    main()
