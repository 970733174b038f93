"""examples/langgraph and examples/mcp run as documented (scripted models in place of an LLM)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from elizapy.character import load_character
from elizapy.connectors.direct import Conversation
from elizapy.models import ModelGateway, ScriptedModel, TextRequest, TextResult, tool_calls_reply
from elizapy.reasoning.delegate import delegate_reasoner
from elizapy.runtime import AgentRuntime
from elizapy.store.sqlite import SqliteStore
from elizapy.tools import tool_sources_plugin
from elizapy.types import ModelType

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def agent_from(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[object]:
    monkeypatch.chdir(ROOT)  # the characters name files relative to the repository root, as documented
    made: list[AgentRuntime] = []

    async def make(character_file: str, model: ScriptedModel) -> AgentRuntime:
        character = load_character(ROOT / character_file).character
        gateway = ModelGateway()
        gateway.register_provider(model)
        rt = AgentRuntime(character, store=SqliteStore(":memory:"), models=gateway,
                          plugins=[tool_sources_plugin()])
        if rt.get_setting("REASONER") == "langgraph":
            rt.reasoner = delegate_reasoner(rt, "langgraph")
        await rt.initialize()
        made.append(rt)
        return rt

    yield make
    for rt in made:
        await rt.stop()


def tool_outputs(req: TextRequest) -> list[str]:
    return [m.content or "" for m in req.messages or [] if m.role == "tool"]


async def test_langgraph_example_uses_the_agents_tool_and_its_own(agent_from):
    def brain(mt: ModelType, req: TextRequest) -> TextResult:
        done = tool_outputs(req)
        if not done:
            return tool_calls_reply(("convert_currency", {"amount": 20, "currency": "gbp"}),
                                    ("word_count", {"text": "how much is twenty dollars"}))
        return TextResult(text=" / ".join(done))

    model = ScriptedModel([brain, brain])
    rt = await agent_from("examples/langgraph/character.json", model)
    result = await Conversation(rt).send("how much is twenty dollars in pounds?")
    assert result.text == "20 USD = 15.80 GBP / 5"
    offered = [t.name for t in model.calls[0].request.tools or []]
    assert offered == ["convert_currency", "word_count"]


async def test_mcp_example_calls_the_weather_server(agent_from):
    model = ScriptedModel([tool_calls_reply(("forecast", {"city": "Oslo", "days": 2})),
                           lambda mt, req: TextResult(text=tool_outputs(req)[-1])])
    rt = await agent_from("examples/mcp/character.json", model)
    result = await Conversation(rt).send("weather in Oslo for two days?")
    assert result.text.startswith("Oslo: day 1: ") and "; day 2: " in result.text
