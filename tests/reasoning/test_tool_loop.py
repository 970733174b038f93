"""The tool-loop reasoner, driven by scripted models: concurrency, replanning, guards, cancellation."""

from __future__ import annotations

import json
from typing import Literal

import anyio

from elizapy.connectors.direct import Conversation
from elizapy.models import FunctionModel, ScriptedModel, TextRequest, TextResult, tool_calls_reply
from elizapy.reasoning import LoopLimits, ToolLoopReasoner, function_schema, tool
from elizapy.runtime import Plugin
from elizapy.types import ModelType


def tool_messages(request: TextRequest) -> dict[str, str]:
    return {
        m.tool_call_id: m.content or "" for m in request.messages or [] if m.role == "tool" and m.tool_call_id
    }


async def test_three_independent_calls_in_one_turn_run_concurrently(make_runtime):
    started: list[str] = []
    all_started = anyio.Event()

    @tool
    async def lookup(topic: str) -> str:
        """Look a topic up."""
        started.append(topic)
        if len(started) == 3:
            all_started.set()
        with anyio.fail_after(5):  # only passes if all three are in flight at once
            await all_started.wait()
        return f"{topic}: found"

    model = ScriptedModel(
        [
            tool_calls_reply(
                ("lookup", {"topic": "a"}), ("lookup", {"topic": "b"}), ("lookup", {"topic": "c"})
            ),
            lambda mt, req: TextResult(text="all: " + ", ".join(sorted(tool_messages(req).values()))),
        ]
    )
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[lookup])], settings={"REASONER": "tools"}
    )
    result = await Conversation(rt).send("look up a, b and c")
    assert sorted(started) == ["a", "b", "c"]
    assert result.text == "all: a: found, b: found, c: found"
    assert len(model.calls) == 2
    assert tool_messages(model.calls[1].request) == {
        "call_1": "a: found",
        "call_2": "b: found",
        "call_3": "c: found",
    }


async def test_dependent_calls_across_turns_replan(make_runtime):
    @tool
    def find_user(name: str) -> dict[str, str]:
        """Find a user id by name."""
        return {"user_id": f"u-{name}"}

    @tool
    def get_orders(user_id: str) -> str:
        """Orders of a user."""
        return f"orders of {user_id}: #1, #2"

    def brain(mt: ModelType, req: TextRequest) -> TextResult:
        results = [m.content or "" for m in req.messages or [] if m.role == "tool"]
        if not results:
            return tool_calls_reply(("find_user", {"name": "bob"}))
        if len(results) == 1:
            user_id = json.loads(results[0])["user_id"]
            return TextResult(
                tool_calls=[tool_calls_reply(("get_orders", {"user_id": user_id})).tool_calls[0]]
            )
        return TextResult(text=f"Bob has: {results[1]}")

    model = FunctionModel(brain)
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[find_user, get_orders])], settings={"REASONER": "tools"}
    )
    result = await Conversation(rt).send("what did bob order?")
    assert result.text == "Bob has: orders of u-bob: #1, #2"
    assert [r.text for r in result.action_results] == ['{"user_id": "u-bob"}', "orders of u-bob: #1, #2"]
    assert len(model.calls) == 3


async def test_failing_tool_becomes_error_result_the_model_sees(make_runtime):
    @tool
    def flaky(x: int) -> str:
        """Fails."""
        raise RuntimeError("database unavailable")

    model = ScriptedModel(
        [
            tool_calls_reply(("flaky", {"x": 1})),
            lambda mt, req: TextResult(text="sorry: " + tool_messages(req)["call_1"]),
        ]
    )
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[flaky])], settings={"REASONER": "tools"}
    )
    result = await Conversation(rt).send("try it")
    assert "ERROR" in result.text and "database unavailable" in result.text
    assert result.action_results[0].success is False


async def test_invalid_arguments_are_reported_not_raised(make_runtime):
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    model = ScriptedModel(
        [
            tool_calls_reply(("add", {"a": "not a number"})),
            lambda mt, req: TextResult(text=tool_messages(req)["call_1"]),
        ]
    )
    rt = await make_runtime(model, plugins=[Plugin(name="t", actions=[add])], settings={"REASONER": "tools"})
    result = await Conversation(rt).send("add")
    assert result.text.startswith("ERROR: invalid arguments")
    assert "a:" in result.text and "b:" in result.text


async def test_step_cap_ends_a_looping_model_clearly(make_runtime):
    counter = iter(range(1000))

    @tool
    def ping(n: int) -> str:
        """Ping."""
        return "pong"

    model = FunctionModel(lambda mt, req: tool_calls_reply(("ping", {"n": next(counter)})))
    rt = await make_runtime(model, plugins=[Plugin(name="t", actions=[ping])])
    rt.reasoner = ToolLoopReasoner(limits=LoopLimits(max_steps=3))
    result = await Conversation(rt).send("loop forever")
    assert len(model.calls) == 3
    assert "step limit (3 model turns)" in result.text
    assert result.status == "responded"


async def test_identical_repeated_call_is_refused(make_runtime):
    runs = 0

    @tool
    def weather(city: str) -> str:
        """Weather."""
        nonlocal runs
        runs += 1
        return "sunny"

    model = ScriptedModel(
        [
            tool_calls_reply(("weather", {"city": "Oslo"})),
            tool_calls_reply(("weather", {"city": "Oslo"})),
            lambda mt, req: TextResult(text=list(tool_messages(req).values())[-1]),
        ]
    )
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[weather])], settings={"REASONER": "tools"}
    )
    result = await Conversation(rt).send("weather?")
    assert runs == 1
    assert result.text.startswith("REFUSED") and "sunny" in result.text


async def test_per_tool_timeout(make_runtime):
    @tool
    async def hang() -> str:
        """Never returns."""
        await anyio.sleep_forever()
        return ""

    model = ScriptedModel(
        [tool_calls_reply(("hang", {})), lambda mt, req: TextResult(text=tool_messages(req)["call_1"])]
    )
    rt = await make_runtime(model, plugins=[Plugin(name="t", actions=[hang])])
    rt.reasoner = ToolLoopReasoner(limits=LoopLimits(tool_timeout_s=0.05))
    result = await Conversation(rt).send("go")
    assert "timed out" in result.text


async def test_supersede_cancels_running_loop(make_runtime):
    entered = anyio.Event()
    cancelled = anyio.Event()

    @tool
    async def long_job() -> str:
        """Takes forever."""
        entered.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return ""

    model = ScriptedModel([tool_calls_reply(("long_job", {})), TextResult(text="fresh")])
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[long_job])], settings={"REASONER": "tools"}
    )
    conv = Conversation(rt)
    out = {}

    async def first() -> None:
        out["first"] = await conv.send("start the long job")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await entered.wait()
            out["second"] = await conv.send("never mind")
    assert cancelled.is_set()
    assert out["first"].status == "superseded"
    assert out["second"].text == "fresh"


async def test_json_mode_for_models_without_native_tools(make_runtime):
    @tool
    def square(x: int) -> int:
        """Square a number."""
        return x * x

    model = ScriptedModel(
        [
            '```json\n{"thought": "compute", "tool_calls": [{"tool": "square", "arguments": {"x": 7}}], '
            '"final_answer": ""}\n```',
            lambda mt, req: (
                '{"thought": "done", "tool_calls": [], "final_answer": "7 squared is '
                + ("49" if "-> 49" in (req.messages or [])[-1].content else "?")
                + '"}'
            ),
        ]
    )
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[square])], settings={"TOOL_CALLING": "json"}
    )
    rt.reasoner = ToolLoopReasoner()
    result = await Conversation(rt).send("square 7")
    assert result.text == "7 squared is 49"
    schema = model.calls[0].request.response_schema
    assert schema is not None
    assert schema["properties"]["tool_calls"]["items"]["anyOf"][0]["properties"]["tool"] == {
        "const": "square"
    }
    assert model.calls[0].request.tools is None


async def test_tool_calls_are_recorded_as_memories(make_runtime):
    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text.upper()

    model = ScriptedModel([tool_calls_reply(("echo", {"text": "hi"})), TextResult(text="done")])
    rt = await make_runtime(model, plugins=[Plugin(name="t", actions=[echo])], settings={"REASONER": "tools"})
    conv = Conversation(rt)
    await conv.send("echo hi")
    stored = await rt.store.memories.list(table="actions", room_id=conv.room_id)
    assert len(stored) == 1
    wire = stored[0].content.to_wire()
    assert wire["actions"] == ["echo"] and wire["text"] == "HI" and wire["toolCallId"] == "call_1"
    assert wire["arguments"] == {"text": "hi"} and wire["success"] is True


def test_schema_from_type_hints():
    def f(city: str, unit: Literal["c", "f"] = "c", days: int = 1, runtime: object = None) -> str:
        return ""

    schema = function_schema(f)
    assert schema["required"] == ["city"]
    assert schema["properties"]["unit"] == {"default": "c", "enum": ["c", "f"], "type": "string"}
    assert "runtime" not in schema["properties"]
    assert schema["additionalProperties"] is False


async def test_native_final_answer_streams_text(make_runtime):
    chunks: list[str] = []

    async def sink(c: str) -> None:
        chunks.append(c)

    rt = await make_runtime(
        ScriptedModel([TextResult(text="streamed answer")]), settings={"REASONER": "tools"}
    )
    conv = Conversation(rt, stream=sink)
    result = await conv.send("hi")
    assert "".join(chunks) == "streamed answer" == result.text


async def test_a_step_of_only_repeats_makes_the_next_request_offer_no_tools(make_runtime):
    @tool
    def weather(city: str) -> str:
        """Weather."""
        return "sunny"

    model = ScriptedModel(
        [
            tool_calls_reply(("weather", {"city": "Oslo"})),
            tool_calls_reply(("weather", {"city": "Oslo"})),
            lambda mt, req: TextResult(text="tools offered" if req.tools else "answering: sunny"),
        ]
    )
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[weather])], settings={"REASONER": "tools"}
    )
    result = await Conversation(rt).send("weather?")
    assert [bool(c.request.tools) for c in model.calls] == [True, True, False]
    assert result.text == "answering: sunny"


async def test_system_prompt_is_stable_across_turns_and_the_conversation_follows_it(make_runtime):
    """Prefix caching: the system message (agent, tools) must not change as the conversation grows."""

    @tool
    def weather(city: str) -> str:
        """Weather."""
        return "sunny"

    model = FunctionModel(lambda mt, req: TextResult(text="noted"))
    rt = await make_runtime(
        model, plugins=[Plugin(name="t", actions=[weather])], settings={"REASONER": "tools"}
    )
    convo = Conversation(rt)
    await convo.send("first question about Oslo")
    await convo.send("second question about Bergen")
    first, second = (c.request.messages or [] for c in model.calls)
    assert first[0].role == second[0].role == "system"
    assert first[0].content == second[0].content
    assert "Available actions" not in (first[0].content or "")
    # the conversation so far follows as context; the message to answer comes last, alone
    assert "Oslo" in (second[1].content or "") and second[-1].content == "second question about Bergen"


def test_next_step_schema_inlines_each_tools_own_definitions():
    """pydantic-style ``$defs``/``$ref`` must not dangle once a tool's schema is nested in the step schema."""
    from elizapy.models import ToolSpec
    from elizapy.reasoning.tools import next_step_schema

    params = {
        "$defs": {
            "Flight": {
                "type": "object",
                "properties": {"number": {"type": "string"}, "next": {"$ref": "#/$defs/Flight"}},
                "required": ["number"],
            }
        },
        "type": "object",
        "properties": {"flights": {"type": "array", "items": {"$ref": "#/$defs/Flight"}}},
        "required": ["flights"],
    }
    schema = next_step_schema([ToolSpec(name="book", description="Book.", parameters=params)])
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    args = schema["properties"]["tool_calls"]["items"]["anyOf"][0]["properties"]["arguments"]
    flight = args["properties"]["flights"]["items"]
    assert flight["properties"]["number"] == {"type": "string"} and flight["required"] == ["number"]
    # the recursive reference is cut off after a few levels instead of looping
    depth, node = 0, flight
    while "next" in node.get("properties", {}):
        node, depth = node["properties"]["next"], depth + 1
    assert 1 <= depth <= 8 and node == {"type": "object"}
