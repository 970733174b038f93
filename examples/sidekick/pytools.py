"""Python tools for a TypeScript ElizaOS agent, served by `elizapy sidekick --module pytools`.

`character.json` beside this file lists `@elizapy/plugin-python-sidekick`; the plugin starts this module and
registers what it defines as ordinary ElizaOS actions and providers. Handlers get `runtime`, a proxy of the
TS runtime: `use_model`, `get_memories`, `search_memories`, `create_memory`, `get_setting` all go to the real
agent (its model plugin, its database, its settings).
"""

from __future__ import annotations

import platform
from typing import Literal

from elizapy.sidekick import ReplyCallback, SidekickRuntime, action, provider
from elizapy.types import ActionResult, Memory

Unit = Literal["km", "mi", "m", "ft"]
METERS: dict[str, float] = {"km": 1000.0, "mi": 1609.344, "m": 1.0, "ft": 0.3048}


@action(similes=["CONVERT", "UNIT_CONVERSION"])
async def convert_length(value: float, from_unit: Unit, to_unit: Unit) -> ActionResult:
    """Convert a length between km, mi, m and ft (exact arithmetic, no model involved)."""
    result = value * METERS[from_unit] / METERS[to_unit]
    text = f"{value:g} {from_unit} = {result:.4g} {to_unit}"
    return ActionResult(success=True, text=text, values={"convertedLength": text})


@action(similes=["RECAP", "SUMMARIZE"])
async def summarize_conversation(
    runtime: SidekickRuntime, message: Memory, callback: ReplyCallback
) -> ActionResult:
    """Summarize the recent conversation in this room and remember the summary."""
    recent = await runtime.get_memories(room_id=message.room_id, count=20)
    transcript = "\n".join(m.content.text or "" for m in reversed(recent) if m.content.text)
    summary = await runtime.use_model(
        "TEXT_SMALL", {"prompt": f"Summarize this conversation in two sentences:\n{transcript}"}
    )
    text = str(summary)
    # word by word to a streaming connector (ignored when the host does not stream), then the whole message
    pieces = [w + " " for w in text.split(" ")]
    pieces[-1] = pieces[-1].rstrip()
    await callback.stream(pieces, actions=["SUMMARIZE_CONVERSATION"])
    await runtime.create_memory(
        {"entityId": runtime.agent_id, "roomId": message.room_id, "content": {"text": f"Summary: {text}"}},
        "facts",
        embed=True,
    )
    return ActionResult(success=True, text=text)


@provider(position=100)
async def python_sidekick_info(runtime: SidekickRuntime) -> str:
    """Tells the model which Python tools exist."""
    return (
        f"# Python tools\nA Python {platform.python_version()} sidekick gives {runtime.character.name} "
        "exact unit conversion (CONVERT_LENGTH) and conversation summaries (SUMMARIZE_CONVERSATION)."
    )
