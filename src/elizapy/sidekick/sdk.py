"""Writing a sidekick module: decorators, and the registry the manifest is made from.

```python
# mymod.py — served with `elizapy sidekick --module mymod`
from elizapy.sidekick import action, provider

@action(similes=["WEATHER"])
async def lookup_weather(city: str, runtime, callback) -> str:
    \"\"\"Current weather for a city.\"\"\"
    summary = await runtime.use_model("TEXT_SMALL", f"One line about the weather in {city}.")
    await callback({"text": summary})
    return summary

@provider(position=5)
async def python_facts(runtime, message, state) -> str:
    return "Python 3.11 runs this agent's tools."
```

Parameters other than ``runtime``/``message``/``state``/``options``/``callback`` are the action's arguments:
their JSON schema (from the type hints) goes into the manifest, and arguments are validated with pydantic
before the function runs. Plain :class:`~elizapy.runtime.plugin.Action`/``Provider``/``Evaluator`` objects and
whole :class:`~elizapy.runtime.plugin.Plugin` objects found in the module are served too, so one Python plugin
works in the Python runtime and, through the sidekick, in a TS agent.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import anyio

from ..errors import ConfigError
from ..reasoning.schema import tool
from ..runtime.plugin import Action, ActionExample, AnyFn, Evaluator, Plugin, Provider, Service
from ..runtime.plugin import evaluator as _evaluator
from ..runtime.plugin import provider as _provider
from .wire import ActionSpec, EvaluatorSpec, Manifest, ProviderSpec, ServiceSpec

_SERVICE_MARK = "__elizapy_sidekick_service__"
T = TypeVar("T")


def _off_the_loop(fn: AnyFn) -> AnyFn:
    """A plain (sync) function runs in a worker thread, so it cannot stall the event loop that answers the
    host's health checks and every other call; its signature and hints stay visible for the schema."""
    if inspect.iscoroutinefunction(fn):
        return fn

    @functools.wraps(fn)
    async def in_thread(*args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), abandon_on_cancel=True)

    return in_thread


def action(
    fn: AnyFn | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    similes: Sequence[str] = (),
    validate: AnyFn | None = None,
    examples: Sequence[Sequence[ActionExample]] = (),
    timeout_s: float | None = None,
) -> Any:
    """``@action`` or ``@action(...)``: an :class:`Action` with a JSON-schema ``parameters`` from the hints.

    The name defaults to the function name in upper case (the ElizaOS convention). The function returns a
    string (the result text), an :class:`~elizapy.types.ActionResult`, None, or any JSON-able value (text
    and ``data.result``). A plain ``def`` runs in a worker thread.
    """

    def wrap(f: AnyFn) -> Action:
        doc = inspect.getdoc(f) or ""
        built: Action = tool(
            _off_the_loop(f),
            name=name or f.__name__.upper(),
            description=description or doc.split("\n\n")[0],
            timeout_s=timeout_s,
        )
        built.similes = list(similes)
        built.validate = validate
        built.examples = [list(conv) for conv in examples]
        return built

    return wrap(fn) if fn is not None else wrap


def provider(
    fn: AnyFn | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    dynamic: bool = False,
    private: bool = False,
    position: int = 0,
) -> Any:
    """``@provider`` or ``@provider(...)``: ``(runtime, message, state) -> str | dict | ProviderResult``."""
    made = _provider(name, description=description, dynamic=dynamic, private=private, position=position)

    def wrap(f: AnyFn) -> Provider:
        built: Provider = made(_off_the_loop(f))
        return built

    return wrap(fn) if fn is not None else wrap


def evaluator(
    fn: AnyFn | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    always_run: bool = False,
    validate: AnyFn | None = None,
) -> Any:
    """``@evaluator`` or ``@evaluator(...)``: runs after the TS agent replied; handler like an action's."""
    made = _evaluator(name, description=description, always_run=always_run, validate=validate)

    def wrap(f: AnyFn) -> Evaluator:
        built: Evaluator = made(_off_the_loop(f))
        return built

    return wrap(fn) if fn is not None else wrap


def service(service_type: str, *, description: str = "") -> Callable[[type[T]], type[T]]:
    """Class decorator: a long-lived component started with the TS agent (``start(runtime)``/``stop()``).

    One instance is made per sidekick process; ``runtime`` is the proxy of the TS runtime.
    """

    def wrap(cls: type[T]) -> type[T]:
        setattr(cls, _SERVICE_MARK, (service_type, description or inspect.getdoc(cls) or ""))
        return cls

    return wrap


@dataclass(slots=True)
class ServiceEntry:
    service_type: str
    description: str
    factory: Callable[[], Service]


@dataclass(slots=True)
class SidekickApp:
    """The components one sidekick serves, by name."""

    name: str = "sidekick"
    actions: dict[str, Action] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    evaluators: dict[str, Evaluator] = field(default_factory=dict)
    services: dict[str, ServiceEntry] = field(default_factory=dict)

    def add(self, obj: Any) -> None:
        """Add an Action, Provider, Evaluator, Plugin or ``@service`` class (duplicate names are an error)."""
        if isinstance(obj, Action):
            self._put(self.actions, obj.name, obj, "action")
        elif isinstance(obj, Provider):
            self._put(self.providers, obj.name, obj, "provider")
        elif isinstance(obj, Evaluator):
            self._put(self.evaluators, obj.name, obj, "evaluator")
        elif isinstance(obj, Plugin):
            for part in (*obj.actions, *obj.providers, *obj.evaluators):
                self.add(part)
            for factory in obj.services:
                probe = getattr(factory, "service_type", None)
                if not isinstance(probe, str):
                    raise ConfigError(f"plugin {obj.name}: service factories need a service_type attribute")
                entry = ServiceEntry(probe, inspect.getdoc(factory) or "", factory)
                self._put(self.services, probe, entry, "service")
        elif isinstance(obj, type) and hasattr(obj, _SERVICE_MARK):
            service_type, description = getattr(obj, _SERVICE_MARK)
            self._put(self.services, service_type, ServiceEntry(service_type, description, obj), "service")
        else:
            raise ConfigError(
                f"cannot serve {obj!r}: expected an action, provider, evaluator, plugin or service"
            )

    @staticmethod
    def _put(table: dict[str, Any], key: str, value: Any, kind: str) -> None:
        if key in table and table[key] is not value:
            raise ConfigError(f"two {kind}s named {key!r}")
        table[key] = value

    @classmethod
    def from_module(cls, module: str | ModuleType) -> SidekickApp:
        """Collect what a module defines: its ``sidekick_app`` if it has one, else every component in it."""
        mod = importlib.import_module(module) if isinstance(module, str) else module
        explicit = getattr(mod, "sidekick_app", None)
        if isinstance(explicit, SidekickApp):
            return explicit
        app = cls(name=mod.__name__)
        for value in list(vars(mod).values()):
            if isinstance(value, Action | Provider | Evaluator | Plugin) or (
                isinstance(value, type) and hasattr(value, _SERVICE_MARK)
            ):
                app.add(value)
        if not (app.actions or app.providers or app.evaluators or app.services):
            raise ConfigError(
                f"module {mod.__name__!r} defines no sidekick components "
                "(use @action, @provider, @evaluator or @service from elizapy.sidekick)"
            )
        return app

    def manifest(self) -> Manifest:
        return Manifest(
            actions=[
                ActionSpec(
                    name=a.name,
                    description=a.description,
                    similes=list(a.similes),
                    parameters=a.parameters if _has_properties(a.parameters) else None,
                    examples=[
                        [{"name": ex.name, "content": ex.content.to_wire()} for ex in conv]
                        for conv in a.examples
                    ],
                    has_validate=a.validate is not None,
                )
                for a in self.actions.values()
            ],
            providers=[
                ProviderSpec(
                    name=p.name,
                    description=p.description,
                    dynamic=p.dynamic,
                    private=p.private,
                    position=p.position,
                )
                for p in self.providers.values()
            ],
            evaluators=[
                EvaluatorSpec(
                    name=e.name,
                    description=e.description,
                    similes=list(e.similes),
                    always_run=e.always_run,
                    has_validate=e.validate is not None,
                )
                for e in self.evaluators.values()
            ],
            services=[
                ServiceSpec(service_type=s.service_type, description=s.description)
                for s in self.services.values()
            ],
        )


def _has_properties(schema: dict[str, Any] | None) -> bool:
    return bool(schema and schema.get("properties"))


__all__ = ["ServiceEntry", "SidekickApp", "action", "evaluator", "provider", "service"]
