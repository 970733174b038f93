"""Request bodies of the API, as pydantic models: a bad body is a 400 that names the field (see ``errors``).

Field names are the wire names ``@elizaos/server`` reads (snake_case in messaging, camelCase elsewhere).
Texts are bounded; ids that must be UUIDs are checked as UUIDs; unknown keys are ignored, as Express does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

from ..types import ChannelType, is_uuid

MAX_MESSAGE_CHARS = 32_000
"""Longest channel message accepted (the body limit bounds the rest)."""
MAX_SESSION_MESSAGE_CHARS = 4000
"""As ``@elizaos/server``'s sessions API (``MAX_CONTENT_LENGTH``)."""
MAX_NAME_CHARS = 256
MAX_SESSION_METADATA_BYTES = 10 * 1024

TRANSPORTS = ("http", "sse", "websocket")
LEGACY_MODES = {"sync": "http", "stream": "sse", "websocket": "websocket"}

Transport = Literal["http", "sse", "websocket"]


def _uuid(value: str) -> str:
    if not is_uuid(value):
        raise ValueError("must be a UUID")
    return value


def _transport(value: str | None) -> str | None:
    if value is None or value in TRANSPORTS:
        return value
    if value in LEGACY_MODES:
        return LEGACY_MODES[value]
    allowed = ", ".join(dict.fromkeys([*TRANSPORTS, *LEGACY_MODES]))
    raise ValueError(f'invalid transport "{value}"; must be one of: {allowed}')


UuidStr = Annotated[StrictStr, AfterValidator(_uuid)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME_CHARS)]
ShortText = Annotated[StrictStr, Field(max_length=MAX_NAME_CHARS)]
MessageText = Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)]
TransportField = Annotated[StrictStr | None, AfterValidator(_transport)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ServerIdAlias(Body):
    @model_validator(mode="before")
    @classmethod
    def _deprecated_server_id(cls, data: Any) -> Any:
        # ElizaOS still accepts the deprecated ``server_id`` for ``message_server_id``.
        if isinstance(data, dict) and data.get("server_id") and not data.get("message_server_id"):
            return {**data, "message_server_id": data["server_id"]}
        return data


# --- agents -------------------------------------------------------------------------------------------------


class CreateAgentBody(Body):
    characterJson: dict[str, Any] | None = None
    characterPath: Annotated[StrictStr, Field(min_length=1, max_length=4096)] | None = None
    agent: dict[str, Any] | None = None


class CreateRoomBody(Body):
    name: Name
    type: ChannelType = ChannelType.DM
    source: ShortText = "client"
    worldId: UuidStr | None = None
    messageServerId: UuidStr | None = None
    metadata: dict[str, Any] | None = None


class UpdateMemoryBody(Body):
    content: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class CreateWorldBody(Body):
    name: Name
    messageServerId: UuidStr | None = None
    metadata: dict[str, Any] | None = None


# --- messaging ----------------------------------------------------------------------------------------------


class ChannelMessageBody(_ServerIdAlias):
    author_id: UuidStr
    content: MessageText
    message_server_id: UuidStr
    in_reply_to_message_id: UuidStr | None = None
    raw_message: Any = None
    metadata: dict[str, Any] | None = None
    source_type: ShortText | None = None
    transport: TransportField = None
    mode: TransportField = None


class SubmitBody(_ServerIdAlias):
    channel_id: UuidStr
    message_server_id: UuidStr
    author_id: UuidStr
    content: MessageText
    source_type: Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    raw_message: dict[str, Any]
    messageId: UuidStr | None = None
    in_reply_to_message_id: UuidStr | None = None
    metadata: dict[str, Any] | None = None


class IngestBody(_ServerIdAlias):
    channel_id: UuidStr
    message_server_id: UuidStr
    author_id: UuidStr
    content: MessageText
    author_display_name: ShortText | None = None
    raw_message: Any = None
    source_id: ShortText | None = None
    source_type: ShortText | None = None
    in_reply_to_message_id: UuidStr | None = None
    metadata: dict[str, Any] | None = None


class CompleteBody(_ServerIdAlias):
    channel_id: UuidStr
    message_server_id: UuidStr | None = None


class CreateServerBody(Body):
    name: Name
    sourceType: Name
    sourceId: ShortText | None = None
    metadata: dict[str, Any] | None = None


class AgentIdBody(Body):
    agentId: UuidStr


class CreateChannelBody(_ServerIdAlias):
    name: Name
    participantCentralUserIds: Annotated[list[UuidStr], Field(max_length=1000)]
    type: ChannelType = ChannelType.GROUP
    message_server_id: UuidStr
    metadata: dict[str, Any] | None = None


class UpdateChannelBody(Body):
    name: Name | None = None
    participantCentralUserIds: Annotated[list[UuidStr], Field(max_length=1000)] | None = None
    metadata: dict[str, Any] | None = None


# --- sessions -----------------------------------------------------------------------------------------------


class TimeoutConfig(Body):
    timeoutMinutes: float | None = None
    autoRenew: bool | None = None
    maxDurationMinutes: float | None = None
    warningThresholdMinutes: float | None = None


class CreateSessionBody(Body):
    agentId: UuidStr
    userId: UuidStr
    metadata: dict[str, Any] | None = None
    timeoutConfig: TimeoutConfig | None = None


class SessionMessageBody(Body):
    content: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SESSION_MESSAGE_CHARS)]
    metadata: dict[str, Any] | None = None
    attachments: Annotated[list[Any], Field(max_length=16)] | None = None
    transport: TransportField = None
    mode: TransportField = None
