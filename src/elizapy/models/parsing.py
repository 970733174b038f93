"""Lenient parsing of model output: models wrap JSON in code fences or add chatter around it."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import ModelError

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def extract_json_text(text: str) -> str | None:
    """The first JSON object or array in ``text`` (fenced or bare), or None."""
    for candidate in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        candidate = candidate.strip()
        for opener, closer in (("{", "}"), ("[", "]")):
            start = candidate.find(opener)
            if start < 0:
                continue
            depth, in_str, esc = 0, False, False
            for i in range(start, len(candidate)):
                ch = candidate[i]
                if in_str:
                    if esc:
                        esc = False
                    elif ch == "\\":
                        esc = True
                    elif ch == '"':
                        in_str = False
                elif ch == '"':
                    in_str = True
                elif ch == opener:
                    depth += 1
                elif ch == closer:
                    depth -= 1
                    if depth == 0:
                        return candidate[start : i + 1]
    return None


def parse_json_object(text: str) -> Any:
    found = extract_json_text(text)
    if found is None:
        raise ModelError(f"model output holds no JSON object: {text[:200]!r}")
    try:
        return json.loads(found)
    except json.JSONDecodeError as exc:
        raise ModelError(f"model output is not valid JSON ({exc.msg}): {found[:200]!r}") from exc
