"""Streaming the reply text out of the XML answer while it is generated."""

from __future__ import annotations

import pytest

from elizapy.connectors.direct import Conversation
from elizapy.models import FunctionModel, TextRequest, TextResult, xml_reply
from elizapy.reasoning.streaming import XmlTextStreamer
from elizapy.types import ModelType


async def collect(pieces: list[str]) -> list[str]:
    out: list[str] = []

    async def sink(chunk: str) -> None:
        out.append(chunk)

    s = XmlTextStreamer(sink)
    for p in pieces:
        await s.feed(p)
    return out


@pytest.mark.parametrize("split", [1, 2, 3, 5, 7, 100])
async def test_text_element_is_extracted_at_any_chunking(split):
    raw = xml_reply("Hello &amp; welcome, <b>friend</b>!", thought="say hi")
    pieces = [raw[i : i + split] for i in range(0, len(raw), split)]
    chunks = await collect(pieces)
    assert "".join(chunks) == "Hello & welcome, <b>friend</b>!"


async def test_nothing_outside_text_leaks():
    chunks = await collect(["<response><thought>secret</thought><te", "xt>ok</t", "ext><extra>no</extra>"])
    assert chunks == ["ok"]


async def test_pipeline_streams_xml_reply_in_chunks(make_runtime):
    async def model(mt: ModelType, req: TextRequest) -> TextResult:
        raw = xml_reply("one two three four")
        assert req.on_token is not None
        for i in range(0, len(raw), 4):
            await req.on_token(raw[i : i + 4])
        return TextResult(text=raw)

    chunks: list[str] = []

    async def sink(c: str) -> None:
        chunks.append(c)

    rt = await make_runtime(FunctionModel(model))
    result = await Conversation(rt, stream=sink).send("count")
    assert len(chunks) > 2
    assert "".join(chunks) == "one two three four" == result.text
