"""Go/no-go criteria: a versioned YAML file of rules, evaluated on what the metrics store holds.

The rules live in data (``criteria.yaml`` next to this module, or any file given to ``elizapy report
--criteria``) so that changing a threshold is a reviewed, versioned change and every verdict in a report can
be traced to the rule set that produced it. Each rule kind is one small evaluator below; a rule without data
gives "not measured" for that leg, never a pass.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError

NOT_MEASURED = "not measured"
HARNESS_KINDS = frozenset({"oracle", "null", "sabotaged"})
DEFAULT_CRITERIA = Path(__file__).with_name("criteria.yaml")


# --- the file -------------------------------------------------------------------------------------------


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str


class Tau2VsBaseline(_Rule):
    kind: Literal["tau2_vs_baseline"]
    domains: list[str] = Field(default_factory=list)
    noise: float = Field(ge=0, le=1)


class Tau2Reasoner(_Rule):
    kind: Literal["tau2_reasoner"]
    leg: str
    better: str
    baseline: str
    min_delta: float


class Tau2Errors(_Rule):
    kind: Literal["tau2_errors"]
    max_rate: float = Field(ge=0, le=1)


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: Literal["ours", "anchor", "ratio"]
    op: Literal["<=", ">=", "<", ">"]
    value: float


class PerfRule(_Rule):
    kind: Literal["perf"]
    scenario: str
    leg: str
    checks: list[Check] = Field(min_length=1)
    anchor: Literal["ts", "floor"] = "ts"


Rule = Annotated[Tau2VsBaseline | Tau2Reasoner | Tau2Errors | PerfRule, Field(discriminator="kind")]


class CriteriaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    legs: list[str] = Field(min_length=1)
    baseline_leg: str
    criteria: list[Rule] = Field(min_length=1)
    source: str = ""


def load_criteria(path: Path | str | None = None) -> CriteriaFile:
    """Read and validate a criteria file; errors name the file, the rule and the field."""
    import yaml

    file = Path(path) if path else DEFAULT_CRITERIA
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the criteria file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping with version, legs, baseline_leg and criteria")
    try:
        spec = CriteriaFile.model_validate({**raw, "source": str(file)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{file}: {where}: {first['msg']}") from exc
    for rule in spec.criteria:
        for leg in [getattr(rule, "leg", None)]:
            if leg is not None and leg not in spec.legs:
                raise ConfigError(f"{file}: criterion {rule.id}: leg {leg!r} is not one of {spec.legs}")
    if spec.baseline_leg not in spec.legs:
        raise ConfigError(f"{file}: baseline_leg {spec.baseline_leg!r} is not one of {spec.legs}")
    return spec


# --- evaluation -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Criterion:
    cid: str
    title: str
    rule: str
    values: dict[str, str]
    """leg -> shown value (or NOT_MEASURED)."""
    verdicts: dict[str, str]
    """leg -> pass | fail | baseline | not measured | n/a | no baseline …"""


def fmt(v: Any, digits: int = 3) -> str:
    """A value for a table cell: three significant digits, or NOT_MEASURED for a missing one."""
    if v is None:
        return NOT_MEASURED
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _pass1(run: dict[str, Any]) -> float:
    return float(run["summary"]["pass_hat_k"][0])


def run_reasoner(run: dict[str, Any]) -> str:
    """The reasoner a tau2 run's agent used (tools, xml, ts-xml, ts-sidekick), or '' when unknown."""
    agent = run["config"].get("agent") if isinstance(run.get("config"), dict) else None
    cfg = agent if isinstance(agent, dict) else run["summary"].get("agent_config") or {}
    return str(cfg.get("reasoner") or "")


def _comparable(run: dict[str, Any]) -> tuple[str, str, str, str]:
    s = run["summary"]
    tasks = json.dumps(sorted(str(t) for t in s.get("per_task_rewards") or {}))
    return (str(s.get("model_id")), str(s.get("user_model_id")), str(s.get("task_file_sha256")), tasks)


def llm_runs(latest: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete runs of LLM agents (harness checks never count for a leg)."""
    return [
        r
        for r in latest
        if r["agent_kind"] not in HARNESS_KINDS
        and r["summary"].get("complete")
        and r["summary"].get("pass_hat_k")
    ]


def _vs_baseline(rule: Tau2VsBaseline, spec: CriteriaFile, llm: list[dict[str, Any]]) -> list[Criterion]:
    out = []
    for domain in sorted({str(r["domain"]) for r in llm} | set(rule.domains)):
        best: dict[str, dict[str, Any] | None] = {}
        for leg in spec.legs:
            cands = [r for r in llm if r["leg"] == leg and r["domain"] == domain]
            best[leg] = max(cands, key=_pass1) if cands else None
        base = best.get(spec.baseline_leg)
        values, verdicts = {}, {}
        for leg in spec.legs:
            run = best[leg]
            if run is None:
                values[leg], verdicts[leg] = NOT_MEASURED, NOT_MEASURED
                continue
            values[leg] = f"{_pass1(run):.3f} ({run['agent']}, {run['summary'].get('model_id')})"
            if leg == spec.baseline_leg:
                verdicts[leg] = "baseline"
            elif base is None:
                verdicts[leg] = f"no baseline ({spec.baseline_leg} not measured)"
            else:
                verdicts[leg] = "pass" if _pass1(run) >= _pass1(base) - rule.noise else "fail"
        out.append(
            Criterion(
                f"{rule.id}-{domain}",
                f"{rule.title} ({domain})",
                f"pass^1 ≥ {spec.baseline_leg} pass^1 − {rule.noise:.2f} (noise band); the leg's best "
                "complete LLM config counts",
                values,
                verdicts,
            )
        )
    return out


def _reasoner_delta(rule: Tau2Reasoner, spec: CriteriaFile, llm: list[dict[str, Any]]) -> list[Criterion]:
    out = []
    mine = [r for r in llm if r["leg"] == rule.leg]
    for domain in sorted({str(r["domain"]) for r in mine}):
        better = [r for r in mine if r["domain"] == domain and run_reasoner(r) == rule.better]
        base = [r for r in mine if r["domain"] == domain and run_reasoner(r) == rule.baseline]
        pairs = [(b, a) for b in better for a in base if _comparable(b) == _comparable(a)]
        values = {leg: "n/a" for leg in spec.legs}
        verdicts = dict(values)
        if not pairs:
            have = "only " + (rule.better if better else rule.baseline) if better or base else "neither"
            values[rule.leg] = f"{NOT_MEASURED} ({have} at equal model, user and tasks)"
            verdicts[rule.leg] = NOT_MEASURED
        else:
            b, a = max(pairs, key=lambda p: _pass1(p[0]) - _pass1(p[1]))
            delta = _pass1(b) - _pass1(a)
            values[rule.leg] = (
                f"{rule.better} {_pass1(b):.3f} vs {rule.baseline} {_pass1(a):.3f} ({delta:+.3f}; "
                f"{b['summary'].get('model_id')}, {len(b['summary'].get('per_task_rewards') or {})} tasks)"
            )
            verdicts[rule.leg] = "pass" if delta >= rule.min_delta - 1e-9 else "fail"
        out.append(
            Criterion(
                f"{rule.id}-{domain}",
                f"{rule.title} ({domain})",
                f"pass^1({rule.better}) − pass^1({rule.baseline}) ≥ {rule.min_delta:+.2f}, same agent model, "
                "user model, task file and tasks",
                values,
                verdicts,
            )
        )
    return out


def _errors(rule: Tau2Errors, spec: CriteriaFile, llm: list[dict[str, Any]]) -> list[Criterion]:
    values, verdicts = {}, {}
    for leg in spec.legs:
        rows = [t for r in llm if r["leg"] == leg for t in r["trial_rows"]]
        if not rows:
            values[leg], verdicts[leg] = NOT_MEASURED, NOT_MEASURED
            continue
        bad = sum(
            1 for t in rows if json.loads(t["errors_json"] or "[]") or t["termination"] == "harness_error"
        )
        rate = bad / len(rows)
        values[leg] = f"{rate:.1%} of {len(rows)} trials"
        verdicts[leg] = "pass" if rate <= rule.max_rate else "fail"
    return [Criterion(rule.id, rule.title, f"≤ {rule.max_rate:.0%} of trials", values, verdicts)]


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt
}


def _perf(rule: PerfRule, spec: CriteriaFile, perf: dict[str, dict[str, Any]]) -> list[Criterion]:
    row = perf.get(rule.scenario) or {}
    unit = str(row.get("unit") or "")
    ours, anchor = row.get("ours"), row.get("anchor")
    values = {leg: "n/a" for leg in spec.legs}
    verdicts = dict(values)
    if rule.anchor == "ts" and rule.leg != spec.baseline_leg:
        values[spec.baseline_leg] = fmt(anchor)
        verdicts[spec.baseline_leg] = "baseline" if anchor is not None else NOT_MEASURED
    got = {"ours": ours, "anchor": anchor, "ratio": row.get("ratio")}
    if ours is None:
        values[rule.leg], verdicts[rule.leg] = NOT_MEASURED, NOT_MEASURED
    else:
        shown = fmt(ours)
        if rule.anchor == "floor" and row.get("ratio") is not None:
            shown += f" ({fmt(row.get('ratio'))}× the floor {fmt(anchor)})"
        values[rule.leg] = shown
        missing = [c.field for c in rule.checks if got[c.field] is None]
        if missing:
            verdicts[rule.leg] = f"no {', '.join(missing)} ({spec.baseline_leg} anchor not measured)"
        else:
            ok = all(_OPS[c.op](float(got[c.field]), c.value) for c in rule.checks)  # type: ignore[arg-type]
            verdicts[rule.leg] = "pass" if ok else "fail"
    checks = " and ".join(f"{c.field} {c.op} {c.value:g}" for c in rule.checks)
    title = f"{rule.title} ({rule.scenario}{', ' + unit if unit else ''})"
    return [Criterion(rule.id, title, f"{rule.leg}: {checks}", values, verdicts)]


def evaluate(
    spec: CriteriaFile, latest_runs: Sequence[dict[str, Any]], perf: dict[str, dict[str, Any]]
) -> list[Criterion]:
    """Every rule of ``spec`` on the newest run of each config and the newest perf results."""
    llm = llm_runs(latest_runs)
    out: list[Criterion] = []
    for rule in spec.criteria:
        if isinstance(rule, Tau2VsBaseline):
            out += _vs_baseline(rule, spec, llm)
        elif isinstance(rule, Tau2Reasoner):
            out += _reasoner_delta(rule, spec, llm)
        elif isinstance(rule, Tau2Errors):
            out += _errors(rule, spec, llm)
        else:
            out += _perf(rule, spec, perf)
    return out


def leg_verdict(crits: Sequence[Criterion], leg: str) -> str:
    """GO when every criterion of the leg is measured and passes; NO-GO when one fails."""
    vs = [c.verdicts.get(leg, "n/a") for c in crits]
    vs = [v for v in vs if v not in ("n/a", "baseline")]
    if any(c.verdicts.get(leg) == "baseline" for c in crits) and all(v == NOT_MEASURED for v in vs):
        return "baseline (the reference leg)"
    if not vs or all(v == NOT_MEASURED for v in vs):
        return NOT_MEASURED
    if any(v == "fail" for v in vs):
        return "NO-GO"
    if any(v != "pass" for v in vs):
        return "incomplete"
    return "GO"
