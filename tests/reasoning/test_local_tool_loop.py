"""The JSON-schema fallback of the tool loop against a real small local model (Qwen2.5-Coder-0.5B, CI size).

Small models have no reliable native tool calling; llama.cpp constrains each step to the "next step" schema,
so every call the model makes is well-formed. The task needs two different tools.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from elizapy.connectors.direct import Conversation
from elizapy.models import ModelGateway, allow_model_requests
from elizapy.reasoning import LoopLimits, ToolLoopReasoner, tool
from elizapy.runtime import AgentRuntime, Plugin
from elizapy.store.sqlite import SqliteStore
from elizapy.types import Character

pytestmark = pytest.mark.slow
local = pytest.importorskip("elizapy.models.local")
weights = pytest.importorskip("elizapy.models.weights")

calls: list[tuple[str, dict[str, object]]] = []


@tool
def get_temperature(city: str) -> str:
    """Current temperature of a city, in degrees Celsius."""
    calls.append(("get_temperature", {"city": city}))
    return f"{city}: 20 degrees Celsius"


@tool
def celsius_to_fahrenheit(celsius: float) -> str:
    """Convert a temperature from Celsius to Fahrenheit."""
    calls.append(("celsius_to_fahrenheit", {"celsius": celsius}))
    return f"{celsius} C = {celsius * 9 / 5 + 32:g} F"


async def test_small_local_model_uses_two_tools_through_the_json_fallback() -> None:
    cache = Path(os.environ.get("ELIZAPY_CACHE_DIR") or weights.default_cache_dir())
    provider = local.LocalModelProvider(model="qwen2.5-coder-0.5b", cache_dir=str(cache), timeout_s=240,
                                        max_tokens=160, llama_params={"temperature": 0.0, "seed": 7})
    assert provider.native_tools is False
    gateway = ModelGateway()
    gateway.register_provider(provider)
    character = Character(name="Helper", bio="A precise assistant that uses tools.",
                          system="You are Helper. Use the tools to answer; never guess numbers.")
    rt = AgentRuntime(character, store=SqliteStore(":memory:"), models=gateway,
                      plugins=[Plugin(name="weather", actions=[get_temperature, celsius_to_fahrenheit])],
                      reasoner=ToolLoopReasoner(limits=LoopLimits(max_steps=5)),
                      settings={"EMBED_MESSAGES": False})
    calls.clear()
    with allow_model_requests():
        await rt.initialize()
        result = await Conversation(rt).send(
            "What is the temperature in Oslo right now, in Fahrenheit? First get it, then convert it.")
    await rt.stop()
    names = [n for n, _ in calls]
    assert "get_temperature" in names, (calls, result.text)
    assert any(n == "get_temperature" and str(a["city"]).lower() == "oslo" for n, a in calls)
    assert "celsius_to_fahrenheit" in names, (calls, result.text)
    assert names.index("get_temperature") < names.index("celsius_to_fahrenheit")
    # the conversion used the first tool's result (a dependent call in a later turn)
    assert any(n == "celsius_to_fahrenheit" and float(str(a["celsius"])) == 20.0 for n, a in calls), calls
    assert result.status == "responded" and result.text
