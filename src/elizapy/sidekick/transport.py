"""Transports: newline-delimited frames over stdio, any anyio byte stream, or an in-memory pair.

A transport is two object streams (habit 1 of STYLE.md, as in the MCP python-sdk): ``read`` yields one item
per received frame, ``write`` takes one encoded frame. Framing and the frame-size bound live here, so the
dispatcher never sees a partial or unbounded frame: an oversize frame is skipped up to its newline and
surfaces as :class:`Oversize` (with its first bytes, so the dispatcher can still answer its request id) and
the connection goes on.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream, ObjectReceiveStream, ObjectSendStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .wire import DEFAULT_MAX_FRAME_BYTES

HEAD_BYTES = 256
"""How much of an oversize frame is kept (enough to find its ``id`` when it comes first)."""
_READ_CHUNK = 65536
_BUFFER = 256
_WRITE_BATCH_BYTES = 1 << 20
"""Queued frames are coalesced into one write up to about this many bytes."""


@dataclass(frozen=True, slots=True)
class Oversize:
    """A frame longer than the limit, dropped; only its first bytes are kept."""

    size: int
    head: bytes


Incoming = bytes | Oversize


@dataclass(slots=True)
class Transport:
    read: ObjectReceiveStream[Incoming]
    """Received frames (without the newline); the stream ends when the peer hangs up."""
    write: ObjectSendStream[bytes]
    """Frames to send (without the newline, never containing one)."""
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    """The largest frame this side accepts (advertised to the peer in ``initialize``)."""


class LineFramer:
    """Splits bytes into lines of at most ``max_frame_bytes``; longer lines become :class:`Oversize`."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max = max_frame_bytes
        self._buf = bytearray()
        self._skipping: int | None = None  # bytes of an oversize frame seen so far
        self._head = b""

    def feed(self, data: bytes) -> list[Incoming]:
        out: list[Incoming] = []
        start = 0
        n = len(data)
        while start < n:
            nl = data.find(b"\n", start)
            end = n if nl < 0 else nl
            if self._skipping is not None:
                self._skipping += end - start
                if nl >= 0:
                    out.append(Oversize(self._skipping, self._head))
                    self._skipping = None
                    self._head = b""
            else:
                self._buf += data[start:end]
                if len(self._buf) > self.max:
                    self._head = bytes(self._buf[:HEAD_BYTES])
                    self._skipping = len(self._buf)
                    self._buf.clear()
                    if nl >= 0:
                        out.append(Oversize(self._skipping, self._head))
                        self._skipping = None
                        self._head = b""
                elif nl >= 0:
                    line = bytes(self._buf).strip()
                    self._buf.clear()
                    if line:
                        out.append(line)
            if nl < 0:
                break
            start = nl + 1
        return out


async def _pump_in(
    source: ByteReceiveStream, sink: MemoryObjectSendStream[Incoming], framer: LineFramer
) -> None:
    async with sink:
        with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            while True:
                data = await source.receive(_READ_CHUNK)
                for item in framer.feed(data):
                    try:  # no checkpoint per frame: one per read is enough
                        sink.send_nowait(item)
                    except anyio.WouldBlock:
                        await sink.send(item)


async def _pump_out(frames: MemoryObjectReceiveStream[bytes], sink: ByteSendStream) -> None:
    """Frames to bytes: every frame already queued goes out in the same ``send`` (one syscall under load)."""
    async with frames:
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            async for frame in frames:
                batch = [frame]
                size = len(frame)
                with contextlib.suppress(anyio.WouldBlock, anyio.EndOfStream):
                    while size < _WRITE_BATCH_BYTES:
                        frame = frames.receive_nowait()
                        batch.append(frame)
                        size += len(frame)
                batch.append(b"")
                await sink.send(b"\n".join(batch))


@contextlib.asynccontextmanager
async def stream_transport(
    source: ByteReceiveStream, sink: ByteSendStream, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> AsyncIterator[Transport]:
    """Frames over any anyio byte streams (a child process's pipes, a socket)."""
    in_send, in_recv = anyio.create_memory_object_stream[Incoming](_BUFFER)
    out_send, out_recv = anyio.create_memory_object_stream[bytes](_BUFFER)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_pump_in, source, in_send, LineFramer(max_frame_bytes))
        tg.start_soon(_pump_out, out_recv, sink)
        try:
            yield Transport(in_recv, out_send, max_frame_bytes)
        finally:
            tg.cancel_scope.cancel()


def memory_pair(
    *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, max_frame_bytes_b: int | None = None
) -> tuple[Transport, Transport]:
    """Two connected in-process transports (for tests): what ``a`` writes, ``b`` reads, and back.

    Frames keep the size bound of the receiving side, so oversize handling is tested without any I/O.
    """
    limit_b = max_frame_bytes if max_frame_bytes_b is None else max_frame_bytes_b
    a_to_b_send, a_to_b_recv = anyio.create_memory_object_stream[bytes](_BUFFER)
    b_to_a_send, b_to_a_recv = anyio.create_memory_object_stream[bytes](_BUFFER)
    return (
        Transport(_Bounded(b_to_a_recv, max_frame_bytes), a_to_b_send, max_frame_bytes),
        Transport(_Bounded(a_to_b_recv, limit_b), b_to_a_send, limit_b),
    )


class _Bounded(ObjectReceiveStream[Incoming]):
    """Whole in-memory frames; the ones over the receiver's limit become :class:`Oversize`."""

    def __init__(self, inner: MemoryObjectReceiveStream[bytes], limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def receive(self) -> Incoming:
        return self._bound(await self._inner.receive())

    def receive_nowait(self) -> Incoming:
        return self._bound(self._inner.receive_nowait())

    def _bound(self, frame: bytes) -> Incoming:
        if len(frame) > self._limit:
            return Oversize(len(frame), frame[:HEAD_BYTES])
        return frame

    async def aclose(self) -> None:
        await self._inner.aclose()


# --- stdio ------------------------------------------------------------------------------------------------


class FdReceiveStream(ByteReceiveStream):
    """Reads a file descriptor without blocking the event loop: pipes and sockets are polled, anything else
    (a file, a terminal) is read in a worker thread."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pollable = _pollable(fd)
        if self._pollable:
            os.set_blocking(fd, False)

    async def receive(self, max_bytes: int = _READ_CHUNK) -> bytes:
        while True:
            if self._pollable:
                try:
                    data = os.read(self.fd, max_bytes)
                except BlockingIOError:
                    await anyio.wait_readable(self.fd)
                    continue
            else:
                data = await anyio.to_thread.run_sync(os.read, self.fd, max_bytes, abandon_on_cancel=True)
            if not data:
                raise anyio.EndOfStream
            return data

    async def aclose(self) -> None:
        return None


class FdSendStream(ByteSendStream):
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pollable = _pollable(fd)
        if self._pollable:
            os.set_blocking(fd, False)

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            if self._pollable:
                try:
                    n = os.write(self.fd, view)
                except BlockingIOError:
                    await anyio.wait_writable(self.fd)
                    continue
                except (BrokenPipeError, ConnectionResetError) as exc:
                    raise anyio.BrokenResourceError from exc
            else:
                n = await anyio.to_thread.run_sync(os.write, self.fd, view)
            view = view[n:]

    async def aclose(self) -> None:
        return None


def _pollable(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextlib.asynccontextmanager
async def stdio_transport(
    *, stdin_fd: int = 0, stdout_fd: int = 1, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> AsyncIterator[Transport]:
    """Frames over this process's stdin/stdout (the sidekick's side of the pipe the TS plugin spawned).

    The protocol keeps a private duplicate of stdout and points fd 1 (and ``sys.stdout``) at stderr for the
    duration, so a stray ``print()`` in user code lands in the host's log instead of corrupting the stream.
    """
    import sys

    protocol_fd = os.dup(stdout_fd)
    saved_stdout_fd = os.dup(stdout_fd)
    saved_sys_stdout = sys.stdout
    sys.stdout.flush()
    os.dup2(2, stdout_fd)
    sys.stdout = sys.stderr
    try:
        async with stream_transport(
            FdReceiveStream(stdin_fd), FdSendStream(protocol_fd), max_frame_bytes=max_frame_bytes
        ) as transport:
            yield transport
    finally:
        sys.stdout = saved_sys_stdout
        os.dup2(saved_stdout_fd, stdout_fd)
        os.close(saved_stdout_fd)
        os.close(protocol_fd)


__all__ = [
    "FdReceiveStream",
    "FdSendStream",
    "Incoming",
    "LineFramer",
    "Oversize",
    "Transport",
    "memory_pair",
    "stdio_transport",
    "stream_transport",
]
