#!/usr/bin/env python3
"""Promises that must hold when a careless user, a planted file or a crash gets in the way
(issue 12, the program's side): the manifest is never followed through a symlink nor opened on
a FIFO, one run per manifest, records survive kill -9, a rerun skips only what a manifest proves
saved, closed stdio, stdin read as lines arrive, records of any length, --compare passes signals
on, secrets and control characters never shown, leftovers removed, and a chaos run killed at
random moments that still ends complete.

    python3 tests/e2e/e2e_hostile.py --loopfetch build/loopfetch CASE     (or --list)

Each case checks the folder, the manifest and the exit code. The server here is a small one of
its own (a thread in this process): it takes request lines of any length and answers every
path with bytes derived from the path, after /d/<ms>/ a delay.
"""

import asyncio
import collections
import glob
import hashlib
import json
import os
import pty
import random
import resource
import select
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e_modes as m  # noqa: E402
check, MANIFEST = m.check, m.MANIFEST

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def body_of(target):
    """The bytes the server answers for a request target: derived from it, 100 B to 20 KB."""
    h = hashlib.sha256(target.encode("latin-1")).hexdigest()
    n = 100 + int(h[:8], 16) % 20000
    return (("<p>%s</p>\n" % h) * (n // 74 + 1)).encode()[:n]


class Srv:
    """HTTP/1.1 with keep-alive on 127.0.0.1, in a thread; counts requests per target."""

    def __init__(self):
        self.requests = collections.Counter()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)
        self.base = f"http://127.0.0.1:{self.port}"

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        srv = self.loop.run_until_complete(asyncio.start_server(
            self._handle, "127.0.0.1", 0, limit=1 << 22))  # request lines of any length
        self.port = srv.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode("latin-1")
                self.requests[target] += 1
                if target.startswith("/d/"):
                    await asyncio.sleep(int(target.split("/")[2]) / 1000)
                if target.startswith("/404/"):
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    body = body_of(target)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass  # a daemon thread: it ends with the driver, quietly


def records(path):
    """Every line of a manifest as JSON (a line that does not parse fails the case)."""
    out = []
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            try:
                out.append(json.loads(line))
            except ValueError:
                raise m.Failure(f"{path}: line {i + 1} does not parse: {line[:80]!r}")
    return out


def last_records(folder, pattern="loopfetch-manifest*.jsonl"):
    last = {}
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
        for r in records(path):
            last[r["url"]] = r
    return last


def pages(folder):
    return {n for n in os.listdir(folder)
            if not n.startswith("loopfetch-") and not n.startswith(".lf-")}


def check_bytes(folder, recs):
    """Each saved or skipped record's file holds the server's bytes for its URL."""
    for url, r in recs.items():
        check(r["status"] in ("saved", "skipped"), f"{url}: last record {r['status']}")
        target = "/" + url.split("://", 1)[1].split("/", 1)[1]
        with open(os.path.join(folder, r["file"]), "rb") as f:
            check(f.read() == body_of(target), f"{r['file']}: bytes differ from the server's")


def run(ctx, *args, stdin=None, timeout=120, **kw):
    p = subprocess.run([ctx.exe, *args], capture_output=True, text=True, input=stdin, errors="replace",
                       timeout=timeout, **kw)
    ctx.last = (args, p)
    return p


def lines_of(urls):
    return "\n".join(urls) + "\n"


# ---- 1. the manifest: never through a symlink, never a FIFO or device ----

@case
def manifest_symlink_fifo(ctx):
    """A symlink planted as the manifest is never followed, a FIFO never opened for good (no
    hang), a device never used: one line, exit 5, nothing fetched, the target untouched."""
    with Srv() as srv:
        url = srv.base + "/a/one"
        victim = ctx.dir("victim")
        with open(victim, "w") as f:
            f.write("keep\n")
        for kind in ("symlink", "fifo", "device", "user-symlink"):
            out = ctx.dir("out-" + kind)
            os.makedirs(out)
            opts = []
            if kind == "symlink":
                os.symlink("../victim", os.path.join(out, MANIFEST))
            elif kind == "fifo":
                os.mkfifo(os.path.join(out, MANIFEST))
            elif kind == "device":
                os.symlink("/dev/null", ctx.dir("null-link"))
                opts = ["--manifest", "/dev/null"]
            else:
                os.symlink(victim, ctx.dir("m-link"))
                opts = ["--manifest", ctx.dir("m-link")]
            p = run(ctx, *opts, "-i", "-", "-o", out, stdin=lines_of([url]), timeout=20)
            check(p.returncode == 5, f"{kind}: exit {p.returncode}, want 5")
            errs = p.stderr.strip().splitlines()
            check(len(errs) == 1 and "manifest" in errs[0], f"{kind}: stderr {errs}")
            with open(victim) as f:
                check(f.read() == "keep\n", f"{kind}: the symlink's target was written")
            check(pages(out) == set(), f"{kind}: pages fetched: {pages(out)}")
            check(srv.requests["/a/one"] == 0, f"{kind}: the page was requested")


# ---- 2. one run per manifest; shards share a folder ----

def start(ctx, *args, stdin=None, **kw):
    p = subprocess.Popen([ctx.exe, *args], stdin=subprocess.PIPE if stdin is not None else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if stdin is not None:
        p.stdin.write(stdin)
        p.stdin.close()
        p.stdin = None  # communicate() must not touch it again
    return p


def wait_for(cond, what, timeout=30):
    deadline = time.time() + timeout
    while not cond():
        check(time.time() < deadline, f"timed out waiting for {what}")
        time.sleep(0.02)


@case
def concurrent_runs(ctx):
    """A second run on a manifest in use is refused at start (exit 5, one line naming the
    first run's pid) and the first run's manifest stays whole; shards K/N run side by side in
    one folder, each with its own manifest."""
    with Srv() as srv:
        urls = [f"{srv.base}/d/200/c{i}" for i in range(200)]
        out = ctx.dir("out")
        first = start(ctx, "-c", "20", "-i", "-", "-o", out, stdin=lines_of(urls))
        wait_for(lambda: os.path.exists(os.path.join(out, MANIFEST)) and
                 os.path.getsize(os.path.join(out, MANIFEST)) > 0, "the first run's records")
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of(urls))
        check(first.poll() is None, "the first run ended too soon for this test")
        check(p.returncode == 5, f"second run: exit {p.returncode}, want 5")
        errs = p.stderr.strip().splitlines()
        check(len(errs) == 1 and f"pid {first.pid}" in errs[0], f"second run said {errs}")
        _, err = first.communicate(timeout=120)
        check(first.returncode == 0, f"first run: exit {first.returncode}: {err[-300:]}")
        recs = records(os.path.join(out, MANIFEST))
        check(sorted(r["url"] for r in recs) == sorted(urls), "manifest: not each URL once")
        check_bytes(out, {r["url"]: r for r in recs})
        shared = ctx.dir("shared")
        runs = [start(ctx, "--shard", f"{k}/2", "-c", "20", "-i", "-", "-o", shared,
                      stdin=lines_of(urls)) for k in (1, 2)]
        for k, r in enumerate(runs, 1):
            _, err = r.communicate(timeout=120)
            check(r.returncode == 0, f"--shard {k}/2: exit {r.returncode}: {err[-300:]}")
        names = sorted(os.path.basename(n) for n in glob.glob(os.path.join(shared, "loop*")))
        check(names == ["loopfetch-manifest.1-of-2.jsonl", "loopfetch-manifest.2-of-2.jsonl"],
              f"shard manifests: {names}")
        last = last_records(shared)
        check(sorted(last) == sorted(urls), "the shards' manifests do not cover the list")
        check_bytes(shared, last)


# ---- 3. durable records, torn last line repaired ----

@case
def manifest_durable_torn(ctx):
    """kill -9 mid-run: every page file present has its record (no record waits in a
    buffer); a last line torn by the kill is cut off by the next run, whose page is then
    fetched again; every line parses."""
    with Srv() as srv:
        fast = [f"{srv.base}/s/k{i}" for i in range(60)]
        slow = [f"{srv.base}/d/30000/z{i}" for i in range(60)]
        urls = fast + slow
        out = ctx.dir("out")
        p = start(ctx, "-c", "200", "-i", "-", "-o", out, stdin=lines_of(urls))
        wait_for(lambda: len(pages(out)) == 60 if os.path.isdir(out) else False, "60 pages")
        time.sleep(0.5)  # the fast pages' records are due; the slow pages keep the run going
        check(p.poll() is None, "the run ended before the kill")
        p.kill()
        p.communicate()
        recs = records(os.path.join(out, MANIFEST))
        got = {r["file"] for r in recs if r["status"] == "saved"}
        check(got == pages(out), f"{len(pages(out))} pages but {len(got)} records after kill -9")
        # A kill in the middle of a write leaves part of a line: made here, at a known place.
        path = os.path.join(out, MANIFEST)
        with open(path, "rb") as f:
            data = f.read()
        cut = data.rstrip(b"\n").rfind(b"\n") + 1
        torn = json.loads(data[cut:])
        with open(path, "wb") as f:
            f.write(data[:cut + 40])
        urls = fast + [u.replace("/d/30000/", "/s/") for u in slow]
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of(urls))
        check(p.returncode == 0, f"rerun: exit {p.returncode}: {p.stderr[-300:]}")
        check("cut short" in p.stderr, "the repair was not reported")
        recs = records(path)  # every line parses
        again = [r for r in recs if r["url"] == torn["url"]]
        check(again and again[-1]["status"] == "saved" and srv.requests[
            "/" + torn["url"].split("/", 3)[3]] == 2, "the torn record's page was not fetched again")
        last = last_records(out)
        check(sorted(last) == sorted(urls), "not every URL has a record")
        check_bytes(out, last)


# ---- 4. the rerun skip trusts a manifest, not a name ----

@case
def rerun_skip_needs_record(ctx):
    """A page is skipped only when a manifest records this URL saved under this name and the
    file still has its size: a file cut short or replaced, or no manifest at all, and it is
    fetched again. A URL keeps its name in a later run (issue 25, item 3): B alone is still
    index~2.html, and A's index.html is never given to it."""
    with Srv() as srv:
        a, b = srv.base + "/A/index", srv.base + "/B/index"
        out = ctx.dir("out")
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([a, b]))
        check(p.returncode == 0, f"run 1: exit {p.returncode}")
        check(pages(out) == {"index.html", "index~2.html"}, f"run 1 files: {pages(out)}")
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([b]))
        check(p.returncode == 0, f"run 2: exit {p.returncode}: {p.stderr[-300:]}")
        last = last_records(out)
        check(last[b]["status"] == "skipped" and last[b]["file"] == "index~2.html",
              f"B alone: {last[b]['status']} as {last[b]['file']}")
        check_bytes(out, {a: last[a], b: last[b]})
        with open(os.path.join(out, "index~2.html"), "r+b") as f:
            f.truncate(50)
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([b]))
        check(p.returncode == 0 and last_records(out)[b]["status"] == "saved",
              "a file cut short was skipped")
        check_bytes(out, {b: last_records(out)[b]})
        os.unlink(os.path.join(out, MANIFEST))
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([b]))
        check(p.returncode == 0 and last_records(out)[b]["status"] == "saved",
              "skipped without any manifest saying so")
        check(srv.requests["/B/index"] == 3, f"B fetched {srv.requests['/B/index']} times, want 3")


# ---- 5. closed stdin, stdout, stderr ----

@case
def closed_std_fds(ctx):
    """<&-, >&-, 2>&- (also with -p 2 and -i -): no abort; pages and manifest complete."""
    with Srv() as srv:
        urls = [f"{srv.base}/s/p{i}" for i in range(20)]
        lst = ctx.dir("urls.txt")
        with open(lst, "w") as f:
            f.write(lines_of(urls))
        for i, (redir, opts) in enumerate([("<&-", "-i urls.txt"), (">&-", "-i urls.txt"),
                                           ("2>&-", "-i urls.txt"), ("<&- >&- 2>&-", "-i urls.txt"),
                                           ("<&-", "-p 2 -i urls.txt"), (">&- 2>&-", "-p 2 -i urls.txt"),
                                           ("2>&-", "-p 2 -i - <urls.txt"), (">&-", "-i - <urls.txt")]):
            out = f"out{i}"
            cmd = f'exec "$0" {opts} -o {out} {redir}'
            p = subprocess.run(["sh", "-c", cmd, ctx.exe], cwd=ctx.tmp, capture_output=True,
                               text=True, timeout=120)
            ctx.last = ((cmd,), p)
            check(p.returncode == 0, f"{cmd}: exit {p.returncode}: {p.stderr[-300:]}")
            last = last_records(os.path.join(ctx.tmp, out))
            check(sorted(last) == sorted(urls), f"{cmd}: {len(last)} records")
            check_bytes(os.path.join(ctx.tmp, out), last)


# ---- 6. stdin read on the loop ----

@case
def stdin_streams(ctx):
    """-i -: a line is fetched as soon as it arrives, while the writer stays silent, and
    SIGTERM then ends the run at once with 143, the page recorded (also with -p 2, which reads
    the whole list before it starts)."""
    with Srv() as srv:
        for opts in ([], ["-p", "2"]):
            out = ctx.dir("out" + "".join(opts))
            p = subprocess.Popen([ctx.exe, *opts, "-i", "-", "-o", out], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            p.stdin.write(srv.base + "/s/first\n")
            p.stdin.flush()
            if not opts:
                wait_for(lambda: os.path.exists(os.path.join(out, "first.html")),
                         "the first line's page while stdin stays open")
            else:
                wait_for(lambda: os.path.exists(os.path.join(out, MANIFEST)), "the -p run's start")
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)  # stdin stays open: communicate() would close it
            except subprocess.TimeoutExpired:
                p.kill()
                raise m.Failure(f"{opts}: SIGTERM ignored while stdin is open")
            p.stdin.close()
            err = p.stderr.read()
            check(p.returncode == 143, f"{opts}: exit {p.returncode} after SIGTERM: {err[-300:]}")
            recs = records(os.path.join(out, MANIFEST))
            if not opts:
                check([r["status"] for r in recs] == ["saved"], f"records: {recs}")
                check_bytes(out, {r["url"]: r for r in recs})
        # The last line of a pipe without its newline: a line all the same.
        for opts in ([], ["-p", "2"]):
            out = ctx.dir("nonl" + "".join(opts))
            p = run(ctx, *opts, "-i", "-", "-o", out, stdin=f"{srv.base}/s/last")
            check(p.returncode == 0, f"{opts} no final newline: exit {p.returncode}: {p.stderr}")
            last = last_records(out)
            check(len(last) == 1, f"{opts}: records {list(last)}")
            check_bytes(out, last)


# ---- 7. records of any length ----

@case
def long_url_records(ctx):
    """A 60 KB URL (under LF_URL_MAX) is saved and recorded whole, in one loop and with -p 2; a
    100 KB one is over the cap (issue 28, item 20): recorded failed with the reason, exit 1,
    the others saved."""
    with Srv() as srv:
        url = srv.base + "/long/page?q=" + "x" * 60_000
        over = srv.base + "/long/page?q=" + "y" * 100_000
        for opts in ([], ["-p", "2"]):
            out = ctx.dir("out" + "".join(opts))
            p = run(ctx, *opts, "-i", "-", "-o", out,
                    stdin=lines_of([url, over, srv.base + "/s/short"]))
            check(p.returncode == 1, f"{opts}: exit {p.returncode}: {p.stderr[-300:]}")
            check("longer than 65536 bytes" in p.stderr, f"{opts}: no reason: {p.stderr[-300:]}")
            recs = records(os.path.join(out, MANIFEST))
            saved = {r["url"] for r in recs if r["status"] == "saved"}
            check(url in saved and srv.base + "/s/short" in saved,
                  f"{opts}: long URL's record missing: {[r['url'][:60] for r in recs]}")
            check(any(r["status"] == "failed" and r["url"].startswith(over[:200]) for r in recs),
                  f"{opts}: the URL over the cap is not recorded failed")
            check_bytes(out, {r["url"]: r for r in recs if r["status"] == "saved"})


@case
def sighup_stops_cleanly(ctx):
    """Issue 28, item 14: SIGHUP (the terminal closed) stops a run as SIGTERM does: exit 129,
    every URL recorded (the pages in flight and those never started as interrupted), the
    summary written. Sent to the whole process group, as a hang-up is: -p 2's workers leave
    the decision to their parent."""
    with Srv() as srv:
        urls = [f"{srv.base}/d/20000/p{i}" for i in range(30)]
        lst = ctx.dir("urls.txt")
        with open(lst, "w") as f:
            f.write(lines_of(urls))
        for opts in ([], ["-p", "2"], ["-c", "4"]):
            out = ctx.dir("out" + "".join(opts))
            p = start(ctx, *opts, "-i", lst, "-o", out, start_new_session=True)
            before = sum(srv.requests.values())
            wait_for(lambda: sum(srv.requests.values()) >= before + 4, "requests in flight")
            os.killpg(p.pid, signal.SIGHUP)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                raise m.Failure(f"{opts}: SIGHUP did not stop the run")
            check(p.returncode == 129, f"{opts}: exit {p.returncode} after SIGHUP: {err[-300:]}")
            check("hung up: stopping" in err and "interrupted" in err.splitlines()[-1],
                  f"{opts}: no summary after SIGHUP: {err[-300:]}")
            last = last_records(out)
            check(sorted(last) == sorted(urls) and
                  all(r["status"] == "interrupted" for r in last.values()),
                  f"{opts}: records {collections.Counter(r['status'] for r in last.values())}, "
                  f"{len(last)} of {len(urls)} URLs")


@case
def stop_kills_a_stuck_worker(ctx):
    """-p 2: a worker that cannot act on its parent's SIGTERM (here stopped by SIGSTOP; a worker
    that missed the signal while it started is the same) is killed 5 s after the stop, and its
    pages are recorded interrupted by the parent: the run ends with 143, every URL recorded.
    Before, the parent waited for that worker for ever."""
    with Srv() as srv:
        urls = [f"{srv.base}/d/60000/p{i}" for i in range(8)]
        lst = ctx.dir("urls.txt")
        with open(lst, "w") as f:
            f.write(lines_of(urls))
        out = ctx.dir("out")
        p = start(ctx, "-p", "2", "-i", lst, "-o", out)
        wait_for(lambda: sum(srv.requests.values()) >= 8, "requests in flight")
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
        workers = [int(x) for x in kids.stdout.split()]
        check(len(workers) == 2, f"workers: {workers}")
        os.kill(workers[0], signal.SIGSTOP)
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            p.kill()
            os.kill(workers[0], signal.SIGKILL)
            raise m.Failure("SIGTERM did not end the run while a worker was stopped")
        check(p.returncode == 143, f"exit {p.returncode}: {err[-300:]}")
        check("did not stop within" in err, f"no line about the killed worker: {err[-300:]}")
        last = last_records(out)
        check(sorted(last) == sorted(urls) and
              all(r["status"] == "interrupted" for r in last.values()),
              f"records {collections.Counter(r['status'] for r in last.values())}")


@case
def sigterm_while_manifests_load(ctx):
    """Issue 28, item 15: SIGTERM (and SIGINT, SIGHUP) while the folder's manifests load stops
    the run at once with its exit code, not after the load. The load is made endless with a
    sparse 1 TB manifest beside the run's (read as one line over the cap, never held)."""
    with Srv() as srv:
        for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)):
            out = ctx.dir(f"out{code}")
            os.makedirs(out)
            with open(os.path.join(out, "loopfetch-manifest.9-of-9.jsonl"), "wb") as f:
                f.truncate(1 << 40)
            p = start(ctx, "-i", "-", "-o", out, stdin=lines_of([srv.base + "/s/a"]))
            wait_for(lambda: os.path.exists(os.path.join(out, MANIFEST)), "the run's manifest")
            time.sleep(0.2)  # inside the load: it takes minutes
            check(p.poll() is None, f"{sig.name}: the run ended during the load: {p.returncode}")
            p.send_signal(sig)
            try:
                _, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                raise m.Failure(f"{sig.name} waited for the manifests' load")
            check(p.returncode == code, f"{sig.name}: exit {p.returncode}, want {code}: {err[-300:]}")
            check(srv.requests["/s/a"] == 0, f"{sig.name}: a page was fetched after the signal")


def fds_on(pid, path):
    """How many of pid's descriptors are open on path."""
    n, real = 0, os.path.realpath(path)
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == real
        except OSError:
            pass
    return n


@case
def sigterm_while_refresh_loads(ctx):
    """Issue 28, item 15, --refresh's own read of the run's manifest (after the load of the
    folder's manifests, as long as it: its validators) stops on SIGTERM at once too. The run is
    frozen (SIGSTOP) while it reads a sparse 256 MB manifest beside its own, its own manifest
    (read already) grows to a sparse 1 TB, and the run goes on: --refresh's read, which opens the
    run's manifest once more, now takes minutes; SIGTERM must end the run with 143, nothing
    fetched."""
    with Srv() as srv:
        for size in (256 << 20, 2 << 30):  # a bigger one if the load outran the freeze
            out = ctx.dir(f"refresh{size >> 20}")
            os.makedirs(out)
            own = os.path.join(out, MANIFEST)
            with open(own, "w") as f:
                f.write(json.dumps({"url": srv.base + "/s/a", "file": "a.html",
                                    "status": "saved", "bytes": 1}) + "\n")
            other = os.path.join(out, "loopfetch-manifest.9-of-9.jsonl")
            with open(other, "wb") as f:
                f.truncate(size)
            p = start(ctx, "--refresh", "-i", "-", "-o", out, stdin=lines_of([srv.base + "/s/b"]))
            wait_for(lambda: p.poll() is not None or fds_on(p.pid, other) > 0,
                     "the load of the manifest beside the run's")
            p.send_signal(signal.SIGSTOP)
            # two descriptors on it while it loads (the reader's, and the one the index keeps)
            frozen = p.poll() is None and fds_on(p.pid, other) >= 2
            opened = fds_on(p.pid, own) if frozen else 0
            with open(own, "r+b") as f:  # the run's own: read already, --refresh reads it again
                f.truncate(1 << 40)
            p.send_signal(signal.SIGCONT)
            # the other manifest was still being read: --refresh's open of the run's comes later
            if frozen:
                wait_for(lambda: p.poll() is not None or fds_on(p.pid, own) > opened,
                         "--refresh's read of the run's manifest", timeout=120)
            if p.poll() is not None or not frozen:
                p.kill()
                p.communicate()
                continue  # the load ended before the freeze: again with a longer one
            p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                raise m.Failure("SIGTERM waited for --refresh's read of the manifest")
            check(p.returncode == 143, f"exit {p.returncode}, want 143: {err[-300:]}")
            check(srv.requests["/s/b"] == 0, "a page was fetched after the signal")
            return
        raise m.Failure("the loads outran the test twice: no round reached --refresh's read")


# ---- 8. --compare passes signals on ----

@case
def compare_signals(ctx):
    """SIGTERM (SIGINT) to --compare: its run gets it too, is waited for, exit 143 (130); no
    run is left fetching."""
    with Srv() as srv:
        lst = ctx.dir("urls.txt")
        with open(lst, "w") as f:
            f.write(lines_of([f"{srv.base}/d/500/p{i}" for i in range(100)]))
        for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            out = ctx.dir(f"cmp{code}")
            p = start(ctx, "--compare", "-p", "2", "-i", lst, "-o", out)
            wait_for(lambda: m.worker_pids(p.pid) and os.path.exists(
                os.path.join(out, "sequential", MANIFEST)), "the first run")
            kid = m.worker_pids(p.pid)[0]
            p.send_signal(sig)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                raise m.Failure(f"{sig.name}: --compare did not end")
            check(p.returncode == code, f"{sig.name}: exit {p.returncode}, want {code}: {err[-300:]}")
            check(not os.path.exists(f"/proc/{kid}"), f"{sig.name}: the run {kid} outlived --compare")
            check(not os.path.exists(os.path.join(out, "loop")), f"{sig.name}: a next run started")
            recs = records(os.path.join(out, "sequential", MANIFEST))
            check(recs and all(r["status"] in ("saved", "interrupted") for r in recs),
                  f"{sig.name}: the run's records")
        # Ctrl-C at a terminal reaches --compare and its run alike: the run must get that one
        # SIGINT (a clean stop: every URL recorded), not a second one passed on (quit at once).
        out = ctx.dir("cmp-tty")
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(ctx.exe, [ctx.exe, "--compare", "-p", "2", "-i", lst, "-o", out])
        seq = os.path.join(out, "sequential", MANIFEST)
        wait_for(lambda: os.path.exists(seq) and os.path.getsize(seq) > 0, "the first run")
        os.write(fd, b"\x03")
        deadline, status = time.time() + 30, None
        while status is None and time.time() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    os.read(fd, 4096)  # drain the terminal
                except OSError:
                    pass
            done, st = os.waitpid(pid, os.WNOHANG)
            status = os.waitstatus_to_exitcode(st) if done else None
        if status is None:
            os.kill(pid, signal.SIGKILL)
            raise m.Failure("Ctrl-C: --compare did not end")
        check(status == 130, f"Ctrl-C: exit {status}, want 130")
        recs = records(seq)
        check(sorted(r["url"] for r in recs) == sorted(lines_of([f"{srv.base}/d/500/p{i}" for i in
              range(100)]).split()), f"Ctrl-C: {len(recs)} records: the run did not stop cleanly")


# ---- 9. the manifest write error ----

@case
def manifest_write_error(ctx):
    """The manifest cannot grow (here: a file size limit): one line naming the manifest and
    the reason, exit 5, the records before it intact."""
    with Srv() as srv:
        urls = [f"{srv.base}/s/w{i}" for i in range(300)]
        out = ctx.dir("out")
        os.makedirs(out)

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # ignored across exec: EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of(urls), preexec_fn=limit)
        check(p.returncode == 5, f"exit {p.returncode}, want 5")
        want = f"cannot write manifest {out}/{MANIFEST}: File too large"
        check(want in p.stderr, f"stderr lacks {want!r}: {p.stderr[-400:]}")
        recs = records(os.path.join(out, MANIFEST))
        check(0 < len(recs) < 300, f"{len(recs)} records")


# ---- 10. smaller items ----

@case
def leftovers_removed(ctx):
    """Temporaries of a process that no longer exists are removed by the next run, also those of
    a zombie (a worker killed with its parent, not yet reaped); those of a live process
    (another run sharing the folder) are kept."""
    with Srv() as srv:
        out = ctx.dir("out")
        os.makedirs(out)
        dead = subprocess.Popen(["true"])
        dead.wait()
        zombie = subprocess.Popen(["true"])  # not waited for until the run is over
        while not open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].startswith(" Z"):
            time.sleep(0.01)
        gone = os.path.join(out, f".lf-{dead.pid}-3.part")
        undead = os.path.join(out, f".lf-{zombie.pid}-1.part")
        live = os.path.join(out, f".lf-{os.getpid()}-3.part")
        for path in (gone, undead, live):
            with open(path, "w") as f:
                f.write("partial")
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([srv.base + "/s/x"]))
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        zombie.wait()
        check(not os.path.exists(gone), "a dead run's temporary was left")
        check(not os.path.exists(undead), "a zombie's temporary was left")
        check(os.path.exists(live), "a live process's temporary was removed")
        check_bytes(out, last_records(out))


@case
def input_nul_control_secret(ctx):
    """An input line with a NUL is refused whole (not fetched cut short); control characters
    from input are escaped in messages; user:password@ shows as ***@ on stderr and in the
    manifest."""
    with Srv() as srv:
        out = ctx.dir("out")
        host = srv.base.split("://")[1]
        nul = srv.base + "/n/short\0long"
        esc = "junk\x1b[2J\x1b]0;title\x07"
        secret = f"http://alice:s3cr3t@{host}/404/x"
        saved = f"http://bob:hunter2@{host}/s/y"
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([nul, esc, secret, saved]))
        check(p.returncode == 1, f"exit {p.returncode}, want 1")
        check(srv.requests["/n/short"] == 0, "the line cut at its NUL was fetched")
        check("NUL" in p.stderr, f"no message about the NUL: {p.stderr}")
        check("\x1b" not in p.stderr and "\x07" not in p.stderr and "\\x1b" in p.stderr,
              f"control characters reached stderr raw: {p.stderr!r}")
        with open(os.path.join(out, MANIFEST)) as f:
            text = f.read()
        for word in ("s3cr3t", "hunter2", "alice", "bob"):
            check(word not in p.stderr and word not in text, f"{word!r} shown")
        last = last_records(out)
        check(last[f"http://***@{host}/s/y"]["status"] == "saved", f"records: {list(last)}")
        check(last[f"http://***@{host}/404/x"]["status"] == "failed", "the 404's record")
        check(pages(out) == {"y.html"}, f"files: {pages(out)}")


@case
def worker_sigterm(ctx):
    """SIGTERM to one -p worker: its pages are fetched again by the parent, as after a
    SIGKILL; every page ends saved, exit 0."""
    with Srv() as srv:
        urls = [f"{srv.base}/d/{300 + i * 7919 % 600}/t{i}" for i in range(120)]
        out = ctx.dir("out")
        p = start(ctx, "-p", "2", "-c", "10", "-i", "-", "-o", out, stdin=lines_of(urls))
        wait_for(lambda: len(m.worker_pids(p.pid)) == 2 and os.path.exists(os.path.join(out, MANIFEST))
                 and os.path.getsize(os.path.join(out, MANIFEST)) > 0, "two workers at work")
        os.kill(m.worker_pids(p.pid)[0], signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        check(p.returncode == 0, f"exit {p.returncode}: {err[-400:]}")
        last = last_records(out)
        check(sorted(last) == sorted(urls), "not every URL recorded")
        check_bytes(out, last)
        m.no_temporaries(out)


@case
def links_to_full_disk(ctx):
    """--links into /dev/full: one error line, exit 5 (not a silent 0)."""
    with m.Server() as srv:
        with open("/dev/full", "w") as full:
            p = subprocess.run([ctx.exe, "--links", srv.list_url], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        ctx.last = (("--links",), p)
        check(p.returncode == 5, f"exit {p.returncode}, want 5")
        errs = p.stderr.strip().splitlines()
        check(len(errs) == 1 and "No space left" in errs[0], f"stderr: {errs}")


@case
def too_few_fds(ctx):
    """ulimit -n 24: one clear line before any request, exit 5, nothing fetched."""
    with Srv() as srv:
        out = ctx.dir("out")

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
        p = run(ctx, "-i", "-", "-o", out, stdin=lines_of([srv.base + "/s/f"]),
                preexec_fn=limit)
        check(p.returncode == 5, f"exit {p.returncode}, want 5")
        check("too few file descriptors" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
              f"stderr: {p.stderr}")
        check(sum(srv.requests.values()) == 0, "requests were made")
        check(not os.path.exists(out), "the folder was created")


# ---- 11. chaos: killed at random moments, finished by reruns ----

def chaos(ctx, opts):
    seed = int(os.environ.get("CHAOS_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"chaos {opts}: seed {seed}")
    with Srv() as srv:
        urls = [f"{srv.base}/d/{rnd.randrange(20, 250)}/q{i}" for i in range(2000)]
        out = ctx.dir("chaos" + "".join(opts))
        for i in range(4):
            # --force on odd rounds: pages that exist are replaced through named temporaries,
            # which a kill leaves behind for the next run to remove.
            force = ["--force"] if i % 2 else []
            p = start(ctx, *opts, *force, "-i", "-", "-o", out, stdin=lines_of(urls),
                      start_new_session=True)
            time.sleep(rnd.uniform(0.05, 1.2))
            os.killpg(p.pid, signal.SIGKILL)  # the run and its workers, like a crash
            p.communicate()
            left = [n for n in os.listdir(out) if n.startswith(".lf-")] if os.path.isdir(out) else []
            print(f"  killed run {i + 1}{' --force' if force else ''}: {len(pages(out))} pages, "
                  f"{len(left)} temporaries")
        p = run(ctx, *opts, "-i", "-", "-o", out, stdin=lines_of(urls))
        check(p.returncode == 0, f"last run: exit {p.returncode}: {p.stderr[-300:]}")
        recs = records(os.path.join(out, MANIFEST))  # every line parses
        last = {}
        for r in recs:
            last[r["url"]] = r
        check(sorted(last) == sorted(urls), "not every URL has a record")
        check_bytes(out, last)  # last record saved or skipped, bytes the server's
        # A kill between a page's file getting its name and its record leaves a file that no
        # manifest records: the next run cannot tell it from a user's file, keeps it, and saves
        # the page as NAME~2 (issue 25, item 2; --force on the odd rounds replaces it). Such a
        # file is one of the URL's names and holds the server's bytes, whole.
        recorded = {r["file"] for r in last.values()}
        by_stem = {r["file"].split("~")[0].removesuffix(".html"): u for u, r in last.items()}
        for extra in pages(out) - recorded:
            u = by_stem.get(extra.split("~")[0].removesuffix(".html"))  # (a kill can hit NAME~2 too)
            check(u is not None, f"{extra}: a file other than the pages")
            with open(os.path.join(out, extra), "rb") as f:
                check(f.read() == body_of("/" + u.split("://", 1)[1].split("/", 1)[1]),
                      f"{extra}: left by a killed run, not the server's bytes")
        m.no_temporaries(out)


@case
def chaos_loop(ctx):
    """2,000 URLs, one loop: SIGKILL at random moments four times, then a rerun: every file
    is the server's, every manifest line parses, each URL ends saved or skipped, no
    temporary is left."""
    chaos(ctx, [])


@case
def chaos_procs(ctx):
    """The same with -p 2 (the whole process group killed, workers included)."""
    chaos(ctx, ["-p", "2"])


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-hostile-"))
