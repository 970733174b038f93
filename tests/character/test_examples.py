"""The shipped example characters load, and eliza.json is ElizaOS's own default character, unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from elizapy.character import describe_character, load_character
from elizapy.types.uuid import string_to_uuid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "characters"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))

# sha256 of examples/characters/eliza.json: `baseElizaCharacter` from @elizaos/cli@1.7.2's dist/index.js,
# evaluated with Node and written with JSON.stringify(obj, null, 2) plus a final newline.
ELIZA_SHA256 = "cd0f9fd942e7933c609d47f2629583e166f324a4e89d0d717655ca28643396b0"


def test_the_examples_directory_has_what_the_readme_promises() -> None:
    names = {p.name for p in EXAMPLE_FILES}
    assert {"eliza.json", "sage.json", "trader.json", "legacy-0x.json"} <= names
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}`" in readme, f"{name} is not described in examples/characters/README.md"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_loads(path: Path) -> None:
    loaded = load_character(path)
    assert loaded.path == path
    assert loaded.character.name
    assert loaded.character.bio_lines
    summary = describe_character(loaded.character)
    assert summary.startswith(loaded.character.name)
    # Only the deliberately-0.x example may need warnings.
    assert loaded.legacy == (path.name == "legacy-0x.json")
    assert bool(loaded.warnings) == loaded.legacy


V1_FILES = [p for p in EXAMPLE_FILES if p.name != "legacy-0x.json"]


@pytest.mark.parametrize("path", V1_FILES, ids=lambda p: p.name)
def test_v1_examples_round_trip_to_the_same_json(path: Path) -> None:
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert load_character(path).character.to_wire() == on_disk


def test_eliza_is_the_published_default_character_byte_for_byte() -> None:
    path = EXAMPLES / "eliza.json"
    before = path.read_bytes()
    assert hashlib.sha256(before).hexdigest() == ELIZA_SHA256

    loaded = load_character(path)

    assert path.read_bytes() == before
    assert loaded.warnings == []
    character = loaded.character
    assert character.name == "Eliza"
    assert character.id is None
    assert character.agent_id == "b850bc30-45f8-0041-a00a-83df46d8555d"
    assert character.plugins == ["@elizaos/plugin-sql", "@elizaos/plugin-bootstrap"]
    assert character.settings == {
        "secrets": {},
        "avatar": "https://elizaos.github.io/eliza-avatars/Eliza/portrait.png",
    }
    assert len(character.bio_lines) == 8
    assert len(character.message_examples or []) == 7
    assert len(character.post_examples or []) == 15
    assert character.style is not None and len(character.style.post or []) == 12
    assert character.message_examples is not None
    assert character.message_examples[3][1].content.providers == ["KNOWLEDGE"]
    assert describe_character(character) == (
        "Eliza (agent b850bc30-45f8-0041-a00a-83df46d8555d): "
        "8 bio lines, 7 example conversations, 2 plugins, 0 knowledge sources"
    )


def test_sage_names_nothing_secret_and_suits_small_models() -> None:
    character = load_character(EXAMPLES / "sage.json").character
    assert character.agent_id == string_to_uuid("Sage")
    assert character.secrets is None
    assert (character.settings or {}).get("secrets") == {}
    assert len(character.bio_lines) <= 4
    system = character.system or ""
    assert len(system) < 400


def test_trader_exercises_every_field() -> None:
    loaded = load_character(EXAMPLES / "trader.json")
    character = loaded.character
    wire = character.to_wire()
    assert set(wire) == {
        "id", "name", "username", "system", "templates", "bio", "messageExamples", "postExamples", "topics",
        "adjectives", "knowledge", "plugins", "settings", "secrets", "style",
    }
    assert character.agent_id == "e4a7976c-1052-4601-b3cb-768c90ab80ce" != string_to_uuid("Tally")
    kinds = {type(item).__name__ for item in character.knowledge or []}
    assert kinds == {"str", "KnowledgePath", "KnowledgeDirectory"}
    settings = character.settings or {}
    assert {type(v).__name__ for v in settings.values()} >= {"bool", "int", "str", "dict", "list"}
    assert character.style is not None
    assert character.style.all and character.style.chat and character.style.post
    # A custom content key in an example survives validation.
    assert character.message_examples is not None
    logged = character.message_examples[2][1].content
    assert logged.actions == ["REPLY"]
    assert (logged.model_extra or {})["journal"]["instrument"] == "MES"
    assert "{{agentName}}" in (character.templates or {})["shouldRespondTemplate"]
