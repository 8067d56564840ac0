#!/usr/bin/env python3
"""End-to-end cases for -C/--continue (issue 26 item 4): a large page interrupted (SIGINT,
SIGTERM, SIGKILL, at random moments, one loop and -p 2) keeps its partial data hidden beside its
name and a rerun asks for the rest (Range + If-Range); a server that ignores Range, a page that
changed between runs (If-Range), a server that answers a range of the changed page anyway (206
with another ETag, 416) all end in the new page, whole; the final name never holds a part; a
planted symlink or FIFO at a partial's name is never followed.

    python3 tests/e2e/e2e_resume.py --loopfetch build/loopfetch CASE     (or --list)

Debian's nginx at its defaults (only where to listen, its root and its logs are configured)
serves the large files; a small server written here plays the servers that get ranges wrong.
The interruptions come at random moments: each case prints its seed (LF_SEED=N repeats it).
The client's own --limit-rate spreads a 200 MB download over a few seconds so that there are
moments to interrupt; the server is not tuned.
"""

import glob
import hashlib
import http.server
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e_modes as m  # noqa: E402
import e2e_http as h  # noqa: E402
import harness  # noqa: E402

check = m.check
CASES = {}
MB = 1 << 20


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def rng():
    seed = int(os.environ.get("LF_SEED", str(random.randrange(1 << 30))))
    print(f"seed {seed} (LF_SEED={seed} repeats it)")
    return random.Random(seed)


def make_file(path, size, tag):
    """size bytes, fast to write and to tell apart: 1 MiB of pseudo-random bytes (from tag), each
    MiB starting with its index, so a byte in the wrong place, or a MiB, shows in the digest."""
    block = hashlib.sha256(tag.encode()).digest() * (MB // 32)
    with open(path, "wb") as f:
        for i in range(size // MB):
            f.write(i.to_bytes(8, "big") + block[8:])
        f.write(block[: size % MB])


def sha(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MB)
            if not b:
                return d.hexdigest()
            d.update(b)


def partials(folder):
    return sorted(glob.glob(os.path.join(glob.escape(folder), "**", ".*.lf-part*"),
                            recursive=True))


class Nginx(harness.Nginx):
    """Debian's nginx, plain http, serving {dir}/www as it is."""

    def __init__(self, tmp):
        super().__init__(tmp, '$status $uri "$http_range" "$http_if_range" $body_bytes_sent')

    def add(self, name, size, tag=None):
        path = os.path.join(self.www, name)
        make_file(path, size, tag or name)
        os.chmod(path, 0o644)
        return path

    def log(self):
        """(status, uri, range, if_range, bytes sent) per request."""
        out = []
        with open(f"{self.dir}/access.log") as f:
            for line in f:
                parts = line.split('"')
                status, uri = parts[0].split()
                out.append((int(status), uri, parts[1], parts[3].replace("\\x22", '"'),
                            int(parts[4])))
        return out


def start(ctx, urls, folder, *opts):
    """loopfetch -C in its own process group (so a SIGKILL can reach -p's workers too)."""
    listing = folder.rstrip("/") + ".urls"
    with open(listing, "w") as f:
        f.write("".join(u + "\n" for u in urls))
    return subprocess.Popen([ctx.exe, "-C", "-q", "--max-size", "1G", *opts, "-i", listing, "-o",
                             folder], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(ctx, p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    ctx.last = (p.args[1:], subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return p.returncode


def data_size(folder):
    """Bytes in the partial data files of folder."""
    total = 0
    for f in partials(folder):
        if f.endswith(".lf-part"):
            try:
                total += os.path.getsize(f)
            except OSError:
                pass
    return total


def growing(folder, count=1):
    """A wait_for: the run has written more partial data than there was at its start, into
    `count` data files (so a slow start under load is not mistaken for anything)."""
    before = data_size(folder)
    return lambda: (data_size(folder) > before and
                    len([f for f in partials(folder) if f.endswith(".lf-part")]) >= count)


def interrupt(ctx, urls, folder, sig, after, *opts, group=False, wait_for=None):
    """Starts a run, waits until wait_for() holds (if given), sends sig `after` seconds later
    (to the whole group with group=True), and returns its exit code (None: it had ended by
    itself)."""
    p = start(ctx, urls, folder, *opts)
    deadline = time.time() + 60
    while wait_for and not wait_for() and p.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(after)
    if p.poll() is not None:
        finish(ctx, p)
        return None
    if group:
        os.killpg(p.pid, sig)
    else:
        p.send_signal(sig)
    rc = finish(ctx, p)
    if group and sig == signal.SIGKILL:
        try:  # orphaned workers, if any, go too
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return rc


def check_interrupted(folder, names, rc, sig):
    want = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[sig]
    check(rc == want, f"{sig.name}: exit {rc}, want {want}")
    for n in names:  # published whole or not at all
        check(not os.path.exists(os.path.join(folder, n)),
              f"{n} exists after {sig.name}: a part under the page's name")


def check_resumed(nginx, uris, sizes):
    """Every request after the first of a page asked for the rest: Range from where the earlier
    ones stopped, If-Range with the page's ETag, and got 206; in all, the server sent little
    more than the page (what sockets held when a run was killed)."""
    for uri, size in zip(uris, sizes):
        log = [r for r in nginx.log() if r[1] == uri]
        check(log and log[0][0] == 200 and log[0][2] == "-", f"{uri}: first request {log[:1]}")
        ranged = log[1:]
        check(ranged, f"{uri}: never resumed: {log}")
        for status, _, rng_, if_range, _ in ranged:
            check(status == 206 and rng_.startswith("bytes=") and rng_.endswith("-"),
                  f"{uri}: a rerun did not ask for the rest: {log}")
            check(if_range.startswith('"') and if_range.endswith('"'),
                  f"{uri}: no If-Range with the ETag: {log}")
        starts = [int(r[2][len("bytes="):-1]) for r in ranged]
        check(starts == sorted(starts), f"{uri}: a rerun went back: {starts}")
        sent = sum(r[4] for r in log)
        check(sent < size + 64 * MB, f"{uri}: {sent} bytes sent for {size}: not resumed")


@case
def resume_nginx_killed(ctx):
    """nginx serves a 200 MB file; runs with -C are stopped at random moments by SIGINT,
    SIGTERM, SIGKILL and SIGKILL; the next run finishes it: sha256 equal, each rerun asked for
    the rest, nothing hidden left, the manifest has the whole page."""
    r = rng()
    size = 200 * MB
    with Nginx(ctx.tmp) as ng:
        src = ng.add("big.bin", size)
        url, folder = [f"{ng.base}/big.bin"], ctx.dir("out")
        os.makedirs(folder)
        # 64 MB/s: the 200 MB take about 3 s, in which the four signals fall.
        before = 0
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGKILL):
            rc = interrupt(ctx, url, folder, sig, r.uniform(0, 0.4), "--limit-rate", "64M",
                           wait_for=growing(folder))
            check(rc is not None, f"{sig.name}: the run ended before it")
            check_interrupted(folder, ["big.bin"], rc, sig)
            parts = partials(folder)
            check(len(parts) == 2, f"after {sig.name}: partial files {parts}")
            now = max(os.path.getsize(p) for p in parts)
            check(now > before, f"after {sig.name}: the partial did not grow ({before} -> {now})")
            before = now
        # Not done for reruns or `status`: the manifest has no saved record of it.
        st = subprocess.run([ctx.exe, "status", "--json", "-i", folder + ".urls", folder],
                            capture_output=True, text=True)
        check(st.returncode == 1 and '"complete":false' in st.stdout and
              '"total":{"saved":0,' in st.stdout, f"status counts the partial: {st.stdout}")
        p = start(ctx, url, folder)
        check(finish(ctx, p) == 0, f"last run: exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
        check(sha(os.path.join(folder, "big.bin")) == sha(src), "sha256 differs from the server's")
        check(partials(folder) == [], f"left behind: {partials(folder)}")
        check_resumed(ng, ["/big.bin"], [size])
        rec = [x for x in m.manifest(folder) if x["status"] == "saved"]
        # bytes: the page's size (what reruns check the file against); resumed: what the last
        # run found in the partial, which nginx did not send again.
        last_sent = ng.log()[-1][4]
        check(len(rec) == 1 and rec[0]["bytes"] == size and
              rec[0].get("resumed") == size - last_sent, f"manifest: {rec}, last sent {last_sent}")


@case
def resume_procs_killed(ctx):
    """-p 2: two files, the whole process group killed (SIGKILL) then the parent stopped
    (SIGTERM) at random moments; the next run finishes both, sha256 equal."""
    r = rng()
    sizes = [40 * MB, 56 * MB]
    with Nginx(ctx.tmp) as ng:
        srcs = [ng.add(f"f{i}.bin", s) for i, s in enumerate(sizes)]
        urls, folder = [f"{ng.base}/f{i}.bin" for i in range(2)], ctx.dir("out")
        os.makedirs(folder)
        for sig in (signal.SIGKILL, signal.SIGTERM):
            rc = interrupt(ctx, urls, folder, sig, r.uniform(0, 0.5), "-p", "2", "--limit-rate",
                           "32M", group=sig == signal.SIGKILL, wait_for=growing(folder, 2))
            check(rc is not None, f"{sig.name}: the run ended before it")
            check_interrupted(folder, ["f0.bin", "f1.bin"], rc, sig)
            check(len(partials(folder)) == 4, f"after {sig.name}: partials {partials(folder)}")
        p = start(ctx, urls, folder, "-p", "2")
        check(finish(ctx, p) == 0, f"last run: exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
        for i, src in enumerate(srcs):
            check(sha(os.path.join(folder, f"f{i}.bin")) == sha(src), f"f{i}.bin differs")
        check(partials(folder) == [], f"left behind: {partials(folder)}")
        check_resumed(ng, ["/f0.bin", "/f1.bin"], sizes)


@case
def resume_page_changed(ctx):
    """The page changes between runs (nginx: new ETag): If-Range sends the new page whole (200),
    which replaces the partial data from byte 0: the file is the new page."""
    r = rng()
    with Nginx(ctx.tmp) as ng:
        src = ng.add("c.bin", 24 * MB, "old")
        url, folder = [f"{ng.base}/c.bin"], ctx.dir("out")
        rc = interrupt(ctx, url, folder, signal.SIGKILL, r.uniform(0, 0.4), "--limit-rate", "16M",
                       wait_for=growing(folder))
        check(rc == -9 and partials(folder), f"first run: exit {rc}, partials {partials(folder)}")
        make_file(src, 24 * MB, "new")  # same size, other bytes, a later time: another ETag
        t = time.time() + 5
        os.utime(src, (t, t))
        p = start(ctx, url, folder)
        check(finish(ctx, p) == 0, f"rerun: exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
        check(sha(os.path.join(folder, "c.bin")) == sha(src), "the file is not the new page")
        check(partials(folder) == [], f"left behind: {partials(folder)}")
        last = ng.log()[-1]
        check(last[0] == 200 and last[2].startswith("bytes="),
              f"the rerun did not ask for a range and get the whole page: {ng.log()}")


@case
def resume_https_h2(ctx):
    """The same over TLS and HTTP/2 (Debian's nginx as e2e_http.py runs it): killed (SIGKILL),
    stopped (SIGINT), then finished: sha256 equal, the reruns got 206."""
    r = rng()
    with h.Nginx(ctx.tmp, 1) as tls:
        src = os.path.join(tls.dir, "www", "big.bin")
        make_file(src, 48 * MB, "h2")
        os.chmod(src, 0o644)
        url, folder = [f"{tls.base}/big.bin"], ctx.dir("out")
        for sig in (signal.SIGKILL, signal.SIGINT):
            rc = interrupt(ctx, url, folder, sig, r.uniform(0, 0.4), "--cacert", tls.ca,
                           "--limit-rate", "24M", wait_for=growing(folder))
            check(rc is not None, f"{sig.name}: the run ended before it")
            check_interrupted(folder, ["big.bin.html"], rc, sig)
        p = start(ctx, url, folder, "--cacert", tls.ca)
        check(finish(ctx, p) == 0, f"last run: exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
        # This nginx calls everything text/html: the name keeps ".html".
        check(sha(os.path.join(folder, "big.bin.html")) == sha(src), "sha256 differs")
        check(partials(folder) == [], f"left behind: {partials(folder)}")
        statuses = [int(x[0]) for x in tls.log() if x[1] == "/big.bin"]
        check(statuses == [200, 206, 206], f"nginx answered {statuses}")


class Ranger:
    """Serves /page.html (its bytes in `body`, ETag `etag`) in one of the ways servers get
    ranges wrong: mode "ignore" answers 200 to anything; "blind" honours Range but not
    If-Range (a 206 of whatever the page is now, or 416 past its end); "offset" answers a range
    with a 206 that starts elsewhere; "cut" is "blind" whose first reply breaks off halfway.
    Records (range, if-range, status) per request."""

    def __init__(self, body, etag, mode):
        self.body, self.etag, self.mode, self.requests = body, etag, mode, []
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                body, rng_ = srv.body, self.headers.get("Range")
                start = int(rng_[len("bytes="):].split("-")[0]) if rng_ else None
                status, part = 200, body
                cut = srv.mode == "cut" and not srv.requests  # the first reply breaks off
                if start is not None and srv.mode in ("blind", "cut"):
                    status, part = (206, body[start:]) if start < len(body) else (416, b"")
                elif start is not None and srv.mode == "offset":
                    start = max(0, start - 1000)
                    status, part = 206, body[start:]
                srv.requests.append((rng_, self.headers.get("If-Range"), status))
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                if srv.etag:
                    self.send_header("ETag", srv.etag)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                if status == 416:
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                try:
                    for i in range(0, len(part) // 2 if cut else len(part), 256 * 1024):
                        self.wfile.write(part[i:i + 256 * 1024])
                except OSError:
                    pass
                if cut:  # half the body, then the connection goes
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/page.html"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def body(tag, size):
    path_bytes = hashlib.sha256(tag.encode()).digest() * (size // 32 + 1)
    return path_bytes[:size]


def interrupted_first(ctx, r, srv, folder):
    rc = interrupt(ctx, [srv.url], folder, signal.SIGKILL, r.uniform(0, 0.4), "--limit-rate", "4M",
                   wait_for=growing(folder))
    check(rc == -9, f"first run: exit {rc}")
    parts = partials(folder)
    check(len(parts) == 2, f"first run left {parts}")
    data = [p for p in parts if p.endswith(".lf-part")][0]
    check(0 < os.path.getsize(data) < len(srv.body), f"partial of {os.path.getsize(data)} bytes")
    return os.path.getsize(data)


def rerun_whole(ctx, srv, folder, want):
    p = start(ctx, [srv.url], folder)
    check(finish(ctx, p) == 0, f"rerun: exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
    with open(os.path.join(folder, "page.html"), "rb") as f:
        check(f.read() == want, "the saved page is not the server's page")
    check(partials(folder) == [], f"left behind: {partials(folder)}")


@case
def resume_server_ignores_range(ctx):
    """A server that ignores Range answers the rerun with 200 and the whole page: the partial
    starts again from byte 0 in the same request, and the page is whole."""
    r = rng()
    with Ranger(body("ignore", 8 * MB), '"v1"', "ignore") as srv:
        folder = ctx.dir("out")
        had = interrupted_first(ctx, r, srv, folder)
        rerun_whole(ctx, srv, folder, srv.body)
        rng_, if_range, status = srv.requests[-1]
        check(rng_ == f"bytes={had}-" and if_range == '"v1"' and status == 200,
              f"rerun sent {srv.requests[-1]}, partial had {had}")
        check(len(srv.requests) == 2, f"requests: {srv.requests}")


@case
def resume_retry_in_run(ctx):
    """Within one run: a connection that breaks halfway through the page is retried from where
    the partial ends (Range + If-Range), not from byte 0; one run, exit 0, the page whole."""
    with Ranger(body("cut", 6 * MB), '"c1"', "cut") as srv:
        folder = ctx.dir("out")
        rerun_whole(ctx, srv, folder, srv.body)
        (r1, i1, s1), (r2, i2, s2) = srv.requests
        check(r1 is None and s1 == 200, f"first request {srv.requests[0]}")
        check(r2 and r2.startswith("bytes=") and i2 == '"c1"' and s2 == 206,
              f"the retry did not ask for the rest: {srv.requests}")
        start_at = int(r2[len("bytes="):-1])
        check(0 < start_at <= 3 * MB, f"resumed at {start_at} of {6 * MB}")
        rec = m.manifest(folder)[-1]
        check(rec["attempts"] == 2 and rec["bytes"] == 6 * MB and rec["resumed"] == start_at,
              f"manifest: {rec}")


@case
def resume_range_of_changed_page(ctx):
    """Servers that answer a range of a page that changed anyway: a 206 with another ETag, a
    416 (the page shrank below the partial), a 206 that starts elsewhere than asked. Each time
    the partial is dropped and the page fetched again from byte 0, whole."""
    r = rng()
    # 1000 bytes: smaller than any partial (the first write is 64 KiB), so a 416 for sure.
    # None: the part carries no ETag at all (so nothing says it is of the same page).
    for mode, new_size, etag in (("blind", 8 * MB, '"v2"'), ("blind", 1000, '"v3"'),
                                 ("offset", 8 * MB, '"v1"'), ("blind", 8 * MB, None)):
        with Ranger(body("old", 8 * MB), '"v1"', mode) as srv:
            folder = ctx.dir(f"out-{mode}-{new_size}-{etag is None}")
            interrupted_first(ctx, r, srv, folder)
            srv.body, srv.etag = body(f"new{new_size}", new_size), etag
            if mode == "offset":
                srv.body = body("old", 8 * MB)
            rerun_whole(ctx, srv, folder, srv.body)
            statuses = [s for _, _, s in srv.requests[1:]]
            want = [416 if new_size < 8 * MB else 206, 200]
            check(statuses == want, f"{mode} {new_size}: statuses {srv.requests}, want {want}")
            check(srv.requests[-1][0] is None, f"{mode}: the restart asked for a range again")


@case
def resume_state_file(ctx):
    """Partials written by hand in the documented format (lib/engine/README.md): the rerun asks
    from the end of the ranges that join up from byte 0 (several ranges, as --split leaves them;
    "*" is the data file's end; a range past the file's end counts only what the file holds);
    a complete partial asks for its last byte (proof the validators hold) rather than nothing;
    another URL's partial, or a malformed state, is dropped and the page fetched whole."""
    size = 3 * MB
    with Ranger(body("state", size), '"s1"', "blind") as srv:
        cases = [  # (ranges, data bytes in the file, Range the rerun must send)
            ("range 0 1000\nrange 500 5000\nrange 9000 *\n", 20000, "bytes=5000-"),
            ("range 0 *\n", 70000, "bytes=70000-"),
            ("range 0 999999\n", 4000, "bytes=4000-"),
            (f"range 0 *\nlength {size}\n", size, f"bytes={size - 1}-"),
            ("range 0 *\n", 1000, None, "http://127.0.0.1:1/another"),
            ("range 0 *\nrange 9 3\n", 1000, None),
        ]
        for i, (ranges, have, want, *url) in enumerate(cases):
            folder = ctx.dir(f"out{i}")
            os.makedirs(folder)
            with open(os.path.join(folder, ".page.html.lf-part"), "wb") as f:
                f.write(srv.body[:have])
            with open(os.path.join(folder, ".page.html.lf-part.state"), "w") as f:
                f.write(f"loopfetch-partial 1\nurl {url[0] if url else srv.url}\n"
                        f"etag \"s1\"\n{ranges}")
            rerun_whole(ctx, srv, folder, srv.body)
            check(srv.requests[-1][0] == want, f"{ranges!r}: asked {srv.requests[-1]}, want {want}")
            if want:
                check(srv.requests[-1][1] == '"s1"', f"no If-Range: {srv.requests[-1]}")
                rec = m.manifest(folder)[-1]
                check(rec.get("resumed") == int(want[6:-1]), f"manifest: {rec}")


@case
def resume_small_page_plain(ctx):
    """A page announced smaller than 1 MiB is saved as without -C (no partial files: asking it
    again is cheaper than their bookkeeping); one of 1 MiB or more keeps its partial."""
    r = rng()
    for size, kept in ((900 * 1024, False), (MB, True)):
        with Ranger(body("small", size), '"m"', "blind") as srv:
            folder = ctx.dir(f"out{size}")
            # Killed once the body is well under way: the partial, if kept, exists by then.
            rc = interrupt(ctx, [srv.url], folder, signal.SIGKILL, r.uniform(0.6, 0.9),
                           "--limit-rate", "256k", wait_for=lambda: srv.requests)
            check(rc == -9, f"{size}: exit {rc}")
            check(bool(partials(folder)) == kept, f"{size}: partials {partials(folder)}")
    # A partial of the page when it was large, which is now small (If-Range: 200): it goes.
    with Ranger(body("shrunk", 300 * 1024), '"new"', "ignore") as srv:
        folder = ctx.dir("out-shrunk")
        os.makedirs(folder)
        with open(os.path.join(folder, ".page.html.lf-part"), "wb") as f:
            f.write(b"x" * 5000)
        with open(os.path.join(folder, ".page.html.lf-part.state"), "w") as f:
            f.write(f"loopfetch-partial 1\nurl {srv.url}\netag \"old\"\nrange 0 *\n")
        rerun_whole(ctx, srv, folder, srv.body)
        check(srv.requests[-1][:2] == ("bytes=5000-", '"old"'), f"asked {srv.requests[-1]}")


@case
def resume_planted_partial(ctx):
    """A symlink planted at a partial's data name (pointing out of the folder) and a FIFO at
    its state name: neither is followed or blocks; the page is saved, the outside file is
    untouched, and the names are the fetcher's own afterwards."""
    with Ranger(body("planted", 2 * MB), '"p"', "ignore") as srv:
        folder = ctx.dir("out")
        os.makedirs(folder)
        outside = ctx.dir("outside.txt")
        with open(outside, "w") as f:
            f.write("keep me\n")
        os.symlink(outside, os.path.join(folder, ".page.html.lf-part"))
        os.mkfifo(os.path.join(folder, ".page.html.lf-part.state"))
        p = start(ctx, [srv.url], folder)
        check(finish(ctx, p, timeout=60) == 0, f"exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
        with open(outside) as f:
            check(f.read() == "keep me\n", "the file outside the folder changed")
        with open(os.path.join(folder, "page.html"), "rb") as f:
            check(f.read() == srv.body, "page differs")
        check(partials(folder) == [], f"left behind: {partials(folder)}")
        # Planted again, as a symlink to a state of the attacker's: it is never read.
        with open(ctx.dir("evil.state"), "w") as f:
            f.write(f"loopfetch-partial 1\nurl {srv.url}\netag \"p\"\nrange 0 *\n")
        os.symlink(ctx.dir("evil.state"), os.path.join(folder, ".page.html.lf-part.state"))
        os.symlink(outside, os.path.join(folder, ".page.html.lf-part"))
        os.unlink(os.path.join(folder, "page.html"))
        with open(os.path.join(folder, "loopfetch-manifest.jsonl"), "w"):
            pass  # forget the page: fetch it again
        p = start(ctx, [srv.url], folder)
        check(finish(ctx, p, timeout=60) == 0, f"exit {p.returncode}: {ctx.last[1].stderr[-300:]}")
        check(srv.requests[-1][0] is None, f"a planted state was used: {srv.requests[-1]}")
        with open(outside) as f:
            check(f.read() == "keep me\n", "the file outside the folder changed")


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-e2e-resume-"))
