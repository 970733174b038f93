"""``elizapy bench``: performance scenarios side by side with ElizaOS TS."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Benchmarks: ours next to the ElizaOS TS anchor, in one run.")
console = Console(stderr=True)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def markdown_table(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The README's "Performance" table, generated from a run (never edited by hand)."""
    lines = [
        f"Measured {meta['date']} on {meta['machine']}, {meta['cpus']} cores, Python {meta['python']} "
        "(`make bench`; ratios are TS ÷ ours unless the unit says otherwise).",
        "",
        "| id | scenario | ours | TS / anchor | ratio | unit | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for sid, r in results.items():
        met = {True: "yes", False: "**no**", None: "–"}[r.get("met")]
        lines.append(f"| {sid} | {r.get('name', '')} | {_fmt(r.get('ours'))} | {_fmt(r.get('anchor'))} | "
                     f"{_fmt(r.get('ratio'))} | {_fmt(r.get('unit'))} | {_fmt(r.get('goal'))} | {met} |")
    return "\n".join(lines) + "\n"


@app.command()
def perf(
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object keyed by scenario id")
    ] = False,
    only: Annotated[str | None, typer.Option(help="comma-separated scenario ids, e.g. P1,P3")] = None,
    metrics_db: Annotated[
        Path | None,
        typer.Option(help="metrics DB for the results (default $ELIZAPY_METRICS_DB or .elizapy/metrics.db)"),
    ] = None,
    no_metrics: Annotated[bool, typer.Option("--no-metrics", help="do not write the metrics DB")] = False,
    from_json: Annotated[
        Path | None,
        typer.Option(help="do not run: store and show the results of an earlier run (.bench/perf-*.json)"),
    ] = None,
) -> None:
    """Run the performance suite (P1…P8) and print ours vs anchor with the ratio."""
    started = time.time()
    if from_json is not None:
        try:
            saved = json.loads(from_json.read_text())
            results, meta = dict(saved["results"]), dict(saved["meta"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            console.print(f"[red]error:[/] {from_json}: not a saved perf run ({exc})")
            raise typer.Exit(2) from None
    else:
        from .bench.perf import run_all

        ids = [s.strip().upper() for s in only.split(",")] if only else None
        results = run_all(ids, progress=lambda sid: console.print(f"[dim]running {sid}…[/]"))
        out_dir = Path(".bench")
        out_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.machine(),
                "cpus": os.cpu_count(), "python": sys.version.split()[0]}
        saved_text = json.dumps({"meta": meta, "results": results}, default=str)
        (out_dir / f"perf-{stamp}.json").write_text(saved_text)
        (out_dir / "perf-latest.md").write_text(markdown_table(results, meta))
    if not no_metrics:
        from .bench.metrics import MetricsStore

        with MetricsStore(metrics_db) as store:
            run_id = store.record_perf(results)
        console.print(f"[dim]stored as {run_id} in {store.path}[/]")
    if as_json:
        print(json.dumps(results, default=str))
        return
    table = Table(
        title=f"ElizaOS-Py vs ElizaOS TS 1.7.2 — {time.strftime('%Y-%m-%d')}, "
        f"{platform.machine()}, Python {sys.version.split()[0]}"
    )
    for col in ("id", "scenario", "ours", "TS anchor", "ratio", "unit", "goal", "met"):
        table.add_column(col)
    for sid, r in results.items():
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "–"}[r.get("met")]
        table.add_row(
            sid,
            r.get("name", ""),
            _fmt(r.get("ours")),
            _fmt(r.get("anchor")),
            _fmt(r.get("ratio")),
            _fmt(r.get("unit")),
            _fmt(r.get("goal")),
            met,
        )
    Console().print(table)
    for sid, r in results.items():
        if r.get("anchor_error") and r.get("ours") is not None:
            console.print(f"[yellow]{sid} anchor:[/] {r['anchor_error']}")
        if r.get("noisy"):
            console.print(f"[yellow]{sid}: repetitions spread > 25 % — the machine was noisy[/]")
    console.print(f"[dim]done in {time.time() - started:.0f}s[/]")
