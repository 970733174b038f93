"""The metrics store: benchmark runs, trials, agent turns, model and tool calls, errors and spans (SQLite).

Everything stays local. Spans follow OpenTelemetry's data model (trace id, span id, parent, name, start/end in
ns since the epoch, attributes) and export as OTLP-JSON span objects, one per line
(:meth:`MetricsStore.export_spans_jsonl`); with ``opentelemetry-sdk`` installed, :func:`otel_span_exporter`
lets an SDK tracer provider write its spans into the same store. Nothing is ever sent anywhere.

Live agents write here through :meth:`MetricsStore.plugin`, an ordinary event-handler plugin
(RUN_STARTED/RUN_ENDED/ACTION_STARTED/ACTION_COMPLETED/MODEL_USED) that any runtime can load; wrap the model
provider with :meth:`MetricsStore.timed` to get model-call latencies too. ``bench/perf.py`` results go in with
:func:`record_perf`.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models.base import ModelProvider, TextRequest, TextResult
from ..runtime.plugin import Plugin
from ..runtime.runtime import RunStats, current_run
from ..types import EventType, ModelType

DEFAULT_DB = Path(".elizapy/metrics.db")
LEGS = ("TS only", "TS + sidekick", "Python-first")


def default_db_path() -> Path:
    return Path(os.environ.get("ELIZAPY_METRICS_DB") or DEFAULT_DB)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


@dataclass(slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    name: str
    start_ns: int
    end_ns: int
    parent_span_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "OK"
    """OK or ERROR (OpenTelemetry's status codes, UNSET mapped to OK)."""

    def to_otlp(self) -> dict[str, Any]:
        """The span as OTLP/JSON (the protobuf JSON mapping OpenTelemetry collectors read)."""
        return {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "parentSpanId": self.parent_span_id or "",
            "name": self.name,
            "kind": 1,
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(self.end_ns),
            "attributes": [{"key": k, "value": _any_value(v)} for k, v in sorted(self.attributes.items())],
            "status": {"code": 2 if self.status == "ERROR" else 1},
        }


def _any_value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    return {"stringValue": json.dumps(v, default=str)}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, leg TEXT, domain TEXT, agent TEXT, model_id TEXT,
  git_commit TEXT, task_file_sha256 TEXT, started_at TEXT, ended_at TEXT, status TEXT,
  config_json TEXT, summary_json TEXT);
CREATE TABLE IF NOT EXISTS trials (
  run_id TEXT NOT NULL, task_id TEXT NOT NULL, trial INTEGER NOT NULL, reward REAL, success INTEGER,
  termination TEXT, duration_s REAL, model_calls INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
  tool_calls INTEGER, tool_errors INTEGER, errors_json TEXT, record_json TEXT,
  PRIMARY KEY (run_id, task_id, trial));
CREATE TABLE IF NOT EXISTS turns (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, turn_id TEXT, trace_id TEXT, started_ns INTEGER,
  ended_ns INTEGER, duration_ms REAL, status TEXT, model_calls INTEGER, prompt_tokens INTEGER,
  completion_tokens INTEGER, error TEXT, attributes_json TEXT);
CREATE TABLE IF NOT EXISTS model_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, turn_id TEXT, model_type TEXT, model TEXT,
  started_ns INTEGER, ended_ns INTEGER, latency_ms REAL, prompt_tokens INTEGER, completion_tokens INTEGER,
  attributes_json TEXT);
CREATE TABLE IF NOT EXISTS tool_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, turn_id TEXT, name TEXT, started_ns INTEGER,
  ended_ns INTEGER, latency_ms REAL, success INTEGER, error TEXT, attributes_json TEXT);
CREATE TABLE IF NOT EXISTS errors (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, turn_id TEXT, kind TEXT, message TEXT, at_ns INTEGER);
CREATE TABLE IF NOT EXISTS spans (
  span_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, parent_span_id TEXT, name TEXT NOT NULL,
  start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, status TEXT, run_id TEXT, attributes_json TEXT);
CREATE TABLE IF NOT EXISTS perf (
  run_id TEXT NOT NULL, scenario TEXT NOT NULL, leg TEXT, name TEXT, ours REAL, anchor REAL, ratio REAL,
  unit TEXT, goal TEXT, met INTEGER, noisy INTEGER, detail_json TEXT, PRIMARY KEY (run_id, scenario));
CREATE INDEX IF NOT EXISTS idx_model_calls_run ON model_calls(run_id);
CREATE INDEX IF NOT EXISTS idx_tool_calls_run ON tool_calls(run_id);
CREATE INDEX IF NOT EXISTS idx_turns_run ON turns(run_id);
CREATE INDEX IF NOT EXISTS idx_spans_trace ON spans(trace_id);
"""


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


class MetricsStore:
    """Thread-safe SQLite store (WAL); one connection shared by the harness's threads and event loop."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> MetricsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, tuple(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, tuple(params)).fetchall()]

    # --- runs and trials -------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        kind: str,
        leg: str | None = None,
        domain: str | None = None,
        agent: str | None = None,
        model_id: str | None = None,
        git_commit: str | None = None,
        task_file_sha256: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Create (or, when resuming, reopen) a run."""
        self._exec(
            "INSERT INTO runs (run_id, kind, leg, domain, agent, model_id, git_commit, task_file_sha256, "
            "started_at, status, config_json) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE "
            "SET status='running', ended_at=NULL, git_commit=excluded.git_commit",
            (
                run_id,
                kind,
                leg,
                domain,
                agent,
                model_id,
                git_commit,
                task_file_sha256,
                _now_iso(),
                "running",
                json.dumps(dict(config or {}), default=str),
            ),
        )

    def end_run(self, run_id: str, *, status: str = "ok", summary: Mapping[str, Any] | None = None) -> None:
        self._exec(
            "UPDATE runs SET ended_at=?, status=?, summary_json=? WHERE run_id=?",
            (_now_iso(), status, json.dumps(dict(summary or {}), default=str), run_id),
        )

    def record_trial(self, run_id: str, record: Mapping[str, Any]) -> None:
        self._exec(
            "INSERT OR REPLACE INTO trials (run_id, task_id, trial, reward, success, termination, "
            "duration_s, model_calls, prompt_tokens, completion_tokens, tool_calls, tool_errors, "
            "errors_json, record_json) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                str(record["task_id"]),
                int(record["trial"]),
                _num(record.get("reward")),
                int(bool(record.get("success"))),
                record.get("termination"),
                _num(record.get("duration_s")),
                record.get("model_calls"),
                record.get("prompt_tokens"),
                record.get("completion_tokens"),
                record.get("tool_calls"),
                record.get("tool_errors"),
                json.dumps(
                    [*(record.get("errors") or []), *([record["error"]] if record.get("error") else [])]
                ),
                json.dumps(dict(record), default=str),
            ),
        )

    def runs(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs" + (" WHERE kind=?" if kind else "") + " ORDER BY started_at, run_id"
        rows = self.query(sql, (kind,) if kind else ())
        for r in rows:
            r["config"] = json.loads(r.pop("config_json") or "{}")
            r["summary"] = json.loads(r.pop("summary_json") or "{}")
        return rows

    def trials(self, run_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM trials WHERE run_id=? ORDER BY trial, task_id", (run_id,))

    # --- turns, calls, errors, spans -------------------------------------------------------------------

    def add_span(self, span: SpanRecord, run_id: str | None = None) -> None:
        self._exec(
            "INSERT OR REPLACE INTO spans (span_id, trace_id, parent_span_id, name, start_ns, end_ns, "
            "status, run_id, attributes_json) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                span.span_id,
                span.trace_id,
                span.parent_span_id,
                span.name,
                span.start_ns,
                span.end_ns,
                span.status,
                run_id,
                json.dumps(span.attributes, default=str),
            ),
        )

    def spans(self, *, run_id: str | None = None, trace_id: str | None = None) -> list[SpanRecord]:
        where, params = [], []
        if run_id is not None:
            where.append("run_id=?")
            params.append(run_id)
        if trace_id is not None:
            where.append("trace_id=?")
            params.append(trace_id)
        sql = (
            "SELECT * FROM spans" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY start_ns"
        )
        return [
            SpanRecord(
                trace_id=r["trace_id"],
                span_id=r["span_id"],
                name=r["name"],
                start_ns=r["start_ns"],
                end_ns=r["end_ns"],
                parent_span_id=r["parent_span_id"],
                status=r["status"] or "OK",
                attributes=json.loads(r["attributes_json"] or "{}"),
            )
            for r in self.query(sql, params)
        ]

    def export_spans_jsonl(self, path: str | Path, *, run_id: str | None = None) -> int:
        """Write spans as OTLP/JSON span objects, one per line; returns how many."""
        spans = self.spans(run_id=run_id)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w") as f:
            for s in spans:
                f.write(json.dumps(s.to_otlp()) + "\n")
        return len(spans)

    def record_error(self, run_id: str, kind: str, message: str, turn_id: str | None = None) -> None:
        self._exec(
            "INSERT INTO errors (run_id, turn_id, kind, message, at_ns) VALUES (?,?,?,?,?)",
            (run_id, turn_id, kind, message, time.time_ns()),
        )

    # --- live agents ------------------------------------------------------------------------------------

    def plugin(
        self, run_id: str, *, attributes: Mapping[str, Any] | None = None, trace_id: str | None = None
    ) -> Plugin:
        """An event-handler plugin recording this runtime's turns, model and tool calls under ``run_id``."""
        return _MetricsRecorder(self, run_id, dict(attributes or {}), trace_id or new_trace_id()).as_plugin()

    def timed(self, provider: ModelProvider) -> ModelProvider:
        """Wrap a model provider so the plugin can record each model call's latency."""
        return TimedProvider(provider)

    # --- perf results -----------------------------------------------------------------------------------

    def record_perf(
        self,
        results: Mapping[str, Mapping[str, Any]],
        *,
        run_id: str | None = None,
        leg: str = "Python-first",
        git_commit: str | None = None,
    ) -> str:
        """Store ``bench/perf.py`` results (``{scenario_id: {ours, anchor, ratio, unit, goal, met, …}}``)."""
        run_id = run_id or f"perf-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        self.start_run(
            run_id, kind="perf", leg=leg, git_commit=git_commit, config={"scenarios": sorted(results)}
        )
        for sid, r in results.items():
            self._exec(
                "INSERT OR REPLACE INTO perf (run_id, scenario, leg, name, ours, anchor, ratio, unit, goal, "
                "met, "
                "noisy, detail_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    sid,
                    leg,
                    r.get("name"),
                    _num(r.get("ours")),
                    _num(r.get("anchor")),
                    _num(r.get("ratio")),
                    r.get("unit"),
                    None if r.get("goal") is None else str(r.get("goal")),
                    None if r.get("met") is None else int(bool(r.get("met"))),
                    int(bool(r.get("noisy"))),
                    json.dumps(dict(r), default=str),
                ),
            )
        self.end_run(run_id, status="ok", summary={"scenarios": len(results)})
        return run_id

    def latest_perf(self) -> dict[str, dict[str, Any]]:
        """The newest stored result of each perf scenario."""
        rows = self.query(
            "SELECT p.*, r.started_at FROM perf p JOIN runs r ON r.run_id = p.run_id "
            "ORDER BY r.started_at, p.run_id"
        )
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            r["detail"] = json.loads(r.pop("detail_json") or "{}")
            out[r["scenario"]] = r
        return out


def record_perf(
    results: Mapping[str, Mapping[str, Any]],
    store: MetricsStore | None = None,
    *,
    run_id: str | None = None,
    leg: str = "Python-first",
) -> str:
    """Store perf results in ``store`` (default: the metrics DB at ``ELIZAPY_METRICS_DB`` or .elizapy/)."""
    if store is not None:
        return store.record_perf(results, run_id=run_id, leg=leg)
    with MetricsStore() as s:
        return s.record_perf(results, run_id=run_id, leg=leg)


# --- model latency ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ModelTiming:
    start_ns: int
    end_ns: int
    model: str | None

    @property
    def latency_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


last_model_call: ContextVar[ModelTiming | None] = ContextVar("elizapy_last_model_call", default=None)
"""Set by :class:`TimedProvider` in the caller's context, read by the MODEL_USED handler right after."""


class TimedProvider:
    """A transparent :class:`ModelProvider` wrapper that times ``generate``."""

    def __init__(self, inner: ModelProvider) -> None:
        self.inner = inner
        self.name = inner.name

    @property
    def model_types(self) -> frozenset[ModelType]:
        return self.inner.model_types

    @property
    def native_tools(self) -> bool:
        return self.inner.native_tools

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        start = time.time_ns()
        result = await self.inner.generate(model_type, request)
        last_model_call.set(ModelTiming(start, time.time_ns(), result.model))
        return result

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        return await self.inner.embed(model_type, texts)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


# --- the event-handler plugin -------------------------------------------------------------------------------


@dataclass(slots=True)
class _OpenTurn:
    turn_id: str
    span_id: str
    start_ns: int
    stats: RunStats | None


class _MetricsRecorder:
    def __init__(self, store: MetricsStore, run_id: str, attributes: dict[str, Any], trace_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.attributes = attributes
        self.trace_id = trace_id
        self._turns: dict[str, _OpenTurn] = {}
        self._by_stats: dict[int, str] = {}
        self._actions: dict[tuple[str, str, int], tuple[int, str]] = {}

    def as_plugin(self) -> Plugin:
        return Plugin(
            name=f"metrics:{self.run_id}",
            description="Records turns, model and tool calls.",
            events={
                EventType.RUN_STARTED: [self.run_started],
                EventType.RUN_ENDED: [self.run_ended],
                EventType.ACTION_STARTED: [self.action_started],
                EventType.ACTION_COMPLETED: [self.action_completed],
                EventType.MODEL_USED: [self.model_used],
            },
        )

    def _turn_for_context(self) -> _OpenTurn | None:
        stats = current_run.get()
        turn_id = self._by_stats.get(id(stats)) if stats is not None else None
        return self._turns.get(turn_id) if turn_id else None

    async def run_started(self, payload: Mapping[str, Any]) -> None:
        turn_id = str(payload.get("runId"))
        stats = current_run.get()
        self._turns[turn_id] = _OpenTurn(turn_id, new_span_id(), time.time_ns(), stats)
        if stats is not None:
            self._by_stats[id(stats)] = turn_id

    async def run_ended(self, payload: Mapping[str, Any]) -> None:
        turn_id = str(payload.get("runId"))
        turn = self._turns.pop(turn_id, None)
        end = time.time_ns()
        if turn is None:
            return
        if turn.stats is not None:
            self._by_stats.pop(id(turn.stats), None)
        stats = turn.stats or RunStats()
        status = str(payload.get("status") or "")
        error = payload.get("error")
        attrs = {
            **self.attributes,
            "elizapy.run_id": turn_id,
            "elizapy.status": status,
            "elizapy.model_calls": stats.model_calls,
            "gen_ai.usage.input_tokens": stats.prompt_tokens,
            "gen_ai.usage.output_tokens": stats.completion_tokens,
        }
        self.store._exec(
            "INSERT INTO turns (run_id, turn_id, trace_id, started_ns, ended_ns, duration_ms, status, "
            "model_calls, "
            "prompt_tokens, completion_tokens, error, attributes_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                self.run_id,
                turn_id,
                self.trace_id,
                turn.start_ns,
                end,
                _num(payload.get("duration")),
                status,
                stats.model_calls,
                stats.prompt_tokens,
                stats.completion_tokens,
                error,
                json.dumps(self.attributes, default=str),
            ),
        )
        for e in stats.errors:
            self.store.record_error(self.run_id, "run", e, turn_id)
        if error:
            self.store.record_error(self.run_id, "run", str(error), turn_id)
        self.store.add_span(
            SpanRecord(
                self.trace_id,
                turn.span_id,
                "elizapy.message_run",
                turn.start_ns,
                end,
                None,
                attrs,
                "ERROR" if error or status == "error" else "OK",
            ),
            self.run_id,
        )

    def _action_key(self, payload: Mapping[str, Any]) -> tuple[str, str, int]:
        return (str(payload.get("runId")), str(payload.get("action")), id(payload.get("parameters")))

    async def action_started(self, payload: Mapping[str, Any]) -> None:
        self._actions[self._action_key(payload)] = (time.time_ns(), new_span_id())

    async def action_completed(self, payload: Mapping[str, Any]) -> None:
        start, span_id = self._actions.pop(self._action_key(payload), (time.time_ns(), new_span_id()))
        end = time.time_ns()
        result = payload.get("result")
        error = getattr(result, "error", None)
        success = bool(payload.get("success"))
        turn_id = str(payload.get("runId"))
        name = str(payload.get("action"))
        self.store._exec(
            "INSERT INTO tool_calls (run_id, turn_id, name, started_ns, ended_ns, latency_ms, success, "
            "error, "
            "attributes_json) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                self.run_id,
                turn_id,
                name,
                start,
                end,
                (end - start) / 1e6,
                int(success),
                error,
                json.dumps(self.attributes, default=str),
            ),
        )
        turn = self._turns.get(turn_id)
        self.store.add_span(
            SpanRecord(
                self.trace_id,
                span_id,
                f"elizapy.action {name}",
                start,
                end,
                turn.span_id if turn else None,
                {
                    **self.attributes,
                    "elizapy.action": name,
                    "elizapy.success": success,
                    **({"error.message": str(error)} if error else {}),
                },
                "OK" if success else "ERROR",
            ),
            self.run_id,
        )

    async def model_used(self, payload: Mapping[str, Any]) -> None:
        end = time.time_ns()
        timing = last_model_call.get()
        latency = payload.get("latencyMs", payload.get("latency_ms"))
        model = payload.get("model")
        if timing is not None and end - timing.end_ns < 5_000_000_000:  # a timed provider's own record
            latency = timing.latency_ms if latency is None else latency
            model = model or timing.model
            last_model_call.set(None)
        start = end - int(float(latency) * 1e6) if latency is not None else end
        usage = payload.get("usage")
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        turn = self._turn_for_context()
        model_type = str(payload.get("type"))
        self.store._exec(
            "INSERT INTO model_calls (run_id, turn_id, model_type, model, started_ns, ended_ns, latency_ms, "
            "prompt_tokens, completion_tokens, attributes_json) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                self.run_id,
                turn.turn_id if turn else None,
                model_type,
                model,
                start,
                end,
                _num(latency),
                prompt,
                completion,
                json.dumps(self.attributes, default=str),
            ),
        )
        attrs: dict[str, Any] = {
            **self.attributes,
            "gen_ai.operation.name": "chat",
            "elizapy.model_type": model_type,
        }
        if model:
            attrs["gen_ai.response.model"] = model
        if prompt is not None:
            attrs["gen_ai.usage.input_tokens"] = prompt
            attrs["gen_ai.usage.output_tokens"] = completion
        self.store.add_span(
            SpanRecord(
                self.trace_id,
                new_span_id(),
                f"elizapy.model {model_type}",
                start,
                end,
                turn.span_id if turn else None,
                attrs,
            ),
            self.run_id,
        )


# --- live agents, opt-in by setting ----------------------------------------------------------------------

LIVE_SETTING = "ELIZAPY_METRICS"
_ON = frozenset({"1", "true", "yes", "on"})


def live_metrics(env: Mapping[str, str], *, label: str) -> tuple[Plugin, MetricsStore] | None:
    """The metrics plugin of a live process (``elizapy start``/``chat``) when ``ELIZAPY_METRICS`` asks for
    it: ``1``/``true`` writes to the default DB (``$ELIZAPY_METRICS_DB`` or .elizapy/metrics.db), any other
    value is the DB path. Off by default: an agent records nothing unless its operator opts in."""
    value = str(env.get(LIVE_SETTING) or "").strip()
    if not value or value.lower() in ("0", "false", "no", "off"):
        return None
    store = MetricsStore(None if value.lower() in _ON else value)
    run_id = f"live-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{label}-{secrets.token_hex(3)}"
    store.start_run(run_id, kind="live", leg="Python-first", config={"process": label})
    return store.plugin(run_id, attributes={"elizapy.process": label}), store


# --- optional OpenTelemetry SDK bridge ----------------------------------------------------------------------


def otel_span_exporter(store: MetricsStore, run_id: str | None = None) -> Any:
    """An ``opentelemetry.sdk`` SpanExporter writing finished SDK spans into ``store`` (needs the SDK)."""
    from opentelemetry.sdk.trace.export import (  # type: ignore[import-not-found, import-untyped]
        SpanExporter,
        SpanExportResult,
    )

    class _Exporter(SpanExporter):  # type: ignore[misc]
        def export(self, spans: Iterable[Any]) -> Any:
            for s in spans:
                ctx = s.get_span_context()
                parent = s.parent.span_id if s.parent is not None else None
                store.add_span(
                    SpanRecord(
                        trace_id=f"{ctx.trace_id:032x}",
                        span_id=f"{ctx.span_id:016x}",
                        name=s.name,
                        start_ns=int(s.start_time or 0),
                        end_ns=int(s.end_time or 0),
                        parent_span_id=None if parent is None else f"{parent:016x}",
                        attributes=dict(s.attributes or {}),
                        status="ERROR" if str(s.status.status_code.name) == "ERROR" else "OK",
                    ),
                    run_id,
                )
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            return None

    return _Exporter()
