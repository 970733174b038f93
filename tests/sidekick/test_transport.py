"""Framing: lines split across chunks, blank lines, oversize frames skipped up to their newline."""

from __future__ import annotations

import anyio
import pytest

from elizapy.sidekick.dispatcher import sniff_head
from elizapy.sidekick.transport import LineFramer, Oversize, memory_pair


def test_lines_split_across_chunks_are_reassembled() -> None:
    f = LineFramer(100)
    assert f.feed(b'{"a":') == []
    assert f.feed(b'1}\n{"b"') == [b'{"a":1}']
    assert f.feed(b":2}\n\n  \n") == [b'{"b":2}']


def test_many_frames_in_one_chunk() -> None:
    f = LineFramer(100)
    assert f.feed(b"1\n2\n3\n4") == [b"1", b"2", b"3"]
    assert f.feed(b"\n") == [b"4"]


def test_oversize_frame_is_skipped_to_its_newline_and_the_stream_goes_on() -> None:
    f = LineFramer(10)
    big = b'{"id":7,"x":"' + b"y" * 50 + b'"}'
    assert f.feed(big[:20]) == []
    out = f.feed(big[20:] + b'\n{"ok":1}\n')
    assert out == [Oversize(len(big), big[:20]), b'{"ok":1}']


def test_oversize_in_a_single_chunk() -> None:
    f = LineFramer(4)
    assert f.feed(b"123456789\nab\n") == [Oversize(9, b"123456789"), b"ab"]


def test_a_frame_of_exactly_the_limit_passes() -> None:
    assert LineFramer(5).feed(b"12345\n") == [b"12345"]


@pytest.mark.parametrize(
    ("head", "expected_id", "keys"),
    [
        (
            b'{"jsonrpc":"2.0","id":42,"method":"action/invoke","params":{"id":9',
            42,
            {"jsonrpc", "id", "method", "params"},
        ),
        (b'{"jsonrpc":"2.0","method":"x","params":{"id":9,"more', None, {"jsonrpc", "method", "params"}),
        (b'{"jsonrpc": "2.0", "id": "req-\\"1\\"", "result": {"te', 'req-"1"', {"jsonrpc", "id", "result"}),
        (b'{"params":{"id":3},"id":5,"method":"m"', 5, {"params", "id", "method"}),
        (b'{"jsonrpc":"2.0","id":12', None, {"jsonrpc", "id"}),
    ],
)
def test_sniff_head_reads_only_the_top_level_id(head: bytes, expected_id: object, keys: set[str]) -> None:
    rid, seen = sniff_head(head)
    assert rid == expected_id
    assert seen == keys


async def test_memory_pair_applies_the_receivers_limit() -> None:
    a, b = memory_pair(max_frame_bytes=1024, max_frame_bytes_b=8)
    with anyio.fail_after(5):
        await a.write.send(b"0123456789")
        assert await b.read.receive() == Oversize(10, b"0123456789")
        await b.write.send(b"0123456789")
        assert await a.read.receive() == b"0123456789"
        await a.write.aclose()
        with pytest.raises(anyio.EndOfStream):
            await b.read.receive()
