"""Setting resolution with ElizaOS's ``runtime.getSetting`` lookup order, for model configuration.

Order: ``character.secrets[key]``, ``character.settings[key]``, ``character.settings["secrets"][key]``, the
runtime settings passed in, the environment mapping passed in, then the values of an explicit ``.env`` file.
Nothing here reads ``os.environ`` by itself: the CLI (or whoever builds the source) passes ``env=os.environ``
where it wants the process environment to count.

As in ElizaOS, the strings ``"true"`` and ``"false"`` (here case-insensitively) resolve to booleans, and an
empty string counts as unset.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from dotenv import dotenv_values

SettingValue = str | bool | int | float | dict[str, Any] | list[Any] | None

REDACTED = "***"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE", re.IGNORECASE)


def looks_secret(key: str) -> bool:
    """True for setting names whose values must never be printed (``OPENAI_API_KEY``, ``DISCORD_TOKEN``…)."""
    return bool(_SECRET_NAME.search(key))


def load_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``KEY=value`` pairs of a ``.env`` file; a missing file gives ``{}``. Does not touch os.environ."""
    p = Path(path)
    if not p.is_file():
        return {}
    return {k: v for k, v in dotenv_values(p).items() if v is not None}


def coerce(value: Any) -> SettingValue:
    """ElizaOS's coercion: ``"true"``/``"false"`` strings become booleans; other values pass through."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return cast(SettingValue, value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


class SettingsSource:
    """Resolves settings for one agent, in ElizaOS order (see the module docstring)."""

    def __init__(
        self,
        character_settings: Mapping[str, Any] | None,
        character_secrets: Mapping[str, Any] | None,
        runtime_settings: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        env_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self._settings: Mapping[str, Any] = character_settings or {}
        self._secrets: Mapping[str, Any] = character_secrets or {}
        nested = self._settings.get("secrets")
        self._settings_secrets: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
        self._runtime: Mapping[str, Any] = runtime_settings or {}
        self._env: Mapping[str, str] = env if env is not None else {}
        self._env_file: dict[str, str] = load_env_file(env_file) if env_file is not None else {}

    def _layers(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        yield "character.secrets", self._secrets
        yield "character.settings", self._settings
        yield "character.settings.secrets", self._settings_secrets
        yield "runtime", self._runtime
        yield "env", self._env
        yield "env_file", self._env_file

    def source_of(self, key: str) -> str | None:
        """Which layer supplies ``key`` (for diagnostics), or None when it is unset."""
        for layer, mapping in self._layers():
            if not _missing(mapping.get(key)):
                return layer
        return None

    def get(self, key: str, default: SettingValue = None) -> SettingValue:
        """The first non-empty value for ``key`` in lookup order, coerced; ``default`` when unset."""
        for _, mapping in self._layers():
            value = mapping.get(key)
            if not _missing(value):
                return coerce(value)
        return default

    def get_str(self, key: str, default: str | None = None) -> str | None:
        """The value as a string (booleans as ``"true"``/``"false"``, containers as JSON), or ``default``."""
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def __call__(self, key: str) -> str | None:
        """``source(key)`` is ``source.get_str(key)``: pass the source where a ``get_setting`` is expected."""
        return self.get_str(key)

    def redacted(self, *, include_env: bool = False) -> dict[str, Any]:
        """The effective settings with secret values masked, for logs and ``repr``.

        Values from ``character.secrets`` and ``settings.secrets`` are always masked, as are values whose key
        looks secret and passwords inside URLs. The environment mapping is left out unless ``include_env``
        (it is usually the whole process environment).
        """
        out: dict[str, Any] = {}
        for layer, mapping in reversed(list(self._layers())):
            if layer == "env" and not include_env:
                continue
            always = layer in ("character.secrets", "character.settings.secrets")
            for key, value in mapping.items():
                if layer == "character.settings" and key == "secrets":
                    continue
                if _missing(value):
                    continue
                out[key] = REDACTED if always else _redact_value(key, value)
        return dict(sorted(out.items()))

    def __repr__(self) -> str:
        return f"SettingsSource({self.redacted()!r})"


def _redact_value(key: str, value: Any) -> Any:
    if looks_secret(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, str):
        return _redact_url_password(value)
    return value


def _redact_url_password(value: str) -> str:
    if "://" not in value or "@" not in value:
        return value
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return REDACTED
    if not password:
        return value
    return value.replace(f":{password}@", f":{REDACTED}@", 1)


__all__ = ["REDACTED", "SettingValue", "SettingsSource", "coerce", "load_env_file", "looks_secret"]
