"""What routes share: the manager of the app, and path-id checks in ElizaOS's wording."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..runtime.runtime import AgentRuntime
from ..types import is_uuid
from .errors import envelope_error
from .manager import AgentManager


def get_manager(request: Request) -> AgentManager:
    manager: AgentManager = request.app.state.manager
    return manager


Manager = Annotated[AgentManager, Depends(get_manager)]


def agent_id_or_400(agent_id: str, message: str = "Invalid agent ID format") -> str:
    if not is_uuid(agent_id):
        raise envelope_error(400, "INVALID_ID", message)
    return agent_id


def running_agent(
    manager: AgentManager, agent_id: str, *, invalid: str = "Invalid agent ID format"
) -> AgentRuntime:
    """The runtime of a started agent: 400 for a malformed id, 404 when it does not run (as ElizaOS)."""
    agent_id_or_400(agent_id, invalid)
    runtime = manager.get(agent_id)
    if runtime is None:
        raise envelope_error(404, "NOT_FOUND", "Agent not found")
    return runtime
