#!/usr/bin/env python3
"""End-to-end cases for --split N (issue 26, item 5): one large file as N byte ranges at once,
published whole or not at all.

    python3 tests/e2e/e2e_split.py --loopfetch build/loopfetch CASE     (or --list)

Each case starts its own server on 127.0.0.1: tests/fixtures/ranges.py (modes that serve ranges,
serve none, ignore Range, cut a range, change the file between ranges, misplace a range), or
Debian's nginx at its defaults (split_nginx; skipped when nginx is missing). Files are 4-8 MiB:
each case takes well under a second of transfer.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e_modes as m  # noqa: E402
import harness  # noqa: E402

check, MANIFEST = m.check, m.MANIFEST
CASES = {}
MIB = 1 << 20


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Ranges:
    """tests/fixtures/ranges.py as a child process."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen([sys.executable, harness.fixture_path("ranges"), *extra],
                                     stdout=subprocess.PIPE, text=True)
        self.base = json.loads(self.proc.stdout.readline())["base"]

    def get(self, path):
        with urllib.request.urlopen(self.base + path) as r:
            return r.read()

    def log(self, part=""):
        return [e for e in json.loads(self.get("/__log")) if part in e["path"]]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def served(name, size):
    """The bytes ranges.py serves as NAME (its first version) without asking it: a server with
    --rate would take seconds to send them again."""
    return harness.fixture("ranges").body(name, 0, size)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def fetch(ctx, out, urls, *args, timeout=120):
    return ctx.run("-i", "-", "-o", ctx.dir(out), *args, stdin="".join(u + "\n" for u in urls),
                   timeout=timeout)


def saved(ctx, out, name):
    with open(os.path.join(ctx.dir(out), name), "rb") as f:
        return f.read()


def records(ctx, out):
    return m.manifest(ctx.dir(out))


def ranged(log):
    """The requests that asked for a range other than the whole file."""
    return [e for e in log if e["range"] and e["range"] != "bytes=0-"]


@case
def split_ranges(ctx):
    """A server that serves ranges: --split 4 fetches 8 MiB as 4 ranges (the first request's
    "bytes=0-" stopped at 2 MiB, three more with If-Range), byte-identical, told as HTTP 200."""
    with Ranges() as srv:
        url = srv.base + "/ranges/big.bin"
        p = fetch(ctx, "out", [url], "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "big.bin") == srv.get("/ranges/big.bin"), "bytes differ")
        log = srv.log("big.bin")[:-1]  # the last is the test's own GET
        firsts = [e for e in log if e["range"] == "bytes=0-"]
        check(len(firsts) == 1 and not firsts[0]["if_range"], f"first requests: {firsts}")
        parts = sorted(ranged(log), key=lambda e: e["range"])
        want = [f"bytes={i * 2 * MIB}-{(i + 1) * 2 * MIB - 1}" for i in (1, 2, 3)]
        check([e["range"] for e in parts] == want, f"ranges asked: {[e['range'] for e in parts]}")
        check(all(e["if_range"] == '"big.bin-v0"' and e["status"] == 206 for e in parts),
              f"ranges: {parts}")
        r = records(ctx, "out")[0]
        check(r["http"] == 200 and r["bytes"] == 8 * MIB, f"manifest: {r}")
        m.no_temporaries(ctx.dir("out"))


@case
def split_redirect(ctx):
    """A file behind a redirect: the first request follows it, the other ranges go straight to
    the final URL (no redirect each)."""
    with Ranges() as srv:
        p = fetch(ctx, "out", [srv.base + "/redirect/ranges/d.bin"], "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "d.bin") == served("d.bin", 8 * MIB), "bytes differ")
        log = srv.log("d.bin")
        redirects = [e for e in log if e["path"].startswith("/redirect/")]
        check(len(redirects) == 1 and redirects[0]["range"] == "bytes=0-", f"redirects: {log}")
        parts = ranged(log)
        check(len(parts) == 3 and all(e["path"] == "/ranges/d.bin" for e in parts),
              f"ranges: {parts}")


@case
def split_refresh(ctx):
    """--refresh asks with If-None-Match; a reply with the file (changed, or a server that
    does not answer 304) is split, and the other ranges carry If-Range only: the caller's
    validator was answered by the first reply."""
    with Ranges() as srv:
        url = srv.base + "/ranges/r.bin"
        p = fetch(ctx, "out", [url])
        check(p.returncode == 0, f"first run: exit {p.returncode}: {p.stderr[-500:]}")
        p = fetch(ctx, "out", [url], "--refresh", "--split", "4")
        check(p.returncode == 0, f"--refresh: exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "r.bin") == srv.get("/ranges/r.bin"), "bytes differ")
        log = srv.log("r.bin")
        first = [e for e in log if e["range"] == "bytes=0-"]
        check(len(first) == 1 and first[0]["if_none_match"], f"--refresh's request: {first}")
        parts = ranged(log)
        check(len(parts) == 3 and not any(e["if_none_match"] for e in parts), f"ranges: {parts}")


@case
def split_small_files_as_before(ctx):
    """Files under 2 MiB are one stream (a 206 to "bytes=0-"), an empty file (416 to it) is
    asked again without a range, all saved whole and told as 200 with one attempt."""
    with Ranges() as srv:
        names = {"empty": 0, "small": 1000, "mid": 1500000}
        urls = [f"{srv.base}/ranges/{n}?size={s}" for n, s in names.items()]
        p = fetch(ctx, "out", urls, "-s", "8")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        for n, s in names.items():
            check(saved(ctx, "out", n) == srv.get(f"/ranges/{n}?size={s}"), f"{n}: bytes differ")
        for r in records(ctx, "out"):
            check(r["http"] == 200 and r["attempts"] == 1, f"manifest: {r}")
        check(not ranged(srv.log()), f"ranges asked of small files: {ranged(srv.log())}")


@case
def split_many_files(ctx):
    """30 files of 3 MiB at once, each in 3 ranges: the first request of each is often paused
    (the sinks' shared buffer budget) when it reaches the end of its range, and the bytes libcurl
    hands back on resuming are where it stops: a success, not a failed write (3 of 40 such pages
    failed with "curl_easy_pause: Failed writing received data" before)."""
    with Ranges() as srv:
        names = [f"m{i}.bin" for i in range(30)]
        urls = [f"{srv.base}/ranges/{n}?size={3 * MIB}" for n in names]
        p = fetch(ctx, "out", urls, "--split", "3")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        for n in names:
            check(saved(ctx, "out", n) == srv.get(f"/ranges/{n}?size={3 * MIB}"),
                  f"{n}: bytes differ")
        check(len(ranged(srv.log())) >= 60, "the files were not split")


@case
def split_procs(ctx):
    """-p 2: each worker splits its own files (the option reaches the workers)."""
    with Ranges() as srv:
        names = [f"p{i}.bin" for i in range(4)]
        p = fetch(ctx, "out", [f"{srv.base}/ranges/{n}?size={4 * MIB}" for n in names],
                  "-p", "2", "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        for n in names:
            check(saved(ctx, "out", n) == srv.get(f"/ranges/{n}?size={4 * MIB}"),
                  f"{n}: bytes differ")
        check(len(ranged(srv.log())) == 12, f"ranges asked: {len(ranged(srv.log()))}, not 12")


def one_stream(ctx, mode):
    with Ranges() as srv:
        url = f"{srv.base}/{mode}/f.bin"
        p = fetch(ctx, "out", [url], "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "f.bin") == srv.get(f"/{mode}/f.bin"), "bytes differ")
        log = srv.log(f"/{mode}/")[:-1]
        check(len(log) == 1 and log[0]["status"] == 200, f"requests: {log}")
        r = records(ctx, "out")[0]
        check(r["http"] == 200 and r["attempts"] == 1, f"manifest: {r}")


@case
def split_no_accept_ranges(ctx):
    """A server without ranges (no Accept-Ranges, 200 to "bytes=0-"): one stream, whole."""
    one_stream(ctx, "noaccept")


@case
def split_server_ignores_range(ctx):
    """A server that says Accept-Ranges: bytes but answers 200: one stream, whole."""
    one_stream(ctx, "ignore")


@case
def split_not_with_wait(ctx):
    """--wait S promises S seconds between the starts of requests to a host: ranges started at
    once would break it, so files are one stream there."""
    with Ranges() as srv:
        p = fetch(ctx, "out", [srv.base + "/ranges/w.bin"], "--split", "4", "--wait", "0.2")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "w.bin") == served("w.bin", 8 * MIB), "bytes differ")
        log = srv.log("w.bin")
        check(len(log) == 1 and not log[0]["range"], f"requests: {log}")


@case
def split_no_validator(ctx):
    """A file without ETag and Last-Modified is one stream: a change between its ranges could
    not be seen."""
    with Ranges() as srv:
        p = fetch(ctx, "out", [srv.base + "/noetag/f.bin"], "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "f.bin") == srv.get("/noetag/f.bin"), "bytes differ")
        check(not ranged(srv.log()), f"ranges asked: {ranged(srv.log())}")


@case
def split_range_cut(ctx):
    """A range cut halfway (connection closed) is asked again from where it stopped: only that
    range, only its missing bytes; the file is byte-identical."""
    with Ranges() as srv:
        p = fetch(ctx, "out", [srv.base + "/cut/f.bin"], "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", "f.bin") == srv.get("/cut/f.bin"), "bytes differ")
        log = srv.log("/cut/")[:-1]
        check(len([e for e in log if e["range"] == "bytes=0-"]) == 1, f"restarted: {log}")
        asked = [e["range"] for e in ranged(log)]
        check(len(asked) == 4, f"ranges asked: {asked}")
        cut = [e for e in ranged(log) if e["sent"] == MIB]
        check(len(cut) == 2, f"no cut range, or no retry of it: {log}")
        first, again = cut[0], cut[1]
        a, b = map(int, first["range"][6:].split("-"))
        check(again["range"] == f"bytes={a + MIB}-{b}", f"retry asked {again['range']} after "
              f"{first['range']} was cut at {MIB} bytes")
        check(records(ctx, "out")[0]["attempts"] == 1, "the page was retried, not the range")


def changed(ctx, mode):
    with Ranges() as srv:
        p = fetch(ctx, "out", [srv.base + f"/{mode}/f.bin"], "--split", "4")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        got, now = saved(ctx, "out", "f.bin"), srv.get(f"/{mode}/f.bin")
        check(got == now, "the file is not the new version whole"
              + (" (a mix of versions)" if len(got) == len(now) else ""))
        log = srv.log(f"/{mode}/")[:-1]
        check(len([e for e in log if e["range"] == "bytes=0-"]) == 2, f"no restart: {log}")
        check(records(ctx, "out")[0]["attempts"] == 2, f"manifest: {records(ctx, 'out')}")


@case
def split_file_changes(ctx):
    """The file changes after the first response: If-Range gets 200 (the new file) for the
    other ranges, so the page starts over and is the new file whole, never a mix."""
    changed(ctx, "change")


@case
def split_file_changes_if_range_ignored(ctx):
    """As split_file_changes, from a server that ignores If-Range: the ranges' 206 name another
    ETag, which is checked, so the page starts over all the same."""
    changed(ctx, "change206")


@case
def split_misplaced_range(ctx):
    """A 206 whose Content-Range is not the range asked fails the page: never saved."""
    with Ranges() as srv:
        p = fetch(ctx, "out", [srv.base + "/shifted/f.bin"], "--split", "4", "--retries", "0")
        check(p.returncode == 1, f"exit {p.returncode}, not 1: {p.stderr[-500:]}")
        check(not os.path.exists(os.path.join(ctx.dir("out"), "f.bin")), "a misplaced file saved")
        r = records(ctx, "out")[0]
        check("Content-Range" in (r["error"] or ""), f"manifest: {r}")
        m.no_temporaries(ctx.dir("out"))


@case
def split_killed(ctx):
    """SIGTERM or SIGKILL while the ranges come leaves nothing under the page's name nor any
    temporary; a rerun then fetches it whole."""
    with Ranges("--rate", str(2 * MIB)) as srv:
        url = srv.base + "/ranges/k.bin?size=" + str(16 * MIB)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            out = ctx.dir(f"out-{sig.name}")
            proc = subprocess.Popen([ctx.exe, "-q", "-i", "-", "-o", out, "--split", "4"],
                                    stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            proc.stdin.write(url + "\n")
            proc.stdin.close()
            deadline = time.time() + 10
            while time.time() < deadline and len(ranged(srv.log("k.bin"))) < 3:
                time.sleep(0.05)
            time.sleep(0.5)  # the ranges are under way, none complete (2 s each)
            proc.send_signal(sig)
            proc.wait(timeout=30)
            left = [n for n in os.listdir(out) if not n.startswith("loopfetch-")]
            check(not left, f"{sig.name}: left {left}")
        p = fetch(ctx, "out-SIGTERM", [url], "--split", "4")
        check(p.returncode == 0, f"rerun: exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out-SIGTERM", "k.bin") == served("k.bin", 16 * MIB), "rerun: bytes differ")


def state_ranges(path):
    """The ranges a partial's state file lists, as (start, end) pairs, end exclusive."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        if line.startswith("range "):
            a, b = line.split()[1:3]
            out.append((int(a), int(b)))
    return out


def asked(entry):
    a, b = entry["range"][6:].split("-")
    return int(a), (int(b) + 1 if b else None)


@case
def split_continue_killed(ctx):
    """-C --split: killed (SIGKILL, then SIGTERM) while the ranges come, the page's partial
    file stays beside its name with a state listing what each range wrote; the rerun asks only
    for the bytes that are missing, around the ranges that are there, and the file is
    byte-identical."""
    size = 16 * MIB
    with Ranges("--rate", str(MIB)) as srv:
        path = f"/ranges/c.bin?size={size}"
        url = srv.base + path
        for sig in (signal.SIGKILL, signal.SIGTERM):
            out = ctx.dir(f"out-{sig.name}")
            os.makedirs(out)
            state = os.path.join(out, ".c.bin.html.lf-part.state")
            before = len(srv.log())
            proc = subprocess.Popen([ctx.exe, "-q", "-C", "-i", "-", "-o", out, "--split", "4"],
                                    stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            proc.stdin.write(url + "\n")
            proc.stdin.close()
            deadline = time.time() + 20
            while time.time() < deadline and sum(
                    1 for a, b in state_ranges(state) if b - a >= MIB // 2) < 4:
                time.sleep(0.05)
            proc.send_signal(sig)
            proc.wait(timeout=30)
            held = state_ranges(state)
            check(len([r for r in held if r[1] > r[0]]) >= 4, f"{sig.name}: state lists {held}")
            check(not os.path.exists(os.path.join(out, "c.bin")), f"{sig.name}: published")
            first = len(srv.log())
            check(first - before == 4, f"{sig.name}: {first - before} requests, not 4")
            p = fetch(ctx, f"out-{sig.name}", [url], "-C", "--split", "4")
            check(p.returncode == 0, f"{sig.name} rerun: exit {p.returncode}: {p.stderr[-500:]}")
            check(saved(ctx, f"out-{sig.name}", "c.bin") == served("c.bin", size),
                  f"{sig.name} rerun: bytes differ")
            rerun = [e for e in srv.log()[first:] if e["range"]]
            check(rerun and all(e["status"] == 206 and e["if_range"] == '"c.bin-v0"'
                                for e in rerun), f"{sig.name} rerun: {rerun}")
            # The first request asks from the first missing byte on ("N-"; it stops itself at
            # the next held range), the others for closed ranges: none overlaps a held range,
            # and with the held ones they cover the file.
            spans = []
            for a, b in map(asked, rerun):
                if b is None:
                    b = min([c for c, d in held if c > a] + [size])
                spans.append((a, b))
                for c, d in held:
                    check(b <= c or a >= d, f"{sig.name} rerun asked {a}-{b}, held {c}-{d}")
            at = 0
            for a, b in sorted(held + spans):
                check(a <= at, f"{sig.name}: bytes {at}-{a} never asked: {sorted(held + spans)}")
                at = max(at, b)
            check(at == size, f"{sig.name}: the file's end never asked: {sorted(held + spans)}")
            r = records(ctx, f"out-{sig.name}")[-1]
            kept, at = 0, 0
            for a, b in sorted(held):
                kept += max(0, b - max(a, at))
                at = max(at, b)
            check(r["status"] == "saved" and r["bytes"] == size and r.get("resumed") == kept,
                  f"manifest: {r}, the partial held {kept} bytes")
            left = [n for n in os.listdir(out) if n.startswith(".")]
            check(not left, f"{sig.name}: left {left}")


@case
def split_continue_gaps(ctx):
    """-C --split 3 over a partial (written here, in partial.c's documented format) that holds
    10 short ranges of an 8 MiB file: the 11 gaps are asked, each alone and nothing else, at
    most 3 at once, and the file is byte-identical."""
    size, name = 8 * MIB, "g.bin"
    data = served(name, size)
    out = ctx.dir("out")
    os.makedirs(out)
    held = [(i * 800 * 1024 + 300 * 1024, i * 800 * 1024 + 500 * 1024) for i in range(10)]
    with Ranges("--rate", str(4 * MIB)) as srv:
        url = f"{srv.base}/ranges/{name}?size={size}"
        with open(os.path.join(out, f".{name}.html.lf-part"), "wb") as f:
            for a, b in held:
                f.seek(a)
                f.write(data[a:b])
        with open(os.path.join(out, f".{name}.html.lf-part.state"), "w") as f:
            f.write(f"loopfetch-partial 1\nurl {url}\netag \"{name}-v0\"\nlength {size}\n"
                    + "".join(f"range {a} {b}\n" for a, b in held))
        p = fetch(ctx, "out", [url], "-C", "--split", "3")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(saved(ctx, "out", name) == data, "bytes differ")
        log = [e for e in srv.log(name) if e["range"]]
        gaps, at = [], 0
        for a, b in held + [(size, size)]:
            gaps.append((at, a))
            at = b
        spans = sorted((int(e["range"][6:].split("-")[0]), e) for e in log)
        check([a for a, _ in spans] == [a for a, _ in gaps], f"asked: {[e['range'] for _, e in spans]}")
        for (a, b), (_, e) in zip(gaps, spans):
            want = f"bytes={a}-" if a == 0 else f"bytes={a}-{b - 1}"
            check(e["range"] == want, f"asked {e['range']} for the gap {a}-{b}")
        for e in log:  # the first is cut by the client: the server's end of it comes later, so
            if e["range"] == "bytes=0-":  # its end is when the server had sent its gap (the
                e["t1"] = e["t0"] + (held[0][0] - 64 * 1024) / (4 * MIB)  # first 64K at once)
        # 50 ms of slack: the server notes a response's end a moment after its last byte left
        # (each gap takes 150 ms; without the cap all 11 start at once)
        most = max(sum(1 for f in log if f["t0"] <= e["t0"] < f["t1"] - 0.05) for e in log)
        check(most <= 3, f"{most} ranges at once, more than --split 3")
        r = records(ctx, "out")[-1]
        check(r["bytes"] == size and r.get("resumed") == 10 * 200 * 1024, f"manifest: {r}")


def nginx_split(ctx, tls):
    """Debian's nginx at its defaults serves a 24 MiB file: fetched in 8 ranges, each a 206,
    byte-identical."""
    data = os.urandom(24 * MIB)
    with harness.Nginx(ctx.tmp, "$status $server_protocol $http_range", tls=tls,
                       files={"big.iso": data}) as ng:
        extra = ["--cacert", ng.ca] if tls else []
        p = fetch(ctx, "out", [f"{ng.base}/big.iso"], "--split", "8", *extra)
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        check(sha(saved(ctx, "out", "big.iso")) == sha(data), "bytes differ from nginx's")
        lines = [line.split(None, 2) for line in ng.access_log()]
        want = "HTTP/2.0" if tls else "HTTP/1.1"
        check(len(lines) == 8 and all(st == "206" and pr == want for st, pr, _ in lines),
              f"nginx log: {lines}")


@case
def split_nginx(ctx):
    """nginx over HTTP/1.1: 8 ranges, 8 connections."""
    nginx_split(ctx, False)


@case
def split_nginx_https_h2(ctx):
    """nginx over HTTPS and HTTP/2: the 8 ranges are streams (libcurl multiplexes them; nginx's
    limit_rate, per request, caps each stream as it would a connection)."""
    nginx_split(ctx, True)


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-e2e-split-"))
