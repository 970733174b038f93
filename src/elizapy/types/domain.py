"""Domain objects of an ElizaOS agent's world, with the exact 1.7 field names on the wire."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from .base import WireModel
from .enums import ChannelType, MemoryType
from .uuid import UUID

Metadata = dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


class Media(WireModel):
    id: str
    url: str
    title: str | None = None
    source: str | None = None
    description: str | None = None
    text: str | None = None
    content_type: str | None = None


class Content(WireModel):
    """What a message says; plugins add their own keys, which are kept."""

    thought: str | None = None
    text: str | None = None
    actions: list[str] | None = None
    providers: list[str] | None = None
    source: str | None = None
    target: str | None = None
    url: str | None = None
    in_reply_to: UUID | None = None
    attachments: list[Media] | None = None
    channel_type: ChannelType | None = None


class MemoryMetadata(WireModel):
    type: str = MemoryType.MESSAGE
    source: str | None = None
    source_id: UUID | None = None
    scope: str | None = None
    timestamp: int | None = None
    tags: list[str] | None = None
    document_id: UUID | None = None
    position: int | None = None


class Memory(WireModel):
    """A stored message, document or fragment. ``created_at`` is milliseconds since the epoch, as in TS."""

    id: UUID | None = None
    entity_id: UUID
    agent_id: UUID | None = None
    room_id: UUID
    world_id: UUID | None = None
    created_at: int | None = None
    content: Content
    embedding: list[float] | None = None
    unique: bool | None = None
    similarity: float | None = None
    metadata: MemoryMetadata | None = None


class Component(WireModel):
    id: UUID
    entity_id: UUID
    agent_id: UUID
    room_id: UUID
    world_id: UUID
    source_entity_id: UUID
    type: str
    created_at: int = Field(default_factory=now_ms)
    data: Metadata = Field(default_factory=dict)


class Entity(WireModel):
    id: UUID | None = None
    names: list[str] = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    agent_id: UUID
    components: list[Component] | None = None


class World(WireModel):
    id: UUID
    name: str | None = None
    agent_id: UUID
    message_server_id: UUID | None = None
    metadata: Metadata | None = None


class Room(WireModel):
    id: UUID
    name: str | None = None
    agent_id: UUID | None = None
    source: str
    type: ChannelType
    channel_id: str | None = None
    message_server_id: UUID | None = None
    world_id: UUID | None = None
    metadata: Metadata | None = None


class Relationship(WireModel):
    id: UUID
    source_entity_id: UUID
    target_entity_id: UUID
    agent_id: UUID
    tags: list[str] = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)
    created_at: str | None = None


class Task(WireModel):
    id: UUID | None = None
    name: str
    description: str = ""
    updated_at: int | None = None
    metadata: Metadata | None = None
    room_id: UUID | None = None
    world_id: UUID | None = None
    entity_id: UUID | None = None
    tags: list[str] = Field(default_factory=list)


class Log(WireModel):
    id: UUID | None = None
    entity_id: UUID
    room_id: UUID | None = None
    body: Metadata
    type: str
    created_at: int = Field(default_factory=now_ms)


class ActionResult(WireModel):
    """What an action returns; ``values`` are merged into the state seen by the next action in a chain."""

    success: bool = True
    text: str | None = None
    values: Metadata | None = None
    data: Metadata | None = None
    error: str | None = None


class State(WireModel):
    """Composed context for one message: provider ``values`` for templates, ``data`` for code, ``text``
    for prompts."""

    values: Metadata = Field(default_factory=dict)
    data: Metadata = Field(default_factory=dict)
    text: str = ""
