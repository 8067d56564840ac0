#!/usr/bin/env python3
"""End-to-end tests of a polite crawler (issue 22): per-host pacing (--wait, --random-wait,
429/503 holding a host), measured from the servers' own logs; robots.txt for the links of list
pages (the fixture site with half its countries disallowed, 5xx, 4xx, redirects, Crawl-delay,
other hosts flowing while one robots.txt is slow, -p); sitemaps as input (--sitemap: indexes,
gzip, nesting, <lastmod>, malformed files, entities, --sitemap robots).

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
JITTER = 0.05


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

            def handle(self):
                try:
                    super().handle()
                except ConnectionError:  # the client had enough (a robots.txt cut at 500 KiB)
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
                try:
                    self.wfile.write(body)
                except ConnectionError:  # the client had enough (a robots.txt cut at 500 KiB)
                    pass

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

    def list_page(self, path, hrefs):
        rows = "".join('<tr><td><span class="flagicon"></span> <a href="%s">x</a></td></tr>' % h
                       for h in hrefs)
        return self.route(path, "<html><body><table>%s</table></body></html>" % rows)

    def hits(self, path):
        with self.lock:
            return [t for t, p in self.log if p.split("?")[0] == path]

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
                        (["--wait", "1", "--compare"], ["--wait", "--compare"])):
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
def hold_ends_while_slots_are_full(t):
    """A held host's turn comes while every slot is busy (-c 2, two slow pages of another host):
    its requests wait for a slot, without spinning (the loop once re-armed a 0 ms timer from
    its own callback there and never polled again: a hang at 100 % CPU)."""
    import subprocess
    a, b = t.host("127.0.0.1"), t.host("127.0.0.2")
    ok = (200, {"Content-Type": "text/html"}, b"<html>ok</html>")
    held = a.pages("/h", 4)
    a.routes["/h0"] = lambda n: (429, {"Content-Type": "text/plain", "Retry-After": "1"},
                                 b"wait\n") if n == 1 else ok

    def slow(n):
        time.sleep(2.0)
        return ok
    slow_pages = [b.route("/s%d" % i) for i in range(4)]
    for i in range(4):
        b.routes["/s%d" % i] = slow
    urls = [held[0], slow_pages[0], slow_pages[1], held[1], held[2], slow_pages[2], slow_pages[3],
            held[3]]
    import resource
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = t.run("-q", "-c", "2", "-i", t.input_file(urls), "-o", t.path("out"), timeout=30)
    except Exception as e:  # e2e.Abort on the timeout
        t.check(False, "the job hung: %s" % e)
        return
    t.expect_exit(p, 0)
    t.check(time.monotonic() - start < 20, "took %.1f s" % (time.monotonic() - start))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    t.check(cpu < 1.0, "%.2f s of CPU for 8 small pages: the loop spun while it waited" % cpu)
    recs = {r["url"]: r["status"] for r in t.manifest(t.path("out"))}
    t.check(recs == {u: "saved" for u in urls}, "statuses: %s" % recs)


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


def check_paced(t, times, wait, what, out, prefix):
    """Pacing under -p, from the server's log and from loopfetch's records. An arrival that comes
    late (a server thread slow to run on a loaded machine) shortens the gap after it, so the log's
    pairs may come 2 x JITTER closer, and the k-th arrival is never sooner than k intervals after
    the first; the records' start times (the workers share the parent's clock) keep the interval
    to the millisecond. Two workers each pacing the host would start pairs at once."""
    times = sorted(times)
    gaps = [y - x for x, y in zip(times, times[1:])]
    close = [g for g in gaps if g < wait - 2 * JITTER]
    early = [k for k in range(1, len(times)) if times[k] - times[0] < k * wait - JITTER]
    t.check(not close and not early, "%s: starts closer than %.2f s: gaps %s" % (
        what, wait, [round(g, 3) for g in gaps]))
    starts = sorted(r["start"] for r in t.manifest(out) if r["url"].startswith(prefix))
    gaps = [y - x for x, y in zip(starts, starts[1:])]
    t.check(all(g >= wait - 0.002 for g in gaps), "%s: the records' starts are closer than %.2f s: "
            "%s" % (what, wait, [round(g, 3) for g in gaps]))


@case
def procs_pace_whole_job(t):
    """-p 2: per-host pacing holds for the whole job, not per worker (the pages of a paced host
    all go to one worker): --wait 0.25 spaces each host's starts (server logs) while two hosts go
    side by side, a host the parent never asked starts at once, one it asked (list page,
    robots.txt) keeps its pace into the worker; a 429 holds its host for every worker; a
    robots.txt Crawl-delay of 0.3 spaces the starts to its host, robots.txt itself and -i's URLs
    included, and another host stays unpaced."""
    a, b = t.host("127.0.0.1"), t.host("127.0.0.2")
    urls = interleave(a.pages("/a", 6), b.pages("/b", 6))
    start = time.monotonic()
    p = t.run("-q", "-p", "2", "--wait", "0.25", "-i", t.input_file(urls), "-o", t.path("wait"))
    wall = time.monotonic() - start
    t.expect_exit(p, 0)
    for h in (a, b):
        t.check(len(h.arrivals()) == 6, "%s: %d requests, expected 6" % (h.base, len(h.arrivals())))
        check_paced(t, h.arrivals(), 0.25, "-p 2 --wait 0.25 " + h.base, t.path("wait"), h.base)
    t.check(wall < 3.0, "two hosts at --wait 0.25 under -p 2 took %.2f s" % wall)
    # a host the parent never asked is not held before its first page: one page each at --wait 1
    one = [a.route("/one"), b.route("/one")]
    start = time.monotonic()
    p = t.run("-q", "-p", "2", "--wait", "1", "-i", t.input_file(one, "one.txt"), "-o",
              t.path("one"))
    t.expect_exit(p, 0)
    firsts = [h.hits("/one")[0] - start for h in (a, b) if h.hits("/one")]
    t.check(len(firsts) == 2 and max(firsts) < 0.8, "first pages held: %s s after the start" % firsts)
    # a host the parent asked (its list page, its robots.txt) keeps its pace into the worker
    c, pc = robots_host(t, "127.0.0.3", None, n=3)
    p = t.run("-q", "-p", "2", "--wait", "0.2", "-o", t.path("asked"), c.base + "/list")
    t.expect_exit(p, 0)
    t.check(len(c.log) == 5, "asked host: %d requests, expected 5" % len(c.log))
    check_paced(t, c.arrivals(), 0.2, "-p 2 --wait 0.2, list page and robots.txt asked",
                t.path("asked"), c.base)
    for h in t.hosts:
        h.stop()
    t.hosts = []
    a, b, held, others = hold_site(t, 429, 1)
    # --wait 0.1: the held host's next page starts after the 429 came back (a request started
    # before is not called back, in one loop either); the other host's 5 pages end before 1 s
    p = t.run("-q", "-p", "2", "-c", "4", "--wait", "0.1", "-i",
              t.input_file([held[0]] + others[:5] + held[1:], "held.txt"), "-o", t.path("held"))
    t.expect_exit(p, 0)
    check_hold(t, a, b, 1.0, "-p 2, 429 Retry-After: 1")
    for h in t.hosts:
        h.stop()
    t.hosts = []
    a, pa = robots_host(t, "127.0.0.1", text("User-agent: *\nCrawl-delay: 0.3\n"), n=6)
    b, pb = robots_host(t, "127.0.0.2", None, n=6, prefix="/q")
    given = a.pages("/x", 3)  # -i's: not checked, but paced with the host once its file is in
    p = t.run("-q", "-p", "2", "-o", t.path("delay"), "-i", t.input_file(given, "given.txt"),
              b.list_page("/all", interleave(pa, pb)))
    t.expect_exit(p, 0)
    t.check(len(a.arrivals("/p")) == 6 and len(a.arrivals("/x")) == 3,
            "Crawl-delay host: %d + %d pages" % (len(a.arrivals("/p")), len(a.arrivals("/x"))))
    check_paced(t, a.hits("/robots.txt") + a.arrivals("/p") + a.arrivals("/x"), 0.3,
                "-p 2, Crawl-delay 0.3", t.path("delay"), a.base)
    qb = sorted(b.arrivals("/q"))
    t.check(len(qb) == 6 and qb[-1] - qb[0] < 0.5, "the host without Crawl-delay: %s" % qb)


# ---- robots.txt ----

def fixture_with_robots(t, robots_text, *extra):
    path = t.path("robots.txt")
    with open(path, "w") as f:
        f.write(robots_text)
    srv = t.server(*extra, "--robots", path) if extra else t.server("--robots", path)
    return srv


def half_countries():
    site = harness.fixture("site")
    countries = site.countries()
    return site, countries, countries[::2]


@case
def robots_half_countries(t):
    """A robots.txt disallowing every other country page of the fixture site: exactly those are
    skipped, each recorded with status "robots" and its rule, counted in the summary and --json;
    none of them is requested; robots.txt is fetched once."""
    site, countries, banned = half_countries()
    lines = ["# half of them", "User-agent: *"] + ["Disallow: /wiki/%s$" % c for c in banned]
    srv = fixture_with_robots(t, "\n".join(lines) + "\n")
    out = t.path("out")
    p = t.run("--json", "-o", out, srv.base + site.LIST_PATH)
    t.expect_exit(p, 0)
    summary = json.loads(p.out)
    t.check(summary["robots"] == len(banned) and summary["saved"] == len(countries) - len(banned),
            "--json: %d robots, %d saved; expected %d and %d" % (
                summary["robots"], summary["saved"], len(banned), len(countries) - len(banned)))
    t.check(summary["pages"] == len(countries), "--json pages %d" % summary["pages"])
    t.check("%d disallowed by robots.txt" % len(banned) in p.err, "summary: %s" % p.err)
    recs = {r["url"]: r for r in t.manifest(out)}
    base = srv.base + "/wiki/"
    robots = {u for u, r in recs.items() if r["status"] == "robots"}
    t.check(robots == {base + c for c in banned}, "robots records differ: %d, e.g. %s" % (
        len(robots), sorted(robots ^ {base + c for c in banned})[:3]))
    bad_rule = [u for u in robots if recs[u].get("robots_rule") != "Disallow: /wiki/%s$" % u[len(base):]]
    t.check(not bad_rule, "robots_rule wrong for %s" % bad_rule[:3])
    saved = {u for u, r in recs.items() if r["status"] == "saved"}
    t.check(saved == {base + c for c in countries} - robots, "%d saved" % len(saved))
    t.check(not any(r.get("file") for r in recs.values() if r["status"] == "robots"),
            "a robots record names a file")
    names = pages_in_folder(out)
    t.check(len(names) == len(saved), "%d files for %d saved pages" % (len(names), len(saved)))
    st = srv.stats()
    # the list page, robots.txt once, the allowed pages: nothing else
    t.check(st["requests"] == 2 + len(saved), "server saw %d requests, expected %d" % (
        st["requests"], 2 + len(saved)))


def pages_in_folder(folder):
    return {n for n in os.listdir(folder) if not n.startswith("loopfetch-manifest")}


@case
def robots_off_and_user_urls(t):
    """--robots=off fetches every link and never asks for robots.txt; URLs the user gave (the
    LIST_URL, -i) are fetched as asked even when robots.txt disallows them."""
    a = t.host()
    pages = a.pages("/p", 4)
    lst = a.list_page("/list", pages)
    a.routes["/robots.txt"] = text("User-agent: *\nDisallow: /\n")
    p = t.run("--json", "--robots=off", "-o", t.path("off"), lst)
    t.expect_exit(p, 0)
    t.check(json.loads(p.out)["saved"] == 4, "--robots=off: %s" % p.out[:200])
    t.check(not a.hits("/robots.txt"), "--robots=off asked for robots.txt")
    p = t.run("--json", "-i", t.input_file(pages[:2]), "-o", t.path("given"))
    t.expect_exit(p, 0)
    t.check(json.loads(p.out)["saved"] == 2, "-i URLs not all fetched: %s" % p.out[:200])
    t.check(not a.hits("/robots.txt"), "-i alone asked for robots.txt")
    # the list page itself is disallowed (Disallow: /): given, so fetched; its links are not
    p = t.run("--json", "-o", t.path("list"), lst)
    t.expect_exit(p, 4)
    t.check(json.loads(p.out)["robots"] == 4, "links: %s" % p.out[:200])
    t.check("robots.txt disallows all" in p.err, "exit 4 without saying why: %s" % p.err)
    t.check(len(a.hits("/list")) == 2, "the list page was not fetched each time it was given")


def robots_host(t, addr, robots_route, n=4, prefix="/p"):
    """A host with a list page of n pages and robots.txt as robots_route gives it."""
    h = t.host(addr)
    pages = h.pages(prefix, n)
    h.list_page("/list", pages)
    if robots_route is not None:
        h.routes["/robots.txt"] = robots_route
    return h, pages


def text(body, status=200, **headers):
    h = {"Content-Type": "text/plain"}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return (status, h, body.encode())


@case
def robots_5xx_disallows_all(t):
    """robots.txt answering 500 (after the retries) disallows every link of that origin for the
    rest of the job, with the reason as the rule; another origin whose robots.txt is 404 is
    allowed all; a 403 allows all too (RFC 9309 2.3.1.3, 2.3.1.4)."""
    a, pa = robots_host(t, "127.0.0.1", lambda n: text("oops", 500))
    b, pb = robots_host(t, "127.0.0.2", None, prefix="/q")
    c, pc = robots_host(t, "127.0.0.3", lambda n: text("no", 403), prefix="/r")
    lst = a.list_page("/mixed", pa + pb + pc)
    out = t.path("out")
    p = t.run("--json", "--retries", "1", "-o", out, lst)
    t.expect_exit(p, 0)
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check(all(recs[u]["status"] == "robots" and recs[u]["robots_rule"] ==
                "robots.txt unreachable: HTTP 500" for u in pa),
            "500: %s" % [(recs[u]["status"], recs[u].get("robots_rule")) for u in pa])
    t.check(all(recs[u]["status"] == "saved" for u in pb + pc), "404/403 origins not all saved")
    t.check(len(a.hits("/robots.txt")) == 2, "robots.txt asked %d times, expected 2 (one retry)"
            % len(a.hits("/robots.txt")))
    t.check(not any(a.hits(u[len(a.base):]) for u in pa), "a disallowed page was requested")
    t.check(len(b.hits("/robots.txt")) == 1 and len(c.hits("/robots.txt")) == 1,
            "robots.txt not fetched once per origin")


@case
def robots_unreachable_disallows_all(t):
    """An origin that refuses connections: its robots.txt is unreachable, its links disallowed."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    a = t.host()
    dead = ["http://127.0.0.1:%d/x%d" % (port, i) for i in range(3)]
    ok = a.pages("/ok", 2)
    lst = a.list_page("/list", dead + ok)
    out = t.path("out")
    p = t.run("--retries", "0", "-o", out, lst)
    t.expect_exit(p, 0)
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check(all(recs[u]["status"] == "robots" and
                recs[u]["robots_rule"].startswith("robots.txt unreachable") for u in dead),
            "unreachable: %s" % [recs[u] for u in dead][:1])
    t.check(all(recs[u]["status"] == "saved" for u in ok), "the reachable origin's pages")


@case
def robots_redirect_chain(t):
    """robots.txt behind 3 redirects (across origins) is followed and obeyed; behind 6 it is
    taken as unavailable: allow all (RFC 9309 2.3.1.2)."""
    a, pa = robots_host(t, "127.0.0.1", None)
    other = t.host("127.0.0.2")
    other.route("/real-robots.txt", "User-agent: *\nDisallow: /p1\n", ctype="text/plain")
    a.route("/robots.txt", b"", status=301, Location="/r1")
    a.route("/r1", b"", status=302, Location="/r2")
    a.route("/r2", b"", status=307, Location=other.base + "/real-robots.txt")
    b, pb = robots_host(t, "127.0.0.3", None, prefix="/q")
    hops = ["/robots.txt"] + ["/s%d" % i for i in range(6)]
    for x, y in zip(hops, hops[1:]):
        b.route(x, b"", status=302, Location=y)
    b.route(hops[-1], "User-agent: *\nDisallow: /\n", ctype="text/plain")
    out = t.path("out")
    p = t.run("-o", out, a.list_page("/all", pa + pb))
    t.expect_exit(p, 0)
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check([recs[u]["status"] for u in pa] == ["saved", "robots", "saved", "saved"],
            "3 redirects: %s" % [recs[u]["status"] for u in pa])
    t.check(all(recs[u]["status"] == "saved" for u in pb),
            "6 redirects: %s" % [recs[u]["status"] for u in pb])


@case
def robots_slow_origin_holds_only_its_pages(t):
    """While one origin's robots.txt takes 1.5 s, the pages of another origin are fetched at
    once; the slow origin's pages start only after its robots.txt came."""
    a, pa = robots_host(t, "127.0.0.1", None)

    def slow(n):
        time.sleep(1.5)
        return text("User-agent: *\nDisallow: /p0\n")
    a.routes["/robots.txt"] = slow
    b, pb = robots_host(t, "127.0.0.2", None, prefix="/q")
    out = t.path("out")
    p = t.run("-o", out, a.list_page("/all", pa + pb))
    t.expect_exit(p, 0)
    robots_at = a.hits("/robots.txt")[0]
    t.check(max(b.arrivals("/q")) < robots_at + 1.0,
            "the other origin's pages waited for the slow robots.txt")
    first_a = min(a.arrivals("/p"))
    t.check(first_a >= robots_at + 1.5 - JITTER, "a page of the slow origin started before its "
            "robots.txt came (%.3f s after asking)" % (first_a - robots_at))
    recs = {r["url"]: r["status"] for r in t.manifest(out)}
    t.check(recs[pa[0]] == "robots" and all(recs[u] == "saved" for u in pa[1:] + pb),
            "statuses: %s" % recs)


@case
def robots_crawl_delay_paces(t):
    """Crawl-delay: 0.4 spaces the starts to that host (server log); another host without one is
    not paced. Crawl-delay: 30 above --max-crawl-delay 0.3: paced at 0.3, with a warning."""
    a, pa = robots_host(t, "127.0.0.1", text("User-agent: *\nCrawl-delay: 0.4\n"), n=5)
    b, pb = robots_host(t, "127.0.0.2", None, n=5, prefix="/q")
    p = t.run("-q", "-o", t.path("out"), a.list_page("/all", pa + pb))
    t.expect_exit(p, 0)
    t.check_spaced(sorted(a.hits("/robots.txt") + a.arrivals("/p")), 0.4, "Crawl-delay 0.4")
    qb = sorted(b.arrivals("/q"))
    t.check(qb[-1] - qb[0] < 0.3, "the host without Crawl-delay was paced: %s" % qb)
    for h in t.hosts:
        h.stop()
    t.hosts = []
    a, pa = robots_host(t, "127.0.0.1", text("User-agent: loopfetch\nCrawl-delay: 30\n"), n=4)
    start = time.monotonic()
    p = t.run("--max-crawl-delay", "0.3", "-o", t.path("out2"), a.list_page("/all", pa))
    t.expect_exit(p, 0)
    gaps = t.check_spaced(sorted(a.arrivals("/p")), 0.3, "Crawl-delay capped at 0.3")
    t.check(time.monotonic() - start < 5, "Crawl-delay 30 was not capped")
    t.check("Crawl-delay: 30 s; pacing it at --max-crawl-delay 0.3 s" in p.err,
            "no warning about the cap: %s" % p.err)


@case
def robots_agent_token(t):
    """The product token of --user-agent picks the group (loopfetch by default)."""
    rules = "User-agent: loopfetch\nDisallow: /p1\n\nUser-agent: MyBot\nDisallow: /p2\n"
    a, pa = robots_host(t, "127.0.0.1", text(rules))
    p = t.run("-o", t.path("d"), a.list_page("/all", pa))
    recs = {r["url"]: r["status"] for r in t.manifest(t.path("d"))}
    t.check([recs[u] for u in pa] == ["saved", "robots", "saved", "saved"], "default: %s" % recs)
    p = t.run("--user-agent", "mybot/2.0 (mailto:me@example.org)", "-o", t.path("m"),
              a.base + "/all")
    recs = {r["url"]: r["status"] for r in t.manifest(t.path("m"))}
    t.check([recs[u] for u in pa] == ["saved", "saved", "robots", "saved"], "mybot: %s" % recs)


@case
def robots_large_file(t):
    """Only the first 500 KiB of robots.txt are read: a rule beyond is not obeyed, one before is;
    the transfer of a huge file is cut there."""
    body = "User-agent: *\nDisallow: /p0\n" + ("#" * 99 + "\n") * 6000 + "Disallow: /p1\n"
    a, pa = robots_host(t, "127.0.0.1", text(body))
    out = t.path("out")
    p = t.run("-o", out, a.list_page("/all", pa))
    t.expect_exit(p, 0)
    recs = {r["url"]: r["status"] for r in t.manifest(out)}
    t.check([recs[u] for u in pa] == ["robots", "saved", "saved", "saved"], "%s" % recs)


@case
def robots_procs(t):
    """-p 2: the parent checks robots.txt before dealing the pages; the same pages are skipped."""
    site, countries, banned = half_countries()
    lines = ["User-agent: *"] + ["Disallow: /wiki/%s$" % c for c in banned]
    srv = fixture_with_robots(t, "\n".join(lines) + "\n")
    out = t.path("out")
    p = t.run("--json", "-p", "2", "-o", out, srv.base + site.LIST_PATH)
    t.expect_exit(p, 0)
    recs = {r["url"]: r["status"] for r in t.manifest(out)}
    t.check(sum(1 for v in recs.values() if v == "robots") == len(banned) and
            sum(1 for v in recs.values() if v == "saved") == len(countries) - len(banned),
            "-p 2: %s" % p.out[:300])


# ---- sitemaps ----

def urlset(urls, lastmods=None):
    rows = "".join("<url><loc>%s</loc>%s</url>" % (
        u.replace("&", "&amp;"), "<lastmod>%s</lastmod>" % lastmods[i] if lastmods else "")
        for i, u in enumerate(urls))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
            '"http://www.sitemaps.org/schemas/sitemap/0.9">%s</urlset>\n' % rows)


def index(urls):
    return ('<?xml version="1.0"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join("<sitemap><loc>%s</loc></sitemap>" % u for u in urls) + "</sitemapindex>\n")


@case
def sitemap_index_gzip_nested(t):
    """--sitemap INDEX alone: the index lists a gzip sitemap and another index (nested) listing a
    plain one; exactly their pages are fetched (no default list page, nothing else asked), each
    with its <lastmod> in the manifest; a sitemap listed twice is read once."""
    import gzip
    a = t.host()
    p1, p2 = a.pages("/one", 3), a.pages("/two", 2)
    a.route("/sm1.xml.gz", gzip.compress(urlset(p1, ["2024-0%d-01" % (i + 1) for i in range(3)])
                                         .encode()), ctype="application/x-gzip")
    a.route("/sm2.xml", urlset(p2, ["2025-01-01T10:00:00+00:00", "2025-01-02"]),
            ctype="application/xml")
    a.route("/inner.xml", index([a.base + "/sm2.xml", a.base + "/sm1.xml.gz"]),
            ctype="application/xml")
    top = a.route("/index.xml", index([a.base + "/sm1.xml.gz", a.base + "/inner.xml"]),
                  ctype="application/xml")
    out = t.path("out")
    p = t.run("--json", "--sitemap", top, "-o", out)
    t.expect_exit(p, 0)
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check(set(recs) == set(p1 + p2), "pages: %s" % sorted(recs))
    t.check(all(r["status"] == "saved" for r in recs.values()), "not all saved")
    t.check([recs[u].get("lastmod") for u in p1] == ["2024-01-01", "2024-02-01", "2024-03-01"]
            and [recs[u].get("lastmod") for u in p2] == ["2025-01-01T10:00:00+00:00", "2025-01-02"],
            "lastmod: %s" % [(u, recs[u].get("lastmod")) for u in p1 + p2])
    asked = sorted(p for _, p in a.log)
    want = sorted(["/index.xml", "/inner.xml", "/sm1.xml.gz", "/sm2.xml"] +
                  [u[len(a.base):] for u in p1 + p2])
    t.check(asked == want, "requests: %s" % asked)


@case
def sitemap_malformed_exit3(t):
    """A malformed sitemap: one line naming it and the place (line, column), exit 3, none of its
    pages fetched (not even those before the error); likewise a DOCTYPE with entities (billion
    laughs), a file that is not a sitemap, and one that cannot be fetched."""
    a = t.host()
    pages = a.pages("/p", 3)
    body = urlset(pages).replace("</url><url>", "</url>\n<url>", 1)
    bad = a.route("/bad.xml", body.replace("</loc></url>\n<url>", "</loc>\n<url>", 1),
                  ctype="application/xml")
    lol = a.route("/lol.xml", '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                  '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<urlset><url><loc>'
                  + a.base + '/p0&b;</loc></url></urlset>', ctype="application/xml")
    html = a.route("/html.xml", "<html><body>no</body></html>")
    missing = a.base + "/missing.xml"
    for url, words in ((bad, ["line 3, column"]), (lol, ["line 2", "DOCTYPE"]),
                       (html, ["<html>"]), (missing, ["404"])):
        p = t.run("--sitemap", url, "-o", t.path("out"))
        t.expect_exit(p, 3)
        lines = [l for l in p.err.splitlines() if l.strip()]
        t.check(len(lines) == 1 and url in p.err and all(w in p.err for w in words),
                "%s: expected one line naming it and %s, got %r" % (url, words, p.err))
    t.check(not any(path.startswith("/p") for _, path in a.log),
            "a page of a malformed sitemap was fetched: %s" % a.log)


@case
def sitemap_with_list_and_input(t):
    """--sitemap with a LIST_URL and -i: all three sources in one job, each URL once; the
    sitemap's pages are fetched as -i's are, even where robots.txt disallows them (only found
    links are checked)."""
    a = t.host()
    links, listed, given = a.pages("/l", 3), a.pages("/s", 3), a.pages("/i", 2)
    a.routes["/robots.txt"] = text("User-agent: *\nDisallow: /s\nDisallow: /l1\n")
    sm = a.route("/sm.xml", urlset(listed + links[:1]), ctype="application/xml")
    lst = a.list_page("/list", links)
    out = t.path("out")
    p = t.run("--sitemap", sm, "-i", t.input_file(given + listed[:1]), "-o", out, lst)
    t.expect_exit(p, 0)
    recs = {}
    for r in t.manifest(out):
        t.check(r["url"] not in recs, "%s recorded twice" % r["url"])
        recs[r["url"]] = r["status"]
    want = {u: "saved" for u in links + listed + given}
    want[links[1]] = "robots"
    t.check(recs == want, "statuses: %s" % sorted(recs.items()))


@case
def sitemap_robots(t):
    """--sitemap robots: the sitemaps the LIST_URL's site lists in its robots.txt are read."""
    a = t.host()
    links, listed = a.pages("/l", 2), a.pages("/s", 3)
    sm = a.route("/sitemap.xml", urlset(listed), ctype="application/xml")
    a.routes["/robots.txt"] = text("User-agent: *\nAllow: /\nSitemap: %s\n" % sm)
    out = t.path("out")
    p = t.run("--sitemap", "robots", "-o", out, a.list_page("/list", links))
    t.expect_exit(p, 0)
    recs = {r["url"]: r["status"] for r in t.manifest(out)}
    t.check(recs == {u: "saved" for u in links + listed}, "statuses: %s" % recs)
    t.check(len(a.hits("/robots.txt")) == 1, "robots.txt asked %d times" % len(a.hits("/robots.txt")))


@case
def sitemap_robots_input_origins(t):
    """--sitemap robots with -i (a file, stdin, -p 2, and beside a LIST_URL): the robots.txt of
    each -i URL's origin (two hosts, 127.0.0.1 and 127.0.0.2, three URLs each) is asked once, and
    the sitemap each lists is read: its pages join -i's."""
    a, b = t.host("127.0.0.1"), t.host("127.0.0.2")
    given = interleave(a.pages("/i", 3), b.pages("/j", 3))
    listed = []
    for h, prefix in ((a, "/s"), (b, "/t")):
        pages = h.pages(prefix, 2)
        listed += pages
        sm = h.route("/map%s.xml" % prefix[1:], urlset(pages), ctype="application/xml")
        h.routes["/robots.txt"] = text("User-agent: *\nDisallow: /none\n\nSitemap: %s\n" % sm)
    path = t.input_file(given)
    links = a.pages("/l", 2)
    lst = a.list_page("/list", links)
    for n, how in enumerate((["-i", path], ["-i", "-"], ["-p", "2", "-i", path],
                             ["-i", path, lst])):
        out = t.path("out%d" % n)
        with open(path, "rb") as f:
            p = t.run("--sitemap", "robots", *how, "-o", out, stdin=f.read())
        t.expect_exit(p, 0)
        recs = {r["url"]: r["status"] for r in t.manifest(out)}
        want = given + listed + (links if lst in how else [])
        t.check(recs == {u: "saved" for u in want}, "%s: statuses: %s" % (how, recs))
        for h in (a, b):
            t.check(len(h.hits("/robots.txt")) == n + 1,
                    "%s: %s/robots.txt asked %d times" % (how, h.base, len(h.hits("/robots.txt"))))


def read_records(path):
    with open(path, encoding="utf-8") as f:
        return sorted((json.loads(l) for l in f if l.strip()), key=lambda r: r["url"])


@case
def sitemap_extract(t):
    """--sitemap with -e: the sitemap's pages are the start pages. Without -f they are the pages
    records come from (depth 0, no parent); with -f they are level 0 and the pages they link to
    give the records (depth 1, the sitemap's page as parent), in one loop and with -p 2; beside a
    LIST_URL both are level 0. Without -e and without a LIST_URL, -f follows from them too."""
    a = t.host()
    starts, details = [], []
    for i in range(3):
        details.append(a.route("/d%d" % i, "<html><body><h1>detail %d</h1></body></html>" % i))
        starts.append(a.route("/s%d" % i, '<html><body><h1>start %d</h1><a class="n" href="/d%d">'
                              'next</a></body></html>' % (i, i)))
    details.append(a.route("/d9", "<html><body><h1>detail 9</h1></body></html>"))
    lst = a.route("/list", '<html><body><h1>list</h1><a class="n" href="/d9">n</a></body></html>')
    sm = a.route("/sm.xml", urlset(starts), ctype="application/xml")

    def run(what, *args):
        out, recs = t.path("out-%s" % what), t.path("recs-%s.jsonl" % what)
        p = t.run("--sitemap", sm, "-e", "t=h1", "--records", recs, "-o", out, *args)
        t.expect_exit(p, 0)
        return read_records(recs)

    got = run("pages")
    want = [{"url": u, "parent": None, "depth": 0, "t": "start %d" % i}
            for i, u in enumerate(starts)]
    t.check(got == want, "without -f: %s" % got)
    want = [{"url": u, "parent": starts[i], "depth": 1, "t": "detail %d" % i}
            for i, u in enumerate(details[:3])]
    for what, more in (("follow", []), ("procs", ["-p", "2"])):
        got = run(what, "-f", "a.n", *more)
        t.check(got == want, "-f a.n %s: %s" % (more, got))
    got = run("list", "-f", "a.n", lst)
    t.check(got == sorted(want + [{"url": details[3], "parent": lst, "depth": 1, "t": "detail 9"}],
                          key=lambda r: r["url"]), "with a LIST_URL: %s" % got)
    out = t.path("plain")
    p = t.run("--sitemap", sm, "-f", "a.n", "-o", out)
    t.expect_exit(p, 0)
    saved = sorted(r["url"] for r in t.manifest(out) if r["status"] == "saved")
    t.check(saved == details[:3], "without -e: saved %s" % saved)


@case
def sitemap_option_errors(t):
    """--sitemap wants http(s) or 'robots'; 'robots' wants a LIST_URL or -i."""
    for args, words in ((["--sitemap", "ftp://x/s.xml"], ["--sitemap"]),
                        (["--sitemap", "robots"], ["--sitemap robots"])):
        p = t.run(*args, "-o", t.path("out"))
        t.expect_exit(p, 2)
        lines = [l for l in p.err.splitlines() if l.strip()]
        t.check(len(lines) == 1 and all(w in p.err for w in words), "%s: %r" % (args, p.err))


def main():
    args = harness.parse_args(CASES, __doc__.split("\n\n")[0])
    if isinstance(args, int):
        return args
    return e2e.run_case(PoliteCase(args), CASES[args.case], args.case)


if __name__ == "__main__":
    sys.exit(main())
