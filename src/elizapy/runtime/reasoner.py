"""The seam between the message pipeline and a reasoning strategy.

The pipeline owns persistence, should-respond, state, evaluators and events; a :class:`Reasoner` owns only
"given this message and state, decide and act". The XML reasoner reproduces ElizaOS; the tool-loop reasoner
adds native/parallel tool calling. Both act through :class:`Turn`, so they cannot bypass persistence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from ..types import ActionResult, Content, Memory, State
from .plugin import HandlerCallback

if TYPE_CHECKING:
    from .runtime import AgentRuntime

Mode = Literal["simple", "actions", "tools", "none"]


@dataclass(slots=True)
class Turn:
    runtime: AgentRuntime
    message: Memory
    state: State
    run_id: str
    callback: HandlerCallback
    """Sends and stores a reply; drops it (returns ``[]``) once the run is superseded."""
    is_current: Callable[[], bool]
    stream: Callable[[str], Awaitable[None]] | None = None
    """Receives reply text as it is generated (for UIs); the full reply still goes through ``callback``."""
    action_results: list[ActionResult] = field(default_factory=list)
    action_names: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TurnOutcome:
    content: Content | None
    mode: Mode
    action_results: list[ActionResult] = field(default_factory=list)


class Reasoner(Protocol):
    name: str

    async def run(self, turn: Turn) -> TurnOutcome: ...
