#!/usr/bin/env python3
"""End-to-end tests: the loopfetch program against the fixture server (tests/fixture).

    python3 tests/e2e/e2e.py --list
    python3 tests/e2e/e2e.py --loopfetch build/loopfetch [--embed build/tests/test_embed] CASE

Each case starts its own fixture server on 127.0.0.1 (ephemeral port), works in a fresh
temporary folder, prints one "FAIL: ..." line per failed assertion, and exits 0 (pass),
1 (fail) or 77 (skip, meson's code). No assertion depends on timing.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import traceback
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
import harness  # noqa: E402

SERVER = harness.fixture_path("server")
site = harness.fixture("site")  # not "import site": the stdlib owns that name

SKIP = 77
# loopfetch also writes a manifest (one JSON line per URL) into the output folder by default;
# it is not a page, so folder listings leave it out.
MANIFEST = "loopfetch-manifest.jsonl"
SUMMARY = re.compile(r"^loopfetch: (\d+) saved, (\d+) failed, \d+(?:\.\d+)? MB in \d+(?:\.\d+)? s "
                     r"\(\d+(?:\.\d+)? pages/s\)$")
# Pages for the -i cases: the awkward spellings first, then a spread of the rest.
TRICKY = ["C%C3%B4te_d%27Ivoire", "S%C3%A3o_Tom%C3%A9_and_Pr%C3%ADncipe", "Georgia_(country)",
          "Cura%C3%A7ao", "Saint_Helena,_Ascension_and_Tristan_da_Cunha", "Kingdom_of_the_Netherlands"]


class Skip(Exception):
    pass


class Abort(Exception):
    """A failure after which the rest of the case makes no sense."""


def die_with_parent():
    """preexec_fn: SIGTERM the child if this driver dies (killed by a timeout, ^C), so no
    fixture server or loopfetch outlives the test. Linux prctl(PR_SET_PDEATHSIG); else no-op."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def clean_env():
    """libcurl honours *_proxy variables; the tests talk to 127.0.0.1 only."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


class Fixture:
    """The fixture server as a child process; base is its URL root."""

    def __init__(self, tmp, *args):
        self.log_path = os.path.join(tmp, "server-%d.log" % len(os.listdir(tmp)))
        with open(self.log_path, "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", *args],
                                         stdout=subprocess.PIPE, stderr=log, env=clean_env(),
                                         preexec_fn=die_with_parent)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise Abort("fixture server did not start: " + self.errors())
        info = json.loads(line)
        self.base, self.port = info["base"], info["port"]
        self.list_url = self.base + site.LIST_PATH
        self.cafile = None

    def url(self, title):
        return self.base + "/wiki/" + title

    def _get(self, path):
        handlers = [urllib.request.ProxyHandler({})]
        if self.cafile:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=self.cafile)))
        with urllib.request.build_opener(*handlers).open(self.base + path, timeout=30) as r:
            return json.loads(r.read())

    def stats(self):
        return self._get("/__stats")

    def reset(self):
        return self._get("/__stats/reset")

    def errors(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class Case:
    def __init__(self, args):
        self.lf, self.embed = args.loopfetch, args.embed
        self.tmp = tempfile.mkdtemp(prefix="lf-e2e-")
        self.failures, self.servers, self.last = [], [], None

    # ---- plumbing ----

    def check(self, cond, msg):
        if not cond:
            self.failures.append(msg)
            print("FAIL: " + msg, flush=True)
        return bool(cond)

    def server(self, *args):
        s = Fixture(self.tmp, *args)
        self.servers.append(s)
        return s

    def path(self, name):
        """A path in the case's temporary folder (not created)."""
        return os.path.join(self.tmp, name)

    def run(self, *args, stdin=None, cwd=None, timeout=180, exe=None):
        cmd = [exe or self.lf, *args]
        try:
            p = subprocess.run(cmd, input=stdin, capture_output=True, cwd=cwd or self.tmp,
                               env=clean_env(), timeout=timeout, preexec_fn=die_with_parent)
        except subprocess.TimeoutExpired:
            raise Abort("timed out after %d s: %s" % (timeout, " ".join(cmd)))
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        p.cmd = " ".join(cmd)
        self.last = p
        return p

    def expect_exit(self, p, code):
        return self.check(p.returncode == code, "exit status %d, expected %d: %s\n  stderr: %s" % (
            p.returncode, code, p.cmd, p.err.strip()[-1500:].replace("\n", "\n  stderr: ")))

    def check_pages(self, folder, urls, label=""):
        """folder holds exactly expected_filename(u) for urls, each byte-equal to page_body."""
        want = {site.expected_filename(u): u for u in urls}
        have = pages_in(folder)
        missing = sorted(set(want) - set(have))
        extra = sorted(set(have) - set(want))
        self.check(not missing, "%s%d of %d files missing, e.g. %s" % (label, len(missing), len(want), missing[:5]))
        self.check(not extra, "%s%d unexpected files, e.g. %s" % (label, len(extra), extra[:5]))
        bad = []
        for name in sorted(set(want) & set(have)):
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            if data != site.page_body(urllib.parse.urlsplit(want[name]).path):
                bad.append("%s (%d bytes)" % (name, len(data)))
        self.check(not bad, "%s%d files differ from page_body, e.g. %s" % (label, len(bad), bad[:5]))

    def check_empty(self, folder, what):
        have = pages_in(folder)
        self.check(not have, "%s: expected no output files, found %s" % (what, sorted(have)[:5]))

    def check_summary(self, p, saved, failed):
        lines = [m for m in map(SUMMARY.match, p.err.splitlines()) if m]
        if self.check(len(lines) == 1, "expected one summary line on stderr, found %d:\n%s" % (len(lines), p.err[-800:])):
            got = (int(lines[0].group(1)), int(lines[0].group(2)))
            self.check(got == (saved, failed), "summary says %d saved, %d failed; expected %d, %d"
                       % (got + (saved, failed)))

    def failure_lines(self, p, url):
        return [l for l in p.err.splitlines() if l.startswith("loopfetch: %s: " % url)]

    def pick(self, srv, n):
        """n page URLs: the tricky titles, then every k-th link."""
        links = site.expected_links(srv.base)
        picked = [srv.url(t) for t in TRICKY][:n]
        step = max(1, len(links) // n)
        for u in links[::step]:
            if len(picked) == n:
                break
            if u not in picked:
                picked.append(u)
        return picked

    def input_file(self, lines, name="urls.txt"):
        path = self.path(name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(lines)
        return path

    def finish(self):
        for s in self.servers:
            s.stop()
            log = s.errors()
            self.check("Traceback" not in log and "Error" not in log,
                       "fixture server logged errors:\n" + log[-2000:])
        if self.failures:
            print("kept %s for inspection" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def pages_in(folder):
    """Sorted page file names in folder (missing folder: none), the program's own files left
    out (loopfetch-*: the manifests, the key)."""
    return sorted(n for n in os.listdir(folder) if not n.startswith("loopfetch-")) \
        if os.path.isdir(folder) else []


def url_list_text(urls):
    """-i input: comments, blank lines, and a last line without a newline."""
    body = ["# pages for loopfetch -i", ""]
    for i, u in enumerate(urls):
        body.append(u)
        if i % 7 == 3:
            body += ["", "# a comment between URLs"]
    return "\n".join(body)


# ---- cases ----

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def all_pages(t):
    srv = t.server("--latency-min", "0", "--latency-max", "30")
    out = t.path("new/pages")  # the parent is missing too: "created if missing"
    p = t.run("-o", out, srv.list_url)
    t.expect_exit(p, 0)
    t.check_pages(out, site.expected_links(srv.base))
    t.check_summary(p, 233, 0)
    bad = [l for l in p.err.splitlines() if l.startswith("loopfetch: http")]
    t.check(not bad, "failure lines on a clean run: %s" % bad[:3])


@case
def sequential_equals_default(t):
    srv = t.server("--latency-min", "0", "--latency-max", "5")
    a, b = t.path("seq"), t.path("par")
    t.expect_exit(t.run("-c", "1", "-o", a, srv.list_url), 0)
    t.expect_exit(t.run("-o", b, srv.list_url), 0)
    la, lb = pages_in(a), pages_in(b)
    t.check(la == lb, "-c 1 and default saved different names: %s"
            % sorted(set(la) ^ set(lb))[:5])
    differ = [n for n in set(la) & set(lb)
              if open(os.path.join(a, n), "rb").read() != open(os.path.join(b, n), "rb").read()]
    t.check(not differ, "-c 1 and default saved different bytes: %s" % differ[:5])
    t.check_pages(a, site.expected_links(srv.base), "-c 1: ")


@case
def links(t):
    srv = t.server()
    cwd = t.path("cwd")
    os.mkdir(cwd)
    p = t.run("--links", srv.list_url, cwd=cwd)
    t.expect_exit(p, 0)
    got, want = p.out.splitlines(), site.expected_links(srv.base)
    if not t.check(got == want, "--links printed %d lines, expected %d" % (len(got), len(want))):
        for i, (g, w) in enumerate(zip(got + [""] * len(want), want + [""] * len(got))):
            if g != w:
                t.check(False, "first difference at line %d: got %r, expected %r" % (i + 1, g, w))
                break
    t.check(os.listdir(cwd) == [], "--links created files: %s" % os.listdir(cwd))


@case
def input_file(t):
    srv = t.server("--latency-min", "0", "--latency-max", "20")
    urls = t.pick(srv, 20)
    text = url_list_text(urls)
    a, b = t.path("from-file"), t.path("from-stdin")
    p = t.run("-i", t.input_file(text), "-o", a)
    t.expect_exit(p, 0)
    t.check_pages(a, urls, "-i FILE: ")
    t.check_summary(p, 20, 0)
    p = t.run("-i", "-", "-o", b, stdin=text.encode())
    t.expect_exit(p, 0)
    t.check_pages(b, urls, "-i -: ")


@case
def list_404(t):
    srv = t.server()
    out, url = t.path("out"), srv.base + "/notfound-list"
    p = t.run("-o", out, url)
    t.expect_exit(p, 3)
    lines = [l for l in p.err.splitlines() if url in l]
    t.check(len(lines) == 1, "expected one stderr line naming %s, got %d:\n%s" % (url, len(lines), p.err))
    t.check(all("404" in l for l in lines), "the error line does not say 404: %s" % lines)
    t.check_empty(out, "list_404")


@case
def list_not_html(t):
    srv = t.server()
    out, url = t.path("out"), srv.base + "/plain"
    p = t.run("-o", out, url)
    t.expect_exit(p, 3)
    t.check(url in p.err, "the error does not name the URL:\n" + p.err)
    t.check_empty(out, "text/plain list page")


@case
def list_unreachable(t):
    # A port bound but not listening refuses connections; holding it bound also keeps the
    # kernel from picking it as the client's own source port (a TCP self-connect).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/wiki/List" % s.getsockname()[1]
        p = t.run("-o", t.path("out"), url, timeout=60)
    t.expect_exit(p, 3)
    t.check(url in p.err, "the error does not name the URL:\n" + p.err)
    t.check_empty(t.path("out"), "unreachable list page")


@case
def input_unreadable(t):
    p = t.run("-i", t.path("no-such-file.txt"), "-o", t.path("out"))
    t.expect_exit(p, 3)
    t.check("no-such-file.txt" in p.err, "the error does not name the input file:\n" + p.err)
    t.check_empty(t.path("out"), "missing input file")


@case
def bad_selector(t):
    srv = t.server()
    for sel in ("td >", "a["):
        out = t.path("out")
        p = t.run("--select", sel, "-o", out, srv.list_url)
        t.expect_exit(p, 2)
        t.check("position" in p.err, "selector %r: stderr does not mention the position:\n%s" % (sel, p.err))
        t.check_empty(out, "selector %r" % sel)


@case
def usage_errors(t):
    # (-i with a LIST_URL is one job since issue 14; a URL where a header is expected is not.)
    for args in (["-c", "0"], ["-c", "x"], ["--no-such-option"], ["-H", "http://127.0.0.1:1/a"],
                 ["--user-agent", "a\r\nX-Injected: 1"], ["-H", "X-A: 1\r\nX-Injected: 1"]):
        p = t.run(*args, "-o", t.path("out"), stdin=b"")
        t.expect_exit(p, 2)
        t.check(p.err.strip() != "", "%s: no message on stderr" % args)
    for args in (["--help"], ["--version"]):
        p = t.run(*args)
        t.expect_exit(p, 0)
        t.check(p.out.strip() != "", "%s printed nothing on stdout" % args)


@case
def no_match(t):
    srv = t.server()
    out = t.path("out")
    t.expect_exit(t.run("-o", out, srv.base + "/empty-list"), 4)
    t.expect_exit(t.run("--select", "td .no-such-class + a", "-o", out, srv.list_url), 4)
    t.expect_exit(t.run("-i", t.input_file("# nothing here\n\n# at all\n", "empty.txt"), "-o", out), 4)
    t.check_empty(out, "nothing to fetch")


@case
def some_fail(t):
    srv = t.server()
    good = t.pick(srv, 5)
    bad = [srv.base + "/status/404", srv.base + "/status/500"]
    urls = good[:2] + bad[:1] + good[2:4] + bad[1:] + good[4:]
    out = t.path("out")
    p = t.run("-i", t.input_file(url_list_text(urls)), "-o", out)
    t.expect_exit(p, 1)
    t.check_pages(out, good)  # exactly the good ones: a failed page leaves no file
    for u in bad:
        n = len(t.failure_lines(p, u))
        t.check(n == 1, "expected one line 'loopfetch: %s: <reason>', got %d:\n%s" % (u, n, p.err))
    for u in good:
        t.check(not t.failure_lines(p, u), "a saved page was reported as failed: %s" % u)
    t.check_summary(p, 5, 2)


@case
def gzip(t):
    srv = t.server()
    out = t.path("out")
    t.expect_exit(t.run("-o", out, srv.list_url), 0)
    st = srv.stats()
    t.check(st["gzip_responses"] >= 1, "the server never sent gzip (Accept-Encoding not offered?): %s" % st)
    t.check_pages(out, site.expected_links(srv.base))  # saved decoded


@case
def user_agent(t):
    srv = t.server()
    urls = t.pick(srv, 3)
    inp = t.input_file(url_list_text(urls))
    t.expect_exit(t.run("-i", inp, "-o", t.path("a")), 0)
    uas = srv.stats()["user_agents"]
    t.check(uas and all(ua.startswith("loopfetch/") for ua in uas),
            "default User-Agent should start with 'loopfetch/': %s" % uas)
    srv.reset()
    t.expect_exit(t.run("--user-agent", "e2e-agent/1.0 (test)", "-i", inp, "-o", t.path("b")), 0)
    uas = srv.stats()["user_agents"]
    t.check(uas == {"e2e-agent/1.0 (test)": 3}, "--user-agent not sent as given: %s" % uas)


@case
def concurrency_overlap(t):
    srv = t.server("--latency-min", "200", "--latency-max", "200")
    urls = site.expected_links(srv.base)[:50]
    inp = t.input_file(url_list_text(urls))
    t.expect_exit(t.run("-i", inp, "-o", t.path("par")), 0)
    st = srv.stats()
    for k in ("max_concurrent_connections", "max_concurrent_requests"):
        t.check(st[k] >= 40, "default concurrency: %s = %d, expected >= 40 of 50" % (k, st[k]))
    t.check_pages(t.path("par"), urls)
    srv.reset()
    t.expect_exit(t.run("-c", "1", "-i", inp, "-o", t.path("seq")), 0)
    st = srv.stats()
    for k in ("max_concurrent_connections", "max_concurrent_requests"):
        t.check(st[k] == 1, "-c 1: %s = %d, expected 1" % (k, st[k]))
    t.check(st["requests"] == 50, "-c 1: %d requests, expected 50" % st["requests"])


@case
def https_cacert(t):
    if not shutil.which("openssl"):
        raise Skip("openssl not found")
    cert, key = t.path("cert.pem"), t.path("key.pem")
    g = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True)
    if g.returncode != 0:
        raise Abort("openssl failed: " + g.stderr.decode("utf-8", "replace"))
    srv = t.server("--tls-cert", cert, "--tls-key", key)
    srv.cafile = cert
    t.check(srv.base.startswith("https://"), "server base is not https: " + srv.base)
    out = t.path("untrusted")
    p = t.run("-o", out, srv.list_url)
    t.expect_exit(p, 3)
    t.check(re.search(r"certificate|ssl|tls", p.err, re.I), "error does not mention certificate/SSL:\n" + p.err)
    t.check_empty(out, "untrusted certificate")
    urls = t.pick(srv, 4)
    out = t.path("trusted")
    t.expect_exit(t.run("--cacert", cert, "-i", t.input_file(url_list_text(urls)), "-o", out), 0)
    t.check_pages(out, urls)
    p = t.run("--cacert", cert, "--links", srv.list_url)
    t.expect_exit(p, 0)
    t.check(p.out.splitlines() == site.expected_links(srv.base), "--links over https differs")


@case
def output_unusable(t):
    srv = t.server()
    blocker = t.input_file("not a folder\n", "a-file")
    p = t.run("-i", t.input_file(url_list_text(t.pick(srv, 2))), "-o", blocker)
    t.expect_exit(p, 5)
    p = t.run("-i", t.input_file(url_list_text(t.pick(srv, 2))), "-o", os.path.join(blocker, "sub"))
    t.expect_exit(p, 5)


@case
def embed(t):
    if not t.embed:
        raise Skip("no --embed PATH given")
    srv = t.server("--latency-min", "20", "--latency-max", "120")  # close must catch some in flight
    p = t.run(srv.base, exe=t.embed)
    t.expect_exit(p, 0)


@case
def selector_pseudo_classes(t):
    """The pseudo-classes people write for tables pick the same links as the default."""
    srv = t.server()
    want = site.expected_links(srv.base)
    for sel in ("table.wikitable > tbody > tr > td:first-child .flagicon + a",
                "tbody tr:has(> td:first-child .flagicon) td:nth-child(1 of :not(th)) .flagicon"
                " + a:not(:empty, [href^='#'])",
                "td:is(:first-child, :nth-child(2n+10)) [class~=FLAGICON i] + a:any-link"):
        p = t.run("--links", "--select", sel, srv.list_url)
        t.expect_exit(p, 0)
        t.check(p.out.splitlines() == want, "--select %r printed %d links, expected %d"
                % (sel, len(p.out.splitlines()), len(want)))
    p = t.run("--links", "--select", "td:hover a", srv.list_url)
    t.expect_exit(p, 2)
    t.check("unsupported pseudo-class ':hover' at position 2" in p.err, "stderr: " + p.err)


# ---- pages in other encodings (tests/fixtures/charsets.py): the exact requests ----

charsets = harness.fixture("charsets")


def charset_case(name, selector, want):
    def run(t):
        srv = t.server()
        out = t.path("out")
        p = t.run("--select", selector, "-o", out, srv.base + "/charset/" + name)
        t.expect_exit(p, 0)
        got = srv.stats().get("targets", [])
        t.check(got == [want], "requested %s, expected [%r]" % (got, want))
    run.__name__ = "charset_" + name.replace("-", "_")
    return run


for _name, (_ct, _body, _sel, _want) in charsets.pages().items():
    case(charset_case(_name, _sel, _want))


def main():
    args = harness.parse_args(CASES, __doc__.split("\n\n")[0])
    if isinstance(args, int):
        return args
    if args.case != "embed" and not os.access(args.loopfetch, os.X_OK):
        print("FAIL: loopfetch not found at %s" % args.loopfetch)
        return 1
    return run_case(Case(args), CASES[args.case], args.case)


def run_case(t, fn, name):
    """Runs case fn on t; prints the verdict; returns the exit status (0, 1, or 77 skipped)."""
    # meson's timeout sends SIGTERM: turn it into an exception so the server gets stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = None
    try:
        fn(t)
    except Skip as e:
        print("SKIP: %s" % e)
        status = SKIP
    except Abort as e:
        t.check(False, str(e))
    except Exception:
        t.check(False, "test error:\n" + traceback.format_exc())
    finally:
        if t.failures and t.last is not None:
            print("last command: %s\n  exit %d; stderr tail:\n%s" % (
                t.last.cmd, t.last.returncode, t.last.err[-2000:]))
        t.finish()
    if status is None:
        status = 1 if t.failures else 0
        print("%s: %s" % (name, "FAIL (%d)" % len(t.failures) if t.failures else "PASS"))
    return status

if __name__ == "__main__":
    sys.exit(main())
