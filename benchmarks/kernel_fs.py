"""What a kernel's file access costs: ``cs3://`` and the FUSE mount against raw CS3 calls.

    python benchmarks/kernel_fs.py [--site a|n|both] [--repeat N] [--size-mb N] [--entries N]

Per site (a real revad on loopback, tools/sites/site_runner.py, user alice), in one run and
interleaved (the order rotates each repeat):

* read a 100 MB file: raw = InitiateFileDownload + one HTTP GET of the data gateway (bare
  grpc.aio stub and tornado, the body in memory, as a program that reads the whole file
  has it); cs3:// = ``fs.open(path).read(1 MiB)`` until the end; mount =
  ``open(path).read(1 MiB)`` in cs3lab's FUSE mount; and, printed below the table, the
  same GET streamed (tornado's pieces counted as they arrive, none kept), the least a raw
  read can cost;
* write a 100 MB file: raw = InitiateFileUpload + one HTTP PUT; cs3:// = ``fs.open(path,
  "wb").write(1 MiB)`` x 100 and close; mount = the same with ``open()``;
* list a folder of 1,000 files: raw = ListContainer; cs3:// = ``fs.ls(folder)`` with the
  listing cache emptied first; mount = ``os.scandir`` + ``stat()`` of every entry (``ls -l``),
  after the mount's caches (1 s FUSE attributes, 2 s listing) expired, untimed.

Every path does the same with the bytes it reads: it counts them (the raw GET does not look
at them either); a hash in the timed reads would load the same two cores that revad and the
mount share. Each result is checked: sizes and entry counts in every run, and the SHA-256 of
what each path reads, in one more untimed read per path.

Memory: the peak RSS of the mount process (VmHWM) and, for one more (untimed) cs3:// read
and write, the peak of Python allocations (tracemalloc) and of spool pages (the spool
budget's high-water mark) are printed beside the table. No time is asserted: a record;
compare the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tools" / "sites"))

import site_runner  # noqa: E402
from common import progress  # noqa: E402
from raw import RawCS3  # noqa: E402
from report import align, machine  # noqa: E402

from cs3lab.fs import CS3FileSystem, spool  # noqa: E402
from cs3lab.fs.mount import lazy_unmount  # noqa: E402

MIB = 1024 * 1024
RESULTS = HERE / "results.md"
SECTION = "## Kernel file access (benchmarks/kernel_fs.py)"
SITES = {"a": "site-a.json", "n": "site-n.json"}
USER = "alice"


def read_all(open_file, digest=None) -> int:
    """The number of bytes read, 1 MiB at a time (each also fed to ``digest``, if given)."""
    count = 0
    with open_file() as f:
        while chunk := f.read(MIB):
            count += len(chunk)
            if digest is not None:
                digest.update(chunk)
    return count


def sha256_of(open_file) -> str:
    digest = hashlib.sha256()
    read_all(open_file, digest)
    return digest.hexdigest()


def write_all(open_file, data: bytes) -> None:
    view = memoryview(data)
    with open_file() as f:
        for start in range(0, len(view), MIB):
            f.write(view[start : start + MIB])


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def token_of(site) -> str:
    from cs3lab.cs3 import AuthConfig, CS3Client, GatewayConfig, SecretSource

    client = CS3Client(
        GatewayConfig(site.gateway),
        AuthConfig("basic", USER, SecretSource(file=str(site.secret_file(USER)))),
    )
    try:
        return await client.access_token()
    finally:
        await client.close()


def start_mount(site, home: str, workdir: Path, reva_token: str) -> tuple[subprocess.Popen, Path]:
    """cs3lab's mount process, as a server starts it (the kernels' token file)."""
    token = workdir / "token"
    token.write_text(reva_token)
    token.chmod(0o600)
    point = workdir / "mount"
    point.mkdir()
    env = dict(
        os.environ,
        CS3LAB_GATEWAY=site.gateway,
        CS3LAB_SITE=site.name,
        CS3LAB_USER=USER,
        CS3LAB_AUTH_MODE="token",
        CS3LAB_SECRET_FILE=str(token),
        CS3LAB_HOME=home,
    )
    log = open(workdir / "mount.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "cs3lab.fs.mount", str(point)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not os.path.ismount(point):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the mount did not start:\n{(workdir / 'mount.log').read_text()}")
        time.sleep(0.1)
    return process, point


async def bench_site(site, args) -> dict:
    home = f"{site.home(USER)}/bench-kernel-{os.urandom(4).hex()}"
    site_runner.sync_mkdir(site, USER, home)
    size = args.size_mb * MIB
    data = os.urandom(size)
    expected = hashlib.sha256(data).hexdigest()
    raw = RawCS3(site.gateway, Counter())
    await raw.login(USER, site.password(USER))
    progress(f"{site.name}: seeding a {args.size_mb} MB file and {args.entries} files")
    await raw.upload(f"{home}/big.bin", data)
    await raw.mkdir(f"{home}/many")
    gate = asyncio.Semaphore(16)

    async def touch(i: int) -> None:
        async with gate:
            await raw.upload(f"{home}/many/file-{i:04d}.txt", b"x")

    await asyncio.gather(*(touch(i) for i in range(args.entries)))
    fs = CS3FileSystem(
        gateway=site.gateway,
        site_name=site.name,
        auth_mode="basic",
        username=USER,
        secret_file=str(site.secret_file(USER)),
        home=home,
        skip_instance_cache=True,
    )
    workdir = site.workdir / f"bench-mount-{os.urandom(3).hex()}"
    workdir.mkdir()
    mount, point = start_mount(site, home, workdir, await token_of(site))
    rss_start = peak_rss_mib(mount.pid)

    async def raw_read():
        body = await raw.download(f"{home}/big.bin")
        assert len(body) == size
        return None

    async def raw_streamed_read():
        pieces = []
        await raw.download(f"{home}/big.bin", lambda chunk: pieces.append(len(chunk)))
        assert sum(pieces) == size

    def fs_open():
        return fs.open("big.bin", "rb")

    def mount_open():
        return open(point / "big.bin", "rb")

    def fs_read():
        assert read_all(fs_open) == size

    def mount_read():
        assert read_all(mount_open) == size

    async def raw_write():
        await raw.upload(f"{home}/w-raw.bin", data)

    def fs_write():
        write_all(lambda: fs.open("w-cs3.bin", "wb"), data)

    def mount_write():
        write_all(lambda: open(point / "w-mount.bin", "wb"), data)

    async def raw_list():
        assert len(await raw.list(f"{home}/many")) == args.entries

    def fs_list():
        fs.invalidate_cache()
        assert len(fs.ls("many", detail=True)) == args.entries

    def mount_list():
        entries = [(e.name, e.stat().st_size) for e in os.scandir(point / "many")]
        assert len(entries) == args.entries

    def settle_mount():
        time.sleep(2.5)  # the mount's attribute (1 s) and listing (2 s) caches expire

    ops = {
        f"read {args.size_mb} MB": (
            {
                "raw": raw_read,
                "cs3://": fs_read,
                "mount": mount_read,
                "raw streamed": raw_streamed_read,
            },
            None,
        ),
        f"write {args.size_mb} MB": (
            {"raw": raw_write, "cs3://": fs_write, "mount": mount_write},
            None,
        ),
        f"list {args.entries:,} entries": (
            {"raw": raw_list, "cs3://": fs_list, "mount": mount_list},
            settle_mount,
        ),
    }
    samples: dict[str, dict[str, list[float]]] = {op: {} for op in ops}
    python_peak: dict[str, float] = {}
    try:
        for op, (paths, before_mount) in ops.items():
            progress(f"{site.name}: {op}: 1 warm-up + {args.repeat} timed runs per path")
            names = list(paths)
            for repeat in range(args.repeat + 1):
                order = names[repeat % len(names) :] + names[: repeat % len(names)]
                for name in order:
                    if name == "mount" and before_mount is not None:
                        await asyncio.to_thread(before_mount)
                    run = paths[name]
                    start = time.perf_counter()
                    if asyncio.iscoroutinefunction(run):
                        await run()
                    else:
                        await asyncio.to_thread(run)
                    elapsed = time.perf_counter() - start
                    if repeat:  # the first round warms up
                        samples[op].setdefault(name, []).append(elapsed)
        progress(f"{site.name}: the SHA-256 of what each path reads")
        assert hashlib.sha256(await raw.download(f"{home}/big.bin")).hexdigest() == expected
        assert await asyncio.to_thread(sha256_of, fs_open) == expected
        assert await asyncio.to_thread(sha256_of, mount_open) == expected
        # Memory of cs3:// (tracemalloc slows every allocation: one more run, untimed).
        for op, run in (
            (f"read {args.size_mb} MB", fs_read),
            (f"write {args.size_mb} MB", fs_write),
        ):
            spool.BUDGET.peak = spool.BUDGET.used
            tracemalloc.start()
            await asyncio.to_thread(run)
            python_peak[op] = (
                tracemalloc.get_traced_memory()[1] / MIB,
                spool.BUDGET.peak / MIB,
            )
            tracemalloc.stop()
        for name in ("w-raw.bin", "w-cs3.bin", "w-mount.bin"):
            assert (await raw.stat(f"{home}/{name}")).size == size, name
        rss_peak = peak_rss_mib(mount.pid)
    finally:
        mount.terminate()
        try:
            mount.wait(timeout=15)
        except subprocess.TimeoutExpired:
            mount.kill()
            lazy_unmount(point)
        fs.close()
        await raw.close()
    return {
        "samples": samples,
        "size_mb": args.size_mb,
        "rss": (rss_start, rss_peak),
        "python_peak": python_peak,
    }


def table(site_name: str, result: dict) -> str:
    rows = [
        [
            "operation",
            "raw med",
            "cs3:// med",
            "mount med",
            "cs3:// / raw",
            "mount / raw",
        ]
    ]
    below = []  # the streamed GET's line, under the table
    for op, by_path in result["samples"].items():
        med = {name: statistics.median(values) for name, values in by_path.items()}
        if op.startswith("list"):
            cells = [f"{med[n] * 1000:.0f} ms" for n in ("raw", "cs3://", "mount")]
            ratios = [f"{med[n] / med['raw']:.2f}x time" for n in ("cs3://", "mount")]
        else:
            mbs = {n: result["size_mb"] / med[n] for n in med}
            cells = [f"{mbs[n]:.0f} MB/s" for n in ("raw", "cs3://", "mount")]
            ratios = [f"{100 * mbs[n] / mbs['raw']:.0f}% thr." for n in ("cs3://", "mount")]
            streamed = mbs.get("raw streamed")
            if streamed:
                below.append(
                    f"{site_name}: {op}, a raw GET whose pieces are counted as they come and "
                    f"not kept: {streamed:.0f} MB/s (cs3:// {100 * mbs['cs3://'] / streamed:.0f}%,"
                    f" mount {100 * mbs['mount'] / streamed:.0f}% of it)"
                )
        rows.append([f"{site_name}: {op}", *cells, *ratios])
    return "\n\n".join([align(rows), *below])


def report(results: dict[str, dict], args) -> str:
    parts = [
        SECTION,
        "",
        f"`python benchmarks/kernel_fs.py --repeat {args.repeat}`: 1 warm-up + {args.repeat} "
        "timed runs per path (interleaved, order rotated); medians. Throughput ratios: "
        "path / raw (higher is better); list: time ratios (lower is better).",
        "",
    ]
    tables = [table(name, result) for name, result in results.items()]
    parts.append("\n\n".join(tables))
    parts.append("")
    for name, result in results.items():
        start, peak = result["rss"]
        peaks = ", ".join(
            f"{op} {python:.1f} MiB + spool {spooled:.0f} MiB"
            for op, (python, spooled) in result["python_peak"].items()
        )
        parts.append(
            f"- {name}: mount process RSS {start:.0f} MiB after start, peak {peak:.0f} MiB over "
            f"the whole run (spool budget {spool.BUDGET.limit // MIB} MiB); cs3:// peak memory: "
            f"Python allocations + spool pages (memory maps, not seen by tracemalloc): {peaks}"
        )
    load = os.getloadavg()
    info = machine([])
    parts.append(
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; load "
        f"average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; nproc {info['nproc']}; "
        f"cs3lab {info['cs3lab']}"
    )
    return "\n".join(parts) + "\n"


def write_results(text: str) -> None:
    old = RESULTS.read_text() if RESULTS.exists() else ""
    if SECTION in old:
        before, _, after = old.partition(SECTION)
        rest = after.split("\n## ", 1)
        tail = "\n## " + rest[1] if len(rest) > 1 else ""
        RESULTS.write_text(before + text + tail)
    else:
        RESULTS.write_text(old.rstrip("\n") + "\n\n" + text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", choices=["a", "n", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--no-results", action="store_true", help="print only")
    args = parser.parse_args(argv)
    results = {}
    for key in ("a", "n") if args.site == "both" else (args.site,):
        site = site_runner.start_site(SITES[key])
        try:
            results[site.name] = asyncio.run(bench_site(site, args))
        finally:
            site.stop()
    text = report(results, args)
    print(text)
    if not args.no_results:
        write_results(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
