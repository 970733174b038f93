"""Smoke test of the ElizaOS TS 1.7.2 anchor benchmark (packages/bench-anchors-ts/bench.mjs).

Needs ``node`` and ``npm ci --prefix packages/bench-anchors-ts``; the test never installs anything itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.node

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "packages" / "bench-anchors-ts"
BENCH = PACKAGE / "bench.mjs"
NODE = shutil.which("node")

if NODE is None:
    pytest.skip("node is not installed", allow_module_level=True)
if not (PACKAGE / "node_modules" / "@elizaos" / "core").is_dir():
    pytest.skip(
        "packages/bench-anchors-ts/node_modules is absent (run: npm ci --prefix packages/bench-anchors-ts)",
        allow_module_level=True,
    )


def run_bench(*args: str, timeout: float = 50.0) -> dict[str, Any]:
    assert NODE is not None
    env = {k: v for k, v in os.environ.items() if k not in {"USE_MULTI_STEP", "MAX_MULTISTEP_ITERATIONS"}}
    proc = subprocess.run(
        [NODE, str(BENCH), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"bench.mjs {' '.join(args)} failed:\n{proc.stderr[-4000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one JSON line on stdout, got:\n{proc.stdout[:2000]}"
    result: dict[str, Any] = json.loads(lines[0])
    return result


def test_p1_every_message_gets_a_reply() -> None:
    r = run_bench("--scenario", "P1", "--messages", "20", "--warmup", "2")
    assert r["scenario"] == "P1"
    assert r["version"] == "1.7.2"
    assert r["n"] == 20
    assert r["replies"] == r["n"]
    assert r["p50_ms"] > 0
    assert r["p90_ms"] >= r["p50_ms"]
    assert r["model_calls_per_reply"] >= 1
    assert r["calls_by_type"]["TEXT_LARGE"] == r["n"]


def test_p3_multi_step_runs_all_four_lookups() -> None:
    r = run_bench("--scenario", "P3", "--latency-ms", "20", "--reps", "1")
    assert r["scenario"] == "P3"
    assert r["actions_run"] == 4
    assert r["model_calls"] >= 5
    # 4 decision steps that pick an action, one that finishes, one summary
    assert r["multi_step_detail"]["decision_calls"] == 5
    assert r["multi_step_detail"]["summary_calls"] == 1
    assert r["wall_ms"] >= r["model_calls"] * r["latency_ms"]
    assert r["single_shot"]["actions_run"] == 4


def test_p5_vector_search_small() -> None:
    r = run_bench("--scenario", "P5", "--n", "2000", "--queries", "20", timeout=180.0)
    assert r["scenario"] == "P5"
    assert r["version"] == "1.7.2"
    assert r["n"] == 2000
    assert r["complete"] is True
    assert r["dim"] == 384
    assert r["queries"] == 20
    assert r["short_results"] == 0
    assert r["p50_ms"] > 0
    assert r["p99_ms"] >= r["p50_ms"]
    assert r["load_s"] > 0
    if r["index"].startswith("none"):
        # no ANN index in the plan: the search is exact
        assert r["recall_at_10"] == 1.0
    else:
        assert r["recall_at_10"] >= 0.9
