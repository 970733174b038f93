"""The scale-out commands' edges: settings resolution, errors, and bus-status on a real bus."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from elizapy.cli_scale import app, load_factory
from elizapy.errors import ConfigError
from elizapy.scale import BusConfig, Gateway, LocalRedis, connect

runner = CliRunner()


def test_worker_without_urls_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    result = runner.invoke(app, ["worker", "--env-file", str(tmp_path / "none.env")])
    assert result.exit_code == 2
    assert "REDIS_URL and POSTGRES_URL" in result.output


def test_load_factory() -> None:
    from tests.scale.echo import build_runtime

    assert load_factory("tests.scale.echo:build_runtime") is build_runtime
    for bad in ("no-colon", "tests.scale.echo:missing", "no.such.module:x", "tests.scale.echo:REPLY"):
        with pytest.raises(ConfigError):
            load_factory(bad)


def test_bus_status_shows_shards_and_workers(redis_server: LocalRedis, config: BusConfig) -> None:
    async def make_bus() -> None:
        client = connect(redis_server.url)
        try:
            async with Gateway(client, config=config):
                pass
            await client.set(config.lease(2), "w9#abc")
            await client.zadd(config.workers, {"w9": 1})
        finally:
            await client.aclose()

    anyio.run(make_bus)
    result = runner.invoke(app, ["bus-status", "--redis-url", redis_server.url, "--prefix", config.prefix])
    assert result.exit_code == 0, result.output
    assert f"{config.shards} shards" in result.output and "w9" in result.output
    missing = runner.invoke(app, ["bus-status", "--redis-url", redis_server.url, "--prefix", "nothing-here"])
    assert missing.exit_code == 0 and "no bus" in missing.output
