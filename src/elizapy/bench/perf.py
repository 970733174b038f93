"""Performance scenarios, ours next to the ElizaOS TS 1.7.2 anchor measured in the same run.

Every scenario returns ``{ours, anchor, ratio, unit, goal, met, ...}``; ``ratio`` is anchor/ours for
lower-is-better metrics (so "25" means 25× faster than TS). Anchors come from
``packages/bench-anchors-ts/bench.mjs`` (real @elizaos/core from npm); when node or its packages are missing
the
anchor is ``None`` and the reason is recorded, never replaced by a remembered number.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from ..connectors.direct import Conversation
from ..models import ModelGateway, ScriptedModel, TextResult, tool_calls_reply, xml_reply
from ..reasoning import ToolLoopReasoner, tool
from ..runtime import AgentRuntime, Plugin
from ..store.sqlite import SqliteStore
from ..types import Character
from .stats import noisy, percentile

Scenario = dict[str, Any]
ANCHORS_DIR = Path("packages/bench-anchors-ts")
BENCH_CHARACTER = Character(name="Bench", bio=["A benchmark agent."], system="Answer briefly.")


def not_run(name: str, unit: str, goal: str, why: str) -> Scenario:
    """The result of a scenario that could not run here: no numbers, and the reason."""
    return {
        "name": name,
        "ours": None,
        "anchor": None,
        "ratio": None,
        "unit": unit,
        "goal": goal,
        "met": None,
        "anchor_error": why,
    }


def run_anchor(
    scenario: str, *args: str, anchors_dir: Path = ANCHORS_DIR, timeout_s: float = 600
) -> tuple[dict[str, Any] | None, str | None]:
    """Run one TS anchor scenario; returns (result, None) or (None, reason)."""
    node = shutil.which("node")
    script = anchors_dir / "bench.mjs"
    if node is None:
        return None, "node is not installed"
    if not (anchors_dir / "node_modules").is_dir():
        return None, f"run `npm ci --prefix {anchors_dir}` first"
    try:
        proc = subprocess.run(
            [node, str(script), "--scenario", scenario, *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "LOG_LEVEL": "fatal"},
        )
    except subprocess.TimeoutExpired:
        return None, f"TS anchor {scenario} timed out after {timeout_s:g}s"
    if proc.returncode != 0:
        return None, f"TS anchor {scenario} failed: {proc.stderr.strip()[-300:]}"
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), None
    except (json.JSONDecodeError, IndexError):
        return None, f"TS anchor {scenario} printed no JSON"


# --- P1: per-message overhead --------------------------------------------------------------------------


async def _p1_ours(messages: int, db_dir: Path) -> dict[str, Any]:
    model = ScriptedModel([xml_reply("Sure, here is the answer.", thought="simple")], repeat_last=True)
    gateway = ModelGateway()
    gateway.register_provider(model)
    rt = AgentRuntime(BENCH_CHARACTER, store=SqliteStore(db_dir / "p1.db"), models=gateway)
    await rt.initialize()
    conv = Conversation(rt, user_name="bench")
    for i in range(20):
        await conv.send(f"warm-up message {i}")
    times: list[float] = []
    text_calls = all_calls = replies = 0
    for i in range(messages):
        t0 = time.perf_counter()
        result = await conv.send(f"question number {i}: what is {i} plus {i}?")
        times.append((time.perf_counter() - t0) * 1000)
        replies += len(result.responses)
        text_calls += sum(v for k, v in result.stats.calls_by_type.items() if k != "TEXT_EMBEDDING")
        all_calls += result.stats.model_calls
    await rt.stop()
    await rt.store.close()
    if replies != messages:
        raise RuntimeError(f"P1: {replies} replies for {messages} messages")
    return {
        "p50_ms": percentile(times, 50),
        "p90_ms": percentile(times, 90),
        "text_model_calls_per_reply": text_calls / messages,
        "embedding_batches_per_reply": model.embed_calls / (messages + 20),
    }


def p1(messages: int = 300, reps: int = 3) -> Scenario:
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for r in range(reps):
            sub = Path(d) / str(r)
            sub.mkdir()
            runs.append(anyio.run(_p1_ours, messages, sub))
    p50s = [r["p50_ms"] for r in runs]
    ours = statistics.median(p50s)
    anchor, why = run_anchor("P1", "--messages", "200")
    anchor_p50 = anchor.get("p50_ms") if anchor else None
    ratio = anchor_p50 / ours if anchor_p50 else None
    met = ours <= 2.0 and (ratio is None or ratio >= 25) and runs[0]["text_model_calls_per_reply"] == 1
    return {
        "name": "per-message overhead (zero-latency model, SQLite)",
        "ours": round(ours, 3),
        "anchor": anchor_p50,
        "ratio": ratio and round(ratio, 1),
        "unit": "ms p50",
        "goal": "<= 2 ms p50, >= 25x TS, 1 model call per simple reply",
        "met": met,
        "ours_p90": round(statistics.median(r["p90_ms"] for r in runs), 3),
        "reps_p50": p50s,
        "noisy": noisy(p50s),
        "ours_model_calls_per_reply": runs[0]["text_model_calls_per_reply"],
        "ours_embedding_batches_per_reply": round(runs[0]["embedding_batches_per_reply"], 2),
        "anchor_detail": anchor,
        "anchor_error": why,
    }


# --- P2: cold start -------------------------------------------------------------------------------------

_COLD = r"""
import time, sys
t0 = time.perf_counter()
import anyio
from elizapy.models import ModelGateway, ScriptedModel
from elizapy.runtime import AgentRuntime
from elizapy.store.sqlite import SqliteStore
from elizapy.types import Character
async def main():
    gw = ModelGateway(); gw.register_provider(ScriptedModel())
    rt = AgentRuntime(Character(name="Cold", bio="x"), store=SqliteStore(sys.argv[1]), models=gw)
    await rt.initialize()
anyio.run(main)
print(time.perf_counter() - t0)
"""


def p2(reps: int = 5) -> Scenario:
    totals, inproc = [], []
    with tempfile.TemporaryDirectory() as d:
        for r in range(reps):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", _COLD, str(Path(d) / f"cold{r}.db")],
                capture_output=True,
                text=True,
                check=True,
            )
            totals.append(time.perf_counter() - t0)
            inproc.append(float(out.stdout.strip().splitlines()[-1]))
    ours = statistics.median(totals)
    anchor, why = run_anchor("P2", "--reps", "3")
    anchor_s = anchor.get("p50_s") if anchor else None
    return {
        "name": "cold start to a ready agent (process spawn to initialized, no model load)",
        "ours": round(ours, 3),
        "anchor": anchor_s,
        "ratio": anchor_s and round(anchor_s / ours, 1),
        "unit": "s",
        "goal": "<= 0.5 s",
        "met": ours <= 0.5,
        "ours_import_init_s": round(statistics.median(inproc), 3),
        "reps": [round(t, 3) for t in totals],
        "noisy": noisy(totals),
        "anchor_detail": anchor,
        "anchor_error": why,
    }


# --- P3: 4 independent lookups at 200 ms model latency -------------------------------------------------


def _lookup_tools() -> list[Any]:
    def make(name: str) -> Any:
        def fn(query: str) -> str:
            return f"{name} result for {query}"

        fn.__name__ = name
        fn.__doc__ = f"Look up {name.split('_')[1]} information."
        return tool(fn)

    return [make(n) for n in ("lookup_weather", "lookup_stock", "lookup_news", "lookup_calendar")]


async def _p3_ours(latency_ms: float) -> dict[str, Any]:
    names = ["lookup_weather", "lookup_stock", "lookup_news", "lookup_calendar"]
    model = ScriptedModel(
        [
            tool_calls_reply(*[(n, {"query": "today"}) for n in names]),
            TextResult(text="Here is your briefing."),
        ],
        latency_s=latency_ms / 1000,
    )
    gateway = ModelGateway()
    gateway.register_provider(model)
    rt = AgentRuntime(
        BENCH_CHARACTER,
        store=SqliteStore(":memory:"),
        models=gateway,
        plugins=[Plugin(name="lookups", actions=_lookup_tools())],
        reasoner=ToolLoopReasoner(),
        settings={"EMBED_MESSAGES": False},
    )
    await rt.initialize()
    t0 = time.perf_counter()
    result = await Conversation(rt).send("Give me my morning briefing: weather, stocks, news, calendar.")
    wall = (time.perf_counter() - t0) * 1000
    await rt.stop()
    ran = sum(1 for r in result.action_results if r.success)
    return {"wall_ms": wall, "model_calls": len(model.calls), "actions_run": ran}


def p3(latency_ms: float = 200, reps: int = 3) -> Scenario:
    runs = [anyio.run(_p3_ours, latency_ms) for _ in range(reps)]
    ours = statistics.median(r["wall_ms"] for r in runs)
    anchor, why = run_anchor("P3", "--latency-ms", str(int(latency_ms)), "--reps", str(reps))
    anchor_ms = anchor.get("wall_ms") if anchor else None
    ratio = anchor_ms / ours if anchor_ms else None
    calls = runs[0]["model_calls"]
    return {
        "name": f"4 independent lookups, {latency_ms:g} ms per model call (TS multi-step vs tool loop)",
        "ours": round(ours, 1),
        "anchor": anchor_ms,
        "ratio": ratio and round(ratio, 2),
        "unit": "ms wall",
        "goal": "2 model calls, >= 2.5x lower wall time than TS",
        "met": calls == 2 and runs[0]["actions_run"] == 4 and (ratio is None or ratio >= 2.5),
        "ours_model_calls": calls,
        "ours_actions_run": runs[0]["actions_run"],
        "anchor_model_calls": anchor.get("model_calls") if anchor else None,
        "anchor_detail": anchor,
        "anchor_error": why,
    }


# --- P5: vector search over 100k x 384 ------------------------------------------------------------------


async def _p5_ours(n: int, queries: int, db_dir: Path) -> dict[str, Any]:
    import numpy as np

    from ..types import Content, Memory, new_uuid
    from .vectors import query_seed, vectors

    corpus = vectors(1, n)
    qs = vectors(query_seed(1), queries)
    store = SqliteStore(db_dir / "p5.db")
    await store.open()
    agent, room = new_uuid(), new_uuid()
    t0 = time.perf_counter()
    for i in range(n):
        await store.memories.create(
            Memory(
                id=new_uuid(),
                entity_id=agent,
                agent_id=agent,
                room_id=room,
                content=Content(text=str(i)),
                embedding=corpus[i].tolist(),
            ),
            "knowledge",
            unique=True,
        )
    load_s = time.perf_counter() - t0
    for q in qs[:3]:  # warm-up (builds the in-memory mirror once)
        await store.memories.search(table="knowledge", embedding=q.tolist(), count=10)
    times, recall = [], 0.0
    for q in qs:
        t = time.perf_counter()
        hits = await store.memories.search(table="knowledge", embedding=q.tolist(), count=10)
        times.append((time.perf_counter() - t) * 1000)
        exact = set(np.argsort(-(corpus @ q))[:10].tolist())
        recall += len({int(h.content.text or -1) for h in hits} & exact) / 10
    await store.close()
    return {
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "recall_at_10": recall / len(qs),
        "load_s": load_s,
    }


def p5(n: int = 100_000, queries: int = 200, anchor_queries: int = 50) -> Scenario:
    with tempfile.TemporaryDirectory() as d:
        ours = anyio.run(_p5_ours, n, queries, Path(d))
    anchor, why = run_anchor(
        "P5", "--n", str(n), "--queries", str(anchor_queries), "--load", "sql", timeout_s=900
    )
    anchor_p50 = anchor.get("p50_ms") if anchor else None
    return {
        "name": f"vector search, {n // 1000}k x 384 (SQLite+usearch vs pgvector in PGLite under TS)",
        "ours": round(ours["p50_ms"], 2),
        "anchor": anchor_p50,
        "ratio": anchor_p50 and round(anchor_p50 / ours["p50_ms"], 1),
        "unit": "ms p50",
        "goal": "<= 5 ms p50",
        "met": ours["p50_ms"] <= 5.0,
        "ours_p99_ms": round(ours["p99_ms"], 2),
        "ours_recall_at_10": round(ours["recall_at_10"], 4),
        "ours_load_s": round(ours["load_s"], 1),
        "anchor_detail": anchor,
        "anchor_error": why,
    }


# --- L1: embedded local model through our stack vs raw xllamacpp --------------------------------------


def _raw_chat(engine: Any, body: dict[str, Any], done: Any) -> None:
    engine.chat(body, lambda _chunk: done.set())


async def _l1(model: str, reps: int, max_tokens: int) -> dict[str, Any]:
    import threading

    from ..models import allow_model_requests
    from ..models.base import TextRequest as Req
    from ..models.local import LocalModelProvider
    from ..types import ModelType

    provider = LocalModelProvider(model=model, embedding_model="minilm-l6-v2", max_tokens=max_tokens)
    topic = (
        "Explain in a few sentences how a hash map handles collisions, and when a balanced tree is a "
        "better choice. "
    ) * 6
    ours_s, raw_s, tokens = [], [], []
    with allow_model_requests():
        await provider.generate(ModelType.TEXT_LARGE, Req(prompt="warm up", max_tokens=4))
        engine = (await provider._chat_engine(small=False)).engine  # same loaded model for both sides
        for i in range(reps):
            # A unique prefix per request defeats llama.cpp's prompt cache on both sides.
            t0 = time.perf_counter()
            r = await provider.generate(
                ModelType.TEXT_LARGE, Req(prompt=f"[{i}a] {topic}", max_tokens=max_tokens, temperature=0.0)
            )
            ours_s.append(time.perf_counter() - t0)
            tokens.append(r.usage.completion_tokens if r.usage else 0)
            done = threading.Event()
            body = {
                "messages": [{"role": "user", "content": f"[{i}b] {topic}"}],
                "max_tokens": max_tokens,
                "temperature": 0.0,
                "stream": False,
            }
            t0 = time.perf_counter()
            await anyio.to_thread.run_sync(_raw_chat, engine, body, done)
            raw_s.append(time.perf_counter() - t0)
        sentences = [f"Sentence number {i} about cats, code and coffee." for i in range(64)]
        await provider.embed(ModelType.TEXT_EMBEDDING, sentences[:4])
        t0 = time.perf_counter()
        await provider.embed(ModelType.TEXT_EMBEDDING, sentences)
        emb_per_s = len(sentences) / (time.perf_counter() - t0)
    timings = provider.last_timings or {}
    return {
        "ours_s": ours_s,
        "raw_s": raw_s,
        "tokens": tokens,
        "embeddings_per_s": emb_per_s,
        "prompt_tok_s": timings.get("prompt_per_second"),
        "gen_tok_s": timings.get("predicted_per_second"),
    }


def l1(model: str = "qwen2.5-coder-0.5b", reps: int = 5, max_tokens: int = 48) -> Scenario:
    try:
        out = anyio.run(_l1, model, reps, max_tokens)
    except Exception as exc:  # the local extra is optional
        return not_run(
            "local model through our stack vs raw xllamacpp",
            "s/request",
            "within 10 % of raw",
            f"not run: {exc}",
        )
    ours, raw = statistics.median(out["ours_s"]), statistics.median(out["raw_s"])
    return {
        "name": f"local {model}: one request through our stack vs raw xllamacpp (same engine)",
        "ours": round(ours, 3),
        "anchor": round(raw, 3),
        "ratio": round(raw / ours, 3),
        "unit": "s/request",
        "goal": "within 10 % of raw (ratio >= 0.9)",
        "met": raw / ours >= 0.9,
        "ours_prompt_tok_s": out["prompt_tok_s"],
        "ours_gen_tok_s": out["gen_tok_s"],
        "completion_tokens": out["tokens"],
        "embeddings_per_s": round(out["embeddings_per_s"], 1),
        "reps_ours_s": [round(x, 3) for x in out["ours_s"]],
        "reps_raw_s": [round(x, 3) for x in out["raw_s"]],
        "noisy": noisy(out["ours_s"]) or noisy(out["raw_s"]),
        "anchor_error": "anchor = raw xllamacpp handle_chat_completions on the same loaded model",
    }


# --- P7: idle agent footprint ---------------------------------------------------------------------------


def p7(agents: int = 1000, reps: int = 3) -> Scenario:
    gateway = ModelGateway()
    gateway.register_provider(ScriptedModel())
    store = SqliteStore(":memory:")
    chars = [Character(name=f"Agent {i}", bio="An idle agent.") for i in range(agents)]
    times_us, mem_kib = [], []
    for _ in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        built = [AgentRuntime(c, store=store, models=gateway) for c in chars]
        times_us.append((time.perf_counter() - t0) / agents * 1e6)
        del built
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        built = [AgentRuntime(c, store=store, models=gateway) for c in chars]
        mem_kib.append((tracemalloc.get_traced_memory()[0] - before) / agents / 1024)
        tracemalloc.stop()
        del built
    t, m = statistics.median(times_us), statistics.median(mem_kib)
    return {
        "name": f"idle agent footprint ({agents} agents, one shared model gateway)",
        "ours": round(t, 2),
        "anchor": None,
        "ratio": None,
        "unit": "us/agent",
        "goal": "<= 20 us and <= 10 KiB per agent",
        "met": t <= 20 and m <= 10,
        "ours_kib_per_agent": round(m, 2),
        "reps_us": [round(x, 2) for x in times_us],
        "noisy": noisy(times_us),
        "anchor_error": "no TS anchor for this scenario (Agno measured 9.5 us / 3.7 KiB)",
    }


P4_GOAL = "p50 <= 3x pipe echo, >= 20,000 calls/s"


def p4(n: int = 20000, concurrency: int = 64, reps: int = 3) -> Scenario:
    """Sidekick round trip over stdio JSON-RPC, next to a raw pipe echo and HTTP/JSON (same run)."""
    name = "sidekick no-op action round trip: stdio JSON-RPC vs raw pipe echo and HTTP"
    script = Path("packages/plugin-python-sidekick/bench/p4.mjs")
    node = shutil.which("node")
    if node is None or not (script.parent.parent / "dist").is_dir():
        return not_run(name, "ms p50", P4_GOAL, "needs node and the built plugin (scripts/setup/sidekick.sh)")
    runs = []
    for _ in range(reps):
        proc = subprocess.run(
            [node, str(script), "--n", str(n), "--concurrency", str(concurrency)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "SIDEKICK_BENCH_PYTHON": sys.executable},
        )
        if proc.returncode == 0 and proc.stdout.strip():
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    if not runs:
        return not_run(name, "ms p50", P4_GOAL, "p4.mjs failed")
    ours = statistics.median(r["stdio"]["sequential"]["p50_ms"] for r in runs)
    pipe = statistics.median(r["pipe"]["sequential"]["p50_ms"] for r in runs)
    calls = statistics.median(r["stdio"]["concurrent"]["calls_s"] for r in runs)
    return {
        "name": name,
        "ours": round(ours, 4),
        "anchor": round(pipe, 4),
        "ratio": round(ours / pipe, 1),
        "unit": "ms p50 (ratio = ours / pipe floor)",
        "goal": "p50 <= 3x pipe echo, >= 20,000 calls/s",
        "met": ours / pipe <= 3 and calls >= 20000,
        "ours_calls_s": round(calls),
        "ours_p99_ms": statistics.median(r["stdio"]["sequential"]["p99_ms"] for r in runs),
        "http_p50_ms": statistics.median(r["http"]["sequential"]["p50_ms"] for r in runs),
        "http_calls_s": round(statistics.median(r["http"]["concurrent"]["calls_s"] for r in runs)),
        "reps_calls_s": [round(r["stdio"]["concurrent"]["calls_s"]) for r in runs],
        "anchor_error": "anchor = raw pipe echo (the physical floor), same frames, same run",
    }


def p6() -> Scenario:
    from .perf_p6 import p6 as concurrent_rooms

    return concurrent_rooms()


def p8() -> Scenario:
    from .perf_p8 import p8 as scale_out

    return scale_out()


def t1() -> Scenario:
    from .tau2.perfcheck import p4 as tau2_harness_check

    return tau2_harness_check()


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "P1": p1,
    "P2": p2,
    "P3": p3,
    "P4": p4,
    "P5": p5,
    "P6": p6,
    "P7": p7,
    "P8": p8,
    "L1": l1,
    "T1": t1,
}


def run_all(
    only: list[str] | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for sid, fn in SCENARIOS.items():
        if only and sid not in only:
            continue
        if progress:
            progress(sid)
        out[sid] = fn()
    return dict(sorted(out.items()))
