"""A LangGraph graph as a delegate backend, and so as an ElizaOS-Py agent's reasoner.

The user points at one attribute of their module (``LANGGRAPH_GRAPH=my_agent:graph``):

- a **compiled graph** (``StateGraph(...).compile()``, ``create_react_agent(...)``, ``create_agent(...)``): it
  runs as it is, with its own tools. The agent's actions, as LangChain tools, are also in the run's config
  (:func:`elizapy_tools`) for custom nodes that want them;
- a **factory** ``def build(tools, model)`` returning a compiled graph: called for every run with the agent's
  actions as LangChain tools (``tools``) and the agent's own model as a LangChain chat model (``model``, a
  :class:`HostChatModel`). Parameters are matched by name; ask only for what you use.

Messages go in as ``{"messages": [system, *history, human]}`` and the answer is the last AI message the run
added. Graph streaming is forwarded: token deltas to ``on_text``, every AI message (as it is produced) as an
:class:`~elizapy.reasoning.delegate.AssistantMessage` event, which the reasoner adapter turns into ElizaOS
replies. Calls of ElizaOS tools go through the run's toolbox (guards, records); calls of the graph's own tools
are recorded from its tool messages.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

try:
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import (
        AIMessage,
        AIMessageChunk,
        BaseMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
    )
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import BaseTool
    from langchain_core.utils.function_calling import convert_to_openai_tool
    from langgraph.errors import GraphRecursionError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the LangGraph reasoner needs langgraph and langchain-core: "
                      "pip install 'elizapy[langgraph]'") from exc

from pydantic import ConfigDict

from ..errors import ConfigError
from ..models.base import ChatMessage, TextRequest, TextResult, ToolCall, ToolSpec
from ..tools.langchain import content_text, langchain_tool
from ..types import ActionResult
from .delegate import (
    AssistantMessage,
    DelegateBackend,
    DelegateResult,
    DelegateRun,
    GenerateFn,
    ToolCallRecord,
)

TOOLS_CONFIG_KEY = "elizapy_tools"
"""Where the agent's actions (as LangChain tools) sit in a run's ``config["configurable"]``."""
SYSTEM_MESSAGE_ID = "elizapy-system"
"""The system message keeps one id, so a checkpointed thread replaces it each turn instead of adding one."""


def elizapy_tools(config: RunnableConfig | None) -> list[BaseTool]:
    """The agent's actions as LangChain tools, inside a node of a compiled graph run by this backend."""
    configurable = (config or {}).get("configurable") or {}
    return list(configurable.get(TOOLS_CONFIG_KEY) or [])


def _is_graph(obj: Any) -> bool:
    return hasattr(obj, "astream") and hasattr(obj, "ainvoke")


class LangGraphBackend(DelegateBackend):
    name = "langgraph"

    def __init__(self, target: Any, *, recursion_limit: int = 25, tool_timeout_s: float = 30.0) -> None:
        if not (_is_graph(target) or callable(target)):
            raise ConfigError(f"{target!r} is neither a compiled LangGraph graph nor a function building one")
        self.target = target
        self.recursion_limit = recursion_limit
        self.tool_timeout_s = tool_timeout_s

    async def execute(self, run: DelegateRun) -> DelegateResult:
        tools = [langchain_tool(a, _runner(run, a.name)) for a in run.tools.actions]
        graph = await self._graph(tools, run)
        human = HumanMessage(content=run.task, id=str(uuid.uuid4()))
        inputs: list[BaseMessage] = []
        if run.context.system:
            inputs.append(SystemMessage(content=run.context.system, id=SYSTEM_MESSAGE_ID))
        inputs.extend(to_langchain_messages(run.context.history))
        inputs.append(human)
        configurable: dict[str, Any] = {TOOLS_CONFIG_KEY: tools}
        if run.context.thread_id:
            configurable["thread_id"] = run.context.thread_id
        config: RunnableConfig = {"recursion_limit": self.recursion_limit, "configurable": configurable}
        ours = {t.name for t in tools}
        pending: dict[str, ToolCall] = {}
        foreign: list[ToolCallRecord] = []
        streamed: set[str] = set()
        final: Any = None
        try:
            async for mode, chunk in graph.astream({"messages": inputs}, config,
                                                   stream_mode=["messages", "updates", "values"]):
                if mode == "messages":
                    await _forward_tokens(run, chunk[0], streamed)
                elif mode == "updates":
                    for message in _update_messages(chunk):
                        await _on_message(run, message, ours, pending, foreign)
                elif mode == "values":
                    final = chunk
        except GraphRecursionError:
            why = f"the graph's step limit (recursion_limit={self.recursion_limit}) was reached"
            result = run.finish(f"I stopped before finishing because {why}.", stopped=why)
            result.tool_calls.extend(foreign)
            return result
        text = _answer(final, human.id)
        if not text:  # an interrupted graph, or one whose state has no AI message after the task
            why = "the graph produced no answer"
            result = run.finish(f"I stopped before finishing because {why}.", stopped=why)
        else:
            result = run.finish(text)
        result.tool_calls.extend(foreign)
        return result

    async def _graph(self, tools: Sequence[BaseTool], run: DelegateRun) -> Any:
        if _is_graph(self.target):
            return self.target
        params = inspect.signature(self.target).parameters
        offered: dict[str, Any] = {"tools": tools, "context": run.context}
        if "model" in params:
            if run.context.generate is None:
                raise ConfigError("the graph factory asks for `model`, but the host gave no model")
            offered["model"] = HostChatModel(generate_fn=run.context.generate)
        kwargs = {k: v for k, v in offered.items() if k in params}
        built = self.target(**kwargs) if kwargs or not params else self.target(tools)
        if inspect.isawaitable(built):
            built = await built
        if not _is_graph(built):
            raise ConfigError(f"the graph factory {getattr(self.target, '__name__', self.target)!r} returned "
                              f"{type(built).__name__}, not a compiled graph")
        return built


def _runner(run: DelegateRun, name: str) -> Any:
    async def call(arguments: dict[str, Any]) -> str:
        return (await run.tools.call(name, arguments)).output

    return call


async def _forward_tokens(run: DelegateRun, message: Any, streamed: set[str]) -> None:
    if isinstance(message, AIMessageChunk):
        if message.id:
            streamed.add(message.id)
        await run.emit_text(content_text(message.content))
    elif isinstance(message, AIMessage) and (message.id is None or message.id not in streamed):
        await run.emit_text(content_text(message.content))


def _update_messages(update: Any) -> Iterable[Any]:
    if not isinstance(update, dict):
        return
    for node_update in update.values():
        if isinstance(node_update, dict):
            messages = node_update.get("messages")
            if isinstance(messages, BaseMessage):
                yield messages
            elif isinstance(messages, list):
                yield from messages


async def _on_message(run: DelegateRun, message: Any, ours: set[str], pending: dict[str, ToolCall],
                      foreign: list[ToolCallRecord]) -> None:
    if isinstance(message, AIMessage):
        calls = tuple(ToolCall(id=c.get("id") or "", name=c["name"], arguments=dict(c.get("args") or {}))
                      for c in message.tool_calls)
        pending.update({c.id: c for c in calls if c.name not in ours})
        await run.emit(AssistantMessage(text=content_text(message.content), tool_calls=calls))
    elif isinstance(message, ToolMessage) and message.tool_call_id in pending:
        call = pending.pop(message.tool_call_id)
        output = content_text(message.content)
        ok = message.status != "error"
        foreign.append(ToolCallRecord(id=call.id, name=call.name, arguments=call.arguments, output=output,
                                      result=ActionResult(success=ok, text=output if ok else None,
                                                          error=None if ok else output)))


def _answer(final: Any, human_id: str | None) -> str:
    messages = final.get("messages") if isinstance(final, dict) else None
    if not isinstance(messages, list):
        return ""
    start = next((i + 1 for i, m in enumerate(messages) if getattr(m, "id", None) == human_id), 0)
    for message in reversed(messages[start:]):
        if isinstance(message, AIMessage) and not message.tool_calls:
            return content_text(message.content).strip()
    return ""


# --- messages both ways ------------------------------------------------------------------------------------

def to_langchain_messages(messages: Iterable[ChatMessage]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for m in messages:
        text = m.content or ""
        if m.role == "system":
            out.append(SystemMessage(content=text))
        elif m.role == "user":
            out.append(HumanMessage(content=text))
        elif m.role == "assistant":
            calls = [{"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"}
                     for c in m.tool_calls or []]
            out.append(AIMessage(content=text, tool_calls=calls))
        else:
            out.append(ToolMessage(content=text, tool_call_id=m.tool_call_id or "", name=m.name))
    return out


def from_langchain_messages(messages: Sequence[BaseMessage]) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    for m in messages:
        text = content_text(m.content)
        if isinstance(m, SystemMessage):
            out.append(ChatMessage("system", text))
        elif isinstance(m, AIMessage):
            calls = [ToolCall(id=c.get("id") or f"call_{i}", name=c["name"],
                              arguments=dict(c.get("args") or {})) for i, c in enumerate(m.tool_calls, 1)]
            out.append(ChatMessage("assistant", text or None, tool_calls=calls or None))
        elif isinstance(m, ToolMessage):
            out.append(ChatMessage("tool", text, tool_call_id=m.tool_call_id, name=m.name))
        else:
            out.append(ChatMessage("user", text))
    return out


class HostChatModel(BaseChatModel):
    """The host agent's model (any :data:`~elizapy.reasoning.delegate.GenerateFn`) as a LangChain chat model.

    Tool binding, tool calls and usage map to ElizaOS-Py's typed requests; text streams through LangChain's
    callbacks, so a graph streamed with ``stream_mode="messages"`` sees the tokens. Async only.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    generate_fn: GenerateFn
    """The model: ``runtime.generate`` bound to a ModelType, a sidekick bridge call, a test double."""

    @property
    def _llm_type(self) -> str:
        return "elizapy-host"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any) -> Any:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        raise NotImplementedError("HostChatModel is async only: use ainvoke or astream")

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None,
                         **kwargs: Any) -> ChatResult:
        message_id = f"lc_run-{run_manager.run_id}" if run_manager is not None else str(uuid.uuid4())
        request = TextRequest(messages=from_langchain_messages(messages), stop_sequences=stop,
                              tools=_tool_specs(kwargs.get("tools")), tool_choice=_tool_choice(kwargs))
        if run_manager is not None:
            manager = run_manager

            async def on_token(delta: str) -> None:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta, id=message_id))
                await manager.on_llm_new_token(delta, chunk=chunk)

            request.on_token = on_token
        result = await self.generate_fn(request)
        return ChatResult(generations=[ChatGeneration(message=_ai_message(result, message_id))])


def _tool_specs(tools: Any) -> list[ToolSpec] | None:
    if not tools:
        return None
    specs = []
    for t in tools:
        fn = t.get("function", t) if isinstance(t, dict) else {}
        specs.append(ToolSpec(name=str(fn.get("name")), description=str(fn.get("description") or ""),
                              parameters=fn.get("parameters") or {"type": "object", "properties": {}}))
    return specs


def _tool_choice(kwargs: dict[str, Any]) -> Any:
    if not kwargs.get("tools"):
        return None
    choice = kwargs.get("tool_choice")
    if choice in (None, "auto"):
        return "auto"
    if choice == "none":
        return "none"
    return "required"  # "any", "required", True, or one named tool


def _ai_message(result: TextResult, message_id: str) -> AIMessage:
    calls = [{"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"}
             for c in result.tool_calls]
    message = AIMessage(content=result.text, tool_calls=calls, id=message_id,
                        response_metadata={"finish_reason": result.finish_reason, "model_name": result.model})
    if result.usage is not None:
        message.usage_metadata = {"input_tokens": result.usage.prompt_tokens,
                                  "output_tokens": result.usage.completion_tokens,
                                  "total_tokens": result.usage.total_tokens}
    return message

