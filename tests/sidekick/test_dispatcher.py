"""The JSON-RPC dispatcher over the in-memory transport: ids, timeouts, cancellation, frame bounds, malformed
frames, backpressure and the exception → error mapping."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from elizapy.sidekick.dispatcher import RequestContext
from elizapy.sidekick.errors import ConnectionClosed, FrameTooLarge, HandlerFailed, RequestTimeout, RpcError
from elizapy.sidekick.wire import ErrorCode, Limits, Params, ProgressParams

from .conftest import dispatcher_pair, raw_to_dispatcher


async def echo(method: str, params: Params, ctx: RequestContext) -> Any:
    return {"method": method, "params": params, "id": ctx.id}


async def test_concurrent_requests_get_their_own_answers_even_out_of_order() -> None:
    release: dict[int, anyio.Event] = {i: anyio.Event() for i in range(5)}

    async def slow(method: str, params: Params, ctx: RequestContext) -> Any:
        assert isinstance(params, dict)
        await release[params["n"]].wait()
        return params["n"] * 10

    results: dict[int, int] = {}
    async with dispatcher_pair(slow) as (client, _):

        async def one(n: int) -> None:
            results[n] = await client.request("work", {"n": n})

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for n in range(5):
                    tg.start_soon(one, n)
                for n in reversed(range(5)):  # answer in reverse order
                    await anyio.wait_all_tasks_blocked()
                    release[n].set()
    assert results == {n: n * 10 for n in range(5)}


async def test_request_ids_are_unique_and_increasing() -> None:
    async with dispatcher_pair(echo) as (client, _):
        with anyio.fail_after(5):
            ids = [(await client.request("m", {}))["id"] for _ in range(3)]
    assert ids == sorted(set(ids)) and len(ids) == 3


async def test_timeout_raises_and_cancels_the_remote_handler() -> None:
    cancelled = anyio.Event()

    async def forever(method: str, params: Params, ctx: RequestContext) -> Any:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    async with dispatcher_pair(forever) as (client, server):
        with anyio.fail_after(5):
            with pytest.raises(RequestTimeout, match=r"hang got no answer within 0\.2s"):
                await client.request("hang", {}, timeout_s=0.2)
            await cancelled.wait()  # the $/cancelRequest reached the handler
            assert server.in_flight == 0


async def test_cancelling_the_caller_cancels_the_remote_handler() -> None:
    started = anyio.Event()
    cancelled = anyio.Event()

    async def forever(method: str, params: Params, ctx: RequestContext) -> Any:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    async with dispatcher_pair(forever) as (client, _):
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.request, "hang", {})
                await started.wait()
                tg.cancel_scope.cancel()
            await cancelled.wait()


async def test_a_cancelled_request_is_answered_request_cancelled() -> None:
    started = anyio.Event()

    async def forever(method: str, params: Params, ctx: RequestContext) -> Any:
        started.set()
        await anyio.sleep_forever()

    async with raw_to_dispatcher(forever) as (raw, _):
        await raw.send({"jsonrpc": "2.0", "id": 3, "method": "hang"})
        with anyio.fail_after(5):
            await started.wait()
        await raw.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 3}})
        answer = await raw.receive()
    assert answer["id"] == 3
    assert answer["error"]["code"] == ErrorCode.REQUEST_CANCELLED


async def test_handler_timeout_answers_request_timeout() -> None:
    async def forever(method: str, params: Params, ctx: RequestContext) -> Any:
        await anyio.sleep_forever()

    async with dispatcher_pair(forever) as (client, server):
        server.handler_timeout_s = 0.1
        with anyio.fail_after(5), pytest.raises(RpcError) as err:
            await client.request("hang", {})
    assert err.value.code == ErrorCode.REQUEST_TIMEOUT


async def test_oversize_frame_gets_an_error_with_its_id_and_the_connection_survives() -> None:
    async with raw_to_dispatcher(echo, max_frame_bytes=2048) as (raw, _):
        big = {"jsonrpc": "2.0", "id": 11, "method": "m", "params": {"blob": "x" * 5000}}
        await raw.send(big)
        answer = await raw.receive()
        assert answer["id"] == 11
        assert answer["error"]["code"] == ErrorCode.FRAME_TOO_LARGE
        assert answer["error"]["data"]["maxFrameBytes"] == 2048
        await raw.send({"jsonrpc": "2.0", "id": 12, "method": "m", "params": {}})
        answer = await raw.receive()
    assert answer == {"jsonrpc": "2.0", "id": 12, "result": {"method": "m", "params": {}, "id": 12}}


async def test_oversize_notification_is_dropped_silently() -> None:
    async with raw_to_dispatcher(echo, max_frame_bytes=2048) as (raw, srv):
        await raw.send({"jsonrpc": "2.0", "method": "note", "params": {"blob": "x" * 5000}})
        await raw.send({"jsonrpc": "2.0", "id": 1, "method": "m"})
        answer = await raw.receive()
    assert answer["id"] == 1 and "result" in answer
    assert srv.handler.notes == []  # type: ignore[attr-defined]


async def test_a_result_too_large_for_the_peer_becomes_an_error_answer() -> None:
    async def big(method: str, params: Params, ctx: RequestContext) -> Any:
        return "x" * 5000 if method == "big" else "small"

    async with dispatcher_pair(big, max_frame_bytes=2048) as (client, server):
        server.set_peer_limits(Limits(max_frame_bytes=2048))
        with anyio.fail_after(5), pytest.raises(RpcError) as err:
            await client.request("big", {})
        assert err.value.code == ErrorCode.FRAME_TOO_LARGE
        # when the sender does not know the limit, the receiver drops the frame and fails the request itself
        server.set_peer_limits(Limits(max_frame_bytes=1 << 20))
        with anyio.fail_after(5):
            with pytest.raises(FrameTooLarge, match="exceeds this side's maxFrameBytes"):
                await client.request("big", {})
            assert await client.request("other", {}) == "small"  # the connection is still usable


async def test_an_outgoing_frame_over_the_peers_limit_is_refused_before_sending() -> None:
    async with dispatcher_pair(echo) as (client, _):
        client.set_peer_limits(Limits(max_frame_bytes=1024))
        with pytest.raises(FrameTooLarge, match="exceeds the peer's maxFrameBytes"):
            await client.request("m", {"blob": "y" * 2000})
        with anyio.fail_after(5):
            assert (await client.request("m", {"small": 1}))["params"] == {"small": 1}


@pytest.mark.parametrize(
    ("frame", "code", "rid"),
    [
        (b"{not json", ErrorCode.PARSE_ERROR, None),
        (b'{"jsonrpc":"2.0","id":7,"method":5}', ErrorCode.INVALID_REQUEST, 7),
        (b'{"jsonrpc":"1.0","id":8,"method":"m"}', ErrorCode.INVALID_REQUEST, 8),
        (b'{"jsonrpc":"2.0","id":9,"method":"m","params":"text"}', ErrorCode.INVALID_REQUEST, 9),
        (b'[{"jsonrpc":"2.0","id":1,"method":"m"}]', ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":10,"method":"m","extra":1}', ErrorCode.INVALID_REQUEST, 10),
        (b'"just a string"', ErrorCode.INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":true,"method":"m"}', ErrorCode.INVALID_REQUEST, None),
    ],
)
async def test_malformed_frames_get_json_rpc_errors_never_a_crash(
    frame: bytes, code: int, rid: object
) -> None:
    async with raw_to_dispatcher(echo) as (raw, _):
        await raw.send_raw(frame)
        answer = await raw.receive()
        assert answer["error"]["code"] == code
        assert answer["id"] == rid
        await raw.send({"jsonrpc": "2.0", "id": 99, "method": "after"})
        assert (await raw.receive())["result"]["method"] == "after"


async def test_unknown_method_and_malformed_responses() -> None:
    async with raw_to_dispatcher(None) as (raw, _):
        await raw.send({"jsonrpc": "2.0", "id": 1, "method": "nope"})
        answer = await raw.receive()
        assert answer["error"] == {"code": ErrorCode.METHOD_NOT_FOUND, "message": "method not found: nope"}
        # answers to nothing and broken answers are ignored, not echoed back
        await raw.send({"jsonrpc": "2.0", "id": 555, "result": 1})
        await raw.send({"jsonrpc": "2.0", "id": 556, "error": {"code": "bad"}})
        await raw.send({"jsonrpc": "2.0", "id": 2, "method": "nope2"})
        assert (await raw.receive())["id"] == 2


async def test_duplicate_in_flight_id_is_refused() -> None:
    gate = anyio.Event()

    async def wait(method: str, params: Params, ctx: RequestContext) -> Any:
        await gate.wait()
        return "done"

    async with raw_to_dispatcher(wait) as (raw, _):
        await raw.send({"jsonrpc": "2.0", "id": "a", "method": "m"})
        await raw.send({"jsonrpc": "2.0", "id": "a", "method": "m"})
        dup = await raw.receive()
        assert dup["error"]["code"] == ErrorCode.INVALID_REQUEST and dup["id"] == "a"
        gate.set()
        assert (await raw.receive()) == {"jsonrpc": "2.0", "id": "a", "result": "done"}


async def test_requests_beyond_max_in_flight_are_answered_overloaded() -> None:
    gate = anyio.Event()
    entered = 0

    async def wait(method: str, params: Params, ctx: RequestContext) -> Any:
        nonlocal entered
        entered += 1
        await gate.wait()
        return ctx.id

    async with raw_to_dispatcher(wait, max_in_flight=2) as (raw, _):
        for i in range(3):
            await raw.send({"jsonrpc": "2.0", "id": i, "method": "m"})
        first = await raw.receive()
        assert first["id"] == 2 and first["error"]["code"] == ErrorCode.OVERLOADED
        assert entered == 2
        gate.set()
        done = {(await raw.receive())["id"], (await raw.receive())["id"]}
    assert done == {0, 1}


async def test_the_sender_never_exceeds_the_peers_max_in_flight() -> None:
    active = 0
    peak = 0

    async def work(method: str, params: Params, ctx: RequestContext) -> Any:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.01)
        active -= 1
        return ctx.id

    async with dispatcher_pair(work, server_max_in_flight=2) as (client, _):
        client.set_peer_limits(Limits(max_in_flight=2))
        results: list[Any] = []

        async def one() -> None:
            results.append(await client.request("m", {}))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(one)
    assert len(results) == 8  # none was refused as OVERLOADED: the client waited for slots
    assert peak == 2


async def test_exceptions_map_to_json_rpc_errors_in_one_place() -> None:
    async def failing(method: str, params: Params, ctx: RequestContext) -> Any:
        if method == "value":
            raise ValueError("bad value")
        if method == "rpc":
            raise RpcError(-32050, "custom", {"why": "test"})
        if method == "timeout":
            raise TimeoutError("took too long")
        if method == "unserializable":
            return {"x": object()}
        return "ok"

    async with dispatcher_pair(failing) as (client, _):
        with anyio.fail_after(5):
            with pytest.raises(HandlerFailed) as err:
                await client.request("value", {})
            assert err.value.message == "ValueError: bad value"
            assert err.value.data["exception"] == "ValueError"
            assert "bad value" in err.value.data["traceback"]
            with pytest.raises(RpcError) as err2:
                await client.request("rpc", {})
            assert (err2.value.code, err2.value.data) == (-32050, {"why": "test"})
            with pytest.raises(RpcError) as err3:
                await client.request("timeout", {})
            assert err3.value.code == ErrorCode.REQUEST_TIMEOUT
            with pytest.raises(RpcError) as err4:
                await client.request("unserializable", {})
            assert err4.value.code == ErrorCode.INTERNAL_ERROR
            assert await client.request("fine", {}) == "ok"  # the connection outlived every failure


async def test_progress_notifications_reach_the_caller() -> None:
    async def reporting(method: str, params: Params, ctx: RequestContext) -> Any:
        await ctx.progress("half", 1, 2)
        await ctx.progress("all", 2, 2)
        return "done"

    seen: list[ProgressParams] = []
    async with dispatcher_pair(reporting) as (client, _):
        with anyio.fail_after(5):
            assert await client.request("m", {}, on_progress=seen.append) == "done"
    assert [(p.message, p.progress, p.total) for p in seen] == [("half", 1, 2), ("all", 2, 2)]


async def test_pending_requests_fail_when_the_peer_hangs_up() -> None:
    started = anyio.Event()

    async def forever(method: str, params: Params, ctx: RequestContext) -> Any:
        started.set()
        await anyio.sleep_forever()

    async with raw_to_dispatcher(None) as (raw, client):
        errors: list[BaseException] = []

        async def call() -> None:
            try:
                await client.request("m", {})
            except ConnectionClosed as exc:
                errors.append(exc)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                frame = await raw.receive()
                assert frame["method"] == "m"
                await raw.t.write.aclose()
        assert len(errors) == 1
        with pytest.raises(ConnectionClosed):
            await client.request("again", {})


async def test_notifications_reach_the_handler_in_order() -> None:
    async with raw_to_dispatcher(None) as (raw, srv):
        for i in range(5):
            await raw.send({"jsonrpc": "2.0", "method": "note", "params": {"i": i}})
        await raw.send({"jsonrpc": "2.0", "id": 1, "method": "sync"})
        await raw.receive()  # answered after the notifications were handled
    assert [p["i"] for _, p in srv.handler.notes] == [0, 1, 2, 3, 4]  # type: ignore[attr-defined,index]


def test_frames_are_compact_single_lines() -> None:
    from elizapy.sidekick.dispatcher import encode

    frame = encode({"jsonrpc": "2.0", "id": 1, "method": "m", "params": {"text": "a\nb ü"}})
    assert b"\n" not in frame
    assert json.loads(frame)["params"]["text"] == "a\nb ü"
