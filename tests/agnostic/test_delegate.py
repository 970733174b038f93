"""The delegate backend interface: the built-in tool loop and a plain callable, alone and as a reasoner."""

from __future__ import annotations

import anyio
import pytest

from elizapy.connectors.direct import Conversation
from elizapy.errors import ConfigError
from elizapy.models import ScriptedModel, TextRequest, TextResult, tool_calls_reply
from elizapy.reasoning import LoopLimits, tool
from elizapy.reasoning.delegate import (
    CallableBackend,
    DelegateBackend,
    DelegateContext,
    DelegateEvent,
    DelegateReasoner,
    DelegateResult,
    DelegateRun,
    Toolbox,
    ToolLoopBackend,
    as_backend,
    delegate_reasoner,
)
from elizapy.runtime import Plugin
from elizapy.types import ActionResult, ModelType


@tool
def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"{topic}: found"


def generate_from(model: ScriptedModel):
    async def generate(request: TextRequest) -> TextResult:
        return await model.generate(ModelType.TEXT_LARGE, request)

    return generate


async def test_tool_loop_backend_runs_standalone_with_concurrent_calls():
    started: list[str] = []
    all_in = anyio.Event()

    @tool
    async def slow(name: str) -> str:
        """Waits for its siblings."""
        started.append(name)
        if len(started) == 2:
            all_in.set()
        with anyio.fail_after(5):  # passes only if both calls are in flight at once
            await all_in.wait()
        return name.upper()

    model = ScriptedModel([tool_calls_reply(("slow", {"name": "a"}), ("slow", {"name": "b"})),
                           lambda mt, req: TextResult(text="got " + ",".join(
                               m.content or "" for m in req.messages or [] if m.role == "tool"))])
    streamed: list[str] = []

    async def on_text(delta: str) -> None:
        streamed.append(delta)

    result = await ToolLoopBackend(generate_from(model)).run("go", tools=[slow], on_text=on_text,
                                                            context=DelegateContext(system="be quick"))
    assert result.text == "got A,B"
    assert sorted((r.name, r.output) for r in result.tool_calls) == [("slow", "A"), ("slow", "B")]
    assert streamed == ["got A,B"]
    assert (model.calls[0].request.messages or [])[0].content == "be quick"


async def test_tool_loop_backend_uses_the_hosts_model_and_json_mode():
    model = ScriptedModel([
        '{"thought": "t", "tool_calls": [{"tool": "lookup", "arguments": {"topic": "mcp"}}], '
        '"final_answer": ""}',
        lambda mt, req: '{"thought": "", "tool_calls": [], "final_answer": "'
                        + ("yes" if "-> mcp: found" in (req.messages or [])[-1].content else "no") + '"}',
    ])
    backend = ToolLoopBackend(mode="json")
    context = DelegateContext(generate=generate_from(model))
    result = await backend.run("find mcp", tools=[lookup], context=context)
    assert result.text == "yes"
    assert model.calls[0].request.response_schema is not None and model.calls[0].request.tools is None


async def test_tool_loop_backend_guards():
    model = ScriptedModel([tool_calls_reply(("lookup", {"topic": "x"}))], repeat_last=True)
    backend = ToolLoopBackend(generate_from(model), limits=LoopLimits(max_steps=3))
    result = await backend.run("x", tools=[lookup])
    assert result.stopped is not None and "step limit (3 model turns)" in result.text
    assert len(result.tool_calls) == 1  # the repeats were refused, not run
    with pytest.raises(ConfigError, match="needs a model"):
        await ToolLoopBackend().run("x")


async def test_toolbox_turns_unknown_tools_timeouts_and_failures_into_results():
    @tool(timeout_s=0.05)
    async def hang() -> str:
        """Never returns."""
        await anyio.sleep_forever()
        return ""

    @tool
    def boom() -> str:
        """Fails."""
        raise ValueError("bad input")

    box = Toolbox([hang, boom, lookup])
    unknown = await box.call("nope", {})
    assert not unknown.success and "unknown tool 'nope'" in unknown.output and "lookup" in unknown.output
    timed = await box.call("hang", {})
    assert not timed.success and "timed out after 0.05s" in timed.output
    failed = await box.call("boom", {})
    assert failed.output == "ERROR: ValueError: bad input"
    ok = await box.call("LOOKUP", {"topic": "t"})  # names match as under the other reasoners
    assert ok.success and ok.output == "t: found"
    assert len(box.records) == 4


async def test_callable_backend_is_an_agents_reasoner_with_tools_run_by_the_agent(make_runtime):
    seen_context: list[DelegateContext] = []

    streamed: list[str] = []

    async def agent(run: DelegateRun) -> str:
        seen_context.append(run.context)
        await run.emit_text("looking… ")
        record = await run.tools.call("lookup", {"topic": run.task})
        return f"The answer: {record.output}"

    async def on_text(delta: str) -> None:
        streamed.append(delta)

    rt = await make_runtime(ScriptedModel([]), plugins=[Plugin(name="t", actions=[lookup])])
    rt.reasoner = DelegateReasoner(as_backend(agent))
    conv = Conversation(rt, stream=on_text)
    result = await conv.send("weather")
    assert result.text == "The answer: weather: found"
    assert [r.text for r in result.action_results] == ["weather: found"]
    assert streamed == ["looking… "]
    ctx = seen_context[0]
    assert ctx.thread_id == conv.room_id and ctx.generate is not None
    assert ctx.system is not None and "Answer briefly." in ctx.system


async def test_delegate_setting_loads_a_backend_reference(make_runtime):
    rt = await make_runtime(ScriptedModel([]), settings={
        "DELEGATE_BACKEND": "tests.agnostic.test_delegate:EchoBackend", "DELEGATE_TOOL_TIMEOUT": "2"})
    reasoner = delegate_reasoner(rt, "delegate")
    assert isinstance(reasoner, DelegateReasoner) and isinstance(reasoner.backend, EchoBackend)
    assert reasoner.backend.tool_timeout_s == 2.0
    rt.reasoner = reasoner
    assert (await Conversation(rt).send("hello")).text == "echo: hello"


class EchoBackend(DelegateBackend):
    name = "echo"

    async def execute(self, run: DelegateRun) -> DelegateResult:
        return run.finish(f"echo: {run.task}")


async def test_a_failing_backend_becomes_a_clear_reply(make_runtime):
    async def broken(run: DelegateRun) -> str:
        raise RuntimeError("graph exploded")

    rt = await make_runtime(ScriptedModel([]))
    rt.reasoner = DelegateReasoner(CallableBackend(broken))
    result = await Conversation(rt).send("hi")
    assert result.status == "responded"
    assert result.text == ("I could not finish that: the broken reasoner failed "
                           "(RuntimeError: graph exploded).")


async def test_run_tool_decides_where_tools_run():
    calls: list[tuple[str, dict]] = []
    events: list[DelegateEvent] = []

    async def remote(action, arguments) -> ActionResult:  # e.g. a TS action over the sidekick bridge
        calls.append((action.name, arguments))
        return ActionResult(success=True, text="remote result")

    async def on_event(event: DelegateEvent) -> None:
        events.append(event)

    async def agent(run: DelegateRun) -> DelegateResult:
        record = await run.tools.call("lookup", {"topic": "x"})
        return DelegateResult(text=record.output)

    result = await CallableBackend(agent).run("x", tools=[lookup], run_tool=remote, on_event=on_event)
    assert result.text == "remote result" and calls == [("lookup", {"topic": "x"})]
    assert [e.kind for e in events] == ["tool_started", "tool_finished"]
    assert [r.output for r in result.tool_calls] == ["remote result"]


def test_as_backend_rejects_what_it_cannot_use():
    with pytest.raises(ConfigError):
        as_backend(42)
