"""The shared pydantic base: camelCase on the wire, snake_case in Python, unknown keys kept.

ElizaOS objects are open (``Content`` and metadata carry arbitrary extra keys that plugins rely on), so the
base keeps extras instead of dropping them; strict shapes (the character file) opt out explicitly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        use_enum_values=True,
        ser_json_inf_nan="null",
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict an ElizaOS peer expects (camelCase keys, no unset optionals)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
