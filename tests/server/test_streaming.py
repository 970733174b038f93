"""Reply chunks: the model's own stream when there is one, word chunks of the reply otherwise."""

from __future__ import annotations

from typing import Any

from elizapy.server.manager import ReplyStream, reply_chunks


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], str | None]] = []

    async def emit(self, event: str, data: dict[str, Any], *, room: str | None = None) -> None:
        self.events.append((event, data, room))


def test_reply_chunks_split_at_words_and_lose_nothing() -> None:
    text = "  Hello   there, this reply is long enough to need several chunks!\nSecond line. "
    chunks = reply_chunks(text)
    assert len(chunks) > 2 and "".join(chunks) == text
    assert all(len(c) >= 16 for c in chunks[:-1])
    assert reply_chunks("") == []


async def test_streamed_replies_keep_their_id_and_unstreamed_ones_are_chunked() -> None:
    recorder = Recorder()
    seen: list[tuple[str, str, int]] = []

    async def sink(message_id: str, chunk: str, index: int) -> None:
        seen.append((message_id, chunk, index))

    stream = ReplyStream(recorder, agent_id="agent", channel_id="chan", sink=sink)
    for token in ("You ", "said ", "hi."):
        await stream.send(token)
    first = await stream.finish("You said hi.")
    assert [(d["messageId"], d["chunk"], d["index"]) for _, d, _ in recorder.events] == [
        (first, "You ", 0),
        (first, "said ", 1),
        (first, "hi.", 2),
    ]
    assert seen == [(first, "You ", 0), (first, "said ", 1), (first, "hi.", 2)]
    assert {room for _, _, room in recorder.events} == {"chan"}

    recorder.events.clear()
    second = await stream.finish("An action's own message, which nobody streamed before it was sent.")
    assert second != first
    chunks = [d for _, d, _ in recorder.events]
    assert len(chunks) > 1 and {d["messageId"] for d in chunks} == {second}
    assert (
        "".join(d["chunk"] for d in chunks)
        == "An action's own message, which nobody streamed before it was sent."
    )
