"""Running ElizaOS-Py agents on TAU-bench with tau2's own orchestrator and evaluator.

One trial = one tau2 ``Orchestrator`` conversation between our agent (:class:`~.agent.ElizaTau2Agent`), a user
simulator and a fresh domain environment, scored by ``tau2.evaluator.evaluate_simulation`` (it replays the
trajectory's tool calls on a new environment and compares databases, actions and communicated facts).

Results are appended to ``<results_dir>/<run_id>/results.jsonl`` as each trial ends (full trajectories to
``simulations.jsonl``), so an interrupted run resumes with ``resume=RUN_ID``: finished (task, trial) pairs are
skipped and the summary covers old and new trials alike. Trials run in parallel threads (``concurrency``);
every runtime lives in one shared event loop.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ...errors import ConfigError
from ...types import new_uuid
from .agents import AgentSpec, OraclePlan
from .env import TaskSet, load_tasks, load_tau2, make_environment, task_file, tau2_version
from .scoring import is_success, pass_hat_k
from .users import UserSpec

DEFAULT_RESULTS_DIR = Path(".elizapy/bench/tau2")
DEFAULT_MAX_STEPS = 100
DEFAULT_SEED = 300


@dataclass(slots=True)
class Tau2RunOptions:
    domain: str
    agent: AgentSpec
    trials: int = 1
    concurrency: int = 1
    task_set: TaskSet = "tau2"
    task_ids: list[str] | None = None
    user: UserSpec = field(default_factory=UserSpec)
    judge: UserSpec | None = None
    """An LLM for tau2's natural-language assertions (τ³ retail needs one); same form as the user model."""
    max_steps: int = DEFAULT_MAX_STEPS
    max_errors: int = 10
    seed: int = DEFAULT_SEED
    results_dir: Path = DEFAULT_RESULTS_DIR
    run_id: str | None = None
    resume: bool = False
    metrics: Any = None
    """A :class:`~elizapy.bench.metrics.MetricsStore` (optional): runs, trials, turns, model/tool calls."""
    leg: str = "Python-first"


def git_commit(cwd: Path | None = None) -> str:
    where = cwd or Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "-uno"], cwd=where, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + ("-dirty" if dirty else "")


def new_run_id(domain: str, agent: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in agent)[:40]
    return f"{stamp}-{domain}-{safe}-{new_uuid()[:6]}"


def _needs_nl_judge(tasks: list[Any]) -> bool:
    for t in tasks:
        crit = t.evaluation_criteria
        if crit is not None and any(str(getattr(b, "value", b)) == "NL_ASSERTION" for b in crit.reward_basis):
            return True
    return False


def _configure_judge(judge: UserSpec) -> None:
    import tau2.evaluator.evaluator_nl_assertions as nl  # type: ignore[import-untyped, import-not-found]

    model = judge.model or ""
    args: dict[str, Any] = {"temperature": 0.0}
    if judge.base_url:
        args.update(api_base=judge.base_url, api_key=judge.api_key or "sk-no-key")
        if not model.startswith("openai/"):
            model = "openai/" + model
    nl.DEFAULT_LLM_NL_ASSERTIONS = model
    nl.DEFAULT_LLM_NL_ASSERTIONS_ARGS = args


class Tau2Run:
    def __init__(self, options: Tau2RunOptions) -> None:
        load_tau2()
        self.o = options
        if options.trials < 1 or options.concurrency < 1:
            raise ConfigError("trials and concurrency must be >= 1")
        self.task_file = task_file(options.domain, options.task_set)
        self.tasks = load_tasks(options.domain, options.task_set, options.task_ids)
        if _needs_nl_judge(self.tasks):
            if options.judge is None:
                raise ConfigError(
                    f"{options.domain}/{options.task_set} scores natural-language assertions: "
                    "give a judge model (--judge-model URL/v1/MODEL)"
                )
            _configure_judge(options.judge)
        self.eval_type = "all_with_nl_assertions" if _needs_nl_judge(self.tasks) else "all"
        if options.resume and not options.run_id:
            raise ConfigError("resume needs the run id")
        self.run_id = options.run_id or new_run_id(options.domain, options.agent.name)
        self.dir = options.results_dir / self.run_id
        self.results_path = self.dir / "results.jsonl"
        self.sims_path = self.dir / "simulations.jsonl"
        self.commit = git_commit()
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.started = time.time()

    # --- bookkeeping -----------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        o = self.o
        return {
            "run_id": self.run_id,
            "domain": o.domain,
            "task_set": o.task_set,
            "agent": o.agent.describe(),
            "user": {
                "kind": o.user.kind, "model": o.user.model, "base_url": o.user.base_url, "style": o.user.style
            },
            "judge": None if o.judge is None else {"model": o.judge.model, "base_url": o.judge.base_url},
            "trials": o.trials,
            "task_ids": [t.id for t in self.tasks],
            "max_steps": o.max_steps,
            "max_errors": o.max_errors,
            "seed": o.seed,
            "task_file": str(self.task_file.path),
            "task_file_sha256": self.task_file.sha256,
            "task_package": self.task_file.package,
            "task_package_version": self.task_file.package_version,
            "tau2_version": tau2_version(),
            "model_id": o.agent.model_id,
            "user_model_id": o.user.model_id,
            "git_commit": self.commit,
            "evaluation": self.eval_type,
            "leg": o.leg,
        }

    def _prepare_dir(self) -> set[tuple[str, int]]:
        run_json = self.dir / "run.json"
        if self.o.resume:
            if not run_json.is_file():
                raise ConfigError(f"nothing to resume: {run_json} does not exist")
            old = json.loads(run_json.read_text())
            for key in ("domain", "task_set", "task_file_sha256"):
                if old.get(key) != self.meta()[key]:
                    raise ConfigError(
                        f"cannot resume {self.run_id}: {key} was {old.get(key)!r}, now {self.meta()[key]!r}"
                    )
            if old.get("agent", {}).get("name") != self.o.agent.name:
                raise ConfigError(f"cannot resume {self.run_id}: it ran agent {old['agent'].get('name')!r}")
        elif run_json.exists():
            raise ConfigError(f"run {self.run_id} already exists (use --resume {self.run_id})")
        self.dir.mkdir(parents=True, exist_ok=True)
        run_json.write_text(json.dumps(self.meta(), indent=2))
        done: set[tuple[str, int]] = set()
        if self.results_path.is_file():
            for line in self.results_path.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: that trial runs again
                done.add((str(rec["task_id"]), int(rec["trial"])))
                self.records.append(rec)
        return done

    def _append(self, record: dict[str, Any], simulation: dict[str, Any] | None) -> None:
        with self._lock:
            if simulation is not None:
                with self.sims_path.open("a") as f:
                    f.write(json.dumps(simulation, default=str) + "\n")
            with self.results_path.open("a") as f:
                f.write(json.dumps(record, default=str) + "\n")
            self.records.append(record)
        if self.o.metrics is not None:
            self.o.metrics.record_trial(self.run_id, record)

    # --- one trial -------------------------------------------------------------------------------------

    def _trial(self, portal: BlockingPortal, task: Any, trial: int, seed: int) -> dict[str, Any]:
        from tau2.evaluator.evaluator import (  # type: ignore[import-untyped, import-not-found]
            EvaluationType,
            evaluate_simulation,
        )
        from tau2.orchestrator.orchestrator import Orchestrator  # type: ignore[import-untyped, import-not-found]

        from .agent import ElizaTau2Agent, write_tool_names
        from .ts_agent import TS_REASONERS, ElizaTsTau2Agent
        from .users import make_user

        o = self.o
        started_at = datetime.now(UTC).isoformat()
        t0 = time.perf_counter()
        environment = make_environment(o.domain)
        plan = None
        if o.agent.kind in ("oracle", "sabotaged"):
            plan = OraclePlan.from_task(
                task, write_tools=write_tool_names(environment), sabotage=o.agent.kind == "sabotaged"
            )
        extra, wrap = [], None
        if o.metrics is not None:
            attrs = {
                "tau2.domain": o.domain,
                "tau2.task_id": task.id,
                "tau2.trial": trial,
                "tau2.agent": o.agent.name,
            }
            extra.append(o.metrics.plugin(self.run_id, attributes=attrs))
            wrap = o.metrics.timed
        agent: ElizaTau2Agent | ElizaTsTau2Agent | None = None
        record: dict[str, Any] = {
            "run_id": self.run_id,
            "domain": o.domain,
            "task_set": o.task_set,
            "task_id": task.id,
            "trial": trial,
            "seed": seed,
            "agent": o.agent.name,
            "model_id": o.agent.model_id,
            "user_model_id": o.user.model_id,
            "task_file_sha256": self.task_file.sha256,
            "git_commit": self.commit,
            "started_at": started_at,
        }
        simulation_dump = None
        try:
            if o.agent.reasoner in TS_REASONERS:
                agent = ElizaTsTau2Agent(
                    environment.get_tools(), environment.get_policy(), environment=environment, spec=o.agent
                )
            else:
                agent = ElizaTau2Agent(
                    environment.get_tools(),
                    environment.get_policy(),
                    environment=environment,
                    spec=o.agent,
                    portal=portal,
                    plan=plan,
                    extra_plugins=extra,
                    wrap_provider=wrap,
                )
            user = make_user(o.user, task, environment, plan)
            orchestrator = Orchestrator(
                domain=o.domain,
                agent=agent,
                user=user,
                environment=environment,
                task=task,
                max_steps=o.max_steps,
                max_errors=o.max_errors,
                seed=seed,
            )
            simulation = orchestrator.run()
            simulation.trial = trial
            termination = str(getattr(simulation.termination_reason, "value", simulation.termination_reason))
            record.update(
                termination=termination, messages=len(simulation.messages), simulation_id=simulation.id
            )
            try:
                reward_info = evaluate_simulation(
                    simulation=simulation,
                    task=task,
                    evaluation_type=EvaluationType(self.eval_type),
                    solo_mode=False,
                    domain=o.domain,
                )
            except Exception as exc:
                # tau2's evaluator raises on some failed end states (an env assertion about a record the
                # agent never created); tau2's own runner scores such a trial 0, and so do we.
                record.update(
                    reward=0.0, reward_breakdown={}, evaluation_error=f"{type(exc).__name__}: {exc}"
                )
            else:
                simulation.reward_info = reward_info
                record.update(
                    reward=float(reward_info.reward),
                    reward_breakdown={
                        str(getattr(k, "value", k)): v
                        for k, v in (reward_info.reward_breakdown or {}).items()
                    },
                    db_match=None if reward_info.db_check is None else reward_info.db_check.db_match,
                )
            simulation_dump = simulation.model_dump(mode="json")
        except Exception as exc:
            record.update(
                reward=0.0,
                termination="harness_error",
                reward_breakdown={},
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(limit=8),
            )
        finally:
            if agent is not None:
                agent.close()
        stats = agent.session.stats if agent is not None else None
        record.update(
            success=is_success(record["reward"]),
            duration_s=round(time.perf_counter() - t0, 4),
            agent_runs=stats.runs if stats else 0,
            model_calls=stats.text_model_calls if stats else 0,
            prompt_tokens=stats.prompt_tokens if stats else 0,
            completion_tokens=stats.completion_tokens if stats else 0,
            tool_calls=stats.tool_calls if stats else 0,
            tool_errors=stats.tool_errors if stats else 0,
            tool_batches=stats.tool_batches if stats else 0,
            empty_replies=stats.empty_replies if stats else 0,
            agent_turn_ms=[round(x, 2) for x in stats.turn_ms] if stats else [],
            errors=list(stats.errors) if stats else [],
        )
        self._append(record, simulation_dump)
        return record

    # --- the run ---------------------------------------------------------------------------------------

    def plan_trials(self, done: set[tuple[str, int]]) -> list[tuple[Any, int, int]]:
        rng = random.Random(self.o.seed)
        seeds = [rng.randint(0, 1_000_000) for _ in range(self.o.trials)]
        return [
            (task, trial, seeds[trial])
            for trial in range(self.o.trials)
            for task in self.tasks
            if (str(task.id), trial) not in done
        ]

    def run(
        self,
        on_trial: Callable[[dict[str, Any]], None] | None = None,
        on_start: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        done = self._prepare_dir()
        todo = self.plan_trials(done)
        if self.o.metrics is not None:
            self.o.metrics.start_run(
                self.run_id,
                kind="tau2",
                leg=self.o.leg,
                domain=self.o.domain,
                agent=self.o.agent.name,
                model_id=self.o.agent.model_id,
                git_commit=self.commit,
                task_file_sha256=self.task_file.sha256,
                config=self.meta(),
            )
        if on_start is not None:
            on_start(len(todo), len(done))
        status = "ok"
        try:
            with (
                start_blocking_portal() as portal,
                ThreadPoolExecutor(max_workers=self.o.concurrency, thread_name_prefix="tau2") as pool,
            ):
                futures = [pool.submit(self._trial, portal, task, trial, seed) for task, trial, seed in todo]
                try:
                    for fut in futures:
                        rec = fut.result()
                        if on_trial is not None:
                            on_trial(rec)
                except BaseException:
                    status = "interrupted"
                    for fut in futures:
                        fut.cancel()
                    raise
        finally:
            summary = self.summary()
            with contextlib.suppress(OSError):
                (self.dir / "summary.json").write_text(json.dumps(summary, indent=2))
            if self.o.metrics is not None:
                self.o.metrics.end_run(self.run_id, status=status, summary=summary)
        return summary

    def summary(self) -> dict[str, Any]:
        wanted = {str(t.id) for t in self.tasks}
        per_task: dict[str, list[float]] = {str(t.id): [] for t in self.tasks}
        recs = sorted(
            (r for r in self.records if str(r["task_id"]) in wanted),
            key=lambda r: (int(r["trial"]), str(r["task_id"])),
        )
        for r in recs:
            per_task[str(r["task_id"])].append(float(r["reward"]))
        complete = {t: v for t, v in per_task.items() if v}
        n_trials = min((len(v) for v in complete.values()), default=0)
        rewards = [float(r["reward"]) for r in recs]
        return {
            "run_id": self.run_id,
            "domain": self.o.domain,
            "task_set": self.o.task_set,
            "agent": self.o.agent.name,
            "agent_config": self.o.agent.describe(),
            "leg": self.o.leg,
            "tasks": len(self.tasks),
            "trials": self.o.trials,
            "trials_done": len(recs),
            "complete": all(len(v) >= self.o.trials for v in per_task.values()),
            "per_task_rewards": per_task,
            "successes": sum(is_success(x) for x in rewards),
            "pass_hat_k": [round(x, 6) for x in pass_hat_k(complete, n_trials)] if n_trials else [],
            "avg_reward": round(sum(rewards) / len(rewards), 6) if rewards else None,
            "task_file_sha256": self.task_file.sha256,
            "task_file": str(self.task_file.path),
            "task_package": f"{self.task_file.package}=={self.task_file.package_version}",
            "model_id": self.o.agent.model_id,
            "user_model_id": self.o.user.model_id,
            "git_commit": self.commit,
            "tokens": {
                "prompt": sum(int(r.get("prompt_tokens", 0)) for r in recs),
                "completion": sum(int(r.get("completion_tokens", 0)) for r in recs),
            },
            "model_calls": sum(int(r.get("model_calls", 0)) for r in recs),
            "tool_calls": sum(int(r.get("tool_calls", 0)) for r in recs),
            "harness_errors": sum(1 for r in recs if r.get("error")),
            "agent_errors": sum(1 for r in recs if r.get("errors")),
            "evaluation_errors": sum(1 for r in recs if r.get("evaluation_error")),
            "terminations": _count(r.get("termination", "?") for r in recs),
            "trial_seconds_total": round(sum(float(r.get("duration_s", 0)) for r in recs), 3),
            "wall_seconds": round(time.time() - self.started, 3),
            "results": str(self.results_path),
        }


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[str(i)] = out.get(str(i), 0) + 1
    return out


def run_tau2(
    options: Tau2RunOptions,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    return Tau2Run(options).run(on_trial=on_trial, on_start=on_start)
