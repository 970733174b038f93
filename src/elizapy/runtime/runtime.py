"""AgentRuntime: the composition root of one agent.

It *has* a store, a model gateway, registries of plugin components and an event bus; it is not a database
adapter and not a message service. Everything that can hang is bounded by a timeout set here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..errors import PluginError
from ..models.base import TextRequest, TextResult
from ..models.gateway import ModelGateway
from ..models.settings import SettingsSource
from ..store.base import Store
from ..types import (
    UUID,
    ChannelType,
    Character,
    Entity,
    EventType,
    Log,
    Memory,
    ModelType,
    Room,
    State,
    World,
    create_unique_uuid,
)
from .events import EventBus
from .plugin import Action, Evaluator, Plugin, Provider, Route, Service, call_flexible
from .reasoner import Reasoner
from .state import StateComposer

log = logging.getLogger("elizapy.runtime")


@dataclass(slots=True)
class RunStats:
    """Counters of one message run (read by benchmarks and the metrics store)."""

    model_calls: int = 0
    calls_by_type: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: list[str] = field(default_factory=list)


current_run: ContextVar[RunStats | None] = ContextVar("elizapy_current_run", default=None)


class AgentRuntime:
    def __init__(
        self,
        character: Character,
        *,
        store: Store,
        models: ModelGateway | None = None,
        plugins: Sequence[Plugin] = (),
        settings: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        reasoner: Reasoner | None = None,
        action_timeout_s: float = 60.0,
        provider_timeout_s: float = 15.0,
        model_timeout_s: float = 180.0,
    ) -> None:
        self.character = character
        self.agent_id: UUID = character.agent_id
        self.store = store
        self.models = models or ModelGateway()
        self.settings = SettingsSource(
            character_settings=dict(character.settings or {}),
            character_secrets=dict(character.secrets or {}),
            runtime_settings=dict(settings or {}),
            env=env,
        )
        self.events = EventBus(on_error=lambda ev, exc: None)
        self.actions: list[Action] = []
        self.providers: list[Provider] = []
        self.evaluators: list[Evaluator] = []
        self.routes: list[Route] = []
        self.services: dict[str, Service] = {}
        self.plugins: list[Plugin] = []
        self._pending_plugins = list(plugins)
        self.reasoner = reasoner
        self.action_timeout_s = action_timeout_s
        self.provider_timeout_s = provider_timeout_s
        self.model_timeout_s = model_timeout_s
        self.state = StateComposer(self)
        self._ensured: set[tuple[str, str]] = set()
        self._initialized = False
        from .messages import MessagePipeline  # local: the pipeline module imports this one

        self.messages = MessagePipeline(self)

    # --- lifecycle -------------------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Open the store, register plugins (bootstrap first), start services, ensure the agent entity."""
        if self._initialized:
            return
        await self.store.open()
        from ..plugins.bootstrap import bootstrap_plugin

        plugins = self._pending_plugins
        if not any(p.name == bootstrap_plugin.name for p in plugins):
            plugins = [bootstrap_plugin, *plugins]
        for plugin in _order_by_dependencies(plugins):
            await self.register_plugin(plugin)
        if self.reasoner is None:
            from ..reasoning import select_reasoner

            self.reasoner = select_reasoner(self)
        existing = await self.store.agents.get(self.agent_id)
        # Keep an operator's enabled/disabled choice: starting a runtime must not re-enable a record.
        enabled = bool(existing.get("enabled", True)) if existing else True
        await self.store.agents.upsert(self.agent_id, self.character.to_wire(), enabled=enabled)
        if await self.store.entities.get(self.agent_id) is None:
            await self.store.entities.create(
                [Entity(id=self.agent_id, names=[self.character.name], agent_id=self.agent_id)]
            )
        self._initialized = True

    async def stop(self) -> None:
        await self.messages.drain()
        for name, service in list(self.services.items()):
            try:
                with anyio.fail_after(10):
                    await service.stop()
            except Exception as exc:
                log.warning("service %s failed to stop: %r", name, exc)
        self.services.clear()

    async def register_plugin(self, plugin: Plugin) -> None:
        if any(p.name == plugin.name for p in self.plugins):
            return
        if plugin.init is not None:
            await call_flexible(plugin.init, dict(plugin.config), self)
        self.plugins.append(plugin)
        for a in plugin.actions:
            self.register_action(a)
        for p in plugin.providers:
            self.register_provider(p)
        for e in plugin.evaluators:
            self.register_evaluator(e)
        for mt, handler in plugin.models.items():
            self.models.register_handler(mt, handler, provider=plugin.name, priority=plugin.priority)
        for event, handlers in plugin.events.items():
            for h in handlers:
                self.events.on(event, h)
        self.routes.extend(plugin.routes)
        for factory in plugin.services:
            service = factory()
            with anyio.fail_after(60):
                await service.start(self)
            self.services[service.service_type] = service

    def register_action(self, action: Action) -> None:
        if any(a.name == action.name for a in self.actions):
            log.warning("action %s already registered; keeping the first", action.name)
            return
        self.actions.append(action)

    def register_provider(self, provider: Provider) -> None:
        self.providers = [p for p in self.providers if p.name != provider.name] + [provider]

    def register_evaluator(self, evaluator: Evaluator) -> None:
        self.evaluators.append(evaluator)

    def get_service(self, service_type: str) -> Service | None:
        return self.services.get(service_type)

    # --- settings and models ---------------------------------------------------------------------------

    def get_setting(self, key: str) -> Any:
        return self.settings.get(key)

    def _count(self, model_type: ModelType | str, result: TextResult | None) -> None:
        stats = current_run.get()
        if stats is None:
            return
        stats.model_calls += 1
        key = str(ModelType(model_type).value)
        stats.calls_by_type[key] = stats.calls_by_type.get(key, 0) + 1
        if result is not None and result.usage is not None:
            stats.prompt_tokens += result.usage.prompt_tokens
            stats.completion_tokens += result.usage.completion_tokens

    async def generate(self, model_type: ModelType | str, request: TextRequest) -> TextResult:
        """Typed model call (tools, schemas, streaming), bounded by ``model_timeout_s``."""
        started = time.perf_counter()
        with anyio.fail_after(self.model_timeout_s):
            result = await self.models.generate(model_type, request, runtime=self)
        self._count(model_type, result)
        if self.events.has(EventType.MODEL_USED):
            await self.events.emit(
                EventType.MODEL_USED,
                {
                    "runtime": self,
                    "type": str(model_type),
                    "usage": result.usage,
                    "model": result.model,
                    "latencyMs": _ms_since(started),
                },
            )
        return result

    async def use_model(self, model_type: ModelType | str, params: dict[str, Any] | str) -> Any:
        """ElizaOS-compatible ``useModel``: text types return str, embeddings a vector, OBJECT a dict."""
        started = time.perf_counter()
        with anyio.fail_after(self.model_timeout_s):
            out = await self.models.use_model(model_type, params, runtime=self)
        self._count(model_type, None)
        if self.events.has(EventType.MODEL_USED):
            await self.events.emit(
                EventType.MODEL_USED,
                {"runtime": self, "type": str(model_type), "latencyMs": _ms_since(started)},
            )
        return out

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with anyio.fail_after(self.model_timeout_s):
            out = await self.models.embed(texts, runtime=self)
        self._count(ModelType.TEXT_EMBEDDING, None)
        return out

    # --- state -----------------------------------------------------------------------------------------

    async def compose_state(
        self,
        message: Memory,
        include: Sequence[str] | None = None,
        *,
        only_include: bool = False,
        skip_cache: bool = False,
    ) -> State:
        return await self.state.compose(message, include, only_include=only_include, skip_cache=skip_cache)

    # --- world bookkeeping -----------------------------------------------------------------------------

    async def ensure_connection(
        self,
        *,
        entity_id: UUID,
        room_id: UUID,
        world_id: UUID | None = None,
        user_name: str | None = None,
        name: str | None = None,
        source: str = "api",
        type: ChannelType = ChannelType.DM,
        channel_id: str | None = None,
        message_server_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Make sure the world, room, entity and both participants exist (cached after the first call)."""
        key = (entity_id, room_id)
        if key in self._ensured:
            return
        world_id = world_id or create_unique_uuid(self.agent_id, message_server_id or room_id)
        if await self.store.rooms.get_world(world_id) is None:
            await self.store.rooms.create_world(
                World(
                    id=world_id,
                    name=name or source,
                    agent_id=self.agent_id,
                    message_server_id=message_server_id,
                    metadata={},
                )
            )
        if await self.store.rooms.get_room(room_id) is None:
            await self.store.rooms.create_rooms(
                [
                    Room(
                        id=room_id,
                        name=name or source,
                        agent_id=self.agent_id,
                        source=source,
                        type=type,
                        channel_id=channel_id or room_id,
                        message_server_id=message_server_id,
                        world_id=world_id,
                        metadata=metadata or {},
                    )
                ]
            )
        if entity_id != self.agent_id and await self.store.entities.get(entity_id) is None:
            names = [n for n in (name, user_name) if n] or ["User"]
            await self.store.entities.create(
                [
                    Entity(
                        id=entity_id,
                        names=list(dict.fromkeys(names)),
                        agent_id=self.agent_id,
                        metadata={source: {"name": name or user_name, "userName": user_name}},
                    )
                ]
            )
        await self.store.rooms.add_participants([entity_id, self.agent_id], room_id)
        self._ensured.add(key)

    # --- errors ----------------------------------------------------------------------------------------

    def report_error(self, kind: str, name: str, exc: BaseException, message: Memory | None = None) -> None:
        """Record an isolated failure (provider, action, evaluator) on the current run; never raises."""
        stats = current_run.get()
        if stats is not None:
            stats.errors.append(f"{kind} {name}: {type(exc).__name__}: {exc}")
        self.messages.log_later(
            Log(
                entity_id=self.agent_id,
                room_id=message.room_id if message else None,
                type=f"{kind}_error",
                body={"name": name, "error": f"{type(exc).__name__}: {exc}"},
            )
        )


def _order_by_dependencies(plugins: Sequence[Plugin]) -> list[Plugin]:
    by_name = {p.name: p for p in plugins}
    ordered: list[Plugin] = []
    visiting: set[str] = set()

    def visit(p: Plugin) -> None:
        if p in ordered:
            return
        if p.name in visiting:
            raise PluginError(f"plugin dependency cycle through {p.name!r}")
        visiting.add(p.name)
        for dep in p.dependencies:
            if dep not in by_name:
                raise PluginError(f"plugin {p.name!r} depends on {dep!r}, which is not loaded")
            visit(by_name[dep])
        visiting.discard(p.name)
        ordered.append(p)

    for p in sorted(plugins, key=lambda p: -p.priority):
        visit(p)
    return ordered


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
