"""Reasoning strategies behind the :class:`~elizapy.runtime.reasoner.Reasoner` seam."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .schema import function_schema, tool
from .tools import LoopLimits, ToolLoopReasoner
from .xml import XmlReasoner

if TYPE_CHECKING:
    from ..runtime.reasoner import Reasoner
    from ..runtime.runtime import AgentRuntime

REASONERS = ("xml", "tools", "langgraph", "delegate")


def select_reasoner(runtime: AgentRuntime) -> Reasoner:
    """The reasoner named by the ``REASONER`` setting (character settings, runtime settings or env)."""
    name = str(runtime.get_setting("REASONER") or "xml").lower()
    if name == "xml":
        return XmlReasoner()
    if name in ("tools", "tool", "tool-loop"):
        steps = runtime.get_setting("MAX_TOOL_STEPS")
        limits = LoopLimits(max_steps=int(steps)) if steps else LoopLimits()
        return ToolLoopReasoner(limits=limits)
    if name in ("langgraph", "delegate"):
        from .delegate import delegate_reasoner  # lazy: LangGraph is an optional extra

        return delegate_reasoner(runtime, name)
    raise ConfigError(f"unknown REASONER {name!r}; expected one of {', '.join(REASONERS)}")


__all__ = [
    "REASONERS",
    "LoopLimits",
    "ToolLoopReasoner",
    "XmlReasoner",
    "function_schema",
    "select_reasoner",
    "tool",
]
