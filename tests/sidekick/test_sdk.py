"""The SDK: decorators, parameter schemas from type hints, module discovery, the manifest."""

from __future__ import annotations

import types
from enum import StrEnum
from typing import Literal

import pytest

from elizapy.errors import ConfigError
from elizapy.runtime import Action, Plugin, Provider
from elizapy.sidekick import SidekickApp, action, evaluator, provider, service


class Unit(StrEnum):
    C = "celsius"
    F = "fahrenheit"


def module_with(**attrs: object) -> types.ModuleType:
    mod = types.ModuleType("sidekick_test_module")
    for k, v in attrs.items():
        setattr(mod, k, v)
    return mod


def test_action_schema_comes_from_type_hints_and_skips_injected_parameters() -> None:
    @action(similes=["WEATHER"])
    async def lookup_weather(
        city: str,
        runtime: object,
        callback: object,
        unit: Unit = Unit.C,
        days: int = 1,
        detail: Literal["short", "long"] = "short",
    ) -> str:
        """Current weather for a city.

        Longer text that is not part of the description."""
        return city

    assert isinstance(lookup_weather, Action)
    assert lookup_weather.name == "LOOKUP_WEATHER"
    assert lookup_weather.description == "Current weather for a city."
    assert lookup_weather.similes == ["WEATHER"]
    schema = lookup_weather.parameters
    assert schema is not None
    assert schema["required"] == ["city"]
    assert set(schema["properties"]) == {"city", "unit", "days", "detail"}
    assert schema["properties"]["days"] == {"default": 1, "type": "integer"}
    assert schema["properties"]["detail"]["enum"] == ["short", "long"]
    assert "runtime" not in schema["properties"] and "callback" not in schema["properties"]
    assert schema["additionalProperties"] is False


def test_manifest_lists_every_component_with_wire_names() -> None:
    async def check(runtime: object, message: object) -> bool:
        return True

    @action(name="EXPLICIT", description="explicit", validate=check)
    async def a(x: int) -> int:
        return x

    @action
    async def no_args() -> str:
        """Nothing to pass."""
        return "ok"

    @provider(position=7, dynamic=True)
    async def facts(runtime: object) -> str:
        return "facts"

    @evaluator(always_run=True)
    async def judge(runtime: object) -> None:
        """Judges."""

    @service("clock", description="ticks")
    class Clock:
        async def start(self, runtime: object) -> None: ...

        async def stop(self) -> None: ...

    app = SidekickApp.from_module(module_with(a=a, no_args=no_args, facts=facts, judge=judge, Clock=Clock))
    wire = app.manifest().dump()
    assert [x["name"] for x in wire["actions"]] == ["EXPLICIT", "NO_ARGS"]
    assert wire["actions"][0]["hasValidate"] is True
    assert wire["actions"][0]["parameters"]["required"] == ["x"]
    assert "parameters" not in wire["actions"][1]  # no arguments: no schema on the wire
    assert wire["providers"] == [
        {"name": "FACTS", "description": "", "dynamic": True, "private": False, "position": 7}
    ]
    assert wire["evaluators"][0] == {
        "name": "JUDGE",
        "description": "Judges.",
        "similes": [],
        "alwaysRun": True,
        "hasValidate": False,
    }
    assert wire["services"] == [{"serviceType": "clock", "description": "ticks"}]
    assert wire["delegate"] is True


def test_a_python_plugin_is_served_as_is() -> None:
    async def get(runtime: object) -> str:
        return "p"

    plugin = Plugin(name="p", providers=[Provider(name="P_PROVIDER", get=get)])
    app = SidekickApp.from_module(module_with(plugin=plugin))
    assert list(app.providers) == ["P_PROVIDER"]


def test_an_explicit_sidekick_app_wins() -> None:
    @action
    async def one() -> str:
        return "1"

    explicit = SidekickApp(name="explicit")
    explicit.add(one)
    app = SidekickApp.from_module(module_with(sidekick_app=explicit, other=one))
    assert app is explicit


def test_duplicate_names_and_empty_modules_are_config_errors() -> None:
    @action(name="SAME")
    async def one() -> str:
        return "1"

    @action(name="SAME")
    async def two() -> str:
        return "2"

    with pytest.raises(ConfigError, match="two actions named 'SAME'"):
        SidekickApp.from_module(module_with(one=one, two=two))
    with pytest.raises(ConfigError, match="defines no sidekick components"):
        SidekickApp.from_module(module_with(x=1))
    with pytest.raises(ConfigError, match="cannot serve"):
        SidekickApp().add(42)
