"""examples/sidekick: the module loads, its manifest is what the README says, and its tools work."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from elizapy.sidekick import SidekickApp
from elizapy.sidekick.testing import FakeHost, connect

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sidekick"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> SidekickApp:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.delitem(sys.modules, "pytools", raising=False)
    return SidekickApp.from_module("pytools")


def test_character_uses_the_plugin_and_module() -> None:
    character = json.loads((EXAMPLE / "character.json").read_text(encoding="utf-8"))
    assert "@elizapy/plugin-python-sidekick" in character["plugins"]
    assert character["settings"]["PYTHON_SIDEKICK_MODULE"] == "pytools"


async def test_the_example_tools_work_against_a_fake_host(app: SidekickApp) -> None:
    manifest = app.manifest()
    assert [a.name for a in manifest.actions] == ["CONVERT_LENGTH", "SUMMARIZE_CONVERSATION"]
    assert manifest.actions[0].parameters is not None
    assert manifest.actions[0].parameters["properties"]["from_unit"]["enum"] == ["km", "mi", "m", "ft"]

    def model(model_type: str, params: object) -> object:
        return "They talked about units. Ada converted one." if model_type == "TEXT_SMALL" else [0.1] * 4

    host = FakeHost(model=model)
    async with connect(app, host) as conn:
        with anyio.fail_after(5):
            converted = await conn.call_action(
                "CONVERT_LENGTH", parameters={"value": 5, "from_unit": "km", "to_unit": "mi"}
            )
            summary = await conn.call_action("SUMMARIZE_CONVERSATION", streaming=True)
            info = await conn.get_provider("PYTHON_SIDEKICK_INFO")
    assert converted is not None and converted.text == "5 km = 3.107 mi"
    assert summary is not None and summary.text == "They talked about units. Ada converted one."
    assert "".join(host.chunks) == summary.text
    assert host.callbacks[-1].text == summary.text
    assert host.memories["facts"][0].content.text == f"Summary: {summary.text}"
    assert info.text is not None and "CONVERT_LENGTH" in info.text
