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

import mmap
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import IO

MEMORY_ENV = "CS3LAB_SPOOL_MEMORY_MB"
DEFAULT_MEMORY_MB = 256
PREFIX = "cs3lab-spool-"
MIB = 1024 * 1024
PAGE_BYTES = MIB
# A page's memory is mapped in one call (a third less time to fill it, measured, than a
# page fault per 4 KiB) where the OS can.
_MAP_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)


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

    In memory the bytes sit in pages of :data:`PAGE_BYTES`, each an anonymous memory map
    (zeros where nothing was written): growing never copies what is there, the budget is
    taken a page at a time, and a closed spool's memory goes back to the OS (freed heap
    memory would stay with the process, in the arena of whichever FUSE thread used it)."""

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
            end = min(offset + size, self._size)
            parts = []
            while offset < end:
                page, start = divmod(offset, PAGE_BYTES)
                count = min(PAGE_BYTES - start, end - offset)
                parts.append(memoryview(self._pages[page])[start : start + count])
                offset += count
            return b"".join(parts)

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

    def chunks(self, chunk_bytes: int) -> Iterator[bytes]:
        """The bytes from the start, ``chunk_bytes`` at a time (each read on its own: call
        them off the event loop when the spool is on disk)."""
        offset = 0
        while offset < self._size:
            chunk = self.pread(chunk_bytes, offset)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        with self._lock:
            if self._pages is not None:
                self._budget.give(len(self._pages) * PAGE_BYTES)
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
                while done < len(view):
                    page, start = divmod(offset + done, PAGE_BYTES)
                    count = min(PAGE_BYTES - start, len(view) - done)
                    self._pages[page][start : start + count] = view[done : done + count]
                    done += count
                self._size = max(self._size, end)
                return len(view)
            self._to_file()
        assert self._file is not None
        written = os.pwrite(self._file.fileno(), view, offset)
        self._size = max(self._size, offset + written)
        return written

    def _grow(self, length: int) -> bool:
        """Enough zeroed pages for ``length`` bytes, if the budget allows."""
        assert self._pages is not None
        missing = -(-length // PAGE_BYTES) - len(self._pages)
        if missing <= 0:
            return True
        if not self._budget.take(missing * PAGE_BYTES):
            return False
        self._pages.extend(mmap.mmap(-1, PAGE_BYTES, flags=_MAP_FLAGS) for _ in range(missing))
        return True

    def _cut(self, length: int) -> None:
        """Shorten to ``length`` bytes: later pages given back, the rest of the last zeroed
        (it reads as zeros if the spool grows again)."""
        assert self._pages is not None
        keep = -(-length // PAGE_BYTES)
        self._budget.give((len(self._pages) - keep) * PAGE_BYTES)
        del self._pages[keep:]
        start = length % PAGE_BYTES
        if start and keep:
            self._pages[-1][start:] = bytes(PAGE_BYTES - start)
        self._size = length

    def _to_file(self) -> None:
        assert self._pages is not None
        self._file = tempfile.TemporaryFile(prefix=PREFIX)
        remaining = self._size
        for page in self._pages:
            self._file.write(memoryview(page)[: min(remaining, PAGE_BYTES)])
            remaining -= PAGE_BYTES
            if remaining <= 0:
                break
        self._file.flush()
        self._budget.give(len(self._pages) * PAGE_BYTES)
        self._pages = None
