"""Pure logic shared by the SQLite and PostgreSQL stores (everything that does not depend on the driver)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import StoreError
from ..types import UUID, Task, now_ms


def memory_filters(
    table: str | None,
    *,
    mark: str,
    always_true: str,
    unique_param: Callable[[bool], Any],
    room_id: UUID | None = None,
    entity_id: UUID | None = None,
    agent_id: UUID | None = None,
    world_id: UUID | None = None,
    unique: bool | None = None,
    start: int | None = None,
    end: int | None = None,
) -> tuple[str, list[Any]]:
    """A WHERE clause over memories ``m`` for the given filters, with the driver's placeholder ``mark``.

    Its text depends only on which filters are present, so each combination is one cached/prepared
    statement in either database.
    """
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("m.type", table),
        ("m.room_id", room_id),
        ("m.entity_id", entity_id),
        ("m.agent_id", agent_id),
        ("m.world_id", world_id),
    ):
        if value is not None:
            clauses.append(f"{column} = {mark}")
            args.append(value)
    if unique is not None:
        clauses.append(f"m.is_unique = {mark}")
        args.append(unique_param(unique))
    if start is not None:
        clauses.append(f"m.created_at >= {mark}")
        args.append(start)
    if end is not None:
        clauses.append(f"m.created_at <= {mark}")
        args.append(end)
    return (" AND ".join(clauses) or always_true), args


TASK_FIELDS: dict[str, str] = {}
"""Every accepted task key (field name or camelCase alias) → field name."""
for _name, _field in Task.model_fields.items():
    TASK_FIELDS[_name] = _name
    if _field.alias:
        TASK_FIELDS[_field.alias] = _name


def task_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise ``tasks.update`` keyword changes (unknown fields are a StoreError; ``id`` is
    never changed)."""
    unknown = sorted(key for key in changes if key not in TASK_FIELDS)
    if unknown:
        raise StoreError(f"unknown task field(s): {', '.join(unknown)}")
    normalized = {TASK_FIELDS[key]: value for key, value in changes.items()}
    normalized.pop("id", None)
    return normalized


def apply_task_changes(current: Task, normalized: Mapping[str, Any]) -> Task:
    """The task after an update: ``updated_at`` becomes now unless the changes set it."""
    return Task.model_validate({**current.model_dump(), "updated_at": now_ms(), **normalized})


def json_default(value: Any) -> Any:
    """Pydantic models are written in their wire form (camelCase, no unset optionals)."""
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):
        return to_wire()
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def compact_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=json_default)
