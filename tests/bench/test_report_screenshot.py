"""``elizapy report`` opened in headless Chromium: the pass^k and latency plots and the go/no-go table render.

The report is built from a metrics DB filled by a real small harness run (the fixture of ``test_report.py``),
written by the ``report`` command, opened by ``node/screenshot.mjs`` (playwright-core from
``tests/server/node`` driving the system Chromium) and kept as ``tests/artifacts/report.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.bench.test_report import harness_db, needs_tau2

from elizapy.bench.metrics import LEGS, MetricsStore

__all__ = ["harness_db"]  # the fixture, imported so pytest finds it here

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "node" / "screenshot.mjs"
PLAYWRIGHT = REPO / "tests" / "server" / "node" / "node_modules" / "playwright-core"
ARTIFACTS = REPO / "tests" / "artifacts"

PERF: dict[str, Any] = {
    "P1": {
        "name": "per-message overhead",
        "ours": 1.1,
        "anchor": 55.0,
        "ratio": 50.0,
        "unit": "ms p50",
        "goal": "<= 2 ms",
        "met": True,
    },
}


def _browser_or_skip() -> tuple[str, str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/setup/server.sh installs it)")
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (scripts/setup/server.sh installs Debian's chromium)")
    if not (PLAYWRIGHT / "package.json").is_file():
        pytest.skip(
            f"playwright-core is not installed: run `npm ci` in {PLAYWRIGHT.parents[1]} "
            "(scripts/setup/server.sh does)"
        )
    return node, chromium


@pytest.mark.node
@pytest.mark.slow
@needs_tau2
def test_report_renders_in_chromium_with_plots_and_go_no_go(harness_db: Path, tmp_path: Path) -> None:
    node, chromium = _browser_or_skip()
    from typer.testing import CliRunner

    from elizapy.cli_tau2 import app

    db = tmp_path / "m.db"
    db.write_bytes(harness_db.read_bytes())
    with MetricsStore(db) as store:
        store.record_perf(PERF)
    report = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(report)])
    assert res.exit_code == 0, res.output

    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [node, str(SCRIPT), str(report), str(shot), chromium],
        cwd=SCRIPT.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    failed = f"screenshot.mjs failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0 and lines, failed
    out = json.loads(lines[-1])
    assert "failure" not in out, out

    # pass^k and latency plots: decoded PNGs with a real size, shown on the page.
    for key in ("passK", "latency"):
        assert out[key], (key, out)
        for img in out[key]:
            assert img["png"] and img["complete"], img
            assert img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img
            assert img["shownWidth"] > 0 and img["shownHeight"] > 0, img
    assert out["allImages"] == 3  # pass^k, cost/latency, perf ratios

    # The go/no-go table: a header with every leg, one row per criterion and the overall verdict.
    table = out["goNoGo"]
    assert table is not None, out
    assert table["header"][3:] == list(LEGS)
    assert table["rows"] > 3 and table["shownWidth"] > 0 and table["shownHeight"] > 0
    overall = table["overall"]
    assert overall is not None and len(overall) == 3 + len(LEGS) and all(overall[3:]), overall

    # Self-contained and clean: no network requests, no errors in the console.
    assert out["externalRequests"] == [], out["externalRequests"]
    assert not [c for c in out["console"] if c.startswith(("error", "pageerror"))], out["console"]

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, len(png)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "report.png")
