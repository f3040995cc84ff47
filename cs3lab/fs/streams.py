"""The bytes of ``cs3://`` files: ranged reads, spools, streamed uploads.

Memory stays bounded whatever the file size: a read holds at most one block (the fsspec
file's ``block_size``), a write waits in a :class:`~cs3lab.fs.spool.Spool` (in memory within
the process's spool budget, else on disk), and every transfer streams in chunks of
:data:`CHUNK_BYTES` (an upload from a local file or a spool in chunks of
:data:`FILE_CHUNK_BYTES`).
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import IO, Any, Protocol

from fsspec.asyn import sync
from fsspec.spec import AbstractBufferedFile

from ..cs3 import Files
from ..cs3.errors import CS3Error, PermissionDenied, Unauthenticated
from ..cs3.files import Download, ResourceInfo
from ..cs3.transfer import CHUNK_BYTES, RangeNotSatisfiable
from .errors import os_error
from .spool import Spool, on_spool, spool_chunks


class StreamHost(Protocol):
    """What the streams need of the file system (:class:`~.filesystem.CS3FileSystem` is one),
    so that this module does not import the file system that imports it."""

    loop: asyncio.AbstractEventLoop
    ranges_supported: bool | None  # learnt at the first ranged read

    async def _cs3(self) -> Files: ...
    def cs3_path(self, path: str) -> str: ...
    async def _prepare_write(
        self, path: str, mode: str = "overwrite", recent: float = 0.0
    ) -> ResourceInfo | None: ...
    async def upload(
        self,
        path: str,
        size: int,
        chunks: AsyncIterable[bytes],
        info: ResourceInfo | None = None,
        checked: bool = False,
    ) -> None: ...


# An upload from a local file reads it in chunks of this size: each chunk is one hop to a
# worker thread and back (measured on a 2-core machine: 4 MiB chunks took about a fifth less
# client CPU than 1 MiB ones for a 100 MB upload; a read-ahead queue took more, not less).
FILE_CHUNK_BYTES = 4 * CHUNK_BYTES
# A sequential reader's window (StreamedReader): how far the download may run ahead of
# the reads, and what stays behind the latest read for reads out of order.
STREAM_WINDOW_BYTES = 16 * CHUNK_BYTES
STREAM_BEHIND_BYTES = 4 * CHUNK_BYTES


def file_sink(target: IO[bytes] | Spool):
    """A download's chunk callback writing to ``target`` (a file, or a spool on disk: off the
    event loop; the transfer waits for each write, it never runs ahead of the disk)."""
    if isinstance(target, Spool):
        return lambda chunk: on_spool(target, target.write, chunk)
    return lambda chunk: asyncio.to_thread(target.write, chunk)


async def file_chunks(source: IO[bytes] | Spool) -> AsyncIterator[bytes | memoryview]:
    """The bytes of ``source`` in chunks: the rest of an open local file, read off the event
    loop, or a whole spool (off the loop too when it is on disk)."""
    if isinstance(source, Spool):
        async for chunk in spool_chunks(source, FILE_CHUNK_BYTES):
            yield chunk
        return
    while True:
        chunk = await asyncio.to_thread(source.read, FILE_CHUNK_BYTES)
        if not chunk:
            return
        yield chunk


async def upload_file(
    fs: StreamHost,
    path: str,
    source: IO[bytes] | Spool,
    info: ResourceInfo | None,
    checked: bool = True,
) -> None:
    """Store a whole spool, or the rest of the open local file ``source``, at ``path`` with
    one streamed upload (``info``, ``checked``: see :meth:`CS3FileSystem.upload`)."""
    if isinstance(source, Spool):
        size = source.size
    else:
        size = os.fstat(source.fileno()).st_size - source.tell()
    await fs.upload(path, size, file_chunks(source), info, checked=checked)


async def spooled_download(fs: StreamHost, path: str) -> Spool:
    """The whole file, streamed into a spool."""
    spool = Spool()
    try:
        await _stream(fs, path, file_sink(spool))
    except BaseException:
        spool.close()
        raise
    return spool


async def _stream(
    fs: StreamHost,
    path: str,
    on_chunk: Callable[[bytes], object],
    byte_range: tuple[int, int] | None = None,
) -> int:
    """One download of ``path`` (or of ``byte_range``) streamed to ``on_chunk``; its HTTP
    status. CS3 errors are OSErrors, except a refused range (RangeNotSatisfiable)."""
    files = await fs._cs3()
    try:
        download = await _initiate(fs, path)
        return await files.download_stream(download, on_chunk, path, byte_range)
    except RangeNotSatisfiable:
        raise
    except CS3Error as err:
        raise os_error(err, path) from None


async def _initiate(fs: StreamHost, path: str) -> Download:
    files = await fs._cs3()
    return await files.initiate_download(fs.cs3_path(path))


class Changes:
    """Wakes every coroutine waiting at the time of each ``notify`` (an asyncio.Event that
    is set and replaced by a fresh one)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()


def error_seen(future: asyncio.Future) -> None:
    """A done callback for a future that nobody may await: its error is not "never
    retrieved" (whoever awaits it later still gets it)."""
    if not future.cancelled():
        future.exception()


class RangeReader:
    """Reads parts of one file. One InitiateFileDownload serves all ranged reads (its transfer
    token is asked for again when the data server stops accepting it). Where the storage
    cannot serve ranges (Reva v3's local driver answers 416), the file is streamed once into
    a spool, and each read is answered as soon as its bytes have arrived.

    A sequential reader gets the next range fetched while it works on this one (one range
    ahead at most; ``ahead=False`` for a caller that fetches ahead itself, with reads at
    once): the network and the reader take turns no longer."""

    def __init__(self, fs: StreamHost, path: str, size: int, ahead: bool = True) -> None:
        self.fs, self.path, self.size, self.ahead = fs, path, size, ahead
        self._download: Download | None = None
        self._spool: Spool | None = None
        self._ahead: tuple[int, int, asyncio.Future[bytes | None]] | None = None
        self._stream: asyncio.Future[None] | None = None  # the whole download into _spool
        self._grown = Changes()  # at each chunk the stream adds, and at its end

    async def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        if self._spool is None and self.fs.ranges_supported is not False:
            data = await self._fetched_ahead(start, end)
            if data is None:
                data = await self._ranged(start, end)
            if data is not None:
                if self.ahead and end < self.size:
                    following = (end, min(end + (end - start), self.size))
                    fetch = asyncio.ensure_future(self._ranged(*following))
                    fetch.add_done_callback(error_seen)  # a failure counts only when read
                    self._ahead = (*following, fetch)
                return data
        return await self._streamed(start, end)

    async def _streamed(self, start: int, end: int) -> bytes:
        """[start, end) from the one whole download into a spool, once they have arrived."""
        if self._stream is None:
            self._spool = Spool()
            self._stream = asyncio.ensure_future(self._stream_into(self._spool))
            self._stream.add_done_callback(error_seen)
        spool = self._spool
        assert spool is not None
        while spool.size < end and not self._stream.done():
            await self._grown.wait()
        if self._stream.done() and spool.size < end:
            self._stream.result()  # the download's error, if it failed
        return await on_spool(spool, spool.pread, end - start, start)

    async def _stream_into(self, spool: Spool) -> None:
        async def sink(chunk: bytes) -> None:
            await on_spool(spool, spool.write, chunk)
            self._grown.notify()

        try:
            await _stream(self.fs, self.path, sink)
        finally:
            self._grown.notify()

    async def _fetched_ahead(self, start: int, end: int) -> bytes | None:
        """[start, end) from the range fetched ahead, if it holds them (else that fetch is
        dropped)."""
        if self._ahead is None:
            return None
        ahead_start, ahead_end, fetch = self._ahead
        self._ahead = None
        if ahead_start != start or ahead_end < end:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        data = await fetch
        return None if data is None else data[: end - start]

    async def _ranged(self, start: int, end: int) -> bytes | None:
        """The bytes of [start, end), or None when the storage cannot serve ranges."""
        files = await self.fs._cs3()
        for attempt in (1, 2):
            if self._download is None:
                try:
                    self._download = await _initiate(self.fs, self.path)
                except CS3Error as err:
                    raise os_error(err, self.path) from None
            chunks: list[bytes] = []
            try:
                status = await files.download_stream(
                    self._download, chunks.append, self.path, (start, end)
                )
            except RangeNotSatisfiable:
                self.fs.ranges_supported = False
                return None
            except (PermissionDenied, Unauthenticated) as err:
                self._download = None  # the transfer token expired: ask for a new one
                if attempt == 2:
                    raise os_error(err, self.path) from None
                continue
            except CS3Error as err:
                raise os_error(err, self.path) from None
            if status == 200:  # the whole file came: the storage ignores ranges
                self.fs.ranges_supported = False
            elif self.fs.ranges_supported is None:
                self.fs.ranges_supported = True
            return b"".join(chunks)
        return None  # pragma: no cover

    def close(self) -> None:
        """Stop what runs in the background (callable from any thread)."""
        if self._ahead is not None:
            fetch, self._ahead = self._ahead[2], None
            _on_loop_of(fetch, fetch.cancel)
        stream, spool = self._stream, self._spool
        self._stream = self._spool = None
        if stream is None or not _on_loop_of(stream, _stop, stream, spool):
            if spool is not None:
                spool.close()


def _on_loop_of(future: asyncio.Future, call: Callable[..., object], *args: Any) -> bool:
    """``call(*args)`` soon on the loop of ``future`` while it runs (False: it is done)."""
    loop = future.get_loop()
    if future.done() or loop.is_closed():
        return False
    loop.call_soon_threadsafe(call, *args)
    return True


def _stop(stream: asyncio.Future, spool: Spool | None) -> None:
    """Cancel the whole download; its spool is closed once the download no longer writes."""
    stream.cancel()
    if spool is not None:
        stream.add_done_callback(lambda _: spool.close())


class StreamedReader:
    """Sequential reads from one download of the file from ``start`` to its end (what a raw
    GET does, without a request per block), kept in a window of at most
    :data:`STREAM_WINDOW_BYTES` ahead of the reads: the download waits when the window is
    full (memory stays bounded whatever the file size), and the bytes up to
    :data:`STREAM_BEHIND_BYTES` before the latest read stay for reads that come out of
    order. ``read`` answers None for what is not in the window (the caller reads it
    otherwise)."""

    def __init__(self, fs: StreamHost, path: str, size: int, start: int = 0) -> None:
        self.fs, self.path, self.size = fs, path, size
        self.start = self.end = start  # the window holds [start, end)
        self.chunks: deque[bytes] = deque()
        self._changed = Changes()  # when bytes come or go, and at the download's end
        self._task = asyncio.ensure_future(self._download())
        self._task.add_done_callback(error_seen)

    def holds(self, offset: int) -> bool:
        """Whether a read at ``offset`` is (or will soon be) in the window."""
        return self.start <= offset <= self.end + STREAM_WINDOW_BYTES

    async def read(self, offset: int, size: int) -> bytes | None:
        end = min(offset + size, self.size)
        if not self.holds(offset) or end - offset > STREAM_WINDOW_BYTES // 2:
            return None
        while True:
            # what is well behind this read goes first: room for the download to go on
            self._drop_before(offset - STREAM_BEHIND_BYTES)
            if self.end >= end or self._task.done():
                break
            await self._changed.wait()
        if offset < self.start:  # a read further on dropped it meanwhile
            return None
        if self.end < end:
            if not self._task.cancelled():  # closed: a reader jumped ahead of this window
                self._task.result()  # the download's error
            return None  # it stopped short (no ranges here, or the file changed)
        return self._slice(offset, end)

    def _slice(self, offset: int, end: int) -> bytes:
        parts, position = [], self.start
        for chunk in self.chunks:
            chunk_end = position + len(chunk)
            if chunk_end > offset:
                parts.append(chunk[max(offset - position, 0) : end - position])
            position = chunk_end
            if position >= end:
                break
        return b"".join(parts)

    def _drop_before(self, offset: int) -> None:
        dropped = False
        while self.chunks and self.start + len(self.chunks[0]) <= offset:
            self.start += len(self.chunks.popleft())
            dropped = True
        if dropped:
            self._changed.notify()

    async def _download(self) -> None:
        async def sink(chunk: bytes) -> None:
            while self.end - self.start >= STREAM_WINDOW_BYTES:
                await self._changed.wait()
            self.chunks.append(chunk)
            self.end += len(chunk)
            self._changed.notify()

        wanted = (self.start, self.size) if self.start else None
        try:
            status = await _stream(self.fs, self.path, sink, wanted)
            if status == 200 and self.start:  # the whole file came from 0: not our bytes
                raise OSError(errno.EIO, f"the storage ignored the range of {self.path}")
        except RangeNotSatisfiable:
            self.fs.ranges_supported = False  # stopped short: the reads go another way
        finally:
            self._changed.notify()

    def close(self) -> None:
        self.chunks.clear()
        _on_loop_of(self._task, self._task.cancel)


class CS3File(AbstractBufferedFile):
    """A file of ``cs3://`` opened for reading (``rb``) or writing (``wb``, ``ab``, ``xb``).

    A write goes to a spool first and is stored with one upload when the file is closed:
    readers never see a half-written file, and a failed write leaves the stored file as it
    was."""

    DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024

    def __init__(self, fs: StreamHost, path: str, mode: str = "rb", **kwargs: Any) -> None:
        self._reader: RangeReader | None = None
        self._spool: Spool | None = None
        writing = mode in ("wb", "ab", "xb")
        existing: ResourceInfo | None = None
        if writing:
            existing = sync(fs.loop, fs._prepare_write, path, "create" if mode == "xb" else "")
            if mode == "ab" and existing is not None:
                self._spool = sync(fs.loop, spooled_download, fs, path)
            else:
                self._spool = Spool()
            mode = "wb"  # the spool holds what was there: from here on it is a plain write
        super().__init__(fs, path, mode, **kwargs)
        if mode == "rb" and self.details["type"] == "directory":
            raise IsADirectoryError(errno.EISDIR, f"Is a directory: {path}", path)

    def _fetch_range(self, start: int, end: int) -> bytes:
        if self._reader is None:
            self._reader = RangeReader(self.fs, self.path, self.size)
        return sync(self.fs.loop, self._reader.read, start, end)

    def _initiate_upload(self) -> None:
        pass

    def write(self, data: Any) -> int:
        """Straight into the spool (fsspec's buffer would copy every byte once more)."""
        if self._spool is None or self.mode != "wb":
            return super().write(data)
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if self.forced:
            raise ValueError("This file has been force-flushed, can only close")
        written = self._spool.write(data)
        self.loc += written
        return written

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._spool is not None
        self._spool.write(self.buffer.getbuffer())
        if final:
            # Checked again now: someone may have taken the lock since the file was opened.
            sync(self.fs.loop, upload_file, self.fs, self.path, self._spool, None, False)
        return True

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._spool is not None:
                self._spool.close()
                self._spool = None

    def discard(self) -> None:
        """Forget what was written (nothing is stored)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self.buffer = None
        self.closed = True
