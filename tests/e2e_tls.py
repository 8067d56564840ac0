#!/usr/bin/env python3
"""End-to-end cases against a real TLS + HTTP/2 server: Debian's nginx on 127.0.0.1 with a
certificate from a throwaway CA. Certificate verification is on by default; many pages share
one multiplexed connection, also when hundreds start at once and in worker processes.

    python3 tests/e2e_tls.py --loopfetch build/loopfetch CASE     (or --list)

nginx's access log records, per request, the connection serial number and the protocol, so
the cases check connections and HTTP versions as the server saw them. Skips (exit 77) when
nginx or openssl is not installed.
"""

import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("e2e_modes", os.path.join(HERE, "e2e_modes.py"))
m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m)
check, MANIFEST = m.check, m.MANIFEST

CASES = {}

CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  log_format lf '$connection $server_protocol $status $uri';
  access_log {tmp}/access.log lf;
  keepalive_requests 100000;
  http2_max_concurrent_streams 512;
  default_type text/html;
  client_body_temp_path {tmp}/tmp;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    root {tmp}/www;
  }}
}}
"""


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def body(i):
    """A deterministic page of 2-12 KB."""
    seed = hashlib.sha256(str(i).encode()).hexdigest()
    return (f"<!DOCTYPE html><title>p{i}</title><p>" + seed * 400)[: 2000 + (i * 97) % 10000]


class Nginx:
    """nginx serving `count` pages over HTTPS + HTTP/2; stopped on exit."""

    def __init__(self, tmp, count):
        for tool in ("nginx", "openssl"):
            if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
                raise m.Skip(f"{tool} is not installed (scripts/deps.sh installs it)")
        self.tmp = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.tmp, "www", "p"))
        os.makedirs(os.path.join(self.tmp, "tmp"))
        for i in range(count):
            with open(os.path.join(self.tmp, "www", "p", f"{i}.html"), "w") as f:
                f.write(body(i))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", f"{self.tmp}/key.pem", "-out", f"{self.tmp}/cert.pem"],
                       check=True, capture_output=True)
        for root, dirs, files in os.walk(tmp):  # nginx's worker may run as nobody
            os.chmod(root, 0o755)
            for n in files:
                os.chmod(os.path.join(root, n), 0o644)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        with open(f"{self.tmp}/nginx.conf", "w") as f:
            f.write(CONF.format(tmp=self.tmp, port=self.port))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", self.tmp, "-c", f"{self.tmp}/nginx.conf", "-e",
                                      f"{self.tmp}/error.log", "-g", "daemon off;"],
                                     stderr=subprocess.PIPE, text=True)
        self.urls = [f"https://127.0.0.1:{self.port}/p/{i}.html" for i in range(count)]
        self.ca = f"{self.tmp}/cert.pem"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise m.Failure(f"nginx exited: {self.proc.stderr.read()[-500:]}")
                time.sleep(0.05)
        raise m.Failure("nginx did not start listening")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def log(self):
        """(connection, protocol, status, uri) per request, as nginx wrote them."""
        with open(f"{self.tmp}/access.log") as f:
            return [tuple(line.split()) for line in f if line.strip()]


def fetch(ctx, srv, *opts):
    out = ctx.dir("out")
    p = ctx.run(*opts, "-i", "-", "-o", out, stdin="\n".join(srv.urls) + "\n")
    return p, out


def check_saved(srv, out):
    for i, url in enumerate(srv.urls):
        with open(os.path.join(out, f"{i}.html")) as f:
            check(f.read() == body(i), f"{i}.html: bytes differ from the server's")
    recs = m.manifest(out)
    check(len(recs) == len(srv.urls) and all(r["status"] == "saved" for r in recs),
          f"manifest: {len(recs)} records, not all saved")
    m.no_temporaries(out)


def saved_over(ctx, pages, want, *opts):
    """Fetches `pages` pages with opts: all saved, all over HTTP/2, on `want` connections as
    nginx counted them."""
    with Nginx(ctx.tmp, pages) as srv:
        p, out = fetch(ctx, srv, "--cacert", srv.ca, *opts)
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        check_saved(srv, out)
        log = srv.log()
        check(len(log) == pages, f"nginx saw {len(log)} requests, not {pages}")
        check(all(proto == "HTTP/2.0" and status == "200" for _, proto, status, _ in log),
              f"not all requests were HTTP/2 200: {sorted(set((p, s) for _, p, s, _ in log))}")
        conns = {conn for conn, _, _, _ in log}
        check(len(conns) == want, f"{len(conns)} connections for {pages} pages; want {want}")


@case
def h2_one_connection(ctx):
    """2000 pages, 512 at once, share one HTTP/2 connection (not one per stream past 100)."""
    saved_over(ctx, 2000, 1, "-c", "512")


@case
def procs_one_connection_each(ctx):
    """-p 2: each worker multiplexes its shard over one connection of its own."""
    saved_over(ctx, 1200, 2, "-p", "2")


@case
def tls_verified_by_default(ctx):
    """Without --cacert the throwaway CA is unknown: every page fails, named, nothing saved."""
    with Nginx(ctx.tmp, 5) as srv:
        p, out = fetch(ctx, srv)
        check(p.returncode == 1, f"exit {p.returncode}, want 1 (pages failed)")
        check(m.pages_in(out) == set(), f"files saved despite an unverified peer: {m.pages_in(out)}")
        recs = {r["url"]: r for r in m.manifest(out)}
        check(set(recs) == set(srv.urls), "manifest must list every URL")
        for url, r in recs.items():
            check(r["status"] == "failed" and "certificate" in r["error"].lower(),
                  f"{url}: {r['status']}: {r.get('error')!r}; want a certificate error")
            check(f"{url}" in p.stderr, f"{url} not named on stderr")
        check(srv.log() == [], "a request was sent over an unverified connection")


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-e2e-tls-"))
