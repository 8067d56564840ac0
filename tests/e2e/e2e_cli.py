#!/usr/bin/env python3
"""End-to-end tests of the command line as users of curl, wget and aria2c meet it (issue 14):
option errors, checks before the first request, several list URLs, --links, names that follow
the content, -v, --refresh, --version, --json on every exit, the progress line, --compare.

    python3 tests/e2e/e2e_cli.py --list
    python3 tests/e2e/e2e_cli.py --loopfetch build/loopfetch CASE

Each case runs its own small HTTP server on 127.0.0.1 (an ephemeral port, in this process), so
it can serve exactly the replies the case needs and see every request loopfetch made. Exit 0
(pass), 1 (fail) or 77 (skip).
"""

import email.utils
import http.server
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e  # noqa: E402
import harness  # noqa: E402
Case, Skip, Abort, pages_in, clean_env = e2e.Case, e2e.Skip, e2e.Abort, e2e.pages_in, e2e.clean_env

SKIP = 77


class Site:
    """A tiny HTTP/1.1 server: routes map a path to a reply, every request is recorded."""

    def __init__(self):
        self.routes, self.requests, self.lock = {}, [], threading.Lock()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with site.lock:
                    site.requests.append((self.path, dict(self.headers.items())))
                    route = site.routes.get(self.path.split("?")[0])
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found\n"
                else:
                    status, headers, body = route(self) if callable(route) else route
                    if status is None:  # hang: never answer
                        time.sleep(3600)
                        return
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def route(self, path, body=b"", ctype="text/html; charset=utf-8", status=200, **headers):
        h = {"Content-Type": ctype} if ctype else {}
        h.update({k.replace("_", "-"): v for k, v in headers.items()})
        self.routes[path] = (status, h, body if isinstance(body, bytes) else body.encode())
        return self.base + path

    def list_page(self, path, hrefs):
        rows = "".join('<tr><td><span class="flagicon"></span> <a href="%s">x</a></td></tr>' % h
                       for h in hrefs)
        return self.route(path, "<html><body><table>%s</table></body></html>" % rows)

    def hits(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r[0].split("?")[0] == path]

    def stop(self):
        self.httpd.shutdown()


class CliCase(Case):
    def __init__(self, args):
        super().__init__(args)
        self.sites = []

    def site(self):
        s = Site()
        self.sites.append(s)
        return s

    def finish(self):
        for s in self.sites:
            s.stop()
        super().finish()

    def files(self, folder):
        return pages_in(folder)

    def manifest(self, folder):
        path = os.path.join(folder, e2e.MANIFEST)
        with open(path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]

    def one_line_error(self, p, *words):
        lines = [l for l in p.err.splitlines() if l.strip()]
        self.check(len(lines) == 1, "%s: expected one error line, got:\n%s" % (p.cmd, p.err))
        for w in words:
            self.check(w in p.err, "%s: the error does not say %r:\n%s" % (p.cmd, w, p.err))


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def pages_site(t, n=3, prefix="/p/"):
    """A site with n small HTML pages and a list page linking them; returns (site, list_url, urls)."""
    s = t.site()
    urls = [s.route("%s%d" % (prefix, i), "<html><body>page %d</body></html>" % i) for i in range(n)]
    return s, s.list_page("/list.html", urls), urls


# ---- (a) papercuts ----

@case
def links_writes_nothing(t):
    s, lst, urls = pages_site(t)
    inp = t.input_file("\n".join(urls) + "\n")
    cwd = t.path("cwd")
    os.mkdir(cwd)
    for args in (["-i", inp], ["-i", inp, "-p", "2"], [lst, "-p", "2"], [lst, "--shard", "1/1"],
                 [lst, "-i", inp], ["-o", "out", lst]):
        p = t.run("--links", *args, cwd=cwd)
        t.expect_exit(p, 0)
        t.check(sorted(p.out.split()) == sorted(urls), "--links %s printed %r" % (args, p.out))
        t.check(os.listdir(cwd) == [], "--links %s wrote %s" % (args, os.listdir(cwd)))
    halves = [t.run("--links", "--shard", k, lst, cwd=cwd).out.split() for k in ("1/2", "2/2")]
    t.check(sorted(halves[0] + halves[1]) == sorted(urls) and not set(halves[0]) & set(halves[1]),
            "--links --shard K/2 did not split the links: %s" % halves)
    t.check(os.listdir(cwd) == [], "--links --shard wrote %s" % os.listdir(cwd))
    pages = [r for r in s.hits() if r[0].startswith("/p/")]
    t.check(not pages, "--links fetched pages: %s" % pages[:3])


@case
def url_where_value_expected(t):
    s, lst, _ = pages_site(t)
    cwd = t.path("cwd")
    os.mkdir(cwd)
    for args in (["-H", lst], ["--header", lst], ["-o", lst], ["--manifest", lst], ["-c", lst],
                 ["--retries", lst], ["--timeout", lst], ["-i", lst], ["--cacert", lst]):
        p = t.run(*args, cwd=cwd)
        t.expect_exit(p, 2)
        t.one_line_error(p)
    t.check(os.listdir(cwd) == [], "a refused command line wrote %s" % os.listdir(cwd))
    t.check(not s.hits(), "a refused command line made requests: %s" % s.hits()[:3])


@case
def option_errors_name_the_option(t):
    for args, want in ((["-nc", "http://127.0.0.1:1/"], "'-n'"), (["-qz"], "'-z'"),
                       (["--no-such"], "'--no-such'"), (["-o"], "'-o'"), (["--select"], "'--select'")):
        p = t.run(*args)
        t.expect_exit(p, 2)
        t.one_line_error(p, want)
        t.check(t.lf not in p.err, "%s: the error names argv[0]: %s" % (args, p.err))
    p = t.run("--help")
    t.expect_exit(p, 0)
    wide = [l for l in p.out.splitlines() if len(l) > 80]
    t.check(p.out and not wide, "--help lines over 80 columns: %s" % wide)


@case
def abbreviated_options_refused(t):
    """getopt_long takes a unique prefix for the whole name: --user became --user-agent and sent
    the password as the User-Agent. Only full names: a prefix is exit 2, one line naming the
    full options it could mean, nothing fetched, the value never printed."""
    s, lst, _ = pages_site(t)
    cwd = t.path("cwd")
    os.mkdir(cwd)
    for args, want in ((["--user-ag", "alice:secret"], "did you mean --user-agent?"),
                       (["--proxy-us=alice:secret"], "did you mean --proxy-user?"),
                       (["--retry", "1"], "--retries or --retry-max-wait"),
                       (["--output", "x.html"], "did you mean --output-dir?"),
                       (["--out=x.html"], "did you mean --output-dir?"),
                       (["--conc", "4"], "did you mean --concurrency?"),
                       (["-q", "--jsn"], "did you mean --json?"),
                       (["-H", "X-A: 1", "--sel", "a"], "did you mean --select?")):
        p = t.run(*args, lst, cwd=cwd)
        t.expect_exit(p, 2)
        t.one_line_error(p, want)
        t.check("secret" not in p.err, "%s: the value was printed: %s" % (args, p.err))
    # Values are skipped as getopt skips them: an option's value may start with "--".
    p = t.run("--links", "--user-agent", "--user", "-H", "X-A: --out", lst, cwd=cwd)
    t.expect_exit(p, 0)
    t.check(os.listdir(cwd) == [], "a refused command line wrote %s" % os.listdir(cwd))
    t.check(not [h for h in s.hits() if h[0].startswith("/p/")],
            "a refused command line fetched pages: %s" % s.hits()[:3])
    p = t.run("status", "--jso", cwd)
    t.expect_exit(p, 2)
    t.one_line_error(p, "did you mean --json?")


@case
def max_redirs(t):
    """--max-redirs N (issue 25, item 9): a 3-hop chain fails under 2 (the line says
    --max-redirs), is saved under 3; 0 follows none; workers (-p) get it too. A list page that
    is not http(s) is a usage error (exit 2) before anything is fetched."""
    s = t.site()
    s.route("/end", "<p>end</p>")
    for i in range(1, 4):
        s.route("/hop%d" % i, "", status=302, Location="/hop%d" % (i + 1) if i < 3 else "/end")
    url = s.base + "/hop1"
    for args, code, word in ((["--max-redirs", "2"], 1, "--max-redirs"),
                             (["--max-redirs", "0"], 1, "HTTP 302"),
                             (["--max-redirs", "2", "-p", "2"], 1, "--max-redirs"),
                             (["--max-redirs", "3"], 0, None), ([], 0, None)):
        out = t.path("o%d" % len(os.listdir(t.tmp)))
        p = t.run("-o", out, "-i", "-", *args, stdin=(url + "\n").encode())
        t.expect_exit(p, code)
        if word:
            t.check(word in p.err, "%s: the failure does not say %r: %s" % (args, word, p.err))
        else:
            t.check(t.files(out) == ["hop1.html"], "%s: saved %s" % (args, t.files(out)))
    for bad in ("--max-redirs=-1", "--max-redirs=x"):
        t.expect_exit(t.run(bad, url), 2)
    hits = len(s.hits())
    for lst in ("ftp://127.0.0.1:1/list", "example.org/list"):
        p = t.run("-o", t.path("never"), lst)
        t.expect_exit(p, 2)
        t.one_line_error(p, "http")
    t.check(len(s.hits()) == hits, "refused list pages made requests")


@case
def one_url_hint(t):
    """`loopfetch URL` saves what URL links to (issue 25, item 5): when URL is not HTML (exit 3)
    or links nowhere (exit 4), the last line is a complete shell command, URL quoted, that saves
    URL itself into the same -o folder; it works as printed. `--select img` says only href is
    followed (item 9)."""
    s = t.site()
    text = s.route("/notes.txt", "plain text, it's here\n", ctype="text/plain")
    html = s.route("/it's-page.html", "<p>no links <img src=/x.png></p>")
    out = t.path("my 'out'")
    for url, code in ((text, 3), (html, 4)):
        p = t.run("-o", out, url)
        t.expect_exit(p, code)
        last = p.err.strip().splitlines()[-1]
        t.check(last.startswith("loopfetch: to save that page itself: printf "),
                "%s: the last line is not the command: %r" % (url, last))
        cmd = last.split(": ", 2)[2]
        r = subprocess.run(["sh", "-c", cmd.replace("loopfetch ", "'%s' " % t.lf, 1)],
                           capture_output=True, text=True, cwd=t.tmp, env=clean_env(), timeout=60)
        t.check(r.returncode == 0, "%s: the command failed (%d): %s %s" % (cmd, r.returncode, r.stderr, r.stdout))
    got = t.files(out)
    t.check(got == sorted(["notes.txt", "it's-page.html"]), "saved by the commands: %s" % got)
    p = t.run("--select", "img", "-o", t.path("img"), html)
    t.expect_exit(p, 4)
    t.check("only href is followed" in p.err, "--select img does not say why: %s" % p.err)


@case
def failed_first_run_leaves_nothing(t):
    """A first run that saved nothing and failed (list page unreachable: 3; nothing to fetch: 4)
    leaves no folder and no manifest behind (issue 25, item 9); a folder that was there stays,
    as does one where pages failed (exit 1: the manifest says what failed)."""
    s, lst, urls = pages_site(t, 1)
    empty = s.route("/none.html", "<p>no links</p>")
    for url, code in ((s.base + "/missing", 3), (empty, 4)):
        out = t.path("first%d" % code)
        t.expect_exit(t.run("-q", "-o", out, url), code)
        t.check(not os.path.exists(out), "exit %d left %s: %s" % (code, out, os.listdir(out) if os.path.isdir(out) else ""))
    mine = t.path("mine")
    os.mkdir(mine)
    t.expect_exit(t.run("-q", "-o", mine, s.base + "/missing"), 3)
    t.check(os.path.isdir(mine), "a folder the user made was removed")
    bad = t.path("bad")
    t.expect_exit(t.run("-q", "-o", bad, "-i", t.input_file(s.base + "/gone\n", "gone.txt")), 1)
    t.check(os.path.exists(os.path.join(bad, e2e.MANIFEST)), "a run with failures lost its manifest")


@case
def refused_url_fails_alone(t):
    """A URL lf_fetcher_add() refuses at once (http:///x: no host) fails alone, recorded, in
    one loop and with -p; the other pages are saved (exit 1, not 5)."""
    s, lst, urls = pages_site(t, 2)
    inp = t.input_file("http:///nohost\n" + "\n".join(urls) + "\n")
    for extra in ([], ["-p", "2"]):
        out = t.path("out%d" % len(extra))
        p = t.run("-o", out, "-i", inp, *extra)
        t.expect_exit(p, 1)
        recs = {r["url"]: r["status"] for r in t.manifest(out)}
        t.check(recs.get("http:///nohost") == "failed" and
                all(recs.get(u) == "saved" for u in urls), "%s: records %s" % (extra, recs))


@case
def precheck_before_first_request(t):
    s, lst, _ = pages_site(t)
    afile = t.input_file("x\n", "a-file")
    os.makedirs(os.path.join(t.path("o2"), e2e.MANIFEST))  # a folder where the manifest goes
    checks = [(["-o", afile], 5, "Not a directory"),
              (["-o", os.path.join(afile, "sub")], 5, "Not a directory"),
              (["--cacert", t.path("nonexistent.pem")], 5, "nonexistent.pem"),
              (["--cacert", t.tmp], 5, "--cacert"),
              (["--manifest", t.path("no/such/dir/m.jsonl"), "-o", t.path("o1")], 5, "m.jsonl"),
              (["-o", t.path("o2")], 5, "manifest"),
              (["-H", "Bad Name: x"], 2, "--header"),
              (["-H", "NoColon"], 2, "--header"),
              (["--per-host", "0"], 2, "--per-host"),
              (["-p", "99999"], 2, "--procs")]
    for args, code, word in checks:
        p = t.run(*args, lst)
        t.expect_exit(p, code)
        t.one_line_error(p, word)
    t.check(not s.hits(), "requests were made before the checks failed: %s" % s.hits()[:3])
    # A folder we may not write to: as root, run loopfetch as nobody (permissions bind it then).
    ro = t.path("ro")
    os.mkdir(ro)
    os.chmod(ro, 0o555)
    os.chmod(t.tmp, 0o755)
    pre = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            raise Skip("root without setpriv: cannot test a read-only folder")
        pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    for out in (ro, os.path.join(ro, "new")):
        p = subprocess.run(pre + [t.lf, "-o", out, lst], capture_output=True, env=clean_env(),
                           timeout=60, cwd=t.tmp)
        err = p.stderr.decode()
        t.check(p.returncode == 5, "read-only %s: exit %d, expected 5: %s" % (out, p.returncode, err))
        t.check(len(err.strip().splitlines()) == 1 and "ermission" in err,
                "read-only %s: not one line about permission: %r" % (out, err))
    t.check(not s.hits(), "requests were made into a read-only folder: %s" % s.hits()[:3])


@case
def several_list_urls(t):
    s = t.site()
    a = [s.route("/a/%s" % n, "<p>%s</p>" % n) for n in ("one", "two", "same")]
    b = [s.route("/b/%s" % n, "<p>b %s</p>" % n) for n in ("same", "three")]
    la = s.list_page("/la.html", a)
    lb = s.list_page("/lb.html", b + [a[0]])  # a[0] again: fetched once
    extra = s.route("/c/four", "<p>four</p>")
    inp = t.input_file("%s\n%s\n" % (a[1], extra))
    out = t.path("out")
    p = t.run("-o", out, la, lb, "-i", inp)
    t.expect_exit(p, 0)
    got = t.files(out)
    t.check(got == sorted(["one.html", "two.html", "same.html", "same~2.html", "three.html",
                           "four.html"]), "names: %s" % got)
    for path in ("/a/one", "/a/two", "/c/four"):
        t.check(len(s.hits(path)) == 1, "%s fetched %d times" % (path, len(s.hits(path))))
    t.check(len(t.manifest(out)) == 6, "manifest: %d records, expected 6" % len(t.manifest(out)))
    p = t.run("--links", la, lb)
    t.check(p.out.split() == a + b, "--links of two lists: %r" % p.out)


@case
def json_on_every_exit(t):
    s, lst, _ = pages_site(t)
    afile = t.input_file("x\n", "a-file")
    for args, code in ((["-c", "0"], 2), (["--nope"], 2), (["-o", afile, lst], 5),
                       ([s.base + "/missing-list"], 3), (["-i", t.path("nope.txt")], 3),
                       ([s.route("/empty.html", "<p>no links</p>")], 4), (["--select", "a[", lst], 2)):
        p = t.run("--json", "-q", *args)
        t.expect_exit(p, code)
        try:
            obj = json.loads(p.out)
        except ValueError:
            t.check(False, "--json %s: stdout is not one JSON object: %r" % (args, p.out))
            continue
        t.check(obj.get("exit_code") == code and obj.get("error"),
                "--json %s: exit_code/error missing: %s" % (args, obj))
    p = t.run("--json", "-q", "-o", t.path("ok"), lst)
    t.expect_exit(p, 0)
    obj = json.loads(p.out)
    t.check(obj["saved"] == 3 and obj["exit_code"] == 0 and obj["error"] is None, "ok run: %s" % obj)


@case
def json_lists_failures(t):
    """--json on failure (issue 25, item 7): "failures" lists the first 100 failed URLs with
    their reasons, "failures_total" counts all; in one loop and with -p; a password in a URL
    is shown as ***@; a run without failures has [] and 0."""
    s, lst, urls = pages_site(t, 2)
    bad = ["%s/gone/%d" % (s.base, i) for i in range(150)]
    secret = s.base.replace("http://", "http://user:hunter2@") + "/gone/secret"
    inp = t.input_file("\n".join(urls + [secret] + bad) + "\n")
    for extra in ([], ["-p", "2"]):
        p = t.run("--json", "-q", "-i", inp, "-o", t.path("out%d" % len(extra)), *extra)
        t.expect_exit(p, 1)
        obj = json.loads(p.out)
        fails = obj.get("failures", [])
        t.check(obj.get("failures_total") == 151 and obj.get("failed") == 151,
                "%s: failures_total %s, failed %s" % (extra, obj.get("failures_total"), obj.get("failed")))
        t.check(len(fails) == 100, "%s: %d failures listed, want the first 100" % (extra, len(fails)))
        t.check(all(set(f) == {"url", "error"} and "HTTP 404" in f["error"] for f in fails),
                "%s: failures: %s" % (extra, fails[:3]))
        t.check(all(f["url"] in bad or "***@" in f["url"] for f in fails),
                "%s: unknown URLs listed: %s" % (extra, [f["url"] for f in fails][:3]))
        t.check("hunter2" not in p.out and any("***@" in f["url"] for f in fails),
                "%s: the URL with a password is not listed as ***@" % extra)
    p = t.run("--json", "-q", "-o", t.path("ok"), lst)
    obj = json.loads(p.out)
    t.check(obj.get("failures") == [] and obj.get("failures_total") == 0, "ok run: %s" % obj)


def progress_frames(err):
    return [f for f in re.split(r"[\r\n]", err) if "pages" in f and "|" in f]


@case
def progress_bytes_total_rerun(t):
    """The progress line (issue 25, item 6): bytes count as they arrive (a 400 kB page dripping
    for ~2 s shows its bytes before it is done); an -i job shows N/M, % and ETA once its input
    is read; a rerun does not count the pages it skips as bytes downloaded."""
    srv = t.server()
    slow = srv.base + "/fault/drip/20/fault/big/400000"
    p = t.run("--progress", "-o", t.path("big"), "-i", t.input_file(slow + "\n", "big.txt"))
    t.expect_exit(p, 0)
    early = [f for f in progress_frames(p.err) if f.startswith("0/1 pages")]
    t.check(any(re.search(r"\| [1-9][\d.]* (kB|MB) \|", f) for f in early),
            "no frame shows bytes before the page is complete: %s" % early[-3:])
    urls = ["%s/fault/slow/700/p%d" % (srv.base, i) for i in range(6)]
    inp = t.input_file("\n".join(urls) + "\n", "six.txt")
    out = t.path("six")
    p = t.run("--progress", "-c", "2", "-o", out, "-i", inp)
    t.expect_exit(p, 0)
    frames = progress_frames(p.err)
    t.check(any(re.match(r"\d/6 pages \d+%", f) and "ETA" in f for f in frames),
            "no frame with N/6 pages, %% and ETA: %s" % frames[-3:])
    # Rerun: six pages skipped, one new slow one fetched: no byte was downloaded before it.
    with open(inp, "a") as f:
        f.write(srv.base + "/fault/slow/900/new\n")
    p = t.run("--progress", "-o", out, "-i", inp)
    t.expect_exit(p, 0)
    frames = progress_frames(p.err)
    # The new page's own 25 bytes may show before its record does (they count on arrival).
    six = [f for f in frames if re.match(r"6(/7)? pages", f)]
    t.check(six and all(re.search(r" (0|25) B \|", f) for f in six),
            "a rerun counts skipped pages as bytes: %s" % (six or frames)[-3:])


@case
def progress_bytes_procs(t):
    """Issue 25, item 6 with -p: the workers' bytes reach the parent's progress line as they
    arrive (a 400 kB page dripping for ~2 s in a worker shows bytes and a rate before it is
    done); a rerun counts none for the pages it skips."""
    srv = t.server()
    slow = srv.base + "/fault/drip/20/fault/big/400000"
    fast = ["%s/fault/slow/100/f%d" % (srv.base, i) for i in range(3)]
    inp = t.input_file("\n".join([slow] + fast) + "\n", "big.txt")
    out = t.path("big")
    p = t.run("--progress", "-p", "2", "-o", out, "-i", inp)
    t.expect_exit(p, 0)
    frames = progress_frames(p.err)
    early = [f for f in frames if re.match(r"[0-3]/4 pages", f)]
    t.check(any(re.search(r"\| [1-9][\d.]* (kB|MB) \| .*\| [1-9][\d.]* (kB|MB)/s", f)
                for f in early),
            "no frame shows the worker's bytes and rate before the page is complete: %s"
            % early[-3:])
    size = os.path.getsize(os.path.join(out, "400000.html"))
    t.check(size == 400000, "the big page is %d bytes" % size)
    # Rerun: four pages skipped, one new slow one fetched by a worker: no byte but its 25.
    with open(inp, "a") as f:
        f.write(srv.base + "/fault/slow/900/new\n")
    p = t.run("--progress", "-p", "2", "-o", out, "-i", inp)
    t.expect_exit(p, 0)
    frames = progress_frames(p.err)
    four = [f for f in frames if re.match(r"4(/5)? pages", f)]
    t.check(four and all(re.search(r" (0|25) B \|", f) for f in four),
            "a rerun with -p counts skipped pages as bytes: %s" % (four or frames)[-3:])


@case
def per_host_in_flight(t):
    s = t.site()
    slow = lambda h: (time.sleep(0.3), (200, {"Content-Type": "text/html"}, b"<p>slow</p>"))[1]
    urls = []
    for i in range(16):
        s.routes["/s/%d" % i] = slow
        urls.append(s.base + "/s/%d" % i)
    out = t.path("out")
    p = t.run("--per-host", "2", "--progress", "-i", t.input_file("\n".join(urls) + "\n"), "-o", out)
    t.expect_exit(p, 0)
    frames = progress_frames(p.err)
    t.check(frames, "no progress line drawn: %r" % p.err[-500:])
    flights = [int(m.group(1)) for f in frames for m in [re.search(r"(\d+) in flight", f)] if m]
    t.check(flights and max(flights) <= 2, "--per-host 2 showed in flight up to %s" % max(flights or [0]))
    t.check(any(re.search(r"\d+ queued", f) for f in frames), "no queued count: %s" % frames[-3:])
    # Worker processes: at most -c pages per worker are in flight, the others are queued.
    p = t.run("-p", "2", "-c", "1", "--progress", "-i", t.input_file("\n".join(urls) + "\n"), "-o", t.path("p"))
    t.expect_exit(p, 0)
    frames = progress_frames(p.err)
    flights = [int(m.group(1)) for f in frames for m in [re.search(r"(\d+) in flight", f)] if m]
    t.check(flights and max(flights) <= 2, "-p 2 -c 1 showed in flight up to %s" % max(flights or [0]))


@case
def retry_progress_and_attempts(t):
    s = t.site()
    s.route("/down", "busy", status=503, ctype="text/plain", Retry_After="1")
    ok = s.route("/ok", "<p>ok</p>")
    out = t.path("out")
    p = t.run("--progress", "--retries", "2", "-i", t.input_file(s.base + "/down\n" + ok + "\n"),
              "-o", out)
    t.expect_exit(p, 1)
    frames = progress_frames(p.err)
    t.check(any(re.search(r"1 waiting to retry", f) for f in frames),
            "the progress line never showed the retry wait: %s" % frames[-3:])
    plain = p.err.replace("\x1b[K", "")
    lines = [l for l in re.split(r"[\r\n]", plain) if l.startswith("loopfetch: %s/down: " % s.base)]
    t.check(len(lines) == 1 and "3 attempts" in lines[0], "failure line without attempts: %s" % lines)
    p = t.run("--retries", "1", "-o", t.path("o2"), s.base + "/down")
    t.expect_exit(p, 3)
    t.check("2 attempts" in p.err, "list page failure without attempts: %s" % p.err)
    t.check(re.search(r"list page \S+/down: HTTP 503; attempt 1 failed, next in \d", p.err),
            "the list page's retry was silent: %s" % p.err)


@case
def compare_display(t):
    s, lst, _ = pages_site(t, 6)
    out = t.path("cmp")
    master, slave = pty.openpty()
    proc = subprocess.Popen([t.lf, "--compare", "-p", "2", "-o", out, lst], stdout=subprocess.PIPE,
                            stderr=slave, env=clean_env(), cwd=t.tmp)
    os.close(slave)
    err = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    table = proc.stdout.read().decode()
    proc.wait(60)
    os.close(master)
    t.check(proc.returncode == 0, "--compare exit %d" % proc.returncode)
    t.check(b"pages" in err and b"\r" in err, "no progress on the terminal: %r" % err[-300:])
    wide = [l for l in table.splitlines() if len(l) > 80]
    t.check(table.strip() and not wide, "table lines over 80 columns: %s" % wide)
    # The summary line with skipped pages fits in 80 columns too.
    many = t.site()
    urls = [many.route("/m/%d" % i, "<p>%d</p>" % i) for i in range(120)]
    inp = t.input_file("\n".join(urls) + "\n")
    t.expect_exit(t.run("-o", t.path("m"), "-i", inp), 0)
    p = t.run("-o", t.path("m"), "-i", inp)
    summary = [l for l in p.err.splitlines() if "skipped" in l]
    t.check(summary and all(len(l) <= 80 for l in summary), "summary over 80 columns: %s" % summary)


# ---- (b) names follow the content ----

LM = "Wed, 21 Oct 2015 07:28:00 GMT"


def content_site(t):
    s = t.site()
    urls = [s.route("/files/big.bin", b"\0" * 5000, ctype="application/octet-stream", Last_Modified=LM),
            s.route("/wiki/Page", "<p>page</p>", Last_Modified=LM),
            s.route("/wiki/Washington,_D.C.", "<p>dc</p>"),
            s.route("/old/doc.htm", "<p>htm</p>"),
            s.route("/txt/notes.html", "plain text", ctype="text/plain"),
            s.route("/api/data.json", "{}", ctype="application/json"),
            s.route("/a/X", "<p>a</p>"),
            s.route("/b/X.html", "<p>b</p>"),
            s.route("/c/X", "not html", ctype="text/plain"),
            s.route("/d/X.htm", "<p>d</p>")]
    return s, urls


NAMES = sorted(["big.bin", "Page.html", "Washington,_D.C..html", "doc.htm", "notes.html",
                "data.json", "X.html", "X~2.html", "X~3", "X.htm"])


@case
def names_follow_content(t):
    s, urls = content_site(t)
    inp = t.input_file("\n".join(urls) + "\n")
    runs = {}
    for label, extra in (("loop", []), ("seq", ["-c", "1"]), ("procs", ["-p", "2"])):
        out = t.path(label)
        t.expect_exit(t.run("-i", inp, "-o", out, *extra), 0)
        runs[label] = t.files(out)
        t.check(runs[label] == NAMES, "%s: names %s, expected %s" % (label, runs[label], NAMES))
        recs = {r["url"]: r["file"] for r in t.manifest(out)}
        t.check(recs.get(urls[0]) == "big.bin", "%s: manifest file of big.bin: %s" % (label, recs.get(urls[0])))
    out = t.path("loop")
    lm = email.utils.parsedate_to_datetime(LM).timestamp()
    for name in ("big.bin", "Page.html"):
        mt = os.stat(os.path.join(out, name)).st_mtime
        t.check(abs(mt - lm) < 1, "%s: mtime %s, expected Last-Modified %s" % (name, mt, lm))
    before = len(s.hits())
    p = t.run("-i", inp, "-o", out)  # a rerun finds every page, big.bin included
    t.expect_exit(p, 0)
    t.check(len(s.hits()) == before, "the rerun fetched %d pages again" % (len(s.hits()) - before))
    t.check(t.files(out) == NAMES, "the rerun changed the names: %s" % t.files(out))


@case
def content_disposition(t):
    s = t.site()
    cd = s.route("/dl/cd", "nice", ctype="text/plain", Content_Disposition='attachment; filename="nice-name.txt"')
    evil = s.route("/dl/evil", "evil", ctype="text/plain",
                   Content_Disposition='attachment; filename="../../evil.txt"')
    utf = s.route("/dl/utf", "utf", ctype="text/plain",
                  Content_Disposition="attachment; filename=\"x.txt\"; filename*=UTF-8''caf%C3%A9%2F..%2Fa.txt")
    dup = s.route("/dl/nice-name.txt", "same name", ctype="text/plain",
                  Content_Disposition='attachment; filename="nice-name.txt"')
    inp = t.input_file("\n".join([cd, evil, utf, dup]) + "\n")
    out = t.path("default")
    t.expect_exit(t.run("-i", inp, "-o", out, "-c", "1"), 0)
    t.check(t.files(out) == sorted(["cd", "evil", "utf", "nice-name.txt"]), "default names: %s" % t.files(out))
    out = t.path("cd")
    t.expect_exit(t.run("--content-disposition", "-c", "1", "-i", inp, "-o", out), 0)
    got = t.files(out)
    # Both /dl/cd and /dl/nice-name.txt want "nice-name.txt": the name reserved first keeps it
    # (here the URL's, reserved before any reply came), the other page keeps its URL's name.
    t.check(got == sorted(["nice-name.txt", "evil.txt", "a.txt", "cd"]), "--content-disposition names: %s" % got)
    bodies = sorted(open(os.path.join(out, n)).read() for n in ("nice-name.txt", "cd") if n in got)
    t.check(bodies == ["nice", "same name"], "a page was lost to a name clash: %s" % bodies)
    t.check(not os.path.exists(t.path("evil.txt")), "a Content-Disposition path left the folder")
    p = t.run("--content-disposition", "-p", "2", "-i", inp, "-o", t.path("p"))
    t.expect_exit(p, 2)


@case
def reserved_names(t):
    """Issue 28, item 1: a page never takes a name the program uses. URLs ending in
    loopfetch-manifest.jsonl (and a shard's manifest name) answered as plain text, and a
    Content-Disposition naming the manifest, are saved as loopfetch_manifest...: the manifest
    keeps every record, in one loop, with -p 2 and with --content-disposition."""
    s = t.site()
    planted = b'{"url":"http://evil/","file":"x","status":"saved","http":200,"bytes":1}\n'
    u1 = s.route("/a/loopfetch-manifest.jsonl", planted, ctype="text/plain")
    u2 = s.route("/b/loopfetch-manifest.2-of-2.jsonl", planted, ctype="text/plain")
    u3 = s.route("/c/LOOPFETCH-MANIFEST.jsonl", planted, ctype="application/octet-stream")
    u4 = s.route("/dl/cd", planted, ctype="text/plain",
                 Content_Disposition='attachment; filename="loopfetch-manifest.jsonl"')
    u5 = s.route("/p/ok", "<html><body>ok</body></html>")
    urls = [u1, u2, u3, u4, u5]
    inp = t.input_file("\n".join(urls) + "\n")
    for label, args in (("loop", []), ("procs", ["-p", "2"]),
                        ("cd", ["--content-disposition", "-c", "1"])):
        out = t.path(label)
        t.expect_exit(t.run(*args, "-i", inp, "-o", out), 0)
        recs = t.manifest(out)  # the manifest is ours: every line parses, one per URL
        t.check(sorted(r["url"] for r in recs) == sorted(urls) and
                all(r["status"] == "saved" for r in recs),
                "%s: the manifest is not the run's: %s" % (label, recs))
        names = sorted(os.listdir(out))
        t.check("loopfetch_manifest.jsonl" in names and "LOOPFETCH_MANIFEST.jsonl" in names and
                "loopfetch_manifest.2-of-2.jsonl" in names and
                "loopfetch-manifest.2-of-2.jsonl" not in names,
                "%s: names %s" % (label, names))
        for r in recs:
            with open(os.path.join(out, r["file"]), "rb") as f:
                body = f.read()
            t.check(body == (planted if r["url"] != u5 else b"<html><body>ok</body></html>"),
                    "%s: %s holds the wrong bytes" % (label, r["file"]))
        p = t.run("status", "-i", inp, out)
        t.expect_exit(p, 0)
        before = len(s.hits())
        t.expect_exit(t.run(*args, "-i", inp, "-o", out), 0)  # a rerun skips them all
        if label != "cd":  # (--content-disposition reruns: issue 28, item 6)
            t.check(len(s.hits()) == before, "%s: the rerun fetched again" % label)

    # Files the user names inside the folder (--manifest, --records, the WARC files) are the
    # run's too: no page takes their names, not even with --force.
    u6 = s.route("/x/my.jsonl", planted, ctype="text/plain")
    u7 = s.route("/x/arch.warc.gz", planted, ctype="application/octet-stream")
    u8 = s.route("/x/arch-00001.warc.gz", planted, ctype="application/octet-stream")
    inp = t.input_file("\n".join([u6, u7, u8]) + "\n", name="own.txt")
    out = t.path("own")
    os.makedirs(out)
    for rnd in (1, 2):
        p = t.run("--force", "--manifest", os.path.join(out, "my.jsonl"), "--warc-file",
                  os.path.join(out, "arch"), "-i", inp, "-o", out)
        t.expect_exit(p, 0)
        with open(os.path.join(out, "my.jsonl")) as f:
            recs = [json.loads(l) for l in f]
        t.check(len(recs) == 3 * rnd and all(r["status"] == "saved" for r in recs),
                "round %d: the manifest is not the run's: %s" % (rnd, recs))
        names = sorted(r["file"] for r in recs[-3:])
        t.check(names == ["arch-00001.warc.gz~2", "arch.warc.gz~2", "my.jsonl~2"],
                "round %d: names %s" % (rnd, names))
        with open(os.path.join(out, "arch.warc.gz"), "rb") as f:
            t.check(f.read(2) == b"\x1f\x8b", "round %d: arch.warc.gz is not the WARC file" % rnd)


@case
def input_dedup(t):
    """Issue 25, item 4: -i alone fetches a repeated URL once, as list pages do: the same line,
    the same URL with another fragment, scheme or host case or the default port; another
    query is another URL. In one loop, with -p 2 and streamed from stdin."""
    s = t.site()
    u = s.route("/d/dup", "<html><body>dup</body></html>")
    port = u.split(":")[2].split("/")[0]
    other = u + "?v=2"
    lines = [u, u, u + "#part", "HTTP://127.0.0.1:%s/d/dup" % port, other, "  " + u + "  "]
    inp = t.input_file("\n".join(lines) + "\n")
    for label, args in (("loop", ["-i", inp]), ("procs", ["-p", "2", "-i", inp]),
                        ("stdin", ["-i", "-"])):
        out = t.path(label)
        before = len(s.hits("/d/dup"))
        p = t.run(*args, "-o", out, stdin=("\n".join(lines) + "\n").encode())
        t.expect_exit(p, 0)
        t.check(len(s.hits("/d/dup")) - before == 2, "%s: %d requests for 2 distinct URLs" % (
            label, len(s.hits("/d/dup")) - before))
        t.check(t.files(out) == ["dup.html", "dup~2.html"], "%s: files %s" % (label, t.files(out)))
        recs = t.manifest(out)
        t.check(sorted(r["url"] for r in recs) == sorted([u, other]), "%s: records %s" % (label, recs))


@case
def credentials_rerun_status(t):
    """Issue 28, item 22 and issue 25, item 8: URLs with user:password@. The manifest never
    holds the password, but each record of such a URL carries a url_id (a keyed hash; the key
    in DIR/loopfetch-key, mode 0600), so a rerun skips the same user's page and fetches another
    user's, and `status -i LIST` finds them (the README's `until loopfetch status` loop ends);
    `status --urls` says why each URL is not done. One loop and -p 2."""
    import base64
    s = t.site()

    def by_user(h):
        auth = h.headers.get("Authorization", "")
        user = base64.b64decode(auth[6:]).decode().split(":")[0] if auth.startswith("Basic ") else "-"
        return 200, {"Content-Type": "text/plain"}, ("page of %s\n" % user).encode()

    s.routes["/auth/x"] = by_user
    base = s.base
    ok = s.route("/p/ok", "<html><body>ok</body></html>")
    gone = base + "/p/not-there"  # 404
    u1, u2 = base.replace("://", "://u1:secret-one@") + "/auth/x", base.replace("://", "://u2:secret-two@") + "/auth/x"
    for label, args in (("loop", []), ("procs", ["-p", "2"])):
        out = t.path(label)
        lst1 = t.input_file("\n".join([u1, ok, gone]) + "\n", name=label + "-1.txt")
        t.expect_exit(t.run(*args, "--retries", "0", "-i", lst1, "-o", out), 1)
        with open(os.path.join(out, e2e.MANIFEST)) as f:
            text = f.read()
        t.check("secret" not in text and "***@" in text, "%s: the manifest shows a password" % label)
        recs = [r for r in t.manifest(out) if "auth" in r["url"]]
        t.check(len(recs) == 1 and len(recs[0].get("url_id") or "") == 16,
                "%s: no url_id in %s" % (label, recs))
        st = os.stat(os.path.join(out, "loopfetch-key"))
        t.check(st.st_mode & 0o777 == 0o600 and st.st_size == 32, "%s: key file %o %d" % (
            label, st.st_mode & 0o777, st.st_size))
        with open(os.path.join(out, "x")) as f:
            t.check(f.read() == "page of u1\n", "%s: u1's page" % label)
        p = t.run("status", "--urls", "-i", lst1, out)
        t.expect_exit(p, 1)
        t.check(p.out.splitlines() == ["# failed: HTTP 404", gone],
                "%s: status --urls: %r" % (label, p.out))
        # A job of URLs that all succeed: status says complete (the README's until-loop ends).
        out = t.path(label + "-ok")
        lst_ok = t.input_file("\n".join([u1, ok]) + "\n", name=label + "-ok.txt")
        t.expect_exit(t.run(*args, "-i", lst_ok, "-o", out), 0)
        p = t.run("status", "-i", lst_ok, out)
        t.expect_exit(p, 0)
        hits = len(s.hits("/auth/x"))
        t.expect_exit(t.run(*args, "-i", lst_ok, "-o", out), 0)
        t.check(len(s.hits("/auth/x")) == hits, "%s: the same user's page was fetched again" % label)
        lst2 = t.input_file(u2 + "\n", name=label + "-2.txt")
        t.expect_exit(t.run(*args, "-i", lst2, "-o", out), 0)
        t.check(len(s.hits("/auth/x")) == hits + 1, "%s: another user's URL was skipped" % label)
        # Another URL: its own name (u1 keeps x, issue 25 item 3), its own page.
        for name, who in (("x", "u1"), ("x~2", "u2")):
            with open(os.path.join(out, name)) as f:
                t.check(f.read() == "page of %s\n" % who, "%s: %s is not %s's page" % (label, name, who))
        p = t.run("status", "-i", lst2, out)
        t.expect_exit(p, 0)
        t.check("secret" not in p.out + p.err, "%s: status shows a password" % label)


@case
def names_kept_across_runs(t):
    """Issue 25, item 3: a URL saved under a name keeps it in every later run of the folder,
    and a new URL never takes a name an earlier URL holds, whatever the order of the next
    list; in one loop, with -p 2 and with shards into one folder. Issue 28, item 6: with
    --content-disposition a rerun skips the pages saved under the server's names."""
    s = t.site()

    def body_of(h):
        return 200, {"Content-Type": "text/html"}, ("<p>%s</p>" % h.path).encode()
    s.routes["/X"] = body_of
    a, b, new = s.base + "/X?v=a", s.base + "/X?v=b", s.base + "/X?v=NEW"
    for label, args in (("loop", []), ("procs", ["-p", "2"]), ("shards", None)):
        out = t.path(label)
        def run(urls, name):
            inp = t.input_file("\n".join(urls) + "\n", name="%s-%s.txt" % (label, name))
            if args is not None:
                t.expect_exit(t.run(*args, "-i", inp, "-o", out), 0)
            else:
                for k in (1, 2):  # (a shard that the hash leaves empty: 4, nothing to fetch)
                    p = t.run("--shard", "%d/2" % k, "-i", inp, "-o", out)
                    t.check(p.returncode in (0, 4), "shard %d: exit %d: %s" % (k, p.returncode, p.err))
        run([a, b], "1")
        t.check(t.files(out) == ["X.html", "X~2.html"], "%s: first run %s" % (label, t.files(out)))
        hits = len(s.hits("/X"))
        run([new, a, b], "2")
        t.check(len(s.hits("/X")) == hits + 1, "%s: the rerun fetched %d pages, want 1 (the new)" % (
            label, len(s.hits("/X")) - hits))
        got = {}
        for n in t.files(out):
            with open(os.path.join(out, n)) as f:
                got[n] = f.read()
        t.check(got == {"X.html": "<p>/X?v=a</p>", "X~2.html": "<p>/X?v=b</p>",
                        "X~3.html": "<p>/X?v=NEW</p>"}, "%s: names moved: %s" % (label, got))
        p = t.run("status", "-i", t.path("%s-2.txt" % label), out)
        t.expect_exit(p, 0)

    # --content-disposition: the server's name is the page's name in the next run too.
    cd = s.route("/dl/file", "same", ctype="text/plain",
                 Content_Disposition='attachment; filename="same.txt"')
    inp = t.input_file(cd + "\n", name="cd.txt")
    out = t.path("cd")
    t.expect_exit(t.run("--content-disposition", "-i", inp, "-o", out), 0)
    t.check(t.files(out) == ["same.txt"], "--content-disposition: %s" % t.files(out))
    hits = len(s.hits("/dl/file"))
    p = t.run("--content-disposition", "-i", inp, "-o", out)
    t.expect_exit(p, 0)
    t.check(len(s.hits("/dl/file")) == hits and "1 skipped" in p.err,
            "--content-disposition: the rerun fetched again: %s" % p.err)
    t.check(t.files(out) == ["same.txt"], "--content-disposition rerun: %s" % t.files(out))


@case
def files_not_ours(t):
    """Issue 25, item 2: a file in the folder that no manifest records is never replaced: the
    page goes to the next free name (mine~2.html) with one line and a count in the summary,
    exit 0; --no-clobber skips it instead (nothing fetched, status not complete); --force
    replaces it. The name a non-HTML reply takes counts too (data beside data.html). In one
    loop and with -p 2. Issue 28, item 5: shards with --content-disposition in one folder
    never write over each other's page (nor over a file not ours)."""
    import scale_common
    s = t.site()
    mine = s.route("/p/mine", "<html><body>page</body></html>")
    data = s.route("/p/data", "page data", ctype="text/plain")
    inp = t.input_file(mine + "\n" + data + "\n")

    def plant(out):
        os.makedirs(out)
        for n in ("mine.html", "data"):
            with open(os.path.join(out, n), "w") as f:
                f.write("my own notes\n")

    def untouched(out, label):
        for n in ("mine.html", "data"):
            with open(os.path.join(out, n)) as f:
                t.check(f.read() == "my own notes\n", "%s: %s was replaced" % (label, n))

    for label, args in (("loop", []), ("procs", ["-p", "2"])):
        out = t.path(label)
        plant(out)
        p = t.run(*args, "--json", "-i", inp, "-o", out)
        t.expect_exit(p, 0)
        untouched(out, label)
        t.check(t.files(out) == ["data", "data~2", "mine.html", "mine~2.html"], "%s: %s" % (label, t.files(out)))
        with open(os.path.join(out, "mine~2.html")) as f:
            t.check(f.read() == "<html><body>page</body></html>", "%s: the page" % label)
        t.check("mine.html exists and is not ours: %s is saved as mine~2.html" % mine in p.err and
                "data exists and is not ours: %s is saved as data~2" % data in p.err and
                "2 renamed" in p.err, "%s: lines and count: %s" % (label, p.err))
        t.check(json.loads(p.out)["renamed"] == 2, "%s: --json renamed: %s" % (label, p.out))
        hits = len(s.hits())
        p = t.run(*args, "-i", inp, "-o", out)  # a rerun: the pages keep their names, skipped
        t.expect_exit(p, 0)
        t.check(len(s.hits()) == hits and "renamed" not in p.err, "%s: rerun: %s" % (label, p.err))
        untouched(out, label)

    out = t.path("noclobber")
    plant(out)
    hits = len(s.hits())
    p = t.run("--no-clobber", "-i", inp, "-o", out)
    t.expect_exit(p, 0)
    untouched(out, "--no-clobber")
    t.check(len(s.hits()) == hits and "2 skipped" in p.err, "--no-clobber fetched: %s" % p.err)
    p = t.run("status", "--urls", "-i", inp, out)
    t.expect_exit(p, 1)
    t.check("# failed: mine.html exists and is not ours: not replaced (--no-clobber)" in p.out,
            "status after --no-clobber: %r" % p.out)

    out = t.path("force")
    plant(out)
    t.expect_exit(t.run("--force", "-i", inp, "-o", out), 0)
    with open(os.path.join(out, "mine.html")) as f:
        t.check(f.read() == "<html><body>page</body></html>", "--force did not replace mine.html")
    t.expect_exit(t.run("--force", "--no-clobber", "-i", inp, "-o", t.path("both")), 2)

    # Two shards, one folder, two pages the server names alike: neither replaces the other.
    urls = [s.route("/dl/s%d" % i, "body %d" % i, ctype="text/plain",
                    Content_Disposition='attachment; filename="same.txt"') for i in range(12)]
    a = urls[0]
    b = next(u for u in urls if scale_common.shard_of(u, 2) != scale_common.shard_of(a, 2))
    inp = t.input_file(a + "\n" + b + "\n", name="cd.txt")
    out = t.path("shards")
    for k in (1, 2):
        t.expect_exit(t.run("--content-disposition", "--shard", "%d/2" % k, "-i", inp, "-o", out), 0)
    got = {}
    for n in t.files(out):
        with open(os.path.join(out, n)) as f:
            got[f.read()] = n
    t.check(sorted(got) == sorted(["body 0", "body %s" % b.rsplit("s", 1)[1]]) and "same.txt" in got.values(),
            "shards: %s" % got)
    t.expect_exit(t.run("status", "-i", inp, out), 0)


@case
def shards_disposition_race(t):
    """Issue 28, item 5: two shards started at once in one folder, every page named alike by
    the server (Content-Disposition), never lose a page: the name is checked and taken in one
    step (the library's LF_REQUEST_NO_REPLACE: linkat or renameat2(RENAME_NOREPLACE)), so of
    two pages that claim a name at the same moment the second is saved as NAME~2.EXT, and its
    record says so. The server answers the shards' requests in pairs, one of each shard at the
    same moment, each pair with its own name: six races a round, five rounds."""
    import scale_common
    s = t.site()
    arrived = threading.Condition()
    count = [0]

    def paired(body, name):
        def reply(h):
            with arrived:  # the odd request waits for the next one: both answered at once
                count[0] += 1
                want = count[0] + count[0] % 2
                arrived.notify_all()
                arrived.wait_for(lambda: count[0] >= want, timeout=3)
            return 200, {"Content-Type": "text/plain",
                         "Content-Disposition": 'attachment; filename="%s"' % name}, body.encode()
        return reply

    shard = {0: [], 1: []}
    for i in range(40):
        u = s.base + "/dl/r%d" % i
        shard[scale_common.shard_of(u, 2)].append(u)
    pairs = list(zip(shard[0], shard[1]))[:6]
    bodies = {}
    for i, (a, b) in enumerate(pairs):
        for u in (a, b):
            bodies[u] = "body of %s" % u
            s.routes[u[len(s.base):]] = paired(bodies[u], "same%d.txt" % i)
    inp = t.input_file("".join(u + "\n" for pair in pairs for u in pair), name="race.txt")

    def both(out, *more):  # the two shards at once, into one folder
        count[0] = 0
        procs = [None, None]

        def one(k):
            procs[k - 1] = t.run("--content-disposition", *more, "-c", "1", "--shard",
                                 "%d/2" % k, "-i", inp, "-o", out)
        threads = [threading.Thread(target=one, args=(k,)) for k in (1, 2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for p in procs:
            t.expect_exit(p, 0)
    for rnd in range(5):
        out = t.path("race%d" % rnd)
        both(out)
        got = {}
        for n in t.files(out):
            with open(os.path.join(out, n)) as f:
                got.setdefault(f.read(), []).append(n)
        t.check(sorted(got) == sorted(bodies.values()) and all(len(v) == 1 for v in got.values()),
                "round %d: %d pages, files %s" % (rnd, len(bodies), sorted(sum(got.values(), []))))
        recs = []
        for k in (1, 2):
            with open(os.path.join(out, "loopfetch-manifest.%d-of-2.jsonl" % k)) as f:
                recs += [json.loads(l) for l in f if l.strip()]
        t.check(sorted(r["url"] for r in recs) == sorted(bodies) and
                all(r["status"] == "saved" for r in recs), "round %d: records %s" % (rnd, recs))
        for r in recs:  # each record names the file that holds its page
            with open(os.path.join(out, r["file"])) as f:
                t.check(f.read() == bodies[r["url"]], "round %d: %s is not %s's page" %
                        (rnd, r["file"], r["url"]))
        t.expect_exit(t.run("status", "-i", inp, out), 0)
    # Again with --force: each page replaces its own file. Under the same names, each page replaces its own file, whatever name it holds: no
    # NAME~3.EXT appears.
    before = sorted(t.files(out))
    both(out, "--force")
    t.check(sorted(t.files(out)) == before, "--force, same names: %s, was %s" %
            (sorted(t.files(out)), before))
    # The server now names each pair anew: a name the server picked is not the page's own, so
    # it replaces nothing either (one of each pair was lost before).
    for i, (a, b) in enumerate(pairs):
        for u in (a, b):
            bodies[u] = "new body of %s" % u
            s.routes[u[len(s.base):]] = paired(bodies[u], "new%d.txt" % i)
    both(out, "--force")
    got = {}
    for n in t.files(out):
        with open(os.path.join(out, n)) as f:
            got.setdefault(f.read(), []).append(n)
    t.check(all(len(got.get(b, [])) == 1 for b in bodies.values()),
            "--force: new pages %s" % {b: got.get(b) for b in bodies.values()})


# ---- (c) -v ----

@case
def verbose_attempts(t):
    s = t.site()
    state = {"n": 0}

    def flaky(h):
        state["n"] += 1
        if state["n"] == 1:
            return 503, {"Content-Type": "text/plain", "Retry-After": "1"}, b"busy"
        return 200, {"Content-Type": "text/html"}, b"<p>ok</p>"
    s.routes["/flaky"] = flaky
    s.route("/moved", "", status=302, Location="/target")
    target = s.route("/target", "<p>t</p>")
    urls = [s.base + "/flaky", s.base + "/moved"]
    out = t.path("out")
    p = t.run("-v", "-i", t.input_file("\n".join(urls) + "\n"), "-o", out)
    t.expect_exit(p, 0)
    err = p.err.splitlines()
    want = [r"^loopfetch: #1 start %s/flaky$", r"^loopfetch: #1 retry %s/flaky in \d+\.\d s: HTTP 503$",
            r"^loopfetch: #2 start %s/flaky$", r"^loopfetch: #2 done %s/flaky: HTTP 200$",
            r"^loopfetch: #1 start %s/moved$", r"^loopfetch: #1 redirect %s/moved -> %s \(1 redirect\)$",
            r"^loopfetch: #1 done %s/moved: HTTP 200$"]
    for w in want:
        pat = w % ((re.escape(s.base),) * w.count("%s")) if "->" not in w else w % (re.escape(s.base), re.escape(target))
        n = len([l for l in err if re.match(pat, l)])
        t.check(n == 1, "-v: %d lines match %s:\n%s" % (n, pat, p.err))
    p = t.run("-i", t.input_file("\n".join(urls) + "\n"), "-o", t.path("quiet"))
    t.check("#1" not in p.err, "attempt lines without -v: %s" % p.err)


# ---- (d) --refresh ----

@case
def refresh_conditional(t):
    s = t.site()
    page = {"etag": '"v1"', "body": b"<p>version 1</p>"}
    LM2 = "Thu, 22 Oct 2015 07:28:00 GMT"

    def p1(h):  # ETag and Last-Modified; honours If-None-Match
        if h.headers.get("If-None-Match") == page["etag"]:
            return 304, {"ETag": page["etag"]}, b""
        return 200, {"Content-Type": "text/html", "ETag": page["etag"], "Last-Modified": LM}, page["body"]

    def p2(h):  # Last-Modified only; honours If-Modified-Since
        if h.headers.get("If-Modified-Since") == LM2:
            return 304, {}, b""
        return 200, {"Content-Type": "application/octet-stream", "Last-Modified": LM2}, b"bin"
    s.routes["/r/one"], s.routes["/r/two.bin"] = p1, p2
    three = s.route("/r/three", "<p>no validators</p>")
    urls = [s.base + "/r/one", s.base + "/r/two.bin", three]
    inp = t.input_file("\n".join(urls) + "\n")
    out = t.path("out")
    t.expect_exit(t.run("-i", inp, "-o", out), 0)
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check(recs[urls[0]].get("etag") == '"v1"' and recs[urls[0]].get("last_modified") == LM,
            "manifest without validators: %s" % recs[urls[0]])
    two = os.path.join(out, "two.bin")
    st_two = os.stat(two)
    page.update(etag='"v2"', body=b"<p>version 2</p>")  # one changes, two does not
    n = len(s.hits())
    p = t.run("--refresh", "-i", inp, "-o", out)
    t.expect_exit(p, 0)
    sent = {path: h for path, h in s.hits()[n:]}
    t.check(sent.get("/r/one", {}).get("If-None-Match") == '"v1"', "no If-None-Match: %s" % sent.get("/r/one"))
    t.check(sent.get("/r/two.bin", {}).get("If-Modified-Since") == LM2, "no If-Modified-Since: %s" % sent.get("/r/two.bin"))
    t.check("/r/three" in sent, "a page without validators was not fetched again")
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check(recs[urls[0]]["status"] == "saved" and recs[urls[0]].get("etag") == '"v2"', "changed page: %s" % recs[urls[0]])
    t.check(recs[urls[1]]["status"] == "unchanged" and recs[urls[1]]["file"] == "two.bin" and
            recs[urls[1]].get("last_modified") == LM2, "304 page: %s" % recs[urls[1]])
    with open(os.path.join(out, "one.html"), "rb") as f:
        t.check(f.read() == b"<p>version 2</p>", "the changed page was not replaced")
    st = os.stat(two)
    t.check((st.st_ino, st.st_mtime_ns, st.st_size) == (st_two.st_ino, st_two.st_mtime_ns, st_two.st_size),
            "a 304 touched the file")
    t.check(re.search(r"1 unchanged", p.err), "summary without unchanged: %s" % p.err)
    n = len(s.hits())
    t.expect_exit(t.run("--refresh", "-i", inp, "-o", out), 0)  # validators carried forward
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check([recs[u]["status"] for u in urls[:2]] == ["unchanged", "unchanged"],
            "third run: %s" % [recs[u]["status"] for u in urls[:2]])
    n = len(s.hits())
    t.expect_exit(t.run("-i", inp, "-o", out), 0)  # a plain rerun skips: no requests
    t.check(len(s.hits()) == n, "a plain rerun made requests")
    page.update(etag='"v3"', body=b"<p>version 3</p>")
    t.expect_exit(t.run("--refresh", "-p", "2", "-i", inp, "-o", out), 0)  # workers too
    sent = {path: h for path, h in s.hits()[n:]}
    t.check(sent.get("/r/two.bin", {}).get("If-Modified-Since") == LM2, "-p: no If-Modified-Since: %s" % sent)
    recs = {r["url"]: r for r in t.manifest(out)}
    t.check([recs[u]["status"] for u in urls] == ["saved", "unchanged", "saved"] and
            recs[urls[1]]["file"] == "two.bin" and recs[urls[0]].get("etag") == '"v3"',
            "-p --refresh: %s" % [(recs[u]["status"], recs[u]["file"]) for u in urls])
    with open(os.path.join(out, "one.html"), "rb") as f:
        t.check(f.read() == b"<p>version 3</p>", "-p: the changed page was not replaced")
    t.expect_exit(t.run("--refresh", "--compare", "-i", inp, "-o", t.path("cmp")), 2)


# ---- (e) --version ----

@case
def version_lists_libraries(t):
    for flag in ("--version", "-V"):
        p = t.run(flag)
        t.expect_exit(p, 0)
        lines = p.out.splitlines()
        t.check(lines and re.match(r"^loopfetch \d+\.\d+\.\d+", lines[0]), "first line: %r" % lines[:1])
        for pat in (r"^libcurl \d+\.\d+\.\d+, TLS \S+/\d", r", nghttp2 \d+\.\d+", r"^libuv \d+\.\d+\.\d+",
                    r"^gumbo \d+\.\d+", r"^decoders: .*gzip", r"^features: .*HTTP/2"):
            t.check(any(re.search(pat, l) for l in lines), "%s: no line matches %s:\n%s" % (flag, pat, p.out))
    if shutil.which("pkg-config"):
        v = subprocess.run(["pkg-config", "--modversion", "gumbo"], capture_output=True, text=True).stdout.strip()
        if v:
            t.check("gumbo %s" % v in p.out, "gumbo version is not pkg-config's %s:\n%s" % (v, p.out))


def main():
    args = harness.parse_args(CASES, __doc__.split("\n\n")[0])
    if isinstance(args, int):
        return args
    return e2e.run_case(CliCase(args), CASES[args.case], args.case)


if __name__ == "__main__":
    sys.exit(main())
