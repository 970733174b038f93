"""ElizaOS-compatible deterministic ids.

ElizaOS derives agent, room and entity ids from names with ``stringToUuid``; an ElizaOS-Py agent must get
byte-identical ids or it could not share a database, a room or a character file with a TypeScript agent.
"""

from __future__ import annotations

import hashlib
import re
import uuid as _uuid
from functools import lru_cache
from typing import TypeAlias
from urllib.parse import quote

UUID: TypeAlias = str
"""ElizaOS passes ids around as canonical lowercase-or-not UUID strings; we keep them as ``str`` too."""

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# Characters JavaScript's encodeURIComponent leaves alone (besides alphanumerics).
_URI_SAFE = "-_.!~*'()"


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and _UUID_RE.match(value) is not None


@lru_cache(maxsize=65536)
def string_to_uuid(target: str | int | float) -> UUID:
    """Port of ``stringToUuid`` from @elizaos/core 1.7: SHA-1 of the URI-encoded string, version nibble 0.

    A string that already is a UUID is returned unchanged, as in TypeScript.
    """
    if isinstance(target, bool) or not isinstance(target, str | int | float):
        raise TypeError("Value must be string")
    text = target if isinstance(target, str) else _js_number(target)
    if _UUID_RE.match(text):
        return text
    digest = bytearray(hashlib.sha1(quote(text, safe=_URI_SAFE).encode("utf-8")).digest()[:16])
    digest[8] = (digest[8] & 0x3F) | 0x80
    digest[6] = digest[6] & 0x0F
    h = digest.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _js_number(n: int | float) -> str:
    """``Number.prototype.toString`` for the common cases (integral floats print without ``.0``)."""
    if isinstance(n, float) and n.is_integer() and abs(n) < 1e21:
        return str(int(n))
    return repr(n)


def create_unique_uuid(agent_id: UUID, base_id: str) -> UUID:
    """Agent-local id for an external id (``createUniqueUuid`` in TS); the agent's own id maps to itself."""
    if base_id == agent_id:
        return agent_id
    return string_to_uuid(f"{base_id}:{agent_id}")


def new_uuid() -> UUID:
    return str(_uuid.uuid4())
