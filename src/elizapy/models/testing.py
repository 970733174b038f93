"""Model test doubles shipped with the library, so users test their agents without bespoke fakes.

- :class:`ScriptedModel` answers from a list, in order, and records every request.
- :class:`FunctionModel` answers with a function of the request (any logic, including tool calls).

Both embed text with a deterministic hashed bag of words: similar sentences get similar vectors, so memory
search behaves meaningfully in tests without any weights.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import anyio

from ..errors import ModelError
from ..types import ModelType
from .base import TextRequest, TextResult, ToolCall, Usage

Reply = str | TextResult
ReplyFn = Callable[[ModelType, TextRequest], Reply | Awaitable[Reply]]

_WORD = re.compile(r"[a-z0-9]+")


def hashed_embedding(text: str, dim: int = 384) -> list[float]:
    """A unit vector from hashed word counts: deterministic, cheap, similarity-preserving enough for tests."""
    vec = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        vec[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


@dataclass(slots=True)
class RecordedCall:
    model_type: ModelType
    request: TextRequest


class _TestModelBase:
    native_tools = True

    def __init__(self, *, name: str, embedding_dim: int, latency_s: float) -> None:
        self.name = name
        self.embedding_dim = embedding_dim
        self.latency_s = latency_s
        self.calls: list[RecordedCall] = []
        self.embed_calls = 0

    @property
    def model_types(self) -> frozenset[ModelType]:
        return frozenset(ModelType) - {
            ModelType.IMAGE,
            ModelType.TRANSCRIPTION,
            ModelType.TEXT_TO_SPEECH,
            ModelType.AUDIO,
            ModelType.VIDEO,
            ModelType.IMAGE_DESCRIPTION,
            ModelType.TEXT_TOKENIZER_ENCODE,
            ModelType.TEXT_TOKENIZER_DECODE,
        }

    @property
    def prompts(self) -> list[str]:
        """The prompt text of each generate call so far (chat messages joined), for assertions."""
        out = []
        for call in self.calls:
            parts = [m.content or "" for m in call.request.as_messages()]
            out.append("\n".join(parts))
        return out

    async def embed(self, model_type: ModelType, texts: Sequence[str]) -> list[list[float]]:
        self.embed_calls += 1
        return [hashed_embedding(t, self.embedding_dim) for t in texts]

    async def _finish(self, request: TextRequest, reply: Reply) -> TextResult:
        if self.latency_s:
            await anyio.sleep(self.latency_s)
        result = reply if isinstance(reply, TextResult) else TextResult(text=reply)
        if result.usage is None:
            prompt_len = sum(len((m.content or "").split()) for m in request.as_messages())
            result.usage = Usage(prompt_tokens=prompt_len, completion_tokens=len(result.text.split()))
        if request.on_token is not None and result.text:
            await request.on_token(result.text)
        return result


class ScriptedModel(_TestModelBase):
    """Replies from ``replies`` in order; a callable entry is called with ``(model_type, request)``."""

    def __init__(
        self,
        replies: Sequence[Reply | ReplyFn] = (),
        *,
        name: str = "scripted",
        embedding_dim: int = 384,
        latency_s: float = 0.0,
        repeat_last: bool = False,
    ) -> None:
        super().__init__(name=name, embedding_dim=embedding_dim, latency_s=latency_s)
        self._replies = list(replies)
        self._next = 0
        self.repeat_last = repeat_last

    def add(self, *replies: Reply | ReplyFn) -> None:
        self._replies.extend(replies)

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        self.calls.append(RecordedCall(model_type, request))
        if self._next >= len(self._replies):
            if not (self.repeat_last and self._replies):
                raise ModelError(
                    f"ScriptedModel exhausted after {len(self._replies)} replies "
                    f"(unexpected {model_type.value} call)"
                )
            entry = self._replies[-1]
        else:
            entry = self._replies[self._next]
            self._next += 1
        if callable(entry):
            reply = entry(model_type, request)
            if inspect.isawaitable(reply):
                reply = await reply
        else:
            reply = entry
        return await self._finish(request, reply)


class FunctionModel(_TestModelBase):
    """Replies with ``fn(model_type, request)`` (sync or async)."""

    def __init__(
        self, fn: ReplyFn, *, name: str = "function", embedding_dim: int = 384, latency_s: float = 0.0
    ) -> None:
        super().__init__(name=name, embedding_dim=embedding_dim, latency_s=latency_s)
        self.fn = fn

    async def generate(self, model_type: ModelType, request: TextRequest) -> TextResult:
        self.calls.append(RecordedCall(model_type, request))
        reply = self.fn(model_type, request)
        if inspect.isawaitable(reply):
            reply = await reply
        return await self._finish(request, reply)


def xml_reply(
    text: str, *, actions: Sequence[str] = ("REPLY",), thought: str = "", providers: Sequence[str] = ()
) -> str:
    """An ElizaOS message-handler answer, for scripting the XML reasoner."""
    return (
        "<response>\n"
        f"    <thought>{thought}</thought>\n"
        f"    <actions>{','.join(actions)}</actions>\n"
        f"    <providers>{','.join(providers)}</providers>\n"
        f"    <text>{text}</text>\n"
        "</response>"
    )


def tool_calls_reply(*calls: tuple[str, Mapping[str, object]], text: str = "") -> TextResult:
    """A native tool-calling answer with ids ``call_1``, ``call_2``…"""
    return TextResult(
        text=text,
        tool_calls=[ToolCall(id=f"call_{i}", name=n, arguments=dict(a)) for i, (n, a) in enumerate(calls, 1)],
    )
