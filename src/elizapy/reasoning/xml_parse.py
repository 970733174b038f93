"""Parsing of ElizaOS key/value XML answers (``<response><thought/>…</response>``).

Models decorate their answers (code fences, chatter, ``<think>`` blocks, unclosed tags), so this is a tolerant
scanner rather than an XML parser; it mirrors what ElizaOS's ``parseKeyValueXml`` accepts: comma-separated
``actions``/``providers`` become lists, ``true``/``false`` in ``simple`` become booleans.
"""

from __future__ import annotations

import html
import re
from typing import Any

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_BLOCK = re.compile(r"<response>(.*?)</response>", re.DOTALL)
_TAG = re.compile(r"<([A-Za-z][\w-]*)>(.*?)</\1>", re.DOTALL)
_LIST_KEYS = frozenset({"actions", "providers", "evaluators"})


def parse_key_value_xml(text: str) -> dict[str, Any] | None:
    """The child elements of the first ``<response>`` block (or of the whole text), or None if there are
    none."""
    if not text:
        return None
    text = _THINK.sub("", text)
    m = _BLOCK.search(text)
    body = m.group(1) if m else text
    if not m and "<response>" in text:
        body = text.split("<response>", 1)[1]  # unterminated block: take what is there
    out: dict[str, Any] = {}
    for tag, raw in _TAG.findall(body):
        value = html.unescape(raw.strip())
        if tag in _LIST_KEYS:
            out[tag] = [v.strip() for v in value.split(",") if v.strip()]
        elif tag == "simple":
            out[tag] = value.lower() == "true"
        else:
            out[tag] = value
    return out or None
