"""LangChain tools and ElizaOS actions, in both directions.

- :func:`langchain_action` turns a LangChain ``BaseTool`` into an :class:`~elizapy.runtime.plugin.Action` any
  reasoner can call: the parameters are the tool's *call* schema (what a model fills in; arguments LangChain
  injects itself are left out), the handler awaits ``tool.ainvoke``.
- :func:`langchain_tool` turns an action into a LangChain ``StructuredTool`` for a LangGraph graph. It does
  not run the action itself: the caller passes ``run`` (the delegate's guarded tool call), so timeouts, error
  results and records stay in one place whatever the graph does.

``langchain-core`` is imported lazily; without it these functions raise an ImportError with the install hint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..runtime.plugin import Action, ActionOptions
from ..types import ActionResult

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool, StructuredTool

INSTALL_HINT = "LangChain tools need langchain-core: pip install 'elizapy[langgraph]'"
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def _require_langchain() -> None:
    try:
        import langchain_core  # noqa: F401
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc


def tool_name(name: str) -> str:
    """A name every tool-calling API accepts (letters, digits, ``_``, ``-``; at most 64 characters)."""
    return _BAD_NAME_CHARS.sub("_", name)[:64] or "tool"


def langchain_action(tool: BaseTool, *, name: str | None = None, timeout_s: float | None = None) -> Action:
    """An action that calls the LangChain tool ``tool`` with the model's arguments."""
    _require_langchain()
    from langchain_core.tools import ToolException
    from langchain_core.utils.function_calling import convert_to_openai_tool

    spec = convert_to_openai_tool(tool)["function"]
    parameters = spec.get("parameters") or {"type": "object", "properties": {}}

    async def handler(runtime: Any, message: Any, state: Any, options: ActionOptions | None) -> ActionResult:
        arguments = dict(options.parameters) if options else {}
        try:
            output = await tool.ainvoke(arguments)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                 for e in exc.errors())
            return ActionResult(success=False, error=f"invalid arguments: {problems}")
        except ToolException as exc:
            return ActionResult(success=False, error=str(exc) or type(exc).__name__)
        return output_result(output)

    return Action(name=name or tool_name(tool.name), description=tool.description or tool.name,
                  handler=handler, parameters=parameters, timeout_s=timeout_s)


def langchain_actions(tools: Iterable[BaseTool]) -> list[Action]:
    """:func:`langchain_action` for each tool (a toolkit's ``get_tools()``, for instance)."""
    return [langchain_action(t) for t in tools]


def output_result(output: Any) -> ActionResult:
    """A LangChain tool's output (text, content blocks, a ToolMessage, any JSON-able value) as a result."""
    content = getattr(output, "content", output)  # a ToolMessage or Command-free message output
    if getattr(output, "status", None) == "error":
        return ActionResult(success=False, error=content_text(content))
    if isinstance(content, str):
        return ActionResult(success=True, text=content)
    if isinstance(content, list) and all(isinstance(b, str | dict) for b in content):
        return ActionResult(success=True, text=content_text(content), data={"content": content})
    try:
        text = json.dumps(content, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(content)
    return ActionResult(success=True, text=text, data={"result": content})


def content_text(content: Any) -> str:
    """The text of LangChain message content: a string, or a list of strings and ``{"type": "text"}``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return "" if content is None else str(content)


def langchain_tool(action: Action, run: Callable[[dict[str, Any]], Awaitable[str]]) -> StructuredTool:
    """A LangChain tool with the action's name, description and JSON schema; calling it awaits ``run(args)``.

    The tool is async only (LangGraph runs tools with ``ainvoke`` when the graph is streamed asynchronously).
    """
    _require_langchain()
    from langchain_core.tools import StructuredTool

    async def call(**arguments: Any) -> str:
        return await run(arguments)

    def call_sync(**arguments: Any) -> str:
        raise NotImplementedError(f"the ElizaOS tool {action.name} can only be called asynchronously")

    return StructuredTool(name=tool_name(action.name), description=action.description or action.name,
                          args_schema=action.parameters or {"type": "object", "properties": {}},
                          coroutine=call, func=call_sync)
