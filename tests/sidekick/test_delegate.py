"""``delegate/run``: the Python tool loop on the host's model, with Python and host (TS) actions as tools."""

from __future__ import annotations

import json
from typing import Any

import anyio

from elizapy.models.base import ChatMessage, TextRequest, ToolCall
from elizapy.sidekick import SidekickApp, SidekickRuntime, action
from elizapy.sidekick.delegate import render_prompt
from elizapy.sidekick.testing import FakeHost, connect
from elizapy.sidekick.wire import ToolSpecWire


@action
async def word_count(text: str, runtime: SidekickRuntime) -> int:
    """Counts words."""
    return len(text.split())


def app() -> SidekickApp:
    a = SidekickApp(name="delegate-test")
    a.add(word_count)
    return a


def scripted_model(log: list[dict[str, Any]]) -> Any:
    def model(model_type: str, params: Any) -> str:
        log.append({"type": model_type, **params})
        prompt = params["prompt"]
        if "Tool results:" not in prompt:
            return json.dumps(
                {
                    "thought": "both at once",
                    "tool_calls": [
                        {"tool": "TS_LOOKUP", "arguments": {"city": "Oslo"}},
                        {"tool": "WORD_COUNT", "arguments": {"text": "how cold is Oslo"}},
                    ],
                    "final_answer": "",
                }
            )
        return json.dumps({"thought": "done", "tool_calls": [], "final_answer": "Oslo: -3C, 4 words."})

    return model


async def test_the_loop_uses_the_hosts_model_and_calls_host_and_python_tools() -> None:
    calls: list[dict[str, Any]] = []
    host = FakeHost(model=scripted_model(calls))
    host.ts_actions["TS_LOOKUP"] = lambda args: {"success": True, "text": f"{args['city']}: -3C"}
    host.ts_action_callbacks["TS_LOOKUP"] = ["looking it up"]
    tools = [
        ToolSpecWire(
            name="TS_LOOKUP",
            description="Weather lookup (TS)",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        )
    ]
    async with connect(app(), host) as conn:
        with anyio.fail_after(10):
            result = await conn.delegate("how cold is Oslo", tools=tools, max_steps=4)

    assert result.text == "Oslo: -3C, 4 words."
    assert result.success
    assert sorted((c.name, c.success, c.output) for c in result.tool_calls) == [
        ("TS_LOOKUP", True, "Oslo: -3C"),
        ("WORD_COUNT", True, "4"),
    ]
    assert host.invoked == [("TS_LOOKUP", {"city": "Oslo"})]
    # the final answer is spoken through the delegating action's callback
    assert [c.text for c in host.callbacks] == ["Oslo: -3C, 4 words."]
    # the model is the host's TEXT_LARGE, asked for the JSON step object
    assert [c["type"] for c in calls] == ["TEXT_LARGE", "TEXT_LARGE"]
    assert calls[0]["responseFormat"] == {"type": "json_object"}
    step = calls[0]["responseSchema"]
    assert step["required"] == ["thought", "tool_calls", "final_answer"]
    tool_names = {
        v["properties"]["tool"]["const"] for v in step["properties"]["tool_calls"]["items"]["anyOf"]
    }
    assert tool_names == {"TS_LOOKUP", "WORD_COUNT"}
    assert "User: how cold is Oslo" in calls[0]["prompt"]
    assert "TS_LOOKUP" in calls[0]["prompt"] and "Weather lookup (TS)" in calls[0]["prompt"]
    assert "-> Oslo: -3C" in calls[1]["prompt"] and "-> 4" in calls[1]["prompt"]


async def test_a_failing_host_tool_is_reported_to_the_model_not_raised() -> None:
    calls: list[dict[str, Any]] = []
    host = FakeHost(model=scripted_model(calls))  # no TS_LOOKUP registered on the host: the call fails
    async with connect(app(), host) as conn:
        with anyio.fail_after(10):
            result = await conn.delegate(
                "how cold is Oslo", tools=[ToolSpecWire(name="TS_LOOKUP", description="lookup")]
            )
    assert result.text == "Oslo: -3C, 4 words."
    failed = [c for c in result.tool_calls if c.name == "TS_LOOKUP"]
    assert failed and not failed[0].success
    assert "no TS action named 'TS_LOOKUP'" in failed[0].output
    assert "ERROR:" in calls[1]["prompt"]


def test_render_prompt_flattens_a_chat_for_prompt_only_models() -> None:
    request = TextRequest(
        messages=[
            ChatMessage("system", "You are Eliza."),
            ChatMessage("user", "hi"),
            ChatMessage("assistant", "calling", tool_calls=[ToolCall("c1", "LOOKUP", {"q": 1})]),
            ChatMessage("tool", "found", tool_call_id="c1", name="LOOKUP"),
        ]
    )
    assert render_prompt(request) == (
        "You are Eliza.\n\nUser: hi\n\n"
        'Assistant: calling\n[call LOOKUP {"q": 1}]\n\n'
        "Tool result (LOOKUP): found"
    )
