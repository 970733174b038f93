"""The bridge between our runtime's tool path and tau2's orchestrator, without tau2.

A real runtime with the tool-loop reasoner runs here; a fake "orchestrator" answers each tool batch the way
tau2 does (one result per call id). Checks: all calls of one model turn go out as one batch, in the model's
order and with its call ids; results come back to the right calls; a call that never reaches its handler
does not stall the batch.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from elizapy.bench.tau2.plugin import BatchingToolLoopReasoner, ToolDef, tau2_plugin
from elizapy.bench.tau2.session import EMPTY_REPLY_TEXT, Tau2Session, ToolBatch, ToolOutcome, TurnDone
from elizapy.models import ModelGateway, TextRequest, TextResult
from elizapy.models.base import ToolCall
from elizapy.models.testing import FunctionModel
from elizapy.reasoning.tools import LoopLimits
from elizapy.runtime import AgentRuntime
from elizapy.store.sqlite import SqliteStore
from elizapy.types import Character, ModelType

LOOKUP = ToolDef(
    "lookup",
    "Look a key up.",
    {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
)
SAVE = ToolDef(
    "save",
    "Save a value.",
    {"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]},
    kind="write",
)


async def _runtime(
    session: Tau2Session, model: FunctionModel, limits: LoopLimits | None = None
) -> AgentRuntime:
    gateway = ModelGateway()
    gateway.register_provider(model)
    rt = AgentRuntime(
        Character(name="Agent", bio=["test"]),
        store=SqliteStore(":memory:"),
        models=gateway,
        plugins=[tau2_plugin([LOOKUP, SAVE], "Be nice.", session)],
        reasoner=BatchingToolLoopReasoner(session, limits=limits or LoopLimits()),
        settings={"EMBED_MESSAGES": False},
    )
    await rt.initialize()
    session.attach(rt)
    return rt


def _env(call: Any) -> ToolOutcome:
    """A fake environment: lookups echo the key, saves fail on 'bad'."""
    if call.name == "save" and call.arguments.get("value") == "bad":
        return ToolOutcome("Error: cannot save bad", error=True)
    return ToolOutcome(json.dumps({"tool": call.name, **call.arguments}))


async def _orchestrate(session: Tau2Session, text: str) -> tuple[list[list[Any]], TurnDone]:
    """Drive one user message like tau2 does; returns the batches seen and the final reply."""
    batches: list[list[Any]] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(session.drive, text)
        while True:
            event = await session.next_event(10)
            if isinstance(event, ToolBatch):
                batches.append([(p.call_id, p.name, dict(p.arguments)) for p in event.calls])
                await session.deliver([(p.call_id, _env(p)) for p in event.calls])
                continue
            assert isinstance(event, TurnDone)
            return batches, event
    raise AssertionError("unreachable")


async def test_one_model_turn_is_one_batch_in_model_order_with_its_ids() -> None:
    session = Tau2Session()
    seen_results: list[str] = []

    def reply(model_type: ModelType, request: TextRequest) -> TextResult:
        msgs = request.messages or []
        tool_msgs = [m for m in msgs if m.role == "tool"]
        if not tool_msgs:
            return TextResult(
                tool_calls=[
                    ToolCall("c-3", "lookup", {"key": "z"}),
                    ToolCall("c-1", "save", {"value": "ok"}),
                    ToolCall("c-2", "lookup", {"key": "a"}),
                ]
            )
        seen_results.extend(f"{m.tool_call_id}={m.content}" for m in tool_msgs)
        return TextResult(text="all done")

    rt = await _runtime(session, FunctionModel(reply))
    batches, done = await _orchestrate(session, "please do three things")
    assert batches == [
        [("c-3", "lookup", {"key": "z"}), ("c-1", "save", {"value": "ok"}), ("c-2", "lookup", {"key": "a"})]
    ]
    # Each result went back to the call that asked for it (the model sees them by call id).
    assert sorted(seen_results) == sorted(
        [
            'c-3={"tool": "lookup", "key": "z"}',
            'c-1={"tool": "save", "value": "ok"}',
            'c-2={"tool": "lookup", "key": "a"}',
        ]
    )
    assert done.text == "all done"
    assert session.stats.tool_calls == 3 and session.stats.tool_batches == 1
    await rt.stop()


async def test_tool_errors_reach_the_model_and_unknown_tools_do_not_stall_the_batch() -> None:
    session = Tau2Session(batch_idle_s=0.2)
    errors: list[str] = []

    def reply(model_type: ModelType, request: TextRequest) -> TextResult:
        tool_msgs = [m for m in request.messages or [] if m.role == "tool"]
        if not tool_msgs:
            return TextResult(
                tool_calls=[
                    ToolCall("x1", "save", {"value": "bad"}),
                    ToolCall("x2", "no_such_tool", {}),
                    ToolCall("x3", "lookup", {"key": "k"}),
                ]
            )
        errors.extend(m.content or "" for m in tool_msgs if (m.content or "").startswith("ERROR"))
        return TextResult(text="tried")

    rt = await _runtime(session, FunctionModel(reply))
    with anyio.fail_after(5):
        batches, done = await _orchestrate(session, "go")
    # The unknown tool never reaches the environment; the two real calls go out together.
    assert [[c[1] for c in b] for b in batches] == [["save", "lookup"]]
    assert any("cannot save bad" in e for e in errors)
    assert any("unknown tool" in e for e in errors)
    assert session.stats.tool_errors == 1
    assert done.text == "tried"
    await rt.stop()


async def test_repeated_calls_across_turns_are_not_sent_again_and_ids_stay_unique() -> None:
    session = Tau2Session()
    turn = {"n": 0}

    def reply(model_type: ModelType, request: TextRequest) -> TextResult:
        turn["n"] += 1
        if turn["n"] <= 2:  # the same call twice, with the same model id both times
            return TextResult(tool_calls=[ToolCall("same", "lookup", {"key": "k"})])
        if turn["n"] == 3:
            return TextResult(tool_calls=[ToolCall("same", "lookup", {"key": "other"})])
        return TextResult(text="done")

    rt = await _runtime(session, FunctionModel(reply))
    batches, _ = await _orchestrate(session, "go")
    assert [[(c[0], c[2]["key"]) for c in b] for b in batches] == [[("same", "k")], [("same_2", "other")]]
    await rt.stop()


async def test_a_silent_agent_still_answers_tau2_with_text() -> None:
    session = Tau2Session()
    rt = await _runtime(session, FunctionModel(lambda mt, req: TextResult(text="")))
    batches, done = await _orchestrate(session, "hello?")
    assert batches == [] and done.text == EMPTY_REPLY_TEXT
    assert session.stats.empty_replies == 1
    await rt.stop()
