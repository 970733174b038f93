"""LangGraph graphs as an ElizaOS-Py agent's reasoner (real langgraph; scripted models)."""

from __future__ import annotations

import json

import pytest

from elizapy.connectors.direct import Conversation
from elizapy.errors import ConfigError
from elizapy.models import ScriptedModel, TextRequest, TextResult, tool_calls_reply
from elizapy.reasoning import tool
from elizapy.reasoning.delegate import (
    AssistantMessage,
    DelegateContext,
    DelegateEvent,
    DelegateReasoner,
    delegate_reasoner,
)
from elizapy.reasoning.langgraph_backend import HostChatModel, LangGraphBackend
from elizapy.runtime import Action, AgentRuntime, Plugin
from elizapy.types import ModelType

GRAPHS = "tests.agnostic.graphs"


async def graph_agent(make_runtime, model: ScriptedModel, graph: str, *actions: Action) -> AgentRuntime:
    """An agent whose reasoner is the graph ``tests.agnostic.graphs:<graph>`` (as REASONER=langgraph does)."""
    rt: AgentRuntime = await make_runtime(model, plugins=[Plugin(name="fx", actions=list(actions))],
                                          settings={"LANGGRAPH_GRAPH": f"{GRAPHS}:{graph}"})
    rt.reasoner = delegate_reasoner(rt, "langgraph")
    return rt


@tool
def convert(amount: float, currency: str) -> str:
    """Convert an amount of US dollars to another currency."""
    return f"{amount:g} USD = {amount * 0.92:.2f} {currency}"


async def test_graph_answers_through_the_agent_and_calls_an_elizaos_action(make_runtime):
    rt = await graph_agent(make_runtime, ScriptedModel([]), "scripted_agent", convert)
    streamed: list[str] = []

    async def stream(delta: str) -> None:
        streamed.append(delta)

    conv = Conversation(rt, stream=stream)
    result = await conv.send("How much is 10 USD in EUR?")
    # The fake model streams word by word; the deltas reach the pipeline's reply stream as they come.
    assert streamed[:2] == ["Let", " me"]
    assert "".join(streamed) == "Let me convert that.10 USD is 9.20 EUR."

    assert result.status == "responded"
    # The graph's intermediate message was forwarded as a reply as it happened, then the final answer.
    assert [m.content.text for m in result.responses] == ["Let me convert that.", "10 USD is 9.20 EUR."]
    assert [r.text for r in result.action_results] == ["10 USD = 9.20 EUR"]
    assert result.content is not None and result.content.actions == ["REPLY", "convert"]
    stored = await rt.store.memories.list(table="actions", room_id=conv.room_id)
    assert [m.content.to_wire()["arguments"] for m in stored] == [{"amount": 10, "currency": "EUR"}]


async def test_factory_gets_the_agents_own_model_and_tool_results_flow_back(make_runtime):
    def brain(mt: ModelType, req: TextRequest) -> TextResult:
        tool_results = [m for m in req.messages or [] if m.role == "tool"]
        if not tool_results:
            return tool_calls_reply(("convert", {"amount": 3, "currency": "GBP"}))
        return TextResult(text=f"Done: {tool_results[-1].content}")

    model = ScriptedModel([brain, brain])
    rt = await graph_agent(make_runtime, model, "host_model_agent", convert)
    result = await Conversation(rt).send("3 dollars in pounds?")

    assert result.text == "Done: 3 USD = 2.76 GBP"
    first = model.calls[0].request
    assert first.tools is not None and [t.name for t in first.tools] == ["convert"]
    assert first.tools[0].parameters["required"] == ["amount", "currency"]
    assert first.messages is not None and first.messages[0].role == "system"
    assert "Answer briefly." in (first.messages[0].content or "")  # the character's system prompt
    second = model.calls[1].request.messages or []
    assert [m.role for m in second][-2:] == ["assistant", "tool"]
    assert second[-2].tool_calls is not None and second[-2].tool_calls[0].name == "convert"


async def test_streamed_tokens_and_messages_reach_the_sinks():
    texts: list[str] = []
    events: list[DelegateEvent] = []

    async def on_text(delta: str) -> None:
        texts.append(delta)

    async def on_event(event: DelegateEvent) -> None:
        events.append(event)

    model = ScriptedModel([
        tool_calls_reply(("convert", {"amount": 1, "currency": "JPY"}), text="One moment."),
        TextResult(text="1 USD is 0.92 JPY here."),
    ])

    async def generate(request: TextRequest) -> TextResult:
        return await model.generate(ModelType.TEXT_LARGE, request)

    backend = LangGraphBackend(f_host_model_agent())
    result = await backend.run("1 usd in yen", tools=[convert], context=DelegateContext(generate=generate),
                               on_text=on_text, on_event=on_event)
    assert result.text == "1 USD is 0.92 JPY here."
    assert "".join(texts) == "One moment.1 USD is 0.92 JPY here."
    messages = [e for e in events if isinstance(e, AssistantMessage)]
    assert [m.text for m in messages] == ["One moment.", "1 USD is 0.92 JPY here."]
    assert [c.name for c in messages[0].tool_calls] == ["convert"]
    assert [e.kind for e in events] == ["message", "tool_started", "tool_finished", "message"]


def f_host_model_agent():
    from tests.agnostic.graphs import host_model_agent

    return host_model_agent


async def test_compiled_graph_with_its_own_tools_records_their_calls():
    from tests.agnostic.graphs import compiled_with_own_tool

    result = await LangGraphBackend(compiled_with_own_tool).run("say hi loudly")
    assert result.text == "It says HI."
    assert [(r.name, r.arguments, r.output, r.success) for r in result.tool_calls] == [
        ("shout", {"text": "hi"}, "HI", True)]


async def test_a_failing_action_is_an_error_the_graph_sees_and_the_agent_still_answers(make_runtime):
    @tool(name="convert")
    def broken(amount: float, currency: str) -> str:
        """Convert (broken)."""
        raise RuntimeError("rates service down")

    def brain(mt: ModelType, req: TextRequest) -> TextResult:
        results = [m.content or "" for m in req.messages or [] if m.role == "tool"]
        if not results:
            return tool_calls_reply(("convert", {"amount": 1, "currency": "EUR"}))
        return TextResult(text=f"Sorry, {results[0]}")

    rt = await graph_agent(make_runtime, ScriptedModel([brain, brain]), "host_model_agent", broken)
    result = await Conversation(rt).send("1 usd in eur")
    assert result.text.startswith("Sorry, ERROR:") and "rates service down" in result.text
    assert result.action_results[0].success is False


async def test_graph_step_limit_ends_with_a_clear_message():
    model = ScriptedModel([tool_calls_reply(("convert", {"amount": 1, "currency": "EUR"}))], repeat_last=True)

    async def generate(request: TextRequest) -> TextResult:
        return await model.generate(ModelType.TEXT_LARGE, request)

    backend = LangGraphBackend(f_host_model_agent(), recursion_limit=5)
    result = await backend.run("loop", tools=[convert], context=DelegateContext(generate=generate))
    assert result.stopped is not None and "recursion_limit=5" in result.text


async def test_host_chat_model_maps_messages_tools_and_usage():
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    model = ScriptedModel([tool_calls_reply(("convert", {"amount": 2, "currency": "EUR"}), text="hm")])

    async def generate(request: TextRequest) -> TextResult:
        return await model.generate(ModelType.TEXT_LARGE, request)

    chat = HostChatModel(generate_fn=generate).bind_tools([convert_lc()], tool_choice="any")
    out = await chat.ainvoke([
        SystemMessage("sys"), HumanMessage("hi"),
        AIMessage("", tool_calls=[{"name": "x", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]),
        ToolMessage("x-result", tool_call_id="c1", name="x"),
    ])
    assert isinstance(out, AIMessage) and out.content == "hm"
    assert out.tool_calls == [{"name": "convert", "args": {"amount": 2, "currency": "EUR"}, "id": "call_1",
                               "type": "tool_call"}]
    assert out.usage_metadata is not None and out.usage_metadata["total_tokens"] > 0
    request = model.calls[0].request
    assert [m.role for m in request.messages or []] == ["system", "user", "assistant", "tool"]
    assert (request.messages or [])[3].tool_call_id == "c1"
    assert request.tool_choice == "required"
    assert request.tools is not None and json.dumps(request.tools[0].parameters).count("amount") == 2


def convert_lc():
    from elizapy.tools.langchain import langchain_tool

    async def run(args: dict) -> str:
        return "unused"

    return langchain_tool(convert, run)


async def test_reasoner_setting_selects_the_graph(make_runtime):
    """Needs ``select_reasoner`` to pass ``REASONER=langgraph`` on to ``delegate_reasoner``."""
    rt = await make_runtime(ScriptedModel([]), plugins=[Plugin(name="fx", actions=[convert])],
                            settings={"REASONER": "langgraph", "LANGGRAPH_GRAPH": f"{GRAPHS}:scripted_agent"})
    assert isinstance(rt.reasoner, DelegateReasoner) and rt.reasoner.name == "langgraph"


async def test_missing_or_bad_graph_setting_is_a_config_error(make_runtime):
    rt = await make_runtime(ScriptedModel([]))
    with pytest.raises(ConfigError, match="LANGGRAPH_GRAPH"):
        delegate_reasoner(rt, "langgraph")
    rt.settings = type(rt.settings)({"LANGGRAPH_GRAPH": f"{GRAPHS}:nope"}, None)
    with pytest.raises(ConfigError, match="no attribute 'nope'"):
        delegate_reasoner(rt, "langgraph")


async def test_compiled_graph_nodes_reach_the_agents_tools_through_the_config():
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, MessagesState, StateGraph

    from elizapy.reasoning.langgraph_backend import elizapy_tools

    async def node(state: MessagesState, config: RunnableConfig) -> dict:
        tools = {t.name: t for t in elizapy_tools(config)}
        output = await tools["convert"].ainvoke({"amount": 5, "currency": "EUR"})
        return {"messages": [AIMessage(content=f"tool gave {output}")]}

    graph = StateGraph(MessagesState)
    graph.add_node("direct", node)
    graph.add_edge(START, "direct")
    graph.add_edge("direct", END)
    result = await LangGraphBackend(graph.compile()).run("5 usd", tools=[convert])
    assert result.text == "tool gave 5 USD = 4.60 EUR"
    assert [r.name for r in result.tool_calls] == ["convert"]


async def test_a_graph_that_produces_no_answer_says_so():
    from langgraph.graph import END, START, MessagesState, StateGraph

    graph = StateGraph(MessagesState)
    graph.add_node("silent", lambda state: {"messages": []})
    graph.add_edge(START, "silent")
    graph.add_edge("silent", END)
    result = await LangGraphBackend(graph.compile()).run("anything")
    assert result.stopped == "the graph produced no answer"
    assert result.text == "I stopped before finishing because the graph produced no answer."
