"""Tolerance for ElizaOS 0.x character files.

ElizaOS 1.x rejects 0.x files outright (unknown keys such as ``lore`` fail its strict schema). ElizaOS-Py
loads them instead, converting what has a 1.x meaning and dropping the rest, and says what it did in warnings.

**Detection rule.** A file is 0.x when its top level has at least one key that only 0.x defined
(:data:`LEGACY_ONLY_KEYS`: ``lore``, ``modelProvider``, ``clients``, ``people``, ``twitterProfile``…), or when
one of its message examples names its speaker with ``user`` and has no ``name``. Only then are unknown
top-level keys and ``null`` values dropped with a warning; a file without these markers is held to the strict
1.x shape, where an unknown key is an error, as in TypeScript.

**Conversions.** ``lore`` lines are appended to ``bio`` (1.x has no lore, and bio is the closest thing: both
are shown to the model as background facts); ``user`` in message examples becomes ``name``, and the 0.x
speaker placeholders ``{{user1}}``… in those names and texts become the 1.x ``{{name1}}``…. Everything else
0.x-only is dropped, with a hint at its 1.x replacement where there is one. 0.x-only settings such as
``settings.voice`` are valid 1.x settings, so they are kept, with a warning that 1.x does not read them.
"""

from __future__ import annotations

import re
from typing import Any

from .issues import CharacterIssue, describe_value, expectation_for

# Model providers and clients whose 1.x plugin is named by @elizaos/core 1.7's own plugin chooser.
_MODEL_PLUGINS = {
    "openai": "@elizaos/plugin-openai",
    "anthropic": "@elizaos/plugin-anthropic",
    "ollama": "@elizaos/plugin-ollama",
    "openrouter": "@elizaos/plugin-openrouter",
    "google": "@elizaos/plugin-google-genai",
}
_CLIENT_PLUGINS = {
    "discord": "@elizaos/plugin-discord",
    "twitter": "@elizaos/plugin-twitter",
    "telegram": "@elizaos/plugin-telegram",
}

_USER_PLACEHOLDER = re.compile(r"\{\{user(\d+)\}\}")
"""0.x wrote example speakers as ``{{user1}}``; 1.x fills in ``{{name1}}``."""

_MODEL_HINT = 'in 1.x the model comes from a plugin in "plugins", such as "@elizaos/plugin-openai"'

LEGACY_ONLY_KEYS: dict[str, str] = {
    "lore": "folded into bio",
    "modelProvider": _MODEL_HINT,
    "imageModelProvider": _MODEL_HINT,
    "imageVisionModelProvider": _MODEL_HINT,
    "modelEndpointOverride": "in 1.x the endpoint is a setting of the model plugin (such as OPENAI_BASE_URL)",
    "clients": 'in 1.x each connector is a plugin in "plugins", such as "@elizaos/plugin-discord"',
    "clientConfig": "in 1.x connector options are settings of the connector plugin",
    "people": "1.x has no such field",
    "twitterProfile": "in 1.x the Twitter connector is configured through its plugin settings",
    "twitterSpaces": "in 1.x the Twitter connector is configured through its plugin settings",
    "postProcessors": "1.x has no post-processors",
    "nft": "1.x has no such field",
    "extends": "1.x characters do not inherit from other characters",
    "scenarios": "1.x has no such field",
    "email": "1.x has no such field",
}
"""Top-level keys that only 0.x characters have, with what becomes of each."""

LEGACY_SETTINGS_KEYS = frozenset(
    {"voice", "model", "modelConfig", "embeddingModel", "imageSettings", "intiface", "chains",
     "transcription", "ragKnowledge"}
)
"""0.x ``settings`` keys that ElizaOS 1.x does not read (kept, since they are valid 1.x settings)."""


def user_speaker_count(examples: object) -> int:
    """How many message examples name their speaker with 0.x ``user`` and no ``name``."""
    count = 0
    if isinstance(examples, list):
        for conversation in examples:
            if isinstance(conversation, list):
                for message in conversation:
                    if isinstance(message, dict) and "user" in message and "name" not in message:
                        count += 1
    return count


def legacy_markers(data: dict[str, Any]) -> list[str]:
    """The reasons ``data`` counts as a 0.x file (empty when it does not)."""
    markers = [key for key in data if key in LEGACY_ONLY_KEYS]
    if user_speaker_count(data.get("messageExamples")):
        markers.append("messageExamples with 'user'")
    return markers


def _preview(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value) if value else "empty"
    return describe_value(value)


def _plugin_hint(key: str, value: object) -> str:
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    table = _CLIENT_PLUGINS if key == "clients" else _MODEL_PLUGINS
    plugins = [table[n.lower()] for n in names if isinstance(n, str) and n.lower() in table]
    if not plugins:
        return LEGACY_ONLY_KEYS[key]
    listed = ", ".join(f'"{p}"' for p in dict.fromkeys(plugins))
    return f'in 1.x add {listed} to "plugins" instead'


def convert_legacy(data: dict[str, Any], warnings: list[str], issues: list[CharacterIssue]) -> None:
    """Rewrite a 0.x character (plain JSON, changed in place) into the 1.x shape, noting each change."""
    if "lore" in data:
        _fold_lore(data, warnings, issues)

    dropped = [key for key in data if key in LEGACY_ONLY_KEYS]
    for key in dropped:
        value = data.pop(key)
        if key in ("modelProvider", "imageModelProvider", "imageVisionModelProvider", "clients"):
            hint = _plugin_hint(key, value)
        else:
            hint = LEGACY_ONLY_KEYS[key]
        warnings.append(f"{key}: ignored ({_preview(value)}); {hint}")

    renamed = placeholders = 0
    examples = data.get("messageExamples")
    if isinstance(examples, list):
        for conversation in examples:
            if not isinstance(conversation, list):
                continue
            for message in conversation:
                if isinstance(message, dict) and "user" in message and "name" not in message:
                    speaker = message.pop("user")
                    if isinstance(speaker, str) and _USER_PLACEHOLDER.search(speaker):
                        speaker = _USER_PLACEHOLDER.sub(r"{{name\1}}", speaker)
                        placeholders += 1
                    content = message.get("content")
                    if isinstance(content, dict) and isinstance(content.get("text"), str):
                        text, n = _USER_PLACEHOLDER.subn(r"{{name\1}}", content["text"])
                        content["text"] = text
                        placeholders += n
                    # Rebuild to keep "name" first, as a 1.x author would write it.
                    rebuilt = {"name": speaker, **message}
                    message.clear()
                    message.update(rebuilt)
                    renamed += 1
    if renamed:
        noun = "message" if renamed == 1 else "messages"
        also = f", and {{{{userN}}}} to {{{{nameN}}}} {placeholders}×" if placeholders else ""
        warnings.append(f"messageExamples: renamed 0.x 'user' to 'name' in {renamed} {noun}{also}")

    settings = data.get("settings")
    if isinstance(settings, dict):
        old = [f"settings.{key}" for key in settings if key in LEGACY_SETTINGS_KEYS]
        if old:
            warnings.append(f"{', '.join(old)}: kept, but ElizaOS 1.x does not read these 0.x settings")


def _fold_lore(data: dict[str, Any], warnings: list[str], issues: list[CharacterIssue]) -> None:
    lore = data.pop("lore")
    if isinstance(lore, str):
        lore = [lore]
    if not isinstance(lore, list):
        issues.append(CharacterIssue("lore", f"got {describe_value(lore)}", expectation_for(["lore"])))
        return
    bad = [i for i, line in enumerate(lore) if not isinstance(line, str)]
    if bad:
        for i in bad:
            issues.append(
                CharacterIssue(f"lore[{i}]", f"got {describe_value(lore[i])}", expectation_for(["lore", i]))
            )
        return
    if not lore:
        warnings.append("lore: ignored (empty); ElizaOS 1.x has no lore field")
        return
    bio = data.get("bio")
    if bio is None:
        data["bio"] = list(lore)
    elif isinstance(bio, str):
        data["bio"] = [bio, *lore]
    elif isinstance(bio, list):
        data["bio"] = [*bio, *lore]
    else:
        warnings.append("lore: ignored, because bio is not a string or a list to fold it into")
        return
    noun = "line" if len(lore) == 1 else "lines"
    warnings.append(f"lore: folded {len(lore)} {noun} into bio (ElizaOS 1.x has no lore field)")
