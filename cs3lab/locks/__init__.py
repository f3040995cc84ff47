"""One writer per file: write locks kept in the storage (native CS3 locks, or race-free marker
folders where the storage has none), edit requests and hand-over."""

from .model import APP_NAME, Holder, LockInfo, LockState
from .service import LISTING_METADATA_KEYS, LockService, is_lock_artifact

__all__ = [
    "APP_NAME",
    "LISTING_METADATA_KEYS",
    "Holder",
    "LockInfo",
    "LockService",
    "LockState",
    "is_lock_artifact",
]
