"""The recycle bin in JupyterLab: list what was deleted, restore it, purge it."""

from .service import Deleted, RecycleService, RestoreConflict

__all__ = ["Deleted", "RecycleService", "RestoreConflict"]
