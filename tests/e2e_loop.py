#!/usr/bin/env python3
"""The loop glue (src/loop.c) seen from outside: connections are reused from page to page, and
a kept-alive connection that the server closes while it waits is noticed without spinning.

    python3 tests/e2e_loop.py --loopfetch build/loopfetch CASE     (or --list)
"""

import importlib.util
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("e2e_modes", os.path.join(HERE, "e2e_modes.py"))
m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m)
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


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-loop-"))
