"""What travels on the bus: a request (the message plus how to reach its room) and a reply."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..types import UUID, ChannelType, Memory
from ..types.base import WireModel


class Connection(WireModel):
    """What a worker needs to make sure the room, world and sender exist before the agent reads them
    (``AgentRuntime.ensure_connection``). Without it the room must already be in the store."""

    user_name: str | None = None
    name: str | None = None
    source: str = "api"
    channel_type: ChannelType = ChannelType.DM
    world_id: UUID | None = None
    channel_id: str | None = None
    message_server_id: UUID | None = None
    metadata: dict[str, Any] | None = None


class BusRequest(WireModel):
    message: Memory
    """``id``, ``agent_id`` (the agent that should answer) and ``room_id`` are set by the gateway."""
    connection: Connection | None = None
    submitted_at: int


class BusReply(WireModel):
    """The outcome of one message, published once on the replies stream."""

    message_id: UUID
    agent_id: UUID
    room_id: UUID
    status: str
    """The pipeline's (``responded``, ``ignored``, ``own_message``, ``muted``, ``error``…), or ``error`` for
    a message the bus could not run (unknown agent, undecodable request, too many deliveries)."""
    responses: list[Memory] = Field(default_factory=list)
    """The agent's reply memories, as stored (without vectors)."""
    error: str | None = None
    worker: str = ""
    recovered: bool = False
    """Whether an earlier delivery of this message had started (a worker died or lost its shard)."""

    @property
    def text(self) -> str:
        return "\n".join(m.content.text or "" for m in self.responses if m.content.text)

    def dumps(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)
