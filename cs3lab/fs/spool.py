"""Where the bytes of a file being written (or read back whole) wait: in memory while the
process's spool budget allows, then in an anonymous temporary file.

A write of unknown length cannot stream to the storage (Reva's decomposedfs wants an upload's
length before its first byte), so it is staged and stored with one upload at close. Staged on
disk only, every byte is written to disk twice, the spool's and the storage's; where the disk
is the bottleneck that halves a write's throughput. Memory is bounded by one budget for all
spools of the process (``CS3LAB_SPOOL_MEMORY_MB``, default :data:`DEFAULT_MEMORY_MB`): a spool
that would pass it moves to a temporary file, removed by the OS when closed, even after a
crash.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO, Any, TypeVar

MEMORY_ENV = "CS3LAB_SPOOL_MEMORY_MB"
DEFAULT_MEMORY_MB = 256
PREFIX = "cs3lab-spool-"
MIB = 1024 * 1024
# The first SMALL_PAGES pages are PAGE_BYTES each (a small file takes little memory), the
# rest LARGE_PAGE_BYTES each, backed by the OS's huge pages where it has them (madvise).
# Measured on Linux 6.18 for 100 MB: 1 MiB pages mapped at once (MAP_POPULATE) filled in
# 75 ms and unmapped in 12 ms; 8 MiB pages on huge pages, 19 ms and 1 ms.
PAGE_BYTES = MIB
SMALL_PAGES = 8
LARGE_PAGE_BYTES = 8 * MIB
_MAP = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
_HUGE = getattr(mmap, "MADV_HUGEPAGE", None)
# (A small page's memory is mapped in one call: a third less time to fill it, measured, than
# a page fault per 4 KiB.)
_SMALL_MAP = _MAP | getattr(mmap, "MAP_POPULATE", 0)
_LARGE_MAP = _MAP if _HUGE is not None else _SMALL_MAP
T = TypeVar("T")


def page_bytes(index: int) -> int:
    """The size of a spool's page number ``index``."""
    return PAGE_BYTES if index < SMALL_PAGES else LARGE_PAGE_BYTES


def page_of(offset: int) -> tuple[int, int]:
    """The page holding byte ``offset`` of a spool, and where in that page it is."""
    small = SMALL_PAGES * PAGE_BYTES
    if offset < small:
        return divmod(offset, PAGE_BYTES)
    index, start = divmod(offset - small, LARGE_PAGE_BYTES)
    return SMALL_PAGES + index, start


def pages_for(length: int) -> int:
    """How many pages hold ``length`` bytes."""
    return page_of(length - 1)[0] + 1 if length > 0 else 0


def _new_page(index: int) -> mmap.mmap:
    if index < SMALL_PAGES:
        return mmap.mmap(-1, PAGE_BYTES, flags=_SMALL_MAP)
    page = mmap.mmap(-1, LARGE_PAGE_BYTES, flags=_LARGE_MAP)
    if _HUGE is not None:
        try:
            page.madvise(_HUGE)
        except OSError:
            pass  # no transparent huge pages here: ordinary pages
    return page


class MemoryBudget:
    """The bytes all in-memory spools of the process may hold together (thread-safe: the
    mount's FUSE calls come from several threads)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0  # the most ever used at once (benchmarks and tests read it)
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> MemoryBudget:
        value = os.environ.get(MEMORY_ENV, "").strip()
        try:
            megabytes = float(value) if value else DEFAULT_MEMORY_MB
        except ValueError:
            megabytes = DEFAULT_MEMORY_MB
        return cls(max(int(megabytes * MIB), 0))

    def take(self, size: int) -> bool:
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            self.peak = max(self.peak, self.used)
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.used = max(self.used - size, 0)


BUDGET = MemoryBudget.from_environment()


class Spool:
    """A file's bytes, addressed by offset (``pread``, ``pwrite``, ``truncate``) or appended
    (``write``), then read out in chunks for an upload. Safe to use from several threads.

    In memory the bytes sit in pages (:func:`page_bytes`), each an anonymous memory map
    (zeros where nothing was written): growing never copies what is there, the budget is
    taken a page at a time, and a closed spool's memory goes back to the OS (freed heap
    memory would stay with the process, in the arena of whichever thread used it)."""

    def __init__(self, budget: MemoryBudget | None = None) -> None:
        self._budget = budget or BUDGET
        self._pages: list[mmap.mmap] | None = []
        self._file: IO[bytes] | None = None
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    @property
    def in_memory(self) -> bool:
        return self._pages is not None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``."""
        with self._lock:
            return self._pwrite(data, self._size)

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> int:
        """Write ``data`` at ``offset`` (a gap before it reads as zeros)."""
        with self._lock:
            return self._pwrite(data, offset)

    def pread(self, size: int, offset: int) -> bytes:
        with self._lock:
            if self._pages is None:
                assert self._file is not None
                return os.pread(self._file.fileno(), size, offset)
            return b"".join(self._views(offset, min(offset + size, self._size)))

    def truncate(self, length: int) -> None:
        """Cut to ``length`` bytes, or extend with zeros to it."""
        with self._lock:
            if self._pages is not None:
                if length <= self._size:
                    self._cut(length)
                    return
                if self._grow(length):
                    self._size = length
                    return
                self._to_file()
            assert self._file is not None
            os.ftruncate(self._file.fileno(), length)
            self._size = length

    def chunks(self, chunk_bytes: int) -> Iterator[bytes | memoryview]:
        """The bytes from the start, at most ``chunk_bytes`` at a time: in memory, views of
        the pages themselves (no copy: an upload from memory took 40 ms of CPU per 100 MB
        instead of 65-90); on disk, each one read on its own (call them off the event loop
        then)."""
        offset = 0
        while offset < self._size:
            chunk = self._view(chunk_bytes, offset)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def _view(self, size: int, offset: int) -> bytes | memoryview:
        with self._lock:
            if self._pages is None:
                assert self._file is not None
                return os.pread(self._file.fileno(), size, offset)
            return next(self._views(offset, min(offset + size, self._size)), b"")

    def close(self) -> None:
        with self._lock:
            if self._pages is not None:
                self._budget.give(self._held())
                self._pages = None
            if self._file is not None:
                self._file.close()
                self._file = None
            self._size = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- under self._lock ------------------------------------------------------------------

    def _pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> int:
        view = memoryview(data).cast("B")
        end = offset + len(view)
        if self._pages is not None:
            if self._grow(end):
                done = 0
                for target in self._views(offset, end):
                    target[:] = view[done : done + len(target)]
                    done += len(target)
                self._size = max(self._size, end)
                return len(view)
            self._to_file()
        assert self._file is not None
        written = os.pwrite(self._file.fileno(), view, offset)
        self._size = max(self._size, offset + written)
        return written

    def _views(self, offset: int, end: int) -> Iterator[memoryview]:
        """Views of the pages' bytes [offset, end), a piece per page (in memory only)."""
        assert self._pages is not None
        while offset < end:
            page, start = page_of(offset)
            count = min(len(self._pages[page]) - start, end - offset)
            yield memoryview(self._pages[page])[start : start + count]
            offset += count

    def _grow(self, length: int) -> bool:
        """Enough zeroed pages for ``length`` bytes, if the budget allows."""
        assert self._pages is not None
        missing = range(len(self._pages), pages_for(length))
        if not missing:
            return True
        if not self._budget.take(sum(page_bytes(index) for index in missing)):
            return False
        self._pages.extend(_new_page(index) for index in missing)
        return True

    def _held(self, first: int = 0) -> int:
        """The bytes of the pages from number ``first`` on."""
        assert self._pages is not None
        return sum(len(page) for page in self._pages[first:])

    def _cut(self, length: int) -> None:
        """Shorten to ``length`` bytes: later pages given back, the rest of the last zeroed
        (it reads as zeros if the spool grows again)."""
        assert self._pages is not None
        keep = pages_for(length)
        self._budget.give(self._held(keep))
        del self._pages[keep:]
        if keep:
            last, start = page_of(length - 1)
            end = len(self._pages[last])
            self._pages[last][start + 1 :] = bytes(end - start - 1)
        self._size = length

    def _to_file(self) -> None:
        assert self._pages is not None
        self._file = tempfile.TemporaryFile(prefix=PREFIX)
        remaining = self._size
        for page in self._pages:
            if remaining <= 0:
                break
            self._file.write(memoryview(page)[: min(remaining, len(page))])
            remaining -= len(page)
        self._file.flush()
        self._budget.give(self._held())
        self._pages = None


async def on_spool(spool: Spool, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, a call on ``spool``: at once while it is in memory, off the event
    loop once it is on disk."""
    if spool.in_memory:
        return call(*args)
    return await asyncio.to_thread(call, *args)


async def spool_chunks(spool: Spool, chunk_bytes: int) -> AsyncIterator[bytes | memoryview]:
    """A whole spool's bytes for an upload, at most ``chunk_bytes`` at a time (views of its
    pages while it is in memory, read off the event loop once it is on disk)."""
    chunks = spool.chunks(chunk_bytes)
    while True:
        chunk = await on_spool(spool, next, chunks, b"")
        if not chunk:
            return
        yield chunk
