"""The agent runtime: composition root, plugin model, message pipeline, events."""

from .messages import MessagePipeline, MessageResult
from .plugin import (
    Action,
    ActionContext,
    ActionExample,
    ActionOptions,
    Evaluator,
    HandlerCallback,
    Plugin,
    Provider,
    ProviderResult,
    Route,
    Service,
    action,
    evaluator,
    provider,
)
from .reasoner import Reasoner, Turn, TurnOutcome
from .runtime import AgentRuntime, RunStats

__all__ = [
    "Action",
    "ActionContext",
    "ActionExample",
    "ActionOptions",
    "AgentRuntime",
    "Evaluator",
    "HandlerCallback",
    "MessagePipeline",
    "MessageResult",
    "Plugin",
    "Provider",
    "ProviderResult",
    "Reasoner",
    "Route",
    "RunStats",
    "Service",
    "Turn",
    "TurnOutcome",
    "action",
    "evaluator",
    "provider",
]
