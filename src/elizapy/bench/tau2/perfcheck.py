"""P4 for ``bench perf``: the TAU-bench harness end to end on the mock domain, LLM-free.

Runs the oracle over the 9 mock tasks through tau2's orchestrator and evaluator and reports the time per
trial, with the agent's own share (runtime turns) next to it. Returns the perf-scenario dict shape of
``bench/perf.py`` (``ours``/``anchor``/``ratio``/``unit``/``goal``/``met``); there is no TS anchor (no TS
agent runs inside tau2 yet), so ``anchor`` is None with the reason.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from .agents import load_agent_spec
from .env import tau2_available


def p4(reps: int = 3) -> dict[str, Any]:
    name = "TAU-bench harness: mock oracle through tau2's orchestrator + evaluator"
    if not tau2_available():
        return {
            "name": name,
            "ours": None,
            "anchor": None,
            "ratio": None,
            "unit": "ms/trial",
            "met": None,
            "goal": "oracle 8/9 on mock",
            "anchor_error": "tau2 is not installed (scripts/setup/tau2.sh)",
        }
    from .runner import Tau2RunOptions, run_tau2

    per_trial: list[float] = []
    turn_ms: list[float] = []
    passed: list[int] = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(reps):
            s = run_tau2(Tau2RunOptions(domain="mock", agent=load_agent_spec("oracle"), results_dir=Path(d)))
            per_trial.append(s["wall_seconds"] * 1000 / max(1, s["trials_done"]))
            passed.append(s["successes"])
            for line in Path(s["results"]).read_text().splitlines():
                turn_ms.extend(json.loads(line).get("agent_turn_ms") or [])
    ours = statistics.median(per_trial)
    return {
        "name": name,
        "ours": round(ours, 2),
        "anchor": None,
        "ratio": None,
        "unit": "ms/trial",
        "goal": "oracle passes 8/9 mock tasks every time",
        "met": all(p == 8 for p in passed),
        "ours_agent_turn_ms_p50": round(statistics.median(turn_ms), 3) if turn_ms else None,
        "reps_ms": [round(x, 2) for x in per_trial],
        "passed": passed,
        "anchor_error": "no TS agent runs inside tau2 yet",
    }
