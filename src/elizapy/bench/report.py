"""``elizapy report``: one self-contained HTML page from the metrics store.

Sections: TAU-bench pass^k per domain and agent config, cost and latency, performance ratios against the
ElizaOS TS anchor, the harness checks, and the go/no-go table comparing three legs — "TS only",
"TS + sidekick", "Python-first" — against the versioned rules of ``criteria.yaml`` (see :mod:`.criteria`).
A leg or criterion without data is shown as "not measured"; nothing is filled in from memory. Plots are
matplotlib PNGs embedded as base64 (matplotlib is optional: without it the report says so and keeps the
tables).
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .criteria import (
    HARNESS_KINDS,
    NOT_MEASURED,
    CriteriaFile,
    Criterion,
    evaluate,
    fmt,
    leg_verdict,
    load_criteria,
    run_reasoner,
)
from .metrics import MetricsStore
from .tau2.scoring import pass_hat_k

# --- data ---------------------------------------------------------------------------------------------------


def _agent_kind(run: dict[str, Any]) -> str:
    agent = run["config"].get("agent") if isinstance(run["config"].get("agent"), dict) else {}
    return str(agent.get("kind") or run["summary"].get("agent_config", {}).get("kind") or "llm")


def tau2_runs(store: MetricsStore) -> list[dict[str, Any]]:
    """Finished tau2 runs with their summary, agent kind and trial rows."""
    runs = []
    for r in store.runs("tau2"):
        r["trial_rows"] = store.trials(r["run_id"])
        if not r["summary"]:
            if not r["trial_rows"]:
                continue
            r["summary"] = _summary_from_trials(r)  # a run killed before it could write its summary
        r["agent_kind"] = _agent_kind(r)
        r["task_set"] = r["summary"].get("task_set") or r["config"].get("task_set")
        runs.append(r)
    return runs


def _summary_from_trials(run: dict[str, Any]) -> dict[str, Any]:
    per_task: dict[str, list[float]] = {}
    for t in run["trial_rows"]:
        per_task.setdefault(str(t["task_id"]), []).append(float(t["reward"] or 0.0))
    cfg = run["config"]
    wanted = cfg.get("task_ids") or list(per_task)
    trials = int(cfg.get("trials") or 1)
    return {
        "task_set": cfg.get("task_set"),
        "agent_config": cfg.get("agent") or {},
        "tasks": len(wanted),
        "trials": trials,
        "trials_done": len(run["trial_rows"]),
        "per_task_rewards": per_task,
        "complete": all(len(per_task.get(str(t), [])) >= trials for t in wanted),
        "successes": sum(int(t["success"] or 0) for t in run["trial_rows"]),
        "pass_hat_k": pass_hat_k(per_task, min(len(v) for v in per_task.values())),
        "avg_reward": sum(sum(v) for v in per_task.values()) / max(1, len(run["trial_rows"])),
        "model_id": run.get("model_id"),
        "user_model_id": cfg.get("user_model_id"),
        "task_file_sha256": run.get("task_file_sha256"),
        "interrupted": True,
    }


def latest_by_config(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest run of each (leg, domain, task set, agent) — older runs of the same config are history."""
    best: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in runs:
        key = (str(r["leg"]), str(r["domain"]), str(r["task_set"]), str(r["agent"]))
        best[key] = r
    return sorted(
        best.values(), key=lambda r: (str(r["domain"]), str(r["task_set"]), str(r["leg"]), str(r["agent"]))
    )


def _p(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run_costs(store: MetricsStore, run: dict[str, Any]) -> dict[str, Any]:
    rows = run["trial_rows"]
    n = len(rows) or 1
    ok = sum(int(r["success"] or 0) for r in rows)
    turn_ms: list[float] = []
    for r in rows:
        rec = json.loads(r["record_json"] or "{}")
        turn_ms.extend(float(x) for x in rec.get("agent_turn_ms") or [])
    lat = [
        float(x["latency_ms"])
        for x in store.query(
            "SELECT latency_ms FROM model_calls WHERE run_id=? AND latency_ms IS NOT NULL", (run["run_id"],)
        )
    ]
    tokens = sum(int(r["prompt_tokens"] or 0) + int(r["completion_tokens"] or 0) for r in rows)
    return {
        "trials": len(rows),
        "tokens_per_trial": tokens / n,
        "tokens_per_success": tokens / ok if ok else None,
        "model_calls_per_trial": sum(int(r["model_calls"] or 0) for r in rows) / n,
        "tool_calls_per_trial": sum(int(r["tool_calls"] or 0) for r in rows) / n,
        "trial_s_p50": _p([float(r["duration_s"] or 0) for r in rows], 0.5),
        "agent_turn_ms_p50": _p(turn_ms, 0.5),
        "agent_turn_ms_p90": _p(turn_ms, 0.9),
        "model_ms_p50": _p(lat, 0.5),
        "model_ms_p90": _p(lat, 0.9),
        "model_calls_timed": len(lat),
        "errors": sum(1 for r in rows if json.loads(r["errors_json"] or "[]")),
    }


def markdown_summary(store: MetricsStore, criteria: CriteriaFile | None = None) -> str:
    """The README's TAU-bench table and go/no-go lines, generated from the store (never edited by hand)."""
    spec = criteria or load_criteria()
    runs = tau2_runs(store)
    latest = [r for r in latest_by_config(runs) if r["agent_kind"] not in HARNESS_KINDS]
    lines = [
        "| domain | leg | agent (reasoner) | agent model | user model | tasks | pass^1 | model calls / trial "
        "| tokens / trial | trial s (p50) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in latest:
        s, c = r["summary"], run_costs(store, r)
        pk = s.get("pass_hat_k") or []
        tasks = f"{s.get('trials_done')}/{s.get('tasks', 0) * s.get('trials', 1)}"
        lines.append(
            f"| {r['domain']} | {r['leg']} | {r['agent']} ({run_reasoner(r) or '?'}) | {s.get('model_id')} "
            f"| {s.get('user_model_id')} | {tasks} | {fmt(pk[0] if pk else None)} "
            f"| {fmt(c['model_calls_per_trial'])} | {fmt(c['tokens_per_trial'])} "
            f"| {fmt(c['trial_s_p50'])} |"
        )
    crits = go_no_go(runs, store.latest_perf(), spec)
    lines.append("")
    lines.append(f"Go/no-go ({Path(spec.source).name} v{spec.version}):")
    lines.append("")
    for crit in crits:
        measured = [f"{leg}: {crit.values[leg]} — {crit.verdicts[leg]}" for leg in spec.legs
                    if crit.verdicts[leg] not in ("n/a", NOT_MEASURED)]
        lines.append(f"- **{crit.cid}** {crit.title}: " + ("; ".join(measured) or NOT_MEASURED))
    lines.append("- **Overall**: " + "; ".join(f"{leg} {leg_verdict(crits, leg)}" for leg in spec.legs))
    return "\n".join(lines) + "\n"


# --- go/no-go -----------------------------------------------------------------------------------------------


def go_no_go(
    runs: Sequence[dict[str, Any]], perf: dict[str, dict[str, Any]], spec: CriteriaFile | None = None
) -> list[Criterion]:
    """The criteria file's rules (default: the packaged ``criteria.yaml``) on what the store holds."""
    return evaluate(spec or load_criteria(), latest_by_config(runs), perf)


def harness_checks(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in latest_by_config(runs):
        if r["agent_kind"] not in HARNESS_KINDS:
            continue
        s = r["summary"]
        out.append(
            {
                "domain": r["domain"],
                "task_set": r["task_set"],
                "agent": r["agent"],
                "passed": f"{s.get('successes')}/{s.get('trials_done')}",
                "task_file_sha256": str(r["task_file_sha256"] or "")[:16],
                "seconds": s.get("trial_seconds_total"),
                "commit": str(r["git_commit"] or "")[:12],
            }
        )
    return out


# --- plots --------------------------------------------------------------------------------------------------


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def plot_pass_k(runs: Sequence[dict[str, Any]]) -> str | None:
    plt = _plt()
    rows = [r for r in latest_by_config(runs) if r["summary"].get("pass_hat_k")]
    if plt is None or not rows:
        return None
    labels = [f"{r['domain']}/{r['task_set']} · {r['agent']} ({r['leg']})" for r in rows]
    max_k = max(len(r["summary"]["pass_hat_k"]) for r in rows)
    fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.38 * len(rows)) if max_k == 1 else (7.5, 3.6))
    if max_k == 1:
        ax.barh(labels, [float(r["summary"]["pass_hat_k"][0]) for r in rows], color="#4c78a8")
        ax.set_xlim(0, 1)
        ax.set_xlabel("pass^1")
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    else:
        for label, r in zip(labels, rows, strict=True):
            ks = r["summary"]["pass_hat_k"]
            ax.plot(range(1, len(ks) + 1), ks, marker="o", label=label)
        ax.set_xticks(range(1, max_k + 1))
        ax.set_xlabel("k")
        ax.set_ylabel("pass^k")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    ax.set_title("TAU-bench pass^k per domain and agent config")
    out = _png(fig)
    plt.close(fig)
    return out


def plot_costs(costs: Sequence[tuple[str, dict[str, Any]]]) -> str | None:
    plt = _plt()
    if plt is None or not costs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    labels = [c[0] for c in costs]
    tok = [c[1]["tokens_per_trial"] for c in costs]
    lat = [c[1]["agent_turn_ms_p50"] or 0.0 for c in costs]
    axes[0].barh(labels, tok, color="#4c78a8")
    axes[0].set_title("tokens per trial")
    axes[1].barh(labels, lat, color="#f58518")
    axes[1].set_title("agent turn p50 (ms)")
    for ax in axes:
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3, axis="x")
    axes[1].set_yticklabels([])
    out = _png(fig)
    plt.close(fig)
    return out


def plot_perf(perf: dict[str, dict[str, Any]]) -> str | None:
    plt = _plt()
    rows = [(sid, r) for sid, r in sorted(perf.items()) if r.get("ratio")]
    if plt is None or not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.0))
    ax.bar([sid for sid, _ in rows], [float(r["ratio"]) for _, r in rows], color="#54a24b")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("TS anchor / ours (×)")
    ax.set_title("Performance vs ElizaOS TS 1.7.2 (higher is better)")
    ax.grid(alpha=0.3, axis="y")
    out = _png(fig)
    plt.close(fig)
    return out


# --- HTML ---------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}.pass,.GO{background:#d9f2d9}.fail,.NO-GO{background:#f8d4d4}
.nm{color:#888;font-style:italic}.muted{color:#666;font-size:.8rem}img{max-width:100%}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, classes: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for v in row:
            s = _e(v)
            cls = ""
            if classes:
                if str(v) in ("pass", "GO") or str(v) in ("fail", "NO-GO"):
                    cls = str(v)
                elif str(v).startswith(NOT_MEASURED):
                    cls = "nm"
            cells.append(f'<td class="{cls}">{s}</td>' if cls else f"<td>{s}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(b64: str | None, alt: str, note: str) -> str:
    if b64 is None:
        return f'<p class="nm">{_e(note)}</p>'
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def build_report(
    store: MetricsStore,
    *,
    title: str = "ElizaOS-Py — measurements and go/no-go",
    criteria: CriteriaFile | None = None,
) -> tuple[str, dict[str, Any]]:
    """The report HTML and a small summary of what went in (counts of runs, plots, scenarios)."""
    spec = criteria or load_criteria()
    legs = spec.legs
    runs = tau2_runs(store)
    perf = store.latest_perf()
    latest = latest_by_config(runs)
    costs = [(f"{r['domain']}/{r['agent']}", run_costs(store, r)) for r in latest]
    crits = go_no_go(runs, perf, spec)
    have_mpl = _plt() is not None
    no_plot = "plots need matplotlib (pip install matplotlib)" if not have_mpl else "no data for this plot"
    plots = {"pass_k": plot_pass_k(runs), "costs": plot_costs(costs), "perf": plot_perf(perf)}
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p class='muted'>Generated {_e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))} from "
        f"{_e(store.path)} · {len(runs)} TAU-bench run(s), {len(perf)} perf scenario(s). Criteria: "
        f"{_e(Path(spec.source).name)} version {spec.version}. Legs without data are shown as "
        "“not measured”.</p>",
    ]

    parts.append("<h2>Go/no-go</h2>")
    rows = [
        [
            c.cid,
            c.title,
            c.rule,
            *[
                f"{c.values[leg]} — {c.verdicts[leg]}"
                if c.verdicts[leg] not in (NOT_MEASURED, "n/a") or c.values[leg] not in (NOT_MEASURED, "n/a")
                else c.verdicts[leg]
                for leg in legs
            ],
        ]
        for c in crits
    ]
    rows.append(
        [
            "",
            "Overall",
            "every measured criterion passes; all required ones measured",
            *[leg_verdict(crits, leg) for leg in legs],
        ]
    )
    parts.append(_table(["id", "criterion", "rule", *legs], rows, classes=True))

    parts.append("<h2>TAU-bench pass^k</h2>")
    parts.append(_img(plots["pass_k"], "pass^k per domain and agent", no_plot))
    parts.append(
        _table(
            [
                "domain",
                "task set",
                "leg",
                "agent",
                "kind",
                "tasks × trials",
                "pass^1…k",
                "avg reward",
                "model",
                "task file sha256",
                "commit",
            ],
            [
                [
                    r["domain"],
                    r["task_set"],
                    r["leg"],
                    r["agent"],
                    r["agent_kind"],
                    f"{r['summary'].get('tasks')} × {r['summary'].get('trials')}"
                    + ("" if r["summary"].get("complete") else " (incomplete)"),
                    " ".join(f"{x:.3f}" for x in r["summary"].get("pass_hat_k") or []) or "–",
                    fmt(r["summary"].get("avg_reward")),
                    r["model_id"],
                    str(r["task_file_sha256"] or "")[:16],
                    str(r["git_commit"] or "")[:12],
                ]
                for r in latest
            ],
        )
    )

    parts.append("<h2>Harness checks (LLM-free agents)</h2>")
    checks = harness_checks(runs)
    parts.append(
        _table(
            ["domain", "task set", "agent", "passed", "task file sha256", "trial s (sum)", "commit"],
            [
                [
                    c["domain"],
                    c["task_set"],
                    c["agent"],
                    c["passed"],
                    c["task_file_sha256"],
                    c["seconds"],
                    c["commit"],
                ]
                for c in checks
            ],
        )
        if checks
        else f"<p class='nm'>{NOT_MEASURED}</p>"
    )

    parts.append("<h2>Cost and latency</h2>")
    parts.append(_img(plots["costs"], "tokens and latency per config", no_plot))
    parts.append(
        _table(
            [
                "config",
                "trials",
                "tokens/trial",
                "tokens/success",
                "model calls/trial",
                "tool calls/trial",
                "trial s p50",
                "agent turn ms p50/p90",
                "model call ms p50/p90",
                "trials with errors",
            ],
            [
                [
                    label,
                    c["trials"],
                    fmt(c["tokens_per_trial"]),
                    fmt(c["tokens_per_success"]),
                    fmt(c["model_calls_per_trial"]),
                    fmt(c["tool_calls_per_trial"]),
                    fmt(c["trial_s_p50"]),
                    f"{fmt(c['agent_turn_ms_p50'])} / {fmt(c['agent_turn_ms_p90'])}",
                    f"{fmt(c['model_ms_p50'])} / {fmt(c['model_ms_p90'])}",
                    c["errors"],
                ]
                for label, c in costs
            ],
        )
    )

    parts.append("<h2>Performance vs ElizaOS TS</h2>")
    parts.append(_img(plots["perf"], "perf ratios", no_plot))
    parts.append(
        _table(
            [
                "id",
                "scenario",
                "ours (Python-first)",
                "TS anchor",
                "ratio",
                "unit",
                "goal",
                "met",
                "measured",
            ],
            [
                [
                    sid,
                    r.get("name"),
                    fmt(r.get("ours")),
                    fmt(r.get("anchor")),
                    fmt(r.get("ratio")),
                    r.get("unit"),
                    r.get("goal"),
                    {1: "yes", 0: "no", None: "–"}.get(r.get("met"), "–"),
                    r.get("started_at"),
                ]
                for sid, r in sorted(perf.items())
            ],
        )
        if perf
        else f"<p class='nm'>{NOT_MEASURED}: run <code>elizapy bench perf</code> and store "
        "its results with <code>record_perf</code></p>"
    )
    parts.append("</body></html>")
    info = {
        "plots": sum(1 for v in plots.values() if v),
        "tau2_runs": len(runs),
        "perf_scenarios": len(perf),
        "criteria": len(crits),
        "legs": {leg: leg_verdict(crits, leg) for leg in legs},
        "criteria_version": spec.version,
        "median_pass1": statistics.median(
            [float(r["summary"]["pass_hat_k"][0]) for r in latest if r["summary"].get("pass_hat_k")] or [0.0]
        ),
    }
    return "\n".join(parts), info
