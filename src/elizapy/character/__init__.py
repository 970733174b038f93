"""Character files: loading (1.x strict, 0.x tolerated), friendly errors, and one-line summaries.

    loaded = load_character("characters/eliza.json")   # -> LoadedCharacter
    loaded.character                                    # the validated elizapy.types.Character
    loaded.warnings                                     # e.g. "lore: folded 4 lines into bio ..."
    describe_character(loaded.character)                # "Eliza (agent b850bc30-...): 8 bio lines, ..."

A bad file raises :class:`CharacterValidationError` (a :class:`~elizapy.errors.CharacterError`) naming the
file, the JSON path of each bad field and what belongs there; bad JSON gives the line and column instead.
"""

from .describe import describe_character
from .issues import CharacterIssue, CharacterValidationError
from .legacy import LEGACY_ONLY_KEYS
from .loader import CHARACTER_KEYS, LoadedCharacter, load_character, parse_character, parse_character_json

__all__ = [
    "CHARACTER_KEYS",
    "LEGACY_ONLY_KEYS",
    "CharacterIssue",
    "CharacterValidationError",
    "LoadedCharacter",
    "describe_character",
    "load_character",
    "parse_character",
    "parse_character_json",
]
