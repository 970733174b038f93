"""Smoke test of the P4 benchmark (``packages/plugin-python-sidekick/bench/p4.mjs``): all three legs run and
report positive numbers. No timing assertions: the speed goals live in the benchmark's own output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "packages" / "plugin-python-sidekick"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (PKG / "dist" / "supervisor.js").exists(),
    reason="needs node and the built plugin (scripts/setup/sidekick.sh)",
)


def test_p4_reports_all_three_legs() -> None:
    proc = subprocess.run(
        ["node", str(PKG / "bench" / "p4.mjs"), "--n", "2000", "--concurrency", "16", "--warmup", "100"],
        cwd=PKG,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SIDEKICK_BENCH_PYTHON": sys.executable},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    out = json.loads(lines[0])
    for leg in ("pipe", "stdio", "http"):
        seq, conc = out[leg]["sequential"], out[leg]["concurrent"]
        assert seq["p50_ms"] > 0 and seq["p99_ms"] >= seq["p50_ms"], (leg, seq)
        assert conc["calls_s"] > 0 and conc["p50_ms"] > 0, (leg, conc)
    assert out["p50_vs_pipe"] > 0
    assert isinstance(out["goal_p50_met"], bool) and isinstance(out["goal_calls_s_met"], bool)
    assert out["frame_bytes"] > 0
