"""tau2's domain as an ordinary ElizaOS-Py plugin: tools become Actions, the policy a provider.

- Every domain tool becomes an :class:`Action` whose ``parameters`` are the tool's JSON schema (so the tool
  reasoner offers it as a native tool); its handler hands the call to the orchestrator through the
  :class:`~.session.Tau2Session` and returns the environment's answer as the action result.
- Under the XML reasoner actions get no arguments from the planner; the handler then asks the model for them
  with the tool's schema (an OBJECT_LARGE call), the way ElizaOS TS plugins extract parameters.
- ``TAU2_POLICY`` puts the domain policy in every prompt; ``TAU2_TOOL_HISTORY`` lists the tool calls of
  earlier runs in the conversation (the tool loop stores them as ``actions`` memories), so a later turn
  still knows what the tools returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...models.base import TextRequest, ToolCall
from ...models.parsing import parse_json_object
from ...reasoning.tools import LoopLimits, ToolLoopReasoner
from ...runtime.plugin import Action, ActionOptions, Plugin, Provider, ProviderResult
from ...runtime.reasoner import Turn
from ...runtime.runtime import AgentRuntime
from ...types import ActionResult, Memory, ModelType, State
from .session import Tau2Session

TOOL_TIMEOUT_S = 600.0
"""The orchestrator answers tool calls at once; the bound only catches a harness bug."""
HISTORY_ITEMS = 40
HISTORY_RESULT_CHARS = 1500


@dataclass(frozen=True, slots=True)
class ToolDef:
    name: str
    description: str
    parameters: dict[str, Any]
    kind: str = "read"
    """tau2's tool type: read, write, think or generic."""


def _required(schema: dict[str, Any]) -> list[str]:
    req = schema.get("required")
    return [str(r) for r in req] if isinstance(req, list) else []


async def _extract_arguments(runtime: AgentRuntime, message: Memory, state: State, tool: ToolDef) -> Any:
    prompt = (
        f"{state.text}\n\n# Task\nThe latest message: {message.content.text or ''}\n\n"
        f"You decided to call the tool `{tool.name}`: {tool.description}\n"
        "Answer with only a JSON object holding its arguments, matching this JSON schema:\n"
        f"{json.dumps(tool.parameters, separators=(',', ':'))}"
    )
    result = await runtime.generate(
        ModelType.OBJECT_LARGE, TextRequest(prompt=prompt, response_schema=tool.parameters)
    )
    return parse_json_object(result.text)


def tool_action(tool: ToolDef, session: Tau2Session) -> Action:
    async def handler(
        runtime: AgentRuntime, message: Memory, state: State, options: ActionOptions | None
    ) -> ActionResult:
        args: Any = dict(options.parameters) if options and options.parameters else {}
        if not args and _required(tool.parameters):
            try:
                args = await _extract_arguments(runtime, message, state, tool)
            except Exception as exc:
                return ActionResult(success=False, error=f"could not work out the arguments: {exc}")
            if not isinstance(args, dict):
                return ActionResult(success=False, error="the arguments must be a JSON object")
        outcome = await session.call_tool(tool.name, args)
        if outcome.error:
            return ActionResult(success=False, error=outcome.content, data={"tool": tool.name})
        return ActionResult(success=True, text=outcome.content, data={"tool": tool.name})

    return Action(
        name=tool.name,
        description=tool.description,
        handler=handler,
        parameters=tool.parameters,
        timeout_s=TOOL_TIMEOUT_S,
    )


def tau2_plugin(tools: Sequence[ToolDef], policy: str, session: Tau2Session) -> Plugin:
    async def policy_provider(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
        return ProviderResult(text="# Policy you must follow\n" + policy, values={"policy": policy})

    async def tool_history(runtime: AgentRuntime, message: Memory, state: State) -> ProviderResult:
        items = await runtime.store.memories.list(
            table="actions", room_id=message.room_id, count=HISTORY_ITEMS, agent_id=runtime.agent_id
        )
        lines = []
        for m in reversed(items):
            c = m.content
            args = getattr(c, "arguments", None)
            name = (c.actions or ["?"])[0]
            out = (c.text or "")[:HISTORY_RESULT_CHARS]
            lines.append(f"- {name}({json.dumps(args, ensure_ascii=False, default=str)}) -> {out}")
        if not lines:
            return ProviderResult()
        return ProviderResult(text="# Tool calls made earlier in this conversation\n" + "\n".join(lines))

    return Plugin(
        name="tau2-domain",
        description="A TAU-bench domain: its tools as actions, its policy as context.",
        actions=[tool_action(t, session) for t in tools],
        providers=[
            Provider(name="TAU2_POLICY", get=policy_provider, description="the domain policy", position=-9),
            Provider(
                name="TAU2_TOOL_HISTORY",
                get=tool_history,
                description="tool calls of earlier turns",
                position=1,
            ),
        ],
    )


class BatchingToolLoopReasoner(ToolLoopReasoner):
    """The tool-loop reasoner, announcing each turn's calls to the session so tau2 gets them as one batch.

    Only the announcement is added; which calls run, concurrently, with which guards, is the base class's.
    """

    def __init__(self, session: Tau2Session, *, limits: LoopLimits | None = None, mode: Any = None) -> None:
        super().__init__(limits=limits, mode=mode)
        self.session = session

    async def before_tool_batch(self, turn: Turn, calls: list[ToolCall]) -> None:
        self.session.expect(calls)

    async def after_tool_batch(self, turn: Turn) -> None:
        self.session.expect(None)
