"""JSON text for stored columns, shared by every store implementation."""

from __future__ import annotations

import json
from typing import Any


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
