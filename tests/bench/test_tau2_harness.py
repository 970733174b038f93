"""The TAU-bench harness against tau2's real orchestrator and evaluator (needs scripts/setup/tau2.sh).

Expectations come from tau2 itself, never from our harness: which tasks a null agent must pass is computed by
applying the gold actions to a fresh official environment and comparing databases; which tasks the sabotaged
oracle must fail, by dropping its last write the same way. The acceptance numbers of DESIGN §8 (oracle
50/50, 114/114, 8/9; null 19/50, 7/114, τ³ 23/50) are checked on the full task files by the sweep test at the
end (``ELIZAPY_TAU2_FULL=1``); the default suite runs a fixed subset so ``make test`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from elizapy.bench.tau2.env import tau2_available

if not tau2_available():  # pragma: no cover - depends on the environment
    pytest.skip("tau2 is not installed (scripts/setup/tau2.sh)", allow_module_level=True)

from elizapy.bench.tau2.agent import write_tool_names
from elizapy.bench.tau2.agents import AgentSpec, load_agent_spec
from elizapy.bench.tau2.env import load_tasks, make_environment, task_file
from elizapy.bench.tau2.runner import Tau2Run, Tau2RunOptions, run_tau2
from elizapy.models import TextRequest, TextResult
from elizapy.models.base import ToolCall
from elizapy.models.testing import FunctionModel
from elizapy.types import ModelType

# litellm (tau2's user simulator) builds pydantic models lazily; their import-time warnings are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

AIRLINE_SUBSET = ["0", "3", "7", "9", "10"]
RETAIL_SUBSET = ["0", "10", "12", "25", "50", "105"]


def _run(domain: str, agent: str | AgentSpec, tmp_path: Path, **kw: Any) -> dict[str, Any]:
    spec = load_agent_spec(agent) if isinstance(agent, str) else agent
    return run_tau2(Tau2RunOptions(domain=domain, agent=spec, results_dir=tmp_path, **kw))


def _passed(summary: dict[str, Any]) -> set[str]:
    return {t for t, r in summary["per_task_rewards"].items() if r and all(x == 1.0 for x in r)}


def _db_after(domain: str, task: Any, actions: list[Any]) -> str:
    env = make_environment(domain)
    init = task.initial_state
    env.set_state(
        initialization_data=init.initialization_data if init else None,
        initialization_actions=init.initialization_actions if init else None,
        message_history=[],
    )
    for a in actions:
        with contextlib.suppress(Exception):  # a gold action tau2's own evaluator also lets fail
            env.make_tool_call(tool_name=a.name, requestor=a.requestor, **a.arguments)
    return str(env.get_db_hash())


def expected_null_passes(domain: str, task_set: str = "tau2", ids: list[str] | None = None) -> set[str]:
    """Tasks whose gold end state is the start state and that need nothing said (DB + COMMUNICATE)."""
    out = set()
    for task in load_tasks(domain, task_set, ids):  # type: ignore[arg-type]
        crit = task.evaluation_criteria
        basis = {str(getattr(b, "value", b)) for b in crit.reward_basis}
        assert basis <= {"DB", "COMMUNICATE"}, basis
        if "COMMUNICATE" in basis and crit.communicate_info:
            continue
        if _db_after(domain, task, list(crit.actions or [])) == _db_after(domain, task, []):
            out.add(str(task.id))
    return out


def expected_sabotage_failures(domain: str, ids: list[str] | None = None) -> set[str]:
    """Tasks where dropping the last agent write changes the end state: the sabotaged oracle must score 0."""
    writes = write_tool_names(make_environment(domain))
    out = set()
    for task in load_tasks(domain, "tau2", ids):
        actions = list(task.evaluation_criteria.actions or [])
        idx = [i for i, a in enumerate(actions) if a.requestor == "assistant" and a.name in writes]
        if idx and _db_after(domain, task, actions) != _db_after(
            domain, task, actions[: idx[-1]] + actions[idx[-1] + 1 :]
        ):
            out.add(str(task.id))
    return out


# --- mock: the whole domain ---------------------------------------------------------------------------------


def test_oracle_mock_passes_every_task_with_gold_actions(tmp_path: Path) -> None:
    s = _run("mock", "oracle", tmp_path)
    assert s["tasks"] == 9 and s["successes"] == 8, s["per_task_rewards"]
    failed = set(s["per_task_rewards"]) - _passed(s)
    no_gold = {
        t.id
        for t in load_tasks("mock")
        if not t.evaluation_criteria.actions and t.evaluation_criteria.env_assertions
    }
    assert failed == no_gold and len(failed) == 1
    assert s["tool_calls"] >= 7 and s["harness_errors"] == 0
    assert s["task_file_sha256"] == task_file("mock").sha256 and len(s["task_file_sha256"]) == 64


def test_null_and_sabotaged_mock(tmp_path: Path) -> None:
    null = _run("mock", "null", tmp_path)
    sab = _run("mock", "sabotaged", tmp_path)
    assert null["tool_calls"] == 0 and null["successes"] < 8
    writes = write_tool_names(make_environment("mock"))
    write_tasks = {
        t.id for t in load_tasks("mock") if any(a.name in writes for a in t.evaluation_criteria.actions or [])
    }
    assert write_tasks and not (_passed(sab) & write_tasks), sab["per_task_rewards"]


# --- airline and retail: a fixed subset by default ----------------------------------------------------------


@pytest.mark.parametrize(("domain", "ids"), [("airline", AIRLINE_SUBSET), ("retail", RETAIL_SUBSET)])
def test_harness_agents_on_a_fixed_subset(domain: str, ids: list[str], tmp_path: Path) -> None:
    oracle = _run(domain, "oracle", tmp_path, task_ids=ids, concurrency=2)
    assert _passed(oracle) == set(ids), oracle["per_task_rewards"]
    null = _run(domain, "null", tmp_path, task_ids=ids)
    assert _passed(null) == expected_null_passes(domain, ids=ids)
    sab = _run(domain, "sabotaged", tmp_path, task_ids=ids)
    must_fail = expected_sabotage_failures(domain, ids)
    assert must_fail and not (_passed(sab) & must_fail)
    # Without writes to drop, the sabotaged oracle is the oracle.
    assert _passed(sab) == set(ids) - must_fail


# --- a real tool-loop agent with a scripted model -----------------------------------------------------------


def _task_creator(model_type: ModelType, request: TextRequest) -> TextResult:
    """Reads the user's request, calls create_task with what it says, then reports the new task's id."""
    msgs = request.messages or []
    results = [m for m in msgs if m.role == "tool"]
    if results:
        created = json.loads(results[-1].content or "{}")
        return TextResult(
            text=f"Done: I created task {created.get('task_id')} titled {created.get('title')!r}."
        )
    said = next((m.content or "" for m in reversed(msgs) if m.role == "user"), "")
    m = re.search(r"called '([^']+)' for (\w+)", said)
    if m is None:
        return TextResult(text="What should the task be called?")
    return TextResult(
        tool_calls=[ToolCall("call_a", "create_task", {"user_id": m.group(2), "title": m.group(1)})]
    )


def test_scripted_model_drives_the_real_tool_loop_agent_to_full_reward(tmp_path: Path) -> None:
    spec = AgentSpec(
        name="scripted-tools",
        kind="llm",
        reasoner="tools",
        provider_factory=lambda: FunctionModel(_task_creator),
    )
    s = _run("mock", spec, tmp_path, task_ids=["create_task_1"])
    assert s["per_task_rewards"] == {"create_task_1": [1.0]}
    rec = json.loads(Path(s["results"]).read_text().splitlines()[0])
    assert rec["tool_calls"] == 1 and rec["model_calls"] == 2 and rec["termination"] == "user_stop"
    sims = (Path(s["results"]).parent / "simulations.jsonl").read_text().splitlines()
    msgs = json.loads(sims[0])["messages"]
    calls = [c for m in msgs if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    tool_msgs = [m for m in msgs if m["role"] == "tool"]
    assert [c["id"] for c in calls] == [t["id"] for t in tool_msgs] == ["call_a"]
    assert any("task_2" in (m.get("content") or "") for m in msgs if m["role"] == "assistant")


def test_a_wrong_scripted_agent_scores_zero(tmp_path: Path) -> None:
    def wrong(model_type: ModelType, request: TextRequest) -> TextResult:
        if any(m.role == "tool" for m in request.messages or []):
            return TextResult(text="done")
        return TextResult(tool_calls=[ToolCall("w", "create_task", {"user_id": "user_1", "title": "Wrong"})])

    spec = AgentSpec(name="wrong", kind="llm", provider_factory=lambda: FunctionModel(wrong))
    s = _run("mock", spec, tmp_path, task_ids=["create_task_1"])
    assert s["per_task_rewards"] == {"create_task_1": [0.0]}


def test_xml_reasoner_agent_extracts_arguments_and_continues_after_results(tmp_path: Path) -> None:
    from elizapy.models.testing import xml_reply

    def model(model_type: ModelType, request: TextRequest) -> TextResult:
        prompt = request.prompt or ""
        if model_type == ModelType.OBJECT_LARGE:
            m = re.search(r"called '([^']+)' for (\w+)", prompt)
            assert m is not None
            return TextResult(text=json.dumps({"user_id": m.group(2), "title": m.group(1)}))
        if "Results of the actions you just took" in prompt:
            found = re.search(r'"task_id": ?"(task_\d+)"', prompt)
            return TextResult(text=xml_reply(f"Created {found.group(1) if found else '?'}."))
        return TextResult(text=xml_reply("", actions=["create_task"]))

    spec = AgentSpec(
        name="scripted-xml", kind="llm", reasoner="xml", provider_factory=lambda: FunctionModel(model)
    )
    s = _run("mock", spec, tmp_path, task_ids=["create_task_1"])
    assert s["per_task_rewards"] == {"create_task_1": [1.0]}
    rec = json.loads(Path(s["results"]).read_text().splitlines()[0])
    assert rec["agent_runs"] == 2 and rec["tool_calls"] == 1


def test_config_agent_and_llm_user_over_http(tmp_path: Path) -> None:
    """The LLM path: an agent config file (OpenAI-compatible URL) and tau2's litellm user, both over HTTP."""
    from tests.models.fake_openai import FakeOpenAIServer

    from elizapy.models import allow_model_requests

    server = FakeOpenAIServer()
    fake = server.start()
    try:
        fake.reply("Please create a task called 'Important Meeting' for user_1.")  # the user simulator
        fake.reply(tool_calls=[("c1", "create_task", {"user_id": "user_1", "title": "Important Meeting"})])
        fake.reply("Done: task_2 'Important Meeting' is created.")  # the agent, after the tool result
        fake.reply("Thanks! ###STOP###")  # the user simulator
        config = tmp_path / "agent.json"
        config.write_text(
            json.dumps(
                {
                    "name": "http-agent",
                    "reasoner": "tools",
                    "model_url": fake.base_url,
                    "model": "agent-model",
                    "tool_calling": "native",
                    "temperature": 0.0,
                }
            )
        )
        from elizapy.bench.tau2.users import parse_user_model

        with allow_model_requests():
            s = _run(
                "mock",
                str(config),
                tmp_path,
                task_ids=["create_task_1"],
                user=parse_user_model(f"{fake.base_url}/user-model"),
            )
        bodies = fake.bodies
    finally:
        server.stop()
    assert s["per_task_rewards"] == {"create_task_1": [1.0]}, s
    assert s["model_id"] == f"agent-model@{fake.base_url}"
    assert [b["model"] for b in bodies] == ["user-model", "agent-model", "agent-model", "user-model"]
    agent_first, agent_second = bodies[1], bodies[2]
    assert "create_task" in {t["function"]["name"] for t in agent_first["tools"]}
    assert agent_first["temperature"] == 0.0
    echoed = [m for m in agent_second["messages"] if m["role"] == "tool"]
    assert len(echoed) == 1 and echoed[0]["tool_call_id"] == "c1" and "task_2" in echoed[0]["content"]


# --- results, resume, trials --------------------------------------------------------------------------------


def test_trials_are_appended_and_a_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    first = _run("mock", "oracle", tmp_path, trials=1, run_id="r1")
    lines = Path(first["results"]).read_text().splitlines()
    assert len(lines) == 9
    # Simulate a crash: keep 4 finished trials (and a torn last line), then resume with 2 trials per task.
    Path(first["results"]).write_text("\n".join(lines[:4]) + '\n{"task_id": "cut')
    starts: list[tuple[int, int]] = []
    run = Tau2Run(
        Tau2RunOptions(
            domain="mock",
            agent=load_agent_spec("oracle"),
            results_dir=tmp_path,
            trials=2,
            run_id="r1",
            resume=True,
        )
    )
    s = run.run(on_start=lambda todo, done: starts.append((todo, done)))
    assert starts == [(14, 4)]
    assert s["trials_done"] == 18 and s["complete"]
    kept = [json.loads(x) for x in lines[:4]]
    again = [json.loads(x) for x in Path(s["results"]).read_text().splitlines()[:4]]
    assert again == kept
    assert len(s["pass_hat_k"]) == 2 and s["pass_hat_k"][0] == pytest.approx(8 / 9)
    with pytest.raises(Exception, match="already exists"):
        Tau2Run(
            Tau2RunOptions(domain="mock", agent=load_agent_spec("null"), results_dir=tmp_path, run_id="r1")
        ).run()


# --- the full sweep (DESIGN §8 acceptance numbers) ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("ELIZAPY_TAU2_FULL") != "1", reason="full sweep: set ELIZAPY_TAU2_FULL=1")
def test_full_sweep_matches_the_design_numbers(tmp_path: Path) -> None:
    assert _run("airline", "oracle", tmp_path)["successes"] == 50
    assert _run("retail", "oracle", tmp_path)["successes"] == 114
    null_airline = _run("airline", "null", tmp_path)
    assert null_airline["successes"] == 19 and _passed(null_airline) == expected_null_passes("airline")
    null_retail = _run("retail", "null", tmp_path)
    assert null_retail["successes"] == 7 and _passed(null_retail) == expected_null_passes("retail")
    assert _run("airline", "null", tmp_path, task_set="tau3")["successes"] == 23
    for domain in ("airline", "retail"):
        sab = _run(domain, "sabotaged", tmp_path)
        assert not (_passed(sab) & expected_sabotage_failures(domain))
