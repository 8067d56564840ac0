#!/usr/bin/env python3
"""End-to-end cases for the run modes and for what must never be lost: worker processes
(--procs), a worker killed mid-run, --compare, --shard, the manifest, an interrupted run
finished by a rerun, and a symlink planted in the output folder.

    python3 tests/e2e/e2e_modes.py --loopfetch build/loopfetch CASE     (or --list)

Each case starts its own fixture server on 127.0.0.1 (ephemeral port) and works in a fresh
temporary folder. Assertions are on files, bytes, manifest records and exit codes; never on
timings.
"""

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
import harness  # noqa: E402

site = harness.fixture("site")

MANIFEST = "loopfetch-manifest.jsonl"
CASES = {}


Failure = harness.Failure


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Server:
    """The fixture server as a child process; stopped on exit."""

    def __init__(self, lo=0, hi=0, *extra):
        self.proc = subprocess.Popen(
            [sys.executable, harness.fixture_path("server"), "--port", "0",
             "--latency-min", str(lo), "--latency-max", str(hi), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.base = json.loads(self.proc.stdout.readline())["base"]
        self.list_url = self.base + site.LIST_PATH

    def stats(self):
        """The server's counters (requests, connections, fault timings)."""
        with urllib.request.urlopen(self.base + "/__stats") as r:
            return json.load(r)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Ctx:
    def __init__(self, exe, tmp):
        self.exe, self.tmp = exe, tmp

    def run(self, *args, timeout=240, stdin=None):
        p = subprocess.run([self.exe, *args], capture_output=True, text=True, timeout=timeout,
                           input=stdin)
        self.last = (args, p)
        return p

    def dir(self, name):
        return os.path.join(self.tmp, name)


def pages_in(folder):
    """Page files only: no manifest (shards' included), no temporaries."""
    return {n for n in os.listdir(folder) if not n.startswith("loopfetch-")}


def shard_manifest(k, n):
    """The default manifest name of --shard K/N: shards can share one folder."""
    return f"loopfetch-manifest.{k}-of-{n}.jsonl"


def manifest(folder, path=None):
    with open(path or os.path.join(folder, MANIFEST)) as f:
        return [json.loads(line) for line in f]


def check_complete(folder, urls):
    """Every URL's page is there with the right bytes, and nothing else is."""
    want = {site.expected_filename(u): u for u in urls}
    got = pages_in(folder)
    check(got == set(want), f"{folder}: files differ: missing {sorted(set(want) - got)[:5]}, "
                            f"extra {sorted(got - set(want))[:5]}")
    for name, url in want.items():
        with open(os.path.join(folder, name), "rb") as f:
            body = f.read()
        path = url.split("://", 1)[1].split("/", 1)[1]
        check(body == site.page_body("/" + path), f"{name}: bytes differ from the server's")


def same_folders(a, b):
    pa, pb = pages_in(a), pages_in(b)
    check(pa == pb, f"{a} and {b} hold different files")
    for n in pa:
        with open(os.path.join(a, n), "rb") as fa, open(os.path.join(b, n), "rb") as fb:
            check(fa.read() == fb.read(), f"{n} differs between {a} and {b}")


def no_temporaries(folder):
    left = [n for n in os.listdir(folder) if n.startswith(".lf-")]
    check(not left, f"temporaries left in {folder}: {left[:5]}")


# ---- cases ----

@case
def procs_modes(ctx):
    """--procs 1, 2, 4 give the same folder as one loop, and a complete manifest."""
    with Server(0, 20) as srv:
        urls = site.expected_links(srv.base)
        p = ctx.run("-o", ctx.dir("loop"), srv.list_url)
        check(p.returncode == 0, f"single loop exit {p.returncode}")
        check_complete(ctx.dir("loop"), urls)
        for n in (1, 2, 4):
            out = ctx.dir(f"procs{n}")
            p = ctx.run("-p", str(n), "-o", out, srv.list_url)
            check(p.returncode == 0, f"-p {n}: exit {p.returncode}: {p.stderr[-300:]}")
            same_folders(ctx.dir("loop"), out)
            recs = manifest(out)
            check(len(recs) == 233 and {r["url"] for r in recs} == set(urls),
                  f"-p {n}: manifest does not list each URL once")
            check(all(r["status"] == "saved" for r in recs), f"-p {n}: not all saved")
            if n > 1:
                check(len({r["pid"] for r in recs}) == n, f"-p {n}: records from "
                      f"{len({r['pid'] for r in recs})} processes, not {n}")
            check("233 saved, 0 failed" in p.stderr, f"-p {n}: summary missing")
            no_temporaries(out)


def worker_pids(parent):
    """Children of parent that run as --worker."""
    pids = []
    for task in os.listdir(f"/proc/{parent}/task"):
        try:
            with open(f"/proc/{parent}/task/{task}/children") as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


@case
def procs_worker_killed(ctx):
    """kill -9 of a worker mid-run: every URL still ends saved, none is lost."""
    with Server(300, 900) as srv:
        urls = site.expected_links(srv.base)
        out = ctx.dir("out")
        p = subprocess.Popen([ctx.exe, "-p", "2", "-c", "10", "-o", out, srv.list_url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim, deadline = None, time.time() + 30
        while victim is None and time.time() < deadline:
            kids = worker_pids(p.pid)
            if len(kids) == 2 and os.path.exists(os.path.join(out, MANIFEST)) and \
                    os.path.getsize(os.path.join(out, MANIFEST)) > 0:
                victim = kids[0]
            time.sleep(0.05)
        check(victim is not None, "never saw two workers at work")
        os.kill(victim, signal.SIGKILL)
        _, err = p.communicate(timeout=240)
        check(p.returncode == 0, f"exit {p.returncode}: {err[-400:]}")
        check("killed by signal 9" in err, "the worker's death was not reported")
        check_complete(out, urls)
        recs = manifest(out)
        check(sorted(r["url"] for r in recs) == sorted(urls), "manifest: not each URL once")
        no_temporaries(out)


@case
def compare(ctx):
    """--compare runs the three modes and reports sane numbers, as a table and as JSON: one
    object of a plain run's shape (issue 25, item 7), the three runs' own objects in "runs",
    their failures listed together."""
    with Server(20, 60) as srv:
        urls = site.expected_links(srv.base)[:30]
        lst = ctx.dir("urls.txt")
        with open(lst, "w") as f:
            f.write("\n".join(urls) + "\n")
        p = ctx.run("--compare", "--json", "-p", "2", "-i", lst, "-o", ctx.dir("cmp"))
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        top = json.loads(p.stdout)
        plain = json.loads(ctx.run("--json", "-q", "-i", lst, "-o", ctx.dir("plain")).stdout)
        missing = [k for k in ("mode", "pages", "saved", "failed", "bytes", "wall_s", "exit_code",
                               "error", "failures", "failures_total") if k not in top or k not in plain]
        check(isinstance(top, dict) and not missing, f"top-level keys {missing} missing: {top}")
        check(top["mode"] == "compare" and top["pages"] == 90 and top["saved"] == 90 and
              top["exit_code"] == 0 and top["failures"] == [] and top["failures_total"] == 0,
              f"top level: {top}")
        rows = top["runs"]
        check([r["mode"] for r in rows] == ["sequential", "loop", "procs"], f"modes: {rows}")
        for r in rows:
            check(r["pages"] == 30 and r["saved"] == 30 and r["failed"] == 0, f"counts: {r}")
            check(r["wall_s"] > 0 and r["cpu_s"] >= 0 and r["peak_rss_kb"] > 0, f"numbers: {r}")
            check_complete(ctx.dir(f"cmp/{r['mode']}"), urls)
        check(rows[0]["speedup"] == 1.0, "sequential is the baseline")
        check(rows[1]["wall_s"] < rows[0]["wall_s"], "30 pages at 20-60 ms each: one loop must "
                                                   "beat one-at-a-time")
        check(rows[2]["procs"] == 2, "procs count")
        p = ctx.run("--compare", "-p", "2", "-i", lst, "-o", ctx.dir("cmp2"))
        lines = [l for l in p.stdout.splitlines() if l.strip()]
        check(p.returncode == 0 and len(lines) == 4 and lines[0].startswith("mode"),
              f"table: {p.stdout}")
        check(lines[3].startswith("procs (2)"), f"table rows: {lines}")
        # Failures: each run's listed at the top, with the total.
        bad = [srv.base + "/status/404", srv.base + "/status/410"]
        with open(lst, "a") as f:
            f.write("\n".join(bad) + "\n")
        p = ctx.run("--compare", "--json", "-p", "2", "-i", lst, "-o", ctx.dir("cmp3"))
        top = json.loads(p.stdout)
        check(p.returncode == 1 and top["exit_code"] == 1 and top["failures_total"] == 6 and
              sorted(f["url"] for f in top["failures"]) == sorted(bad * 3) and
              all("HTTP 4" in f["error"] for f in top["failures"]) and
              [r["failures_total"] for r in top["runs"]] == [2, 2, 2],
              f"--compare failures: exit {p.returncode}: {top.get('failures')} "
              f"{top.get('failures_total')}")


@case
def shards(ctx):
    """--shard K/N for N = 1..4: disjoint, together the whole list, same files as one run."""
    with Server(0, 10) as srv:
        urls = site.expected_links(srv.base)
        p = ctx.run("-o", ctx.dir("whole"), srv.list_url)
        check(p.returncode == 0, "whole run failed")
        for n in (1, 2, 3, 4):
            seen = collections.Counter()
            merged = ctx.dir(f"merged{n}")
            for k in range(1, n + 1):
                out = ctx.dir(f"s{n}-{k}")
                p = ctx.run("--shard", f"{k}/{n}", "-o", out, srv.list_url)
                check(p.returncode == 0, f"--shard {k}/{n}: exit {p.returncode}")
                check(os.listdir(out).count(f"loopfetch-manifest.{k}-of-{n}.jsonl") == 1,
                      f"--shard {k}/{n}: no manifest named after its shard")
                for r in manifest(out, os.path.join(out, f"loopfetch-manifest.{k}-of-{n}.jsonl")):
                    seen[r["url"]] += 1
                shutil.copytree(out, merged, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("loopfetch-manifest*"))
            check(set(seen) == set(urls), f"N={n}: union is not the whole list")
            check(max(seen.values()) == 1, f"N={n}: a URL is in two shards")
            same_folders(ctx.dir("whole"), merged)
        for bad in ("0/2", "3/2", "2", "a/b", "1/0"):
            p = ctx.run("--shard", bad, "-o", ctx.dir("bad"), srv.list_url)
            check(p.returncode == 2 and "--shard" in p.stderr, f"--shard {bad}: exit "
                  f"{p.returncode}, stderr {p.stderr!r}")
            check(len(p.stderr.strip().splitlines()) == 1, "one line for a usage error")


@case
def shards_share_folder(ctx):
    """4 shards at once into ONE folder: each its own manifest, names disjoint, the union the
    whole list with the right bytes; run again, every shard appends a skip for exactly its own
    pages."""
    with Server(0, 10) as srv:
        urls = site.expected_links(srv.base)
        out = ctx.dir("shared")
        before = {}  # records of the first run per manifest: manifests are appended to
        for rerun in (False, True):
            procs = [subprocess.Popen([ctx.exe, "-q", "--shard", f"{k}/4", "-o", out,
                                       srv.list_url], stderr=subprocess.PIPE, text=True)
                     for k in range(1, 5)]
            for k, p in enumerate(procs, 1):
                err = p.communicate(timeout=240)[1]
                check(p.returncode == 0, f"--shard {k}/4: exit {p.returncode}: {err}")
            check(not os.path.exists(os.path.join(out, MANIFEST)), "unsharded manifest written")
            seen = collections.Counter()
            for k in range(1, 5):
                recs = manifest(out, os.path.join(out, shard_manifest(k, 4)))
                recs, before[k] = recs[before.get(k, 0):], len(recs)
                want = "skipped" if rerun else "saved"
                check(all(r["status"] == want for r in recs),
                      f"shard {k}/4 (rerun={rerun}): statuses {collections.Counter(r['status'] for r in recs)}")
                seen.update(r["url"] for r in recs)
            check(set(seen) == set(urls) and max(seen.values()) == 1,
                  f"rerun={rerun}: manifests are not one record per URL of the list")
            check_complete(out, urls)


@case
def interrupt_then_rerun(ctx):
    """SIGINT mid-run: exit 130, every URL recorded, no temporaries; the same command again
    finishes the job, skipping what was saved."""
    with Server(300, 900) as srv:
        urls = site.expected_links(srv.base)
        out = ctx.dir("out")
        p = subprocess.Popen([ctx.exe, "-c", "20", "-o", out, srv.list_url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            m = os.path.join(out, MANIFEST)
            if os.path.exists(m) and os.path.getsize(m) > 0:
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        check(p.returncode == 130, f"exit {p.returncode} after SIGINT: {err[-300:]}")
        recs = manifest(out)
        check(sorted(r["url"] for r in recs) == sorted(urls), "not every URL was recorded")
        st = collections.Counter(r["status"] for r in recs)
        check(st["interrupted"] > 0 and st["saved"] > 0 and
              st["saved"] + st["interrupted"] == 233, f"statuses: {dict(st)}")
        no_temporaries(out)
        saved = {r["file"] for r in recs if r["status"] == "saved"}
        check(pages_in(out) == saved, "files present are exactly the saved ones")
        p = ctx.run("-o", out, srv.list_url)
        check(p.returncode == 0, f"rerun exit {p.returncode}")
        check_complete(out, urls)
        rerun = manifest(out)[len(recs):]  # the manifest is appended to, run after run
        check(sorted(r["url"] for r in rerun) == sorted(urls), "rerun: not every URL recorded")
        st2 = collections.Counter(r["status"] for r in rerun)
        check(st2["skipped"] == len(saved) and st2["saved"] == 233 - len(saved),
              f"rerun statuses {dict(st2)}")
        before = len(manifest(out))
        p = ctx.run("--force", "-o", out, srv.list_url)
        check(p.returncode == 0 and collections.Counter(
            r["status"] for r in manifest(out)[before:])["saved"] == 233, "--force fetches all again")


@case
def symlink_planted(ctx):
    """A symlink under a page's final name is replaced, never followed."""
    with Server(0, 0) as srv:
        outside = ctx.dir("outside")
        os.makedirs(outside)
        target = os.path.join(outside, "victim.txt")
        with open(target, "w") as f:
            f.write("keep me")
        out = ctx.dir("out")
        os.makedirs(out)
        url = site.expected_links(srv.base)[0]
        name = site.expected_filename(url)
        os.symlink(target, os.path.join(out, name))
        p = ctx.run("--force", "-i", "-", "-o", out, stdin=url + "\n")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr}")
        with open(target) as f:
            check(f.read() == "keep me", "the symlink target outside was written")
        check(not os.path.islink(os.path.join(out, name)), "the page is still a symlink")
        check_complete(out, [url])


@case
def manifest_option(ctx):
    """--manifest moves the manifest; each record has the documented fields."""
    with Server(0, 0) as srv:
        urls = site.expected_links(srv.base)[:10]
        m = ctx.dir("m.jsonl")
        p = ctx.run("--manifest", m, "-i", "-", "-o", ctx.dir("out"),
                    stdin="\n".join(urls + ["ftp://x/y", "junk"]) + "\n")
        check(p.returncode == 1, f"exit {p.returncode} (two bad lines must fail the run)")
        recs = manifest(None, m)
        check(len(recs) == 12, f"{len(recs)} records")
        keys = {"url", "file", "status", "http", "bytes", "attempts", "error", "pid", "start",
                "queued", "dns", "connect", "tls", "ttfb", "total", "written"}
        check(all(set(r) == keys for r in recs), "record fields")
        bad = [r for r in recs if r["status"] == "failed"]
        check(sorted(r["url"] for r in bad) == ["ftp://x/y", "junk"], f"failed: {bad}")
        good = [r for r in recs if r["status"] == "saved"]
        check(all(r["http"] == 200 and r["attempts"] == 1 and r["bytes"] > 0 for r in good),
              "saved records")
        check(not os.path.exists(os.path.join(ctx.dir("out"), MANIFEST)), "default manifest")


@case
def progress_tty(ctx):
    """On a real terminal (tmux) the progress line shows while pages come in, fits the
    width, and is erased before the summary; with stderr not a terminal there is none."""
    if not shutil.which("tmux"):
        raise Skip("tmux not installed")
    with Server(300, 900) as srv:
        script = os.path.join(HERE, "test_progress_tty.sh")
        p = subprocess.run(["bash", script, ctx.exe, "-c", "40", "-o", ctx.dir("tty"),
                            srv.list_url], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, PROGRESS_RE=r"[0-9]+/233 pages"))
        check(p.returncode == 0, f"tmux check failed:\n{p.stdout[-1500:]}{p.stderr[-500:]}")
        p = ctx.run("-o", ctx.dir("pipe"), srv.list_url)
        # text mode turns "\r" into newlines; the erase-line sequence survives
        check("\x1b[K" not in p.stderr and "/233 pages" not in p.stderr,
              "progress drawn although stderr is a pipe")
        p = ctx.run("--progress", "--force", "-o", ctx.dir("pipe"), srv.list_url)
        check("\x1b[K" in p.stderr and "/233 pages" in p.stderr, "--progress did not force it")


@case
def embed_example(ctx):
    """examples/embed_echo: the fetcher, a timer and a TCP echo server on one loop."""
    if not ctx.embed_echo:
        raise Skip("no --embed-echo given")
    with Server(50, 150) as srv:
        p = subprocess.run([ctx.embed_echo, "--list", srv.list_url, site.SELECTOR],
                           capture_output=True, text=True, timeout=120, cwd=ctx.tmp)
        check(p.returncode == 0, f"embed_echo exit {p.returncode}: {p.stdout[-400:]}"
                                 f"{p.stderr[-400:]}")
        check("echo: ok" in p.stdout + p.stderr and "233 of 233" in p.stdout + p.stderr,
              f"embed_echo output: {p.stdout[-400:]}")


Skip = harness.Skip


def run_main(cases, prefix, make_ctx=None):
    """The command line shared by the e2e drivers: --list, or run one case (0 ok, 1 fail,
    77 skip), keeping the temporary folder of a failed case for inspection. make_ctx: a Ctx
    subclass with a driver's own helpers."""
    a = harness.parse_args(cases)
    if isinstance(a, int):
        return a
    tmp = tempfile.mkdtemp(prefix=prefix)
    ctx = (make_ctx or Ctx)(os.path.abspath(a.loopfetch), tmp)
    ctx.embed_echo = os.path.abspath(a.embed_echo) if a.embed_echo else None
    try:
        cases[a.case](ctx)
    except Skip as e:
        print(f"{a.case}: skipped: {e}")
        shutil.rmtree(tmp, ignore_errors=True)
        return 77
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        if hasattr(ctx, "last"):
            args, p = ctx.last
            print(f"last command: loopfetch {' '.join(args)}\n  exit {p.returncode}; stderr "
                  f"tail:\n{p.stderr[-800:]}", file=sys.stderr)
        print(f"kept {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{a.case}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(CASES, "lf-modes-"))
