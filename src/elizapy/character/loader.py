"""Loading ElizaOS character files.

``load_character(path)`` reads a JSON file, ``parse_character_json(text)`` parses JSON text and
``parse_character(data)`` takes already-parsed data; all three return a :class:`LoadedCharacter` (the
validated :class:`~elizapy.types.Character`, the warnings, whether the file was 0.x) or raise
:class:`~elizapy.errors.CharacterError` whose message names the file, the JSON path of the bad field and what
belongs there. Warnings are returned, not logged: the caller (CLI, server) decides how to show them.

What is accepted is what ElizaOS 1.7's ``characterSchema`` accepts, with three deliberate differences:

* ElizaOS 0.x files load (see :mod:`elizapy.character.legacy` for the detection rule and conversions).
* Keys that TypeScript silently strips inside message examples, knowledge objects and ``style`` are dropped
  with a warning, so a typo there does not go unnoticed.
* ``settings.secrets`` must be a map of strings, numbers or booleans, like the top-level ``secrets``. TS
  accepts any object there, but ElizaOS reads and encrypts those values as secrets, so a nested object would
  never work as one (and would be stored unencrypted).

Types are checked as strictly as TypeScript checks them: ``"true"`` is not a boolean, ``1`` is not a string,
``null`` is not an absent optional field, and ``id`` / example ``inReplyTo`` must look like UUIDs.

Nothing is expanded: ``"${OPENAI_API_KEY}"`` in a file stays that literal string. A missing ``id`` stays
missing; ``character.agent_id`` gives ``stringToUuid(name)`` for it, as TypeScript does.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from ..errors import CharacterError
from ..types.character import Character
from ..types.uuid import is_uuid
from .issues import (
    EXPECTED_UUID,
    CharacterIssue,
    CharacterValidationError,
    PathSeg,
    describe_value,
    expectation_for,
    format_path,
    issues_from_validation_error,
    sort_issues,
)
from .legacy import convert_legacy, legacy_markers

CHARACTER_KEYS: tuple[str, ...] = tuple(
    info.alias or name for name, info in Character.model_fields.items()
)
"""The top-level keys of a 1.x character file, as spelt on the wire."""

_REQUIRED_KEYS = frozenset({"name", "bio"})
_MESSAGE_KEYS = frozenset({"name", "content"})
_STYLE_KEYS = frozenset({"all", "chat", "post"})


@dataclass
class LoadedCharacter:
    """A validated character and what the loader had to say about it."""

    character: Character
    warnings: list[str] = field(default_factory=list)
    """Human-readable notes: 0.x fields converted or ignored, unknown nested keys dropped."""
    path: Path | None = None
    """The file it came from; ``None`` for :func:`parse_character` / :func:`parse_character_json`."""
    legacy: bool = False
    """Whether the input was detected as an ElizaOS 0.x character."""


def load_character(path: str | os.PathLike[str]) -> LoadedCharacter:
    """Read and validate one character file (UTF-8 JSON; a leading byte-order mark is tolerated)."""
    file = os.fspath(path)
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raise CharacterError("no such file", file=file) from None
    except IsADirectoryError:
        raise CharacterError("is a directory, not a character file", file=file) from None
    except OSError as exc:
        raise CharacterError(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    loaded = parse_character_json(raw, source=file)
    loaded.path = target
    return loaded


def parse_character_json(text: str | bytes, *, source: str = "<input>") -> LoadedCharacter:
    """Parse JSON text holding one character; ``source`` names it in error messages."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CharacterError(
                f"is not UTF-8 text (undecodable byte at offset {exc.start})", file=source
            ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise CharacterError("is empty", file=source, expected="a JSON object describing one character")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CharacterError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=source
        ) from None
    return parse_character(data, source=source)


def parse_character(data: object, *, source: str = "<input>") -> LoadedCharacter:
    """Validate already-parsed character data (a dict from JSON); ``data`` itself is never modified.

    ``source`` names the input in error messages (a file name, ``"request body"``…).
    """
    issues: list[CharacterIssue] = []
    plain = _plain_json(data, [], issues)
    if issues:
        raise CharacterValidationError(issues, file=source)
    if not isinstance(plain, dict):
        raise CharacterValidationError(
            [CharacterIssue("", f"got {describe_value(plain)}", expectation_for([]))], file=source
        )

    warnings: list[str] = []
    markers = legacy_markers(plain)
    if markers:
        warnings.append(
            f"ElizaOS 0.x character (it has {', '.join(markers)}): loaded in compatibility mode"
        )
        _drop_nulls(plain, warnings)
        convert_legacy(plain, warnings, issues)
        _drop_unknown_keys(plain, warnings)
    else:
        issues.extend(_reject_unknown_keys(plain))
        issues.extend(_reject_nulls(plain))

    issues.extend(_check_uuids(plain))
    issues.extend(_check_settings_secrets(plain))
    _drop_ignored_nested_keys(plain, warnings)

    try:
        character = Character.model_validate_json(json.dumps(plain), strict=True)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(exc, plain))
    if issues:
        raise CharacterValidationError(sort_issues(issues), file=source)
    return LoadedCharacter(character=character, warnings=warnings, legacy=bool(markers))


# --- steps ---

def _plain_json(value: object, at: list[PathSeg], issues: list[CharacterIssue]) -> Any:
    """A deep copy of ``value`` made only of JSON types; what JSON cannot hold is reported, not copied."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            issues.append(CharacterIssue(format_path(at), f"got {value!r}, which JSON cannot hold",
                                         expectation_for(at) or "a finite number"))
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            issues.append(CharacterIssue(format_path(at), "text contains an unpaired UTF-16 surrogate",
                                         "valid Unicode text"))
        return value
    if isinstance(value, list | tuple):
        return [_plain_json(item, [*at, i], issues) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                issues.append(CharacterIssue(format_path(at), f"has a non-string key {key!r}", "string keys"))
                continue
            out[key] = _plain_json(item, [*at, key], issues)
        return out
    issues.append(CharacterIssue(format_path(at), f"got {describe_value(value)}", "a JSON value"))
    return None


def _suggest(key: str) -> str | None:
    camel = to_camel(key)
    if camel in CHARACTER_KEYS:
        return camel
    for known in CHARACTER_KEYS:
        if known.lower() == key.lower():
            return known
    close = difflib.get_close_matches(key, CHARACTER_KEYS, n=1, cutoff=0.75)
    return close[0] if close else None


def _reject_unknown_keys(data: dict[str, Any]) -> list[CharacterIssue]:
    issues = []
    for key in [k for k in data if k not in CHARACTER_KEYS]:
        del data[key]
        suggestion = _suggest(key)
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        problem = f"unknown key (ElizaOS rejects keys it does not know){hint}"
        issues.append(CharacterIssue(format_path([key]), problem))
    return issues


def _drop_unknown_keys(data: dict[str, Any], warnings: list[str]) -> None:
    unknown = [k for k in data if k not in CHARACTER_KEYS]
    for key in unknown:
        del data[key]
    if unknown:
        listed = ", ".join(format_path([k]) for k in unknown)
        warnings.append(f"{listed}: unknown {'key' if len(unknown) == 1 else 'keys'} dropped")


def _reject_nulls(data: dict[str, Any]) -> list[CharacterIssue]:
    """TS optional fields take a value or no key at all; ``null`` is a type error there, so it is here."""
    issues = []
    for key in [k for k, v in data.items() if v is None and k not in _REQUIRED_KEYS]:
        del data[key]
        problem = "got null; give a value or leave the key out"
        issues.append(CharacterIssue(key, problem, expectation_for([key])))
    return issues


def _drop_nulls(data: dict[str, Any], warnings: list[str]) -> None:
    nulls = [k for k, v in data.items() if v is None]
    for key in nulls:
        del data[key]
    if nulls:
        warnings.append(f"{', '.join(nulls)}: null {'value' if len(nulls) == 1 else 'values'} dropped")


def _check_uuids(data: dict[str, Any]) -> list[CharacterIssue]:
    """Check the UUID format of ``id`` and of example messages' ``inReplyTo``, as TS does.

    The model types take any string in those places.
    """
    places: list[tuple[list[PathSeg], object]] = [(["id"], data.get("id"))]
    examples = data.get("messageExamples")
    if isinstance(examples, list):
        for i, conversation in enumerate(examples):
            for j, message in enumerate(conversation if isinstance(conversation, list) else []):
                content = message.get("content") if isinstance(message, dict) else None
                if isinstance(content, dict):
                    at: list[PathSeg] = ["messageExamples", i, j, "content", "inReplyTo"]
                    places.append((at, content.get("inReplyTo")))
    return [
        CharacterIssue(format_path(at), f"got {describe_value(value)}", EXPECTED_UUID)
        for at, value in places
        if isinstance(value, str) and not is_uuid(value)
    ]


def _check_settings_secrets(data: dict[str, Any]) -> list[CharacterIssue]:
    settings = data.get("settings")
    if not isinstance(settings, dict) or "secrets" not in settings:
        return []
    secrets = settings["secrets"]
    where: list[PathSeg] = ["settings", "secrets"]
    if not isinstance(secrets, dict):
        return [CharacterIssue(format_path(where), f"got {describe_value(secrets)}", expectation_for(where))]
    issues = []
    for key, value in secrets.items():
        if value is None or isinstance(value, dict | list):
            at = [*where, key]
            problem = f"got {describe_value(value)}"
            issues.append(CharacterIssue(format_path(at), problem, expectation_for(at)))
    return issues


def _drop_ignored_nested_keys(data: dict[str, Any], warnings: list[str]) -> None:
    """Drop what TypeScript strips without a word (in message examples, knowledge items, style), noting it."""
    dropped: list[str] = []

    def keep_only(obj: dict[str, Any], allowed: frozenset[str], at: list[PathSeg]) -> None:
        for key in [k for k in obj if k not in allowed]:
            del obj[key]
            dropped.append(format_path([*at, key]))

    examples = data.get("messageExamples")
    if isinstance(examples, list):
        for i, conversation in enumerate(examples):
            if isinstance(conversation, list):
                for j, message in enumerate(conversation):
                    if isinstance(message, dict):
                        keep_only(message, _MESSAGE_KEYS, ["messageExamples", i, j])
    knowledge = data.get("knowledge")
    if isinstance(knowledge, list):
        for i, item in enumerate(knowledge):
            if isinstance(item, dict):
                # TS tries {path} before {directory}; an item with both is a path item.
                kind = "path" if "path" in item else "directory" if "directory" in item else None
                if kind is not None:
                    keep_only(item, frozenset({kind, "shared"}), ["knowledge", i])
    style = data.get("style")
    if isinstance(style, dict):
        keep_only(style, _STYLE_KEYS, ["style"])

    if dropped:
        shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
        what = "unknown key dropped (ElizaOS ignores it)" if len(dropped) == 1 else (
            "unknown keys dropped (ElizaOS ignores them)"
        )
        warnings.append(f"{shown}: {what}")
