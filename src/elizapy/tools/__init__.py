"""Tool sources for any reasoner: Python functions, LangChain tools and MCP servers, as ElizaOS actions.

- :mod:`elizapy.tools.langchain`: LangChain ``BaseTool`` ↔ action (needs ``langchain-core``);
- :mod:`elizapy.tools.mcp_client`: MCP servers' tools as actions (needs the ``mcp`` SDK);
- :mod:`elizapy.tools.sources`: both, plus ``module:attr`` references, from character settings.

The optional SDKs are imported only by the modules that need them.
"""

from __future__ import annotations

from .sources import (
    ToolSources,
    ToolSourcesService,
    as_actions,
    read_tool_sources,
    resolve_tools,
    tool_sources_plugin,
)

__all__ = ["ToolSources", "ToolSourcesService", "as_actions", "read_tool_sources", "resolve_tools",
           "tool_sources_plugin"]
