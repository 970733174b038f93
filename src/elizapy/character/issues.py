"""Problems found in a character file, and how they read.

A problem has a JSON path in the file's own (camelCase) spelling, such as
``messageExamples[0][1].content.text``, what was wrong there, and what belongs there.
:func:`issues_from_validation_error` turns a pydantic ``ValidationError`` into such problems, so no pydantic
wording or union-branch noise reaches the user.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..errors import CharacterError

PathSeg = str | int

MAX_LISTED_ISSUES = 5
"""How many problems one error message lists before saying "and N more"."""

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def format_path(segments: Sequence[PathSeg]) -> str:
    """``("messageExamples", 0, 1, "content", "text")`` → ``messageExamples[0][1].content.text``.

    Keys that are not identifiers are quoted: ``settings["CHARACTER.KEY"]``. The document root is ``""``.
    """
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _IDENT.match(seg):
            out.append(f".{seg}" if out else seg)
        else:
            out.append(f"[{json.dumps(seg, ensure_ascii=False)}]")
    return "".join(out)


def describe_value(value: object) -> str:
    """How a JSON value is named in a message: ``null``, ``a number (3)``, ``an object``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value!r}"
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({json.dumps(shown, ensure_ascii=False)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a Python {type(value).__name__}"


@dataclass(frozen=True)
class CharacterIssue:
    """One problem in a character file."""

    path: str
    """JSON path in the file's spelling; ``""`` for the whole document."""
    problem: str
    expected: str | None = None

    def __str__(self) -> str:
        at = f"at {self.path}: " if self.path else ""
        hint = f" (expected {self.expected})" if self.expected else ""
        return f"{at}{self.problem}{hint}"


class CharacterValidationError(CharacterError):
    """A character file that does not hold a valid character; ``issues`` lists every problem found.

    ``path`` and ``expected`` are those of the first problem. The message names the file and lists up to
    :data:`MAX_LISTED_ISSUES` problems.
    """

    def __init__(self, issues: Sequence[CharacterIssue], *, file: str | None = None) -> None:
        if not issues:
            raise ValueError("CharacterValidationError needs at least one issue")
        self.issues: tuple[CharacterIssue, ...] = tuple(issues)
        first = self.issues[0]
        if len(self.issues) == 1:
            super().__init__(first.problem, file=file, path=first.path or None, expected=first.expected)
            return
        listed = [f"  - {issue}" for issue in self.issues[:MAX_LISTED_ISSUES]]
        if len(self.issues) > MAX_LISTED_ISSUES:
            listed.append(f"  - ... and {len(self.issues) - MAX_LISTED_ISSUES} more")
        message = f"{len(self.issues)} problems in the character:\n" + "\n".join(listed)
        super().__init__(message, file=file)
        self.path = first.path or None
        self.expected = first.expected


# What belongs at each place of a character, keyed by "shape": list indices become "[]", and the keys of
# free-form maps (templates, settings, secrets) become "*".
EXPECTED_UUID = 'a UUID such as "b850bc30-45f8-0041-a00a-83df46d8555d"'
_LIST_OF_STRINGS = "a list of strings"
_SETTING = "a string, number, boolean, object or list"
_SECRET = "a string, number or boolean"
_SECRETS_MAP = "an object mapping secret names to strings, numbers or booleans"
_KNOWLEDGE_ITEM = (
    'a file path string, {"path": "...", "shared": true|false} or {"directory": "...", "shared": true|false}'
)

EXPECTATIONS: dict[str, str] = {
    "": "a JSON object describing one character",
    "id": EXPECTED_UUID,
    "name": "a non-empty string",
    "username": "a string",
    "system": "a string",
    "templates": "an object mapping template names to template strings",
    "templates.*": "a string",
    "bio": "a string or a list of strings",
    "bio[]": "a string",
    "lore": _LIST_OF_STRINGS,
    "lore[]": "a string",
    "messageExamples": 'a list of conversations, each a list of {"name", "content"} messages',
    "messageExamples[]": 'a list of {"name", "content"} messages',
    "messageExamples[][]": 'an object with "name" and "content"',
    "messageExamples[][].name": 'a string (the speaker, such as "{{name1}}")',
    "messageExamples[][].content": 'an object such as {"text": "..."}',
    "messageExamples[][].content.actions": _LIST_OF_STRINGS,
    "messageExamples[][].content.actions[]": "a string",
    "messageExamples[][].content.providers": _LIST_OF_STRINGS,
    "messageExamples[][].content.providers[]": "a string",
    "messageExamples[][].content.attachments": 'a list of {"id", "url", ...} media objects',
    "messageExamples[][].content.inReplyTo": EXPECTED_UUID,
    "postExamples": _LIST_OF_STRINGS,
    "postExamples[]": "a string",
    "topics": _LIST_OF_STRINGS,
    "topics[]": "a string",
    "adjectives": _LIST_OF_STRINGS,
    "adjectives[]": "a string",
    "plugins": 'a list of plugin package names such as "@elizaos/plugin-sql"',
    "plugins[]": "a string",
    "knowledge": "a list of knowledge sources",
    "knowledge[]": _KNOWLEDGE_ITEM,
    "knowledge[].path": "a string",
    "knowledge[].directory": "a string",
    "knowledge[].shared": "true or false",
    "settings": "an object",
    "settings.*": _SETTING,
    "settings.secrets": _SECRETS_MAP,
    "settings.secrets.*": _SECRET,
    "secrets": _SECRETS_MAP,
    "secrets.*": _SECRET,
    "style": 'an object with optional "all", "chat" and "post" lists of strings',
    "style.all": _LIST_OF_STRINGS,
    "style.all[]": "a string",
    "style.chat": _LIST_OF_STRINGS,
    "style.chat[]": "a string",
    "style.post": _LIST_OF_STRINGS,
    "style.post[]": "a string",
}

_BY_ERROR_TYPE: dict[str, str] = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "bool_type": "true or false",
    "int_type": "a number",
    "float_type": "a number",
    "int_from_float": "a whole number",
    "finite_number": "a finite number",
}

_FREE_MAPS = ("templates", "settings", "secrets")


def shape_of(segments: Sequence[PathSeg]) -> str:
    """The :data:`EXPECTATIONS` key of a path: ``settings.secrets.API_KEY`` → ``settings.secrets.*``."""
    out: list[str] = []
    for i, seg in enumerate(segments):
        if isinstance(seg, int):
            out.append("[]")
            continue
        starred = (
            i == 1 and segments[0] in _FREE_MAPS and not (segments[0] == "settings" and seg == "secrets")
        ) or (i == 2 and segments[0] == "settings" and segments[1] == "secrets")
        name = "*" if starred else seg
        out.append(f".{name}" if out else name)
    return "".join(out)


def expectation_for(segments: Sequence[PathSeg], error_type: str | None = None) -> str | None:
    shape = shape_of(segments)
    if shape in EXPECTATIONS:
        return EXPECTATIONS[shape]
    if error_type is not None:
        return _BY_ERROR_TYPE.get(error_type)
    return None


_MISSING = object()


def value_at(data: object, segments: Sequence[PathSeg]) -> object:
    """The value at a path in plain JSON data, or a private sentinel when there is none."""
    current = data
    for seg in segments:
        if isinstance(seg, int) and isinstance(current, list) and 0 <= seg < len(current):
            current = current[seg]
            continue
        if isinstance(seg, str) and isinstance(current, dict) and seg in current:
            current = current[seg]
            continue
        return _MISSING
    return current


def wrong_type_issue(
    segments: Sequence[PathSeg], data: object, error_type: str | None = None
) -> CharacterIssue:
    value = value_at(data, segments)
    got = "wrong type" if value is _MISSING else f"got {describe_value(value)}"
    return CharacterIssue(format_path(segments), got, expectation_for(segments, error_type))


# --- pydantic errors ---

_MAPS_OF_UNIONS = ("settings", "secrets")


def _union_split(loc: Sequence[PathSeg]) -> tuple[int, str] | None:
    """Where pydantic put a union-branch tag in ``loc``, as (index of the tag, tag), if anywhere.

    The character's unions are ``bio``, each ``knowledge`` item, and each value of ``settings`` and
    ``secrets``; an error inside one always carries the branch name right after the union's own path.
    """
    head = loc[0] if loc else None
    if head == "bio" and len(loc) >= 2:
        tag_at = 1
    elif len(loc) >= 3 and ((head == "knowledge" and isinstance(loc[1], int)) or head in _MAPS_OF_UNIONS):
        tag_at = 2
    else:
        return None
    tag = loc[tag_at]
    return (tag_at, tag) if isinstance(tag, str) else None


def _intended_branch(root: Sequence[PathSeg], value: object) -> str | None:
    """Which union branch the author evidently meant, judged by the value's own shape."""
    if root == ("bio",) and isinstance(value, list):
        return "list[str]"
    if root and root[0] == "knowledge" and isinstance(value, dict):
        if "path" in value:
            return "KnowledgePath"
        if "directory" in value:
            return "KnowledgeDirectory"
    return None


def _issue_for_error(error: Any, segments: list[PathSeg], data: object) -> CharacterIssue:
    kind = str(error["type"])
    path = format_path(segments)
    if kind == "missing":
        field = segments[-1] if segments else "?"
        return CharacterIssue(path, f"the required field '{field}' is missing", expectation_for(segments))
    if kind == "string_too_short":
        return CharacterIssue(path, "must not be empty", expectation_for(segments))
    if kind == "extra_forbidden":
        return CharacterIssue(path, "unknown key", None)
    if kind in ("enum", "literal_error"):
        ctx = error.get("ctx") or {}
        value = value_at(data, segments)
        got = describe_value(value) if value is not _MISSING else "an unknown value"
        return CharacterIssue(path, f"got {got}", f"one of {ctx.get('expected', '?')}")
    if kind in _BY_ERROR_TYPE or kind.endswith("_type"):
        return wrong_type_issue(segments, data, kind)
    return CharacterIssue(path, str(error.get("msg", kind)), expectation_for(segments))


def issues_from_validation_error(exc: ValidationError, data: object) -> list[CharacterIssue]:
    """Friendly problems for a failed ``Character`` validation of ``data`` (the plain JSON validated).

    Union failures become one problem per field, unless the value's shape shows which branch was meant
    (a list ``bio``, a ``{"path": ...}`` knowledge item), in which case the problems inside it are reported.
    """
    plain: list[tuple[list[PathSeg], Any]] = []
    unions: dict[tuple[PathSeg, ...], list[tuple[str, list[PathSeg], Any]]] = {}
    for error in exc.errors(include_url=False):
        loc: list[PathSeg] = list(error["loc"])
        split = _union_split(loc)
        if split is None:
            plain.append((loc, error))
            continue
        tag_at, tag = split
        root = tuple(loc[:tag_at])
        unions.setdefault(root, []).append((tag, loc[:tag_at] + loc[tag_at + 1 :], error))

    issues: list[CharacterIssue] = []
    seen: set[str] = set()

    def add(issue: CharacterIssue) -> None:
        key = f"{issue.path}\x00{issue.problem}"
        if key not in seen:
            seen.add(key)
            issues.append(issue)

    for loc, error in plain:
        add(_issue_for_error(error, loc, data))
    for root, branch_errors in unions.items():
        branch = _intended_branch(root, value_at(data, root))
        chosen = [(segs, err) for tag, segs, err in branch_errors if tag == branch]
        if chosen:
            for segs, err in chosen:
                add(_issue_for_error(err, segs, data))
        else:
            add(wrong_type_issue(list(root), data))
    return sort_issues(issues)


_TOP_ORDER = {
    name: i
    for i, name in enumerate(
        ["id", "name", "username", "system", "templates", "bio", "lore", "messageExamples", "postExamples",
         "topics", "adjectives", "knowledge", "plugins", "settings", "secrets", "style"]
    )
}


def sort_issues(issues: Sequence[CharacterIssue]) -> list[CharacterIssue]:
    """Problems in the character's field order, unknown keys first; stable within a field."""

    def key(issue: CharacterIssue) -> int:
        head = re.split(r"[.\[]", issue.path, maxsplit=1)[0]
        return _TOP_ORDER.get(head, -1)

    return sorted(issues, key=key)
