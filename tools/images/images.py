"""Build and run cs3lab's container images without a Docker engine, with Debian's buildah.

The images are docker/*.Dockerfile, unchanged: what `docker build` would build. Here buildah
builds them (overlay storage, chroot isolation, layer cache) from a `debian:bookworm-slim`
made locally with debootstrap, since no registry but Debian's, PyPI, npm and the Go module
proxy is reachable. That base image trusts what this machine trusts: its local CA
certificates (e.g. a TLS-intercepting proxy's, in /usr/local/share/ca-certificates) are
added, as a site behind such a proxy does for its own base image.

Everything is kept under the cache ($CS3LAB_CACHE, default ~/.cache/cs3lab): the base
root file system (images/), and buildah's storage (containers/), whose layer cache makes a
rebuild after a code change take seconds. The site image's build reuses the revad binaries
of tools/revad/build.sh from the same cache (mounted into the build).

    python tools/images/images.py [NAME ...]     build the images (default: all), print sizes
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BASE = "docker.io/library/debian:bookworm-slim"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT = 1800  # a first build compiles pyfuse3 and installs JupyterLab


def cache_root() -> Path:
    return Path(os.environ.get("CS3LAB_CACHE") or Path.home() / ".cache" / "cs3lab")


@dataclass(frozen=True)
class Image:
    """One image: its Dockerfile and how this machine builds it."""

    name: str
    dockerfile: str
    build_args: dict[str, str] = field(default_factory=dict)
    #: bind the cache into the build at /host-cache (the site image's revad build)
    with_cache: bool = False


def go_version() -> str:
    """The Go of this machine (tools/revad/build.sh's binary is reused when it matches)."""
    out = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return out.stdout.strip().removeprefix("go")


def images() -> list[Image]:
    return [
        Image(
            "cs3lab-site",
            "docker/revad.Dockerfile",
            {"GO_VERSION": go_version(), "CS3LAB_CACHE": "/host-cache"},
            with_cache=True,
        ),
        Image("cs3lab-jupyterlab", "docker/jupyterlab.Dockerfile"),
        Image("cs3lab-hub", "docker/hub.Dockerfile", {"LAB_IMAGE": "localhost/cs3lab-jupyterlab"}),
    ]


def buildah_argv(*args: str) -> list[str]:
    """A buildah command line on the cache's storage."""
    root = cache_root() / "containers"
    storage = ["--storage-driver", "overlay", "--root", str(root / "storage")]
    return ["buildah", *storage, "--runroot", str(root / "run"), *args]


def buildah(*args: str, timeout: float = 120, check: bool = True) -> str:
    """Run buildah on the cache's storage; its stdout."""
    done = subprocess.run(buildah_argv(*args), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"buildah {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def has_image(name: str) -> bool:
    return bool(buildah("images", "-q", name, check=False).strip())


def ensure_base() -> None:
    """`debian:bookworm-slim` in the storage: debootstrap's minbase (cached), this machine's
    local CA certificates, pip and npm pointed at the system's CA bundle."""
    if has_image(BASE):
        return
    tarball = cache_root() / "images" / f"debian-{SUITE}-minbase.tar"
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        scratch = tarball.parent / f"rootfs-{os.getpid()}"
        try:
            subprocess.run(
                ["debootstrap", "--variant=minbase", SUITE, str(scratch), MIRROR],
                check=True,
                capture_output=True,
                timeout=900,
            )
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc"):
                for path in (scratch / junk).glob("*"):
                    if path.is_file():
                        path.unlink()
                    elif path.is_dir() and path.name != "partial":
                        shutil.rmtree(path)
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(scratch), "-cf", str(partial), "."], check=True)
            partial.rename(tarball)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    container = buildah("from", "scratch").strip()
    try:
        mount = Path(buildah("mount", container).strip())
        subprocess.run(["tar", "-C", str(mount), "-xf", str(tarball)], check=True)
        cas = mount / "usr/local/share/ca-certificates"
        cas.mkdir(parents=True, exist_ok=True)
        for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(crt, cas / crt.name)
        (mount / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        (mount / "etc/npmrc").write_text("cafile=/etc/ssl/certs/ca-certificates.crt\n")
        buildah("umount", container)
        buildah("commit", "--rm", container, BASE, timeout=300)
    except BaseException:
        buildah("rm", container, check=False)
        raise


def build(image: Image) -> float:
    """Build one image from the repository root; the seconds it took."""
    ensure_base()
    args = ["bud", "--isolation", "chroot", "--pull=never", "--layers", "--format", "docker"]
    args += ["-f", image.dockerfile, "-t", image.name]
    ignore = REPO / f"{image.dockerfile}.dockerignore"
    if ignore.exists():
        args += ["--ignorefile", str(ignore)]
    for name, value in image.build_args.items():
        args += ["--build-arg", f"{name}={value}"]
    if image.with_cache:
        args += ["-v", f"{cache_root()}:/host-cache"]
    started = time.monotonic()
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        buildah(*args, str(REPO), timeout=BUILD_TIMEOUT)
    finally:
        os.chdir(cwd)
    return time.monotonic() - started


def size_mb(name: str) -> float:
    for line in buildah("images", "--format", "{{.Name}}:{{.Tag}} {{.Size}}").splitlines():
        ref, _, size = line.partition(" ")
        if ref.rsplit("/", 1)[-1].startswith(name.rsplit("/", 1)[-1] + ":"):
            number, unit = size.split()
            return float(number) * {"KB": 1e-3, "MB": 1, "GB": 1e3}[unit]
    raise LookupError(name)


class Container:
    """A container of an image; `run` runs a command in it (with the image's user, workdir
    and environment), `start` one in the background. Loopback is the machine's (chroot
    isolation keeps the host's network), so a site in one container is reachable from another."""

    def __init__(self, image: str, volumes: dict[Path, str] | None = None) -> None:
        self.volumes = volumes or {}
        self.id = buildah("from", "--pull-never", image).strip()

    def _argv(self, argv: list[str], env: dict[str, str] | None) -> list[str]:
        cmd = ["run", "--isolation", "chroot"]
        for host, inside in self.volumes.items():
            cmd += ["-v", f"{host}:{inside}"]
        for name, value in (env or {}).items():
            cmd += ["--env", f"{name}={value}"]
        return buildah_argv(*cmd, self.id, "--", *argv)

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 300):
        """Run a command to its end: the CompletedProcess (text stdout and stderr)."""
        return subprocess.run(
            self._argv(argv, env), capture_output=True, text=True, timeout=timeout
        )

    def start(self, argv: list[str], log: Path, env: dict[str, str] | None = None):
        """Start a command in the background (its own process group), output to ``log``."""
        with log.open("wb") as out:
            return subprocess.Popen(
                self._argv(argv, env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def remove(self) -> None:
        buildah("rm", self.id, check=False)


def main(names: list[str]) -> int:
    wanted = [i for i in images() if not names or i.name in names]
    for image in wanted:
        seconds = build(image)
        print(f"{image.name}: built in {seconds:.0f} s, {size_mb(image.name):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
