"""The ElizaOS 1.7 character file, as a typed model.

Validation here is the strict v1 shape (unknown top-level keys are rejected, as TS does); tolerance for 0.x
legacy files and friendly error messages live in :mod:`elizapy.character`, which normalises before validating.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from .base import WireModel
from .domain import Content
from .uuid import UUID, string_to_uuid


class MessageExample(WireModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    content: Content


class KnowledgePath(WireModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    shared: bool | None = None


class KnowledgeDirectory(WireModel):
    model_config = ConfigDict(extra="forbid")
    directory: str
    shared: bool | None = None


class Style(WireModel):
    model_config = ConfigDict(extra="forbid")
    all: list[str] | None = None
    chat: list[str] | None = None
    post: list[str] | None = None


SettingValue = StrictStr | StrictBool | StrictInt | StrictFloat | dict[str, Any] | list[Any]
SecretValue = StrictStr | StrictBool | StrictInt | StrictFloat


class Character(WireModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None
    name: str = Field(min_length=1)
    username: str | None = None
    system: str | None = None
    templates: dict[str, str] | None = None
    bio: str | list[str]
    message_examples: list[list[MessageExample]] | None = None
    post_examples: list[str] | None = None
    topics: list[str] | None = None
    adjectives: list[str] | None = None
    knowledge: list[str | KnowledgePath | KnowledgeDirectory] | None = None
    plugins: list[str] | None = None
    settings: dict[str, SettingValue] | None = None
    secrets: dict[str, SecretValue] | None = None
    style: Style | None = None

    @property
    def agent_id(self) -> UUID:
        """The id TS would give this agent: the explicit ``id`` or ``stringToUuid(name)``."""
        return self.id or string_to_uuid(self.name)

    @property
    def bio_lines(self) -> list[str]:
        return [self.bio] if isinstance(self.bio, str) else list(self.bio)
