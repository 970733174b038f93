"""What a Python handler receives instead of ``runtime=None``: a proxy of the TS ``AgentRuntime``.

Every call goes back over the reverse channel to the real runtime (its model plugins, its database, its
settings). The proxy is bound to one invocation, so the host knows which action's callback a reply belongs
to and which message/state a TS action called from Python should see.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import Any

from ..types import Content, Memory, ModelType, WireModel, new_uuid
from .dispatcher import RequestContext
from .peer import HostApi, SettingValue
from .wire import AgentInfo, GetMemoriesParams, SearchMemoriesParams


class CharacterView(WireModel):
    """The TS agent's character as sent by the host (secrets removed); unknown keys are kept."""

    name: str = ""
    id: str | None = None
    username: str | None = None
    system: str | None = None
    bio: str | list[str] = ""
    settings: dict[str, Any] | None = None

    @property
    def bio_lines(self) -> list[str]:
        return [self.bio] if isinstance(self.bio, str) else list(self.bio)


class ReplyCallback:
    """The action ``callback``: ``await callback(Content(text=...))`` makes the TS agent say something.

    ``chunk()``/``stream()`` send the text piece by piece first (``callback/chunk`` notifications, forwarded
    to the host's live stream when it has one) and then the whole message.
    """

    def __init__(self, host: HostApi, invocation: str, *, streaming: bool = False) -> None:
        self.host = host
        self.invocation = invocation
        self.streaming = streaming
        """True when the host has a live stream to forward chunks to (otherwise chunks are not sent)."""

    async def __call__(self, content: Content | Mapping[str, Any] | str) -> list[Memory]:
        return await self.host.send_callback(self.invocation, _content(content))

    async def chunk(self, text: str) -> None:
        if self.streaming and text:
            await self.host.send_chunk(self.invocation, text)

    async def stream(self, chunks: AsyncIterable[str] | Iterable[str], **fields: Any) -> list[Memory]:
        """Stream ``chunks``, then send the whole text (with any other content ``fields``) as one message."""
        parts: list[str] = []
        if isinstance(chunks, AsyncIterable):
            async for piece in chunks:
                parts.append(piece)
                await self.chunk(piece)
        else:
            for piece in chunks:
                parts.append(piece)
                await self.chunk(piece)
        return await self(Content(text="".join(parts), **fields))


def _content(value: Content | Mapping[str, Any] | str) -> Content:
    if isinstance(value, Content):
        return value
    if isinstance(value, str):
        return Content(text=value)
    return Content.model_validate(dict(value))


class SidekickRuntime:
    """The ElizaOS runtime, as seen from Python: ``use_model``, memories, settings, identity.

    Method names are the TS ones in snake case; results are the pydantic domain types
    (:class:`~elizapy.types.Memory`) rather than dicts.
    """

    def __init__(
        self,
        host: HostApi,
        agent: AgentInfo,
        *,
        invocation: str | None = None,
        request: RequestContext | None = None,
    ) -> None:
        self.host = host
        self.agent_id: str = agent.id
        self.character = CharacterView.model_validate({"name": agent.name, **agent.character})
        self.invocation = invocation
        self._request = request

    async def use_model(
        self, model_type: ModelType | str, params: Mapping[str, Any] | str | None = None
    ) -> Any:
        """``runtime.useModel`` in TS: text types give a string, embeddings a vector, OBJECT types a dict."""
        mt = str(model_type)  # ModelType is a StrEnum; plugin-defined types pass through as strings
        if isinstance(params, str):
            params = {"text": params} if mt == ModelType.TEXT_EMBEDDING else {"prompt": params}
        return await self.host.use_model(mt, dict(params or {}), invocation=self.invocation)

    async def get_memories(
        self,
        *,
        table_name: str = "messages",
        room_id: str | None = None,
        entity_id: str | None = None,
        world_id: str | None = None,
        count: int | None = None,
        offset: int | None = None,
        unique: bool | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> list[Memory]:
        """Newest first, as the TS adapter returns them."""
        return await self.host.get_memories(
            GetMemoriesParams(
                table_name=table_name,
                room_id=room_id,
                entity_id=entity_id,
                world_id=world_id,
                count=count,
                offset=offset,
                unique=unique,
                start=start,
                end=end,
            )
        )

    async def search_memories(
        self,
        *,
        table_name: str = "messages",
        query: str | None = None,
        embedding: Sequence[float] | None = None,
        match_threshold: float | None = None,
        count: int | None = None,
        unique: bool | None = None,
        room_id: str | None = None,
        world_id: str | None = None,
        entity_id: str | None = None,
    ) -> list[Memory]:
        """Vector search in the TS database; give ``query`` text and the host embeds it with its own model."""
        if query is None and embedding is None:
            raise ValueError("search_memories needs a query or an embedding")
        return await self.host.search_memories(
            SearchMemoriesParams(
                table_name=table_name,
                query=query,
                embedding=list(embedding) if embedding is not None else None,
                match_threshold=match_threshold,
                count=count,
                unique=unique,
                room_id=room_id,
                world_id=world_id,
                entity_id=entity_id,
            )
        )

    async def create_memory(
        self,
        memory: Memory | Mapping[str, Any],
        table_name: str = "messages",
        unique: bool | None = None,
        *,
        embed: bool = False,
    ) -> str:
        """Store a memory in the TS database; returns its id (one is generated when missing).

        ``embed=True`` has the host embed it first with its own model, so ``search_memories`` can find it.
        """
        mem = memory if isinstance(memory, Memory) else Memory.model_validate(dict(memory))
        if mem.id is None:
            mem = mem.model_copy(update={"id": new_uuid()})
        if mem.agent_id is None:
            mem = mem.model_copy(update={"agent_id": self.agent_id})
        return await self.host.create_memory(mem, table_name, unique, embed=embed)

    async def get_setting(self, key: str) -> SettingValue:
        """``runtime.getSetting`` in TS (character secrets, settings, then runtime settings)."""
        return await self.host.get_setting(key)

    async def progress(
        self, message: str | None = None, progress: float | None = None, total: float | None = None
    ) -> None:
        """Report progress on the call being served (a ``$/progress`` notification); no-op outside one."""
        if self._request is not None:
            await self._request.progress(message, progress, total)


__all__ = ["CharacterView", "ReplyCallback", "SidekickRuntime"]
