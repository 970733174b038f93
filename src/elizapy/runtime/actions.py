"""Running one action: bounded in time, failures isolated into an error ``ActionResult``, events emitted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from ..types import ActionResult, EventType, Memory, State
from .plugin import Action, ActionOptions, HandlerCallback, call_flexible, coerce_action_result

if TYPE_CHECKING:
    from .runtime import AgentRuntime

log = logging.getLogger("elizapy.actions")


def find_action(actions: Sequence[Action], name: str) -> Action | None:
    """Match by name, then by simile, case-insensitively and ignoring ``_``/spaces (as TS normalises)."""
    key = name.strip().upper().replace(" ", "_")
    for a in actions:
        if a.name.upper() == key:
            return a
    norm = key.replace("_", "")
    for a in actions:
        if a.name.upper().replace("_", "") == norm or any(
            s.upper().replace("_", "").replace(" ", "") == norm for s in a.similes
        ):
            return a
    return None


async def run_action(
    runtime: AgentRuntime,
    action: Action,
    message: Memory,
    state: State,
    options: ActionOptions,
    callback: HandlerCallback,
    responses: Sequence[Memory] = (),
    *,
    run_id: str | None = None,
) -> ActionResult:
    payload = {
        "runtime": runtime,
        "action": action.name,
        "message": message,
        "runId": run_id,
        "parameters": options.parameters,
    }
    await runtime.events.emit(EventType.ACTION_STARTED, payload)
    timeout = action.timeout_s or runtime.action_timeout_s
    try:
        with anyio.fail_after(timeout):
            raw = await call_flexible(
                action.handler, runtime, message, state, options, callback, list(responses)
            )
        result = coerce_action_result(raw) or ActionResult(success=True)
    except TimeoutError:
        result = ActionResult(success=False, error=f"action {action.name} timed out after {timeout:g}s")
        runtime.report_error("action", action.name, TimeoutError(result.error), message)
    except anyio.get_cancelled_exc_class():
        raise
    except Exception as exc:
        result = ActionResult(success=False, error=f"{type(exc).__name__}: {exc}")
        log.warning("action %s failed: %r", action.name, exc)
        runtime.report_error("action", action.name, exc, message)
    await runtime.events.emit(
        EventType.ACTION_COMPLETED, {**payload, "result": result, "success": result.success}
    )
    return result
