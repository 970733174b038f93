"""The real process: ``python -m elizapy.cli_sidekick`` over stdio pipes, driven from Python (no Node)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from elizapy.sidekick.dispatcher import Dispatcher
from elizapy.sidekick.errors import HandlerFailed
from elizapy.sidekick.peer import SidekickClient
from elizapy.sidekick.testing import Connected, FakeHost
from elizapy.sidekick.transport import stream_transport

FIXTURES = Path(__file__).resolve().parents[2] / "packages" / "plugin-python-sidekick" / "test" / "fixtures"
pytestmark = pytest.mark.slow


@contextlib.asynccontextmanager
async def sidekick_process(module: str = "sidekick_fixture") -> AsyncIterator[tuple[Connected, list[str]]]:
    cmd = [sys.executable, "-m", "elizapy.cli_sidekick", "--module", module, "--app-dir", str(FIXTURES)]
    stderr_lines: list[str] = []
    async with await anyio.open_process(cmd) as proc:
        assert proc.stdin and proc.stdout and proc.stderr

        async def drain_stderr() -> None:
            async for chunk in proc.stderr:  # type: ignore[union-attr]
                stderr_lines.extend(chunk.decode().splitlines())

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain_stderr)
            async with stream_transport(proc.stdout, proc.stdin) as transport:
                host = FakeHost(settings={"FIXTURE_SETTING": "from-python-test"})
                d = Dispatcher(transport, host, request_timeout_s=20)
                async with d.running():
                    client = SidekickClient(d)
                    with anyio.fail_after(30):
                        init = await client.initialize(host.agent)
                    yield Connected(client, host, init, d), stderr_lines
                    await client.shutdown()
                    await proc.stdin.aclose()
            with anyio.fail_after(10):
                assert await proc.wait() == 0


async def test_the_cli_serves_a_module_over_stdio_and_survives_stray_prints() -> None:
    async with sidekick_process() as (conn, stderr_lines):
        names = {a.name for a in conn.init.manifest.actions}
        assert {"PY_PING", "PY_GREET", "WORD_COUNT", "PY_PRINT"} <= names
        with anyio.fail_after(20):
            printed = await conn.call_action("PY_PRINT")
            assert printed is not None and printed.text == "printed"
            pong = await conn.call_action("PY_PING")
            assert pong is not None and pong.text == "pong"
            with pytest.raises(HandlerFailed, match="the fixture failed on purpose"):
                await conn.call_action("PY_FAIL")
            big = await conn.call_action("WORD_COUNT", parameters={"text": "word " * 100_000})
            assert big is not None and big.text == "100000"
    assert "stray output from user code" in stderr_lines


def test_a_module_that_cannot_be_loaded_exits_2_with_a_clear_message() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "elizapy.cli_sidekick", "--module", "no_such_module_xyz"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "cannot load sidekick module 'no_such_module_xyz'" in proc.stderr
    assert proc.stdout == ""
