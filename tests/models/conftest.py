"""Fixtures for the model tests: a fake OpenAI-compatible server over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from elizapy.models.openai_compat import OpenAICompatProvider
from tests.models.fake_openai import TEST_API_KEY, FakeOpenAI, FakeOpenAIServer


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAIServer()
    fake = server.start()
    try:
        yield fake
    finally:
        server.stop()


@pytest.fixture
def fake_openai(_fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The shared fake server, with an empty script and no recorded requests."""
    _fake_openai_server.reset()
    yield _fake_openai_server
    _fake_openai_server.reset()


@pytest.fixture
async def make_provider(fake_openai: FakeOpenAI) -> AsyncIterator[Callable[..., OpenAICompatProvider]]:
    """Build providers pointed at the fake server (no retries, short timeout); closed after the test."""
    made: list[OpenAICompatProvider] = []

    def make(**kwargs: Any) -> OpenAICompatProvider:
        options: dict[str, Any] = {
            "api_key": TEST_API_KEY,
            "base_url": fake_openai.base_url,
            "small_model": "small-model",
            "large_model": "large-model",
            "embedding_model": "embed-model",
            "timeout_s": 5.0,
            "max_retries": 0,
        }
        options.update(kwargs)
        provider = OpenAICompatProvider(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()
