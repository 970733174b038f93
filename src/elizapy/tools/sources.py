"""Tool sources configured in the character file, turned into actions when the agent starts.

Two settings (character ``settings``, runtime settings or the environment, as any setting)::

    "settings": {
      "TOOL_SOURCES": ["my_tools:search", "tools/extra.py:ALL", "my_lc_tools:wiki"],
      "mcp": {
        "servers": {
          "weather": {"command": "python", "args": ["weather_server.py"], "timeout": 20},
          "docs": {"url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}
        }
      }
    }

``TOOL_SOURCES`` lists ``module:attribute`` (or ``file.py:attribute``) references; each names an action, a
``@tool``, a plain function (made a tool from its type hints), a LangChain ``BaseTool``, or a list of these.
``mcp.servers`` maps a server name to a :class:`~elizapy.tools.mcp_client.McpServerConfig` (camelCase keys
accepted); ``${NAME}`` inside ``command``, ``args``, ``env``, ``headers`` and ``url`` is replaced by the
setting ``NAME``, so secrets can stay in ``.env`` or the character's ``secrets``; ``${PYTHON}``, unless set,
is the Python running the agent (so a server script runs in the agent's environment). ``mcp.timeout`` sets
the default call timeout.

:func:`tool_sources_plugin` reads both at start (a service, so MCP connections close with the agent).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..runtime.plugin import Action, Plugin
from ._loading import load_object

if TYPE_CHECKING:
    from ..runtime.runtime import AgentRuntime
    from .mcp_client import McpServerConfig, McpToolset

log = logging.getLogger("elizapy.tools.sources")

GetSetting = Callable[[str], Any]
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(slots=True)
class ToolSources:
    python: list[str] = field(default_factory=list)
    """``TOOL_SOURCES`` references."""
    mcp_servers: list[McpServerConfig] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.python and not self.mcp_servers


def read_tool_sources(get_setting: GetSetting) -> ToolSources:
    """Both settings, validated; a malformed one is a :class:`~elizapy.errors.ConfigError` naming it."""
    return ToolSources(python=_references(get_setting("TOOL_SOURCES")),
                       mcp_servers=_mcp_servers(get_setting("mcp"), get_setting))


def _references(raw: Any) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"TOOL_SOURCES is not valid JSON: {exc}") from None
        else:
            raw = [part for part in re.split(r"[,\s]+", text) if part]
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise ConfigError("TOOL_SOURCES must be a list of 'module:attribute' strings")
    return list(raw)


def _mcp_servers(raw: Any, get_setting: GetSetting) -> list[McpServerConfig]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the mcp setting is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError("settings.mcp must be an object like {\"servers\": {\"name\": {...}}}")
    servers = raw.get("servers") or {}
    if not isinstance(servers, dict):
        raise ConfigError("settings.mcp.servers must map server names to server objects")
    if not servers:
        return []
    from .mcp_client import McpServerConfig

    default_timeout = raw.get("timeout")
    out = []
    for name, body in servers.items():
        if not isinstance(body, dict):
            raise ConfigError(f"settings.mcp.servers.{name} must be an object")
        data = _expand({**body, "name": name}, get_setting)
        if default_timeout is not None and "timeout" not in data:
            data["timeout"] = default_timeout
        try:
            out.append(McpServerConfig.model_validate(data))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"settings.mcp.servers.{name}: {problems}") from None
    return out


def _expand(data: dict[str, Any], get_setting: GetSetting) -> dict[str, Any]:
    def sub(value: str) -> str:
        def one(m: re.Match[str]) -> str:
            found = get_setting(m.group(1))
            if found is None and m.group(1) == "PYTHON":
                found = sys.executable
            if found is None:
                raise ConfigError(f"MCP server {data['name']!r} uses ${{{m.group(1)}}}, which is not set")
            return str(found)

        return _PLACEHOLDER.sub(one, value)

    out = dict(data)
    for key in ("env", "headers"):
        if isinstance(out.get(key), dict):
            out[key] = {k: sub(v) if isinstance(v, str) else v for k, v in out[key].items()}
    if isinstance(out.get("args"), list):
        out["args"] = [sub(v) if isinstance(v, str) else v for v in out["args"]]
    for key in ("url", "command"):
        if isinstance(out.get(key), str):
            out[key] = sub(out[key])
    return out


def resolve_tools(references: Iterable[str]) -> list[Action]:
    """The actions named by ``TOOL_SOURCES`` references."""
    return [a for ref in references for a in as_actions(load_object(ref, what="TOOL_SOURCES entry"), ref)]


def as_actions(obj: Any, origin: str = "tool") -> list[Action]:
    """An action, a ``@tool``, a plain function, a LangChain tool, or a list of these → actions."""
    if isinstance(obj, Action):
        return [obj]
    if isinstance(obj, list | tuple):
        return [a for item in obj for a in as_actions(item, origin)]
    if _is_langchain_tool(obj):
        from .langchain import langchain_action

        return [langchain_action(obj)]
    if callable(obj) and not isinstance(obj, type):
        from ..reasoning.schema import tool

        made = tool(obj)
        assert isinstance(made, Action)
        return [made]
    raise ConfigError(f"{origin}: {obj!r} is not an action, a function, a LangChain tool or a list of these")


def _is_langchain_tool(obj: Any) -> bool:
    module = sys.modules.get("langchain_core.tools")  # a LangChain tool object means LangChain is imported
    return module is not None and isinstance(obj, module.BaseTool)


class ToolSourcesService:
    """Registers the configured tools with the agent at start; closes MCP connections at stop."""

    service_type = "tool_sources"

    def __init__(self) -> None:
        self.toolset: McpToolset | None = None
        self.sources = ToolSources()

    async def start(self, runtime: AgentRuntime) -> None:
        self.sources = read_tool_sources(runtime.get_setting)
        for action in resolve_tools(self.sources.python):
            runtime.register_action(action)
        if self.sources.mcp_servers:
            from .mcp_client import McpToolset

            self.toolset = McpToolset(self.sources.mcp_servers)
            await self.toolset.start()
            for action in self.toolset.actions():
                runtime.register_action(action)

    async def stop(self) -> None:
        if self.toolset is not None:
            await self.toolset.stop()
            self.toolset = None


def tool_sources_plugin() -> Plugin:
    """The plugin turning ``TOOL_SOURCES`` and ``settings.mcp.servers`` into actions (nothing when unset)."""
    return Plugin(name="tool-sources", services=[ToolSourcesService],
                  description="Tools from Python, LangChain and MCP servers, from settings")
