"""cs3lab: your CS3 storage (Reva, CERNBox, ScienceMesh) inside JupyterLab."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "cs3lab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CS3LabApp

    return [{"module": "cs3lab", "app": CS3LabApp}]


def __getattr__(name: str) -> Any:
    # `c.ServerApp.contents_manager_class = "cs3lab.CS3ContentsManager"`, imported lazily.
    if name == "CS3ContentsManager":
        from .contents_manager import CS3ContentsManager

        return CS3ContentsManager
    raise AttributeError(name)
