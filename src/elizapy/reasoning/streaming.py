"""Incremental extraction of the ``<text>`` element from a streamed XML answer.

The XML reasoner's model writes ``<response><thought>…</thought>…<text>HELLO</text></response>``; users should
see ``HELLO`` as it is generated, not after the whole block. The extractor holds back only what could be the
start of ``</text>``, so chunks are never split inside the closing tag and nothing after it leaks out.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

ChunkSink = Callable[[str], Awaitable[None]]

_OPEN = "<text>"
_CLOSE = "</text>"


class XmlTextStreamer:
    def __init__(self, sink: ChunkSink) -> None:
        self._sink = sink
        self._buf = ""
        self._inside = False
        self._done = False
        self.sent = ""

    async def feed(self, delta: str) -> None:
        if self._done or not delta:
            return
        self._buf += delta
        if not self._inside:
            at = self._buf.find(_OPEN)
            if at < 0:
                self._buf = self._buf[-(len(_OPEN) - 1) :]
                return
            self._inside = True
            self._buf = self._buf[at + len(_OPEN) :]
        end = self._buf.find(_CLOSE)
        if end >= 0:
            out, self._done = self._buf[:end], True
            self._buf = ""
        else:
            keep = _partial_suffix(self._buf, _CLOSE)
            out, self._buf = self._buf[: len(self._buf) - keep], self._buf[len(self._buf) - keep :]
        # Entities are decoded per chunk; hold back a dangling '&' fragment with the rest.
        amp = out.rfind("&")
        if amp >= 0 and ";" not in out[amp:] and not self._done:
            self._buf = out[amp:] + self._buf
            out = out[:amp]
        if out:
            text = html.unescape(out)
            if not self.sent:
                text = text.lstrip()
            if text:
                self.sent += text
                await self._sink(text)


def _partial_suffix(text: str, token: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``token``."""
    for n in range(min(len(token) - 1, len(text)), 0, -1):
        if token.startswith(text[-n:]):
            return n
    return 0
