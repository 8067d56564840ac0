#!/usr/bin/env python3
"""The library as embedders use it, against the fixture server: streamed bodies
(LF_OUTPUT_CALLBACK, tests/test_stream.c and examples/embed_sha256.c) and two fetchers in two
threads (tests/test_threads.c, also built with ThreadSanitizer by tests/run.sh).

    python3 tests/e2e_lib.py --bin DIR CASE     (or --list)

DIR holds the built programs (test_stream, test_threads, embed_sha256)."""

import argparse
import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e_modes import Server, check, site, Failure, Skip  # noqa: E402

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def run(args, timeout=180):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    check(p.returncode == 0, f"{os.path.basename(args[0])} exit {p.returncode}:\n"
                             f"{p.stdout[-1500:]}{p.stderr[-1500:]}")
    return p


@case
def stream_callback(a):
    """test_stream: paused after every chunk, the streamed bytes equal the page; the body
    callback's rules; no body for a 404; no retry once part of a body was handed out."""
    with Server() as srv:
        run([a.prog("test_stream"), srv.base])


def sha256_lines(out):
    got = {}
    for line in out.splitlines():
        digest, size, url = line.split("  ")
        got[url] = (digest, int(size))
    return got


@case
def stream_sha256(a):
    """examples/embed_sha256 hashes each of the 233 pages as it streams; every digest is the
    SHA-256 of the bytes the server sent. With --slow it pauses after each chunk and resumes
    from a timer: the same digests, and the pauses really happened."""
    with Server(0, 20) as srv:
        want = {}
        for url in site.expected_links(srv.base):
            body = site.page_body("/" + url.split("://", 1)[1].split("/", 1)[1])
            want[url] = (hashlib.sha256(body).hexdigest(), len(body))
        for slow in ([], ["--slow"]):
            p = run([a.prog("embed_sha256"), *slow, "--list", srv.list_url, site.SELECTOR])
            got = sha256_lines(p.stdout)
            check(len(want) == 233, f"{len(want)} expected pages")
            check(got == want, f"{' '.join(slow)}: {sum(got.get(u) != w for u, w in want.items())}"
                               f" of {len(want)} digests differ")
            summary = p.stderr.strip().splitlines()[-1]
            pauses = int(summary.split("pauses: ")[1].split(",")[0])
            resumes = int(summary.split("resumes: ")[1])
            if slow:
                check(pauses >= 233 and resumes > 0, f"--slow: {summary}")
            else:
                check(pauses == 0, f"without --slow: {summary}")


@case
def stream_sha256_h2(a):
    """The same over HTTPS + HTTP/2 from nginx (tests/e2e_tls.py's server), with a pause after
    every chunk: 16 pages of 200-500 KB on one multiplexed connection, each digest right. This
    is the case where libcurl 7.88 resumes a paused stream only on its 1 s tick unless the
    fetcher runs libcurl's timeouts after the unpause (lib/stream.c)."""
    import tempfile
    import e2e_tls
    with tempfile.TemporaryDirectory(prefix="lf-lib-h2-") as tmp:
        try:
            srv = e2e_tls.Nginx(tmp, 1)
        except e2e_tls.m.Skip as e:
            raise Skip(str(e))
        with srv:
            want = {}
            for i in range(16):
                body = hashlib.sha256(str(i).encode()).hexdigest().encode() * (6000 + i * 600)
                with open(os.path.join(srv.tmp, "www", "p", f"big{i}.bin"), "wb") as f:
                    f.write(body)
                url = f"https://127.0.0.1:{srv.port}/p/big{i}.bin"
                want[url] = (hashlib.sha256(body).hexdigest(), len(body))
            p = run([a.prog("embed_sha256"), "--slow", "--cacert", srv.ca, *want])
            got = sha256_lines(p.stdout)
            check(got == want, f"{sum(got.get(u) != w for u, w in want.items())} of {len(want)}"
                               f" digests differ over HTTP/2")
            summary = p.stderr.strip().splitlines()[-1]
            check(int(summary.split("pauses: ")[1].split(",")[0]) >= 16 * 10, summary)
            protocols = {r[1] for r in srv.log()}
            check(protocols == {"HTTP/2.0"}, f"nginx saw {protocols}, not HTTP/2 alone")
            print(summary)


@case
def threads(a):
    """test_threads: two fetchers on two loops in two threads at once."""
    with Server(0, 20) as srv:
        run([a.prog("test_threads"), srv.base])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    if a.case not in CASES:
        print(f"unknown case {a.case!r}; --list shows them", file=sys.stderr)
        return 2

    def prog(name):
        for sub in ("tests", "."):
            path = os.path.join(a.bin, sub, name)
            if os.access(path, os.X_OK):
                return path
        raise Failure(f"{name} not built under {a.bin}")
    a.prog = prog
    try:
        CASES[a.case](a)
    except Skip as e:
        print(f"{a.case}: skipped: {e}")
        return 77
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    print(f"{a.case}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
