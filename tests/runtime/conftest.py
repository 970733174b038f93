from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from elizapy.models import ModelGateway, ScriptedModel
from elizapy.runtime import AgentRuntime, Plugin
from elizapy.store.sqlite import SqliteStore
from elizapy.types import Character

RuntimeFactory = Callable[..., Any]


@pytest.fixture
def character() -> Character:
    return Character(
        name="Ada",
        bio=["Ada is a careful assistant.", "Ada likes precise answers."],
        system="Answer briefly.",
    )


@pytest.fixture
async def make_runtime(character: Character) -> AsyncIterator[RuntimeFactory]:
    made: list[AgentRuntime] = []

    async def factory(
        model: ScriptedModel,
        *,
        plugins: Sequence[Plugin] = (),
        store: SqliteStore | None = None,
        char: Character | None = None,
        settings: dict[str, Any] | None = None,
    ) -> AgentRuntime:
        gateway = ModelGateway()
        gateway.register_provider(model)
        rt = AgentRuntime(
            char or character,
            store=store or SqliteStore(":memory:"),
            models=gateway,
            plugins=plugins,
            settings=settings,
        )
        await rt.initialize()
        made.append(rt)
        return rt

    yield factory
    for rt in made:
        await rt.stop()
