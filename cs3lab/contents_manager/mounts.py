"""Places beside the home: folders of JupyterLab's root whose entries live elsewhere in CS3.

The file browser's root is the user's CS3 home. Some of what a user can reach is not under
it: the project spaces of their site (CS3 ListStorageSpaces) and the shares other sites sent
them (OCM, mounted by the site at ``/ocm/<share id>``). Each kind is a *place*, a virtual
folder of the root (``Spaces``, ``Federated shares``) whose entries are *mounts*: a name in
the place and the CS3 path it stands for. ``Spaces/common/data.csv`` is then
``/projects/common/data.csv``, and everything the contents manager does (open, save, list,
checkpoints, locks) works on it unchanged.

A place is listed by one CS3 call (its lister), made when the place is listed and when a path
names a mount not known yet; resolving a path costs no call. A place without mounts is not
shown. Places are data: a capability registers one with :meth:`MountTable.add_place`.

The kernels see the same places: the server hands its table's :meth:`MountTable.snapshot` to
the FUSE mount and ``cs3://`` (cs3lab.fs.places), where ``MountTable.from_snapshot`` rebuilds
it, so ``Spaces/common/data.csv`` is the same file in a kernel as in the file browser.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..cs3.errors import CS3Error, NotFound, PermissionDenied

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mount:
    name: str  # its name in the place (unique there)
    cs3_path: str  # the CS3 path it stands for
    is_dir: bool
    writable: bool
    mtime: float
    kind: str  # "space", "ocm": what the file browser tells the user it is
    lockable: bool = True  # may cs3lab take write locks below it
    # A write below this mount failed: the CS3 error to raise (e.g. a federated site's
    # refusal explained); None: the contents manager's own explanation.
    explain_write_error: Callable[[CS3Error], CS3Error] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # for the file browser (owner, role)


Lister = Callable[[], Awaitable[list[Mount]]]


@dataclass
class Place:
    name: str
    lister: Lister
    description: str
    mounts: dict[str, Mount] | None = None
    loaded_at: float = 0.0
    failed: bool = False  # the last listing failed (logged once as a warning)


@dataclass(frozen=True)
class Resolved:
    """Where an API path under a place points: the place itself (mount None), or a mount
    and the rest of the path below it."""

    place: Place
    mount: Mount | None
    rest: str

    @property
    def cs3_path(self) -> str:
        if self.mount is None:
            raise PermissionDenied(
                f"{self.place.name} is not a folder of your storage: it shows "
                f"{self.place.description}. Open one of them to work inside it."
            )
        return "/".join(p for p in (self.mount.cs3_path.rstrip("/"), self.rest) if p)


def unique_names(mounts: list[Mount], qualifier: Callable[[Mount], str]) -> list[Mount]:
    """The mounts, renamed where two share a name: ``name (qualifier)``, then a number."""
    counts: dict[str, int] = {}
    for m in mounts:
        counts[m.name] = counts.get(m.name, 0) + 1
    taken: set[str] = set()
    out = []
    for m in mounts:
        name = m.name if counts[m.name] == 1 else f"{m.name} ({qualifier(m)})"
        base, n = name, 2
        while name in taken:
            name, n = f"{base} {n}", n + 1
        taken.add(name)
        out.append(m if name == m.name else _renamed(m, name))
    return out


def read_only_error(mount: Mount) -> PermissionDenied:
    """The refusal of a write below ``mount``, a share received read-only."""
    return PermissionDenied(
        f"Permission denied: {mount.name} is shared with you read-only. Nothing was "
        "written: make a copy to change it."
    )


def _below(cs3_path: str, root: str) -> bool:
    root = root.rstrip("/")
    return cs3_path == root or cs3_path.startswith(root + "/")


def _renamed(mount: Mount, name: str) -> Mount:
    return replace(mount, name=name)


class MountTable:
    """The places of one user, their mounts (cached), and path resolution."""

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self.ttl = ttl_seconds
        self._places: dict[str, Place] = {}
        self._observers: list[Callable[[], None]] = []

    def on_change(self, observer: Callable[[], None]) -> None:
        """Call ``observer`` (no arguments, not awaited) after each listing of a place."""
        self._observers.append(observer)

    def _changed(self) -> None:
        for observer in self._observers:
            observer()

    def add_place(self, name: str, lister: Lister, description: str) -> None:
        if "/" in name or not name or name.startswith("."):
            raise ValueError(f"A place needs a plain visible folder name, not {name!r}")
        self._places[name] = Place(name, lister, description)

    def place(self, name: str) -> Place | None:
        return self._places.get(name)

    def invalidate(self, name: str | None = None) -> None:
        for place in self._places.values():
            if name is None or place.name == name:
                place.loaded_at = 0.0

    def update(self, name: str, mounts: list[Mount]) -> None:
        """Mounts a capability just listed itself (saves the place its own listing call)."""
        place = self._places.get(name)
        if place is not None:
            place.mounts = {m.name: m for m in mounts}
            place.loaded_at, place.failed = time.monotonic(), False
            self._changed()

    async def load(self, place: Place, *, force: bool = False) -> dict[str, Mount]:
        fresh = place.mounts is not None and time.monotonic() - place.loaded_at < self.ttl
        if force or not fresh:
            try:
                mounts = await place.lister()
            except CS3Error as err:
                # Keep showing what was there (nothing the first time); try again after ttl.
                level = logging.DEBUG if place.failed else logging.WARNING
                log.log(level, "Could not list %s: %s", place.name, err.message)
                place.failed, place.loaded_at = True, time.monotonic()
                place.mounts = place.mounts or {}
                return place.mounts
            place.failed = False
            place.mounts = {m.name: m for m in mounts}
            place.loaded_at = time.monotonic()
            self._changed()
        return place.mounts or {}

    async def visible_places(self) -> list[Place]:
        """The places to show in the root listing: those with at least one mount (a place
        whose lister fails has none, and the home still lists)."""
        return [place for place in self._places.values() if await self.load(place)]

    def resolve(self, api_path: str) -> Resolved | None:
        """None for a path of the home; else the place and mount it names (404 for a name
        the place does not hold)."""
        first, _, rest = api_path.partition("/")
        place = self._places.get(first)
        if place is None:
            return None
        if not rest:
            return Resolved(place, None, "")
        name, _, below = rest.partition("/")
        mount = (place.mounts or {}).get(name)
        if mount is None:
            raise NotFound(f"No such file or directory: {api_path}")
        return Resolved(place, mount, below)

    async def ensure(self, api_path: str) -> None:
        """Load the place a path names, again if the mount it names is not known yet (a share
        accepted or a space created since the last listing)."""
        first, _, rest = api_path.partition("/")
        place = self._places.get(first)
        if place is None:
            return
        name = rest.partition("/")[0]
        mounts = await self.load(place)
        if name and name not in mounts:
            await self.load(place, force=True)

    def _containing(self, cs3_path: str) -> tuple[Place, Mount] | None:
        for place in self._places.values():
            for mount in (place.mounts or {}).values():
                if _below(cs3_path, mount.cs3_path):
                    return place, mount
        return None

    def api_path(self, cs3_path: str) -> str | None:
        """The JupyterLab path of a CS3 path under one of the known mounts, or None."""
        found = self._containing(cs3_path)
        if found is None:
            return None
        place, mount = found
        return f"{place.name}/{mount.name}{cs3_path[len(mount.cs3_path.rstrip('/')) :]}"

    def mount_of(self, cs3_path: str) -> Mount | None:
        found = self._containing(cs3_path)
        return found[1] if found else None

    def read_only_mount(self, cs3_path: str) -> Mount | None:
        """The share received read-only that a CS3 path is below, where only such shares
        reach it (None: the path is the user's own, or some mount lets them write it)."""
        reaching = [
            mount
            for place in self._places.values()
            for mount in (place.mounts or {}).values()
            if _below(cs3_path, mount.cs3_path)
        ]
        if reaching and not any(mount.writable for mount in reaching):
            return reaching[0]
        return None

    def refuse_read_only(self, cs3_path: str) -> None:
        """PermissionDenied (nothing written) for a CS3 path below a share received
        read-only, also where the storage would not refuse the write itself (Reva v3's local
        driver enforces no share permissions). The services that write by CS3 path ask this
        first; the contents manager asks by API path."""
        mount = self.read_only_mount(cs3_path)
        if mount is not None:
            raise read_only_error(mount)

    def unlockable(self, cs3_path: str) -> str | None:
        """Why cs3lab takes no write lock on ``cs3_path`` (a file of a share received
        read-only: a lock marker would be a write into its owner's folder, and would lock
        the owner out; a mount that is not lockable: a file another site shares), or None;
        a LockService's ``unlockable``."""
        read_only = self.read_only_mount(cs3_path)
        if read_only is not None:
            return (
                f"{posixpath.basename(cs3_path)} is shared with you read-only "
                f"({read_only.name}): you can read it but not edit it, so cs3lab takes no "
                "write lock on it. Make a copy to change it."
            )
        mount = self.mount_of(cs3_path)
        if mount is None or mount.lockable:
            return None
        # A shared file is its mount: its CS3 path ends in the share's id, not its name.
        name = mount.name if cs3_path == mount.cs3_path else posixpath.basename(cs3_path)
        return (
            f"{name} is shared with you by another site: cs3lab takes "
            "no write lock there. Your saves are still checked against the stored version, so "
            "a save over a newer change is refused."
        )

    # -- the same places elsewhere (kernels) ------------------------------------------------

    def snapshot(self, shown: bool = True) -> dict[str, Any]:
        """What the table knows now, as JSON-able data (no CS3 call): each place's
        description and mounts, and whether the root listing shows the places."""
        return {
            "shown": shown,
            "places": [
                {
                    "name": place.name,
                    "description": place.description,
                    "mounts": [
                        {
                            "name": m.name,
                            "cs3_path": m.cs3_path,
                            "is_dir": m.is_dir,
                            "writable": m.writable,
                            "kind": m.kind,
                            "lockable": m.lockable,
                        }
                        for m in (place.mounts or {}).values()
                    ],
                }
                for place in self._places.values()
            ],
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> MountTable:
        """A table holding exactly a :meth:`snapshot` (its listers list nothing new)."""
        table = cls(ttl_seconds=float("inf"))
        for entry in data.get("places", []):
            mounts = [
                Mount(
                    name=str(m["name"]),
                    cs3_path=str(m["cs3_path"]),
                    is_dir=bool(m["is_dir"]),
                    writable=bool(m["writable"]),
                    mtime=0.0,
                    kind=str(m.get("kind", "")),
                    lockable=bool(m.get("lockable", True)),
                )
                for m in entry.get("mounts", [])
            ]
            table.add_place(entry["name"], _constant(mounts), str(entry.get("description", "")))
            table.update(entry["name"], mounts)
        return table

    def places(self) -> list[Place]:
        return list(self._places.values())


def _constant(mounts: list[Mount]) -> Lister:
    async def lister() -> list[Mount]:
        return mounts

    return lister
