"""One simulated conversation: an ElizaOS-Py runtime whose domain tools are answered by tau2's orchestrator.

tau2's orchestrator is synchronous and owns the environment: the agent returns an assistant message with tool
calls, the orchestrator executes *every* call against the domain environment and hands back one tool message
per call id. Our runtime works the other way round (its reasoner calls actions and awaits their results), so
the two meet here:

- each tau2 tool is an ordinary :class:`~elizapy.runtime.plugin.Action` (its JSON schema as ``parameters``);
  its handler calls :meth:`Tau2Session.call_tool`, which parks the call and waits for the orchestrator;
- the calls one model turn makes are collected into one batch (the reasoner announces how many will come,
  :meth:`expect`), so tau2 sees them as one assistant message with several tool calls, in the model's order;
- the synchronous side (:mod:`.agent`) waits for the next :class:`ToolBatch` or :class:`TurnDone` and
  answers batches with the orchestrator's tool messages (:meth:`deliver`), matched by call id.

Nothing here imports tau2, so the bridging logic is tested without it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ...connectors.direct import Conversation
from ...models.base import ToolCall
from ...runtime.messages import MessageResult
from ...runtime.runtime import AgentRuntime
from ...types import new_uuid


@dataclass(slots=True)
class ToolOutcome:
    content: str
    error: bool = False


@dataclass(slots=True)
class PendingCall:
    call_id: str
    name: str
    arguments: dict[str, Any]
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: ToolOutcome | None = None
    sent: bool = False
    started: float = field(default_factory=time.perf_counter)


@dataclass(slots=True)
class ToolBatch:
    """Tool calls the agent makes now: one assistant message for tau2."""

    calls: list[PendingCall]


@dataclass(slots=True)
class TurnDone:
    """The agent's run(s) for the last user message ended; ``text`` is what it says to the user."""

    text: str
    results: list[MessageResult]


@dataclass(slots=True)
class TurnFailed:
    error: str


Event = ToolBatch | TurnDone | TurnFailed


@dataclass(slots=True)
class SessionStats:
    runs: int = 0
    model_calls: int = 0
    text_model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    tool_batches: int = 0
    empty_replies: int = 0
    errors: list[str] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)

    def add_run(self, result: MessageResult) -> None:
        self.runs += 1
        s = result.stats
        self.model_calls += s.model_calls
        self.text_model_calls += sum(v for k, v in s.calls_by_type.items() if k != "TEXT_EMBEDDING")
        self.prompt_tokens += s.prompt_tokens
        self.completion_tokens += s.completion_tokens
        self.errors.extend(s.errors)
        if result.error:
            self.errors.append(f"run {result.status}: {result.error}")


def _args_key(name: str, arguments: dict[str, Any]) -> str:
    return name + json.dumps(arguments, sort_keys=True, default=str)


EMPTY_REPLY_TEXT = "I'm sorry, I don't have an answer for that."
"""Sent when the agent produced no text: tau2 rejects empty messages; counted in ``empty_replies``."""


class Tau2Session:
    """Async half of the bridge; lives in the harness's event loop, one per simulated conversation."""

    def __init__(self, *, batch_idle_s: float = 0.5, max_continuations: int = 0) -> None:
        self.runtime: AgentRuntime | None = None
        self.conversation: Conversation | None = None
        self.tools_conversation: Conversation | None = None
        self.stats = SessionStats()
        self.batch_idle_s = batch_idle_s
        self.max_continuations = max_continuations
        self._send: MemoryObjectSendStream[Event]
        self._recv: MemoryObjectReceiveStream[Event]
        self._send, self._recv = anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)
        self._batch: list[PendingCall] = []
        self._expected: int | None = None
        self._announced: list[ToolCall] = []
        self._inflight: dict[str, PendingCall] = {}
        self._used_ids: set[str] = set()
        self._run_calls: list[PendingCall] = []

    def attach(self, runtime: AgentRuntime, *, source: str = "tau2") -> None:
        self.runtime = runtime
        self.conversation = Conversation(runtime, user_name="customer", room_name="tau2", source=source)
        self.tools_conversation = Conversation(
            runtime, user_name="tools", room_name="tau2", source=source, room_id=self.conversation.room_id
        )

    # --- the reasoner side -----------------------------------------------------------------------------

    def expect(self, calls: Sequence[ToolCall] | None) -> None:
        """The reasoner's announcement: these calls of one model turn will reach tool handlers now.

        ``None`` closes the batch (each later call then goes out on its own, as under the XML reasoner).
        """
        if calls is None:
            self._expected = None
            self._announced = []
            if self._batch:
                self._flush()
            return
        self._expected = len(calls)
        self._announced = list(calls)
        if self._expected == 0:
            self._expected = None

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Hand one call to the orchestrator and wait for its result (called by a tool action's handler)."""
        pending = PendingCall(self._claim_id(name, arguments), name, dict(arguments))
        self._batch.append(pending)
        self._run_calls.append(pending)
        if self._expected is None or len(self._batch) >= self._expected:
            self._flush()
        else:
            # Guard against an announced call that never reaches its handler: send what we have.
            with anyio.move_on_after(self.batch_idle_s):
                await pending.done.wait()
            if not pending.sent:
                self._flush()
        await pending.done.wait()
        assert pending.outcome is not None
        return pending.outcome

    def _claim_id(self, name: str, arguments: dict[str, Any]) -> str:
        key = _args_key(name, arguments)
        call_id = ""
        for i, call in enumerate(self._announced):
            if _args_key(call.name, call.arguments) == key or (
                call.name.lower() == name.lower() and call.arguments == arguments
            ):
                call_id = call.id
                del self._announced[i]
                break
        if not call_id:
            call_id = f"call_{new_uuid()[:12]}"
        base, n = call_id, 1
        while call_id in self._used_ids:
            n += 1
            call_id = f"{base}_{n}"
        self._used_ids.add(call_id)
        return call_id

    def _flush(self) -> None:
        batch = [p for p in self._batch if not p.sent]
        self._batch = []
        if not batch:
            return
        for p in batch:
            p.sent = True
            self._inflight[p.call_id] = p
        self.stats.tool_batches += 1
        self._send.send_nowait(ToolBatch(batch))

    # --- the orchestrator side -------------------------------------------------------------------------

    async def deliver(self, outcomes: Sequence[tuple[str, ToolOutcome]]) -> None:
        """Results for the last batch, by call id; every call of the batch must be answered."""
        for call_id, outcome in outcomes:
            pending = self._inflight.pop(call_id, None)
            if pending is None:
                self.stats.errors.append(f"tool result for unknown call id {call_id!r}")
                continue
            pending.outcome = outcome
            self.stats.tool_calls += 1
            self.stats.tool_errors += int(outcome.error)
            pending.done.set()
        for call_id in list(self._inflight):
            pending = self._inflight.pop(call_id)
            pending.outcome = ToolOutcome(f"Error: no result for tool call {call_id}", error=True)
            self.stats.errors.append(f"no tool result for call id {call_id!r}")
            pending.done.set()

    async def next_event(self, timeout_s: float) -> Event:
        with anyio.fail_after(timeout_s):
            return await self._recv.receive()

    async def drive(self, text: str) -> None:
        """Handle one user message (and, under the XML reasoner, continue after tool results)."""
        assert self.conversation is not None and self.tools_conversation is not None
        started = time.perf_counter()
        results: list[MessageResult] = []
        try:
            self._run_calls = []
            result = await self.conversation.send(text)
            results.append(result)
            self.stats.add_run(result)
            for _ in range(self.max_continuations):
                if result.text.strip() or not self._run_calls:
                    break
                summary = "\n".join(
                    f"- {p.name}({json.dumps(p.arguments, ensure_ascii=False)}) -> "
                    f"{(p.outcome.content if p.outcome else '')[:2000]}"
                    for p in self._run_calls
                )
                self._run_calls = []
                result = await self.tools_conversation.send(
                    "Results of the actions you just took:\n"
                    + summary
                    + "\nContinue: take the next action if one is needed, otherwise reply to the customer."
                )
                results.append(result)
                self.stats.add_run(result)
            reply = "\n".join(r.text for r in results if r.text.strip()).strip()
            if not reply:
                self.stats.empty_replies += 1
                reply = EMPTY_REPLY_TEXT
            self.stats.turn_ms.append((time.perf_counter() - started) * 1000)
            await self._send.send(TurnDone(reply, results))
        except Exception as exc:
            await self._send.send(TurnFailed(f"{type(exc).__name__}: {exc}"))

    async def seed_history(self, turns: Sequence[tuple[str, str]]) -> None:
        """Store an earlier conversation (``(role, text)`` pairs) so providers show it to the model."""
        from ...types import Content, Memory, now_ms

        assert self.runtime is not None and self.conversation is not None
        rt, conv = self.runtime, self.conversation
        await rt.ensure_connection(
            entity_id=conv.user_id,
            room_id=conv.room_id,
            user_name="customer",
            name="customer",
            source=conv.source,
            type=conv.channel_type,
        )
        base = now_ms() - len(turns) * 1000
        for i, (role, text) in enumerate(turns):
            entity = rt.agent_id if role == "assistant" else conv.user_id
            await rt.store.memories.create(
                Memory(
                    id=new_uuid(),
                    entity_id=entity,
                    agent_id=rt.agent_id,
                    room_id=conv.room_id,
                    created_at=base + i * 1000,
                    content=Content(text=text, source=conv.source),
                ),
                "messages",
            )
