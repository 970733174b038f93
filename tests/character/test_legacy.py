"""ElizaOS 0.x character files load with warnings that name what was converted or ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from elizapy.character import LEGACY_ONLY_KEYS, CharacterValidationError, load_character, parse_character

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "characters"


def legacy(**extra: Any) -> dict[str, Any]:
    return {"name": "Old", "bio": ["first"], "modelProvider": "openai", **extra}


def warning_about(warnings: list[str], key: str) -> str:
    found = [w for w in warnings if w.startswith(key)]
    assert len(found) == 1, (key, warnings)
    return found[0]


def test_legacy_example_folds_lore_into_bio_and_names_every_dropped_field() -> None:
    loaded = load_character(EXAMPLES / "legacy-0x.json")
    assert loaded.legacy
    character = loaded.character
    assert character.bio_lines[:2] == [
        "Wren spent thirty years navigating cargo ships by chart, compass and, when the electronics failed, "
        "the stars.",
        "Now answers questions about navigation, weather at sea and the night sky for anyone who asks.",
    ]
    assert len(character.bio_lines) == 6
    assert character.bio_lines[2].startswith("Once brought a freighter into Halifax")
    assert "lore: folded 4 lines into bio" in warning_about(loaded.warnings, "lore")
    for key in ("clients", "modelProvider", "people", "twitterProfile"):
        assert "ignored" in warning_about(loaded.warnings, key)
    assert '"@elizaos/plugin-discord", "@elizaos/plugin-twitter"' in warning_about(loaded.warnings, "clients")
    assert '"@elizaos/plugin-openai"' in warning_about(loaded.warnings, "modelProvider")
    assert "settings.voice" in warning_about(loaded.warnings, "settings.")
    # settings.voice is a valid 1.x setting, so it is kept.
    assert (character.settings or {})["voice"] == {"model": "en_GB-alan-medium"}
    # user -> name, {{user1}} -> {{name1}}, and 0.x "action" kept as an extra content key.
    assert character.message_examples is not None
    first, reply = character.message_examples[1][0], character.message_examples[1][1]
    assert first.name == "{{name1}}" and reply.name == "Wren"
    assert (reply.content.model_extra or {}).get("action") == "NONE"
    assert "renamed 0.x 'user' to 'name' in 6 messages" in warning_about(loaded.warnings, "messageExamples")
    wire = character.to_wire()
    assert not set(wire) & set(LEGACY_ONLY_KEYS)


def test_the_first_warning_says_why_the_file_counts_as_0x() -> None:
    loaded = parse_character(legacy(lore=["x"], clients=[]))
    assert loaded.warnings[0].startswith("ElizaOS 0.x character (it has modelProvider, lore, clients)")


@pytest.mark.parametrize(("bio", "expected"), [("A string bio.", ["A string bio.", "l1", "l2"]),
                                                (["a", "b"], ["a", "b", "l1", "l2"])])
def test_lore_appends_to_string_or_list_bio(bio: object, expected: list[str]) -> None:
    loaded = parse_character({"name": "L", "bio": bio, "lore": ["l1", "l2"]})
    assert loaded.legacy
    assert loaded.character.bio == expected
    assert "folded 2 lines into bio" in warning_about(loaded.warnings, "lore")


def test_lore_stands_in_for_a_missing_bio() -> None:
    assert parse_character({"name": "L", "lore": ["only lore"]}).character.bio == ["only lore"]


def test_bad_lore_is_an_error_with_its_path() -> None:
    expected = r"at lore\[1\]: got a number \(3\) \(expected a string\)"
    with pytest.raises(CharacterValidationError, match=expected):
        parse_character({"name": "L", "bio": "b", "lore": ["ok", 3]}, source="old.json")


def test_user_speakers_alone_mark_a_file_as_0x() -> None:
    examples = [[{"user": "{{user2}}", "content": {"text": "ask {{user2}} and {{user1}}"}},
                 {"user": "Bot", "content": {"text": "ok", "action": "CONTINUE"}}]]
    loaded = parse_character({"name": "Bot", "bio": "b", "messageExamples": examples})
    assert loaded.legacy
    assert "messageExamples with 'user'" in loaded.warnings[0]
    conversation = (loaded.character.message_examples or [])[0]
    assert [m.name for m in conversation] == ["{{name2}}", "Bot"]
    assert conversation[0].content.text == "ask {{name2}} and {{name1}}"


def test_unknown_keys_and_nulls_are_dropped_in_a_0x_file() -> None:
    loaded = parse_character(legacy(customThing={"a": 1}, system=None, templates=None))
    assert loaded.character.system is None
    assert "customThing: unknown key dropped" in loaded.warnings
    assert "system, templates: null values dropped" in loaded.warnings


def test_every_0x_only_key_is_dropped_with_a_warning() -> None:
    values: dict[str, Any] = {key: "x" for key in LEGACY_ONLY_KEYS if key != "lore"}
    loaded = parse_character({"name": "All", "bio": "b", **values})
    for key in values:
        assert "ignored" in warning_about(loaded.warnings, key)


def test_unrecognised_provider_gets_the_generic_hint() -> None:
    warning = warning_about(parse_character(legacy(modelProvider="heurist")).warnings, "modelProvider")
    assert 'ignored ("heurist")' in warning and "@elizaos/plugin-openai" in warning


def test_a_0x_file_is_still_validated() -> None:
    with pytest.raises(CharacterValidationError) as info:
        parse_character(legacy(topics="sailing"), source="old.json")
    assert str(info.value) == "old.json: at topics: got a string (\"sailing\") (expected a list of strings)"


def test_without_0x_markers_an_unknown_key_is_not_forgiven() -> None:
    with pytest.raises(CharacterValidationError, match="at customThing: unknown key"):
        parse_character({"name": "New", "bio": "b", "customThing": 1})
