#!/usr/bin/env python3
"""Fault injection: bad servers and bad input. For each fault, the final state of the output
folder, the manifest record (status, HTTP code, attempts), and the exit code.

    python3 tests/e2e/e2e_faults.py --loopfetch build/loopfetch CASE     (or --list)
"""

import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e_modes as m  # noqa: E402
site, check, Server, MANIFEST = m.site, m.check, m.Server, m.MANIFEST

CASES = {}
FAST_RETRY = ["--retry-max-wait", "0.3"]  # keep backoff short; Retry-After cases override


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def fetch(ctx, srv, paths, *opts, name=None):
    """Runs loopfetch over base+paths into a fresh folder; returns (process, {url: record},
    folder)."""
    ctx.runs = getattr(ctx, "runs", 0) + 1
    out = ctx.dir(name or f"out{ctx.runs}")
    urls = [srv.base + p for p in paths]
    p = ctx.run(*opts, "-i", "-", "-o", out, stdin="\n".join(urls) + "\n")
    recs = {r["url"]: r for r in m.manifest(out)}
    check(set(recs) == set(urls), f"manifest lists {sorted(recs)}, not {urls}")
    m.no_temporaries(out)
    return p, recs, out



def failed_with(ctx, srv, path, attempts, error_part, *opts, http=None):
    """One URL that must fail: no file, one failure line, the right record."""
    p, recs, out = fetch(ctx, srv, [path], *opts)
    r = recs[srv.base + path]
    check(p.returncode == 1, f"{path}: exit {p.returncode}, want 1")
    check(r["status"] == "failed", f"{path}: status {r['status']}")
    check(r["attempts"] == attempts, f"{path}: {r['attempts']} attempts, want {attempts}")
    check(error_part.lower() in (r["error"] or "").lower(), f"{path}: error {r['error']!r} "
          f"lacks {error_part!r}")
    if http is not None:
        check(r["http"] == http, f"{path}: http {r['http']}, want {http}")
    check(m.pages_in(out) == set(), f"{path}: files left: {m.pages_in(out)}")
    lines = [l for l in p.stderr.splitlines() if path in l]
    check(len(lines) == 1, f"{path}: want one failure line, got {lines}")
    return r


def saved_ok(ctx, srv, path, attempts, *opts, body_path="/wiki/India"):
    p, recs, out = fetch(ctx, srv, [path], *opts)
    r = recs[srv.base + path]
    check(p.returncode == 0, f"{path}: exit {p.returncode}: {p.stderr[-300:]}")
    check(r["status"] == "saved" and r["attempts"] == attempts,
          f"{path}: {r['status']} after {r['attempts']} attempts, want saved after {attempts}")
    with open(os.path.join(out, r["file"]), "rb") as f:
        check(f.read() == site.page_body(body_path), f"{path}: bytes differ")
    return r


@case
def reset_mid_body(ctx):
    """Connection reset while the body comes: retried (3 retries), then failed; no file."""
    with Server() as srv:
        failed_with(ctx, srv, "/fault/reset-mid-body/wiki/India", 4, "", *FAST_RETRY)
        failed_with(ctx, srv, "/fault/reset-mid-body/wiki/India", 2, "", "--retries", "1",
                    *FAST_RETRY)


@case
def reset_before_response(ctx):
    """Connection reset before any response byte: retried, then failed; no file."""
    with Server() as srv:
        failed_with(ctx, srv, "/fault/reset-before/wiki/India", 3, "", "--retries", "2",
                    *FAST_RETRY)


@case
def rate_limit(ctx):
    """--rate 10: 12 requests are spread over at least 1.1 s (server clock), never bursted."""
    with Server() as srv:
        paths = [f"/fault/fail-then/200/0/wiki/{t}" for t in ("India", "China", "Peru", "Chad",
                 "Fiji", "Mali", "Oman", "Togo", "Cuba", "Iran", "Iraq", "Laos")]
        p, recs, out = fetch(ctx, srv, paths, "--rate", "10")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        times = sorted(t for ts in srv.stats()["fault_request_times"].values() for t in ts)
        check(len(times) == 12, f"{len(times)} requests")
        check(times[-1] - times[0] >= 1.0, f"12 requests in {times[-1] - times[0]:.2f} s at "
              "--rate 10")


@case
def disk_full(ctx):
    """ENOSPC: pages that do not fit fail one line each with the reason; those that fit are
    saved; no temporaries stay behind. (Needs root for a small tmpfs; skipped otherwise.)"""
    mnt = ctx.dir("small-fs")
    os.makedirs(mnt)
    if os.geteuid() != 0 or os.system(f"mount -t tmpfs -o size=1m tmpfs {mnt} 2>/dev/null"):
        raise m.Skip("cannot mount a small tmpfs here")
    try:
        disk_full_on(ctx, mnt)
    finally:
        os.system(f"umount {mnt}")


def disk_full_on(ctx, mnt):
    with Server() as srv:
        urls = site.expected_links(srv.base)[:40]  # 10+ MB: far more than 1 MiB
        out = os.path.join(mnt, "out")
        p = ctx.run("-c", "8", "-i", "-", "-o", out, "--manifest", ctx.dir("m.jsonl"),
                    stdin="\n".join(urls) + "\n")
        check(p.returncode == 1, f"exit {p.returncode}: {p.stderr[-300:]}")
        recs = m.manifest(None, ctx.dir("m.jsonl"))
        full = [r for r in recs if r["status"] == "failed"]
        check(full and all("no space left on device" in r["error"].lower() for r in full),
              f"failures: {[r['error'] for r in full][:3]}")
        saved = [r for r in recs if r["status"] == "saved"]
        check(len(saved) + len(full) == 40, "every URL accounted for")
        present = m.pages_in(out)
        check(present == {r["file"] for r in saved}, f"files present {sorted(present)[:5]} != "
              f"saved {sorted(r['file'] for r in saved)[:5]}")
        m.no_temporaries(out)


def replace_run(ctx, srv, trace=None):
    """Saves 20 pages into a fresh folder, then again with --force over junk put under their
    names: each name must end up with the whole page, in a new file (a hard link to the junk
    keeps the junk: replaced, never rewritten in place), and no ".lf-*" temporary may remain.
    With trace, loopfetch runs under strace with those extra arguments."""
    urls = site.expected_links(srv.base)[:20]
    out = ctx.dir("trace" if trace else "plain")
    log = out + ".strace"

    def run(*args):
        pre = ["strace", "-f", "-qq", "-o", log, *trace] if trace else []
        p = subprocess.run(pre + [ctx.exe, *args, "-i", "-", "-o", out], capture_output=True,
                           text=True, timeout=240, input="\n".join(urls) + "\n")
        ctx.last = (args, p)
        check(p.returncode == 0, f"{args}: exit {p.returncode}: {p.stderr[-300:]}")
        m.check_complete(out, urls)
        m.no_temporaries(out)
        if trace:
            with open(log) as f:
                return f.read()

    first = run()
    names = sorted(m.pages_in(out))
    old = {}
    for i, n in enumerate(names):  # junk both shorter and longer than the page
        path = os.path.join(out, n)
        junk = b"junk\n" if i % 2 else b"x" * (os.path.getsize(path) + 4096)
        with open(path, "wb") as f:
            f.write(junk)
        old[n] = (os.stat(path).st_ino, junk)
    keep = ctx.dir(("trace" if trace else "plain") + "-old-link")
    os.link(os.path.join(out, names[0]), keep)
    again = run("--force")
    check(all(r["status"] == "saved" for r in m.manifest(out)), "--force: not all saved")
    for n in names:
        check(os.stat(os.path.join(out, n)).st_ino != old[n][0], f"{n}: rewritten in place")
    with open(keep, "rb") as f:
        check(f.read() == old[names[0]][1], "the old file changed under its other name")
    return first, again


@case
def replace_existing(ctx):
    """Pages get their final name only when complete (unnamed file + link where the folder
    allows, else temporary + rename); --force replaces existing files whole."""
    with Server() as srv:
        replace_run(ctx, srv)


@case
def replace_existing_named_temporaries(ctx):
    """The same with every linkat failing (under strace), so the probe falls back to named
    temporaries + rename, as on a file system without O_TMPFILE. Skipped without strace."""
    if not shutil.which("strace") or subprocess.run(
            ["strace", "-qq", "-o", os.devnull, "-e", "inject=linkat:error=ENOENT", "true"]
    ).returncode != 0:
        raise m.Skip("strace with syscall injection is not usable here")
    # LeakSanitizer cannot work under ptrace; in the sanitizer build the rest of ASan still does.
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    with Server() as srv:
        trace = ["-e", "trace=openat,linkat,renameat,renameat2", "-e",
                 "inject=linkat:error=ENOENT"]
        for log in replace_run(ctx, srv, trace):
            renames = re.findall(r"renameat2?\(\d+, \"\.lf-\d+-\d+\.part\"", log)
            check(len(renames) == 20, f"{len(renames)} pages renamed from temporaries, not 20")
            check(log.count("O_TMPFILE") <= 1, "unnamed files used although linkat fails")


@case
def content_length_too_long(ctx):
    """Content-Length longer than the body, then a close: partial, retried, failed."""
    with Server() as srv:
        failed_with(ctx, srv, "/fault/truncate/wiki/India", 3, "", "--retries", "2", *FAST_RETRY)


@case
def stall_mid_body(ctx):
    """Half the body, then silence: the stall timeout ends each attempt."""
    with Server() as srv:
        failed_with(ctx, srv, "/fault/stall/wiki/India", 2, "", "--stall-timeout", "1",
                    "--retries", "1", *FAST_RETRY)


@case
def slow_drip_is_not_a_stall(ctx):
    """A body trickling in 4 KiB every 150 ms is slow but alive: saved, first attempt."""
    with Server() as srv:
        saved_ok(ctx, srv, "/fault/drip/150/wiki/Tuvalu", 1, "--stall-timeout", "1",
                 body_path="/wiki/Tuvalu")


def gaps(srv, path):
    t = srv.stats()["fault_request_times"][path]
    return [b - a for a, b in zip(t, t[1:])]


@case
def retry_after_seconds(ctx):
    """503 + Retry-After: 1, twice: saved on the third attempt, each wait at least 1 s."""
    with Server() as srv:
        path = "/fault/retry-after/2/wiki/India"
        saved_ok(ctx, srv, path, 3)
        g = gaps(srv, path)
        check(len(g) == 2 and min(g) >= 0.95, f"waits between attempts {g}: Retry-After is 1 s")


@case
def retry_after_http_date(ctx):
    """429 + Retry-After as an HTTP date 2 s ahead: the wait follows the date."""
    with Server() as srv:
        path = "/fault/retry-after-date/1/wiki/India"
        saved_ok(ctx, srv, path, 2)
        g = gaps(srv, path)
        check(len(g) == 1 and g[0] >= 0.95, f"wait {g}: the date said about 2 s")


@case
def retry_after_capped(ctx):
    """--retry-max-wait caps a long Retry-After: with 0.2 s, no wait reaches the 1 s asked."""
    with Server() as srv:
        path = "/fault/retry-after/2/wiki/India"
        saved_ok(ctx, srv, path, 3, "--retry-max-wait", "0.2")
        g = gaps(srv, path)
        check(len(g) == 2 and max(g) < 0.9, f"waits {g} ignore --retry-max-wait 0.2")


@case
def server_error_then_success(ctx):
    """500 once, then the page: saved, 2 attempts. 502/503/504/408/429 likewise retried."""
    with Server() as srv:
        for code in (500, 502, 503, 504, 408, 429):
            r = saved_ok(ctx, srv, f"/fault/fail-then/{code}/1/wiki/India", 2, *FAST_RETRY)
            check(r["http"] == 200, f"{code}: final http {r['http']}")


@case
def client_errors_not_retried(ctx):
    """404, 403, 410: one attempt, failed, the status in the record."""
    with Server() as srv:
        for code in (404, 403, 410):
            failed_with(ctx, srv, f"/status/{code}", 1, f"HTTP {code}", http=code)
        failed_with(ctx, srv, "/fault/fail-then/500/99/wiki/India", 3, "HTTP 500",
                    "--retries", "2", *FAST_RETRY, http=500)


@case
def redirects(ctx):
    """A 3-hop chain is followed; a loop stops at 10 hops; file:// and ftp:// are refused."""
    with Server() as srv:
        r = saved_ok(ctx, srv, "/redirect/3/wiki/India", 1)
        check(r["file"] == "India.html", f"name {r['file']}")
        failed_with(ctx, srv, "/fault/redirect-loop/x", 1, "redirect")
        failed_with(ctx, srv, "/fault/redirect-to/file", 1, "file")
        failed_with(ctx, srv, "/fault/redirect-to/ftp", 1, "ftp")


@case
def size_cap(ctx):
    """A body over --max-size is aborted, with or without Content-Length; none is written; the
    failure names --max-size and its value (issue 25, item 6)."""
    with Server() as srv:
        failed_with(ctx, srv, "/fault/big/300000", 1, "size limit, --max-size (102400 bytes)",
                    "--max-size", "100k")
        failed_with(ctx, srv, "/fault/big-nolength/300000", 1, "raise --max-size", "--max-size",
                    "100k")
        saved_ok(ctx, srv, "/wiki/India", 1, "--max-size", "2M")


@case
def per_host_cap(ctx):
    """--per-host 2: the server never sees more than 2 connections at once."""
    with Server(100, 200) as srv:
        urls = [u[len(srv.base):] for u in site.expected_links(srv.base)[:20]]
        p, recs, out = fetch(ctx, srv, urls, "--per-host", "2")
        check(p.returncode == 0, f"exit {p.returncode}")
        st = srv.stats()
        check(1 <= st["max_concurrent_connections"] <= 2,
              f"{st['max_concurrent_connections']} connections at once with --per-host 2")


@case
def hostile_names_stay_inside(ctx):
    """Names from '..', '/', control bytes and 300-byte segments stay in the folder."""
    with Server() as srv:
        paths = ["/fault/any/%2E%2E", "/fault/any/a%2Fb%2F..%2F..%2Fescape",
                 "/fault/any/%01%1B%7Fctl", "/fault/any/" + "n" * 300,
                 "/fault/any/" + "%C3%A9" * 150, "/fault/any/.hidden"]
        parent = ctx.tmp
        before = set(os.listdir(parent))
        p, recs, out = fetch(ctx, srv, paths, name="names")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        after = set(os.listdir(parent)) - {"names"}
        check(after == before, f"files appeared next to the folder: {after - before}")
        names = m.pages_in(out)
        check(len(names) == len(paths), f"{len(names)} files for {len(paths)} URLs")
        for n in names:
            raw = n.encode("utf-8", "surrogateescape")
            check(len(raw) <= 255 and "/" not in n and not n.startswith(".") and
                  all(c >= 0x20 and c != 0x7F for c in raw), f"unsafe name {n!r}")


@case
def junk_input(ctx):
    """Junk lines and other schemes fail one line each; good URLs still proceed; an input
    with no URL at all is exit 4."""
    with Server() as srv:
        good = site.expected_links(srv.base)[:3]
        lines = good + ["not a url", "ftp://127.0.0.1/x", "file:///etc/passwd", "  # comment",
                        "", "mailto:x@y"]
        out = ctx.dir("junk")
        p = ctx.run("-i", "-", "-o", out, stdin="\n".join(lines) + "\n")
        check(p.returncode == 1, f"exit {p.returncode}")
        recs = m.manifest(out)
        st = {r["url"]: r["status"] for r in recs}
        check(all(st[u] == "saved" for u in good), "good URLs were not all saved")
        bad = [u for u, s in st.items() if s == "failed"]
        check(len(bad) == 4, f"failed: {bad}")
        for u in bad:
            check(sum(u in l for l in p.stderr.splitlines()) == 1, f"{u}: not one line")
        p = ctx.run("-i", "-", "-o", ctx.dir("empty"), stdin="# nothing\n\n")
        check(p.returncode == 4, f"empty input: exit {p.returncode}")


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-faults-"))
