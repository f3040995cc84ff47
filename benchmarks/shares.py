"""Benchmark: list 200 shares and 200 received shares, cs3lab against the raw CS3 calls in
the same run, with the CS3 calls each makes (the listing must stay one call per page
however many shares there are), and a folder listing's share state.

    python benchmarks/shares.py [--shares 200] [--repeat 20]

Starts site A (Reva v3, tools/sites/site-a.json) on loopback; alice shares N files with
bob. Raw = a bare gateway stub (benchmarks/run.py's RawCS3); cs3lab = the SharingService
in process on cs3lab's own client (what a REST call runs, without HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE.parent / "tools" / "sites")]

import site_runner  # noqa: E402
from cs3.sharing.collaboration.v1beta1 import collaboration_api_pb2 as collab  # noqa: E402
from cs3.sharing.collaboration.v1beta1 import resources_pb2 as collab_res  # noqa: E402
from cs3.storage.provider.v1beta1 import resources_pb2 as res  # noqa: E402
from raw import RawCS3  # noqa: E402
from report import align  # noqa: E402
from timing import percentile  # noqa: E402

from cs3lab.cs3 import AuthConfig, CS3Client, Files, GatewayConfig, SecretSource  # noqa: E402
from cs3lab.sharing import roles  # noqa: E402
from cs3lab.sharing.service import SharingService  # noqa: E402


def counted_files(site, username: str, counts: Counter) -> Files:
    secret = SecretSource(file=str(site.secret_file(username)))
    client = CS3Client(GatewayConfig(site.gateway), AuthConfig("basic", username, secret))
    original = client.call

    async def call(method, request, what):
        counts[method] += 1
        return await original(method, request, what)

    client.call = call
    return Files(client)


async def measure(run, repeat: int, counts: Counter) -> tuple[list[float], int, int]:
    await run()  # warm-up (sign-in, caches)
    times = []
    counts.clear()
    for _ in range(repeat):
        t = time.perf_counter()
        result = await run()
        times.append(time.perf_counter() - t)
    return times, sum(counts.values()) // repeat, result


async def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    site = site_runner.start_site("site-a.json")
    try:
        home = f"{site.home('alice')}/bench-shares"
        site_runner.sync_mkdir(site, "alice", home)
        raw_counts, lab_counts = Counter(), Counter()
        alice, bob = RawCS3(site.gateway, raw_counts), RawCS3(site.gateway, raw_counts)
        await alice.login("alice", site.password("alice"))
        await bob.login("bob", site.password("bob"))
        viewer = roles.permissions_for("viewer", False)
        grantee = res.Grantee(type=res.GRANTEE_TYPE_USER, user_id=bob.user_id)

        async def make(i: int) -> None:
            path = f"{home}/f{i:04d}.txt"
            await alice.touch(path)
            info = await alice.stat(path)
            request = collab.CreateShareRequest(
                resource_info=info,
                grant=collab_res.ShareGrant(
                    grantee=grantee, permissions=collab_res.SharePermissions(permissions=viewer)
                ),
            )
            await alice.stub.CreateShare(request, metadata=alice.metadata)

        t = time.perf_counter()
        for start in range(0, args.shares, 10):
            await asyncio.gather(*(make(i) for i in range(start, min(start + 10, args.shares))))
        print(f"{args.shares} shares made in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        lab_alice = counted_files(site, "alice", lab_counts)
        lab_bob = counted_files(site, "bob", lab_counts)
        s_alice = SharingService(lab_alice, home=site.home("alice"))
        s_bob = SharingService(lab_bob, home=site.home("bob"))

        async def raw_shares():
            r = await alice.stub.ListExistingShares(
                collab.ListSharesRequest(), metadata=alice.metadata
            )
            return len(r.share_infos)

        async def raw_received():
            r = await bob.stub.ListExistingReceivedShares(
                collab.ListReceivedSharesRequest(), metadata=bob.metadata
            )
            return len(r.share_infos)

        async def raw_plain_shares():
            r = await alice.stub.ListShares(collab.ListSharesRequest(), metadata=alice.metadata)
            return len(r.shares)

        async def lab_shares():
            return len((await s_alice.shared_by_me())["shares"])

        async def lab_received():
            return len(await s_bob.received())

        async def raw_listing():
            return len(await alice.list(home))

        async def lab_listing():
            entries = await lab_alice.list(home)
            state = await s_alice.listing_state(entries)
            return sum(1 for e in entries if state)

        async def lab_listing_cold():
            s_alice.files.cache.clear()  # as after a change, or once the state is too old
            return await lab_listing()

        rows = [["operation", "side", "items", "median ms", "p95 ms", "CS3 calls", "ratio"]]
        cases = [
            ("list shares made (shared by me)", raw_shares, lab_shares, raw_counts, lab_counts),
            (
                "list received shares (shared with me)",
                raw_received,
                lab_received,
                raw_counts,
                lab_counts,
            ),
            (
                f"folder listing of {args.shares} shared files + share state (fresh)",
                raw_listing,
                lab_listing_cold,
                raw_counts,
                lab_counts,
            ),
            (
                f"folder listing of {args.shares} shared files + share state (cached)",
                raw_listing,
                lab_listing,
                raw_counts,
                lab_counts,
            ),
        ]
        for name, raw_run, lab_run, rc, lc in cases:
            raw_t, raw_calls, raw_n = await measure(raw_run, args.repeat, rc)
            lab_t, lab_calls, lab_n = await measure(lab_run, args.repeat, lc)
            ratio = statistics.median(lab_t) / statistics.median(raw_t)
            rows.append(
                [
                    name,
                    "raw",
                    str(raw_n),
                    f"{statistics.median(raw_t) * 1e3:.1f}",
                    f"{percentile(raw_t, 0.95) * 1e3:.1f}",
                    str(raw_calls),
                    "",
                ]
            )
            rows.append(
                [
                    "",
                    "cs3lab",
                    str(lab_n),
                    f"{statistics.median(lab_t) * 1e3:.1f}",
                    f"{percentile(lab_t, 0.95) * 1e3:.1f}",
                    str(lab_calls),
                    f"{ratio:.2f}x",
                ]
            )
        _, plain_calls, plain_n = await measure(raw_plain_shares, args.repeat, raw_counts)
        print(align(rows))
        print(
            f"\n{args.repeat} runs each after one warm-up; site A (Reva v3.12.1, local driver, "
            f"sql share manager); ListShares alone ({plain_n} shares, no resource info) is "
            f"{plain_calls} call."
        )
        for f in (lab_alice, lab_bob):
            f.close()
            await f.client.close()
        await alice.close()
        await bob.close()
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
