"""Which agent runs a tau2 trial: an ElizaOS-Py agent (character + reasoner + model URL) or an LLM-free one.

LLM-free agents validate the harness; they are ordinary runtimes whose *model* is scripted, so everything
else (tool-loop reasoner, actions, the bridge to tau2, the evaluator) is the real path:

- ``oracle``: a model that calls the task's gold actions as tools, then tells the user the task's
  ``communicate_info``; user-side gold actions are done by the scripted user when the agent asks for them.
- ``null``: a model that only ever says "ok".
- ``sabotaged``: the oracle minus its last write (a tool tau2 marks as WRITE) — must fail every write task.

An agent config file (JSON or TOML) names an ordinary character file, the reasoner and the model endpoint::

    {"name": "qwen-tools", "character": "support-agent.json", "reasoner": "tools",
     "model_url": "http://127.0.0.1:8080/v1", "model": "qwen2.5-coder-1.5b", "api_key_env": "OPENAI_API_KEY",
     "tool_calling": "json", "max_steps": 12, "temperature": 0.0}
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from ...errors import ConfigError
from ...models.base import ModelProvider, TextRequest, TextResult, ToolCall
from ...models.testing import FunctionModel
from ...types import Character, ModelType

AgentKind = Literal["oracle", "null", "sabotaged", "llm"]
ReasonerName = Literal["tools", "xml", "ts-xml", "ts-sidekick"]
REASONERS: tuple[str, ...] = get_args(ReasonerName)
"""What an agent config may name: our reasoners (tools, xml) or a real ElizaOS TS agent (ts-*)."""
BUILTIN_AGENTS = ("oracle", "null", "sabotaged")
CONFIG_DIR = Path(__file__).with_name("configs")

DEFAULT_CHARACTER = Character(
    name="Support",
    bio=["A customer service agent who follows the company policy exactly."],
    system=(
        "You are a customer service agent. Help the user according to the policy. Use the tools to look "
        "things up and to make changes; never invent facts. Before any action that changes the database, "
        "state the details and get the user's explicit confirmation (yes). Reply to the user in plain text."
    ),
)


@dataclass(slots=True)
class AgentSpec:
    name: str
    kind: AgentKind
    character: Character = field(default_factory=lambda: DEFAULT_CHARACTER)
    reasoner: ReasonerName = "tools"
    """``ts-xml`` / ``ts-sidekick``: a real ElizaOS TS agent in node, alone or with the Python sidekick."""
    model_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    tool_calling: Literal["native", "json"] | None = None
    max_steps: int = 30
    max_tool_calls: int = 64
    temperature: float | None = 0.0
    max_continuations: int = 5
    """XML reasoner only: follow-up runs after tool results, like ElizaOS multi-step (TS: up to 6 steps)."""
    source: str = "builtin"
    provider_factory: Callable[[], ModelProvider] | None = None
    """Programmatic use (tests, notebooks): builds the model provider instead of ``model_url``/``model``."""

    @property
    def scripted(self) -> bool:
        return self.kind != "llm"

    @property
    def model_id(self) -> str:
        if self.kind != "llm":
            return f"scripted:{self.kind}"
        if self.provider_factory is not None and not self.model_url:
            return f"provider:{self.model or self.name}"
        return f"{self.model}@{self.model_url}"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "reasoner": self.reasoner,
            "model": self.model,
            "model_url": self.model_url,
            "tool_calling": self.tool_calling,
            "max_steps": self.max_steps,
            "character": self.character.name,
            "source": self.source,
        }


def load_agent_spec(ref: str) -> AgentSpec:
    """``oracle`` / ``null`` / ``sabotaged``, or the path of an agent config file (JSON or TOML)."""
    if ref in BUILTIN_AGENTS:
        return AgentSpec(name=ref, kind=ref)  # type: ignore[arg-type]
    path = Path(ref)
    if not path.is_file() and (CONFIG_DIR / ref).is_file():
        path = CONFIG_DIR / ref
    if not path.is_file():
        raise ConfigError(f"--agent {ref!r}: not one of {', '.join(BUILTIN_AGENTS)} and no such config file")
    try:
        raw = tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"agent config {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"agent config {path}: expected an object")
    return spec_from_dict(raw, base_dir=path.parent, source=str(path))


_KNOWN = {
    "name",
    "character",
    "reasoner",
    "model_url",
    "model",
    "api_key_env",
    "tool_calling",
    "max_steps",
    "max_tool_calls",
    "temperature",
    "max_continuations",
}


def spec_from_dict(raw: dict[str, Any], *, base_dir: Path = Path("."), source: str = "dict") -> AgentSpec:
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ConfigError(f"agent config {source}: unknown keys {', '.join(sorted(unknown))}")
    character = DEFAULT_CHARACTER
    if raw.get("character"):
        from ...character import load_character

        cpath = Path(str(raw["character"]))
        if not cpath.is_absolute():
            cpath = base_dir / cpath
        character = load_character(cpath).character
    reasoner = str(raw.get("reasoner", "tools"))
    if reasoner not in REASONERS:
        raise ConfigError(
            f"agent config {source}: reasoner must be one of {', '.join(REASONERS)}, not {reasoner!r}"
        )
    mode = raw.get("tool_calling")
    if mode not in (None, "native", "json"):
        raise ConfigError(f"agent config {source}: tool_calling must be native or json")
    url = raw.get("model_url") or os.environ.get("OPENAI_BASE_URL")
    model = raw.get("model") or os.environ.get("OPENAI_LARGE_MODEL")
    if not url or not model:
        raise ConfigError(
            f"agent config {source}: model_url and model are required "
            "(any OpenAI-compatible endpoint, e.g. `elizapy models serve`)"
        )
    temp = raw.get("temperature", 0.0)
    return AgentSpec(
        name=str(raw.get("name") or Path(source).stem),
        kind="llm",
        character=character,
        reasoner=reasoner,  # type: ignore[arg-type]
        model_url=str(url),
        model=str(model),
        api_key_env=raw.get("api_key_env"),
        tool_calling=mode,
        max_steps=int(raw.get("max_steps", 30)),
        max_tool_calls=int(raw.get("max_tool_calls", 64)),
        temperature=None if temp is None else float(temp),
        max_continuations=int(raw.get("max_continuations", 5)),
        source=source,
    )


# --- LLM-free agents: a scripted plan shared by the scripted model and the scripted user --------------------


@dataclass(slots=True)
class PlannedCall:
    name: str
    arguments: dict[str, Any]
    requestor: str


class OraclePlan:
    """The task's gold actions in order, cut into runs of agent actions and user actions."""

    def __init__(self, calls: list[PlannedCall], communicate: list[str]) -> None:
        self.segments: list[tuple[str, list[PlannedCall]]] = []
        for call in calls:
            if self.segments and self.segments[-1][0] == call.requestor:
                self.segments[-1][1].append(call)
            else:
                self.segments.append((call.requestor, [call]))
        self.communicate = communicate
        self.cursor = 0

    @classmethod
    def from_task(
        cls, task: Any, *, write_tools: set[str] | None = None, sabotage: bool = False
    ) -> OraclePlan:
        criteria = task.evaluation_criteria
        actions = list(criteria.actions or []) if criteria is not None else []
        calls = [PlannedCall(a.name, dict(a.arguments), a.requestor) for a in actions]
        if sabotage:
            writes = [
                i
                for i, c in enumerate(calls)
                if c.requestor == "assistant" and c.name in (write_tools or set())
            ]
            if writes:
                del calls[writes[-1]]
        communicate = list(criteria.communicate_info or []) if criteria is not None else []
        return cls(calls, communicate)

    def next_is(self, requestor: str) -> bool:
        return self.cursor < len(self.segments) and self.segments[self.cursor][0] == requestor

    def take(self, requestor: str) -> list[PlannedCall]:
        if not self.next_is(requestor):
            return []
        calls = self.segments[self.cursor][1]
        self.cursor += 1
        return calls

    def agent_says(self) -> str:
        if self.next_is("user"):
            steps = "; ".join(f"{c.name}({json.dumps(c.arguments)})" for c in self.segments[self.cursor][1])
            return f"Please do this on your side now: {steps}."
        if self.communicate:
            return "All done. " + " | ".join(self.communicate)
        return "All done. Is there anything else?"


def oracle_model(plan: OraclePlan) -> ModelProvider:
    """A scripted model: the next run of gold agent actions as one turn of tool calls, else its text."""
    counter = [0]

    def reply(model_type: ModelType, request: TextRequest) -> TextResult:
        if request.tools and plan.next_is("assistant"):
            calls = []
            for c in plan.take("assistant"):
                counter[0] += 1
                calls.append(ToolCall(id=f"oracle_{counter[0]}", name=c.name, arguments=dict(c.arguments)))
            return TextResult(text="", tool_calls=calls)
        return TextResult(text=plan.agent_says())

    return FunctionModel(reply, name="oracle")


def null_model() -> ModelProvider:
    return FunctionModel(lambda model_type, request: TextResult(text="ok"), name="null")
