"""``elizapy start --role gateway|worker``: the server's API in one process, the agent in another, joined by
a real Redis bus and a real PostgreSQL store. A client creates a session over HTTP, posts a message with the
"http" transport and gets the reply the worker process produced."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import httpx
import pytest
import typer
from anyio.abc import Process
from typer.testing import CliRunner

from elizapy.cli_server import start
from elizapy.scale import LocalRedis
from elizapy.store.postgres import PostgresStore
from elizapy.types import new_uuid

from .conftest import ECHO

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
cli_app = typer.Typer()
cli_app.command()(start)
cli_app.command("other")(lambda: None)  # two commands: `start` stays a subcommand, as in `elizapy start`


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_gateway_and_worker_need_both_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    for role in ("gateway", "worker"):
        result = runner.invoke(cli_app, ["start", "--role", role, "--env-file", str(tmp_path / "none.env")])
        assert result.exit_code == 2, result.output
        assert "REDIS_URL and POSTGRES_URL" in result.output
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(cli_app, ["start", "--role", "gateway", "--env-file", str(tmp_path / "none.env")])
    assert result.exit_code == 2 and "needs POSTGRES_URL" in result.output


class Procs:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, Process] = {}

    def _log(self, name: str) -> BinaryIO:
        return open(self.logs / f"{name}.log", "wb")

    async def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        with self._log(name) as log:  # the child keeps its own descriptor
            self.procs[name] = await anyio.open_process(
                [sys.executable, "-m", "elizapy.cli", "start", *args],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            )

    async def stop_all(self) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(20):
            for proc in self.procs.values():
                if proc.returncode is None:
                    proc.terminate()
            for proc in self.procs.values():
                with anyio.move_on_after(10):
                    await proc.wait()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    def tails(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture
async def procs(tmp_path: Path) -> AsyncIterator[Procs]:
    running = Procs(tmp_path)
    try:
        yield running
    finally:
        await running.stop_all()


async def test_session_message_is_answered_by_a_worker_process(
    redis_server: LocalRedis, postgres_url: str, store: PostgresStore, procs: Procs, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        "REDIS_URL": redis_server.url,
        "POSTGRES_URL": postgres_url,
        "ELIZAPY_BUS_PREFIX": "roles-" + new_uuid()[:8],
        "ELIZAPY_BUS_SHARDS": "4",
    }
    none = str(tmp_path / "none.env")
    await procs.start(
        "gateway",
        ["--role", "gateway", "--port", str(port), "--db", str(tmp_path / "server.db"), "--env-file", none],
        env,
    )
    await procs.start(
        "worker", ["--role", "worker", "--factory", "tests.scale.echo:build_runtime", "--env-file", none], env
    )
    agent = ECHO.agent_id
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        with anyio.fail_after(45):
            while True:  # two interpreters starting: poll until the gateway answers
                for proc in procs.procs.values():
                    assert proc.returncode is None, procs.tails()
                try:
                    if (await client.get("/api/server/ping")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.1)

            # The agent's record is enabled, so the gateway lists it as running.
            listed = (await client.get("/api/agents")).json()["data"]["agents"]
            assert [(a["id"], a["status"]) for a in listed] == [(agent, "active")]

            created = await client.post(
                "/api/messaging/sessions", json={"agentId": agent, "userId": new_uuid()}
            )
            assert created.status_code == 201, created.text
            session = created.json()["sessionId"]
            posted = await client.post(
                f"/api/messaging/sessions/{session}/messages",
                json={"content": "REQ r=s n=1", "transport": "http"},
            )
            assert posted.status_code == 201, posted.text + procs.tails()
            body: dict[str, Any] = posted.json()
            assert body["agentResponse"]["text"] == "ACK r=s n=1 prev=0"
            # The worker stored the exchange in the shared store; the gateway stored the central copy.
            history = (await client.get(f"/api/messaging/sessions/{session}/messages")).json()["messages"]
            assert [(m["content"], m["isAgent"]) for m in history] == [
                ("ACK r=s n=1 prev=0", True),
                ("REQ r=s n=1", False),
            ]
            posted = await client.post(
                f"/api/messaging/sessions/{session}/messages",
                json={"content": "REQ r=s n=2", "transport": "http"},
            )
            assert posted.json()["agentResponse"]["text"] == "ACK r=s n=2 prev=1"

            # Stopping an agent on a gateway disables its record (what workers obey); starting enables it.
            assert (await client.post(f"/api/agents/{agent}/stop")).status_code == 200
            record = await store.agents.get(agent)
            assert record is not None and record["enabled"] is False
            refused = await client.post(
                "/api/messaging/sessions", json={"agentId": agent, "userId": new_uuid()}
            )
            assert refused.status_code == 404
            assert (await client.post(f"/api/agents/{agent}/start")).status_code == 200
            record = await store.agents.get(agent)
            assert record is not None and record["enabled"] is True
