"""Malformed character files fail with a CharacterError naming the file, the JSON path and what belongs
there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from elizapy.character import CharacterValidationError, load_character, parse_character, parse_character_json
from elizapy.character.issues import MAX_LISTED_ISSUES
from elizapy.errors import CharacterError

FORBIDDEN_WORDS = ("pydantic", "Traceback", "Input should", "validation error for", "errors.pydantic.dev",
                   "JSONDecodeError", "list[str]", "KnowledgePath", "dict[str")


def write(tmp_path: Path, data: Any, name: str = "broken.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), encoding="utf-8")
    return path


def load_error(path: Path) -> CharacterError:
    with pytest.raises(CharacterError) as info:
        load_character(path)
    message = str(info.value)
    assert path.name in message
    for word in FORBIDDEN_WORDS:
        assert word not in message, f"{word!r} leaked into: {message}"
    # No pydantic or json exception chained onto it for a traceback to show.
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return info.value


# (case id, character, JSON path, expectation text, problem text)
MALFORMED: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("bio-number", {"name": "A", "bio": 42}, "bio", "a string or a list of strings", "got a number (42)"),
    ("bio-object", {"name": "A", "bio": {"t": "x"}}, "bio", "a string or a list of strings", "got an object"),
    ("bio-item", {"name": "A", "bio": ["ok", 7]}, "bio[1]", "a string", "got a number (7)"),
    (
        "example-text",
        {"name": "A", "bio": "b",
         "messageExamples": [[{"name": "u", "content": {"text": "hi"}},
                              {"name": "A", "content": {"text": 5}}]]},
        "messageExamples[0][1].content.text", "a string", "got a number (5)",
    ),
    (
        "example-not-a-conversation",
        {"name": "A", "bio": "b", "messageExamples": [{"name": "u", "content": {"text": "hi"}}]},
        "messageExamples[0]", 'a list of {"name", "content"} messages', "got an object",
    ),
    (
        "example-missing-content",
        {"name": "A", "bio": "b", "messageExamples": [[{"name": "u"}]]},
        "messageExamples[0][0].content", 'an object such as {"text": "..."}', "'content' is missing",
    ),
    (
        "settings-secret-object",
        {"name": "A", "bio": "b", "settings": {"secrets": {"OPENAI_API_KEY": {"value": "sk"}}}},
        "settings.secrets.OPENAI_API_KEY", "a string, number or boolean", "got an object",
    ),
    (
        "secret-list",
        {"name": "A", "bio": "b", "secrets": {"TOKENS": ["a", "b"]}},
        "secrets.TOKENS", "a string, number or boolean", "got a list",
    ),
    (
        "setting-key-with-dots",
        {"name": "A", "bio": "b", "settings": {"my.setting": None}},
        'settings["my.setting"]', "a string, number, boolean, object or list", "got null",
    ),
    (
        "knowledge-number",
        {"name": "A", "bio": "b", "knowledge": ["ok", 3]},
        "knowledge[1]", 'a file path string, {"path": "...", "shared": true|false}', "got a number (3)",
    ),
    (
        "knowledge-shared-string",
        {"name": "A", "bio": "b", "knowledge": [{"directory": "d", "shared": "yes"}]},
        "knowledge[0].shared", "true or false", 'got a string ("yes")',
    ),
    ("plugins-string", {"name": "A", "bio": "b", "plugins": "@elizaos/plugin-sql"}, "plugins",
     "a list of plugin package names", "got a string"),
    ("style-string", {"name": "A", "bio": "b", "style": {"all": "be nice"}}, "style.all",
     "a list of strings", "got a string"),
    ("template-number", {"name": "A", "bio": "b", "templates": {"x": 1}}, "templates.x", "a string",
     "got a number (1)"),
    ("name-number", {"name": 7, "bio": "b"}, "name", "a non-empty string", "got a number (7)"),
    ("name-empty", {"name": "", "bio": "b"}, "name", "a non-empty string", "must not be empty"),
    ("missing-name", {"bio": "b"}, "name", "a non-empty string", "the required field 'name' is missing"),
    ("missing-bio", {"name": "A"}, "bio", "a string or a list of strings",
     "the required field 'bio' is missing"),
    ("id-not-uuid", {"id": "agent-1", "name": "A", "bio": "b"}, "id", "a UUID", 'got a string ("agent-1")'),
    (
        "in-reply-to-not-uuid",
        {"name": "A", "bio": "b", "messageExamples": [[{"name": "A", "content": {"inReplyTo": "msg-1"}}]]},
        "messageExamples[0][0].content.inReplyTo", "a UUID", 'got a string ("msg-1")',
    ),
    ("null-optional", {"name": "A", "bio": "b", "system": None}, "system", "a string", "got null"),
    ("bool-as-string-in-strict-mode", {"name": "A", "bio": "b", "topics": [True]}, "topics[0]", "a string",
     "got true"),
    (
        "channel-type",
        {"name": "A", "bio": "b", "messageExamples": [[{"name": "A", "content": {"channelType": "SMS"}}]]},
        "messageExamples[0][0].content.channelType", "one of 'SELF', 'DM'", 'got a string ("SMS")',
    ),
]


@pytest.mark.parametrize(("data", "path", "expected", "problem"), [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])
def test_malformed_field_is_named_with_path_and_expectation(
    tmp_path: Path, data: dict[str, Any], path: str, expected: str, problem: str
) -> None:
    error = load_error(write(tmp_path, data))
    message = str(error)
    assert f"at {path}: " in message
    assert expected in message
    assert problem in message
    assert isinstance(error, CharacterValidationError)
    assert error.path == path
    assert error.file is not None and error.file.endswith("broken.json")
    assert error.expected is not None and expected in error.expected
    assert len(error.issues) == 1, error.issues


def test_unknown_top_level_key_in_a_v1_file_is_an_error_naming_it(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, {"name": "A", "bio": "b", "modelName": "gpt", "message_examples": []}))
    message = str(error)
    assert "at modelName: unknown key" in message
    assert "at message_examples: unknown key" in message
    assert "did you mean 'messageExamples'?" in message


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "name": "A",\n  "bio": "b"\n  "topics": []\n}\n')
    error = load_error(path)
    assert "invalid JSON at line 4, column 3" in str(error)
    assert "delimiter" in str(error)


def test_trailing_comma_is_invalid_json_as_in_javascript(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, '{"name": "A", "bio": "b",}'))
    assert "invalid JSON at line 1, column 26" in str(error)


@pytest.mark.parametrize(("content", "expected"), [("", "is empty"), ("   \n", "is empty"),
                                                   ("[]", "expected a JSON object"),
                                                   ('"Eliza"', "expected a JSON object")])
def test_empty_or_non_object_documents(tmp_path: Path, content: str, expected: str) -> None:
    assert expected in str(load_error(write(tmp_path, content)))


def test_nan_is_not_json(tmp_path: Path) -> None:
    message = str(load_error(write(tmp_path, '{"name": "A", "bio": "b", "settings": {"t": NaN}}')))
    assert "at settings.t: got nan" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "Zoë", "bio": "b"}'.encode("latin-1"))
    assert "not UTF-8" in str(load_error(path))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CharacterError, match=r"nope\.json: no such file"):
        load_character(tmp_path / "nope.json")
    with pytest.raises(CharacterError, match="is a directory"):
        load_character(tmp_path)


def test_many_problems_are_listed_in_one_message_and_capped(tmp_path: Path) -> None:
    data = {"name": "", "bio": 1, "topics": [1, 2, 3], "plugins": [4, 5], "adjectives": "x", "system": 9}
    error = load_error(write(tmp_path, data))
    assert isinstance(error, CharacterValidationError)
    assert len(error.issues) == 9
    message = str(error)
    assert message.startswith(f"{error.file}: 9 problems")
    assert message.count("\n  - at ") == MAX_LISTED_ISSUES
    assert "... and 4 more" in message
    # Field order of the character: name first, then system, bio...
    assert [i.path for i in error.issues[:3]] == ["name", "system", "bio"]
    assert error.path == "name"


def test_union_errors_collapse_to_one_per_field() -> None:
    with pytest.raises(CharacterValidationError) as info:
        parse_character({"name": "A", "bio": None, "secrets": {"K": None}}, source="request body")
    assert [str(i) for i in info.value.issues] == [
        "at bio: got null (expected a string or a list of strings)",
        "at secrets.K: got null (expected a string, number or boolean)",
    ]
    assert str(info.value).startswith("request body: 2 problems")


def test_non_json_python_values_are_reported_by_path() -> None:
    with pytest.raises(CharacterValidationError, match=r"at settings\.when: got a Python set"):
        parse_character({"name": "A", "bio": "b", "settings": {"when": {1, 2}}})


def test_source_names_json_text() -> None:
    with pytest.raises(CharacterError, match=r"^upload\.json: invalid JSON at line 1, column 2"):
        parse_character_json("{oops}", source="upload.json")
