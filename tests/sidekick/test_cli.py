"""``elizapy sidekick``: the typer command as the main CLI mounts it (serving itself is in test_stdio)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from elizapy.cli_sidekick import sidekick

app = typer.Typer()
app.command("sidekick")(sidekick)
app.command("other")(lambda: None)  # two commands, so `sidekick` is a subcommand as in `elizapy sidekick`
runner = CliRunner()


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["sidekick", "--help"])
    assert result.exit_code == 0
    for option in ("--module", "--transport", "--app-dir", "--max-frame-bytes", "--max-in-flight"):
        assert option in result.output


def test_unloadable_module_exits_2() -> None:
    result = runner.invoke(app, ["sidekick", "--module", "no_such_module_abc"])
    assert result.exit_code == 2
    assert "cannot load sidekick module 'no_such_module_abc'" in result.output


def test_unsupported_transport_exits_2() -> None:
    result = runner.invoke(app, ["sidekick", "--module", "json", "--transport", "websocket"])
    assert result.exit_code == 2
    assert "only 'stdio'" in result.output
