"""The plugin model: actions, providers, evaluators, services, model and event handlers, routes.

Semantics follow ElizaOS 1.7: ``validate`` only filters what the model is shown; non-dynamic, non-private
providers run by default, ordered by ``position``; evaluators run after the reply (``always_run`` skips their
validation gate). Python authors write plain async functions: handlers may declare fewer parameters than the
TS signature, and receive only those (``async def handler(runtime, message)`` is fine).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..types import ActionResult, Content, Memory, ModelType, State

if TYPE_CHECKING:
    from .runtime import AgentRuntime

HandlerCallback = Callable[[Content], Awaitable[list[Memory]]]
"""How an action speaks: ``await callback(Content(text=...))`` sends and stores a message."""

AnyFn = Callable[..., Any]


async def call_flexible(fn: AnyFn, *args: Any) -> Any:
    """Call ``fn`` with as many leading positional args as it accepts; await the result if needed."""
    n = _arity(fn)
    out = fn(*(args if n is None else args[:n]))
    if inspect.isawaitable(out):
        out = await out
    return out


def _arity(fn: AnyFn) -> int | None:
    cached = getattr(fn, "__elizapy_arity__", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    n: int | None = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            n = None
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            assert n is not None
            n += 1
    with contextlib.suppress(AttributeError, TypeError):  # builtins and bound methods refuse attributes
        fn.__elizapy_arity__ = n  # type: ignore[attr-defined]
    return n


@dataclass(slots=True)
class ActionExample:
    name: str
    content: Content


@dataclass(slots=True)
class ActionContext:
    """What earlier actions of the same run produced (``options.actionContext`` in TS)."""

    previous_results: list[ActionResult] = field(default_factory=list)
    step_names: list[str] = field(default_factory=list)

    def get_previous_result(self, action_name: str) -> ActionResult | None:
        for name, result in zip(reversed(self.step_names), reversed(self.previous_results), strict=False):
            if name == action_name:
                return result
        return None


@dataclass(slots=True)
class ActionOptions:
    action_context: ActionContext = field(default_factory=ActionContext)
    parameters: dict[str, Any] = field(default_factory=dict)
    """Arguments chosen by a tool-calling reasoner (empty under the XML reasoner)."""


@dataclass(slots=True)
class Action:
    name: str
    description: str
    handler: AnyFn
    """``(runtime, message, state, options, callback, responses) -> ActionResult | dict | None``."""
    validate: AnyFn | None = None
    """``(runtime, message, state) -> bool``; None means always valid."""
    similes: list[str] = field(default_factory=list)
    examples: list[list[ActionExample]] = field(default_factory=list)
    parameters: dict[str, Any] | None = None
    """JSON schema of the arguments; actions with parameters become native tools in the tool reasoner."""
    timeout_s: float | None = None

    async def is_valid(self, runtime: AgentRuntime, message: Memory, state: State | None) -> bool:
        if self.validate is None:
            return True
        return bool(await call_flexible(self.validate, runtime, message, state))


@dataclass(slots=True)
class ProviderResult:
    text: str | None = None
    values: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


@dataclass(slots=True)
class Provider:
    name: str
    get: AnyFn
    """``(runtime, message, state) -> ProviderResult | dict | str``."""
    description: str = ""
    dynamic: bool = False
    private: bool = False
    position: int = 0


@dataclass(slots=True)
class Evaluator:
    name: str
    description: str
    handler: AnyFn
    validate: AnyFn | None = None
    always_run: bool = False
    similes: list[str] = field(default_factory=list)
    examples: list[Any] = field(default_factory=list)

    async def is_valid(self, runtime: AgentRuntime, message: Memory, state: State | None) -> bool:
        if self.validate is None:
            return True
        return bool(await call_flexible(self.validate, runtime, message, state))


class Service(Protocol):
    """A long-lived component started with the agent (a connector, a scheduler, a client pool)."""

    service_type: str

    async def start(self, runtime: AgentRuntime) -> None: ...

    async def stop(self) -> None: ...


@dataclass(slots=True)
class Route:
    path: str
    method: str
    handler: AnyFn
    public: bool = False
    name: str | None = None


@dataclass(slots=True)
class Plugin:
    name: str
    description: str = ""
    init: AnyFn | None = None
    """``(config, runtime)``, called once when the plugin is registered."""
    config: dict[str, Any] = field(default_factory=dict)
    actions: Sequence[Action] = ()
    providers: Sequence[Provider] = ()
    evaluators: Sequence[Evaluator] = ()
    services: Sequence[Callable[[], Service]] = ()
    """Service factories: one instance per agent."""
    models: Mapping[ModelType | str, AnyFn] = field(default_factory=dict)
    events: Mapping[str, Sequence[AnyFn]] = field(default_factory=dict)
    routes: Sequence[Route] = ()
    dependencies: Sequence[str] = ()
    priority: int = 0


def _as_callable_name(fn: AnyFn) -> str:
    return getattr(fn, "__name__", "handler").upper()


def action(
    name: str | None = None,
    *,
    description: str | None = None,
    similes: Sequence[str] = (),
    validate: AnyFn | None = None,
    parameters: dict[str, Any] | None = None,
    timeout_s: float | None = None,
) -> Callable[[AnyFn], Action]:
    """Decorator turning an async function into an :class:`Action` (name defaults to the upper-case name)."""

    def wrap(fn: AnyFn) -> Action:
        return Action(
            name=name or _as_callable_name(fn),
            description=description or inspect.getdoc(fn) or "",
            handler=fn,
            validate=validate,
            similes=list(similes),
            parameters=parameters,
            timeout_s=timeout_s,
        )

    return wrap


def provider(
    name: str | None = None,
    *,
    description: str | None = None,
    dynamic: bool = False,
    private: bool = False,
    position: int = 0,
) -> Callable[[AnyFn], Provider]:
    def wrap(fn: AnyFn) -> Provider:
        return Provider(
            name=name or _as_callable_name(fn),
            get=fn,
            description=description or inspect.getdoc(fn) or "",
            dynamic=dynamic,
            private=private,
            position=position,
        )

    return wrap


def evaluator(
    name: str | None = None,
    *,
    description: str | None = None,
    always_run: bool = False,
    validate: AnyFn | None = None,
) -> Callable[[AnyFn], Evaluator]:
    def wrap(fn: AnyFn) -> Evaluator:
        return Evaluator(
            name=name or _as_callable_name(fn),
            description=description or inspect.getdoc(fn) or "",
            handler=fn,
            validate=validate,
            always_run=always_run,
        )

    return wrap


def coerce_action_result(value: Any) -> ActionResult | None:
    """Actions may return an ActionResult, a plain dict in TS shape, a string, or nothing."""
    if value is None or isinstance(value, ActionResult):
        return value
    if isinstance(value, Mapping):
        return ActionResult.model_validate(dict(value))
    if isinstance(value, str):
        return ActionResult(success=True, text=value)
    if isinstance(value, bool):
        return ActionResult(success=value)
    return ActionResult(success=True, data={"value": value})


def coerce_provider_result(value: Any) -> ProviderResult:
    if isinstance(value, ProviderResult):
        return value
    if value is None:
        return ProviderResult()
    if isinstance(value, str):
        return ProviderResult(text=value)
    if isinstance(value, Mapping):
        return ProviderResult(text=value.get("text"), values=value.get("values"), data=value.get("data"))
    return ProviderResult(text=str(value))
