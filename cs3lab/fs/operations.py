"""The FUSE operations of the kernels' mount: the user's CS3 home as a local folder.

fsspec's FUSE bridge (``fsspec.fuse``, on fusepy and libfuse) over :class:`CS3FileSystem`,
with operations of our own where fsspec's ``FUSEr`` is too thin for ordinary programs:

* writes go to a temporary file (random offsets, ``r+``, truncation all work) and are stored
  with one streamed upload when the program closes (or fsyncs) the file: a new version in the
  storage, like a save in JupyterLab; a file locked by someone else cannot be opened for
  writing (EACCES, so Python raises PermissionError), checked again at the upload;
* a new file exists for its creator from ``create`` on, without an empty upload first;
* rename, chmod/utime (accepted and ignored: CS3 has no modes) and statfs, which tools call;
* the extended attribute ``user.cs3lab.lock``: who holds a file's lock, since when.

Every CS3 error becomes the errno of the matching built-in exception (cs3lab.fs.errors).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

from fsspec.asyn import sync
from fsspec.fuse import FUSEr

try:
    from fuse import FuseOSError
except (ImportError, OSError):  # no libfuse: the mount is not available, the rest still is

    class FuseOSError(OSError):  # type: ignore[no-redef]
        def __init__(self, code: int) -> None:
            super().__init__(code, os.strerror(code))


from .errors import errno_of
from .filesystem import CS3FileSystem
from .spool import Spool
from .streams import spooled_download, upload_file

log = logging.getLogger(__name__)
READ_BLOCK = 8 * 1024 * 1024
READ_BLOCKS_KEPT = 3
# `os.getxattr(path, LOCK_XATTR)`: who holds the file's write lock (the mount can only answer
# EACCES to a write, which names nobody).
LOCK_XATTR = "user.cs3lab.lock"
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR


class WriteHandle:
    """A file open for writing: its bytes in a spool until they are stored."""

    def __init__(self, path: str, spool: Spool, dirty: bool) -> None:
        self.path = path
        self.spool = spool
        self.dirty = dirty
        self.lock = threading.Lock()

    def size(self) -> int:
        return self.spool.size


class ReadHandle:
    def __init__(self, path: str, file: Any) -> None:
        self.path = path
        self.file = file
        self.lock = threading.Lock()


class CS3Operations(FUSEr):
    """The FUSE operations over a (synchronous) CS3FileSystem rooted at the user's home."""

    def __init__(self, fs: CS3FileSystem, root: str = "") -> None:
        super().__init__(fs, root)
        self.root = root.rstrip("/")
        self.handles: dict[int, WriteHandle | ReadHandle] = {}
        self.pending: dict[str, WriteHandle] = {}  # created, not stored yet: path -> handle
        self._next = 1
        self._guard = threading.Lock()
        # name -> entry of the last folder listings read (see _listed)
        self._indexes: dict[str, tuple[list, dict[str, dict]]] = {}
        self.uid, self.gid = os.getuid(), os.getgid()

    def __call__(self, op: str, *args: Any) -> Any:
        """Every operation: CS3 errors and OSErrors answered as their errno."""
        try:
            return super().__call__(op, *args)
        except FuseOSError:
            raise
        except (OSError, ValueError) as err:
            code = errno_of(err) if isinstance(err, OSError) else errno.EINVAL
            if code not in (errno.ENOENT, errno.EEXIST):
                log.info("%s %s: %s", op, args[0] if args else "", err)
            raise FuseOSError(code) from None
        except Exception:
            log.exception("%s %s failed", op, args[0] if args else "")
            raise FuseOSError(errno.EIO) from None

    # -- paths and handles ----------------------------------------------------------------

    def _fs_path(self, path: str) -> str:
        inner = path.strip("/")
        if not self.root:
            return inner
        return f"{self.root}/{inner}" if inner else self.root

    def _add(self, handle: WriteHandle | ReadHandle) -> int:
        with self._guard:
            fh = self._next
            self._next += 1
            self.handles[fh] = handle
            if isinstance(handle, WriteHandle):
                self.pending.setdefault(handle.path, handle)
            return fh

    def _open_read(self, name: str) -> Any:
        """``name`` opened for reading. The kernel's reads come from several FUSE threads, not
        always in order: fixed blocks (a few kept) serve them, not a cache of one window."""
        return self.fs.open(
            name,
            "rb",
            block_size=READ_BLOCK,
            cache_type="blockcache",
            cache_options={"maxblocks": READ_BLOCKS_KEPT},
        )

    def _run(self, coroutine: Callable, *args: Any) -> Any:
        return sync(self.fs.loop, coroutine, *args)

    # -- metadata -------------------------------------------------------------------------

    def _attrs(self, kind: str, size: int, mtime: float, writable: bool = True) -> dict:
        if kind == "directory":
            mode = stat.S_IFDIR | 0o755
        else:
            mode = stat.S_IFREG | (0o644 if writable else 0o444)
        return {
            "st_mode": mode,
            "st_nlink": 2 if kind == "directory" else 1,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_blksize": READ_BLOCK,
            "st_uid": self.uid,
            "st_gid": self.gid,
            "st_mtime": mtime,
            "st_ctime": mtime,
            "st_atime": mtime,
        }

    def _listed(self, name: str) -> dict | None:
        """The entry of ``name`` in its folder's listing when the file system still holds
        that listing (``ls -l``, ``os.scandir`` + ``stat``: one lookup per entry right after
        the readdir), read here in the FUSE thread: no call into the event loop, no CS3
        call, and a dict look-up instead of a scan of the listing. The same freshness as
        ``fs.info``, which answers from the same cache."""
        parent = self.fs._parent(name)
        if not name or parent == name:
            return None
        listing = self.fs.dircache.get(parent)  # None when absent or expired
        if listing is None:
            self._indexes.pop(parent, None)
            return None
        index = self._indexes.get(parent)
        if index is None or index[0] is not listing:
            index = (listing, {entry["name"]: entry for entry in listing})
            if len(self._indexes) >= 64:
                self._indexes.clear()
            self._indexes[parent] = index
        return index[1].get(name)

    def getattr(self, path: str, fh: int | None = None) -> dict:
        name = self._fs_path(path)
        pending = self.pending.get(name)
        if pending is not None:
            return self._attrs("file", pending.size(), time.time())
        info = self._listed(name) or self.fs.info(name)
        return self._attrs(info["type"], info["size"], info["mtime"], info["writable"])

    def readdir(self, path: str, fh: int) -> list[str]:
        name = self._fs_path(path)
        names = [os.path.basename(e["name"]) for e in self.fs.ls(name, detail=True)]
        prefix = f"{name}/" if name else ""
        for created in list(self.pending):
            if created.startswith(prefix) and "/" not in created[len(prefix) :]:
                base = created[len(prefix) :]
                if base not in names:
                    names.append(base)
        return [".", "..", *names]

    def statfs(self, path: str) -> dict:
        # CS3 quota is not asked for here: a large, mostly free file system.
        blocks = 1 << 30
        return {
            "f_bsize": 4096,
            "f_frsize": 4096,
            "f_blocks": blocks,
            "f_bfree": blocks,
            "f_bavail": blocks,
            "f_files": 1 << 20,
            "f_ffree": 1 << 20,
            "f_namemax": 255,
        }

    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        if name != LOCK_XATTR:
            raise FuseOSError(errno.ENODATA)
        label = self._run(self.fs._lock_label, self._fs_path(path))
        if label is None:
            raise FuseOSError(errno.ENODATA)
        return label.encode()

    def listxattr(self, path: str) -> list[str]:
        return []

    def chmod(self, path: str, mode: int) -> int:
        return 0  # CS3 has no POSIX modes

    def chown(self, path: str, uid: int, gid: int) -> int:
        return 0

    def utimens(self, path: str, times: tuple | None = None) -> int:
        return 0

    # -- folders --------------------------------------------------------------------------

    def mkdir(self, path: str, mode: int) -> int:
        self.fs.mkdir(self._fs_path(path), create_parents=False)
        return 0

    def rmdir(self, path: str) -> int:
        self.fs.rmdir(self._fs_path(path))
        return 0

    def unlink(self, path: str) -> int:
        self.fs.rm_file(self._fs_path(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._run(self.fs._mv_file, self._fs_path(old), self._fs_path(new))
        return 0

    # -- files ----------------------------------------------------------------------------

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        name = self._fs_path(path)
        self._run(self.fs._prepare_write, name, "")
        return self._add(WriteHandle(name, Spool(), dirty=True))

    def open(self, path: str, flags: int) -> int:
        name = self._fs_path(path)
        if not flags & WRITE_FLAGS:
            pending = self.pending.get(name)
            if pending is not None:  # read back what this mount is writing
                return self._add(ReadHandle(name, None))
            return self._add(ReadHandle(name, self._open_read(name)))
        info = self._run(self.fs._prepare_write, name, "")
        if flags & os.O_TRUNC or info is None:
            return self._add(WriteHandle(name, Spool(), dirty=True))
        spool = self._run(spooled_download, self.fs, name)
        return self._add(WriteHandle(name, spool, dirty=False))

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        handle = self.handles[fh]
        with handle.lock:
            if isinstance(handle, WriteHandle):
                return handle.spool.pread(size, offset)
            if handle.file is None:
                pending = self.pending.get(handle.path)
                if pending is None:
                    handle.file = self._open_read(handle.path)
                else:
                    return pending.spool.pread(size, offset)
            handle.file.seek(offset)
            return handle.file.read(size)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        handle = self.handles[fh]
        if not isinstance(handle, WriteHandle):
            raise FuseOSError(errno.EBADF)
        with handle.lock:
            written = handle.spool.pwrite(data, offset)
            handle.dirty = True
        return written

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        name = self._fs_path(path)
        handle = self.handles.get(fh) if fh is not None else self.pending.get(name)
        if isinstance(handle, WriteHandle):
            with handle.lock:
                handle.spool.truncate(length)
                handle.dirty = True
            return 0
        # `truncate` of a file nobody has open: store it at its new length.
        info = self._run(self.fs._prepare_write, name, "")
        if length == 0 or info is None:
            spool = Spool()
        else:
            spool = self._run(spooled_download, self.fs, name)
        try:
            spool.truncate(length)
            self._store(WriteHandle(name, spool, dirty=True))
        finally:
            spool.close()
        return 0

    def _store(self, handle: WriteHandle) -> None:
        """Upload the handle's bytes (a new version), checking the lock again."""
        with handle.lock:
            if not handle.dirty:
                return
            self._run(upload_file, self.fs, handle.path, handle.spool, None, False)
            handle.dirty = False

    def flush(self, path: str, fh: int) -> int:
        handle = self.handles.get(fh)
        if isinstance(handle, WriteHandle):
            self._store(handle)
            with self._guard:
                if self.pending.get(handle.path) is handle:
                    del self.pending[handle.path]
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        return self.flush(path, fh)

    def release(self, path: str, fh: int) -> int:
        with self._guard:
            handle = self.handles.pop(fh, None)
            if isinstance(handle, WriteHandle) and self.pending.get(handle.path) is handle:
                del self.pending[handle.path]
        if isinstance(handle, WriteHandle):
            try:
                self._store(handle)  # normally done at flush (close) already
            except Exception as err:
                log.warning("storing %s failed at release: %s", handle.path, err)
            handle.spool.close()
        elif isinstance(handle, ReadHandle) and handle.file is not None:
            handle.file.close()
        return 0
