"""``elizapy report`` on a metrics DB filled by a real (small) harness run."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from elizapy.bench.metrics import LEGS, MetricsStore
from elizapy.bench.report import NOT_MEASURED, build_report, go_no_go, leg_verdict, tau2_runs
from elizapy.bench.tau2.env import tau2_available

needs_tau2 = pytest.mark.skipif(not tau2_available(), reason="tau2 is not installed (scripts/setup/tau2.sh)")


def _go_table(html: str) -> str:
    start = html.index("<h2>Go/no-go</h2>")
    return html[start : html.index("</table>", start)]


def _rows(table_html: str) -> dict[str, list[str]]:
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S)]
        rows[cells[0] or cells[1]] = cells
    return rows


@pytest.fixture(scope="module")
def harness_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not tau2_available():
        pytest.skip("tau2 is not installed")
    from elizapy.bench.tau2.agents import load_agent_spec
    from elizapy.bench.tau2.runner import Tau2RunOptions, run_tau2

    d = tmp_path_factory.mktemp("report")
    with MetricsStore(d / "metrics.db") as store:
        for agent in ("oracle", "null"):
            run_tau2(
                Tau2RunOptions(
                    domain="mock",
                    agent=load_agent_spec(agent),
                    results_dir=d / "runs",
                    trials=2,
                    metrics=store,
                )
            )
    return d / "metrics.db"


@needs_tau2
def test_report_has_plots_tables_and_an_honest_go_no_go(harness_db: Path, tmp_path: Path) -> None:
    perf: dict[str, Any] = {
        "P1": {
            "name": "per-message overhead",
            "ours": 1.1,
            "anchor": 55.0,
            "ratio": 50.0,
            "unit": "ms p50",
            "goal": "<= 2 ms",
            "met": True,
        },
        "P3": {
            "name": "4 lookups",
            "ours": 650.0,
            "anchor": 1300.0,
            "ratio": 2.0,
            "unit": "ms wall",
            "goal": ">= 2.5x",
            "met": False,
        },
    }
    db = tmp_path / "m.db"
    db.write_bytes(harness_db.read_bytes())
    with MetricsStore(db) as store:
        store.record_perf(perf)
        html, info = build_report(store)
    assert info["tau2_runs"] == 2 and info["perf_scenarios"] == 2

    # Plots: real PNGs embedded as base64 (pass^k, cost/latency, perf ratios).
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == info["plots"] == 3
    assert all(base64.b64decode(b).startswith(b"\x89PNG") for b in images)

    # The harness runs appear with their measured pass^k (oracle 8/9 per trial, null 1/9).
    assert "0.889 0.889" in html and "0.111 0.111" in html
    assert "d1350db27317bc57" in html  # the mock task file's sha256 prefix

    rows = _rows(_go_table(html))
    assert rows["id"][3:] == list(LEGS)
    # LLM-free agents are harness checks, not a leg's quality: no TAU-bench leg is measured.
    assert rows["G1-airline"][3:] == [NOT_MEASURED] * 3
    # Perf: TS only is the anchor, Python-first is ours; P1 passes, P3 fails (ratio 2.0 < 2.5).
    assert rows["P1"][3] == "55 — baseline" and rows["P1"][5] == "1.1 — pass"
    assert rows["P3"][5] == "650 — fail"
    # P4 is the sidekick's leg and its anchor is a pipe floor, not TS: nothing in the TS column.
    assert rows["P4"][3] == "n/a" and rows["P4"][4] == NOT_MEASURED
    assert rows["P6"][5] == NOT_MEASURED
    assert "criteria.yaml version 1" in html and info["criteria_version"] == 1
    assert rows["Overall"][5] == "NO-GO" and rows["Overall"][4] == NOT_MEASURED
    assert 'class="nm"' in html


@needs_tau2
def test_go_no_go_compares_llm_legs_within_the_noise_band(harness_db: Path) -> None:
    with MetricsStore(harness_db) as store:
        runs = tau2_runs(store)
    oracle = next(r for r in runs if r["agent"] == "oracle")

    def fake_leg(leg: str, pass1: float) -> dict[str, Any]:
        r = json.loads(json.dumps(oracle, default=str))
        r.update(leg=leg, agent=f"agent-{leg}", agent_kind="llm", domain="airline")
        r["summary"]["pass_hat_k"] = [pass1]
        return r

    ts, py = fake_leg("TS only", 0.50), fake_leg("Python-first", 0.45)
    crits = {c.cid: c for c in go_no_go([ts, py], {})}
    assert crits["G1-airline"].verdicts == {
        "TS only": "baseline",
        "TS + sidekick": NOT_MEASURED,
        "Python-first": "pass",
    }  # 0.45 >= 0.50 - 0.07
    worse = fake_leg("Python-first", 0.40)
    crits2 = go_no_go([ts, worse], {})
    assert {c.cid: c for c in crits2}["G1-airline"].verdicts["Python-first"] == "fail"
    assert leg_verdict(crits2, "Python-first") == "NO-GO"
    assert leg_verdict(crits2, "TS + sidekick") == NOT_MEASURED


def test_report_on_an_empty_store_says_not_measured(tmp_path: Path) -> None:
    with MetricsStore(tmp_path / "empty.db") as store:
        html, info = build_report(store)
    assert info["plots"] == 0 and info["tau2_runs"] == 0
    assert html.count(NOT_MEASURED) >= 10
    assert "GO" not in re.sub(r"(NO-GO|Go/no-go|not measured)", "", _go_table(html).split("Overall")[1])


@needs_tau2
def test_cli_runs_tau2_as_json_and_writes_the_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from elizapy.cli_tau2 import app

    runner = CliRunner()
    db = tmp_path / "m.db"
    res = runner.invoke(
        app,
        [
            "tau2",
            "--domain",
            "mock",
            "--agent",
            "null",
            "--json",
            "--results-dir",
            str(tmp_path / "runs"),
            "--metrics-db",
            str(db),
            "--tasks",
            "create_task_1,update_task_1",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("domain", "agent", "tasks", "trials", "per_task_rewards", "pass_hat_k", "task_file_sha256"):
        assert key in summary
    assert summary["per_task_rewards"] == {"create_task_1": [0.0], "update_task_1": [0.0]}
    assert summary["pass_hat_k"] == [0.0] and summary["tasks"] == 2

    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<!doctype html>")

    bad = runner.invoke(app, ["tau2", "--domain", "mock", "--agent", "no-such-agent"])
    assert bad.exit_code == 2 and "no-such-agent" in bad.output


@needs_tau2
def test_reasoner_criterion_compares_only_runs_at_equal_model_user_and_tasks(harness_db: Path) -> None:
    with MetricsStore(harness_db) as store:
        runs = tau2_runs(store)
    oracle = next(r for r in runs if r["agent"] == "oracle")

    def run(reasoner: str, pass1: float, model: str = "m@local") -> dict[str, Any]:
        r = json.loads(json.dumps(oracle, default=str))
        r.update(leg="Python-first", agent=f"{reasoner}-{model}", agent_kind="llm")
        r["config"]["agent"] = {"kind": "llm", "reasoner": reasoner}
        r["summary"]["pass_hat_k"] = [pass1]
        r["summary"]["model_id"] = model
        return r

    crits = {c.cid: c for c in go_no_go([run("tools", 0.55), run("xml", 0.40)], {})}
    assert crits["G2-mock"].verdicts["Python-first"] == "pass"  # +0.15 >= +0.10
    assert "tools 0.550 vs xml 0.400 (+0.150" in crits["G2-mock"].values["Python-first"]
    crits = {c.cid: c for c in go_no_go([run("tools", 0.45), run("xml", 0.40)], {})}
    assert crits["G2-mock"].verdicts["Python-first"] == "fail"  # +0.05 < +0.10
    # a different agent model is not a comparison at equal model
    crits = {c.cid: c for c in go_no_go([run("tools", 0.9), run("xml", 0.1, model="other@x")], {})}
    assert crits["G2-mock"].verdicts["Python-first"] == NOT_MEASURED


def test_perf_rules_come_from_the_yaml_file(tmp_path: Path) -> None:
    from elizapy.bench.criteria import evaluate, load_criteria

    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 3\nlegs: [TS only, Python-first]\nbaseline_leg: TS only\ncriteria:\n"
        "  - {id: X1, kind: perf, title: overhead, scenario: P1, leg: Python-first,\n"
        "     checks: [{field: ours, op: '<=', value: 1.0}]}\n"
    )
    spec = load_criteria(path)
    perf = {"P1": {"ours": 1.2, "anchor": 30.0, "ratio": 25.0, "unit": "ms p50"}}
    (crit,) = evaluate(spec, [], perf)
    assert crit.verdicts == {"TS only": "baseline", "Python-first": "fail"}  # 1.2 > 1.0 in this file
    perf["P1"]["ours"] = 0.9
    assert evaluate(spec, [], perf)[0].verdicts["Python-first"] == "pass"


def test_a_malformed_criteria_file_names_the_field(tmp_path: Path) -> None:
    from elizapy.bench.criteria import load_criteria
    from elizapy.errors import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nlegs: [A]\nbaseline_leg: A\ncriteria:\n"
        "  - {id: X, kind: perf, title: t, scenario: P1, leg: A,\n"
        "     checks: [{field: speed, op: '<=', value: 1}]}\n"
    )
    with pytest.raises(ConfigError, match=r"bad.yaml: criteria\.0\.perf\.checks\.0\.field"):
        load_criteria(path)
    path.write_text("version: 1\nlegs: [A]\nbaseline_leg: B\ncriteria: [{id: E, kind: tau2_errors, "
                    "title: t, max_rate: 0.1}]\n")
    with pytest.raises(ConfigError, match="baseline_leg 'B'"):
        load_criteria(path)
