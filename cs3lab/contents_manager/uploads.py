"""JupyterLab uploads files larger than 15 MB in numbered chunks (1, 2, ..., -1 for the last).
CS3 has no append, so the chunks are staged and stored with one upload when the last chunk
arrives: until then the stored file is untouched.

The chunks wait in a :class:`~cs3lab.fs.spool.Spool` (in memory within the process's spool
budget, else in a temporary file), and the last one hands that spool itself to the upload:
the content is never copied whole once more. What all uploads in progress may hold together
is bounded (``max_total_bytes``), as is each upload (``max_bytes``).
"""

from __future__ import annotations

import asyncio
import errno
import time
from dataclasses import dataclass, field

from tornado.web import HTTPError

from ..fs.spool import MemoryBudget, Spool, on_spool

STALE_AFTER_SECONDS = 3600.0


@dataclass
class StagedUpload:
    spool: Spool
    size: int = 0  # the bytes accepted so far (written, or being written, to the spool)
    next_chunk: int = 1
    touched: float = field(default_factory=time.monotonic)
    room: int | None = None  # bytes left in the storage's quota when the upload began
    writing: asyncio.Lock = field(default_factory=asyncio.Lock)  # chunks land in order


def check_chunk(chunk: object) -> int | None:
    """The ``chunk`` of a save: None (a whole file), or a chunk number 1, 2, ... or -1 (the
    last); 400 for anything else (a string, a fraction, a boolean)."""
    if chunk is None:
        return None
    if isinstance(chunk, int) and not isinstance(chunk, bool) and (chunk >= 1 or chunk == -1):
        return chunk
    raise HTTPError(
        400,
        f"Invalid 'chunk' {chunk!r}: a chunked upload numbers its chunks 1, 2, ... and the last "
        "one -1. Nothing was written.",
    )


class ChunkStager:
    """The chunked uploads in progress of one server (one user)."""

    def __init__(
        self, max_bytes: int, max_total_bytes: int, budget: MemoryBudget | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.max_total_bytes = max_total_bytes
        self._budget = budget
        self._staged: dict[str, StagedUpload] = {}
        # Uploads refused on the way, and when: their later chunks are refused too (a last
        # chunk must not be stored as if it were the whole file).
        self._stopped: dict[str, float] = {}

    async def add(
        self, path: str, chunk: int, data: bytes, room: int | None = None
    ) -> bytes | Spool | None:
        """Stage one chunk; once the last chunk (-1) arrived, the whole content: the chunk
        itself for a single-chunk upload, else the spool holding it all (the caller uploads
        it, then closes it). ``room`` (given with chunk 1): the bytes the quota leaves; an
        upload that outgrows it is stopped at the chunk that does (507), before the rest is
        sent. An upload refused on the way is dropped: nothing of it is kept."""
        self._forget_stale()
        if chunk != 1 and path in self._stopped:
            raise HTTPError(
                400,
                f"The upload of {path} was stopped before this chunk and nothing of it was "
                "kept: upload the file again.",
            )
        if chunk == -1 and path not in self._staged:  # a single-chunk upload
            return data
        if chunk == 1:
            self.drop(path)  # an upload started again replaces the one before
            self._stopped.pop(path, None)
            staged = self._staged[path] = StagedUpload(Spool(self._budget), room=room)
        else:
            staged = self._staged.get(path)
            if staged is None:
                raise HTTPError(
                    400, f"Upload of {path} out of order: chunk {chunk} came before chunk 1"
                )
            if chunk not in (-1, staged.next_chunk):
                self.stop(path)
                raise HTTPError(
                    400,
                    f"Upload of {path} out of order: got chunk {chunk}, "
                    f"expected {staged.next_chunk}",
                )
        self._check_size(path, staged, len(data))
        staged.size += len(data)
        staged.next_chunk += 1
        staged.touched = time.monotonic()
        async with staged.writing:
            try:
                await on_spool(staged.spool, staged.spool.write, data)
            except OSError as err:
                self.stop(path)
                raise HTTPError(
                    507 if err.errno in (errno.ENOSPC, errno.EDQUOT) else 500,
                    f"The upload of {path} was stopped and nothing of it was kept: this "
                    f"server could not hold it while it arrives ({err.strerror or err}). "
                    "Tell the site's operators; a smaller file may go through.",
                ) from None
            except BaseException:
                self.stop(path)
                raise
        if chunk == -1:
            return self._staged.pop(path).spool
        return None

    def _check_size(self, path: str, staged: StagedUpload, more: int) -> None:
        size = staged.size + more
        if size > self.max_bytes:
            self.stop(path)
            raise HTTPError(
                413, f"{path} is larger than the upload limit of {self.max_bytes} bytes"
            )
        others = sum(s.size for p, s in self._staged.items() if p != path)
        if others + size > self.max_total_bytes:
            self.stop(path)
            raise HTTPError(
                413,
                f"The upload of {path} was stopped and nothing of it was kept: uploads in "
                f"progress may hold {human_size(self.max_total_bytes)} together, and the "
                f"others hold {human_size(others)} already. Let them finish, then upload it "
                "again.",
            )
        if staged.room is not None and size > staged.room:
            self.stop(path)
            raise HTTPError(507, no_room_message(path, size, staged.room))

    def staged_size(self, path: str) -> int:
        return self._staged[path].size

    def staged_total(self) -> int:
        """The bytes all uploads in progress hold."""
        return sum(s.size for s in self._staged.values())

    def drop(self, path: str) -> None:
        """Forget the upload of ``path`` in progress (if any) and free what it holds."""
        staged = self._staged.pop(path, None)
        if staged is not None:
            staged.spool.close()

    def stop(self, path: str) -> None:
        """Drop the upload of ``path``, refused on the way: its later chunks are refused."""
        self.drop(path)
        self._stopped[path] = time.monotonic()

    def _forget_stale(self) -> None:
        cutoff = time.monotonic() - STALE_AFTER_SECONDS
        for path in [p for p, s in self._staged.items() if s.touched < cutoff]:
            self.drop(path)
        for path in [p for p, when in self._stopped.items() if when < cutoff]:
            del self._stopped[path]


def no_room_message(path: str, size: int, room: int) -> str:
    return (
        f"{path} does not fit: it needs {human_size(size)} or more and the storage's quota "
        f"leaves {human_size(room)}. Nothing was written: free some space (or empty the "
        "recycle bin) and try again."
    )


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")  # pragma: no cover
