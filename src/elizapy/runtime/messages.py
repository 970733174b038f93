"""The message pipeline (ElizaOS's ``DefaultMessageService.handleMessage``), minus the reasoning strategy.

save (dedupe by id) → queue embedding → skip own/muted → should-respond → compose state → reasoner →
evaluators (parallel) → RUN_ENDED. A reply from a run that a newer message in the same room superseded is
dropped, and the superseded run is cancelled (configurable: ``SUPERSEDE_CANCELS``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio

from ..types import (
    ActionResult,
    ChannelType,
    Content,
    EventType,
    Log,
    Memory,
    MemoryMetadata,
    ModelType,
    State,
    new_uuid,
    now_ms,
)
from .plugin import call_flexible
from .reasoner import Mode, Turn
from .runtime import RunStats, current_run
from .templates import DEFAULT_TEMPLATES, render

if TYPE_CHECKING:
    from .runtime import AgentRuntime

log = logging.getLogger("elizapy.messages")

DeliverFn = Callable[[Content], Awaitable[Any]]
"""A connector's way to show a reply to its user (the pipeline stores the reply itself)."""
StreamFn = Callable[[str], Awaitable[Any]]
"""Receives reply text chunks while the model generates them."""

ALWAYS_RESPOND = frozenset({ChannelType.DM, ChannelType.VOICE_DM, ChannelType.SELF, ChannelType.API})
DEFAULT_PROVIDERS = ("CHARACTER", "RECENT_MESSAGES", "ENTITIES", "ACTIONS", "TIME")

Status = Literal["responded", "ignored", "own_message", "duplicate", "muted", "superseded", "error"]


@dataclass(slots=True)
class MessageResult:
    status: Status
    run_id: str
    responses: list[Memory] = field(default_factory=list)
    content: Content | None = None
    mode: Mode = "none"
    action_results: list[ActionResult] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)
    duration_ms: float = 0.0
    error: str | None = None

    @property
    def did_respond(self) -> bool:
        return bool(self.responses)

    @property
    def text(self) -> str:
        return "\n".join(m.content.text or "" for m in self.responses if m.content.text)


def mentions_agent(runtime: AgentRuntime, message: Memory) -> bool:
    content = message.content
    ctx = getattr(content, "mentionContext", None) or getattr(content, "mention_context", None)
    if isinstance(ctx, dict) and (ctx.get("isMention") or ctx.get("isReply")):
        return True
    text = (content.text or "").lower()
    names = [runtime.character.name] + ([runtime.character.username] if runtime.character.username else [])
    return any(n and n.lower() in text for n in names)


class MessagePipeline:
    def __init__(self, runtime: AgentRuntime) -> None:
        self._rt = runtime
        self._latest: dict[str, str] = {}
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._pending_logs: list[Log] = []
        self._embed_queue: list[Memory] = []
        self._embed_running = False
        self._embed_finished: anyio.Event | None = None
        self._background: set[Any] = set()

    # --- public ----------------------------------------------------------------------------------------

    async def handle(self, message: Memory, deliver: DeliverFn | None = None, *,
                     stream: StreamFn | None = None) -> MessageResult:
        rt = self._rt
        run_id = new_uuid()
        stats = RunStats()
        token = current_run.set(stats)
        started = time.perf_counter()
        result = MessageResult(status="ignored", run_id=run_id, stats=stats)
        try:
            result = await self._handle(message, deliver, run_id, stats, stream)
        except Exception as exc:
            log.exception("message run %s failed", run_id)
            result = MessageResult(
                status="error", run_id=run_id, stats=stats, error=f"{type(exc).__name__}: {exc}"
            )
        finally:
            current_run.reset(token)
            result.duration_ms = (time.perf_counter() - started) * 1000
            rt.state.forget(message.id)
            await rt.events.emit(
                EventType.RUN_ENDED,
                {
                    "runtime": rt,
                    "runId": run_id,
                    "messageId": message.id,
                    "roomId": message.room_id,
                    "status": result.status,
                    "duration": result.duration_ms,
                    "error": result.error,
                },
            )
            await self._flush_logs()
        return result

    async def drain(self) -> None:
        """Finish queued background work (embeddings, logs) before shutdown."""
        with anyio.move_on_after(30):
            while self._embed_running or self._embed_queue:
                if self._embed_running and self._embed_finished is not None:
                    await self._embed_finished.wait()  # another task's batch: wait for it, don't spin
                else:
                    await self._embed_batch()
        await self._flush_logs()

    def log_later(self, entry: Log) -> None:
        self._pending_logs.append(entry)

    # --- the pipeline ----------------------------------------------------------------------------------

    async def _handle(
        self, message: Memory, deliver: DeliverFn | None, run_id: str, stats: RunStats,
        stream: StreamFn | None = None,
    ) -> MessageResult:
        rt = self._rt
        store = rt.store
        message.id = message.id or new_uuid()
        message.agent_id = message.agent_id or rt.agent_id
        message.created_at = message.created_at or now_ms()
        await rt.events.emit(
            EventType.RUN_STARTED,
            {
                "runtime": rt,
                "runId": run_id,
                "messageId": message.id,
                "roomId": message.room_id,
                "entityId": message.entity_id,
            },
        )
        if message.entity_id == rt.agent_id:
            return MessageResult(status="own_message", run_id=run_id, stats=stats)
        if await store.memories.get(message.id) is not None:
            return MessageResult(status="duplicate", run_id=run_id, stats=stats)
        if message.metadata is None:
            message.metadata = MemoryMetadata(
                type="message", source=message.content.source, timestamp=message.created_at
            )
        await store.memories.create(message, "messages")
        self._queue_embedding(message)
        await rt.events.emit(EventType.MESSAGE_RECEIVED, {"runtime": rt, "message": message})

        if await store.rooms.get_participant_state(
            message.room_id, rt.agent_id
        ) == "MUTED" and not mentions_agent(rt, message):
            return MessageResult(status="muted", run_id=run_id, stats=stats)

        # A newer message supersedes older runs in the same room.
        room = message.room_id
        self._latest[room] = run_id
        old_scope = self._scopes.get(room)
        if old_scope is not None and rt.get_setting("SUPERSEDE_CANCELS") is not False:
            old_scope.cancel()

        result = MessageResult(status="ignored", run_id=run_id, stats=stats)
        with anyio.CancelScope() as scope:
            self._scopes[room] = scope
            try:
                result = await self._respond(message, deliver, run_id, stats, stream)
            finally:
                if self._scopes.get(room) is scope:
                    del self._scopes[room]
        if scope.cancelled_caught or (
            result.status == "responded" and self._latest.get(room) != run_id and not result.responses
        ):
            return MessageResult(status="superseded", run_id=run_id, stats=stats)
        return result

    async def _respond(
        self, message: Memory, deliver: DeliverFn | None, run_id: str, stats: RunStats,
        stream: StreamFn | None = None,
    ) -> MessageResult:
        rt = self._rt
        state = await rt.compose_state(message, DEFAULT_PROVIDERS)
        if not await self._should_respond(message, state):
            return MessageResult(status="ignored", run_id=run_id, stats=stats)

        responses: list[Memory] = []

        def is_current() -> bool:
            return self._latest.get(message.room_id) == run_id

        async def callback(content: Content) -> list[Memory]:
            if not is_current():
                log.info("dropping reply of superseded run %s", run_id)
                return []
            reply = self._reply_memory(message, content)
            await rt.store.memories.create(reply, "messages")
            self._queue_embedding(reply)
            responses.append(reply)
            if deliver is not None:
                await deliver(reply.content)
            await rt.events.emit(EventType.MESSAGE_SENT, {"runtime": rt, "message": reply, "runId": run_id})
            return [reply]

        assert rt.reasoner is not None
        async def stream_if_current(chunk: str) -> None:
            if stream is not None and is_current():
                await stream(chunk)

        turn = Turn(
            runtime=rt, message=message, state=state, run_id=run_id, callback=callback, is_current=is_current,
            stream=stream_if_current if stream is not None else None,
        )
        outcome = await rt.reasoner.run(turn)
        if outcome.mode != "none" and rt.evaluators:
            await self._evaluate(message, state, responses)
        status: Status = "responded" if responses else ("superseded" if not is_current() else "ignored")
        return MessageResult(
            status=status,
            run_id=run_id,
            responses=responses,
            content=outcome.content,
            mode=outcome.mode,
            action_results=outcome.action_results,
            stats=stats,
        )

    async def _should_respond(self, message: Memory, state: State) -> bool:
        rt = self._rt
        room = await rt.store.rooms.get_room(message.room_id)
        if room is None:
            return False
        channel = ChannelType(room.type)
        if channel in ALWAYS_RESPOND or (message.content.source or "").lower().find("client_chat") >= 0:
            return True
        if mentions_agent(rt, message):
            return True
        template = (rt.character.templates or {}).get("shouldRespondTemplate") or DEFAULT_TEMPLATES[
            "shouldRespondTemplate"
        ]
        from ..reasoning.xml_parse import parse_key_value_xml

        answer = await rt.use_model(ModelType.TEXT_SMALL, {"prompt": render(template, state.values)})
        parsed = parse_key_value_xml(str(answer)) or {}
        action = str(parsed.get("action", "")).strip().upper()
        return action not in ("", "IGNORE", "NONE", "STOP")

    def _reply_memory(self, message: Memory, content: Content) -> Memory:
        rt = self._rt
        content.in_reply_to = content.in_reply_to or message.id
        content.source = content.source or message.content.source
        created = now_ms()
        return Memory(
            id=new_uuid(),
            entity_id=rt.agent_id,
            agent_id=rt.agent_id,
            room_id=message.room_id,
            world_id=message.world_id,
            created_at=created,
            content=content,
            metadata=MemoryMetadata(type="message", source=content.source, timestamp=created),
        )

    async def _evaluate(self, message: Memory, state: State, responses: list[Memory]) -> None:
        rt = self._rt

        async def one(ev: Any) -> None:
            try:
                if not ev.always_run and not await ev.is_valid(rt, message, state):
                    return
                await rt.events.emit(EventType.EVALUATOR_STARTED, {"runtime": rt, "evaluator": ev.name})
                with anyio.fail_after(rt.action_timeout_s):
                    await call_flexible(ev.handler, rt, message, state, {}, None, responses)
                await rt.events.emit(EventType.EVALUATOR_COMPLETED, {"runtime": rt, "evaluator": ev.name})
            except Exception as exc:
                rt.report_error("evaluator", ev.name, exc, message)

        async with anyio.create_task_group() as tg:
            for ev in rt.evaluators:
                tg.start_soon(one, ev)

    # --- background work -------------------------------------------------------------------------------

    def _queue_embedding(self, memory: Memory) -> None:
        if not memory.content.text or not self._rt.models.has(ModelType.TEXT_EMBEDDING):
            return
        if self._rt.get_setting("EMBED_MESSAGES") is False:
            return
        self._embed_queue.append(memory)

    async def _embed_batch(self) -> None:
        """Embed queued memories in one batched call (outside the reply path: it runs after the reply)."""
        if self._embed_running or not self._embed_queue:
            return
        self._embed_running = True
        self._embed_finished = anyio.Event()
        try:
            batch, self._embed_queue = self._embed_queue[:64], self._embed_queue[64:]
            try:
                vectors = await self._rt.embed([m.content.text or "" for m in batch])
                for mem, vec in zip(batch, vectors, strict=True):
                    assert mem.id is not None
                    await self._rt.store.memories.update(mem.id, embedding=vec)
            except Exception as exc:
                log.warning("embedding %d memories failed: %r", len(batch), exc)
        finally:
            self._embed_running = False
            self._embed_finished.set()

    async def _flush_logs(self) -> None:
        if self._embed_queue and not self._embed_running:
            await self._embed_batch()
        if not self._pending_logs:
            return
        logs, self._pending_logs = self._pending_logs, []
        for entry in logs:
            try:
                await self._rt.store.logs.add(entry)
            except Exception as exc:
                log.warning("could not store log entry: %r", exc)
