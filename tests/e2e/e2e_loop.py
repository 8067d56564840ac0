#!/usr/bin/env python3
"""The loop glue (lib/engine/loop.c) seen from outside: connections are reused from page to page, and
a kept-alive connection that the server closes while it waits is noticed without spinning.

    python3 tests/e2e/e2e_loop.py --loopfetch build/loopfetch CASE     (or --list)
"""

import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e_modes as m  # noqa: E402
site, check, Server = m.site, m.check, m.Server

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn



def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def fetch(ctx, srv, urls, *opts):
    out = ctx.dir("out")
    cpu, t = child_cpu(), time.monotonic()
    p = ctx.run(*opts, "-i", "-", "-o", out, stdin="\n".join(urls) + "\n")
    cpu, wall = child_cpu() - cpu, time.monotonic() - t
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
    m.check_complete(out, urls)
    m.no_temporaries(out)
    return cpu, wall


@case
def keepalive_reuse(ctx):
    """60 pages through 4 slots: every page after the first four goes over a kept connection
    (libcurl drops the socket after each page and asks for it again; the loop must hand the
    same connection back, not open a new one)."""
    with Server() as srv:
        urls = site.expected_links(srv.base)[:60]
        fetch(ctx, srv, urls, "-c", "4")
        s = srv.stats()
        check(s["requests"] == 60, f"{s['requests']} requests for 60 pages")
        check(s["connections_total"] <= 4, f"{s['connections_total']} connections for 4 slots")


@case
def idle_closed_by_server(ctx):
    """The server closes each connection 50 ms after its response; --rate 4 starts a page
    every 250 ms, so every kept connection is closed while it waits. Each page still arrives
    (over a new connection), and the closed sockets do not wake the loop over and over: the
    run takes well over a second of wall time but little CPU."""
    with Server(0, 0, "--idle-close", "50") as srv:
        urls = site.expected_links(srv.base)[:8]
        cpu, wall = fetch(ctx, srv, urls, "-c", "2", "--rate", "4")
        s = srv.stats()
        check(s["connections_total"] >= 7, f"{s['connections_total']} connections: the server "
              "closed idle ones, so almost every page needs a new one")
        check(wall >= 1.5, f"--rate 4 spread 8 pages over only {wall:.2f} s")
        # Spinning on a closed socket would burn 200 of every 250 ms; a healthy run needs a few
        # per cent of one core.
        check(cpu < wall / 4, f"{cpu:.2f} s CPU in {wall:.2f} s: a closed idle socket spins")


@case
def window_widens_while_waiting(ctx):
    """Without -c, a job starts at most 256 transfers and widens while the loop only waits
    (src/job/window.h). 300 pages that each take 500 ms: the first 256 start at once, the other 44
    one timer tick (20 ms) later at the earliest, and all 300 are in flight together, long
    before the first answers. -c 300 is the same job without the window."""
    with Server() as srv:
        urls = [srv.base + "/fault/slow/500/p%03d" % i for i in range(300)]
        out = ctx.dir("out")
        p = ctx.run("-i", "-", "-o", out, "--json", stdin="\n".join(urls) + "\n")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        recs = m.manifest(out)
        check(sorted(r["url"] for r in recs) == urls and all(r["status"] == "saved" for r in recs),
              "not every page saved exactly once")
        for r in recs:
            with open(os.path.join(out, r["file"]), "rb") as f:
                want = "slow %s\n" % r["url"][len(srv.base):]
                check(f.read() == want.encode(), f"{r['file']}: wrong body")
        summary = json.loads(p.stdout)
        check(summary["concurrency"] > 256, f"window ended at {summary['concurrency']}")
        s = srv.stats()
        check(s["max_concurrent_requests"] == 300,
              f"{s['max_concurrent_requests']} requests at once, not all 300")
        starts = sorted(r["start"] for r in recs)
        gap = starts[256] - starts[0]
        check(gap >= 0.015, f"page 257 started {gap * 1000:.1f} ms after the first: the window "
              "did not start at 256")
        check(starts[-1] - starts[0] < 0.45, f"the last page started {starts[-1] - starts[0]:.2f} s "
              "after the first: the window widened only after pages came back")


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-loop-"))
