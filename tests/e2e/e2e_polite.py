#!/usr/bin/env python3
"""End-to-end tests of a polite crawler (issue 22): per-host pacing (--wait, --random-wait,
429/503 holding a host), measured from the servers' own logs.

    python3 tests/e2e/e2e_polite.py --list
    python3 tests/e2e/e2e_polite.py --loopfetch build/loopfetch CASE

Each case runs its own small HTTP servers in this process, one per loopback address
(127.0.0.1, 127.0.0.2, ...: other hosts to loopfetch), each logging when every request
arrived. Exit 0 (pass), 1 (fail) or 77 (skip).
"""

import http.server
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e  # noqa: E402
import harness  # noqa: E402

Case, Skip = e2e.Case, e2e.Skip

# A request arrives at the server a little after loopfetch started it (connect, thread start,
# parse). Two arrivals may come closer than the starts by that jitter, never by more.
JITTER = 0.03


class Host:
    """An HTTP/1.1 server on one loopback address: routes map a path to a reply (or a function
    of the request count of that path); every request is logged with its arrival time."""

    def __init__(self, addr="127.0.0.1"):
        self.routes, self.log, self.lock, self.counts = {}, [], threading.Lock(), {}
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                now = time.monotonic()
                path = self.path.split("?")[0]
                with host.lock:
                    host.log.append((now, self.path))
                    n = host.counts[path] = host.counts.get(path, 0) + 1
                    route = host.routes.get(path)
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found\n"
                else:
                    status, headers, body = route(n) if callable(route) else route
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        try:
            self.httpd = http.server.ThreadingHTTPServer((addr, 0), Handler)
        except OSError as e:
            raise Skip("cannot listen on %s: %s" % (addr, e))
        self.httpd.daemon_threads = True
        self.base = "http://%s:%d" % (addr, self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def route(self, path, body=b"<html><body>page</body></html>", status=200,
              ctype="text/html; charset=utf-8", **headers):
        h = {"Content-Type": ctype}
        h.update({k.replace("_", "-"): v for k, v in headers.items()})
        self.routes[path] = (status, h, body if isinstance(body, bytes) else body.encode())
        return self.base + path

    def pages(self, prefix, n):
        return [self.route("%s%d" % (prefix, i), "<html><body>%s %d</body></html>" % (prefix, i))
                for i in range(n)]

    def arrivals(self, prefix=""):
        with self.lock:
            return [t for t, p in self.log if p.startswith(prefix)]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class PoliteCase(Case):
    def __init__(self, args):
        super().__init__(args)
        self.hosts = []

    def host(self, addr="127.0.0.1"):
        h = Host(addr)
        self.hosts.append(h)
        return h

    def finish(self):
        for h in self.hosts:
            h.stop()
        super().finish()

    def input_file(self, urls, name="urls.txt"):
        path = self.path(name)
        with open(path, "w") as f:
            f.write("\n".join(urls) + "\n")
        return path

    def manifest(self, folder):
        with open(os.path.join(folder, e2e.MANIFEST), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def check_spaced(self, times, wait, what):
        """No two arrivals closer than wait (less the arrival jitter)."""
        gaps = [b - a for a, b in zip(times, times[1:])]
        close = [round(g, 3) for g in gaps if g < wait - JITTER]
        self.check(not close, "%s: starts closer than --wait %.2f s: gaps %s" % (
            what, wait, [round(g, 3) for g in gaps]))
        return gaps


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def interleave(*lists):
    out = []
    for i in range(max(len(l) for l in lists)):
        out += [l[i] for l in lists if i < len(l)]
    return out


# ---- pacing ----

@case
def wait_paces_each_host(t):
    """--wait 0.4: the starts to each host (server logs) are at least 0.4 s apart, and the two
    hosts are paced side by side, not one after the other."""
    a, b = t.host("127.0.0.1"), t.host("127.0.0.2")
    urls = interleave(a.pages("/a", 5), b.pages("/b", 5))
    start = time.monotonic()
    p = t.run("-q", "--wait", "0.4", "-i", t.input_file(urls), "-o", t.path("out"))
    wall = time.monotonic() - start
    t.expect_exit(p, 0)
    for h, name in ((a, "127.0.0.1"), (b, "127.0.0.2")):
        times = h.arrivals()
        t.check(len(times) == 5, "%s: %d requests, expected 5" % (name, len(times)))
        t.check_spaced(times, 0.4, name)
    # side by side: 4 intervals of 0.4 s each, not 9
    t.check(wall < 3.2, "two hosts at --wait 0.4 took %.2f s: paced one after the other?" % wall)
    # the manifest's own start times (loopfetch's clock) keep the interval exactly
    for prefix in ("http://127.0.0.1", "http://127.0.0.2"):
        starts = sorted(r["start"] for r in t.manifest(t.path("out")) if r["url"].startswith(prefix))
        gaps = [y - x for x, y in zip(starts, starts[1:])]
        t.check(all(g >= 0.4 - 0.002 for g in gaps), "%s: manifest starts %s" % (prefix, gaps))


@case
def wait_fractional_and_random(t):
    """--wait 0.2 --random-wait: each interval lies between 0.1 and 0.3 s (0.5 to 1.5 times),
    and they are not all alike."""
    a = t.host()
    p = t.run("-q", "--wait", "0.2", "--random-wait", "-i", t.input_file(a.pages("/r", 12)),
              "-o", t.path("out"))
    t.expect_exit(p, 0)
    times = a.arrivals()
    gaps = t.check_spaced(times, 0.1, "--random-wait")
    t.check(len(times) == 12, "%d requests, expected 12" % len(times))
    t.check(all(g < 0.3 + 0.1 for g in gaps), "a gap above 1.5 x --wait: %s" % gaps)
    t.check(max(gaps) - min(gaps) > 0.03, "--random-wait gaps all alike: %s" % gaps)


@case
def wait_option_errors(t):
    """Bad values and combinations are refused before any request, one line, exit 2."""
    a = t.host()
    url = a.route("/x")
    for args, words in ((["--wait", "-1"], ["--wait"]), (["--wait", "abc"], ["--wait"]),
                        (["--wait", "nan"], ["--wait"]), (["--random-wait"], ["--random-wait"]),
                        (["--wait", "1", "-p", "2"], ["--wait", "-p"])):
        p = t.run(*args, "-i", t.input_file([url]), "-o", t.path("out"))
        t.expect_exit(p, 2)
        lines = [l for l in p.err.splitlines() if l.strip()]
        t.check(len(lines) == 1 and all(w in p.err for w in words),
                "%s: expected one line naming %s, got %r" % (args, words, p.err))
    t.check(not a.arrivals(), "a request was made: %s" % a.log)


@case
def wait_interrupted_reports_every_url(t):
    """SIGINT while requests wait for their host's turn: each is recorded (interrupted), none lost."""
    import signal
    import subprocess
    a = t.host()
    urls = a.pages("/w", 4)
    out = t.path("out")
    proc = subprocess.Popen([t.lf, "-q", "--wait", "5", "-i", t.input_file(urls), "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e2e.clean_env())
    deadline = time.monotonic() + 10
    while not a.arrivals() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    t.check(proc.returncode == 130, "exit %d after SIGINT, expected 130" % proc.returncode)
    recs = {r["url"]: r["status"] for r in t.manifest(out)}
    t.check(set(recs) == set(urls), "manifest has %d of 4 URLs: %s" % (len(recs), recs))
    t.check(sorted(recs.values()) == ["interrupted"] * 3 + ["saved"],
            "statuses %s, expected one saved and three interrupted" % sorted(recs.values()))
    t.check(len(a.arrivals()) == 1, "%d requests made in the first 5 s" % len(a.arrivals()))


def hold_site(t, status, retry_after):
    """Host a: /h0 answers `status` (with Retry-After when given) the first time, then 200;
    /h1.. always 200. Host b: 30 pages, never held."""
    a, b = t.host("127.0.0.1"), t.host("127.0.0.2")
    ok = (200, {"Content-Type": "text/html"}, b"<html>ok</html>")
    extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    bad = (status, dict({"Content-Type": "text/plain"}, **extra), b"slow down\n")
    held = a.pages("/h", 8)
    a.routes["/h0"] = lambda n: bad if n == 1 else ok
    return a, b, held, b.pages("/b", 30)


def check_hold(t, a, b, hold, what):
    log = sorted(a.log)
    first = [tm for tm, path in log if path == "/h0"][0]
    later = [tm for tm, path in log if tm > first]
    t.check(later and later[0] - first >= hold - JITTER,
            "%s: the host was asked again %.3f s after it said to wait %.1f s" % (
                what, (later[0] - first) if later else -1, hold))
    # back to its pace step by step: the gaps after the hold shrink, never grow
    gaps = [y - x for x, y in zip(later, later[1:])]
    t.check(all(g2 <= g1 + JITTER for g1, g2 in zip(gaps, gaps[1:])),
            "%s: after the hold the gaps do not shrink step by step: %s" % (
                what, [round(g, 3) for g in gaps]))
    t.check(gaps and gaps[0] >= hold / 2 - JITTER,
            "%s: after the hold the host went back to full speed at once: %s" % (
                what, [round(g, 3) for g in gaps]))
    # the other host was never held: all its pages came before the held host's second request
    t.check(max(b.arrivals()) < first + hold - JITTER,
            "%s: the other host waited for the held one" % what)


@case
def hold_429_retry_after(t):
    """A 429 with Retry-After: 1 holds every request to its host (not only the one retried) for
    1 s, then the host comes back step by step; the other host flows meanwhile. -c 1 per host
    is not needed: requests to the held host queue behind the hold."""
    a, b, held, others = hold_site(t, 429, 1)
    p = t.run("-q", "-c", "4", "-i", t.input_file([held[0]] + others + held[1:]),
              "-o", t.path("out"))
    t.expect_exit(p, 0)
    check_hold(t, a, b, 1.0, "429 Retry-After: 1")
    t.check(len(a.log) == 9, "held host: %d requests, expected 9 (one retried)" % len(a.log))


@case
def hold_503_default_and_cap(t):
    """A 503 without Retry-After holds its host for 1 s; --retry-max-wait 0.5 caps the hold (and
    a Retry-After of 60 s) at 0.5 s."""
    a, b, held, others = hold_site(t, 503, None)
    p = t.run("-q", "-c", "4", "-i", t.input_file([held[0]] + others + held[1:]),
              "-o", t.path("out"))
    t.expect_exit(p, 0)
    check_hold(t, a, b, 1.0, "503 without Retry-After")
    for h in t.hosts:
        h.stop()
    t.hosts = []
    a, b, held, others = hold_site(t, 503, 60)
    start = time.monotonic()
    p = t.run("-q", "-c", "4", "--retry-max-wait", "0.5", "-i",
              t.input_file([held[0]] + others + held[1:], "urls2.txt"), "-o", t.path("out2"))
    t.expect_exit(p, 0)
    check_hold(t, a, b, 0.5, "503 Retry-After: 60 under --retry-max-wait 0.5")
    t.check(time.monotonic() - start < 10, "the 60 s Retry-After was not capped")


def main():
    args = harness.parse_args(CASES, __doc__.split("\n\n")[0])
    if isinstance(args, int):
        return args
    return e2e.run_case(PoliteCase(args), CASES[args.case], args.case)


if __name__ == "__main__":
    sys.exit(main())
