"""Loading valid 1.x characters: shapes that must pass unchanged, ids, and what the loader must not do."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from elizapy.character import (
    CHARACTER_KEYS,
    CharacterValidationError,
    LoadedCharacter,
    describe_character,
    load_character,
    parse_character,
    parse_character_json,
)
from elizapy.errors import CharacterError
from elizapy.types.character import KnowledgeDirectory, KnowledgePath
from elizapy.types.uuid import string_to_uuid


def write(tmp_path: Path, data: Any, name: str = "agent.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_character_keys_are_the_ts_schema_keys() -> None:
    # The top-level keys of characterSchema in @elizaos/core 1.7.2 (dist/node/index.node.js).
    assert set(CHARACTER_KEYS) == {
        "id", "name", "username", "system", "templates", "bio", "messageExamples", "postExamples", "topics",
        "adjectives", "knowledge", "plugins", "settings", "secrets", "style",
    }


def test_minimal_character_and_agent_id_from_name(tmp_path: Path) -> None:
    loaded = load_character(write(tmp_path, {"name": "Minimal Bot", "bio": "Does little."}))
    assert isinstance(loaded, LoadedCharacter)
    assert loaded.warnings == [] and not loaded.legacy
    assert loaded.character.id is None
    assert loaded.character.agent_id == string_to_uuid("Minimal Bot")


def test_explicit_id_wins_over_the_name() -> None:
    explicit = "0b8e2a4c-3f6d-4e1a-9c7b-5d2f8a1e6b30"
    character = parse_character({"id": explicit, "name": "Eliza", "bio": "x"}).character
    assert character.agent_id == explicit


@pytest.mark.parametrize(("bio", "lines"), [("One line.", ["One line."]), (["a", "b", "c"], ["a", "b", "c"]),
                                            ([], [])])
def test_bio_string_or_list(bio: object, lines: list[str]) -> None:
    character = parse_character({"name": "B", "bio": bio}).character
    assert character.bio == bio
    assert character.bio_lines == lines


def test_every_knowledge_shape_is_kept() -> None:
    knowledge = [
        "A fact or a file path as a plain string.",
        {"path": "docs/a.md"},
        {"path": "docs/b.md", "shared": True},
        {"directory": "docs/more"},
        {"directory": "docs/shared", "shared": False},
    ]
    character = parse_character({"name": "K", "bio": "x", "knowledge": knowledge}).character
    items = character.knowledge or []
    assert isinstance(items[0], str)
    assert isinstance(items[1], KnowledgePath) and items[1].shared is None
    assert isinstance(items[2], KnowledgePath) and items[2].shared is True
    assert isinstance(items[3], KnowledgeDirectory) and items[3].directory == "docs/more"
    assert isinstance(items[4], KnowledgeDirectory) and items[4].shared is False
    assert character.to_wire()["knowledge"] == knowledge


def test_nested_message_examples_keep_extra_content_keys() -> None:
    examples = [
        [
            {"name": "{{name1}}", "content": {"text": "hi"}},
            {"name": "Bot", "content": {"text": "hello", "actions": ["REPLY"], "providers": ["TIME"],
                                        "channelType": "DM", "customKey": {"nested": [1, 2]}}},
        ],
        [{"name": "{{name2}}", "content": {}}],
    ]
    character = parse_character({"name": "Bot", "bio": "x", "messageExamples": examples}).character
    assert character.to_wire()["messageExamples"] == examples


def test_settings_secrets_templates_style_plugins_pass_unchanged() -> None:
    data = {
        "name": "Full",
        "bio": ["x"],
        "system": "Be brief.",
        "username": "full",
        "templates": {"messageHandlerTemplate": "<task>{{agentName}}</task>"},
        "settings": {"a": "s", "b": True, "c": 3, "d": 2.5, "e": {"deep": [None, {"x": 1}]}, "f": [1, "two"],
                     "secrets": {"KEY": "value", "FLAG": False, "N": 7}},
        "secrets": {"OTHER": "v", "ON": True, "PORT": 8080, "RATIO": 0.5},
        "style": {"all": ["a"], "chat": [], "post": ["p"]},
        "plugins": ["@elizaos/plugin-sql"],
        "postExamples": ["post"],
        "topics": ["t"],
        "adjectives": ["adj"],
    }
    assert parse_character(copy.deepcopy(data)).character.to_wire() == data


def test_placeholders_are_not_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-appear")
    data = {"name": "E", "bio": "${OPENAI_API_KEY}",
            "settings": {"secrets": {"OPENAI_API_KEY": "${OPENAI_API_KEY}"}, "MODEL": "$MODEL"}}
    character = parse_character(data).character
    assert character.bio == "${OPENAI_API_KEY}"
    assert character.settings == data["settings"]


def test_parse_does_not_modify_its_input() -> None:
    data: dict[str, Any] = {
        "name": "Old", "bio": "b", "lore": ["l"], "clients": [], "extra": 1,
        "messageExamples": [[{"user": "{{user1}}", "content": {"text": "hi {{user1}}"}}]],
        "style": {"all": [], "tone": "x"},
    }
    snapshot = copy.deepcopy(data)
    parse_character(data)
    assert data == snapshot


def test_python_callers_may_pass_tuples() -> None:
    character = parse_character({"name": "T", "bio": ("a", "b"), "plugins": ("p",)}).character
    assert character.bio == ["a", "b"] and character.plugins == ["p"]


def test_keys_typescript_strips_inside_nested_objects_are_dropped_with_a_warning() -> None:
    loaded = parse_character({
        "name": "N", "bio": "x",
        "messageExamples": [[{"name": "a", "content": {"text": "t"}, "note": "internal"}]],
        "knowledge": [{"path": "a.md", "shared": True, "weight": 2}, {"path": "b.md", "directory": "c"}],
        "style": {"all": ["a"], "tone": ["dry"]},
    })
    assert not loaded.legacy
    assert len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    for path in ("messageExamples[0][0].note", "knowledge[0].weight", "knowledge[1].directory", "style.tone"):
        assert path in warning
    knowledge = loaded.character.knowledge or []
    assert isinstance(knowledge[1], KnowledgePath) and knowledge[1].path == "b.md"


def test_parse_character_json_and_byte_order_mark(tmp_path: Path) -> None:
    text = json.dumps({"name": "J", "bio": "x"})
    assert parse_character_json(text).character.name == "J"
    assert parse_character_json(text.encode()).character.name == "J"
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_character(path).character.name == "J"


def test_unicode_names_hash_like_typescript() -> None:
    # "café" → measured from @elizaos/core 1.7.2 (see tests/types/test_uuid.py).
    assert parse_character({"name": "café", "bio": "x"}).character.agent_id == (
        "45e5e470-a49b-0045-9408-15b56a06b646"
    )


def test_describe_character_counts_and_singulars() -> None:
    character = parse_character({
        "name": "Solo", "bio": "only one", "plugins": ["p"], "knowledge": ["k"],
        "messageExamples": [[{"name": "a", "content": {"text": "t"}}]],
    }).character
    assert describe_character(character) == (
        f"Solo (agent {string_to_uuid('Solo')}): "
        "1 bio line, 1 example conversation, 1 plugin, 1 knowledge source"
    )


def test_errors_are_character_errors() -> None:
    with pytest.raises(CharacterError) as info:
        parse_character({"name": "x"})
    assert isinstance(info.value, CharacterValidationError)
