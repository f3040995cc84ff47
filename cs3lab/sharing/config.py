"""Sharing settings (traitlets): ``c.CS3Sharing.public_link_base = "https://cern.box/s/"``."""

from __future__ import annotations

from traitlets import Enum, Unicode
from traitlets.config import LoggingConfigurable

from .roles import ROLE_SETS


class CS3Sharing(LoggingConfigurable):
    public_link_base = Unicode(
        "",
        help="Prefix of a public link's URL: the link is this followed by the link's token "
        "(e.g. 'https://cernbox.cern.ch/s/'). Default: 'https://<gateway host>/s/' "
        "('http://' when CS3Connection.tls is off), the path under which Reva's ocdav and "
        "the EFSS web UIs open links.",
    ).tag(config=True)
    role_set = Enum(
        ROLE_SETS,
        "reva-v3",
        help="Whose role definitions map viewer/editor/uploader to CS3 permissions: "
        "'reva-v3' (CERNBox, Reva v3's pkg/permissions/role.go) or 'reva-v2' (ownCloud "
        "Infinite Scale, Reva v2's pkg/conversions/role.go). Use the site's own, so shares "
        "look the same in its web UI.",
    ).tag(config=True)
    share_folder = Unicode(
        "",
        help="Folder of the user's home (a JupyterLab path) where the site mounts accepted "
        "shares, e.g. 'Shares' on a Reva v2 site with a sharesstorageprovider. Empty: the "
        "site mounts none, received shares open at their own path where that is under the "
        "user's root.",
    ).tag(config=True)

    def link_base(self, gateway: str, tls: bool) -> str:
        if self.public_link_base:
            return self.public_link_base
        host = gateway.rsplit(":", 1)[0] if gateway else "localhost"
        return f"{'https' if tls else 'http'}://{host}/s/"


def build_sharing(serverapp, contents, log):
    """The sharing service of a server whose contents manager is CS3ContentsManager (one
    channel: the contents manager's), and the hook that puts share state into listings."""
    from .service import SharingService

    settings = CS3Sharing(parent=serverapp, log=log)
    connection = contents.connection
    service = SharingService(
        contents.files,
        home=contents.home,
        role_set=settings.role_set,
        public_link_base=settings.link_base(connection.gateway, connection.tls),
        share_folder=settings.share_folder,
        places=contents.mounts,
    )
    contents.share_state = service.listing_state
    return service
