"""An ElizaOS-Py agent as an MCP server (official ``mcp`` SDK, low-level server API).

Tools offered: ``chat`` (send the agent a message, get its reply, conversation kept per ``room``) and every
action that declares ``parameters`` (its JSON schema is the tool's input schema). A tool call runs the action
through ``run_action``, so timeouts and failures become an error result (``isError``), not a broken session.
Served over stdio (the default: an MCP client starts ``elizapy mcp serve``) or streamable HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

try:
    import mcp_types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("serving an agent over MCP needs the MCP SDK: pip install 'elizapy[mcp]'") from exc

from . import __version__
from .connectors.direct import Conversation
from .reasoning.tools import NOT_TOOLS
from .runtime.actions import run_action
from .runtime.plugin import Action, ActionOptions
from .runtime.runtime import AgentRuntime
from .tools.langchain import tool_name
from .types import ActionResult, Content, Memory, State, new_uuid, now_ms

log = logging.getLogger("elizapy.mcp_server")

CHAT_TOOL = "chat"
CHAT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "What to say to the agent."},
        "user": {"type": "string", "description": "Who is speaking (default: mcp)."},
        "room": {"type": "string",
                 "description": "Conversation name; the same name continues it (default: mcp)."},
    },
    "required": ["message"],
}
SOURCE = "mcp"


class AgentMcpServer:
    """Maps MCP ``tools/list`` and ``tools/call`` onto one running agent."""

    def __init__(self, runtime: AgentRuntime, *, name: str | None = None) -> None:
        self.runtime = runtime
        self.server: Server[Any] = Server(
            name or runtime.character.name, version=__version__,
            instructions=f"Tools of the ElizaOS-Py agent {runtime.character.name}; `chat` talks to it.",
            on_list_tools=self._list_tools, on_call_tool=self._call_tool)

    def exposed(self) -> dict[str, Action]:
        """The actions offered as tools, by tool name (``chat`` is reserved)."""
        out: dict[str, Action] = {}
        for action in self.runtime.actions:
            if action.parameters is None or action.name in NOT_TOOLS:
                continue
            name = tool_name(action.name)
            if name == CHAT_TOOL or name in out:
                log.warning("action %s is not offered over MCP: the tool name %r is taken", action.name, name)
                continue
            out[name] = action
        return out

    async def _list_tools(self, ctx: Any,
                          params: mcp_types.PaginatedRequestParams | None) -> mcp_types.ListToolsResult:
        who = self.runtime.character.name
        tools = [mcp_types.Tool(name=CHAT_TOOL, input_schema=CHAT_SCHEMA,
                                description=f"Send a message to {who} and get the reply.")]
        tools += [mcp_types.Tool(name=name, description=action.description or action.name,
                                 input_schema=action.parameters or {"type": "object"})
                  for name, action in self.exposed().items()]
        return mcp_types.ListToolsResult(tools=tools)

    async def _call_tool(self, ctx: Any,
                         params: mcp_types.CallToolRequestParams) -> mcp_types.CallToolResult:
        arguments = dict(params.arguments or {})
        if params.name == CHAT_TOOL:
            return await self.chat(arguments)
        action = self.exposed().get(params.name)
        if action is None:
            return _error(f"unknown tool {params.name!r}")
        return _tool_result(await self.run(action, arguments))

    async def chat(self, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        text = arguments.get("message")
        if not isinstance(text, str) or not text.strip():
            return _error("`message` must be a non-empty string")
        user = str(arguments.get("user") or "mcp")
        room = str(arguments.get("room") or "mcp")
        conv = Conversation(self.runtime, user_name=user, room_name=room, source=SOURCE)
        result = await conv.send(text)
        if result.error:
            return _error(f"the agent failed: {result.error}")
        reply = result.text or f"({self.runtime.character.name} chose not to answer)"
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=reply)],
            structured_content={"reply": result.text, "status": result.status})

    async def run(self, action: Action, arguments: dict[str, Any]) -> ActionResult:
        """Run one action for an MCP caller: a message from the ``mcp`` user (not stored), an empty state."""
        rt = self.runtime
        conv = Conversation(rt, user_name="mcp", room_name="mcp", source=SOURCE)
        await rt.ensure_connection(entity_id=conv.user_id, room_id=conv.room_id, user_name="mcp",
                                   name="mcp", source=SOURCE)
        message = Memory(id=new_uuid(), entity_id=conv.user_id, agent_id=rt.agent_id, room_id=conv.room_id,
                         created_at=now_ms(),
                         content=Content(text=f"(MCP call of {action.name})", source=SOURCE))
        said: list[str] = []

        async def callback(content: Content) -> list[Memory]:
            if content.text:
                said.append(content.text)
            return []

        result = await run_action(rt, action, message, State(), ActionOptions(parameters=arguments), callback)
        if result.success and not result.text and said:
            result.text = "\n".join(said)
        return result


def _tool_result(result: ActionResult) -> mcp_types.CallToolResult:
    if not result.success:
        return _error(result.error or "the action failed")
    data = result.data if isinstance(result.data, dict) else None
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=result.text or "ok")],
                                    structured_content=data)


def _error(text: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=text)], is_error=True)


async def serve_stdio(server: AgentMcpServer) -> None:
    """Serve over this process's stdin/stdout until the client closes them."""
    low = server.server
    async with stdio_server() as (read, write):
        await low.run(read, write, low.create_initialization_options())


async def serve_http(server: AgentMcpServer, *, host: str = "127.0.0.1", port: int = 8000,
                     path: str = "/mcp") -> None:
    """Serve over streamable HTTP at ``http://host:port/path`` until cancelled."""
    import uvicorn

    app = server.server.streamable_http_app(streamable_http_path=path, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on")
    await uvicorn.Server(config).serve()
