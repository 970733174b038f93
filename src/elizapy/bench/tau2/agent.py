"""The ElizaOS-Py agent as a tau2 ``LocalAgent``: the synchronous half of the bridge (see :mod:`.session`).

tau2's orchestrator calls :meth:`ElizaTau2Agent.generate_next_message` with a user message or with the tool
messages answering our last batch; the agent forwards it into its runtime (running in the harness's event loop
through an anyio blocking portal) and returns the runtime's next move: a batch of tool calls or its reply.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

from anyio.from_thread import BlockingPortal

from ...models.base import TextRequest, TextResult
from ...models.gateway import ModelGateway
from ...reasoning.tools import LoopLimits
from ...reasoning.xml import XmlReasoner
from ...runtime.plugin import Plugin
from ...runtime.reasoner import Reasoner
from ...runtime.runtime import AgentRuntime
from ...store.sqlite import SqliteStore
from ...types import ModelType
from .agents import AgentSpec, OraclePlan, null_model, oracle_model
from .env import load_tau2
from .plugin import BatchingToolLoopReasoner, ToolDef, tau2_plugin
from .session import Tau2Session, ToolBatch, ToolOutcome, TurnDone, TurnFailed

load_tau2()

from tau2.agent.base import AgentError, LocalAgent  # type: ignore[import-untyped, import-not-found]  # noqa: E402
from tau2.data_model.message import (  # type: ignore[import-untyped, import-not-found]  # noqa: E402
    AssistantMessage,
    MultiToolMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

TURN_TIMEOUT_S = 900.0
OMITTED_PROVIDERS = frozenset({"ENTITIES"})
"""A tau2 conversation has one anonymous customer; listing the room's internal entity UUIDs only invites a
model to pass them as the customer's user id (Qwen2.5-Coder-1.5B did, on mock's update_task_1)."""


def tool_defs(environment: Any, tools: list[Any] | None = None) -> list[ToolDef]:
    """The assistant tools of a tau2 environment, with their JSON schemas and read/write kinds."""
    toolkit = environment.tools
    out = []
    for tool in tools if tools is not None else environment.get_tools():
        schema = tool.openai_schema["function"]
        try:
            kind = str(toolkit.tool_type(tool.name).value)
        except Exception:
            kind = "generic"
        out.append(
            ToolDef(
                name=tool.name,
                description=str(schema.get("description") or tool.name),
                parameters=dict(schema.get("parameters") or {"type": "object", "properties": {}}),
                kind=kind,
            )
        )
    return out


def history_turns(message_history: list[Any] | None) -> list[tuple[str, str]]:
    """A conversation's earlier messages as (role, text) turns; a tool call becomes a short text turn."""
    turns = []
    for m in message_history or []:
        if isinstance(m, UserMessage | AssistantMessage) and m.has_text_content():
            turns.append((str(m.role), str(m.content)))
        elif isinstance(m, AssistantMessage) and m.is_tool_call():
            calls = ", ".join(f"{c.name}({c.arguments})" for c in m.tool_calls)
            turns.append(("assistant", f"(called tools: {calls})"))
    return turns


def write_tool_names(environment: Any) -> set[str]:
    toolkit = environment.tools
    return {name for name in toolkit.tools if str(toolkit.tool_type(name).value) == "write"}


def make_provider(spec: AgentSpec, plan: OraclePlan | None) -> Any:
    if spec.kind in ("oracle", "sabotaged"):
        assert plan is not None
        return oracle_model(plan)
    if spec.kind == "null":
        return null_model()
    if spec.provider_factory is not None:
        return spec.provider_factory()
    import os

    from ...models.openai_compat import OpenAICompatProvider

    key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    assert spec.model_url and spec.model
    provider = OpenAICompatProvider(
        api_key=key,
        base_url=spec.model_url,
        small_model=spec.model,
        large_model=spec.model,
        native_tools=spec.tool_calling != "json",
        timeout_s=600.0,
        name=f"tau2-agent:{spec.name}",
    )
    return provider if spec.temperature is None else FixedTemperature(provider, spec.temperature)


class FixedTemperature:
    """Sends the agent config's temperature with every request that does not set one."""

    def __init__(self, inner: Any, temperature: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.temperature = temperature

    @property
    def model_types(self) -> frozenset[ModelType]:
        return frozenset(self.inner.model_types)

    @property
    def native_tools(self) -> bool:
        return bool(self.inner.native_tools)

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        if request.temperature is None:
            request = dataclasses.replace(request, temperature=self.temperature)
        result: TextResult = await self.inner.generate(model_type, request)
        return result

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = await self.inner.embed(model_type, texts)
        return out

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()


class ElizaTau2Agent(LocalAgent):  # type: ignore[misc]
    """One simulated conversation's agent: a fresh runtime (in-memory store) from an :class:`AgentSpec`."""

    def __init__(
        self,
        tools: list[Any],
        domain_policy: str,
        *,
        environment: Any,
        spec: AgentSpec,
        portal: BlockingPortal,
        plan: OraclePlan | None = None,
        extra_plugins: list[Plugin] | None = None,
        wrap_provider: Any = None,
        turn_timeout_s: float = TURN_TIMEOUT_S,
    ) -> None:
        super().__init__(tools=tools, domain_policy=domain_policy)
        self.spec = spec
        self.portal = portal
        self.turn_timeout_s = turn_timeout_s
        self.session = Tau2Session(max_continuations=spec.max_continuations if spec.reasoner == "xml" else 0)
        provider = make_provider(spec, plan)
        self.provider = wrap_provider(provider) if wrap_provider is not None else provider
        self._defs = tool_defs(environment, tools)
        self._extra_plugins = list(extra_plugins or [])
        self.runtime: AgentRuntime = portal.call(self._build)
        self._closed = False

    async def _build(self) -> AgentRuntime:
        gateway = ModelGateway()
        gateway.register_provider(self.provider)
        limits = LoopLimits(
            max_steps=self.spec.max_steps, max_tool_calls=self.spec.max_tool_calls, tool_timeout_s=600.0
        )
        reasoner: Reasoner
        if self.spec.reasoner == "xml":
            reasoner = XmlReasoner()
        else:
            reasoner = BatchingToolLoopReasoner(self.session, limits=limits, mode=self.spec.tool_calling)
        plugin = tau2_plugin(self._defs, self.domain_policy, self.session)
        runtime = AgentRuntime(
            self.spec.character,
            store=SqliteStore(":memory:"),
            models=gateway,
            plugins=[plugin, *self._extra_plugins],
            reasoner=reasoner,
            settings={"EMBED_MESSAGES": False},
            env={},
        )
        await runtime.initialize()
        runtime.providers = [p for p in runtime.providers if p.name not in OMITTED_PROVIDERS]
        self.session.attach(runtime)
        return runtime

    # --- tau2's agent interface -------------------------------------------------------------------------

    def get_init_state(self, message_history: list[Any] | None = None) -> dict[str, Any]:
        turns = history_turns(message_history)
        # The orchestrator's default greeting is history too; store it so the transcript matches tau2's.
        if turns:
            self.portal.call(self.session.seed_history, turns)
        return {"turns": len(turns)}

    def set_seed(self, seed: int) -> None:
        return None

    def generate_next_message(self, message: Any, state: Any) -> tuple[Any, Any]:
        if isinstance(message, UserMessage):
            self.portal.start_task_soon(self.session.drive, str(message.content or ""))
        elif isinstance(message, ToolMessage | MultiToolMessage):
            msgs = message.tool_messages if isinstance(message, MultiToolMessage) else [message]
            outcomes = [(m.id, ToolOutcome(str(m.content or ""), bool(m.error))) for m in msgs]
            self.portal.call(self.session.deliver, outcomes)
        else:
            raise AgentError(f"unexpected message for the agent: {type(message).__name__}")
        try:
            event = self.portal.call(self.session.next_event, self.turn_timeout_s)
        except TimeoutError as exc:
            raise AgentError(f"the agent did not answer within {self.turn_timeout_s:g}s") from exc
        if isinstance(event, ToolBatch):
            calls = [
                ToolCall(id=p.call_id, name=p.name, arguments=p.arguments, requestor="assistant")
                for p in event.calls
            ]
            return AssistantMessage(role="assistant", content=None, tool_calls=calls), state
        if isinstance(event, TurnDone):
            usage = {
                "prompt_tokens": sum(r.stats.prompt_tokens for r in event.results),
                "completion_tokens": sum(r.stats.completion_tokens for r in event.results),
            }
            return AssistantMessage(role="assistant", content=event.text, usage=usage), state
        assert isinstance(event, TurnFailed)
        self.session.stats.errors.append(event.error)
        raise AgentError(event.error)

    def stop(self, message: Any = None, state: Any = None) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.portal.call(self._close)

    async def _close(self) -> None:
        await self.runtime.stop()
        await self.runtime.store.close()
        close = getattr(self.provider, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
