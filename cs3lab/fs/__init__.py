"""The kernels' view of CS3: the fsspec ``cs3://`` filesystem, the FUSE mount that gives
kernels relative paths, and what cs3lab hands to the kernels it starts."""

from .filesystem import CS3FileSystem

__all__ = ["CS3FileSystem"]
