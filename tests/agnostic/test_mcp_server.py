"""``elizapy mcp serve``: an MCP client (official SDK) lists and calls an agent's tools and ``chat``."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp import Client, StdioServerParameters

from elizapy.cli_mcp import app
from elizapy.reasoning.delegate import run_standalone
from elizapy.tools.mcp_client import McpServerConfig, McpToolset

ROOT = Path(__file__).resolve().parents[2]


def write_character(tmp_path: Path, **settings: Any) -> Path:
    path = tmp_path / "ada.json"
    path.write_text(json.dumps({
        "name": "Ada", "bio": ["Ada answers over MCP."],
        "settings": {"MODEL_PROVIDER": "python:tests.agnostic.brains:echo", "REASONER": "tools",
                     "TOOL_SOURCES": ["tests.agnostic.lc_tools:plain_add"], **settings},
    }))
    return path


def serve_args(character: Path, *extra: str) -> list[str]:
    return ["-m", "elizapy.cli_mcp", "serve", "--character", str(character), "--db", ":memory:", *extra]


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def test_stdio_client_lists_and_calls_the_agents_tools(tmp_path):
    params = StdioServerParameters(command=sys.executable, args=serve_args(write_character(tmp_path)),
                                   cwd=str(ROOT))
    with anyio.fail_after(60):
        async with Client(params) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert set(listed) == {"chat", "plain_add"}
            assert listed["plain_add"].input_schema["required"] == ["a", "b"]
            assert listed["chat"].input_schema["required"] == ["message"]

            added = await client.call_tool("plain_add", {"a": 2, "b": 40})
            assert not added.is_error and text_of(added) == "42"

            reply = await client.call_tool("chat", {"message": "hello there", "room": "r1"})
            assert not reply.is_error and text_of(reply) == "echo: hello there"
            assert reply.structured_content == {"reply": "echo: hello there", "status": "responded"}

            bad = await client.call_tool("plain_add", {"a": "two"})
            assert bad.is_error and "invalid arguments" in text_of(bad)
            empty = await client.call_tool("chat", {"message": " "})
            assert empty.is_error and "non-empty" in text_of(empty)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_line(process: Process, needle: str) -> None:
    assert process.stderr is not None
    seen = ""
    async for chunk in TextReceiveStream(process.stderr):
        seen += chunk
        if needle in seen:
            return
    raise AssertionError(f"server exited before printing {needle!r}:\n{seen}")


async def test_http_transport_serves_our_own_mcp_client(tmp_path):
    port = free_port()
    character = write_character(tmp_path)
    args = [sys.executable, *serve_args(character, "--transport", "http", "--port", str(port))]
    async with await anyio.open_process(args, cwd=str(ROOT)) as process:
        try:
            with anyio.fail_after(30):
                await wait_for_line(process, "Uvicorn running on")
            config = McpServerConfig(name="ada", url=f"http://127.0.0.1:{port}/mcp", prefix="ada_",
                                     headers={"X-Caller": "tests"})
            with anyio.fail_after(30):
                async with McpToolset([config]) as toolset:
                    actions = {a.name: a for a in toolset.actions()}
                    assert set(actions) == {"ada_chat", "ada_plain_add"}
                    reply = await run_standalone(actions["ada_chat"], {"message": "over http"})
                    assert reply.success and reply.text == "echo: over http"
        finally:
            process.terminate()
            with anyio.move_on_after(10):
                await process.wait()


def test_serve_rejects_an_unknown_transport(tmp_path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["serve", "--character", str(write_character(tmp_path)),
                                      "--transport", "carrier-pigeon"])
    assert result.exit_code == 2 and "--transport must be stdio or http" in result.output


@pytest.mark.parametrize("provider", ["python:tests.agnostic.brains:nope", "python:json:dumps"])
def test_serve_reports_a_bad_model_provider(tmp_path, provider):
    from typer.testing import CliRunner

    character = write_character(tmp_path, MODEL_PROVIDER=provider)
    result = CliRunner().invoke(app, ["serve", "--character", str(character), "--db", ":memory:"])
    assert result.exit_code == 2 and "error:" in result.output
