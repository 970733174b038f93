"""The metrics store: live-agent event plugin, model latency, spans (OTLP JSON lines), perf results."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from elizapy.bench.metrics import MetricsStore, SpanRecord, otel_span_exporter, record_perf
from elizapy.connectors.direct import Conversation
from elizapy.models import ModelGateway, TextRequest, TextResult
from elizapy.models.base import ToolCall
from elizapy.models.testing import FunctionModel
from elizapy.reasoning import ToolLoopReasoner, tool
from elizapy.runtime import AgentRuntime, Plugin
from elizapy.store.sqlite import SqliteStore
from elizapy.types import Character, ModelType


@tool
async def slow_lookup(key: str) -> str:
    """Look a key up (takes 30 ms)."""
    await anyio.sleep(0.03)
    return f"value of {key}"


@tool
def broken(key: str) -> str:
    """Always fails."""
    raise RuntimeError("no luck")


def _model(model_type: ModelType, request: TextRequest) -> TextResult:
    if any(m.role == "tool" for m in request.messages or []):
        return TextResult(text="here you go", model="fn-model")
    return TextResult(
        tool_calls=[ToolCall("a", "slow_lookup", {"key": "x"}), ToolCall("b", "broken", {"key": "y"})],
        model="fn-model",
    )


async def _agent(store: MetricsStore, run_id: str) -> AgentRuntime:
    gateway = ModelGateway()
    gateway.register_provider(store.timed(FunctionModel(_model, latency_s=0.02)))
    rt = AgentRuntime(
        Character(name="M", bio=["b"]),
        store=SqliteStore(":memory:"),
        models=gateway,
        plugins=[
            Plugin(name="tools", actions=[slow_lookup, broken]),
            store.plugin(run_id, attributes={"case": "live"}),
        ],
        reasoner=ToolLoopReasoner(),
        settings={"EMBED_MESSAGES": False},
    )
    await rt.initialize()
    return rt


async def test_event_plugin_records_turns_model_and_tool_calls_with_timings(tmp_path: Path) -> None:
    store = MetricsStore(tmp_path / "m.db")
    store.start_run("live-1", kind="live", leg="Python-first", agent="M")
    rt = await _agent(store, "live-1")
    conv = Conversation(rt)
    r1 = await conv.send("look up x")
    r2 = await conv.send("again")
    await rt.stop()
    store.end_run("live-1")

    turns = store.query("SELECT * FROM turns WHERE run_id='live-1' ORDER BY started_ns")
    assert [t["turn_id"] for t in turns] == [r1.run_id, r2.run_id]
    assert all(t["status"] == "responded" and t["model_calls"] == 2 for t in turns)
    assert turns[0]["prompt_tokens"] == r1.stats.prompt_tokens > 0

    calls = store.query("SELECT * FROM model_calls WHERE run_id='live-1'")
    assert len(calls) == 4 and {c["turn_id"] for c in calls} == {r1.run_id, r2.run_id}
    assert all(c["model_type"] == "TEXT_LARGE" and c["latency_ms"] >= 15 for c in calls)
    assert all(c["model"] == "fn-model" for c in calls)  # the answering model's name is kept

    tools = store.query("SELECT * FROM tool_calls WHERE run_id='live-1' ORDER BY name, started_ns")
    assert [(t["name"], t["success"]) for t in tools] == [("broken", 0)] * 2 + [("slow_lookup", 1)] * 2
    assert all(t["latency_ms"] >= 25 for t in tools if t["name"] == "slow_lookup")
    assert "no luck" in (tools[0]["error"] or "")
    errors = store.query("SELECT * FROM errors WHERE run_id='live-1'")
    assert len(errors) == 2 and all("no luck" in e["message"] for e in errors)


async def test_spans_form_one_trace_and_export_as_otlp_json_lines(tmp_path: Path) -> None:
    store = MetricsStore(tmp_path / "m.db")
    rt = await _agent(store, "live-2")
    result = await Conversation(rt).send("look up x")
    await rt.stop()
    spans = store.spans(run_id="live-2")
    assert {s.trace_id for s in spans} and len({s.trace_id for s in spans}) == 1
    root = [s for s in spans if s.parent_span_id is None]
    assert [s.name for s in root] == ["elizapy.message_run"]
    assert root[0].attributes["elizapy.run_id"] == result.run_id
    children = [s for s in spans if s.parent_span_id == root[0].span_id]
    assert sorted(s.name for s in children) == [
        "elizapy.action broken",
        "elizapy.action slow_lookup",
        "elizapy.model TEXT_LARGE",
        "elizapy.model TEXT_LARGE",
    ]
    assert all(root[0].start_ns <= s.start_ns <= s.end_ns <= root[0].end_ns for s in children)
    assert [s.status for s in children if s.name.endswith("broken")] == ["ERROR"]

    n = store.export_spans_jsonl(tmp_path / "spans.jsonl", run_id="live-2")
    lines = [json.loads(x) for x in (tmp_path / "spans.jsonl").read_text().splitlines()]
    assert n == len(lines) == len(spans)
    for obj in lines:
        assert len(obj["traceId"]) == 32 and len(obj["spanId"]) == 16
        assert int(obj["endTimeUnixNano"]) >= int(obj["startTimeUnixNano"])
        assert all(
            set(a["value"]) <= {"stringValue", "intValue", "doubleValue", "boolValue"}
            for a in obj["attributes"]
        )


def test_span_record_maps_attribute_types() -> None:
    s = SpanRecord(
        "a" * 32, "b" * 16, "x", 1, 2, attributes={"i": 3, "f": 0.5, "b": True, "s": "t", "l": [1]}
    )
    values = {a["key"]: a["value"] for a in s.to_otlp()["attributes"]}
    assert values == {
        "i": {"intValue": "3"},
        "f": {"doubleValue": 0.5},
        "b": {"boolValue": True},
        "s": {"stringValue": "t"},
        "l": {"stringValue": "[1]"},
    }


def test_perf_results_are_stored_and_the_latest_wins(tmp_path: Path) -> None:
    store = MetricsStore(tmp_path / "m.db")
    first: dict[str, Any] = {
        "P1": {
            "name": "overhead",
            "ours": 1.5,
            "anchor": 60.0,
            "ratio": 40.0,
            "unit": "ms",
            "goal": "<= 2 ms",
            "met": True,
            "reps_p50": [1.4, 1.5],
        },
        "P7": {"name": "footprint", "ours": 9.0, "anchor": None, "ratio": None, "met": True},
    }
    run1 = record_perf(first, store, run_id="perf-a")
    run2 = store.record_perf({"P1": {**first["P1"], "ours": 1.2}}, run_id="perf-b")
    assert (run1, run2) == ("perf-a", "perf-b")
    latest = store.latest_perf()
    assert latest["P1"]["ours"] == 1.2 and latest["P1"]["run_id"] == "perf-b"
    assert latest["P7"]["anchor"] is None and latest["P7"]["detail"]["name"] == "footprint"
    assert latest["P1"]["detail"]["reps_p50"] == [1.4, 1.5]
    assert [r["kind"] for r in store.runs()] == ["perf", "perf"]


def test_store_is_plain_sqlite_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with MetricsStore(path) as store:
        store.start_run("r", kind="tau2", domain="mock", agent="oracle")
        store.record_trial("r", {"task_id": "t1", "trial": 0, "reward": 1.0, "success": True, "errors": []})
        store.record_trial(
            "r", {"task_id": "t1", "trial": 0, "reward": 0.0, "success": False, "error": "boom"}
        )  # a re-run of the same trial replaces it
        store.end_run("r", summary={"pass_hat_k": [0.0]})
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT reward, errors_json FROM trials").fetchall() == [(0.0, '["boom"]')]
    with MetricsStore(path) as store:
        (run,) = store.runs("tau2")
        assert run["status"] == "ok" and run["summary"] == {"pass_hat_k": [0.0]}


def test_opentelemetry_sdk_spans_can_be_written_to_the_store(tmp_path: Path) -> None:
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    store = MetricsStore(tmp_path / "m.db")
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(otel_span_exporter(store, run_id="otel")))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner") as inner:
        inner.set_attribute("k", 1)
    spans = {s.name: s for s in store.spans(run_id="otel")}
    assert spans["inner"].parent_span_id == spans["outer"].span_id and spans["inner"].attributes == {"k": 1}
