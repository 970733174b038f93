"""Tools from plain Python functions: the JSON schema comes from type hints, the description from the
docstring.

``@tool`` makes an :class:`~elizapy.runtime.plugin.Action` whose handler receives the model's arguments as
keyword arguments (validated by pydantic first, so a model's bad arguments become a clear error result, not a
crash). A parameter named ``runtime``/``message``/``state`` receives the running agent's object instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import ConfigDict, ValidationError, create_model

from ..runtime.plugin import Action, ActionOptions
from ..types import ActionResult

INJECTED = frozenset({"runtime", "message", "state", "callback", "options"})


def _model_for(fn: Callable[..., Any]) -> type[Any]:
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name in INJECTED or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        default = ... if p.default is p.empty else p.default
        fields[name] = (annotation, default)
    model: type[Any] = create_model(f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
    return model


def function_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """The JSON schema of ``fn``'s model-facing parameters (an object schema, titles removed)."""
    schema: dict[str, Any] = _strip_titles(_model_for(fn).model_json_schema())
    return schema


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
) -> Any:
    """``@tool`` or ``@tool(name=...)`` on a (sync or async) function → an Action with parameters."""

    def wrap(f: Callable[..., Any]) -> Action:
        args_model = _model_for(f)
        sig = inspect.signature(f)
        wants = [n for n in sig.parameters if n in INJECTED]

        async def handler(
            runtime: Any, message: Any, state: Any, options: ActionOptions | None, callback: Any
        ) -> ActionResult:
            raw = dict(options.parameters) if options else {}
            try:
                parsed = args_model.model_validate(raw)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
                )
                return ActionResult(success=False, error=f"invalid arguments: {problems}")
            kwargs = {k: getattr(parsed, k) for k in args_model.model_fields}
            injected = {
                "runtime": runtime,
                "message": message,
                "state": state,
                "callback": callback,
                "options": options,
            }
            kwargs.update({k: injected[k] for k in wants})
            out = f(**kwargs)
            if inspect.isawaitable(out):
                out = await out
            if isinstance(out, ActionResult):
                return out
            if isinstance(out, str):
                return ActionResult(success=True, text=out)
            return ActionResult(
                success=True, text=None if out is None else _to_text(out), data={"result": out}
            )

        doc = inspect.getdoc(f) or ""
        return Action(
            name=name or f.__name__,
            description=description or doc.split("\n\n")[0],
            handler=handler,
            parameters=function_schema(f),
            timeout_s=timeout_s,
        )

    return wrap(fn) if fn is not None else wrap


def _to_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)
