#!/usr/bin/env python3
"""The library as embedders use it, against the fixture server: streamed bodies
(LF_OUTPUT_CALLBACK, tests/unit/test_stream.c and examples/embed_sha256.c) and two fetchers in two
threads (tests/unit/test_threads.c, also built with ThreadSanitizer by tests/run.sh).

    python3 tests/e2e/e2e_lib.py --loopfetch BUILD/loopfetch CASE     (or --list)

The programs (tests/test_stream, tests/test_threads, embed_sha256) are taken from the build
folder that holds loopfetch."""

import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
from e2e_modes import Server, check, site, Failure, Skip, run_main  # noqa: E402

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def prog(ctx, name):
    """A program of the build folder whose loopfetch (--loopfetch, at its top) was given."""
    build = os.path.dirname(ctx.exe)
    for path in (os.path.join(build, "tests", name), os.path.join(build, name)):
        if os.access(path, os.X_OK):
            return path
    raise Failure(f"{name} is not built next to {ctx.exe}")


def run(args, timeout=180):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    check(p.returncode == 0, f"{os.path.basename(args[0])} exit {p.returncode}:\n"
                             f"{p.stdout[-1500:]}{p.stderr[-1500:]}")
    return p


@case
def stream_callback(ctx):
    """test_stream: paused after every chunk, the streamed bytes equal the page; the body
    callback's rules; no body for a 404; no retry once part of a body was handed out."""
    with Server() as srv:
        run([prog(ctx, "test_stream"), srv.base])


@case
def fetcher_api(ctx):
    """test_fetcher_api (issue 25, items 10-14): zero options are the defaults, add() refuses
    ftp://, file:// and URLs without a scheme at once, error classes and libcurl's codes, every
    header and an error's body when asked, progress as bytes arrive, the easy-handle hook,
    cancel, a per-request timeout, max_redirs, close from a result or body callback without
    re-entering the caller, a need callback alone starts, pending() counts retries."""
    with Server() as srv:
        run([prog(ctx, "test_fetcher_api"), srv.base])


@case
def docs_examples(ctx):
    """The programs of README.md and docs/api.md (tests/docs_examples.py makes them; the
    fragments and synopses are compiled by the build). README's embedding example saves two
    URLs, one failing once with 503, into pages/ in an empty folder it must create, and ends:
    it closes only when no request is in flight, queued or waiting to retry. docs/api.md's
    asynchronous consumer streams a 300,000-byte page through its own queue."""
    with Server() as srv:
        work = ctx.dir("readme-run")
        os.mkdir(work)
        urls = [srv.base + "/small/first", srv.base + "/fault/fail-then/503/1/small/second"]
        p = subprocess.run([prog(ctx, "prog_readme_1"), *urls], capture_output=True, text=True,
                           timeout=60, cwd=work)
        check(p.returncode == 0, f"README example: exit {p.returncode}:\n{p.stdout}{p.stderr}")
        check("(2 attempts)" in p.stdout, f"README example: no retry seen:\n{p.stdout}")
        for i, u in enumerate(urls, 1):
            path = os.path.join(work, "pages", "page%d.html" % i)
            check(os.path.exists(path), f"README example: {path} missing for {u}")
            if os.path.exists(path):
                want = site.small_body(("first", "second")[i - 1], 0)
                with open(path, "rb") as f:
                    check(f.read() == want, f"README example: {path} is not the page")
        # docs/api.md's one program, numbered by its place among the document's code blocks
        api_prog = [n for n in os.listdir(os.path.join(os.path.dirname(ctx.exe), "tests"))
                    if n.startswith("prog_api_") and "." not in n]
        check(len(api_prog) == 1, f"docs/api.md's program: built {api_prog}")
        p = subprocess.run([prog(ctx, api_prog[0]), srv.base + "/fault/big/300000"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and "ok, 300000 bytes consumed" in p.stdout,
              f"asynchronous consumer: exit {p.returncode}:\n{p.stdout}{p.stderr}")


def sha256_lines(out):
    got = {}
    for line in out.splitlines():
        digest, size, url = line.split("  ")
        got[url] = (digest, int(size))
    return got


@case
def stream_sha256(ctx):
    """examples/embed_sha256 hashes each of the 233 pages as it streams; every digest is the
    SHA-256 of the bytes the server sent. With --slow it pauses after each chunk and resumes
    from a timer: the same digests, and the pauses really happened."""
    with Server(0, 20) as srv:
        want = {}
        for url in site.expected_links(srv.base):
            body = site.page_body("/" + url.split("://", 1)[1].split("/", 1)[1])
            want[url] = (hashlib.sha256(body).hexdigest(), len(body))
        for slow in ([], ["--slow"]):
            p = run([prog(ctx, "embed_sha256"), *slow, "--list", srv.list_url, site.SELECTOR])
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
def stream_sha256_h2(ctx):
    """The same over HTTPS + HTTP/2 from nginx (tests/e2e/e2e_tls.py's server), with a pause after
    every chunk: 16 pages of 200-500 KB on one multiplexed connection, each digest right. This
    is where libcurl 7.88 was seen to resume a paused stream only on its 1 s tick (see the
    comment at lf__loop_kick in lib/engine/stream.c for what was measured)."""
    import e2e_tls
    try:
        srv = e2e_tls.Nginx(ctx.tmp, 1)
    except e2e_tls.m.Skip as e:  # e2e_tls loads its own copy of e2e_modes
        raise Skip(str(e))
    with srv:
        want = {}
        for i in range(16):
            body = hashlib.sha256(str(i).encode()).hexdigest().encode() * (6000 + i * 600)
            with open(os.path.join(srv.tmp, "www", "p", f"big{i}.bin"), "wb") as f:
                f.write(body)
            url = f"https://127.0.0.1:{srv.port}/p/big{i}.bin"
            want[url] = (hashlib.sha256(body).hexdigest(), len(body))
        p = run([prog(ctx, "embed_sha256"), "--slow", "--cacert", srv.ca, *want])
        got = sha256_lines(p.stdout)
        check(got == want, f"{sum(got.get(u) != w for u, w in want.items())} of {len(want)}"
                           f" digests differ over HTTP/2")
        summary = p.stderr.strip().splitlines()[-1]
        check(int(summary.split("pauses: ")[1].split(",")[0]) >= 16 * 10, summary)
        protocols = {r[1] for r in srv.log()}
        check(protocols == {"HTTP/2.0"}, f"nginx saw {protocols}, not HTTP/2 alone")
        print(summary)


@case
def extract_example(ctx):
    """examples/crawl_extract: a two-level crawl on the caller's loop (list page, then the 233
    pages it links), records extracted from every page with lf_extract_page(); each record's
    fields equal what the page's bytes say (read here with regular expressions, not a parser).
    A malformed field is refused before any request, with its position."""
    import json
    import re
    import html as htmlmod
    exe = prog(ctx, "crawl_extract")
    with Server(0, 20) as srv:
        p = run([exe, srv.list_url, site.SELECTOR, "name=h1", "first=#mw-content-text p a::url(href)",
                 "heads[]=h2 .mw-headline::attr(id)", "missing=table.nothing"])
        got = {}
        for line in p.stdout.splitlines():
            rec = json.loads(line)
            check(list(rec) == ["url", "parent", "name", "first", "heads", "missing"],
                  f"keys {list(rec)}")
            check(rec["url"] not in got, f"{rec['url']} twice")
            got[rec["url"]] = rec
        links = site.expected_links(srv.base)
        check(sorted(got) == sorted(links), f"{len(got)} records for {len(links)} pages")
        for url in links:
            body = site.page_body("/" + url.split("://", 1)[1].split("/", 1)[1]).decode()
            rec = got[url]
            name = htmlmod.unescape(re.search(r'<h1 id="firstHeading">([^<]*)</h1>', body)[1])
            first = re.search(r'<p>[^<]* See <a href="([^"]+)">', body)[1]
            heads = re.findall(r'<span class="mw-headline" id="([^"]+)">', body)
            want = {"url": url, "parent": srv.list_url, "name": name, "first": srv.base + first,
                    "heads": heads, "missing": None}
            check(rec == want, f"{url}: got {json.dumps(rec)[:300]}, want {json.dumps(want)[:300]}")
        bad = subprocess.run([exe, srv.list_url, site.SELECTOR, "name=h1", "pop=td::txt"],
                             capture_output=True, text=True, timeout=60)
        check(bad.returncode == 2 and "at position 6" in bad.stderr, f"bad field: {bad.stderr}")


@case
def threads(ctx):
    """test_threads: two fetchers on two loops in two threads at once."""
    with Server(0, 20) as srv:
        run([prog(ctx, "test_threads"), srv.list_url])


if __name__ == "__main__":
    sys.exit(run_main(CASES, "lf-e2e-lib-"))
