"""Serving a module: initialize, actions/providers/evaluators/services, the runtime proxy's round trips,
streaming callbacks, progress, cancellation and failure isolation — all against the in-memory FakeHost."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from elizapy.sidekick import SidekickApp, SidekickRuntime, action, evaluator, provider, service
from elizapy.sidekick.dispatcher import Dispatcher
from elizapy.sidekick.errors import HandlerFailed, RpcError
from elizapy.sidekick.peer import SidekickClient
from elizapy.sidekick.proxy import ReplyCallback
from elizapy.sidekick.server import serve
from elizapy.sidekick.testing import FakeHost, connect
from elizapy.sidekick.transport import memory_pair
from elizapy.sidekick.wire import (
    AgentInfo,
    ErrorCode,
    EvaluatorInvokeParams,
    EvaluatorValidateParams,
    ProgressParams,
)
from elizapy.types import ActionResult, Memory

cancelled = anyio.Event()
started: list[str] = []


@action
async def greet(name: str, runtime: SidekickRuntime, callback: ReplyCallback) -> str:
    """Greets someone by name."""
    await callback({"text": f"Hello {name}, I am {runtime.character.name}"})
    return f"greeted {name}"


@action
async def boom() -> str:
    raise RuntimeError("kaput")


@action
async def uses_runtime(runtime: SidekickRuntime, message: Memory) -> ActionResult:
    answer = await runtime.use_model("TEXT_SMALL", "2+2?")
    vector = await runtime.use_model("TEXT_EMBEDDING", "hello")
    setting = await runtime.get_setting("COLOR")
    created = await runtime.create_memory(
        {"entityId": message.entity_id, "roomId": message.room_id, "content": {"text": "blue is my color"}}
    )
    recent = await runtime.get_memories(room_id=message.room_id, count=5)
    found = await runtime.search_memories(query="what color", room_id=message.room_id, count=1)
    return ActionResult(
        success=True,
        data={
            "answer": answer,
            "dim": len(vector),
            "setting": setting,
            "created": created,
            "recent": [m.content.text for m in recent],
            "found": [m.content.text for m in found],
        },
    )


@action
async def streams(callback: ReplyCallback) -> None:
    async def words() -> AsyncIterator[str]:
        for w in ["one ", "two ", "three"]:
            yield w

    await callback.stream(words(), actions=["STREAMS"])


@action
async def reports(runtime: SidekickRuntime) -> str:
    await runtime.progress("step 1", 1, 2)
    await runtime.progress("step 2", 2, 2)
    return "reported"


@action
async def hangs() -> str:
    try:
        await anyio.sleep_forever()
    finally:
        cancelled.set()
    return "never"


entered_sync = threading.Event()
release_sync = threading.Event()


@action
def blocking_sync(seconds: float = 5.0) -> str:
    """A plain function that blocks its thread until released."""
    entered_sync.set()
    if not release_sync.wait(seconds):
        raise TimeoutError("never released")
    return "released"


@action(timeout_s=0.05)
async def too_slow() -> str:
    await anyio.sleep(5)
    return "late"


async def only_questions(runtime: SidekickRuntime, message: Memory) -> bool:
    return (message.content.text or "").endswith("?")


@action(validate=only_questions)
async def answers() -> str:
    return "answered"


@provider
async def facts(runtime: SidekickRuntime, message: Memory) -> dict[str, Any]:
    return {"text": f"facts for {runtime.agent_id}", "values": {"n": 1}}


@evaluator(validate=only_questions)
async def judge(runtime: SidekickRuntime, message: Memory) -> ActionResult:
    return ActionResult(success=True, text=f"judged {message.content.text}")


@service("recorder")
class Recorder:
    async def start(self, runtime: SidekickRuntime) -> None:
        started.append(str(await runtime.get_setting("COLOR")))

    async def stop(self) -> None:
        started.append("stopped")


def app() -> SidekickApp:
    import sys

    return SidekickApp.from_module(sys.modules[__name__])


def model(model_type: str, params: Any) -> Any:
    if model_type == "TEXT_EMBEDDING":
        return [0.5] * 8
    return f"model({model_type}): {params['prompt']}"


async def test_initialize_returns_the_manifest_and_limits() -> None:
    async with connect(app(), max_frame_bytes=65536, max_in_flight=9) as conn:
        init = conn.init
        assert init.protocol_version == "1.0"
        assert init.sidekick.name == "elizapy-sidekick"
        assert {a.name for a in init.manifest.actions} >= {"GREET", "BOOM", "USES_RUNTIME", "ANSWERS"}
        assert init.limits.max_in_flight == 9
        assert conn.dispatcher.peer_limits.max_in_flight == 9


@contextlib.asynccontextmanager
async def uninitialized() -> AsyncIterator[SidekickClient]:
    host_end, sidekick_end = memory_pair()
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve, app(), sidekick_end)
        d = Dispatcher(host_end, FakeHost())
        async with d.running():
            yield SidekickClient(d)
            await host_end.write.aclose()


async def test_version_negotiation_and_initialize_ordering() -> None:
    agent = AgentInfo(id="00000000-0000-0000-0000-000000000001", name="A")
    async with uninitialized() as client:
        with anyio.fail_after(5):
            with pytest.raises(RpcError) as err:
                await client.dispatcher.request("action/invoke", {})
            assert err.value.code == ErrorCode.NOT_INITIALIZED
            with pytest.raises(RpcError) as err:
                await client.dispatcher.request(
                    "provider/get",
                    {
                        "invocation": "i",
                        "name": "FACTS",
                        "message": {"entityId": agent.id, "roomId": agent.id, "content": {}},
                    },
                )
            assert err.value.code == ErrorCode.NOT_INITIALIZED
            with pytest.raises(RpcError) as err:
                await client.initialize(agent, versions=("0.9", "2.0"))
            assert err.value.code == ErrorCode.UNSUPPORTED_VERSION
            assert err.value.data == {"supported": ["1.0"]}
            init = await client.initialize(agent, versions=("2.0", "1.0"))
            assert init.protocol_version == "1.0"
            with pytest.raises(RpcError) as err:
                await client.initialize(agent)
            assert err.value.code == ErrorCode.INVALID_REQUEST
            with pytest.raises(RpcError) as err:
                await client.dispatcher.request("no/such", {})
            assert err.value.code == ErrorCode.METHOD_NOT_FOUND
            with pytest.raises(RpcError) as err:
                await client.dispatcher.request("action/invoke", {"name": "GREET"})
            assert err.value.code == ErrorCode.INVALID_PARAMS
            assert "message" in err.value.message


async def test_an_action_speaks_through_the_callback_and_returns_its_result() -> None:
    async with connect(app()) as conn:
        with anyio.fail_after(5):
            result = await conn.call_action("GREET", parameters={"name": "Ada"})
        assert result == ActionResult(success=True, text="greeted Ada")
        assert [c.text for c in conn.host.callbacks] == ["Hello Ada, I am Eliza"]


async def test_bad_arguments_and_unknown_actions() -> None:
    async with connect(app()) as conn:
        with anyio.fail_after(5):
            result = await conn.call_action("GREET", parameters={"name": 3})
            assert result is not None and not result.success
            assert result.error == "invalid arguments: name: Input should be a valid string"
            with pytest.raises(RpcError) as err:
                await conn.call_action("MISSING")
        assert err.value.code == ErrorCode.INVALID_PARAMS
        assert conn.host.callbacks == []


async def test_a_failing_handler_is_isolated() -> None:
    neighbour: list[ActionResult | None] = []
    async with connect(app()) as conn:

        async def alongside() -> None:
            neighbour.append(await conn.call_action("GREET", parameters={"name": "Cy"}))

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(alongside)
                with pytest.raises(HandlerFailed) as err:
                    await conn.call_action("BOOM")
            assert err.value.message == "RuntimeError: kaput"
            assert err.value.data["exception"] == "RuntimeError"
            again = await conn.call_action("GREET", parameters={"name": "Bo"})
        assert again is not None and again.text == "greeted Bo"
        assert neighbour[0] is not None and neighbour[0].text == "greeted Cy"


async def test_the_runtime_proxy_round_trips_to_the_host() -> None:
    host = FakeHost(model=model, settings={"COLOR": "blue"})
    async with connect(app(), host) as conn:
        with anyio.fail_after(5):
            result = await conn.call_action("USES_RUNTIME", "remember my color")
    assert result is not None and result.success, result
    data = result.data or {}
    assert data["answer"] == "model(TEXT_SMALL): 2+2?"
    assert data["dim"] == 8
    assert data["setting"] == "blue"
    stored = host.memories["messages"][0]
    assert stored.id == data["created"] and stored.agent_id == host.agent.id
    assert stored.content.text == "blue is my color"
    assert data["recent"] == ["blue is my color"]
    assert data["found"] == ["blue is my color"]
    assert [t for t, _ in host.model_calls] == ["TEXT_SMALL", "TEXT_EMBEDDING"]


async def test_streamed_replies_send_chunks_only_when_the_host_streams() -> None:
    async with connect(app()) as conn:
        with anyio.fail_after(5):
            await conn.call_action("STREAMS", streaming=True)
            assert conn.host.chunks == ["one ", "two ", "three"]
            assert conn.host.callbacks[-1].text == "one two three"
            assert conn.host.callbacks[-1].actions == ["STREAMS"]
            await conn.call_action("STREAMS", streaming=False)
        assert conn.host.chunks == ["one ", "two ", "three"]  # no new chunks
        assert conn.host.callbacks[-1].text == "one two three"


async def test_progress_from_a_handler_reaches_the_host() -> None:
    seen: list[ProgressParams] = []
    async with connect(app()) as conn:
        from elizapy.sidekick.wire import ActionInvokeParams

        params = ActionInvokeParams(invocation="inv", name="REPORTS", message=conn.message())
        with anyio.fail_after(5):
            out = await conn.client.invoke_action(params, on_progress=seen.append)
    assert out.result is not None and out.result.text == "reported"
    assert [(p.message, p.progress) for p in seen] == [("step 1", 1), ("step 2", 2)]


async def test_a_host_timeout_cancels_the_python_handler() -> None:
    async with connect(app()) as conn:
        with anyio.fail_after(5):
            with pytest.raises(Exception, match="got no answer"):
                await conn.call_action("HANGS", timeout_s=0.1)
            await cancelled.wait()


async def test_an_actions_own_timeout_is_reported() -> None:
    async with connect(app()) as conn:
        with anyio.fail_after(5), pytest.raises(RpcError) as err:
            await conn.call_action("TOO_SLOW")
    assert err.value.code == ErrorCode.REQUEST_TIMEOUT


async def test_validate_provider_and_evaluator() -> None:
    async with connect(app()) as conn:
        from elizapy.sidekick.wire import ActionValidateParams

        with anyio.fail_after(5):
            assert await conn.client.validate_action(
                ActionValidateParams(invocation="i", name="ANSWERS", message=conn.message("why?"))
            )
            assert not await conn.client.validate_action(
                ActionValidateParams(invocation="i", name="ANSWERS", message=conn.message("statement"))
            )
            facts_out = await conn.get_provider("FACTS")
            assert facts_out.text == f"facts for {conn.host.agent.id}" and facts_out.values == {"n": 1}
            assert await conn.client.validate_evaluator(
                EvaluatorValidateParams(invocation="i", name="JUDGE", message=conn.message("ok?"))
            )
            judged = await conn.client.invoke_evaluator(
                EvaluatorInvokeParams(invocation="i", name="JUDGE", message=conn.message("ok?"))
            )
    assert judged.result is not None and judged.result.text == "judged ok?"


async def test_services_start_stop_and_stop_on_shutdown() -> None:
    started.clear()
    host = FakeHost(settings={"COLOR": "red"})
    async with connect(app(), host) as conn:
        with anyio.fail_after(5):
            await conn.client.start_service("recorder")
            await conn.client.start_service("recorder")  # idempotent
            assert started == ["red"]
            await conn.client.stop_service("recorder")
            assert started == ["red", "stopped"]
            await conn.client.start_service("recorder")
            await conn.client.shutdown()
    assert started == ["red", "stopped", "red", "stopped"]


async def test_a_blocking_sync_action_runs_off_the_event_loop() -> None:
    result: list[ActionResult | None] = []
    async with connect(app()) as conn:

        async def call() -> None:
            result.append(await conn.call_action("BLOCKING_SYNC"))

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await anyio.to_thread.run_sync(entered_sync.wait, 5)
                await conn.client.ping()  # answered while the sync action is blocked in its thread
                assert result == []
                release_sync.set()
    assert result[0] is not None and result[0].text == "released"


async def test_ping_reports_uptime_and_load() -> None:
    async with connect(app()) as conn:
        with anyio.fail_after(5):
            pong = await conn.client.ping()
    assert pong.uptime_s >= 0 and pong.in_flight == 1


async def test_loosely_typed_message_fields_from_ts_are_dropped_not_fatal() -> None:
    async with connect(app()) as conn:
        message = conn.message("hello").to_wire()
        message["content"]["channelType"] = "CUSTOM_CONNECTOR_TYPE"
        message["content"]["attachments"] = [{"title": "no id, no url"}]
        params = {
            "invocation": "i",
            "name": "GREET",
            "message": message,
            "options": {"parameters": {"name": "Di"}},
        }
        with anyio.fail_after(5):
            raw = await conn.dispatcher.request("action/invoke", params)
            assert raw["result"]["text"] == "greeted Di"
            del message["roomId"]
            with pytest.raises(RpcError) as err:
                await conn.dispatcher.request("action/invoke", params)
    assert err.value.code == ErrorCode.INVALID_PARAMS
    assert err.value.message == "invalid params for action/invoke: message.roomId: Field required"
