"""In-process conversations with an agent: what the terminal chat, tests and benchmarks use.

Ids are derived from names (``create_unique_uuid``), so the same user and room names after a restart land in
the same stored conversation.
"""

from __future__ import annotations

from typing import Any

from ..runtime.messages import DeliverFn, MessageResult, StreamFn
from ..runtime.runtime import AgentRuntime
from ..types import UUID, ChannelType, Content, Memory, create_unique_uuid, new_uuid, now_ms


class Conversation:
    def __init__(
        self,
        runtime: AgentRuntime,
        *,
        user_name: str = "user",
        room_name: str = "direct",
        channel_type: ChannelType = ChannelType.DM,
        source: str = "direct",
        user_id: UUID | None = None,
        room_id: UUID | None = None,
        deliver: DeliverFn | None = None,
        stream: StreamFn | None = None,
    ) -> None:
        self.runtime = runtime
        self.user_name = user_name
        self.source = source
        self.channel_type = channel_type
        self.user_id = user_id or create_unique_uuid(runtime.agent_id, f"{source}:user:{user_name}")
        self.room_id = room_id or create_unique_uuid(runtime.agent_id, f"{source}:room:{room_name}")
        self.room_name = room_name
        self.deliver = deliver
        self.stream = stream

    async def send(
        self,
        text: str,
        *,
        entity_id: UUID | None = None,
        user_name: str | None = None,
        message_id: UUID | None = None,
        **extra: Any,
    ) -> MessageResult:
        entity = entity_id or self.user_id
        await self.runtime.ensure_connection(
            entity_id=entity,
            room_id=self.room_id,
            user_name=user_name or self.user_name,
            name=user_name or self.user_name,
            source=self.source,
            type=self.channel_type,
        )
        message = Memory(
            id=message_id or new_uuid(),
            entity_id=entity,
            agent_id=self.runtime.agent_id,
            room_id=self.room_id,
            created_at=now_ms(),
            content=Content(text=text, source=self.source, channel_type=self.channel_type, **extra),
        )
        return await self.runtime.messages.handle(message, self.deliver, stream=self.stream)

    async def history(self, count: int = 50) -> list[Memory]:
        """Oldest first."""
        items = await self.runtime.store.memories.list(table="messages", room_id=self.room_id, count=count)
        return list(reversed(items))
