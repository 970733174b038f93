"""The ElizaOS message pipeline, driven by scripted models."""

from __future__ import annotations

import anyio
import pytest

from elizapy.connectors.direct import Conversation
from elizapy.models import ScriptedModel, xml_reply
from elizapy.models.base import TextRequest
from elizapy.runtime import Action, ActionOptions, Evaluator, Plugin, Provider
from elizapy.store.sqlite import SqliteStore
from elizapy.types import ActionResult, ChannelType, Content, EventType, ModelType


async def test_single_reply_is_one_model_call_and_is_stored(make_runtime):
    model = ScriptedModel([xml_reply("Hello there!", thought="greet")])
    rt = await make_runtime(model)
    conv = Conversation(rt)
    delivered: list[Content] = []

    async def deliver(c: Content) -> None:
        delivered.append(c)

    conv.deliver = deliver
    result = await conv.send("hi Ada")
    assert result.status == "responded"
    assert result.text == "Hello there!"
    assert [c.text for c in delivered] == ["Hello there!"]
    assert result.stats.calls_by_type == {"TEXT_LARGE": 1}
    history = await conv.history()
    assert [(m.entity_id == rt.agent_id, m.content.text) for m in history] == [
        (False, "hi Ada"),
        (True, "Hello there!"),
    ]
    assert history[1].content.in_reply_to == history[0].id
    # the prompt carried the character and the message
    assert "Ada is a careful assistant." in model.prompts[0]
    assert "hi Ada" in model.prompts[0]


async def test_ignore_sends_nothing(make_runtime):
    rt = await make_runtime(ScriptedModel([xml_reply("", actions=["IGNORE"])]))
    result = await Conversation(rt).send("just talking to myself")
    assert result.status == "ignored"
    assert result.responses == []
    assert len(await Conversation(rt).history()) == 1


async def test_three_action_chain_reads_earlier_results(make_runtime):
    seen: dict[str, object] = {}

    async def fetch(runtime, message, state, options: ActionOptions, callback):
        return ActionResult(text="fetched 42", values={"fetched": 42}, data={"number": 42})

    async def double(runtime, message, state, options: ActionOptions, callback):
        seen["double_saw_value"] = state.values.get("fetched")
        return ActionResult(text="doubled", values={"doubled": True})

    async def report(runtime, message, state, options: ActionOptions, callback):
        first = options.action_context.previous_results[0]
        seen["report_saw"] = first.data["number"] if first.data else None
        seen["by_name"] = options.action_context.get_previous_result("FETCH")
        seen["merged"] = (state.values.get("fetched"), state.values.get("doubled"))
        await callback(Content(text=f"the number was {first.data['number']}"))
        return ActionResult(text="reported")

    plugin = Plugin(
        name="chain",
        actions=[
            Action(name="FETCH", description="fetch", handler=fetch),
            Action(name="DOUBLE", description="double", handler=double),
            Action(name="REPORT", description="report", handler=report),
        ],
    )
    model = ScriptedModel([xml_reply("", actions=["FETCH", "DOUBLE", "REPORT"])])
    rt = await make_runtime(model, plugins=[plugin])
    result = await Conversation(rt).send("go")
    assert result.mode == "actions"
    assert [r.text for r in result.action_results] == ["fetched 42", "doubled", "reported"]
    assert seen["double_saw_value"] == 42
    assert seen["report_saw"] == 42
    assert seen["by_name"] is result.action_results[0]
    assert seen["merged"] == (42, True)
    assert result.text == "the number was 42"


async def test_failing_provider_is_isolated_and_reported(make_runtime):
    async def broken(runtime, message, state):
        raise RuntimeError("provider exploded")

    async def fine(runtime, message, state):
        return {"text": "FINE PROVIDER TEXT", "values": {"fine": 1}}

    plugin = Plugin(
        name="p", providers=[Provider(name="BROKEN", get=broken), Provider(name="FINE", get=fine)]
    )
    model = ScriptedModel([xml_reply("still here")])
    rt = await make_runtime(model, plugins=[plugin])
    errors: list[object] = []
    result = await Conversation(rt).send("hello")
    assert result.text == "still here"
    assert any("BROKEN" in e and "provider exploded" in e for e in result.stats.errors)
    assert "FINE PROVIDER TEXT" in model.prompts[0]
    logs = await rt.store.logs.list(type="provider_error")
    assert logs and logs[0].body["name"] == "BROKEN"
    assert not errors


async def test_failing_action_becomes_error_result_and_chain_continues(make_runtime):
    async def boom(runtime, message):
        raise ValueError("bad input")

    async def after(runtime, message, state, options, callback):
        prev = options.action_context.previous_results[-1]
        await callback(Content(text=f"previous failed: {prev.error}"))

    plugin = Plugin(
        name="p",
        actions=[
            Action(name="BOOM", description="", handler=boom),
            Action(name="AFTER", description="", handler=after),
        ],
    )
    rt = await make_runtime(ScriptedModel([xml_reply("", actions=["BOOM", "AFTER"])]), plugins=[plugin])
    result = await Conversation(rt).send("x")
    assert result.action_results[0].success is False
    assert "ValueError: bad input" in (result.action_results[0].error or "")
    assert result.text == "previous failed: ValueError: bad input"


async def test_group_room_should_respond_ignore(make_runtime):
    model = ScriptedModel(
        ["<response><name>Ada</name><reasoning>not for me</reasoning><action>IGNORE</action></response>"]
    )
    rt = await make_runtime(model)
    conv = Conversation(rt, channel_type=ChannelType.GROUP, room_name="lobby")
    result = await conv.send("anyone seen my keys?")
    assert result.status == "ignored"
    assert [c.model_type for c in model.calls] == [ModelType.TEXT_SMALL]
    assert "anyone seen my keys?" in model.prompts[0]


async def test_group_room_should_respond_respond_then_reply(make_runtime):
    model = ScriptedModel(["<response><action>RESPOND</action></response>", xml_reply("Sure.")])
    rt = await make_runtime(model)
    result = await Conversation(rt, channel_type=ChannelType.GROUP).send("can someone help?")
    assert result.text == "Sure."
    assert [c.model_type for c in model.calls] == [ModelType.TEXT_SMALL, ModelType.TEXT_LARGE]


async def test_group_room_mention_skips_should_respond(make_runtime):
    model = ScriptedModel([xml_reply("Yes?")])
    rt = await make_runtime(model)
    result = await Conversation(rt, channel_type=ChannelType.GROUP).send("ada, what time is it?")
    assert result.text == "Yes?"
    assert [c.model_type for c in model.calls] == [ModelType.TEXT_LARGE]


async def test_second_turn_prompt_contains_first_turn(make_runtime):
    model = ScriptedModel([xml_reply("Paris is the capital."), xml_reply("About 2.1 million.")])
    rt = await make_runtime(model)
    conv = Conversation(rt)
    await conv.send("What is the capital of France?")
    await conv.send("How many people live there?")
    second = model.prompts[1]
    assert "What is the capital of France?" in second
    assert "Paris is the capital." in second
    assert "How many people live there?" in second
    assert "How many people live there?" not in model.prompts[0]


async def test_duplicate_message_id_is_processed_once(make_runtime):
    model = ScriptedModel([xml_reply("once")])
    rt = await make_runtime(model)
    conv = Conversation(rt)
    first = await conv.send("hello", message_id="6f1c9a3e-1111-4222-8333-444455556666")
    second = await conv.send("hello", message_id="6f1c9a3e-1111-4222-8333-444455556666")
    assert first.status == "responded"
    assert second.status == "duplicate"
    assert len(model.calls) == 1


async def test_muted_room_is_ignored_unless_named(make_runtime):
    model = ScriptedModel([xml_reply("you called?")])
    rt = await make_runtime(model)
    conv = Conversation(rt)
    await rt.ensure_connection(entity_id=conv.user_id, room_id=conv.room_id, name="user")
    await rt.store.rooms.set_participant_state(conv.room_id, rt.agent_id, "MUTED")
    assert (await conv.send("chatter")).status == "muted"
    assert (await conv.send("Ada, are you there?")).text == "you called?"


async def test_newer_message_supersedes_running_reply(make_runtime):
    gate = anyio.Event()
    started = anyio.Event()

    async def slow(model_type, request: TextRequest):
        started.set()
        await gate.wait()
        return xml_reply("stale answer")

    model = ScriptedModel([slow, xml_reply("fresh answer")])
    rt = await make_runtime(model)
    conv = Conversation(rt)
    results = {}

    async def first() -> None:
        results["first"] = await conv.send("first question")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await started.wait()
        results["second"] = await conv.send("second question")
        gate.set()
    assert results["first"].status == "superseded"
    assert results["second"].text == "fresh answer"
    texts = [m.content.text for m in await conv.history()]
    assert "stale answer" not in texts and "fresh answer" in texts


async def test_evaluators_run_in_parallel_after_reply(make_runtime):
    both_running = anyio.Event()
    running = 0
    ran: list[str] = []

    async def ev(runtime, message, state, options, callback, responses):
        nonlocal running
        running += 1
        if running == 2:
            both_running.set()
        with anyio.fail_after(5):
            await both_running.wait()
        ran.append(responses[0].content.text)

    async def never_valid(runtime, message, state):
        return False

    plugin = Plugin(
        name="e",
        evaluators=[
            Evaluator(name="E1", description="", handler=ev),
            Evaluator(name="E2", description="", handler=ev, validate=never_valid, always_run=True),
            Evaluator(name="E3", description="", handler=ev, validate=never_valid),
        ],
    )
    rt = await make_runtime(ScriptedModel([xml_reply("done")]), plugins=[plugin])
    await Conversation(rt).send("hi")
    assert ran == ["done", "done"]


async def test_events_are_emitted_in_order(make_runtime):
    seen: list[str] = []
    rt = await make_runtime(ScriptedModel([xml_reply("hello", actions=["REPLY", "NONE"], thought="t")]))
    for ev in (
        EventType.RUN_STARTED,
        EventType.MESSAGE_RECEIVED,
        EventType.ACTION_STARTED,
        EventType.ACTION_COMPLETED,
        EventType.MESSAGE_SENT,
        EventType.RUN_ENDED,
    ):
        rt.events.on(ev, lambda payload, ev=ev: seen.append(f"{ev.value}:{payload.get('action', '')}"))
    await Conversation(rt).send("hi")
    assert seen[0] == "RUN_STARTED:" and seen[1] == "MESSAGE_RECEIVED:" and seen[-1] == "RUN_ENDED:"
    assert "ACTION_STARTED:REPLY" in seen and "ACTION_COMPLETED:NONE" in seen


async def test_reply_after_actions_uses_their_results(make_runtime):
    async def lookup(runtime, message):
        return ActionResult(text="the weather is sunny")

    plugin = Plugin(name="w", actions=[Action(name="WEATHER", description="", handler=lookup)])
    model = ScriptedModel(
        [
            xml_reply("", actions=["WEATHER", "REPLY"]),
            "<response><thought>ok</thought><text>It is sunny.</text></response>",
        ]
    )
    rt = await make_runtime(model, plugins=[plugin])
    result = await Conversation(rt).send("weather?")
    assert result.text == "It is sunny."
    assert "the weather is sunny" in model.prompts[1]


async def test_validate_filters_actions_shown_to_model(make_runtime):
    async def no(runtime, message, state):
        return False

    plugin = Plugin(
        name="v",
        actions=[
            Action(name="SECRET_OP", description="hidden", handler=lambda rt, m: None, validate=no),
            Action(name="VISIBLE_OP", description="shown", handler=lambda rt, m: None),
        ],
    )
    model = ScriptedModel([xml_reply("ok")])
    rt = await make_runtime(model, plugins=[plugin])
    await Conversation(rt).send("hi")
    assert "VISIBLE_OP" in model.prompts[0] and "SECRET_OP" not in model.prompts[0]


async def test_providers_run_concurrently(make_runtime):
    a_started, b_started = anyio.Event(), anyio.Event()

    async def pa(runtime, message, state):
        a_started.set()
        with anyio.fail_after(5):
            await b_started.wait()
        return "A"

    async def pb(runtime, message, state):
        b_started.set()
        with anyio.fail_after(5):
            await a_started.wait()
        return "B"

    plugin = Plugin(name="pp", providers=[Provider(name="PA", get=pa), Provider(name="PB", get=pb)])
    rt = await make_runtime(ScriptedModel([xml_reply("ok")]), plugins=[plugin])
    assert (await Conversation(rt).send("hi")).text == "ok"


async def test_history_survives_restart(tmp_path, make_runtime):
    db = str(tmp_path / "agent.db")
    rt1 = await make_runtime(ScriptedModel([xml_reply("first answer")]), store=SqliteStore(db))
    await Conversation(rt1).send("remember this: blue")
    await rt1.stop()
    await rt1.store.close()
    model = ScriptedModel([xml_reply("second answer")])
    rt2 = await make_runtime(model, store=SqliteStore(db))
    await Conversation(rt2).send("what did I say?")
    assert "remember this: blue" in model.prompts[0] and "first answer" in model.prompts[0]


async def test_character_template_override_is_used(make_runtime, character):
    char = character.model_copy(
        update={"templates": {"messageHandlerTemplate": "CUSTOM {{agentName}} TEMPLATE"}}
    )
    model = ScriptedModel([xml_reply("ok")])
    rt = await make_runtime(model, char=char)
    await Conversation(rt).send("hi")
    assert model.prompts[0] == "CUSTOM Ada TEMPLATE"


async def test_messages_are_embedded_for_search(make_runtime):
    model = ScriptedModel([xml_reply("Bananas are yellow.")])
    rt = await make_runtime(model)
    conv = Conversation(rt)
    await conv.send("Tell me about bananas")
    vec = (await rt.embed(["bananas are yellow"]))[0]
    hits = await rt.store.memories.search(table="messages", embedding=vec, count=2, room_id=conv.room_id)
    assert hits and hits[0].content.text == "Bananas are yellow."


@pytest.mark.parametrize("bad", ["no xml at all <<<", ""])
async def test_unparseable_model_output_sends_nothing(make_runtime, bad):
    rt = await make_runtime(ScriptedModel([bad, bad, bad]))
    result = await Conversation(rt).send("hi")
    assert result.responses == []


async def test_plain_prose_answer_is_used_without_retry(make_runtime):
    model = ScriptedModel(["REPLY: Happy to help with that."])
    rt = await make_runtime(model)
    result = await Conversation(rt).send("can you help?")
    assert result.text == "Happy to help with that."
    assert len(model.calls) == 1


async def test_prompt_names_example_speakers_and_the_latest_message(make_runtime, character):
    from elizapy.types import MessageExample

    char = character.model_copy(
        update={
            "message_examples": [
                [
                    MessageExample(name="{{name1}}", content=Content(text="ping?")),
                    MessageExample(name="Ada", content=Content(text="pong.")),
                ]
            ]
        }
    )
    model = ScriptedModel([xml_reply("ok")])
    rt = await make_runtime(model, char=char)
    await Conversation(rt, user_name="zoe").send("what is 2+2?")
    prompt = model.prompts[0]
    assert "{{name1}}" not in prompt and "Alex: ping?" in prompt
    assert "# Latest message, from zoe, to answer now\nwhat is 2+2?" in prompt
