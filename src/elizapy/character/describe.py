"""One-line summaries of characters, for ``elizapy check`` and logs."""

from __future__ import annotations

from ..types.character import Character


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def describe_character(character: Character) -> str:
    """``Eliza (agent b850bc30-…): 8 bio lines, 7 example conversations, 2 plugins, 0 knowledge sources``."""
    parts = [
        _count(len(character.bio_lines), "bio line"),
        _count(len(character.message_examples or []), "example conversation"),
        _count(len(character.plugins or []), "plugin"),
        _count(len(character.knowledge or []), "knowledge source"),
    ]
    return f"{character.name} (agent {character.agent_id}): {', '.join(parts)}"
