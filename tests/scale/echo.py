"""The echo agent the bus tests run in their workers: a zero-latency scripted model that answers each
``REQ r=<room> n=<k>`` with ``ACK r=<room> n=<k> prev=<j>``, where ``j`` is the highest ``ACK`` number the
model saw in the conversation. In a room processed strictly in order, ``prev`` is always ``k - 1``.

Importable by worker processes: ``--factory tests.scale.echo:build_runtime``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from elizapy.models import FunctionModel, ModelGateway, xml_reply
from elizapy.models.base import TextRequest
from elizapy.runtime import AgentRuntime, Plugin, Provider
from elizapy.store.base import Store
from elizapy.types import Character, Memory, ModelType

CURRENT = re.compile(r"\[current\] REQ r=(\S+) n=(\d+)")
ACK = re.compile(r"ACK r=\S+ n=(\d+)")
REPLY = re.compile(r"ACK r=(\S+) n=(\d+) prev=(\d+)")

Hook = Callable[[str, int], Awaitable[None]]
"""Called with (room, k) before answering: lets a test hold or observe a model call."""


def _current(runtime: AgentRuntime, message: Memory, state: object) -> str:
    return f"[current] {message.content.text or ''}"


current_message = Plugin(
    name="test-current-message",
    providers=[Provider(name="CURRENT_MESSAGE", get=_current, description="the message being answered")],
)


def answer(prompt: str) -> str:
    found = CURRENT.search(prompt)
    if found is None:
        return xml_reply("no current message")
    prev = max((int(n) for n in ACK.findall(prompt)), default=0)
    return xml_reply(f"ACK r={found[1]} n={found[2]} prev={prev}")


def echo_model(hook: Hook | None = None) -> FunctionModel:
    async def reply(model_type: ModelType, request: TextRequest) -> str:
        prompt = "\n".join(m.content or "" for m in request.as_messages())
        found = CURRENT.search(prompt)
        if hook is not None and found is not None:
            await hook(found[1], int(found[2]))
        return answer(prompt)

    return FunctionModel(reply, name="echo")


def factory(hook: Hook | None = None) -> Callable[[Character, Store], AgentRuntime]:
    """A runtime factory for in-process workers; every runtime shares ``hook``."""

    def build(character: Character, store: Store) -> AgentRuntime:
        gateway = ModelGateway()
        gateway.register_provider(echo_model(hook))
        return AgentRuntime(character, store=store, models=gateway, plugins=[current_message])

    return build


build_runtime = factory()
"""The factory worker processes load."""
