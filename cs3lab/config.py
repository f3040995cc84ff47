"""The connection to the user's CS3 site, configured with traitlets.

``c.CS3Connection.gateway = "cs3.example.org:443"`` and friends, or the ``CS3LAB_*``
environment variables (handy under JupyterHub). The secret (password, OIDC token or reva
token) is never a config value: it is read from ``secret_env`` or ``secret_file`` when needed.
"""

from __future__ import annotations

import os

from traitlets import Bool, Enum, Float, Integer, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from .cs3 import AuthConfig, CS3Client, Files, GatewayConfig, SecretSource
from .cs3.auth import AUTH_MODES
from .cs3.cache import MAX_BYTES, MAX_ENTRIES, REVALIDATE_SECONDS, MetadataCache


def _env(name: str, fallback: str = "") -> str:
    """The value of the environment variable of trait ``name`` (its ``env`` tag)."""
    return os.environ.get(CS3Connection.class_traits()[name].metadata["env"], fallback)


def _env_flag(name: str, fallback: str = "0") -> bool:
    return _env(name, fallback).lower() in ("1", "true", "yes")


class CS3Connection(LoggingConfigurable):
    """Where the CS3 site is and how to sign in to it."""

    gateway = Unicode(help="host:port of the CS3 gateway").tag(config=True, env="CS3LAB_GATEWAY")
    site_name = Unicode(help="A short name of the site shown to users (default: the gateway)").tag(
        config=True, env="CS3LAB_SITE"
    )
    tls = Bool(help="Use TLS to reach the gateway (variable: 1, true or yes)").tag(
        config=True, env="CS3LAB_TLS"
    )
    ca_file = Unicode(help="CA bundle for TLS (default: the system's roots)").tag(
        config=True, env="CS3LAB_CA_FILE"
    )
    allow_insecure_data_transfers = Bool(
        help="Send the access token in clear (http) to a CS3 data server that is not on this "
        "machine, or while the gateway is reached with TLS: only where the network between "
        "them is trusted (variable: 1, true or yes)"
    ).tag(config=True, env="CS3LAB_ALLOW_INSECURE_DATA_TRANSFERS")
    auth_mode = Enum(
        AUTH_MODES,
        help="basic (username + password), bearer (OIDC access token), token (a reva token) "
        "or publiclink (username = the link's token, secret = its password, if any)",
    ).tag(config=True, env="CS3LAB_AUTH_MODE")
    username = Unicode(help="The CS3 username").tag(config=True, env="CS3LAB_USER")
    secret_env = Unicode(
        "CS3LAB_SECRET",
        help="Environment variable holding the password / OIDC token / reva token",
    ).tag(config=True)
    secret_file = Unicode(help="File holding the secret; takes precedence over secret_env").tag(
        config=True, env="CS3LAB_SECRET_FILE"
    )
    home = Unicode(help="The CS3 path shown as JupyterLab's root; {username} is replaced").tag(
        config=True, env="CS3LAB_HOME"
    )
    storage_reports_quota = Bool(
        help="The storage's GetQuota answers a quota (variable: 1, true or yes; default: "
        "yes). Set it to false for a storage that answers the size and use of the disk it "
        "stores on instead, as Reva v3's local driver does (statfs of its root): cs3lab then "
        "says 'no quota reported' rather than show the server's disk as the user's quota"
    ).tag(config=True, env="CS3LAB_STORAGE_REPORTS_QUOTA")
    timeout = Float(60.0, help="Seconds before a single CS3 call gives up").tag(config=True)
    transfer_stall_seconds = Float(
        120.0,
        help="Seconds a file transfer (the bytes of an open, save, copy or kernel read) waits "
        "on the data server without a byte moving before it gives up with 503; 0 waits forever. "
        "Time this side spends (a slow reader or writer) does not count",
    ).tag(config=True)

    revalidate_seconds = Float(
        REVALIDATE_SECONDS,
        help="Seconds a Stat or a folder listing (with its lock and share state) may be shown "
        "again without asking the site: JupyterLab's polls of open documents and file browsers "
        "are answered from this user's metadata cache, and what changed elsewhere (another "
        "user, server or application) shows after this at the latest. The user's own changes "
        "show at once; saves, locks and other decisions always ask the site. 0 turns the cache "
        "off (variable: CS3LAB_REVALIDATE_SECONDS)",
    ).tag(config=True, env="CS3LAB_REVALIDATE_SECONDS")
    metadata_cache_entries = Integer(
        MAX_ENTRIES, help="At most this many Stats and listings in a user's metadata cache"
    ).tag(config=True)
    metadata_cache_mb = Integer(
        MAX_BYTES // 2**20,
        help="At most this many MiB of metadata (encoded size) in a user's metadata cache",
    ).tag(config=True)

    @default("revalidate_seconds")
    def _revalidate_seconds_default(self) -> float:
        return float(_env("revalidate_seconds", str(REVALIDATE_SECONDS)))

    @validate("revalidate_seconds")
    def _validate_revalidate_seconds(self, proposal) -> float:
        if proposal["value"] < 0:
            raise ValueError("CS3Connection.revalidate_seconds cannot be negative")
        return proposal["value"]

    @default("gateway")
    def _gateway_default(self) -> str:
        return _env("gateway")

    @default("site_name")
    def _site_name_default(self) -> str:
        return _env("site_name") or self.gateway

    @default("tls")
    def _tls_default(self) -> bool:
        return _env_flag("tls")

    @default("ca_file")
    def _ca_file_default(self) -> str:
        return _env("ca_file")

    @default("allow_insecure_data_transfers")
    def _allow_insecure_data_transfers_default(self) -> bool:
        return _env_flag("allow_insecure_data_transfers")

    @default("storage_reports_quota")
    def _storage_reports_quota_default(self) -> bool:
        return _env_flag("storage_reports_quota", "1")

    @default("auth_mode")
    def _auth_mode_default(self) -> str:
        return _env("auth_mode", "basic")

    @default("username")
    def _username_default(self) -> str:
        return _env("username")

    @default("secret_file")
    def _secret_file_default(self) -> str:
        return _env("secret_file")

    @default("home")
    def _home_default(self) -> str:
        return _env("home", "/home/{username}")

    @validate("home")
    def _validate_home(self, proposal) -> str:
        value = proposal["value"]
        if not value.startswith("/"):
            raise ValueError(f"CS3Connection.home must be an absolute CS3 path, not {value!r}")
        return value

    @property
    def home_path(self) -> str:
        return self.home.format(username=self.username).rstrip("/") or "/"

    def open(self) -> Files:
        """Open the (one) channel to the gateway; the caller closes it."""
        gateway = GatewayConfig(
            self.gateway,
            self.tls,
            self.ca_file,
            self.timeout,
            allow_insecure_data_transfers=self.allow_insecure_data_transfers,
            transfer_stall_seconds=self.transfer_stall_seconds,
        )
        secret = SecretSource(env=self.secret_env, file=self.secret_file)
        cache = MetadataCache(
            self.revalidate_seconds, self.metadata_cache_entries, self.metadata_cache_mb * 2**20
        )
        client = CS3Client(gateway, AuthConfig(self.auth_mode, self.username, secret), cache)
        return Files(client)
