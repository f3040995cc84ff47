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


class ChunkStager:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._staged: dict[str, StagedUpload] = {}

    def add(self, path: str, chunk: int, data: bytes) -> bytes | None:
        """Stage one chunk; return the whole content once the last chunk (-1) arrived."""
        self._forget_stale()
        if chunk == -1 and path not in self._staged:  # a single-chunk upload
            return data
        if chunk == 1:
            staged = self._staged[path] = StagedUpload()
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
        if chunk == -1:
            return bytes(self._staged.pop(path).data)
        return None

    def staged_size(self, path: str) -> int:
        return len(self._staged[path].data)

    def _forget_stale(self) -> None:
        cutoff = time.monotonic() - STALE_AFTER_SECONDS
        for path in [p for p, s in self._staged.items() if s.touched < cutoff]:
            del self._staged[path]
