#!/usr/bin/env python3
"""End-to-end cases for HTTP as power users need it (issue 26): proxies (tinyproxy for http and
https pages over CONNECT, dante-server for socks5 and socks5h), credentials (--user, the password
prompt, --netrc-file and its permissions), and what a redirect to another origin may carry
(Authorization, Cookie, other -H headers; https -> http refused).

    python3 tests/e2e/e2e_http.py --loopfetch build/loopfetch CASE     (or --list)

Each case starts its own servers on 127.0.0.1: a recording server written here (it keeps every
request's headers, so a case can see what crossed), Debian's nginx for TLS, and the proxies as
Debian ships them, configured only with where to listen and log (and tinyproxy's BasicAuth for
the credentials case). Skips (exit 77) when a server is not installed (scripts/deps.sh installs
them).
"""

import hashlib
import http.server
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
import e2e_modes as m  # noqa: E402
import harness  # noqa: E402
from harness import Daemon, free_port, need, wait_listening  # noqa: E402,F401

check, MANIFEST = m.check, m.MANIFEST
CASES = {}
SECRETS = ("Bearer-t0ps3cret", "sessi0nc00kie", "ap1k3yvalue", "al1cepw", "pr0xypw")


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def body_of(path):
    """The bytes every server here sends for `path` (deterministic, 3-30 KB)."""
    seed = hashlib.sha256(path.encode()).hexdigest()
    n = 3000 + int(seed[:4], 16) % 27000
    return (f"<!DOCTYPE html><title>{path}</title><p>" + seed * (n // 64 + 1))[:n].encode()


def big_body(name, size):
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // 32 + 1))[:size]


class Recorder:
    """A plain-http server that records (path, headers) of every request. Paths:
    /p/NAME            a page (body_of(path));
    /auth/NAME         a page only with Authorization: Basic of `auth` (else 401);
    /go?to=URL         302 to URL;
    anything else      404."""

    def __init__(self, auth=None):
        self.requests = []
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                rec.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path[len("/go?to="):])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/auth/"):
                    import base64
                    want = "Basic " + base64.b64encode(auth.encode()).decode() if auth else None
                    if self.headers.get("Authorization") != want:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="t"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                if self.path.startswith("/big/"):  # /big/NAME/SIZE: SIZE bytes of big_body
                    _, _, name, size = self.path.split("/")
                    b = big_body(name, int(size))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(b)))
                    self.end_headers()
                    self.wfile.write(b)
                    return
                if self.path.startswith("/list?n="):
                    n = int(self.path[len("/list?n="):])
                    b = "".join(f'<a href="/p/set-k{i}.html">{i}</a>' for i in range(n)).encode()
                    self.send_response(200)
                    self.send_header("Set-Cookie", "L=fromlist; Path=/")
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(b)))
                    self.end_headers()
                    self.wfile.write(b)
                    return
                if self.path.startswith("/p/") or self.path.startswith("/auth/"):
                    b = body_of(self.path)
                    self.send_response(200)
                    name = self.path.rsplit("/", 1)[1]
                    if name.startswith("set-"):
                        c = name[4:].split(".")[0]
                        self.send_header("Set-Cookie", f"{c}=v-{c}; Path=/")
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(b)))
                    self.end_headers()
                    self.wfile.write(b)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self):
        return [p for p, _ in self.requests]


class Tinyproxy(Daemon):
    """Debian's tinyproxy: an HTTP proxy that also tunnels (CONNECT). Its log names every
    request it forwarded; it adds `Via: 1.1 tinyproxy` to what it forwards."""

    def __init__(self, tmp, auth=None):
        exe = need("tinyproxy")
        self.dir = os.path.join(tmp, "tinyproxy")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.logfile = os.path.join(self.dir, "tinyproxy.log")
        conf = os.path.join(self.dir, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write(f"Port {self.port}\nListen 127.0.0.1\nLogFile \"{self.logfile}\"\n"
                    f"LogLevel Info\nPidFile \"{self.dir}/tinyproxy.pid\"\n")
            if auth:
                f.write(f"BasicAuth {auth[0]} {auth[1]}\n")
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([exe, "-d", "-c", conf], self.port, "tinyproxy")

    def log(self):
        with open(self.logfile) as f:
            return f.read()


class Dante(Daemon):
    """Debian's dante-server (danted), a SOCKS 4/5 server without authentication."""

    def __init__(self, tmp):
        exe = need("danted")
        self.dir = os.path.join(tmp, "danted")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.logfile = os.path.join(self.dir, "danted.log")
        conf = os.path.join(self.dir, "danted.conf")
        with open(conf, "w") as f:
            f.write(f"logoutput: {self.logfile}\ninternal: 127.0.0.1 port = {self.port}\n"
                    "external: 127.0.0.1\nclientmethod: none\nsocksmethod: none\n")
            if os.geteuid() == 0:
                f.write("user.privileged: root\nuser.unprivileged: nobody\n")
            f.write("client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  log: error\n}\n"
                    "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n"
                    "  log: connect error\n}\n")
        super().__init__([exe, "-f", conf, "-p", os.path.join(self.dir, "danted.pid")], self.port,
                         "danted")

    def log(self):
        with open(self.logfile) as f:
            return f.read()


class Nginx(harness.Nginx):
    """Debian's nginx over TLS (throwaway CA) serving /p/0.html .. /p/{count-1}.html (body_of),
    and /to-http, a redirect to `to_http`."""

    def __init__(self, tmp, count=3, to_http="http://127.0.0.1:9/"):
        super().__init__(tmp, "$status $uri", http=("default_type text/html;",),
                         server=(f"location = /to-http {{ return 302 {to_http}; }}",), tls=True,
                         files={f"p/{i}.html": body_of(f"/p/{i}.html") for i in range(count)},
                         san="IP:127.0.0.1,DNS:localhost")
        self.urls = [f"{self.base}/p/{i}.html" for i in range(count)]

    def log(self):
        return [line.split() for line in self.access_log()]


PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "ALL_PROXY", "NO_PROXY")


def run(ctx, *args, env=None, stdin=None, timeout=120):
    """loopfetch with no proxy variables but those of `env`."""
    e = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    e.update(env or {})
    p = subprocess.run([ctx.exe, *args], capture_output=True, text=True, timeout=timeout,
                       input=stdin, env=e)
    ctx.last = (args, p)
    return p


def fetch(ctx, urls, *opts, out="out", **kw):
    folder = ctx.dir(out)
    p = run(ctx, *opts, "-i", "-", "-o", folder, stdin="".join(u + "\n" for u in urls), **kw)
    return p, folder


def check_pages(folder, urls):
    """Every URL saved under its last segment with the servers' bytes, all recorded saved."""
    for u in urls:
        path = "/" + u.split("://", 1)[1].split("/", 1)[1]
        name = path.rsplit("/", 1)[1]
        if not name.endswith(".html"):
            name += ".html"
        with open(os.path.join(folder, name), "rb") as f:
            check(f.read() == body_of(path), f"{name}: bytes differ from the server's")
    recs = m.manifest(folder)
    check(len(recs) == len(urls) and all(r["status"] == "saved" for r in recs),
          f"manifest: {[(r['url'], r['status'], r.get('error')) for r in recs]}")


def no_secrets(p, folder, *extra_files):
    """No secret of SECRETS in stdout, stderr, the manifest or the other files named."""
    texts = [p.stdout, p.stderr]
    for path in (os.path.join(folder, MANIFEST), *extra_files):
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                texts.append(f.read())
    for s in SECRETS:
        for t in texts:
            check(s not in t, f"secret {s!r} was printed or written")


# ---- proxies ----

@case
def proxy_http_and_connect(ctx):
    """--proxy http://: http pages go through tinyproxy (it adds Via), https pages through its
    CONNECT tunnel with TLS verified end to end; every byte identical; -p 2 too."""
    with Recorder() as web, Nginx(ctx.tmp, 3) as tls, Tinyproxy(ctx.tmp) as proxy:
        http_urls = [f"{web.base}/p/h{i}.html" for i in range(3)]
        for procs in ("1", "2"):
            out = f"out{procs}"
            p, folder = fetch(ctx, http_urls + tls.urls, "--proxy", proxy.url, "--cacert", tls.ca,
                              "-p", procs, out=out)
            check(p.returncode == 0, f"-p {procs}: exit {p.returncode}: {p.stderr[-400:]}")
            check_pages(folder, http_urls + tls.urls)
        check(len(web.requests) == 6 and all("tinyproxy" in h.get("via", "")
                                             for _, h in web.requests),
              f"http requests did not all come through the proxy: {web.requests}")
        log = proxy.log()
        check(log.count(f"CONNECT 127.0.0.1:{tls.port}") >= 1,
              f"tinyproxy never tunnelled to nginx:\n{log[-1500:]}")
        check(len(tls.log()) == 6, f"nginx saw {len(tls.log())} requests, not 6")


@case
def proxy_credentials(ctx):
    """A proxy that wants credentials: without them every page fails (407), with --proxy-user
    or user:password@ in the proxy URL all are saved; neither password is ever shown (-v, the
    manifest, the trace)."""
    with Recorder() as web, Tinyproxy(ctx.tmp, auth=("bob", "pr0xypw")) as proxy:
        urls = [f"{web.base}/p/c{i}.html" for i in range(2)]
        p, folder = fetch(ctx, urls, "--proxy", proxy.url, "-v", out="none")
        check(p.returncode == 1, f"without credentials: exit {p.returncode}, want 1")
        recs = m.manifest(folder)
        check(all(r["status"] == "failed" and r["http"] == 407 for r in recs), f"{recs}")
        check(web.requests == [], "the proxy forwarded a request it should have refused")
        trace = ctx.dir("trace.json")
        p, folder = fetch(ctx, urls, "--proxy", proxy.url, "--proxy-user", "bob:pr0xypw", "-v",
                          "--trace", trace, out="user")
        check(p.returncode == 0, f"--proxy-user: exit {p.returncode}: {p.stderr[-300:]}")
        check_pages(folder, urls)
        no_secrets(p, folder, trace)
        at = proxy.url.replace("http://", "http://bob:pr0xypw@")
        p, folder = fetch(ctx, urls, "--proxy", at, "-v", "-p", "2", out="inurl")
        check(p.returncode == 0, f"user:pw@ in the proxy URL: exit {p.returncode}: {p.stderr[-300:]}")
        check_pages(folder, urls)
        no_secrets(p, folder)
        bad = at.replace("pr0xypw", "wr0ng")
        p, folder = fetch(ctx, urls, "--proxy", bad, "-v", out="wrong")
        check(p.returncode == 1 and "wr0ng" not in p.stderr, f"wrong password: exit "
              f"{p.returncode}, or the password shown: {p.stderr[-300:]}")


@case
def proxy_socks5h(ctx):
    """socks5h://: names are resolved by the proxy (dante says so when it cannot), http and
    https pages byte-identical; socks5:// and socks4:// resolve here and work too (socks4a://
    is not tested: dante-server 1.4 refuses SOCKS4A requests)."""
    with Recorder() as web, Nginx(ctx.tmp, 2) as tls, Dante(ctx.tmp) as socks:
        urls = [f"http://localhost:{web.port}/p/s{i}.html" for i in range(2)]
        urls += [u.replace("127.0.0.1", "localhost") for u in tls.urls]
        for scheme in ("socks5h", "socks5", "socks4"):
            p, folder = fetch(ctx, urls, "--proxy", f"{scheme}://127.0.0.1:{socks.port}",
                              "--cacert", tls.ca, out=scheme)
            check(p.returncode == 0, f"{scheme}: exit {p.returncode}: {p.stderr[-400:]}")
            check_pages(folder, urls)
        log = socks.log()
        check(log.count("pass(1): tcp/connect") >= 4,
              f"dante did not carry the connections:\n{log[-1500:]}")
        # A name only the proxy is asked to resolve: dante reports its failure.
        p, folder = fetch(ctx, ["http://no-such-host.invalid/x"], "--proxy",
                          f"socks5h://127.0.0.1:{socks.port}", "--retries", "0", out="bad")
        check(p.returncode == 1, f"unresolvable name: exit {p.returncode}")
        check('could not resolve hostname "no-such-host.invalid"' in socks.log(),
              "with socks5h the proxy was not asked to resolve the name")


@case
def proxy_environment(ctx):
    """The variables as curl reads them: http_proxy is used; NO_PROXY, --noproxy and
    --proxy '' bypass it; HTTP_PROXY in capitals is ignored (httpoxy), as curl does."""
    with Recorder() as web, Tinyproxy(ctx.tmp) as proxy:
        url = [f"{web.base}/p/e.html"]

        def via(*opts, **kw):
            n = len(web.requests)
            p, folder = fetch(ctx, url, *opts, **kw)
            check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
            check_pages(folder, url)
            return "via" in web.requests[n][1]

        check(via(env={"http_proxy": proxy.url}, out="env"), "http_proxy was not used")
        check(not via(env={"HTTP_PROXY": proxy.url}, out="caps"), "HTTP_PROXY was used")
        check(not via(env={"http_proxy": proxy.url, "NO_PROXY": "127.0.0.1"}, out="no"),
              "NO_PROXY was not honoured")
        check(not via("--noproxy", "127.0.0.1", env={"http_proxy": proxy.url}, out="noopt"),
              "--noproxy was not honoured")
        check(not via("--proxy", "", env={"http_proxy": proxy.url}, out="off"),
              "--proxy '' did not turn the proxy off")
        check(via("--proxy", proxy.url, out="opt"), "--proxy was not used")


@case
def proxy_bad_scheme(ctx):
    """A proxy URL libcurl cannot use is a usage error before any request, and its password is
    not echoed."""
    p = run(ctx, "--proxy", "ftp://u:pr0xypw@127.0.0.1:1", "-i", "/dev/null", "-o",
            ctx.dir("o"))
    check(p.returncode == 2 and "--proxy" in p.stderr and "pr0xypw" not in p.stderr,
          f"exit {p.returncode}: {p.stderr}")


# ---- credentials ----

@case
def user_not_sent_to_other_origin(ctx):
    """--user reaches the page's origin; a redirect to another port (another origin) gets no
    Authorization, whatever the options; same with user:password@ in the URL."""
    with Recorder(auth="alice:al1cepw") as a, Recorder() as b:
        target = f"{b.base}/p/elsewhere.html"
        urls = [f"{a.base}/auth/one.html", f"{a.base}/go?to={target}"]
        for extra in ((), ("--location-trusted",)):
            p, folder = fetch(ctx, urls, "--user", "alice:al1cepw", "-v", *extra,
                              out="o" + "".join(extra))
            check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
            no_secrets(p, folder)
        check(all("authorization" not in h for _, h in b.requests) and len(b.requests) == 2,
              f"credentials crossed to another origin: {b.requests}")
        check(a.requests[0][1].get("authorization", "").startswith("Basic "),
              "--user was not sent to the page's own origin")
        cred_url = a.base.replace("http://", "http://alice:al1cepw@") + f"/go?to={target}"
        p, folder = fetch(ctx, [cred_url], out="inurl")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        check(all("authorization" not in h for _, h in b.requests), "URL credentials crossed")
        no_secrets(p, folder)


@case
def user_password_prompt(ctx):
    """--user NAME on a terminal asks for the password without echoing it; with -p 2 the
    workers get it too (not on their command line); without a terminal it is exit 2."""
    with Recorder(auth="alice:al1cepw") as a:
        urls = [f"{a.base}/auth/t{i}.html" for i in range(4)]
        listfile = ctx.dir("urls.txt")
        with open(listfile, "w") as f:
            f.write("".join(u + "\n" for u in urls))
        folder = ctx.dir("tty")
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(ctx.exe, [ctx.exe, "--user", "alice", "-p", "2", "-i", listfile, "-o", folder])
        seen = b""
        sent = False
        deadline = time.time() + 30
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if not sent and b"password" in seen:
                os.write(fd, b"al1cepw\n")
                sent = True
        if not sent:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        check(sent, f"no password prompt: {seen!r}")
        check(b"al1cepw" not in seen, f"the password was echoed: {seen!r}")
        check(os.waitstatus_to_exitcode(status) == 0, f"exit {os.waitstatus_to_exitcode(status)}: "
                                                      f"{seen[-400:]!r}")
        check_pages(folder, urls)
        # Ctrl-C at the prompt ends the run and leaves the terminal echoing again.
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(ctx.exe, [ctx.exe, "--user", "alice", "-i", listfile, "-o", ctx.dir("intr")])
        seen = b""
        deadline = time.time() + 30
        while b"password" not in seen and time.time() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                seen += os.read(fd, 4096)
        os.write(fd, b"\x03")
        _, status = os.waitpid(pid, 0)
        echo = termios.tcgetattr(fd)[3] & termios.ECHO
        os.close(fd)
        check(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT,
              f"Ctrl-C at the prompt: status {status:#x}")
        check(echo, "Ctrl-C at the prompt left the terminal without echo")
        # No terminal: a new session without a controlling one.
        before = len(a.requests)
        p = subprocess.run(["setsid", "-w", ctx.exe, "--user", "alice", "-i", listfile, "-o",
                            ctx.dir("notty")], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        check(p.returncode == 2 and "no password" in p.stderr, f"no terminal: exit "
              f"{p.returncode}: {p.stderr[-300:]}")
        check(len(a.requests) == before, "requests were made without a password")


@case
def netrc_permissions(ctx):
    """--netrc-file readable by others: exit 2 before any request, with the exact line; mode
    600: its credentials are used for its host only."""
    with Recorder(auth="carol:al1cepw") as a:
        netrc = ctx.dir("netrc")
        with open(netrc, "w") as f:
            f.write(f"machine 127.0.0.1 login carol password al1cepw\n")
        os.chmod(netrc, 0o644)
        url = [f"{a.base}/auth/n.html"]
        p, folder = fetch(ctx, url, "--netrc-file", netrc, out="open")
        want = f"{netrc} is readable by others (mode 0644); chmod 600 {netrc}"
        check(p.returncode == 2 and want in p.stderr, f"exit {p.returncode}: {p.stderr!r}")
        check(a.requests == [], "a request was made with an unsafe netrc")
        os.chmod(netrc, 0o640)
        p, folder = fetch(ctx, url, "--netrc-file", netrc, out="group")
        check(p.returncode == 2 and "(mode 0640)" in p.stderr, f"0640: exit {p.returncode}")
        os.chmod(netrc, 0o600)
        p, folder = fetch(ctx, url, "--netrc-file", netrc, "-v", out="ok")
        check(p.returncode == 0, f"mode 600: exit {p.returncode}: {p.stderr[-300:]}")
        check_pages(folder, url)
        no_secrets(p, folder)
        p = run(ctx, "--netrc-file", ctx.dir("missing"), "-i", "/dev/null", "-o", ctx.dir("m"))
        check(p.returncode == 5 and "cannot read netrc" in p.stderr, f"missing: {p.returncode}")
        home = ctx.dir("home")
        os.makedirs(home)
        shutil.copy(netrc, os.path.join(home, ".netrc"))
        os.chmod(os.path.join(home, ".netrc"), 0o604)
        p, folder = fetch(ctx, url, "--netrc", env={"HOME": home}, out="home")
        check(p.returncode == 2 and "readable by others (mode 0604)" in p.stderr,
              f"~/.netrc 0604: exit {p.returncode}: {p.stderr!r}")


@case
def secrets_in_short_options(ctx):
    """-uNAME:PASS and -HName:value (and -qu NAME:PASS: a value inside a word of short options)
    are hidden in the WARC file's command line as in the long forms."""
    import gzip
    with Recorder(auth="alice:al1cepw") as a:
        out = ctx.dir("o")
        os.makedirs(out)
        p = run(ctx, "-ualice:al1cepw", "-qHX-Api-Key:ap1k3yvalue", "-vu", "alice:al1cepw",
                "--warc-file", os.path.join(out, "arch"), "-i", "-", "-o", out,
                stdin=f"{a.base}/auth/w.html\n")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        with gzip.open(os.path.join(out, "arch.warc.gz"), "rb") as f:
            data = f.read()
        line = [l for l in data.split(b"\r\n") if l.startswith(b"command-line:")][0].decode()
        check("al1cepw" not in line and "ap1k3yvalue" not in line, f"warcinfo shows {line}")
        check("-u***" in line and "-qH***" in line and "-vu ***" in line, f"warcinfo: {line}")


# ---- cookies ----

def cookie_file(path, host="127.0.0.1", **cookies):
    with open(path, "w") as f:
        f.write("# Netscape HTTP Cookie File\n")
        for k, v in cookies.items():
            f.write(f"{host}\tFALSE\t/\tFALSE\t0\t{k}\t{v}\n")


def jar_cookies(path):
    """{name: value} of a Netscape cookie file (libcurl writes #HttpOnly_ lines too)."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#HttpOnly_"):
                line = line[len("#HttpOnly_"):]
            elif line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            out[parts[5]] = parts[6]
    return out


def cookies_sent(headers):
    return dict(kv.split("=", 1) for kv in headers.get("cookie", "").split("; ") if "=" in kv)


@case
def cookies_file_and_jar(ctx):
    """--cookie FILE is sent; a cookie the list page sets goes with every page after it (one jar
    for all transfers, many in flight at once); --cookie-jar holds them all at the end, mode
    0600, written whole (no temporary left beside it)."""
    with Recorder() as web:
        cfile, jar_dir = ctx.dir("in.txt"), ctx.dir("jars")
        os.makedirs(jar_dir)
        jar = os.path.join(jar_dir, "jar.txt")
        cookie_file(cfile, f="fromfile")
        p = run(ctx, "--cookie", cfile, "--cookie-jar", jar, "--select", "a", "-o", ctx.dir("o"),
                f"{web.base}/list?n=8")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        pages = [(pth, h) for pth, h in web.requests if pth.startswith("/p/")]
        check(len(pages) == 8, f"{len(pages)} pages fetched, not 8")
        for pth, h in pages:
            got = cookies_sent(h)
            check(got.get("f") == "fromfile" and got.get("L") == "fromlist",
                  f"{pth}: cookies sent {got}, want f and L")
        check(cookies_sent(web.requests[0][1]) == {"f": "fromfile"}, "list page: file's cookie")
        want = {"f": "fromfile", "L": "fromlist", **{f"k{i}": f"v-k{i}" for i in range(8)}}
        check(jar_cookies(jar) == want, f"jar holds {jar_cookies(jar)}")
        check(os.stat(jar).st_mode & 0o777 == 0o600, f"jar mode {os.stat(jar).st_mode:o}")
        check(os.listdir(jar_dir) == ["jar.txt"], f"left beside the jar: {os.listdir(jar_dir)}")
        # The next run starts from the jar: what the first run was given comes back.
        before = len(web.requests)
        p = run(ctx, "--cookie", jar, "-i", "-", "-o", ctx.dir("o2"),
                stdin=f"{web.base}/p/again.html\n")
        check(p.returncode == 0, f"second run: exit {p.returncode}")
        check(cookies_sent(web.requests[before][1]) == want, "the jar's cookies were not sent")


@case
def cookies_procs_merged(ctx):
    """-p 2: every worker starts from the --cookie file, and the parent merges the workers' jars
    (and its own) into --cookie-jar; the workers' jars are gone afterwards."""
    with Recorder() as web:
        cfile, jar_dir = ctx.dir("in.txt"), ctx.dir("jars")
        os.makedirs(jar_dir)
        jar = os.path.join(jar_dir, "jar.txt")
        cookie_file(cfile, f="fromfile")
        p = run(ctx, "-p", "2", "--cookie", cfile, "--cookie-jar", jar, "--select", "a", "-o",
                ctx.dir("o"), f"{web.base}/list?n=10")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        pages = [(pth, h) for pth, h in web.requests if pth.startswith("/p/")]
        check(len(pages) == 10 and all(cookies_sent(h).get("f") == "fromfile" for _, h in pages),
              f"not every page got the file's cookie: {pages}")
        want = {"f": "fromfile", "L": "fromlist", **{f"k{i}": f"v-k{i}" for i in range(10)}}
        check(jar_cookies(jar) == want, f"merged jar holds {jar_cookies(jar)}")
        check(os.listdir(jar_dir) == ["jar.txt"], f"left beside the jar: {os.listdir(jar_dir)}")


@case
def cookies_checked_first(ctx):
    """A --cookie file that is not there, or a jar in a folder that cannot take it: exit 5
    before any request."""
    with Recorder() as web:
        url = f"{web.base}/p/x.html\n"
        p = run(ctx, "--cookie", ctx.dir("missing"), "-i", "-", "-o", ctx.dir("o"), stdin=url)
        check(p.returncode == 5 and "--cookie" in p.stderr, f"missing: {p.returncode} {p.stderr}")
        p = run(ctx, "--cookie-jar", ctx.dir("no/such/dir/jar"), "-i", "-", "-o", ctx.dir("o"),
                stdin=url)
        check(p.returncode == 5 and "--cookie-jar" in p.stderr, f"jar: {p.returncode} {p.stderr}")
        check(web.requests == [], "a request was made")


# ---- bandwidth ----

@case
def limit_rate_whole_job(ctx):
    """--limit-rate caps all transfers together, not each: 6 bodies of 512 KiB at once under
    --limit-rate 1M take at least ~3 s (each at 1M would take 0.5 s), every byte intact; -p 2
    shares the rate too. Loose on purpose: only a lower bound on the time (a cap cannot make a
    run faster), so a loaded machine cannot fail it; the exact figure is bench_limit_rate.py's."""
    size = 512 * 1024
    with Recorder() as web:
        urls = [f"{web.base}/big/b{i}/{size}" for i in range(6)]
        for procs in ("1", "2"):
            t0 = time.monotonic()
            p, folder = fetch(ctx, urls, "--limit-rate", "1M", "-p", procs, out=f"o{procs}")
            took = time.monotonic() - t0
            check(p.returncode == 0, f"-p {procs}: exit {p.returncode}: {p.stderr[-300:]}")
            for i in range(6):
                # Saved under the last segment of the URL (the size).
                rec = [r for r in m.manifest(folder) if r["url"] == urls[i]][0]
                with open(os.path.join(folder, rec["file"]), "rb") as f:
                    check(f.read() == big_body(f"b{i}", size), f"b{i} differs")
            rate = 6 * size / took
            # 1.4, not 1.1: over a 3 s run the bucket's credit (0.25 s) and the budget's
            # judgement (once a second, grown while the first bytes were slow) weigh; a CI run
            # measured 1.23 x. Caps per transfer would give 6 x, one per worker of -p 2 2 x;
            # the +-10 % promise is over 8 s and more (bench_limit_rate.py).
            check(rate <= 1.4 * 1024 * 1024, f"-p {procs}: {rate / 1048576:.2f} MiB/s in "
                                              f"{took:.2f} s, over --limit-rate 1M")


# ---- redirects ----

@case
def redirect_headers(ctx):
    """-H Authorization, Cookie and an API key: all reach the page's origin; on a redirect to
    another origin none of them follows by default; --location-trusted lets the API key
    follow, never Authorization or Cookie; a same-origin redirect keeps all. None is shown in
    -v, the trace or the manifest."""
    hdrs = ["-H", "Authorization: Bearer-t0ps3cret", "-H", "Cookie: s=sessi0nc00kie",
            "-H", "X-Api-Key: ap1k3yvalue"]
    with Recorder() as a, Recorder() as b:
        cross = f"{a.base}/go?to={b.base}/p/x.html"
        same = f"{a.base}/go?to={a.base}/p/same.html"
        trace = ctx.dir("trace.json")
        p, folder = fetch(ctx, [cross, same], *hdrs, "-v", "--trace", trace, "-c", "1")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        no_secrets(p, folder, trace)
        (_, hb), = b.requests
        for h in ("authorization", "cookie", "x-api-key"):
            check(h not in hb, f"{h} crossed to another origin: {hb}")
        for path, h in a.requests:
            check(h.get("x-api-key") == "ap1k3yvalue" and "authorization" in h and "cookie" in h,
                  f"{path}: the origin did not get its headers: {h}")
        p, folder = fetch(ctx, [cross], *hdrs, "--location-trusted", out="trusted")
        check(p.returncode == 0, f"trusted: exit {p.returncode}: {p.stderr[-300:]}")
        hb = b.requests[-1][1]
        check(hb.get("x-api-key") == "ap1k3yvalue", f"--location-trusted dropped the key: {hb}")
        check("authorization" not in hb and "cookie" not in hb, f"credentials crossed: {hb}")
        # Another scheme is another origin too: https -> http on the same host and port
        # cannot be tested without a server speaking both, so a port change stands for it.


@case
def https_to_http_refused(ctx):
    """A redirect from https to http fails the page (named, exit 1) and sends nothing over
    http; --allow-insecure-redirect follows it."""
    with Recorder() as web:
        target = f"{web.base}/p/plain.html"
        with Nginx(ctx.tmp, 1, to_http=target) as tls:
            url = [f"{tls.base}/to-http"]
            p, folder = fetch(ctx, url, "--cacert", tls.ca, "-H", "X-Api-Key: ap1k3yvalue")
            check(p.returncode == 1, f"exit {p.returncode}, want 1")
            (rec,) = m.manifest(folder)
            check(rec["status"] == "failed" and "https to plain http" in rec["error"],
                  f"record: {rec}")
            check("https to plain http" in p.stderr, f"not named on stderr: {p.stderr}")
            check(web.requests == [], f"a request went over http: {web.requests}")
            p, folder = fetch(ctx, url, "--cacert", tls.ca, "--allow-insecure-redirect",
                              out="allowed")
            check(p.returncode == 0, f"allowed: exit {p.returncode}: {p.stderr[-300:]}")
            with open(os.path.join(folder, "to-http.html"), "rb") as f:
                check(f.read() == body_of("/p/plain.html"), "redirected page differs")


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-e2e-http-"))
