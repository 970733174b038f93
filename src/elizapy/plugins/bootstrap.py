"""The bootstrap plugin: the actions and providers every ElizaOS agent has (REPLY, IGNORE, NONE; character,
recent messages, entities, actions, time, action state)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from ..models.base import TextRequest
from ..reasoning.xml_parse import parse_key_value_xml
from ..runtime.plugin import Action, ActionOptions, HandlerCallback, Plugin, Provider, ProviderResult
from ..runtime.templates import DEFAULT_TEMPLATES, render
from ..types import ActionResult, Content, Memory, ModelType, State

if TYPE_CHECKING:
    from ..runtime.runtime import AgentRuntime

RECENT_MESSAGE_COUNT = 20


# --- actions ----------------------------------------------------------------------------------------------


async def _reply(
    runtime: AgentRuntime,
    message: Memory,
    state: State,
    options: ActionOptions,
    callback: HandlerCallback,
    responses: list[Memory],
) -> ActionResult:
    """First in a chain, REPLY sends the planned text (no extra model call); after other actions it writes
    a fresh reply that can use their results."""
    planned = responses[0].content if responses else Content()
    previous = options.action_context.previous_results
    if not previous and planned.text:
        text, thought = planned.text, planned.thought or ""
    else:
        template = (runtime.character.templates or {}).get("replyTemplate") or DEFAULT_TEMPLATES[
            "replyTemplate"
        ]
        results = "\n".join(f"- {r.text or r.error or ''}" for r in previous if (r.text or r.error))
        providers = state.text + ("\n\n# Results of the actions just taken\n" + results if results else "")
        raw = (
            await runtime.generate(
                ModelType.TEXT_LARGE,
                TextRequest(prompt=render(template, {**state.values, "providers": providers})),
            )
        ).text
        parsed = parse_key_value_xml(raw) or {}
        text = str(parsed.get("text") or ("" if "<" in raw else raw.strip()))
        thought = str(parsed.get("thought", ""))
    if text:
        await callback(Content(thought=thought, text=text, actions=["REPLY"]))
    return ActionResult(
        success=bool(text),
        text=f"Generated reply: {text}",
        values={"responded": bool(text), "lastReply": text},
        data={"actionName": "REPLY", "thought": thought},
    )


async def _ignore(runtime: AgentRuntime, message: Memory) -> ActionResult:
    return ActionResult(success=True, values={"ignored": True}, data={"actionName": "IGNORE"})


async def _none(runtime: AgentRuntime, message: Memory) -> ActionResult:
    return ActionResult(success=True, data={"actionName": "NONE"})


REPLY = Action(
    name="REPLY",
    similes=["GREET", "REPLY_TO_MESSAGE", "SEND_REPLY", "RESPOND", "RESPONSE"],
    description="Answer the conversation with a message. Use it alone for a plain answer, first in a "
    "chain to acknowledge, or last in a chain to report results.",
    handler=_reply,
)
IGNORE = Action(
    name="IGNORE",
    similes=["STOP_TALKING", "STAY_SILENT"],
    description="Say nothing: the message is not for the agent or needs no answer. Use it alone.",
    handler=_ignore,
)
NONE = Action(
    name="NONE", similes=["NO_ACTION"], description="Answer without taking any further action.", handler=_none
)


# --- providers --------------------------------------------------------------------------------------------


_NAME_PLACEHOLDER = re.compile(r"\{\{\s*(name|user)(\d+)\s*\}\}")
_EXAMPLE_NAMES = ("Alex", "Sam", "Jordan", "Riley", "Casey")


def _example_name(name: str) -> str:
    """``{{name1}}`` in examples stands for 'some user'; give it a plain name, as TS does."""
    return _NAME_PLACEHOLDER.sub(lambda m: _EXAMPLE_NAMES[(int(m.group(2)) - 1) % len(_EXAMPLE_NAMES)], name)


async def _character(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
    c = runtime.character
    parts = [f"# About {c.name}"]
    if c.system:
        parts.append(c.system)
    parts.append("\n".join(c.bio_lines))
    if c.adjectives:
        parts.append(f"{c.name} is {', '.join(c.adjectives[:5])}.")
    if c.topics:
        parts.append(f"{c.name} is interested in {', '.join(c.topics[:8])}.")
    style = (c.style.all or []) + (c.style.chat or []) if c.style else []
    if style:
        parts.append("# Style\n" + "\n".join(f"- {s}" for s in style))
    if c.message_examples:
        convs = []
        for conv in c.message_examples[:3]:
            convs.append("\n".join(f"{_example_name(ex.name)}: {ex.content.text or ''}" for ex in conv))
        parts.append(
            f"# How {c.name} talks (style examples only, not part of this conversation)\n"
            + "\n\n".join(convs)
        )
    text = "\n\n".join(p for p in parts if p)
    return ProviderResult(
        text=text,
        values={
            "agentName": c.name,
            "bio": "\n".join(c.bio_lines),
            "system": c.system or "",
            "characterText": text,
        },
    )


def _name_map(runtime: AgentRuntime, entities: list[Any]) -> dict[str, str]:
    names = {e.id: (e.names[0] if e.names else "User") for e in entities if e.id}
    names[runtime.agent_id] = runtime.character.name
    return names


async def _recent_messages(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
    memories = await runtime.store.memories.list(
        table="messages", room_id=message.room_id, count=RECENT_MESSAGE_COUNT, agent_id=runtime.agent_id
    )
    entities = await runtime.store.entities.for_room(message.room_id)
    names = _name_map(runtime, entities)
    lines = []
    for m in reversed(memories):
        who = names.get(m.entity_id, "User")
        line = f"{who}: {m.content.text or ''}"
        if m.content.actions and m.content.actions != ["REPLY"]:
            line += f" ({', '.join(m.content.actions)})"
        lines.append(line)
    sender = names.get(message.entity_id, "User")
    text = "# Conversation so far\n" + "\n".join(lines) if lines else ""
    if message.content.text:
        text += f"\n\n# Latest message, from {sender}, to answer now\n{message.content.text}"
    return ProviderResult(
        text=text,
        values={"recentMessages": "\n".join(lines), "senderName": sender},
        data={"recentMessages": memories},
    )


async def _entities(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
    entities = await runtime.store.entities.for_room(message.room_id)
    if not entities:
        return ProviderResult()
    lines = [f"- {', '.join(e.names) or 'unknown'} (id {e.id})" for e in entities]
    text = "# People in the room\n" + "\n".join(lines)
    return ProviderResult(text=text, values={"entities": "\n".join(lines)}, data={"entities": entities})


async def _actions(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
    valid = [a for a in runtime.actions if await a.is_valid(runtime, message, state)]
    names = ", ".join(a.name for a in valid)
    described = "\n".join(f"- {a.name}: {a.description}" for a in valid)
    text = f"# Available actions\n{described}"
    return ProviderResult(
        text=text,
        values={"actionNames": f"Possible response actions: {names}", "actionsWithDescriptions": described},
        data={"actionsData": [a.name for a in valid]},
    )


async def _time(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ProviderResult(text=f"The current date and time is {now}.", values={"time": now})


async def _action_state(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
    results = state.data.get("actionResults") or []
    lines = [f"- {'ok' if r.success else 'failed'}: {r.text or r.error or ''}" for r in results]
    return ProviderResult(
        text="# Action results\n" + "\n".join(lines) if lines else "",
        values={"actionResults": "\n".join(lines)},
    )


# Positions put stable text first (character, actions, people) and what changes every turn last, so a local
# model's prompt cache can reuse the long common prefix between turns.
bootstrap_plugin = Plugin(
    name="bootstrap",
    description="Core actions and providers of every agent",
    actions=[REPLY, IGNORE, NONE],
    providers=[
        Provider(name="CHARACTER", get=_character, description="who the agent is", position=-10),
        Provider(name="ENTITIES", get=_entities, description="people in the room", position=-1),
        Provider(name="ACTIONS", get=_actions, description="actions the agent can take", position=-5),
        Provider(name="TIME", get=_time, description="the current date and time", position=5),
        Provider(
            name="RECENT_MESSAGES", get=_recent_messages, description="the conversation so far", position=10
        ),
        Provider(
            name="ACTION_STATE",
            get=_action_state,
            description="results of actions in this run",
            dynamic=True,
            position=20,
        ),
    ],
)
