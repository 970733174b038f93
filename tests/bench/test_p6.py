"""Smoke test of P6 (concurrent rooms over HTTP): 20 rooms, 10 ms model latency, both legs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from elizapy.bench.perf_p6 import ours, p6

REPO = Path(__file__).resolve().parents[2]
ANCHORS = REPO / "packages" / "bench-anchors-ts"


def test_ours_leg_answers_every_room() -> None:
    result = ours(rooms=20, latency_ms=10, per_room=2, warmup=2)
    assert result["failures"] == 0, result["failure_examples"]
    assert result["replies"] == 40
    assert result["msgs_per_s"] > 0
    assert result["p50_ms"] >= 10
    assert result["cpu_ms_per_msg"] > 0


@pytest.mark.node
def test_both_legs(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (ANCHORS / "node_modules" / "@elizaos" / "core").is_dir():
        pytest.skip("run: npm ci --prefix packages/bench-anchors-ts")
    monkeypatch.chdir(REPO)
    result = p6(rooms=20, latency_ms=10, per_room=1, reps=1, anchor_timeout_s=120)
    assert result["ours"] > 0
    assert result["anchor_error"] is None, result["anchor_error"]
    assert result["anchor"] > 0
    assert result["anchor_detail"]["replies"] == 20
    assert result["ratio"] > 0
    assert result["unit"] == "msg/s"
    assert set(result) >= {
        "ours_p50_ms",
        "ours_p99_ms",
        "ours_cpu_ms_per_msg",
        "anchor_p50_ms",
        "anchor_p99_ms",
        "anchor_cpu_ms_per_msg",
        "limits",
    }
