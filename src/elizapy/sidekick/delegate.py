"""``delegate/run``: a Python delegate backend working for the TS agent.

The backend is chosen per call from the TS character's settings (read by the plugin with
``runtime.getSetting`` and sent along, or asked for over the reverse channel by an older plugin):

- ``PYTHON_DELEGATE_BACKEND=tools`` (the default): the built-in tool loop
  (:class:`~elizapy.reasoning.delegate.ToolLoopBackend`) in its JSON "next step" mode;
- ``PYTHON_DELEGATE_BACKEND=langgraph`` with ``PYTHON_DELEGATE_GRAPH=module:attr`` (or ``LANGGRAPH_GRAPH``):
  a LangGraph graph (:class:`~elizapy.reasoning.langgraph_backend.LangGraphBackend`), compiled or a factory;
- ``PYTHON_DELEGATE_BACKEND=callable`` with ``PYTHON_DELEGATE_GRAPH=module:attr`` (or a ``module:attr``
  as the backend value itself): any backend instance, backend class or ``async def agent(run)``.

The model is the TS agent's own ``useModel`` (:func:`host_generate`); TS text models take one prompt, so a
chat is rendered into it, and a request that offers tools (a LangGraph ``bind_tools`` model) gets them as a
JSON "next step" object whose ``tool_calls`` come back as ordinary tool calls. The tools are the sidekick's
Python actions (called in-process with the runtime proxy and the TS callback) plus the TS agent's actions
the host offered (called back through ``runtime/invokeAction``). Intermediate assistant text and the final
answer are said through the delegating action's callback; answer text streams as ``callback/chunk`` when the
host streams.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..models.base import ChatMessage, TextRequest, TextResult, ToolCall, ToolSpec
from ..models.gateway import eliza_sampling_params
from ..models.parsing import extract_json_text
from ..reasoning.delegate import (
    AssistantMessage,
    DelegateBackend,
    DelegateContext,
    DelegateEvent,
    GenerateFn,
    ToolLoopBackend,
    as_backend,
)
from ..reasoning.delegate import DelegateResult as BackendResult
from ..reasoning.tools import LoopLimits, next_step_schema
from ..runtime.plugin import Action, ActionOptions, call_flexible, coerce_action_result
from ..types import ActionResult, Content, Memory, ModelType, State, new_uuid
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

BACKEND_SETTING = "PYTHON_DELEGATE_BACKEND"
GRAPH_SETTING = "PYTHON_DELEGATE_GRAPH"
GRAPH_FALLBACK_SETTING = "LANGGRAPH_GRAPH"
BACKENDS = ("tools", "langgraph", "callable")
_ALIASES = {
    "tools": "tools",
    "loop": "tools",
    "builtin": "tools",
    "tool-loop": "tools",
    "langgraph": "langgraph",
    "graph": "langgraph",
    "callable": "callable",
    "delegate": "callable",
}

TOOL_INSTRUCTIONS = (
    '\n\nAnswer with one JSON object: {"thought": str, "tool_calls": [{"tool": name, "arguments": {...}}], '
    '"final_answer": str}. To call tools, list them in tool_calls and leave final_answer empty. To finish, '
    "give an empty tool_calls list and the answer in final_answer."
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
    """A :class:`~elizapy.models.base.ModelProvider` whose model is the TS runtime's ``useModel``.

    Requests that offer tools (``request.tools``) are answered through the JSON "next step" object: the tools
    are listed in the prompt, the step schema goes along as ``responseFormat``/``responseSchema``, and the
    object's ``tool_calls`` come back as :class:`~elizapy.models.base.ToolCall` objects, so callers written
    for native tool calling (a LangGraph graph on :class:`~elizapy.reasoning.langgraph_backend.HostChatModel`)
    work with any TS model plugin.
    """

    name = "elizaos-ts"
    native_tools = False

    def __init__(
        self, host: HostApi, *, invocation: str | None = None, text_type: str = "TEXT_LARGE"
    ) -> None:
        self.host = host
        self.invocation = invocation
        self.text_type = text_type
        """The TS model type every text request goes to (the delegate always asks for TEXT_LARGE)."""

    @property
    def model_types(self) -> frozenset[ModelType]:
        return TEXT_TYPES | {ModelType.TEXT_EMBEDDING}

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        emulate = bool(request.tools) and request.tool_choice != "none"
        if emulate:
            request = _with_tool_step(request)
        params: dict[str, Any] = {"prompt": render_prompt(request), **eliza_sampling_params(request)}
        if request.response_schema is not None:
            params["responseFormat"] = {"type": "json_object"}
            params["responseSchema"] = request.response_schema
        out = await self.host.use_model(self.text_type, params, invocation=self.invocation)
        text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
        model = f"{self.name}:{self.text_type}"
        if emulate:
            calls, text = decode_tool_step(text)
            if request.on_token is not None and text and not calls:
                await request.on_token(text)
            return TextResult(
                text=text, model=model, tool_calls=calls, finish_reason="tool_calls" if calls else "stop"
            )
        if request.on_token is not None and text and request.response_schema is None:
            await request.on_token(text)
        return TextResult(text=text, model=model)

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for text in texts:
            vec = await self.host.use_model(ModelType.TEXT_EMBEDDING.value, {"text": text})
            out.append([float(x) for x in vec])
        return out


def _with_tool_step(request: TextRequest) -> TextRequest:
    """``request`` with its tools moved into the prompt and the step schema as the response format."""
    specs: list[ToolSpec] = list(request.tools or [])
    listing = "\n".join(
        f"- {t.name}: {t.description} arguments schema: {json.dumps(t.parameters, separators=(',', ':'))}"
        for t in specs
    )
    guide = "# Tools\n" + listing + TOOL_INSTRUCTIONS
    messages = list(request.as_messages())
    if messages and messages[0].role == "system":
        messages[0] = ChatMessage("system", ((messages[0].content or "") + "\n\n" + guide).strip())
    else:
        messages.insert(0, ChatMessage("system", guide))
    return TextRequest(
        messages=messages,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        stop_sequences=request.stop_sequences,
        response_schema=next_step_schema(specs),
        on_token=request.on_token,
    )


def decode_tool_step(text: str) -> tuple[list[ToolCall], str]:
    """The tool calls and answer of a JSON "next step" object; text that is no such object is the answer."""
    found = extract_json_text(text)
    try:
        obj = json.loads(found) if found is not None else None
    except json.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict) or not ({"tool_calls", "final_answer"} & obj.keys()):
        return [], text.strip()
    calls = [
        ToolCall(
            id=f"call_{new_uuid()[:8]}",
            name=str(c.get("tool") or c.get("name")),
            arguments=dict(c["arguments"]) if isinstance(c.get("arguments"), dict) else {},
        )
        for c in obj.get("tool_calls") or []
        if isinstance(c, dict) and (c.get("tool") or c.get("name"))
    ]
    return calls, str(obj.get("final_answer") or "")


def host_generate(
    host: HostApi, *, invocation: str | None = None, text_type: str = "TEXT_LARGE"
) -> GenerateFn:
    """The TS agent's ``useModel(text_type)`` as a delegate backend's model function."""
    provider = HostModelProvider(host, invocation=invocation, text_type=text_type)

    async def generate(request: TextRequest) -> TextResult:
        return await provider.generate(ModelType.TEXT_LARGE, request)

    return generate


def python_tool(action: Action, proxy: SidekickRuntime, callback: ReplyCallback) -> Action:
    """A sidekick action as a delegate tool: it still receives the TS runtime proxy and the TS callback."""

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
    """One of the TS agent's actions as a delegate tool, run by the host with the delegating message/state."""

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


# --- which backend ------------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class DelegateChoice:
    """The backend a ``delegate/run`` call asked for: ``tools`` (built in), ``langgraph`` or ``callable``."""

    backend: str = "tools"
    target: str | None = None
    """``module:attr`` (or ``path/file.py:attr``) of the graph or callable; None for ``tools``."""


def _param(params: DelegateParams, name: str) -> tuple[bool, str | None]:
    """Whether the wire params know ``name`` (a newer protocol), and its value."""
    if name not in type(params).model_fields:
        return False, None
    value = getattr(params, name, None)
    return True, str(value) if value else None


async def delegate_choice(params: DelegateParams, host: HostApi) -> DelegateChoice:
    """The backend for this call: from the params the plugin sent (its character settings), else asked for.

    A plugin that sends ``backend``/``graph`` has already read ``PYTHON_DELEGATE_BACKEND`` and
    ``PYTHON_DELEGATE_GRAPH`` (or ``LANGGRAPH_GRAPH``); when the wire params have no such fields, the same
    settings are read from the TS runtime over the reverse channel (``runtime/getSetting``).
    """
    known, backend = _param(params, "backend")
    known_graph, target = _param(params, "graph")
    # A field that was not sent (None) means "the plugin did not say": ask the host's settings.
    if not known or backend is None:
        backend = _text(await host.get_setting(BACKEND_SETTING))
    if not known_graph or target is None:
        target = _text(await host.get_setting(GRAPH_SETTING))
        if not target and (backend or "").strip().lower() in ("langgraph", "graph"):
            target = _text(await host.get_setting(GRAPH_FALLBACK_SETTING))
    return parse_choice(backend, target)


def parse_choice(backend: str | None, target: str | None) -> DelegateChoice:
    """Normalise the settings: a ``module:attr`` as the backend itself means ``callable`` with that target."""
    raw = (backend or "").strip()
    if not raw:
        return DelegateChoice("langgraph", target) if target else DelegateChoice()
    if ":" in raw:
        return DelegateChoice("callable", raw)
    name = _ALIASES.get(raw.lower())
    if name is None:
        raise ConfigError(
            f"{BACKEND_SETTING}={raw!r} is not a delegate backend; expected one of "
            f"{', '.join(BACKENDS)} (or module:attribute)"
        )
    if name != "tools" and not target:
        raise ConfigError(
            f"{BACKEND_SETTING}={raw} needs {GRAPH_SETTING}=module:attribute (or path/to/file.py:attribute)"
        )
    return DelegateChoice(name, target if name != "tools" else None)


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    text = str(value).strip()
    return text or None


def make_backend(
    choice: DelegateChoice, *, generate: GenerateFn, max_steps: int | None, tool_timeout_s: float
) -> DelegateBackend:
    """The backend instance for one call (loaded objects are cached by the import system)."""
    from ..tools._loading import load_object

    backend: DelegateBackend
    if choice.backend == "tools" or choice.target is None:
        limits = LoopLimits(max_steps=max_steps or 8, tool_timeout_s=tool_timeout_s)
        return ToolLoopBackend(generate, limits=limits, mode="json")
    if choice.backend == "langgraph":
        from ..reasoning.langgraph_backend import LangGraphBackend

        target = load_object(choice.target, what=GRAPH_SETTING)
        backend = LangGraphBackend(target, recursion_limit=max(2 * (max_steps or 12) + 1, 5))
    else:
        backend = as_backend(load_object(choice.target, what=GRAPH_SETTING))
    backend.tool_timeout_s = tool_timeout_s
    return backend


# --- the call -----------------------------------------------------------------------------------------------


async def run_delegate(
    params: DelegateParams,
    *,
    actions: Sequence[Action],
    host: HostApi,
    proxy: SidekickRuntime,
    callback: ReplyCallback,
    tool_timeout_s: float = 60.0,
) -> DelegateResult:
    """Run the configured delegate backend on ``params.task`` and answer through the TS callback."""
    message = params.message.model_copy(
        update={"content": params.message.content.model_copy(update={"text": params.task})}
    )
    state = params.state
    if getattr(params, "streaming", False) and not callback.streaming:
        from .proxy import ReplyCallback as _Reply

        callback = _Reply(callback.host, callback.invocation, streaming=True)

    mine = {a.name for a in actions}
    tools: list[Action] = []
    for a in actions:
        tool = python_tool(a, proxy, callback)
        if await _valid(tool, message, state):
            tools.append(tool)
    tools += [
        host_tool(t, host, params.invocation, timeout_s=tool_timeout_s)
        for t in params.tools
        if t.name not in mine
    ]

    async def run_tool(action: Action, arguments: dict[str, Any]) -> ActionResult:
        raw = await action.handler(None, message, state, ActionOptions(parameters=dict(arguments)))
        return coerce_action_result(raw) or ActionResult(success=True)

    async def on_event(event: DelegateEvent) -> None:
        if isinstance(event, AssistantMessage) and event.tool_calls and event.text.strip():
            await callback(Content(text=event.text.strip(), actions=["REPLY"]))

    generate = host_generate(host, invocation=params.invocation, text_type=params.model_type)
    choice = await delegate_choice(params, host)
    backend = make_backend(
        choice, generate=generate, max_steps=params.max_steps, tool_timeout_s=tool_timeout_s
    )
    context = DelegateContext(
        system=_system(proxy, state),
        thread_id=str(message.room_id) if message.room_id else None,
        generate=generate,
        metadata={
            "invocation": params.invocation,
            "roomId": message.room_id,
            "entityId": message.entity_id,
            "agentId": proxy.agent_id,
            "backend": choice.backend,
        },
    )
    result: BackendResult = await backend.run(
        params.task,
        tools=tools,
        run_tool=run_tool,
        context=context,
        on_text=callback.chunk if callback.streaming else None,
        on_event=on_event,
    )
    text = result.text.strip()
    if text:
        await callback(Content(text=text, actions=["REPLY"]))
    calls = [
        ToolCallRecord(name=r.name, arguments=r.arguments, success=r.success, output=r.output)
        for r in result.tool_calls
    ]
    return DelegateResult(text=text, tool_calls=calls, success=result.stopped is None)


async def _valid(action: Action, message: Memory, state: State) -> bool:
    if action.validate is None:
        return True
    try:
        return bool(await action.validate(None, message, state))
    except Exception:
        return False


def _system(proxy: SidekickRuntime, state: State) -> str:
    c = proxy.character
    parts = [
        c.system or f"You are {c.name or 'Agent'}.",
        state.text,
        "Use the tools when they help. Call several tools at once when the calls do not depend on each "
        "other. When you have what you need, answer the user directly and concisely.",
    ]
    return "\n\n".join(p for p in parts if p)


__all__ = [
    "BACKENDS",
    "DelegateChoice",
    "HostModelProvider",
    "decode_tool_step",
    "delegate_choice",
    "host_generate",
    "host_tool",
    "make_backend",
    "parse_choice",
    "python_tool",
    "render_prompt",
    "run_delegate",
]
