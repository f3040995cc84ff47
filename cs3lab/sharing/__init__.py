"""User, group and public-link shares (OCM shares plug in as one more provider).

REST handlers (handlers.py) over the SharingService (service.py) over cs3lab.cs3's typed
calls (identity.py, shares.py, links.py). Opening a public link in JupyterLab is
CS3Connection.auth_mode = "publiclink".
"""

from .config import CS3Sharing
from .service import SharingService

__all__ = ["CS3Sharing", "SharingService"]
