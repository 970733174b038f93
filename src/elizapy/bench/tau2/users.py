"""User simulators: tau2's own LLM user (through litellm, any OpenAI-compatible URL) or a scripted one.

The scripted user needs no model: it opens with the task's reason for calling, performs the user-side gold
actions when the oracle asks for them, and otherwise ends the conversation with tau2's stop token. It is what
the LLM-free harness checks (oracle, null, sabotaged) talk to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from .agents import OraclePlan
from .env import load_tau2

load_tau2()

from tau2.data_model.message import (  # type: ignore[import-untyped, import-not-found]  # noqa: E402
    AssistantMessage,
    MultiToolMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from tau2.user.base import STOP, BaseUser  # type: ignore[import-untyped, import-not-found]  # noqa: E402
from tau2.user.user_simulator import UserSimulator  # type: ignore[import-untyped, import-not-found]  # noqa: E402


@dataclass(frozen=True, slots=True)
class UserSpec:
    """``scripted`` or an LLM: ``model`` (litellm name) with an optional OpenAI-compatible ``base_url``."""

    kind: str = "scripted"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    style: str = "official"
    """``official``: tau2's user simulator as published. ``anchored``: the same simulator with the role
    reminder and scripted opening that small local models need (see :class:`AnchoredUserSimulator`)."""

    @property
    def model_id(self) -> str:
        if self.kind == "scripted":
            return "scripted"
        suffix = "" if self.style == "official" else f" [{self.style}]"
        return f"{self.model}@{self.base_url or 'litellm-default'}{suffix}"


USER_STYLES = ("official", "anchored")


def parse_user_model(value: str | None, style: str = "official") -> UserSpec:
    """``scripted``; ``http://host:port/v1/<model>`` (everything after ``/v1/`` is the model name);
    ``URL#model``; or a bare litellm model name."""
    if not value or value == "scripted":
        return UserSpec()
    url, model = None, value
    if "#" in value:
        url, model = value.split("#", 1)
    elif value.startswith(("http://", "https://")):
        if "/v1/" in value:
            head, model = value.split("/v1/", 1)
            url = head + "/v1"
        else:
            url, _, model = value.rstrip("/").rpartition("/")
    if not model:
        raise ConfigError(f"--user-model {value!r}: no model name (use URL/v1/MODEL or URL#MODEL)")
    if style not in USER_STYLES:
        raise ConfigError(f"--user-style {style!r}: use one of {', '.join(USER_STYLES)}")
    return UserSpec(kind="llm", model=model, base_url=url, style=style)


def opening_line(task: Any) -> str:
    """The task's reason for calling, else its ticket, else its plain-text instructions."""
    scenario = getattr(task, "user_scenario", None)
    instructions = getattr(scenario, "instructions", None)
    for text in (getattr(instructions, "reason_for_call", None), getattr(task, "ticket", None), instructions):
        if isinstance(text, str) and text.strip():
            return text.strip()
    return "Hello, I need some help."


class ScriptedUser(BaseUser):  # type: ignore[misc]
    """An LLM-free user: opening line, user-side gold actions on request, then ``###STOP###``."""

    def __init__(self, task: Any, plan: OraclePlan | None = None) -> None:
        super().__init__(instructions=str(getattr(task, "user_scenario", "")), llm=None, llm_args=None)
        self.task = task
        self.plan = plan
        self.opened = False
        self.calls = 0

    def get_init_state(self, message_history: list[Any] | None = None) -> dict[str, Any]:
        # A task that starts from an earlier conversation still gets one user message from us first.
        return {}

    @classmethod
    def is_stop(cls, message: Any) -> bool:
        return bool(UserSimulator.is_stop(message))

    def set_seed(self, seed: int) -> None:
        return None

    def generate_next_message(self, message: Any, state: Any) -> tuple[Any, Any]:
        if isinstance(message, ToolMessage | MultiToolMessage):
            return UserMessage(role="user", content="I have done that."), state
        if not self.opened:
            self.opened = True
            return UserMessage(role="user", content=opening_line(self.task)), state
        if self.plan is not None and isinstance(message, AssistantMessage) and self.plan.next_is("user"):
            calls = []
            for c in self.plan.take("user"):
                self.calls += 1
                calls.append(
                    ToolCall(
                        id=f"user_{self.calls}", name=c.name, arguments=dict(c.arguments), requestor="user"
                    )
                )
            return UserMessage(role="user", tool_calls=calls), state
        return UserMessage(role="user", content=STOP), state


def make_user(spec: UserSpec, task: Any, environment: Any, plan: OraclePlan | None) -> Any:
    if spec.kind == "scripted":
        return ScriptedUser(task, plan)
    try:
        user_tools = environment.get_user_tools()
    except Exception:
        user_tools = None
    llm_args: dict[str, Any] = {"temperature": spec.temperature}
    model = spec.model or ""
    if spec.base_url:
        llm_args["api_base"] = spec.base_url
        llm_args["api_key"] = spec.api_key or "sk-no-key"
        if "/" not in model or model.split("/", 1)[0] not in ("openai", "hosted_vllm", "ollama"):
            model = "openai/" + model
    if spec.style == "anchored":
        return AnchoredUserSimulator(
            tools=user_tools, instructions=str(task.user_scenario), llm=model, llm_args=llm_args,
            opening=opening_line(task),
        )
    return UserSimulator(tools=user_tools, instructions=str(task.user_scenario), llm=model, llm_args=llm_args)


ROLE_REMINDER = (
    "\n\nReminder: you are the user described in the scenario, talking to a customer service agent; every "
    "message you receive comes from that agent. Write only the user's next message, in the first person. "
    "As soon as the agent has done everything your instructions ask for, reply with ###STOP### alone."
)


class AnchoredUserSimulator(UserSimulator):  # type: ignore[misc]
    """tau2's LLM user simulator, kept as published except for two things small local models need.

    Measured with Qwen2.5-Coder-1.5B on tau2's own prompt: answering the agent's greeting, the model
    greets back as if it were the agent ("Hello! How can I assist you today?") and the two sides loop until
    the step limit. So the conversation opens with the scenario's reason for calling (what a capable
    simulator says first anyway), and a short role reminder follows the official prompt. Runs made with it
    are labelled ``[anchored]`` in their user model id, so they are never mixed with official-user runs.
    """

    def __init__(self, *, opening: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.opening = opening

    @property
    def system_prompt(self) -> str:
        return str(super().system_prompt) + ROLE_REMINDER

    def generate_next_message(self, message: Any, state: Any) -> tuple[Any, Any]:
        spoke = any(isinstance(m, UserMessage) for m in state.messages)
        if not spoke and isinstance(message, AssistantMessage) and not message.is_tool_call():
            state.messages.append(message)
            reply = UserMessage(role="user", content=self.opening)
            state.messages.append(reply)
            return reply, state
        out: tuple[Any, Any] = super().generate_next_message(message, state)
        return out
