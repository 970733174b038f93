"""MCP servers' tools as actions: a real server written with the official SDK, over stdio."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from elizapy.connectors.direct import Conversation
from elizapy.models import ScriptedModel, TextRequest, TextResult, tool_calls_reply
from elizapy.tools import tool_sources_plugin
from elizapy.tools.mcp_client import McpConnectError, McpServerConfig, McpToolset

SERVER = str(Path(__file__).with_name("mcp_test_server.py"))


def server_settings(**overrides: Any) -> dict[str, Any]:
    body = {"command": sys.executable, "args": [SERVER], **overrides}
    return {"REASONER": "tools", "mcp": {"servers": {"tools": body}}}


def last_tool_output(mt: Any, req: TextRequest) -> TextResult:
    outputs = [m.content or "" for m in req.messages or [] if m.role == "tool"]
    return TextResult(text=f"tool said: {outputs[-1]}")


async def test_mcp_tool_is_called_by_the_tool_loop(make_runtime):
    model = ScriptedModel([tool_calls_reply(("forecast", {"city": "Oslo", "days": 2})), last_tool_output])
    rt = await make_runtime(model, plugins=[tool_sources_plugin()], settings=server_settings())
    offered = {a.name: a for a in rt.actions}
    assert {"forecast", "crash", "stall", "pid"} <= set(offered)
    assert offered["forecast"].description == "Weather forecast for a city."
    assert offered["forecast"].parameters is not None
    assert offered["forecast"].parameters["required"] == ["city"]

    result = await Conversation(rt).send("weather in Oslo?")
    assert result.text == "tool said: Oslo: sunny for 2 day(s)"
    assert result.action_results[0].success


async def test_a_server_that_dies_is_a_clear_error_and_is_restarted_on_the_next_call(make_runtime):
    model = ScriptedModel([
        tool_calls_reply(("pid", {})), last_tool_output,
        tool_calls_reply(("crash", {})), last_tool_output,
        tool_calls_reply(("pid", {})), last_tool_output,
    ])
    rt = await make_runtime(model, plugins=[tool_sources_plugin()], settings=server_settings())
    conv = Conversation(rt)
    first_pid = (await conv.send("pid?")).text

    crashed = await conv.send("crash it")
    assert crashed.status == "responded"
    assert crashed.text.startswith("tool said: ERROR: MCP server 'tools' closed the connection during the "
                                   "call of 'crash' (it may have crashed)")

    again = await conv.send("pid again?")
    assert again.text.startswith("tool said: ") and again.text != first_pid
    assert again.action_results[0].success


async def test_a_hung_tool_times_out_clearly_and_the_server_stays_usable(make_runtime):
    model = ScriptedModel([tool_calls_reply(("stall", {})), last_tool_output,
                           tool_calls_reply(("forecast", {"city": "Rome"})), last_tool_output])
    rt = await make_runtime(model, plugins=[tool_sources_plugin()], settings=server_settings(timeout=2))
    conv = Conversation(rt)
    with anyio.fail_after(10):
        stalled = await conv.send("stall")
    assert stalled.text == ("tool said: ERROR: MCP server 'tools' did not answer the call of 'stall' within "
                            "2s (it may be hung)")
    assert (await conv.send("weather in Rome")).text == "tool said: Rome: sunny for 1 day(s)"


async def test_a_server_that_cannot_start_leaves_the_agent_working(make_runtime, caplog):
    caplog.set_level(logging.WARNING, logger="elizapy.tools.mcp")
    model = ScriptedModel([TextResult(text="I can still talk.")])
    rt = await make_runtime(model, plugins=[tool_sources_plugin()],
                            settings=server_settings(args=[SERVER, "--fail-start"]))
    assert "forecast" not in {a.name for a in rt.actions}
    assert "MCP server 'tools' could not be started" in caplog.text
    assert (await Conversation(rt).send("hi")).text == "I can still talk."


async def test_a_required_server_that_never_answers_fails_the_start_in_bounded_time(make_runtime):
    silent = ["-c", "import time; time.sleep(60)"]
    with anyio.fail_after(15), pytest.raises(McpConnectError, match="no handshake within 1s"):
        await make_runtime(ScriptedModel([]), plugins=[tool_sources_plugin()],
                           settings=server_settings(args=silent, connectTimeout=1, required=True))


async def test_toolset_as_an_async_context_manager_with_prefix_and_allow_list():
    config = McpServerConfig(name="w", command=sys.executable, args=[SERVER], tools=["forecast"], prefix="w_")
    async with McpToolset([config]) as toolset:
        (action,) = toolset.actions()
        assert action.name == "w_forecast"
        from elizapy.reasoning.delegate import run_standalone

        result = await run_standalone(action, {"city": "Lima"})
        assert result.text == "Lima: sunny for 1 day(s)"
        bad = await run_standalone(action, {"days": "x"})
        assert not bad.success and bad.error is not None and "city" in bad.error
    assert not toolset.connections[0].connected
