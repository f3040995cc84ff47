"""The kernels' FUSE mount of the user's CS3 home: started with the server, gone with it.

The mount runs in a child process (``python -m cs3lab.fs.mount MOUNTPOINT FSNAME``: pyfuse3
on asyncio over ``cs3://``, see :mod:`cs3lab.fs.operations`), signed in with the kernels' token
file (:mod:`cs3lab.fs.kernels`), never with the server's password. Its mount point is in a
folder of this Unix user only (:mod:`cs3lab.fs.private`: ``$XDG_RUNTIME_DIR/cs3lab-mounts``,
else ``<tmp>/cs3lab-mounts-<uid>``), and it is ready when /proc/self/mountinfo shows a FUSE
mount there with this mount's own source name (``cs3lab-<random>``): a file system mounted
there by anyone else is refused, never used. The server stops it on
shutdown (SIGTERM: libfuse unmounts); the child also dies with the server (Linux's
parent-death signal, and a watch on its parent) and, if it was killed outright, the next server
start lazily unmounts what dead servers left (``fusermount -u -z``). Where FUSE is missing
(no /dev/fuse, no fusermount, no libfuse3 or pyfuse3) or the mount fails, the server says so
once (at once, not after a wait) and kernels start in the scratch folder: ``cs3://`` works
either way.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import importlib.util
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .private import NotPrivate, make_private, user_folder

log = logging.getLogger(__name__)

MOUNTS_FOLDER = "cs3lab-mounts"
FSNAME_PREFIX = "cs3lab"
READY_SECONDS = 30.0
STOP_SECONDS = 10.0
PR_SET_PDEATHSIG = 1
READ_AHEAD_KB = 1024


def fusermount() -> str | None:
    return shutil.which("fusermount3") or shutil.which("fusermount")


def unavailable_reason() -> str | None:
    """Why FUSE cannot be used on this machine, or None when it can. The device is
    /dev/fuse unless CS3LAB_FUSE_DEVICE names another path (the tests name a missing one)."""
    device = os.environ.get("CS3LAB_FUSE_DEVICE", "/dev/fuse")
    if not os.path.exists(device):
        return f"there is no {device}"
    if fusermount() is None:
        return "fusermount is not installed (Debian: apt-get install fuse3)"
    if ctypes.util.find_library("fuse3") is None:
        return "libfuse3 is not installed (Debian: apt-get install fuse3)"
    if importlib.util.find_spec("pyfuse3") is None:
        return (
            "pyfuse3 is not installed (pip install 'cs3lab[mount]'; "
            "it builds against libfuse3-dev, Debian: apt-get install libfuse3-dev)"
        )
    return None


def mounts_dir() -> Path:
    """This user's folder of mount points (not created here: :meth:`KernelMount.start`)."""
    return user_folder(MOUNTS_FOLDER)


@dataclass(frozen=True)
class MountEntry:
    """One line of /proc/self/mountinfo."""

    point: str
    device: str  # "major:minor"
    fstype: str  # "fuse.cs3" for cs3lab's mounts
    source: str  # FUSE's fsname


def parse_mountinfo(text: str) -> list[MountEntry]:
    """The entries of a mountinfo text (proc(5)): "ID PARENT MAJ:MIN ROOT POINT OPTIONS
    [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS", with space, tab, newline and backslash in
    paths written as octal escapes."""
    found = []
    for line in text.splitlines():
        mount, separator, filesystem = line.partition(" - ")
        fields, tail = mount.split(), filesystem.split()
        if separator and len(fields) > 4 and len(tail) > 1:
            found.append(MountEntry(_unescape(fields[4]), fields[2], tail[0], _unescape(tail[1])))
    return found


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_entries() -> list[MountEntry]:
    """The mounts this process sees, in mount order (a later one hides an earlier one)."""
    try:
        raw = Path("/proc/self/mountinfo").read_bytes()
    except OSError:
        return []
    return parse_mountinfo(raw.decode("utf-8", "surrogateescape"))


def mount_at(point: Path) -> MountEntry | None:
    """What is mounted at ``point`` (the topmost mount), or None."""
    # mountinfo names the real path: resolve links above the point (never the point itself)
    target = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(point))), point.name)
    at = [entry for entry in mount_entries() if entry.point == target]
    return at[-1] if at else None


def mounted_by(point: Path, fsname: str) -> bool:
    """A FUSE mount with the source name ``fsname`` is at ``point`` (``os.path.ismount`` says
    only that something is)."""
    entry = mount_at(point)
    return entry is not None and entry.fstype.startswith("fuse") and entry.source == fsname


def mounted_under(base: Path) -> list[Path]:
    """The mount points below ``base``."""
    prefix = str(base).rstrip("/") + "/"
    return [Path(e.point) for e in mount_entries() if e.point.startswith(prefix)]


def lazy_unmount(point: Path) -> bool:
    """Detach a FUSE mount even while programs still use it (they get errors, not a hang)."""
    tool = fusermount()
    if tool is None:
        return False
    result = subprocess.run([tool, "-u", "-z", str(point)], capture_output=True, check=False)
    return result.returncode == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_mounts(base: Path) -> list[Path]:
    """Unmount and remove the mounts of this user's servers that are gone (``<pid>-<user>``
    folders of ``base`` whose server process no longer runs). Returns what was cleaned."""
    cleaned = []
    live_mounts = set(mounted_under(base))
    if not base.is_dir():
        return cleaned
    for folder in base.iterdir():
        owner = folder.name.split("-", 1)[0]
        if not owner.isdigit() or _pid_alive(int(owner)):
            continue
        if folder in live_mounts:
            lazy_unmount(folder)
        try:
            folder.rmdir()
        except OSError:
            continue
        cleaned.append(folder)
    return cleaned


class MountRefused(Exception):
    """The mount cannot be made here; the message says why."""


class KernelMount:
    """The mount of one server: start (once), wait until it answers, stop."""

    def __init__(self, username: str, env: dict[str, str], log_file: Path) -> None:
        self.point = mounts_dir() / f"{os.getpid()}-{_safe(username)}"
        # The source name the mount shows in mountinfo: how readiness knows it is this one.
        self.fsname = f"{FSNAME_PREFIX}-{secrets.token_hex(8)}"
        self.env = env
        self.log_file = log_file
        self.process: subprocess.Popen | None = None
        self._made_point = False  # the point is ours to remove (in our private folder)
        self._log_offset = 0

    @property
    def active(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self) -> str | None:
        """Mount; None when mounted, else why not (one sentence), as soon as that is known."""
        reason = unavailable_reason()
        if reason is not None:
            return reason
        try:
            self.process = await asyncio.to_thread(self._spawn)
        except MountRefused as err:
            await asyncio.to_thread(self._remove)
            return str(err)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                await asyncio.to_thread(self._remove)
                said = await asyncio.to_thread(self._last_log_line)
                return f"the mount process exited with code {code}" + (f": {said}" if said else "")
            if await asyncio.to_thread(mounted_by, self.point, self.fsname):
                return None
            await asyncio.sleep(0.1)
        await self.stop()
        return f"the mount was not ready after {READY_SECONDS:.0f} s"

    def _spawn(self) -> subprocess.Popen:
        """Prepare the mount point and start the mount process."""
        self.prepare_point()
        try:
            self._log_offset = self.log_file.stat().st_size
        except OSError:
            self._log_offset = 0
        with open(self.log_file, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "cs3lab.fs.mount", str(self.point), self.fsname],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl+C goes to the server only
            )

    def prepare_point(self) -> None:
        """This user's private folder of mount points, the stale mounts of this user's dead
        servers removed, and this server's empty mount point in it; MountRefused when the
        folder is not this user's own or something else is mounted at the point."""
        base = self.point.parent
        try:
            make_private(base)
        except NotPrivate as err:
            raise MountRefused(str(err)) from None
        try:
            for folder in clean_stale_mounts(base):
                log.info("cs3lab: removed the stale kernel mount %s", folder)
        except OSError as err:
            raise MountRefused(f"the folder of mount points {base} cannot be read: {err}") from None
        other = mount_at(self.point)
        if other is not None:
            raise MountRefused(
                f"{self.point} already has a file system mounted ({other.fstype} from "
                f"{other.source}) that this server did not start; cs3lab does not use it "
                f"(fusermount -u -z {self.point} removes it)"
            )
        try:
            self.point.mkdir(mode=0o700, exist_ok=True)
        except OSError as err:
            raise MountRefused(f"the mount point {self.point} cannot be made: {err}") from None
        self._made_point = True

    def _last_log_line(self) -> str:
        """The mount process's last line in its log (why it exited), shortened."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(self._log_offset)
                lines = f.read().decode(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:300] if lines else ""

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # libfuse unmounts and returns
            try:
                await asyncio.wait_for(asyncio.to_thread(process.wait), STOP_SECONDS)
            except asyncio.TimeoutError:
                process.kill()
                await asyncio.to_thread(process.wait)
        await asyncio.to_thread(self._remove)

    def _remove(self) -> None:
        """Unmount this server's mount if it is still there (never another one), and remove
        the mount point if this server made it."""
        if mounted_by(self.point, self.fsname):
            lazy_unmount(self.point)
        if self._made_point:
            try:
                self.point.rmdir()
            except OSError:
                pass


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in name) or "user"


# -- the mount process ------------------------------------------------------------------------


def _die_with_parent(mountpoint: str, stop: Callable[[], object]) -> None:
    """SIGTERM when the server dies (Linux), and a watch for good measure."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        stop()
        lazy_unmount(Path(mountpoint))

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m cs3lab.fs.mount MOUNTPOINT [FSNAME]", file=sys.stderr)
        return 2
    mountpoint, fsname = argv[0], argv[1] if len(argv) == 2 else FSNAME_PREFIX
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return asyncio.run(_serve(mountpoint, fsname))


async def _serve(mountpoint: str, fsname: str) -> int:
    """Mount, answer the kernel until SIGTERM (or the server's death), unmount."""
    import pyfuse3
    import pyfuse3.asyncio

    from .filesystem import CS3FileSystem
    from .operations import CS3Operations

    pyfuse3.asyncio.enable()
    loop = asyncio.get_running_loop()
    # the kernels' CS3LAB_* environment: gateway, user, token file
    fs = CS3FileSystem(asynchronous=True, loop=loop)
    await fs._ls("")  # fail here, with a clear message, when the credentials do not work
    log.info(
        "mounting %s (CS3 %s of %s) at %s",
        fs.home,
        fs.connection.gateway,
        fs.connection.username,
        mountpoint,
    )
    # no default_permissions: the storage decides who may write (locks, shares)
    pyfuse3.init(CS3Operations(fs), mountpoint, {f"fsname={fsname}", "subtype=cs3"})
    stopping = asyncio.Event()

    def terminate() -> None:
        stopping.set()
        pyfuse3.terminate()

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        # pyfuse3's asyncio shim ends its wait for /dev/fuse with an error at terminate; when
        # a request (a late release) made /dev/fuse readable just then, the shim's reader
        # callback sets that finished wait once more: harmless, and nothing to log.
        if stopping.is_set() and isinstance(context.get("exception"), asyncio.InvalidStateError):
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(on_loop_error)
    try:
        _read_ahead(mountpoint)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, terminate)
        _die_with_parent(mountpoint, lambda: loop.call_soon_threadsafe(terminate))
        await pyfuse3.main()
    finally:
        pyfuse3.close(unmount=True)
        await fs._close()
    log.info("unmounted %s", mountpoint)
    return 0


def _read_ahead(mountpoint: str) -> None:
    """Let the kernel read ahead READ_AHEAD_KB in one request (its default for FUSE is
    128 KiB, so 1 MiB reads would come in 8 pieces). Root only; else the default stays."""
    entry = mount_at(Path(os.path.abspath(mountpoint)))
    if entry is None:
        return
    try:
        Path(f"/sys/class/bdi/{entry.device}/read_ahead_kb").write_text(str(READ_AHEAD_KB))
    except OSError as err:
        log.info("read-ahead stays at the kernel's default: %s", err)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
