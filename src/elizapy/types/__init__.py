"""Wire and domain types shared by every layer (no imports from other elizapy layers)."""

from .base import WireModel
from .character import Character, KnowledgeDirectory, KnowledgePath, MessageExample, Style
from .domain import (
    ActionResult,
    Component,
    Content,
    Entity,
    Log,
    Media,
    Memory,
    MemoryMetadata,
    Metadata,
    Relationship,
    Room,
    State,
    Task,
    World,
    now_ms,
)
from .enums import TEXT_MODEL_TYPES, ChannelType, EventType, MemoryType, ModelType
from .uuid import UUID, create_unique_uuid, is_uuid, new_uuid, string_to_uuid

__all__ = [
    "TEXT_MODEL_TYPES",
    "UUID",
    "ActionResult",
    "ChannelType",
    "Character",
    "Component",
    "Content",
    "Entity",
    "EventType",
    "KnowledgeDirectory",
    "KnowledgePath",
    "Log",
    "Media",
    "Memory",
    "MemoryMetadata",
    "MemoryType",
    "MessageExample",
    "Metadata",
    "ModelType",
    "Relationship",
    "Room",
    "State",
    "Style",
    "Task",
    "WireModel",
    "World",
    "create_unique_uuid",
    "is_uuid",
    "new_uuid",
    "now_ms",
    "string_to_uuid",
]
