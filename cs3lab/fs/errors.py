"""CS3 errors as the built-in OSErrors that fsspec, pandas and ``open()`` callers expect."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from ..cs3 import errors as cs3

# (exception class, errno) for each CS3 error; anything else is an OSError(EIO).
_AS_OS_ERROR: list[tuple[type[cs3.CS3Error], type[OSError], int]] = [
    (cs3.NotFound, FileNotFoundError, errno.ENOENT),
    (cs3.PermissionDenied, PermissionError, errno.EACCES),
    (cs3.Locked, PermissionError, errno.EACCES),
    (cs3.Unauthenticated, PermissionError, errno.EACCES),
    (cs3.AlreadyExists, FileExistsError, errno.EEXIST),
    (cs3.Conflict, OSError, errno.EBUSY),
    (cs3.InsufficientStorage, OSError, errno.ENOSPC),
    (cs3.InvalidArgument, OSError, errno.EINVAL),
    (cs3.NotSupported, OSError, errno.EOPNOTSUPP),
    (cs3.Unavailable, ConnectionError, errno.EHOSTUNREACH),
]


def os_error(err: cs3.CS3Error, path: str) -> OSError:
    """The OSError for a CS3 error on ``path``; its message is the CS3 error's sentence."""
    for cs3_class, os_class, code in _AS_OS_ERROR:
        if isinstance(err, cs3_class):
            return os_class(code, err.message, path)
    return OSError(errno.EIO, err.message, path)


_ERRNO_OF_CLASS: list[tuple[type[OSError], int]] = [
    (FileNotFoundError, errno.ENOENT),
    (FileExistsError, errno.EEXIST),
    (PermissionError, errno.EACCES),
    (IsADirectoryError, errno.EISDIR),
    (NotADirectoryError, errno.ENOTDIR),
    (ConnectionError, errno.EHOSTUNREACH),
]


def errno_of(err: BaseException) -> int:
    """The errno a FUSE operation answers for ``err``."""
    if isinstance(err, cs3.CS3Error):
        err = os_error(err, "")
    if isinstance(err, OSError):
        if err.errno:
            return err.errno
        for cls, code in _ERRNO_OF_CLASS:
            if isinstance(err, cls):
                return code
    return errno.EIO


@contextmanager
def as_os_errors(path: str) -> Iterator[None]:
    try:
        yield
    except cs3.CS3Error as err:
        raise os_error(err, path) from None
