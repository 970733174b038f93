"""``elizapy sidekick --module mymod``: serve a Python module's components to the TS plugin over stdio.

The lead mounts :func:`sidekick` on the main app; ``python -m elizapy.cli_sidekick`` runs it standalone (the
TS plugin's tests use that form, so they need no installed console script). stdout carries the protocol
only: logs and stray prints go to stderr, which the plugin forwards to the ElizaOS logger.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import ConfigError


def sidekick(
    module: Annotated[str, typer.Option("--module", "-m", help="Python module to serve (import path)")],
    transport: Annotated[str, typer.Option(help="only 'stdio' is implemented")] = "stdio",
    app_dir: Annotated[
        Path, typer.Option("--app-dir", help="directory put first on sys.path to import the module from")
    ] = Path("."),
    max_frame_bytes: Annotated[int, typer.Option(help="largest frame accepted, in bytes")] = 4 * 1024 * 1024,
    max_in_flight: Annotated[int, typer.Option(help="requests served at once; more are refused")] = 64,
    request_timeout: Annotated[float, typer.Option(help="seconds to wait for the host's answers")] = 30.0,
    log_level: Annotated[str, typer.Option(help="log level on stderr")] = "INFO",
) -> None:
    """Serve a Python sidekick module (actions, providers, evaluators, services) to a TS ElizaOS agent."""
    import anyio

    from .sidekick import SidekickApp, serve_stdio

    logging.basicConfig(
        stream=sys.stderr, level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if transport != "stdio":
        typer.echo(f"error: transport {transport!r} is not supported (only 'stdio')", err=True)
        raise typer.Exit(code=2)
    sys.path.insert(0, str(app_dir.resolve()))
    try:
        app = SidekickApp.from_module(module)
    except (ConfigError, ImportError) as exc:
        typer.echo(f"error: cannot load sidekick module {module!r}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:
        anyio.run(
            lambda: serve_stdio(
                app,
                max_frame_bytes=max_frame_bytes,
                max_in_flight=max_in_flight,
                request_timeout_s=request_timeout,
            )
        )
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None


def main() -> None:
    typer.run(sidekick)


if __name__ == "__main__":
    main()
