"""JupyterLab uploads files larger than 15 MB in numbered chunks (1, 2, ..., -1 for the last).
CS3 has no append, so the chunks are staged in memory and stored with one upload when the
last chunk arrives: until then the stored file is untouched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tornado.web import HTTPError

STALE_AFTER_SECONDS = 3600.0


@dataclass
class StagedUpload:
    data: bytearray = field(default_factory=bytearray)
    next_chunk: int = 1
    touched: float = field(default_factory=time.monotonic)
    room: int | None = None  # bytes left in the storage's quota when the upload began


class ChunkStager:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._staged: dict[str, StagedUpload] = {}

    def add(self, path: str, chunk: int, data: bytes, room: int | None = None) -> bytes | None:
        """Stage one chunk; return the whole content once the last chunk (-1) arrived.
        ``room`` (given with chunk 1): the bytes the quota leaves; an upload that outgrows it
        is stopped at the chunk that does (507), before the rest is sent."""
        self._forget_stale()
        if chunk == -1 and path not in self._staged:  # a single-chunk upload
            return data
        if chunk == 1:
            staged = self._staged[path] = StagedUpload(room=room)
        else:
            staged = self._staged.get(path)
            if staged is None:
                raise HTTPError(
                    400, f"Upload of {path} out of order: chunk {chunk} came before chunk 1"
                )
            if chunk not in (-1, staged.next_chunk):
                self._staged.pop(path, None)
                raise HTTPError(
                    400,
                    f"Upload of {path} out of order: got chunk {chunk}, "
                    f"expected {staged.next_chunk}",
                )
        staged.data += data
        staged.next_chunk += 1
        staged.touched = time.monotonic()
        if len(staged.data) > self.max_bytes:
            self._staged.pop(path, None)
            raise HTTPError(
                413, f"{path} is larger than the upload limit of {self.max_bytes} bytes"
            )
        if staged.room is not None and len(staged.data) > staged.room:
            self._staged.pop(path, None)
            raise HTTPError(507, no_room_message(path, len(staged.data), staged.room))
        if chunk == -1:
            return bytes(self._staged.pop(path).data)
        return None

    def staged_size(self, path: str) -> int:
        return len(self._staged[path].data)

    def _forget_stale(self) -> None:
        cutoff = time.monotonic() - STALE_AFTER_SECONDS
        for path in [p for p, s in self._staged.items() if s.touched < cutoff]:
            del self._staged[path]


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
