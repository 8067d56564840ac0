"""What every e2e driver shares: where the fixtures are, loading them, and the command line.

    python3 tests/e2e/DRIVER.py --list
    python3 tests/e2e/DRIVER.py --loopfetch build/loopfetch CASE

A driver imports its siblings by name (this folder is the script's own, so it is on sys.path);
fixtures (tests/fixtures/) are loaded by path with fixture(), since one of them is called
site.py and the standard library owns that module name.
"""

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
FIXTURES = os.path.join(TESTS, "fixtures")
DEFAULT_LOOPFETCH = os.path.join(ROOT, "build", "loopfetch")
SKIP = 77

_loaded = {}


def fixture(name):
    """tests/fixtures/NAME.py as a module (loaded once per process)."""
    if name not in _loaded:
        spec = importlib.util.spec_from_file_location("fixture_" + name,
                                                      os.path.join(FIXTURES, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _loaded[name] = mod
    return _loaded[name]


def fixture_path(name):
    """The path of tests/fixtures/NAME.py, for running it as a server."""
    return os.path.join(FIXTURES, name + ".py")


def parse_args(cases, description=None):
    """The drivers' shared command line: --list prints the cases (exit 0 is returned as an int),
    an unknown or missing case is exit 2; otherwise the parsed arguments, with --loopfetch
    absolute. Options a driver does not use are accepted, so meson can pass the same ones."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--list", action="store_true", help="print the case names and exit")
    ap.add_argument("--loopfetch", default=DEFAULT_LOOPFETCH)
    ap.add_argument("--embed", help="path of the test_embed program")
    ap.add_argument("--embed-echo", help="path of the embed_echo example")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(cases))
        return 0
    if a.case not in cases:
        print(f"unknown case {a.case!r}; --list shows them", file=sys.stderr)
        return 2
    a.loopfetch = os.path.abspath(a.loopfetch)
    return a


class Failure(Exception):
    """A case's check failed (exit 1)."""


class Skip(Exception):
    """A case cannot run here, e.g. a server is not installed (exit 77)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise Failure(f"{what} exited: {proc.stderr.read()[-500:] if proc.stderr else ''}")
            time.sleep(0.05)
    raise Failure(f"{what} did not start listening")


def need(tool):
    for d in ("", "/usr/sbin/", "/usr/bin/"):
        path = shutil.which(tool) if not d else d + tool
        if path and os.path.exists(path):
            return path
    raise Skip(f"{tool} is not installed (scripts/deps.sh installs it)")


class Daemon:
    """A server process in the foreground, stopped on exit."""

    def __init__(self, argv, port, what):
        self.what = what
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        wait_listening(port, self.proc, what)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Nginx(Daemon):
    """Debian's nginx at its defaults on 127.0.0.1, serving TMP/nginx/www (self.www): only where it
    listens, its root, its logs and what the caller adds are configured.

    log_format: the access log's format (self.access_log() reads its lines); http, server: extra
    directives for those blocks; connections: events' worker_connections. tls: HTTPS with a
    self-signed certificate (subjectAltName `san`; self.ca is its path), HTTP/2 unless
    http2=False. files: {path under www: bytes or str}, written before nginx starts. Skips when
    nginx (or, for tls, openssl) is not installed."""

    def __init__(self, tmp, log_format, http=(), server=(), tls=False, http2=True,
                 connections=256, files=None, san="IP:127.0.0.1"):
        exe = need("nginx")
        if tls:
            need("openssl")
        self.dir = d = os.path.join(tmp, "nginx")
        self.www = os.path.join(d, "www")
        os.makedirs(self.www)
        os.makedirs(os.path.join(d, "tmp"))
        for name, data in (files or {}).items():
            path = os.path.join(self.www, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb" if isinstance(data, bytes) else "w") as f:
                f.write(data)
        listen, self.ca = "", None
        if tls:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-addext", f"subjectAltName={san}",
                            "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"],
                           check=True, capture_output=True)
            listen = " ssl http2" if http2 else " ssl"
            server = (f"ssl_certificate {d}/cert.pem;", f"ssl_certificate_key {d}/key.pem;",
                      *server)
            self.ca = f"{d}/cert.pem"
        for root, dirs, names in os.walk(tmp):  # nginx's worker may run as nobody
            os.chmod(root, 0o755)
            for n in names:
                os.chmod(os.path.join(root, n), 0o644)
        self.port = free_port()
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
  log_format lf '{log_format}';
  access_log {d}/access.log lf;
  client_body_temp_path {d}/tmp;
""" + "".join(f"  {x}\n" for x in http) + f"""  server {{
    listen 127.0.0.1:{self.port}{listen};
    root {d}/www;
""" + "".join(f"    {x}\n" for x in server) + "  }\n}\n")
        super().__init__([exe, "-p", d, "-c", f"{d}/nginx.conf", "-e", f"{d}/error.log", "-g",
                          "daemon off;"], self.port, "nginx")

    def access_log(self):
        """The access log's lines, as nginx wrote them (log_format)."""
        with open(f"{self.dir}/access.log") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
