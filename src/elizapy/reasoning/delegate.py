"""Delegating a task to another reasoning system: the backend interface, three backends, a Reasoner adapter.

A :class:`DelegateBackend` gets a task, the tools it may use (ElizaOS :class:`~elizapy.runtime.plugin.Action`
objects) and optional sinks for streamed text and events, and returns a :class:`DelegateResult`. Backends
never run a tool themselves: they go through a :class:`Toolbox`, which applies the guards every backend needs
(unknown names, timeouts, failures become error results the backend shows its model) and asks a
:data:`ToolRunner` to do the work. The runner is what makes one backend usable from several hosts:

- inside an ElizaOS-Py turn (:class:`DelegateReasoner`) it is ``run_action`` with the turn's message, state
  and callback, so events, timeouts and action context behave as under the other reasoners;
- standalone (the default, :func:`run_standalone`) it calls the handler with no runtime, which is all that
  tools from ``@tool``, LangChain and MCP need;
- in the sidekick it can run a TypeScript action over the bridge.

Backends: :class:`ToolLoopBackend` (the built-in native/JSON tool loop over any model function),
:class:`CallableBackend` (a plain async function) and ``LangGraphBackend`` in
:mod:`elizapy.reasoning.langgraph_backend` (imported lazily: it needs the ``langgraph`` extra).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio

from ..errors import ConfigError
from ..models.base import ChatMessage, TextRequest, TextResult, ToolCall, ToolSpec, Usage
from ..models.parsing import extract_json_text
from ..runtime.actions import find_action, run_action
from ..runtime.plugin import Action, ActionContext, ActionOptions, call_flexible, coerce_action_result
from ..runtime.reasoner import Turn, TurnOutcome
from ..types import ActionResult, Content, Memory, MemoryMetadata, ModelType, new_uuid, now_ms
from .tools import NOT_TOOLS, CallingMode, LoopLimits, _result_text, action_tool, next_step_schema

if TYPE_CHECKING:
    from ..runtime.reasoner import Reasoner
    from ..runtime.runtime import AgentRuntime

log = logging.getLogger("elizapy.reasoning.delegate")

TextSink = Callable[[str], Awaitable[None]]
"""Receives streamed text deltas of the delegate's answer, as they arrive."""
GenerateFn = Callable[[TextRequest], Awaitable[TextResult]]
"""A model: one typed request in, one result out (``runtime.generate`` bound to a ModelType, for instance)."""
ToolRunner = Callable[[Action, dict[str, Any]], Awaitable[ActionResult]]
"""Runs one action with the model's arguments; may raise (:class:`Toolbox` turns failures into results)."""


# --- results and events -------------------------------------------------------------------------------------

@dataclass(slots=True)
class ToolCallRecord:
    """One tool call a delegate made, and what came of it."""

    id: str
    name: str
    arguments: dict[str, Any]
    output: str
    """The text the delegate's model saw: the result text, or ``ERROR: …``."""
    result: ActionResult

    @property
    def success(self) -> bool:
        return self.result.success


@dataclass(slots=True, frozen=True)
class AssistantMessage:
    """The delegate's model produced a message: an intermediate one (with tool calls) or the final answer."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    kind: Literal["message"] = "message"


@dataclass(slots=True, frozen=True)
class ToolStarted:
    call: ToolCall
    kind: Literal["tool_started"] = "tool_started"


@dataclass(slots=True, frozen=True)
class ToolFinished:
    record: ToolCallRecord
    kind: Literal["tool_finished"] = "tool_finished"


DelegateEvent = AssistantMessage | ToolStarted | ToolFinished
EventSink = Callable[[DelegateEvent], Awaitable[None]]


@dataclass(slots=True, kw_only=True)
class DelegateContext:
    """What the host knows about the task beyond its text."""

    system: str | None = None
    """Instructions: the character's system prompt and composed state, when the host is an agent."""
    history: Sequence[ChatMessage] = ()
    """Earlier conversation turns, oldest first (the task itself is not repeated here)."""
    thread_id: str | None = None
    """A stable conversation id (the room id), for backends with their own memory (LangGraph checkpoints)."""
    generate: GenerateFn | None = None
    """The host agent's model, for backends that use one (the tool loop; graph factories taking ``model``)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DelegateResult:
    text: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    stopped: str | None = None
    """Why the backend stopped before finishing (a step or budget limit); None when it finished."""
    usage: Usage | None = None


# --- tools --------------------------------------------------------------------------------------------------

async def _no_callback(content: Content) -> list[Memory]:
    return []


async def run_standalone(action: Action, arguments: dict[str, Any]) -> ActionResult:
    """Run an action outside any agent: its handler gets no runtime, message or state.

    Tools made with ``@tool``, :func:`~elizapy.tools.langchain.langchain_action` and MCP servers need none.
    """
    options = ActionOptions(parameters=dict(arguments))
    raw = await call_flexible(action.handler, None, None, None, options, _no_callback, [])
    return coerce_action_result(raw) or ActionResult(success=True)


class Toolbox:
    """The tools of one delegate run, behind the guards every backend needs.

    :meth:`call` never raises (except on cancellation): an unknown tool, a timeout or a failing handler
    becomes an error result whose text the backend hands to its model, so the run can go on.
    """

    def __init__(self, tools: Sequence[Action], run_tool: ToolRunner | None = None, *,
                 timeout_s: float = 30.0, on_event: EventSink | None = None) -> None:
        self.actions = [a for a in tools if a.name not in NOT_TOOLS]
        self.run_tool = run_tool or run_standalone
        self.timeout_s = timeout_s
        self.on_event = on_event
        self.records: list[ToolCallRecord] = []

    @property
    def specs(self) -> list[ToolSpec]:
        return [action_tool(a) for a in self.actions]

    def get(self, name: str) -> Action | None:
        return find_action(self.actions, name)

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None, *,
                   call_id: str | None = None) -> ToolCallRecord:
        call = ToolCall(id=call_id or f"call_{new_uuid()[:8]}", name=name, arguments=dict(arguments or {}))
        if self.on_event is not None:
            await self.on_event(ToolStarted(call))
        action = self.get(name)
        if action is None:
            result = ActionResult(success=False, error=f"unknown tool {name!r}; available: "
                                  + (", ".join(a.name for a in self.actions) or "none"))
        else:
            result = await self._run(action, call)
        record = ToolCallRecord(id=call.id, name=action.name if action else name, arguments=call.arguments,
                                output=_result_text(result), result=result)
        self.records.append(record)
        if self.on_event is not None:
            await self.on_event(ToolFinished(record))
        return record

    async def _run(self, action: Action, call: ToolCall) -> ActionResult:
        timeout = action.timeout_s or self.timeout_s
        with anyio.move_on_after(timeout):
            try:
                return await self.run_tool(action, call.arguments)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                log.warning("tool %s failed: %r", action.name, exc)
                return ActionResult(success=False, error=f"{type(exc).__name__}: {exc}")
        return ActionResult(success=False, error=f"tool {action.name} timed out after {timeout:g}s")


@dataclass(slots=True)
class DelegateRun:
    """One call of :meth:`DelegateBackend.run`, as a backend's :meth:`~DelegateBackend.execute` sees it."""

    task: str
    context: DelegateContext
    tools: Toolbox
    on_text: TextSink | None = None
    on_event: EventSink | None = None

    async def emit_text(self, delta: str) -> None:
        if delta and self.on_text is not None:
            await self.on_text(delta)

    async def emit(self, event: DelegateEvent) -> None:
        if self.on_event is not None:
            await self.on_event(event)

    def finish(self, text: str, *, stopped: str | None = None, usage: Usage | None = None) -> DelegateResult:
        return DelegateResult(text=text, tool_calls=list(self.tools.records), stopped=stopped, usage=usage)


# --- the interface ------------------------------------------------------------------------------------------

class DelegateBackend(ABC):
    """A reasoning system that can take a task, use ElizaOS tools, and answer.

    Hosts call :meth:`run`; implementations write :meth:`execute`.
    """

    name: str = "delegate"
    tool_timeout_s: float = 30.0
    """Upper bound of one tool call (an action's own ``timeout_s`` wins when set)."""

    async def run(self, task: str, *, tools: Sequence[Action] = (), run_tool: ToolRunner | None = None,
                  context: DelegateContext | None = None, on_text: TextSink | None = None,
                  on_event: EventSink | None = None) -> DelegateResult:
        """Work on ``task`` with ``tools`` until there is an answer.

        Args:
            task: What to do, in words (the user's message).
            tools: The actions the backend may call (``REPLY``/``IGNORE``/``NONE`` are dropped).
            run_tool: How an action runs; :func:`run_standalone` when omitted.
            context: Instructions, history, thread id and the host's model.
            on_text: Receives the answer's text deltas as they stream.
            on_event: Receives assistant messages and tool starts/finishes as they happen.
        """
        toolbox = Toolbox(tools, run_tool, timeout_s=self.tool_timeout_s, on_event=on_event)
        run = DelegateRun(task=task, context=context or DelegateContext(), tools=toolbox, on_text=on_text,
                          on_event=on_event)
        return await self.execute(run)

    @abstractmethod
    async def execute(self, run: DelegateRun) -> DelegateResult: ...


# --- built-in tool loop -------------------------------------------------------------------------------------

def _call_key(call: ToolCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, default=str)


class ToolLoopBackend(DelegateBackend):
    """The built-in tool loop (native or JSON-schema tool calls, concurrent calls, guards) over any model.

    The same loop as :class:`~elizapy.reasoning.tools.ToolLoopReasoner`, without the agent around it: it needs
    only a model function, so a host without an ElizaOS-Py runtime (the sidekick) can use it.
    """

    name = "tools"

    def __init__(self, generate: GenerateFn | None = None, *, limits: LoopLimits | None = None,
                 mode: CallingMode = "native") -> None:
        self.generate = generate
        self.limits = limits or LoopLimits()
        self.mode = mode
        self.tool_timeout_s = self.limits.tool_timeout_s

    async def execute(self, run: DelegateRun) -> DelegateResult:
        generate = self.generate or run.context.generate
        if generate is None:
            raise ConfigError("ToolLoopBackend needs a model: pass generate=… or a context with generate")
        specs = run.tools.specs
        messages = self._start(run, specs)
        usage = Usage()
        seen: dict[str, str] = {}
        calls_made = 0
        for _step in range(self.limits.max_steps):
            result = await generate(self._request(run, messages, specs))
            if result.usage is not None:
                usage.prompt_tokens += result.usage.prompt_tokens
                usage.completion_tokens += result.usage.completion_tokens
            calls, text, thought = self._decode(result)
            await run.emit(AssistantMessage(text=text, tool_calls=tuple(calls)))
            if not calls:
                return run.finish(text, usage=usage)
            if self.limits.max_tokens is not None and usage.total_tokens >= self.limits.max_tokens:
                return self._stop(run, f"the token budget ({self.limits.max_tokens}) was used up", usage)
            if calls_made + len(calls) > self.limits.max_tool_calls:
                why = f"the tool-call budget ({self.limits.max_tool_calls}) was used up"
                return self._stop(run, why, usage)
            calls_made += len(calls)
            outputs = await self._execute(run, calls, seen)
            self._append(messages, result, calls, outputs, thought)
        return self._stop(run, f"the step limit ({self.limits.max_steps} model turns) was reached", usage)

    def _start(self, run: DelegateRun, specs: list[ToolSpec]) -> list[ChatMessage]:
        system = run.context.system or ""
        if self.mode == "json" and specs:
            listing = "\n".join(f"- {t.name}: {t.description} arguments schema: "
                                f"{json.dumps(t.parameters, separators=(',', ':'))}" for t in specs)
            system += (
                "\n\n# Tools\n" + listing + "\n\nAnswer with one JSON object: {\"thought\": str, "
                "\"tool_calls\": [{\"tool\": name, \"arguments\": {...}}], \"final_answer\": str}. To call "
                "tools, list them in tool_calls and leave final_answer empty. To finish, give an empty "
                "tool_calls list and the answer in final_answer.")
        head = [ChatMessage("system", system.strip())] if system.strip() else []
        return [*head, *run.context.history, ChatMessage("user", run.task)]

    def _request(self, run: DelegateRun, messages: list[ChatMessage], specs: list[ToolSpec]) -> TextRequest:
        if self.mode == "native":
            return TextRequest(messages=list(messages), tools=specs or None,
                               tool_choice="auto" if specs else None,
                               on_token=run.emit_text if run.on_text is not None else None)
        return TextRequest(messages=list(messages), response_schema=next_step_schema(specs))

    def _decode(self, result: TextResult) -> tuple[list[ToolCall], str, str]:
        if self.mode == "native" or result.tool_calls:
            return list(result.tool_calls), result.text, ""
        found = extract_json_text(result.text)
        try:
            obj = json.loads(found) if found is not None else None
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            return [], result.text.strip(), ""
        raw_calls = obj.get("tool_calls") or []
        calls = [ToolCall(id=f"call_{new_uuid()[:8]}", name=str(c.get("tool") or c.get("name")),
                          arguments=dict(c["arguments"]) if isinstance(c.get("arguments"), dict) else {})
                 for c in raw_calls if isinstance(c, dict) and (c.get("tool") or c.get("name"))]
        return calls, str(obj.get("final_answer") or ""), str(obj.get("thought") or "")

    async def _execute(self, run: DelegateRun, calls: list[ToolCall], seen: dict[str, str]) -> list[str]:
        """One turn's calls, concurrently (the model saw none of their results: none depends on another)."""
        outputs = [""] * len(calls)

        async def one(i: int, call: ToolCall) -> None:
            key = _call_key(call)
            if key in seen:
                outputs[i] = ("REFUSED: this exact call was already made in this run; its result was: "
                              + seen[key] + ". Use it instead of calling again.")
                return
            record = await run.tools.call(call.name, call.arguments, call_id=call.id)
            outputs[i] = seen[key] = record.output

        async with anyio.create_task_group() as tg:
            for i, call in enumerate(calls):
                tg.start_soon(one, i, call)
        return outputs

    def _append(self, messages: list[ChatMessage], result: TextResult, calls: list[ToolCall],
                outputs: list[str], thought: str) -> None:
        if self.mode == "native":
            messages.append(ChatMessage("assistant", result.text or None, tool_calls=calls))
            messages.extend(ChatMessage("tool", out, tool_call_id=c.id, name=c.name)
                            for c, out in zip(calls, outputs, strict=True))
            return
        asked = {"thought": thought, "final_answer": "",
                 "tool_calls": [{"tool": c.name, "arguments": c.arguments} for c in calls]}
        messages.append(ChatMessage("assistant", json.dumps(asked)))
        lines = [f"- {c.name}({json.dumps(c.arguments, ensure_ascii=False)}) -> {o}"
                 for c, o in zip(calls, outputs, strict=True)]
        messages.append(ChatMessage("user", "Tool results:\n" + "\n".join(lines) + "\nContinue: call more "
                                    "tools if needed, otherwise give the final answer."))

    def _stop(self, run: DelegateRun, why: str, usage: Usage) -> DelegateResult:
        text = f"I stopped before finishing because {why}."
        done = [f"{r.name}: {'ok' if r.success else 'failed'}" for r in run.tools.records]
        if done:
            text += " Tool calls made: " + "; ".join(done[-8:]) + "."
        return run.finish(text, stopped=why, usage=usage)


# --- a plain async callable ---------------------------------------------------------------------------------

DelegateFn = Callable[[DelegateRun], Awaitable[str | DelegateResult]]


class CallableBackend(DelegateBackend):
    """Any ``async def agent(run: DelegateRun) -> str | DelegateResult`` as a backend.

    The function calls tools with ``await run.tools.call(name, args)``, may stream with ``run.emit_text``, and
    returns the answer (the tool calls it made are filled in when it returns only text).
    """

    def __init__(self, fn: DelegateFn, *, name: str | None = None, tool_timeout_s: float = 30.0) -> None:
        self.fn = fn
        self.name = name or str(getattr(fn, "__name__", "callable"))
        self.tool_timeout_s = tool_timeout_s

    async def execute(self, run: DelegateRun) -> DelegateResult:
        out = await call_flexible(self.fn, run)
        if isinstance(out, DelegateResult):
            if not out.tool_calls:
                out.tool_calls = list(run.tools.records)
            return out
        if not isinstance(out, str):
            raise TypeError(f"delegate function {self.name} returned {type(out).__name__}, "
                            "expected str or DelegateResult")
        return run.finish(out)


def as_backend(obj: Any, *, name: str | None = None) -> DelegateBackend:
    """A backend from a backend instance, a backend class, or an async function (:class:`CallableBackend`)."""
    if isinstance(obj, DelegateBackend):
        return obj
    if isinstance(obj, type) and issubclass(obj, DelegateBackend):
        return obj()
    if callable(obj):
        return CallableBackend(obj, name=name)
    raise ConfigError(f"{obj!r} is not a delegate backend, a backend class or an async function")


# --- the Reasoner adapter -----------------------------------------------------------------------------------

class DelegateReasoner:
    """Lets an ElizaOS-Py agent think with a delegate backend (``REASONER=langgraph`` or ``delegate``).

    The agent's valid actions are the backend's tools and run through ``run_action`` (events, timeouts,
    action context as under the other reasoners); each call is stored as an ``actions`` memory. Streamed
    text goes to the turn's ``stream``. Intermediate assistant messages (text the model wrote while also
    calling tools) are sent as replies as they happen, like an ElizaOS action's callback; the final answer is
    the last reply. A failing backend becomes a clear reply.
    """

    def __init__(self, backend: DelegateBackend, *, forward_intermediate: bool = True) -> None:
        self.backend = backend
        self.name = backend.name
        self.forward_intermediate = forward_intermediate

    async def run(self, turn: Turn) -> TurnOutcome:
        rt = turn.runtime
        tools = [a for a in rt.actions
                 if a.name not in NOT_TOOLS and await a.is_valid(rt, turn.message, turn.state)]
        action_context = ActionContext(previous_results=turn.action_results, step_names=turn.action_names)

        async def run_tool(action: Action, arguments: dict[str, Any]) -> ActionResult:
            options = ActionOptions(action_context=action_context, parameters=arguments)
            return await run_action(rt, action, turn.message, turn.state, options, turn.callback,
                                    run_id=turn.run_id)

        async def on_event(event: DelegateEvent) -> None:
            if isinstance(event, AssistantMessage):
                if self.forward_intermediate and event.tool_calls and event.text.strip():
                    await turn.callback(Content(text=event.text.strip(), actions=["REPLY"]))
            elif isinstance(event, ToolFinished):
                turn.action_results.append(event.record.result)
                turn.action_names.append(event.record.name)
                await self._record(turn, event.record)

        async def generate(request: TextRequest) -> TextResult:
            return await rt.generate(ModelType.TEXT_LARGE, request)

        context = DelegateContext(system=self._system(turn), thread_id=str(turn.message.room_id),
                                  generate=generate,
                                  metadata={"runId": turn.run_id, "roomId": turn.message.room_id,
                                            "entityId": turn.message.entity_id, "agentId": rt.agent_id})
        try:
            result = await self.backend.run(turn.message.content.text or "", tools=tools, run_tool=run_tool,
                                            context=context, on_text=turn.stream, on_event=on_event)
            text = result.text.strip()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            log.warning("delegate backend %s failed: %r", self.backend.name, exc)
            rt.report_error("reasoner", self.backend.name, exc, turn.message)
            text = (f"I could not finish that: the {self.backend.name} reasoner failed "
                    f"({type(exc).__name__}: {exc}).")
        if text:
            await turn.callback(Content(text=text, actions=["REPLY"]))
        names = list(dict.fromkeys(turn.action_names))
        return TurnOutcome(content=Content(text=text, actions=["REPLY", *names]), mode="tools",
                           action_results=list(turn.action_results))

    def _system(self, turn: Turn) -> str:
        c = turn.runtime.character
        parts = [c.system or f"You are {c.name}.", turn.state.text,
                 "Use the tools when they help. When you have what you need, answer the user directly."]
        return "\n\n".join(p for p in parts if p)

    async def _record(self, turn: Turn, record: ToolCallRecord) -> None:
        rt = turn.runtime
        memory = Memory(
            id=new_uuid(), entity_id=rt.agent_id, agent_id=rt.agent_id, room_id=turn.message.room_id,
            world_id=turn.message.world_id, created_at=now_ms(),
            content=Content(text=record.output, actions=[record.name], in_reply_to=turn.message.id,
                            source="tool", toolCallId=record.id, arguments=record.arguments,
                            success=record.success, runId=turn.run_id),
            metadata=MemoryMetadata(type="custom", source="tool"))
        await rt.store.memories.create(memory, "actions")


# --- selection from settings --------------------------------------------------------------------------------

DELEGATE_REASONERS = ("langgraph", "delegate")
"""``REASONER`` values handled by :func:`delegate_reasoner`."""


def delegate_reasoner(runtime: AgentRuntime, name: str) -> Reasoner:
    """The reasoner for ``REASONER=langgraph`` (``LANGGRAPH_GRAPH=module:attr``) or ``REASONER=delegate``
    (``DELEGATE_BACKEND=module:attr``: a backend, a backend class or an async function).

    ``DELEGATE_TOOL_TIMEOUT`` (seconds) bounds each tool call; ``DELEGATE_FORWARD_INTERMEDIATE=false`` keeps
    intermediate messages from being sent.
    """
    from ..tools._loading import load_object

    name = name.lower()
    if name == "langgraph":
        spec = runtime.get_setting("LANGGRAPH_GRAPH")
        if not spec:
            raise ConfigError("REASONER=langgraph needs LANGGRAPH_GRAPH=module:attribute (a compiled graph, "
                              "or a function that builds one from tools)")
        from .langgraph_backend import LangGraphBackend

        backend: DelegateBackend = LangGraphBackend(load_object(str(spec), what="LANGGRAPH_GRAPH"))
    elif name == "delegate":
        spec = runtime.get_setting("DELEGATE_BACKEND")
        if not spec:
            raise ConfigError("REASONER=delegate needs DELEGATE_BACKEND=module:attribute")
        backend = as_backend(load_object(str(spec), what="DELEGATE_BACKEND"))
    else:
        raise ConfigError(f"{name!r} is not a delegate reasoner; expected one of "
                          f"{', '.join(DELEGATE_REASONERS)}")
    timeout = runtime.get_setting("DELEGATE_TOOL_TIMEOUT")
    if timeout:
        backend.tool_timeout_s = float(timeout)
    forward = runtime.get_setting("DELEGATE_FORWARD_INTERMEDIATE") is not False
    return DelegateReasoner(backend, forward_intermediate=forward)
