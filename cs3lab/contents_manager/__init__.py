"""Jupyter contents (files, notebooks, folders, checkpoints) stored in CS3."""

from .checkpoints import CS3Checkpoints
from .manager import CS3ContentsManager

__all__ = ["CS3Checkpoints", "CS3ContentsManager"]
