"""The kernels' FUSE mount of the user's CS3 home: started with the server, gone with it.

The mount runs in a child process (``python -m cs3lab.fs.mount MOUNTPOINT``: pyfuse3 on
asyncio over ``cs3://``, see :mod:`cs3lab.fs.operations`), signed in with the kernels' token
file (:mod:`cs3lab.fs.kernels`), never with the server's password. The server stops it on
shutdown (SIGTERM: libfuse unmounts); the child also dies with the server (Linux's
parent-death signal, and a watch on its parent) and, if it was killed outright, the next server
start lazily unmounts what dead servers left (``fusermount -u -z``). Where FUSE is missing
(no /dev/fuse, no fusermount, no libfuse3 or pyfuse3) or the mount fails, the server says so
once and kernels start in the scratch folder: ``cs3://`` works either way.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

MOUNTS_DIR = Path(tempfile.gettempdir()) / "cs3lab-mounts"
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


def _mount_devices() -> list[tuple[str, str]]:
    """(mount point, "major:minor") of every mount (from /proc/self/mountinfo)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            found.append((fields[4].encode().decode("unicode_escape"), fields[2]))
    return found


def mounted_under(base: Path) -> list[Path]:
    """The mount points below ``base``."""
    prefix = str(base).rstrip("/") + "/"
    return [Path(point) for point, _ in _mount_devices() if point.startswith(prefix)]


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


def clean_stale_mounts(base: Path = MOUNTS_DIR) -> list[Path]:
    """Unmount and remove the mounts of servers that are gone (``<pid>-<user>`` folders whose
    server process no longer runs). Returns what was cleaned."""
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


class KernelMount:
    """The mount of one server: start (once), wait until it answers, stop."""

    def __init__(self, username: str, env: dict[str, str], log_file: Path) -> None:
        self.point = MOUNTS_DIR / f"{os.getpid()}-{_safe(username)}"
        self.env = env
        self.log_file = log_file
        self.process: subprocess.Popen | None = None

    @property
    def active(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self) -> str | None:
        """Mount; None when mounted, else why not (one sentence)."""
        reason = unavailable_reason()
        if reason is not None:
            return reason
        self.process = await asyncio.to_thread(self._spawn)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"the mount process exited with code {self.process.returncode}"
            if await asyncio.to_thread(os.path.ismount, self.point):
                return None
            await asyncio.sleep(0.1)
        await self.stop()
        return f"the mount was not ready after {READY_SECONDS:.0f} s"

    def _spawn(self) -> subprocess.Popen:
        MOUNTS_DIR.mkdir(mode=0o755, exist_ok=True)
        for folder in clean_stale_mounts():
            log.info("cs3lab: removed the stale kernel mount %s", folder)
        if os.path.ismount(self.point):
            lazy_unmount(self.point)
        self.point.mkdir(mode=0o700, exist_ok=True)
        with open(self.log_file, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "cs3lab.fs.mount", str(self.point)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl+C goes to the server only
            )

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
        if os.path.ismount(self.point) or self.point in mounted_under(MOUNTS_DIR):
            lazy_unmount(self.point)
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
    if len(argv) != 1:
        print("usage: python -m cs3lab.fs.mount MOUNTPOINT", file=sys.stderr)
        return 2
    mountpoint = argv[0]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return asyncio.run(_serve(mountpoint))


async def _serve(mountpoint: str) -> int:
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
    pyfuse3.init(CS3Operations(fs), mountpoint, {"fsname=cs3lab", "subtype=cs3"})
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
    device = next(
        (dev for point, dev in _mount_devices() if point == os.path.abspath(mountpoint)), None
    )
    if device is None:
        return
    try:
        Path(f"/sys/class/bdi/{device}/read_ahead_kb").write_text(str(READ_AHEAD_KB))
    except OSError as err:
        log.info("read-ahead stays at the kernel's default: %s", err)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
