"""``delegate/run`` on a chosen delegate backend: the built-in loop, a real LangGraph graph, a callable.

The backend comes from the TS character's settings (``PYTHON_DELEGATE_BACKEND``, ``PYTHON_DELEGATE_GRAPH`` or
``LANGGRAPH_GRAPH``), here served by :class:`FakeHost`; the graphs call a TS action (faked by the host) and
a Python action of the sidekick.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool

from elizapy.errors import ConfigError
from elizapy.models.base import ChatMessage, TextRequest, ToolSpec
from elizapy.reasoning.delegate import DelegateRun
from elizapy.sidekick import SidekickApp, SidekickRuntime, action
from elizapy.sidekick.delegate import DelegateChoice, HostModelProvider, decode_tool_step, parse_choice
from elizapy.sidekick.errors import RpcError
from elizapy.sidekick.testing import FakeHost, connect
from elizapy.sidekick.wire import ToolSpecWire
from elizapy.types import ModelType
from tests.agnostic.graphs import ToolCallingFake, create_react_agent

HERE = "tests.sidekick.test_delegate_backends"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sidekick" / "langgraph_graph.py"

LOOKUP = ToolSpecWire(
    name="TS_LOOKUP",
    description="Weather lookup (TS)",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@action
async def word_count(text: str, runtime: SidekickRuntime) -> int:
    """Counts words."""
    return len(text.split())


def app() -> SidekickApp:
    a = SidekickApp(name="delegate-backends-test")
    a.add(word_count)
    return a


def weather_graph(tools: list[BaseTool]) -> Any:
    """A ReAct graph on LangChain's fake chat model: says it looks up, calls both tools at once, answers."""
    model = ToolCallingFake(messages=iter([
        AIMessage(content="Let me look that up.", tool_calls=[
            {"name": "TS_LOOKUP", "args": {"city": "Oslo"}, "id": "t1", "type": "tool_call"},
            {"name": "WORD_COUNT", "args": {"text": "how cold is Oslo"}, "id": "t2", "type": "tool_call"},
        ]),
        AIMessage(content="Oslo is -3C; you asked in 4 words."),
    ]))
    return create_react_agent(model, tools)


async def counting_agent(run: DelegateRun) -> str:
    """A plain async function as the backend."""
    record = await run.tools.call("WORD_COUNT", {"text": run.task})
    return f"{run.context.metadata['backend']}: {record.output} words"


def host_with(settings: dict[str, Any], model: Any = None) -> FakeHost:
    host = FakeHost(settings=settings) if model is None else FakeHost(settings=settings, model=model)
    host.ts_actions["TS_LOOKUP"] = lambda args: {"success": True, "text": f"{args['city']}: -3C"}
    return host


async def test_a_langgraph_graph_from_the_settings_calls_a_ts_and_a_python_action() -> None:
    graph = f"{HERE}:weather_graph"
    host = host_with({"PYTHON_DELEGATE_BACKEND": "langgraph", "PYTHON_DELEGATE_GRAPH": graph})
    async with connect(app(), host) as conn:
        with anyio.fail_after(10):
            result = await conn.delegate("how cold is Oslo", tools=[LOOKUP])

    assert result.success
    assert result.text == "Oslo is -3C; you asked in 4 words."
    assert sorted((c.name, c.success, c.output) for c in result.tool_calls) == [
        ("TS_LOOKUP", True, "Oslo: -3C"),
        ("WORD_COUNT", True, "4"),
    ]
    assert host.invoked == [("TS_LOOKUP", {"city": "Oslo"})]
    # the graph's intermediate message, then its answer, are said through the delegating action's callback
    assert [c.text for c in host.callbacks] == ["Let me look that up.", "Oslo is -3C; you asked in 4 words."]
    assert host.model_calls == []  # the graph brought its own model


async def test_langgraph_graph_falls_back_to_the_langgraph_graph_setting() -> None:
    host = host_with({"PYTHON_DELEGATE_BACKEND": "langgraph", "LANGGRAPH_GRAPH": f"{HERE}:weather_graph"})
    async with connect(app(), host) as conn:
        with anyio.fail_after(10):
            result = await conn.delegate("how cold is Oslo", tools=[LOOKUP])
    assert result.text == "Oslo is -3C; you asked in 4 words."


def json_step_model(log: list[dict[str, Any]]) -> Any:
    """The TS agent's model as the example graph sees it: it answers the JSON step the tools were put in."""

    def model(model_type: str, params: Any) -> str:
        log.append({"type": model_type, **params})
        prompt = params["prompt"]
        if "Tool result (TS_LOOKUP)" not in prompt:
            return json.dumps({"thought": "look up", "final_answer": "",
                               "tool_calls": [{"tool": "TS_LOOKUP", "arguments": {"city": "Oslo"}}]})
        return json.dumps({"thought": "done", "tool_calls": [], "final_answer": "Oslo: -3C, says TS."})

    return model


async def test_the_example_graph_runs_on_the_ts_agents_own_model() -> None:
    calls: list[dict[str, Any]] = []
    host = host_with({"PYTHON_DELEGATE_BACKEND": "langgraph", "PYTHON_DELEGATE_GRAPH": f"{EXAMPLE}:build"},
                     json_step_model(calls))
    async with connect(app(), host) as conn:
        with anyio.fail_after(10):
            result = await conn.delegate("how cold is Oslo", tools=[LOOKUP])

    assert result.success and result.text == "Oslo: -3C, says TS."
    assert [(c.name, c.output) for c in result.tool_calls] == [("TS_LOOKUP", "Oslo: -3C")]
    assert [c["type"] for c in calls] == ["TEXT_LARGE", "TEXT_LARGE"]
    first, second = calls
    # bind_tools over a prompt-only model: the tools are listed, the step schema goes along
    assert first["responseFormat"] == {"type": "json_object"}
    names = {v["properties"]["tool"]["const"]
             for v in first["responseSchema"]["properties"]["tool_calls"]["items"]["anyOf"]}
    assert names == {"TS_LOOKUP", "WORD_COUNT"}
    assert "You are the LangGraph delegate." in first["prompt"]
    assert "User: how cold is Oslo" in first["prompt"]
    assert '[call TS_LOOKUP {"city": "Oslo"}]' in second["prompt"]
    assert "Tool result (TS_LOOKUP): Oslo: -3C" in second["prompt"]
    assert [c.text for c in host.callbacks] == ["Oslo: -3C, says TS."]


async def test_the_default_backend_is_the_built_in_loop_and_an_explicit_tools_is_the_same() -> None:
    for settings in ({}, {"PYTHON_DELEGATE_BACKEND": "tools"}):
        calls: list[dict[str, Any]] = []

        def model(model_type: str, params: Any, calls: list[dict[str, Any]] = calls) -> str:
            calls.append(params)
            if "Tool results:" not in params["prompt"]:
                return json.dumps({"thought": "", "final_answer": "",
                                   "tool_calls": [{"tool": "TS_LOOKUP", "arguments": {"city": "Oslo"}}]})
            return json.dumps({"thought": "", "tool_calls": [], "final_answer": "cold"})

        host = host_with(settings, model)
        async with connect(app(), host) as conn:
            with anyio.fail_after(10):
                result = await conn.delegate("how cold is Oslo", tools=[LOOKUP])
        assert result.text == "cold"
        assert "# Tools" in calls[0]["prompt"]
        assert host.invoked == [("TS_LOOKUP", {"city": "Oslo"})]


async def test_a_callable_backend_named_by_the_settings() -> None:
    agent = f"{HERE}:counting_agent"
    for settings in ({"PYTHON_DELEGATE_BACKEND": "callable", "PYTHON_DELEGATE_GRAPH": agent},
                     {"PYTHON_DELEGATE_BACKEND": agent}):
        host = host_with(settings)
        async with connect(app(), host) as conn:
            with anyio.fail_after(10):
                result = await conn.delegate("three little words")
        assert result.text == "callable: 3 words"
        assert [(c.name, c.output) for c in result.tool_calls] == [("WORD_COUNT", "3")]


async def test_a_bad_configuration_is_an_error_the_host_sees() -> None:
    for settings, match in (
        ({"PYTHON_DELEGATE_BACKEND": "crewai"}, "not a delegate backend"),
        ({"PYTHON_DELEGATE_BACKEND": "langgraph"}, "needs PYTHON_DELEGATE_GRAPH"),
        ({"PYTHON_DELEGATE_BACKEND": "langgraph", "PYTHON_DELEGATE_GRAPH": f"{HERE}:nope"}, "no attribute"),
    ):
        async with connect(app(), host_with(settings)) as conn:
            with anyio.fail_after(10), pytest.raises(RpcError, match=match):
                await conn.delegate("x")


def test_parse_choice() -> None:
    assert parse_choice(None, None) == DelegateChoice("tools", None)
    assert parse_choice("Tools", "ignored:x") == DelegateChoice("tools", None)
    assert parse_choice(None, "g.py:build") == DelegateChoice("langgraph", "g.py:build")
    assert parse_choice("LangGraph", "m:g") == DelegateChoice("langgraph", "m:g")
    assert parse_choice("m:agent", None) == DelegateChoice("callable", "m:agent")
    with pytest.raises(ConfigError, match="needs PYTHON_DELEGATE_GRAPH"):
        parse_choice("callable", None)


def test_decode_tool_step() -> None:
    calls, text = decode_tool_step('{"thought": "t", "tool_calls": [{"tool": "A", "arguments": {"x": 1}}], '
                                   '"final_answer": ""}')
    assert [(c.name, c.arguments) for c in calls] == [("A", {"x": 1})] and text == ""
    assert decode_tool_step('```json\n{"tool_calls": [], "final_answer": "hi"}\n```') == ([], "hi")
    assert decode_tool_step("just words {not json}") == ([], "just words {not json}")


async def test_host_model_answers_a_tools_request_with_tool_calls() -> None:
    class Host:
        def __init__(self) -> None:
            self.params: dict[str, Any] = {}

        async def use_model(self, model_type: str, params: Any, *, invocation: str | None = None) -> Any:
            self.params = params
            return {"thought": "", "tool_calls": [{"tool": "A", "arguments": {}}], "final_answer": ""}

    host = Host()
    provider = HostModelProvider(host)  # type: ignore[arg-type]
    request = TextRequest(messages=[ChatMessage("user", "go")], tools=[ToolSpec("A", "does A")],
                          tool_choice="auto")
    out = await provider.generate(ModelType.TEXT_LARGE, request)
    assert [c.name for c in out.tool_calls] == ["A"] and out.finish_reason == "tool_calls"
    assert host.params["prompt"].startswith("# Tools\n- A: does A")
    assert host.params["responseFormat"] == {"type": "json_object"}
