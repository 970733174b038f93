"""``delegate/run``: the Python tool-calling loop working for the TS agent.

The model is the TS agent's own ``useModel`` (:class:`HostModelProvider`); the tools are the sidekick's
Python actions (called in-process with the runtime proxy) plus the TS agent's actions the host offered
(called back through ``runtime/invokeAction``). TS ``useModel(TEXT_LARGE)`` takes one prompt, so the loop
runs in its JSON "next step" mode: the chat transcript is rendered into the prompt and the step schema goes
along as ``responseFormat: {type: "json_object"}`` plus ``responseSchema`` for model plugins that can
enforce it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models.base import TextRequest, TextResult
from ..models.gateway import ModelGateway
from ..reasoning.tools import LoopLimits, ToolLoopReasoner
from ..runtime.plugin import Action, ActionOptions, Plugin, call_flexible, coerce_action_result
from ..runtime.reasoner import Turn
from ..types import ActionResult, Character, Content, Memory, ModelType, State, new_uuid
from .peer import HostApi
from .wire import DelegateParams, DelegateResult, ToolCallRecord, ToolSpecWire

if TYPE_CHECKING:
    from .proxy import ReplyCallback, SidekickRuntime

TEXT_TYPES = frozenset(
    {
        ModelType.TEXT_SMALL,
        ModelType.TEXT_LARGE,
        ModelType.REASONING_SMALL,
        ModelType.REASONING_LARGE,
        ModelType.TEXT_COMPLETION,
    }
)


def render_prompt(request: TextRequest) -> str:
    """A chat transcript as one ElizaOS-style prompt (TS text models take ``{prompt}``, not messages)."""
    parts: list[str] = []
    for m in request.as_messages():
        text = m.content or ""
        if m.role == "system":
            parts.append(text)
        elif m.role == "user":
            parts.append(f"User: {text}")
        elif m.role == "assistant":
            calls = "".join(
                f"\n[call {c.name} {json.dumps(c.arguments, ensure_ascii=False)}]" for c in m.tool_calls or ()
            )
            parts.append(f"Assistant: {text}{calls}")
        else:
            parts.append(f"Tool result ({m.name or 'tool'}): {text}")
    return "\n\n".join(parts)


class HostModelProvider:
    """A :class:`~elizapy.models.base.ModelProvider` whose model is the TS runtime's ``useModel``."""

    name = "elizaos-ts"
    native_tools = False

    def __init__(
        self, host: HostApi, *, invocation: str | None = None, text_type: str = "TEXT_LARGE"
    ) -> None:
        self.host = host
        self.invocation = invocation
        self.text_type = text_type
        """The TS model type every text request goes to (the loop always asks for TEXT_LARGE)."""

    @property
    def model_types(self) -> frozenset[ModelType]:
        return TEXT_TYPES | {ModelType.TEXT_EMBEDDING}

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        params: dict[str, Any] = {"prompt": render_prompt(request)}
        if request.max_tokens is not None:
            params["maxTokens"] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.stop_sequences:
            params["stopSequences"] = request.stop_sequences
        if request.response_schema is not None:
            params["responseFormat"] = {"type": "json_object"}
            params["responseSchema"] = request.response_schema
        out = await self.host.use_model(self.text_type, params, invocation=self.invocation)
        text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
        if request.on_token is not None and text:
            await request.on_token(text)
        return TextResult(text=text, model=f"{self.name}:{self.text_type}")

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for text in texts:
            vec = await self.host.use_model(ModelType.TEXT_EMBEDDING.value, {"text": text})
            out.append([float(x) for x in vec])
        return out


def python_tool(action: Action, proxy: SidekickRuntime, callback: ReplyCallback) -> Action:
    """A sidekick action as a loop tool: it still receives the TS runtime proxy and the TS callback."""

    async def handler(runtime: Any, message: Memory, state: State, options: ActionOptions) -> ActionResult:
        raw = await call_flexible(action.handler, proxy, message, state, options, callback, [])
        return coerce_action_result(raw) or ActionResult(success=True)

    async def validate(runtime: Any, message: Memory, state: State) -> bool:
        assert action.validate is not None
        return bool(await call_flexible(action.validate, proxy, message, state))

    return Action(
        name=action.name,
        description=action.description,
        handler=handler,
        validate=validate if action.validate is not None else None,
        similes=list(action.similes),
        parameters=action.parameters,
        timeout_s=action.timeout_s,
    )


def host_tool(spec: ToolSpecWire, host: HostApi, invocation: str, *, timeout_s: float) -> Action:
    """One of the TS agent's actions as a loop tool, run by the host with the delegating message and state."""

    async def handler(runtime: Any, message: Memory, state: State, options: ActionOptions) -> ActionResult:
        out = await host.invoke_action(invocation, spec.name, options.parameters, timeout_s=timeout_s)
        result = out.result or ActionResult(success=True)
        said = [c.text for c in out.callbacks if c.text]
        if not result.text and said:
            result = result.model_copy(update={"text": "\n".join(said)})
        return result

    return Action(
        name=spec.name,
        description=spec.description,
        handler=handler,
        parameters=spec.parameters or {"type": "object", "properties": {}},
        timeout_s=timeout_s,
    )


async def run_delegate(
    params: DelegateParams,
    *,
    actions: Sequence[Action],
    host: HostApi,
    proxy: SidekickRuntime,
    callback: ReplyCallback,
    tool_timeout_s: float = 60.0,
) -> DelegateResult:
    """Run the tool loop on ``params.task`` inside a throwaway Python runtime (in-memory store)."""
    from ..runtime.runtime import AgentRuntime
    from ..store.sqlite import SqliteStore

    mine = {a.name for a in actions}
    tools = [python_tool(a, proxy, callback) for a in actions]
    tools += [
        host_tool(t, host, params.invocation, timeout_s=tool_timeout_s)
        for t in params.tools
        if t.name not in mine
    ]
    gateway = ModelGateway()
    gateway.register_provider(
        HostModelProvider(host, invocation=params.invocation, text_type=params.model_type)
    )
    character = Character(
        id=proxy.agent_id,
        name=proxy.character.name or "Agent",
        bio=proxy.character.bio or "",
        system=proxy.character.system,
    )
    reasoner = ToolLoopReasoner(
        limits=LoopLimits(max_steps=params.max_steps or 8, tool_timeout_s=tool_timeout_s), mode="json"
    )
    store = SqliteStore(":memory:")
    runtime = AgentRuntime(
        character,
        store=store,
        models=gateway,
        plugins=[Plugin(name="sidekick-delegate", actions=tools)],
        reasoner=reasoner,
        settings={},
        env={},
        action_timeout_s=tool_timeout_s,
    )
    message = params.message.model_copy(
        update={"content": params.message.content.model_copy(update={"text": params.task})}
    )
    try:
        await runtime.initialize()
        turn = Turn(
            runtime=runtime,
            message=message,
            state=params.state,
            run_id=new_uuid(),
            callback=callback,
            is_current=lambda: True,
        )
        outcome = await reasoner.run(turn)
        recorded = await store.memories.list(table="actions", room_id=message.room_id)
    finally:
        await runtime.stop()
        await store.close()
    content = outcome.content or Content(text="")
    calls = [
        ToolCallRecord(
            name=(m.content.actions or ["?"])[0],
            arguments=_extra(m.content, "arguments", {}),
            success=bool(_extra(m.content, "success", False)),
            output=m.content.text or "",
        )
        for m in reversed(recorded)
    ]
    return DelegateResult(text=content.text or "", thought=content.thought, tool_calls=calls, success=True)


def _extra(content: Content, key: str, default: Any) -> Any:
    extra = content.model_extra or {}
    return extra.get(key, default)


__all__ = ["HostModelProvider", "host_tool", "python_tool", "render_prompt", "run_delegate"]
