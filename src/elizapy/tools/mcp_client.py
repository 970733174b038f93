"""MCP servers as tool sources: each tool of a server becomes an ElizaOS action (official ``mcp`` SDK client).

One :class:`McpServerConnection` per server, over stdio (the server is a child process) or streamable HTTP.
The SDK's client is an async context manager whose task group must be entered and left by the same task, but
an agent starts its services in one task and stops them in another; so each connection is *owned* by one
background task that enters the client, reports ready, and leaves when asked. Starting and stopping can then
happen anywhere, and every wait on the owner is bounded.

Failures never escape as exceptions from a tool call: a server that does not answer within the call timeout,
one that died (its connection closed), or one that cannot be (re)started becomes an error result whose text
names the server and what happened, so the model can tell the user and the agent still answers. A connection
found dead is restarted on the next call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

try:
    import httpx2
    import mcp_types
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("MCP tool sources need the MCP SDK: pip install 'elizapy[mcp]'") from exc

from ..errors import ConfigError, RunError
from ..runtime.plugin import Action, ActionOptions
from ..types import ActionResult
from .langchain import tool_name

log = logging.getLogger("elizapy.tools.mcp")

STOP_TIMEOUT_S = 10.0


class McpConnectError(RunError):
    """An MCP server could not be started or did not finish the handshake in time."""


class McpServerConfig(BaseModel):
    """One MCP server, as written under ``settings.mcp.servers.<name>`` in a character file."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    name: str
    type: Literal["stdio", "http"] | None = None
    """``stdio`` (``command`` is started as a child process) or ``http`` (streamable HTTP at ``url``).
    Inferred from which of ``command``/``url`` is given."""
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    """Added to a minimal inherited environment (PATH, HOME…), not to the whole parent environment."""
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=30.0, gt=0)
    """Seconds one tool call may take before it becomes an error result."""
    connect_timeout: float = Field(default=20.0, gt=0)
    tools: list[str] | None = None
    """Only these tools of the server (by MCP name); all when omitted."""
    prefix: str = ""
    """Put before each tool's name (``"github_"``), when names of several servers could collide."""
    required: bool = False
    """Fail the agent's start when this server cannot be reached (otherwise: warn and go on without it)."""

    @model_validator(mode="before")
    @classmethod
    def _normalise_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            kind = data["type"].strip().lower()
            data = {**data, "type": "http" if kind in ("streamable-http", "streamable_http", "streamablehttp",
                                                        "http") else kind}
        return data

    @model_validator(mode="after")
    def _check_transport(self) -> McpServerConfig:
        if self.type is None:
            self.type = "stdio" if self.command else "http" if self.url else None
        if self.type == "stdio" and not self.command:
            raise ValueError(f"MCP server {self.name!r}: a stdio server needs `command`")
        if self.type == "http" and not self.url:
            raise ValueError(f"MCP server {self.name!r}: an http server needs `url`")
        if self.type is None:
            raise ValueError(f"MCP server {self.name!r}: give `command` (stdio) or `url` (streamable HTTP)")
        return self


class McpServerConnection:
    """One MCP server's connection and its tools as actions. Use :class:`McpToolset` for several."""

    def __init__(self, config: McpServerConfig) -> None:
        self.config = config
        self.tools: list[mcp_types.Tool] = []
        self.error: str | None = None
        """Why the last start failed or the connection died; None while it is healthy."""
        self._client: Client | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop = anyio.Event()
        self._restart_lock = anyio.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connected(self) -> bool:
        return self._client is not None

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and list the tools; raise :class:`McpConnectError` when that fails or takes too long."""
        if self._owner is not None:
            return
        ready = anyio.Event()
        self._stop = anyio.Event()
        self.error = None
        # A plain asyncio task, not a task group child: see the module docstring.
        self._owner = asyncio.get_running_loop().create_task(self._own(ready), name=f"mcp:{self.name}")
        with anyio.move_on_after(self.config.connect_timeout):
            await ready.wait()
        if self._client is None:
            why = self.error or f"no handshake within {self.config.connect_timeout:g}s"
            await self.stop()
            self.error = why
            raise McpConnectError(f"MCP server {self.name!r} could not be started: {why}")

    async def stop(self) -> None:
        owner, self._owner = self._owner, None
        serving, self._client = self._client is not None, None
        if owner is None:
            return
        self._stop.set()
        if serving:  # a clean close; one still in its handshake is only waiting, so cancel it at once
            with anyio.move_on_after(STOP_TIMEOUT_S):
                await asyncio.wait({owner})
        if not owner.done():
            owner.cancel()
            with anyio.move_on_after(STOP_TIMEOUT_S):
                await asyncio.wait({owner})
            if not owner.done():
                log.warning("MCP server %s did not shut down within %gs", self.name, 2 * STOP_TIMEOUT_S)

    async def restart(self) -> None:
        async with self._restart_lock:
            if self._client is not None:
                return
            await self.stop()
            await self.start()

    async def _own(self, ready: anyio.Event) -> None:
        try:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(self._open(stack))
                self.tools = await _list_tools(client, self.config.tools)
                self._client = client
                ready.set()
                await self._stop.wait()
        except Exception as exc:
            self.error = _describe(exc)
            log.warning("MCP server %s: %s", self.name, self.error)
        finally:
            self._client = None
            ready.set()

    def _open(self, stack: AsyncExitStack) -> AbstractAsyncContextManager[Client]:
        cfg = self.config
        if cfg.type == "stdio":
            assert cfg.command is not None
            params = StdioServerParameters(command=cfg.command, args=cfg.args, env=cfg.env or None,
                                           cwd=cfg.cwd)
            return Client(stdio_client(params))
        assert cfg.url is not None
        if not cfg.headers:
            return Client(cfg.url)
        http = httpx2.AsyncClient(headers=cfg.headers, timeout=httpx2.Timeout(30.0, read=300.0))
        stack.push_async_callback(http.aclose)
        return Client(streamable_http_client(cfg.url, http_client=http))

    # --- tools ---------------------------------------------------------------------------------------------

    def actions(self) -> list[Action]:
        return [self._action(t) for t in self.tools]

    def _action(self, tool: mcp_types.Tool) -> Action:
        schema = dict(tool.input_schema or {})
        schema.setdefault("type", "object")
        schema.pop("title", None)
        mcp_name = tool.name

        async def handler(runtime: Any, message: Any, state: Any,
                          options: ActionOptions | None) -> ActionResult:
            return await self.call(mcp_name, dict(options.parameters) if options else {})

        # The action's own bound is a little longer than the call timeout, so the clearer message wins.
        return Action(name=tool_name(self.config.prefix + tool.name),
                      description=tool.description or tool.title or tool.name, handler=handler,
                      parameters=schema, timeout_s=self.config.timeout + 5)

    async def call(self, tool: str, arguments: dict[str, Any]) -> ActionResult:
        """Call one tool; every failure is an error result naming the server."""
        who = f"MCP server {self.name!r}"
        if self._client is None:
            try:
                await self.restart()
            except McpConnectError as exc:
                return ActionResult(success=False, error=f"{who} is not available: {exc}")
        client = self._client
        if client is None:
            why = self.error or "not connected"
            return ActionResult(success=False, error=f"{who} is not available: {why}")
        timeout = self.config.timeout
        try:
            with anyio.fail_after(timeout):
                result = await client.call_tool(tool, arguments)
        except TimeoutError:
            return ActionResult(success=False, error=f"{who} did not answer the call of {tool!r} within "
                                f"{timeout:g}s (it may be hung)")
        except MCPError as exc:
            if exc.code == mcp_types.CONNECTION_CLOSED:
                self._dead(exc)
                return ActionResult(success=False, error=f"{who} closed the connection during the call of "
                                    f"{tool!r} (it may have crashed); it will be restarted on the next call")
            return ActionResult(success=False, error=f"{who} refused the call of {tool!r}: {exc.message}")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError) as exc:
            self._dead(exc)
            return ActionResult(success=False, error=f"{who} is unreachable ({type(exc).__name__}); "
                                "it will be restarted on the next call")
        return call_result(result)

    def _dead(self, exc: BaseException) -> None:
        self.error = _describe(exc)
        self._client = None


class McpToolset:
    """Several MCP servers as one list of actions: ``async with McpToolset(configs) as ts: ts.actions()``.

    Servers connect concurrently. One that fails is left out with a warning (its error in :attr:`errors`),
    unless its config says ``required``, which makes :meth:`start` raise.
    """

    def __init__(self, servers: Sequence[McpServerConfig]) -> None:
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            raise ConfigError(f"MCP server names must be unique: {names}")
        self.connections = [McpServerConnection(s) for s in servers]

    @property
    def errors(self) -> dict[str, str]:
        return {c.name: c.error for c in self.connections if c.error}

    async def start(self) -> None:
        failures: list[McpConnectError] = []

        async def one(conn: McpServerConnection) -> None:
            try:
                await conn.start()
            except McpConnectError as exc:
                log.warning("%s; its tools are not available", exc)
                if conn.config.required:
                    failures.append(exc)

        async with anyio.create_task_group() as tg:
            for conn in self.connections:
                tg.start_soon(one, conn)
        if failures:
            await self.stop()
            raise failures[0]

    async def stop(self) -> None:
        async with anyio.create_task_group() as tg:
            for conn in self.connections:
                tg.start_soon(conn.stop)

    def actions(self) -> list[Action]:
        return [a for c in self.connections for a in c.actions()]

    async def __aenter__(self) -> McpToolset:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()


async def _list_tools(client: Client, only: list[str] | None) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _page in range(100):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    if only is not None:
        missing = sorted(set(only) - {t.name for t in tools})
        if missing:
            log.warning("MCP tools not offered by the server: %s", ", ".join(missing))
        tools = [t for t in tools if t.name in only]
    return tools


def call_result(result: mcp_types.CallToolResult) -> ActionResult:
    """An MCP tool result as an action result: text blocks joined, structured content kept as data."""
    parts = [_block_text(b) for b in result.content]
    text = "\n".join(p for p in parts if p)
    structured = result.structured_content
    data = {"structuredContent": structured} if structured is not None else None
    if result.is_error:
        return ActionResult(success=False, error=text or "the tool reported an error", data=data)
    if not text and structured is not None:
        text = json.dumps(structured, default=str, ensure_ascii=False)
    return ActionResult(success=True, text=text, data=data)


def _block_text(block: Any) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.EmbeddedResource):
        res = block.resource
        return res.text if isinstance(res, mcp_types.TextResourceContents) else f"[resource {res.uri}]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link {block.uri}]"
    mime = getattr(block, "mime_type", None)
    return f"[{getattr(block, 'type', 'content')}{' ' + mime if mime else ''}]"


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, MCPError):
        return exc.message
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
