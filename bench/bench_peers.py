#!/usr/bin/python3
"""Issue 5's benchmark: loopfetch against its peers on one local nginx.

    /usr/bin/python3 bench/bench_peers.py [--loopfetch PATH] [--workloads A,B,C,D,E,F]
        [--streams 100,128,512] [--tools loopfetch,curl,...] [--quick] [--keep] [--repeat N]
        [--timeout S] [--profile]

Needs (Debian packages; this script installs nothing, it checks and says what is missing):

    apt-get install nginx-light libnginx-mod-http-echo aria2 wget2 curl wrk \
        python3-requests python3-bs4 python3-aiohttp openssl
    (optional, for --profile: strace linux-perf)

What one run does:
  1. generates a Wikipedia-like site into a temp dir from tests/fixtures/site.py (the list page,
     233 articles of 20 KB..1 MB), 10,000 small pages of ~9 KB, and URL lists;
  2. makes a CA and a server certificate for 127.0.0.1 (openssl), writes nginx.conf and starts
     Debian's nginx on free loopback ports: HTTP/1.1, and HTTPS with HTTP/2 once per article mix
     and stream limit (http2_max_concurrent_streams 100 as Apache's mod_http2 has by default,
     nginx's own default 128, and 512; nothing else differs). Delays come from the echo module
     (echo_sleep, then echo_exec to a static location: see RESULTS.md);
  3. runs each workload with loopfetch and each peer, every run a child process in its own
     process group measured with os.wait4 (wall, user+sys CPU, peak RSS), into a fresh output
     folder, and checks the saved files (count and the multiset of sizes);
  4. measures the floors (slowest delay, wrk's request rate, URLs / in-flight x delay), checks
     issue 5's targets, and writes bench/out/peers.json, bench/out/peers.md, bench/out/peers.svg.

Workloads:
  A  list page + 233 articles, 100..400 ms each, HTTP/1.1
  B  the same over HTTPS (HTTP/2 where the tool speaks it), once per stream limit (B@100 ...)
  F  the same list page and delays over HTTPS, with articles of lognormal sizes (median ~350 KB,
     ~100 MB in all), once per stream limit (F@100, F@128, F@512)
  C  10,000 small pages, no delay: output on tmpfs (/dev/shm) and on disk (two tables)
  D  10,000 small pages, 250 ms each, 1,000 in flight, output on disk
  E  100,000 distinct URLs (mapped onto the 10,000 files), no delay: peak RSS against C
Everything runs under time limits; nginx and every child are killed on the way out.
"""

import argparse
import collections
import datetime
import hashlib
import html
import importlib.util
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SITE_PY = os.path.join(REPO, "tests", "fixtures", "site.py")
PEERS = os.path.join(HERE, "peers")
PY = "/usr/bin/python3"  # Debian's interpreter: the peers use Debian's packages

APT = {  # what we run -> the Debian package that has it
    "nginx": "nginx-light (or nginx)",
    "echo module": "libnginx-mod-http-echo",
    "openssl": "openssl",
    "curl": "curl",
    "aria2c": "aria2",
    "wget2": "wget2",
    "wrk": "wrk",
    "python3 requests": "python3-requests",
    "python3 bs4": "python3-bs4",
    "python3 aiohttp": "python3-aiohttp",
    "strace": "strace (only --profile)",
    "perf": "linux-perf (only --profile)",
}
NGINX_MODULES = "/usr/lib/nginx/modules"

H2_LIMITS = (100, 128, 512)  # http2_max_concurrent_streams of the HTTPS servers (B@L, F@L)
NGINX_DEFAULT_STREAMS = 128  # nginx's default: that server's config does not set it
LOGNORMAL_MEDIAN, LOGNORMAL_SIGMA = 350_000, 0.64  # F: mean ~430 KB, ~100 MB for 233 articles
ARTICLE_DELAY_MS = (100, 400)  # per article, deterministic: site.page_latency()
LIST_DELAY_MS = 0  # the list page itself is served at once
D_DELAY_MS = 250
D_IN_FLIGHT = 1000
SMALL_FILES = 10_000
CURL_PARALLEL_MAX = 300  # curl refuses more: a larger --parallel-max silently means 50
MANIFEST = "loopfetch-manifest.jsonl"  # loopfetch's own bookkeeping, not a page

LIVE = set()  # process group ids of children still running (killed in finally)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- tools


def check_tools(need_profile):
    """Returns (found: name -> path or version, missing: [name])."""
    found, missing = {}, []

    def which(name, exe):
        p = shutil.which(exe)
        if p:
            found[name] = p
        else:
            missing.append(name)

    for name, exe in [("nginx", "nginx"), ("openssl", "openssl"), ("curl", "curl"),
                      ("aria2c", "aria2c"), ("wget2", "wget2"), ("wrk", "wrk")]:
        which(name, exe)
    if need_profile:
        which("strace", "strace")
        which("perf", "perf")
    echo = os.path.join(NGINX_MODULES, "ngx_http_echo_module.so")
    if os.path.exists(echo):
        found["echo module"] = echo
    else:
        missing.append("echo module")
    for mod in ("requests", "bs4", "aiohttp"):
        ok = os.path.exists(PY) and subprocess.run(
            [PY, "-c", "import %s" % mod], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL).returncode == 0
        (found.__setitem__("python3 " + mod, PY) if ok else missing.append("python3 " + mod))
    return found, missing


def tool_versions():
    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return ((r.stdout or "") + (r.stderr or "")).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return None
    v = {"nginx": first_line(["nginx", "-v"]), "curl": first_line(["curl", "-V"]),
         "aria2c": first_line(["aria2c", "-v"]), "wget2": first_line(["wget2", "--version"]),
         "wrk": first_line(["wrk", "-v"]), "openssl": first_line(["openssl", "version"]),
         "python3": first_line([PY, "--version"])}
    v["python3 packages"] = first_line(
        [PY, "-c", "import requests, bs4, aiohttp; print('requests', requests.__version__, "
         "'bs4', bs4.__version__, 'aiohttp', aiohttp.__version__)"])
    try:
        v["echo module"] = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "libnginx-mod-http-echo"],
            capture_output=True, text=True, timeout=10).stdout or None
    except Exception:  # noqa: BLE001
        v["echo module"] = None
    return v


# ---------------------------------------------------------------- the site


def load_site():
    spec = importlib.util.spec_from_file_location("fixture_site", SITE_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _h(*parts):
    d = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(d, "big")


_SMALL_WORDS = ("population census region capital river island border trade harbour railway "
                "parliament election century treaty language culture music climate desert forest "
                "valley delta economy currency growth health education city town village average "
                "total density kilometres inhabitants the of and in to a is was for on by").split()


def _small_corpus():
    rng = random.Random("small-corpus")
    words = []
    while sum(len(w) + 1 for w in words) < 40_000:
        words.append(rng.choice(_SMALL_WORDS))
    return " ".join(words)


def small_page(n, corpus):
    """Page n of the small set: 8,500..9,500 bytes of ASCII HTML, deterministic."""
    size = 8500 + _h("small", n) % 1001
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8"><title>Page %d</title>'
            '</head><body><h1>Page %d</h1>\n<p>' % (n, n))
    tail = "</p></body></html>\n"
    fill = size - len(head) - len(tail)
    off = (n * 7919) % (len(corpus) - fill)
    return (head + corpus[off:off + fill] + tail).encode("ascii")


class Site:
    """Files under root/, URL lists, the expected size multisets, the delay map."""

    def __init__(self, tmp, http_port, https_ports, n_cd, n_e):
        """https_ports: (mix, streams) -> port, mix "B" (the articles) or "F" (lognormal)."""
        self.site = load_site()
        self.root = os.path.join(tmp, "root")
        self.root_f = os.path.join(tmp, "root-lognormal")
        self.http = "http://127.0.0.1:%d" % http_port
        self.bases = {k: "https://127.0.0.1:%d" % p for k, p in https_ports.items()}
        self.https = self.bases[("B", NGINX_DEFAULT_STREAMS)]
        s = self.site
        os.makedirs(os.path.join(self.root, "wiki"))
        os.makedirs(os.path.join(self.root, "small"))
        self.links_http = s.expected_links(self.http)
        self.links_https = s.expected_links(self.https)
        assert len(self.links_http) == 233
        self.delays = {}  # decoded title -> ms
        self.article_sizes = []
        for url in self.links_http:
            path = urllib.parse.urlsplit(url).path
            title = s.title_of(path)
            body = s.page_body(path)
            self.article_sizes.append(len(body))
            self.delays[title] = s.page_latency(path, *ARTICLE_DELAY_MS)
            self._write(b"wiki/" + title.encode("utf-8"), body)
        self.list_path = s.LIST_PATH
        self._write(s.LIST_PATH.lstrip("/").encode(), s.list_page())
        self.lognormal_sizes = self._write_lognormal()
        corpus = _small_corpus()
        self.small_sizes = []
        for n in range(SMALL_FILES):
            body = small_page(n, corpus)
            self.small_sizes.append(len(body))
            self._write(b"small/%04d.html" % n, body)
        self.n_cd, self.n_e = n_cd, n_e
        self.lists = os.path.join(tmp, "lists")
        os.makedirs(self.lists)
        self.files = {
            "a_http": self._list("a_http.txt", self.links_http),
            "a_https": self._list("a_https.txt", self.links_https),
            "c": self._list("c.txt", ("%s/small/%04d.html" % (self.http, n) for n in range(n_cd))),
            "d": self._list("d.txt", ("%s/slow/%04d.html" % (self.http, n) for n in range(n_cd))),
            "e": self._list("e.txt", ("%s/e/%05d.html" % (self.http, n) for n in range(n_e))),
        }
        for (mix, streams), base in self.bases.items():
            self.files["%s@%d" % (mix.lower(), streams)] = self._list(
                "%s%d.txt" % (mix.lower(), streams), s.expected_links(base))
        self.curl_cfg = {k: self._curl_cfg(v) for k, v in self.files.items()}
        self.total_bytes = sum(os.path.getsize(os.path.join(d, f))
                               for d, _, fs in os.walk(self.root) for f in fs)

    def _write(self, rel, body, root=None):
        with open(os.path.join((root or self.root).encode(), rel), "wb") as f:
            f.write(body)

    def _write_lognormal(self):
        """F's articles: the same paths, list page and delays, sizes drawn from a lognormal
        (median LOGNORMAL_MEDIAN), ASCII text cut from one buffer. Returns the sizes."""
        os.makedirs(os.path.join(self.root_f, "wiki"))
        rng = random.Random("lognormal-mix")
        words = _small_corpus().encode("ascii")
        buf = (words * (6_000_000 // len(words) + 1))[:6_000_000]
        sizes = []
        for i, url in enumerate(self.links_http):
            size = min(5_000_000, max(5_000, int(rng.lognormvariate(math.log(LOGNORMAL_MEDIAN),
                                                                    LOGNORMAL_SIGMA))))
            off = (i * 7919) % (len(buf) - size)
            title = self.site.title_of(urllib.parse.urlsplit(url).path)
            self._write(b"wiki/" + title.encode("utf-8"), buf[off:off + size], self.root_f)
            sizes.append(size)
        self._write(self.list_path.lstrip("/").encode(), self.site.list_page(), self.root_f)
        return sizes

    def _list(self, name, urls):
        path = os.path.join(self.lists, name)
        with open(path, "w", encoding="ascii") as f:
            for u in urls:
                f.write(u + "\n")
        return path

    def _curl_cfg(self, list_path):
        cfg = list_path[:-4] + ".curl"
        with open(list_path) as src, open(cfg, "w") as dst:
            for u in src:
                dst.write('url = "%s"\n' % u.strip())
        return cfg

    def expected(self, key):
        if key in ("a_http", "a_https") or key.startswith("b@"):
            return collections.Counter(self.article_sizes)
        if key.startswith("f@"):
            return collections.Counter(self.lognormal_sizes)
        if key in ("c", "d"):
            return collections.Counter(self.small_sizes[:self.n_cd])
        return collections.Counter(self.small_sizes[n % SMALL_FILES] for n in range(self.n_e))

    def max_article_delay_ms(self):
        return max(self.delays.values())


# ---------------------------------------------------------------- TLS and nginx


def make_certs(tmp):
    """A throwaway CA and a server certificate for IP 127.0.0.1 signed by it: a separate CA
    rather than one self-signed certificate, so the server's is an ordinary leaf (CA:FALSE,
    serverAuth) for OpenSSL, GnuTLS (aria2c, wget2) and Python alike."""
    d = os.path.join(tmp, "tls")
    os.makedirs(d)
    ca_key, ca, key, csr, crt = (os.path.join(d, n) for n in
                                 ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(a, check=True, stdout=subprocess.DEVNULL,  # noqa: E731
                                    stderr=subprocess.PIPE, timeout=60)
    run("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=loopfetch bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial",
        str(random.getrandbits(62)), "-days", "2", "-out", crt, "-extfile", ext)
    return ca, crt, key


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _nginx_str(s):
    if any(c in s for c in '"\\$;{}') or any(ord(c) < 32 for c in s):
        raise ValueError("cannot quote %r for nginx.conf" % s)
    return '"%s"' % s


def https_servers(site, https_ports, crt, key, alog):
    """One HTTPS + HTTP/2 server per (mix, stream limit): the articles' locations over TLS,
    root by mix, http2_max_concurrent_streams set only where it differs from nginx's default."""
    out = []
    for (mix, streams), port in sorted(https_ports.items()):
        out.append("""
  server {
    listen 127.0.0.1:%(port)d ssl http2 backlog=4096;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
%(streams)s    root %(root)s;
    location /wiki/ {
      echo_sleep $article_delay;
      echo_exec @article;
    }
    location @article {
      access_log %(alog)s proto;
    }
  }""" % dict(port=port, crt=crt, key=key, root=site.root_f if mix == "F" else site.root,
              alog=alog,
              streams="" if streams == NGINX_DEFAULT_STREAMS else
              "    http2_max_concurrent_streams %d;\n" % streams))
    return "".join(out)


def nginx_conf(tmp, site, http_port, https_ports, crt, key):
    mods = []
    ndk = os.path.join(NGINX_MODULES, "ndk_http_module.so")
    if os.path.exists(ndk):  # the echo module does not need it; load it if it is there
        mods.append("load_module %s;" % ndk)
    mods.append("load_module %s;" % os.path.join(NGINX_MODULES, "ngx_http_echo_module.so"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = 65536 if os.geteuid() == 0 or hard == resource.RLIM_INFINITY else min(hard, 65536)
    delay_map = ["    %s %.3f;" % (_nginx_str("/wiki/" + t), ms / 1000)
                 for t, ms in sorted(site.delays.items())]
    delay_map.append("    %s %.3f;" % (_nginx_str(site.list_path), LIST_DELAY_MS / 1000))
    t = lambda n: os.path.join(tmp, n)  # noqa: E731
    return """# generated by bench/bench_peers.py: a throwaway server for one benchmark run
%(mods)s
worker_processes auto;
worker_rlimit_nofile %(nofile)d;
pid %(pid)s;
error_log %(err)s warn;
daemon off;
master_process on;

events {
  worker_connections 16384;
}

http {
  access_log off;
  client_body_temp_path %(tb)s;
  proxy_temp_path %(tp)s;
  fastcgi_temp_path %(tf)s;
  uwsgi_temp_path %(tu)s;
  scgi_temp_path %(ts)s;

  default_type text/html;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  open_file_cache max=20000 inactive=300s;
  open_file_cache_valid 300s;
  gzip off;

  # Article delay by decoded URI ($uri), from site.page_latency(): 100..400 ms, in seconds.
  map_hash_bucket_size 256;
  map_hash_max_size 8192;
  map $uri $article_delay {
    default 0;
%(map)s
  }

  # Article requests only (A, B, F), to count protocols, connections and waves per run.
  log_format proto '$server_port $server_protocol $connection $status $body_bytes_sent '
                   '$msec $request_time $uri';

  server {
    listen 127.0.0.1:%(hp)d backlog=4096;
    root %(root)s;

    # Sleep on a timer (no worker is blocked), then an internal redirect to a plain static
    # location: the response is the static module's (Content-Length, sendfile, keep-alive,
    # HTTP/2), only later.
    location /wiki/ {
      echo_sleep $article_delay;
      echo_exec @article;
    }
    location @article {
      access_log %(alog)s proto;
    }
    # C: no delay.
    location /small/ {
    }
    # D: %(dms)d ms, then the same file as /small/.
    location /slow/ {
      echo_sleep %(dsec).3f;
      echo_exec @slow;
    }
    location @slow {
      rewrite ^/slow/(.*)$ /small/$1 last;
    }
    # E: 100,000 distinct URLs /e/NNNNN.html onto the 10,000 files (the last four digits).
    location ~ "^/e/\\d(\\d{4})\\.html$" {
      alias %(root)s/small/$1.html;
    }
  }
%(https)s
}
""" % dict(mods="\n".join(mods), nofile=nofile, pid=t("nginx.pid"), err=t("nginx-error.log"),
           tb=t("ngx_body"), tp=t("ngx_proxy"), tf=t("ngx_fastcgi"), tu=t("ngx_uwsgi"),
           ts=t("ngx_scgi"), map="\n".join(delay_map), hp=http_port, root=site.root,
           alog=t("articles-access.log"), dms=D_DELAY_MS, dsec=D_DELAY_MS / 1000,
           https=https_servers(site, https_ports, crt, key, t("articles-access.log")))


class Nginx:
    def __init__(self, tmp, conf_text):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "nginx.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(conf_text)
        self.proc = None

    def start(self, ports, ca):
        out = open(os.path.join(self.tmp, "nginx-stderr.log"), "wb")
        test = subprocess.run(["nginx", "-t", "-p", self.tmp + "/", "-c", self.conf, "-e",
                               os.path.join(self.tmp, "nginx-error.log")],
                              capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise RuntimeError("nginx -t failed:\n" + test.stderr)
        self.proc = subprocess.Popen(["nginx", "-p", self.tmp + "/", "-c", self.conf, "-e",
                                      os.path.join(self.tmp, "nginx-error.log")],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     start_new_session=True)
        LIVE.add(self.proc.pid)
        deadline = time.monotonic() + 15
        pending = list(ports)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with %s; see %s" % (self.proc.returncode,
                                                                      self.tmp))
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not start listening within 15 s")
            try:
                socket.create_connection(("127.0.0.1", pending[0]), timeout=1).close()
                pending.pop(0)
            except OSError:
                time.sleep(0.05)

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # fast shutdown of master and workers
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        killpg(self.proc.pid)  # whatever is left of the group
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        LIVE.discard(self.proc.pid)
        self.proc = None


def killpg(pgid, sig=signal.SIGKILL):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def sanity_check(site, ca):
    """The list page over both ports, and one delayed article: the delay must be there."""
    ctx = ssl.create_default_context(cafile=ca)
    for base in (site.http, site.https):
        with urllib.request.urlopen(base + site.list_path, timeout=10, context=ctx) as r:
            if r.status != 200:
                raise RuntimeError("list page: HTTP %d" % r.status)
    title, ms = max(site.delays.items(), key=lambda kv: kv[1])
    url = site.http + "/wiki/" + urllib.parse.quote(title)
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as r:
        n = len(r.read())
    took = (time.monotonic() - t0) * 1000
    if took < ms * 0.95 or n != site.article_sizes[site.links_http.index(
            site.http + "/wiki/" + site.site.articles()[title])]:
        raise RuntimeError("delay or size wrong for %s: %.0f ms (want %d), %d bytes"
                           % (title, took, ms, n))
    with urllib.request.urlopen(site.http + "/slow/0001.html", timeout=10) as r:
        r.read()
    return {"slowest_article": title, "slowest_ms": ms, "measured_ms": round(took, 1)}


# ---------------------------------------------------------------- measured runs


def fs_type(path):
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, parts[2]
    return kind


# Why a helper: a child's ru_maxrss is never below the RSS of the process it was forked from
# (exec records the old mm's high-water mark, with fork and with vfork alike), and this script
# holds ~100 MB of site data. So every measured command is started by a tiny C program that
# forks it, waits with wait4 and writes the rusage as JSON: its own ~1 MB is the floor.
RUNNER_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: lfb-run JSON_OUT CMD [ARG...]\n"); return 127; }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 127; }
  if (pid == 0) { execvp(argv[2], argv + 2); perror(argv[2]); _exit(127); }
  int st; struct rusage ru;
  while (wait4(pid, &st, 0, &ru) < 0)
    if (errno != EINTR) { perror("wait4"); return 127; }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FILE *f = fopen(argv[1], "w");
  if (!f) { perror(argv[1]); return 127; }
  fprintf(f, "{\"wall_s\": %.6f, \"user_s\": %ld.%06ld, \"sys_s\": %ld.%06ld, "
          "\"maxrss_kb\": %ld, \"exit\": %d}\n",
          (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
          (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
          (long)ru.ru_stime.tv_usec, ru.ru_maxrss,
          WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return fclose(f) == 0 ? 0 : 127;
}
"""
RUNNER = {"kind": None, "path": None}
LC_FLOOR = {"path": None, "why": "not built"}


def compile_c(src, exe, *flags):
    """Compiles one C file with cc -O2 and flags; returns None, or why it could not."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return "no C compiler"
    r = subprocess.run([cc, "-O2", "-o", exe, src, *flags], capture_output=True, text=True,
                       timeout=120)
    return None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["?"])[-1]


def build_libcurl_floor(tmp):
    """Compiles peers/libcurl_floor.c: libcurl driven by epoll with nothing else, a yardstick
    for what any libcurl-based tool must spend (bench/RESULTS.md, "libcurl alone")."""
    exe = os.path.join(tmp, "libcurl_floor")
    why = compile_c(os.path.join(PEERS, "libcurl_floor.c"), exe, "-std=c11", "-lcurl")
    if why is None:
        LC_FLOOR.update(path=exe, why=None)
    else:
        LC_FLOOR["why"] = "cannot compile it: " + why
        log("libcurl floor: " + LC_FLOOR["why"])


def build_runner(tmp):
    """Compiles the helper with cc (there is one: loopfetch was built here); else GNU time."""
    src = os.path.join(tmp, "lfb-run.c")
    exe = os.path.join(tmp, "lfb-run")
    with open(src, "w") as f:
        f.write(RUNNER_C)
    why = compile_c(src, exe)
    if why is None:
        RUNNER.update(kind="lfb-run", path=exe)
        return RUNNER
    log("cannot compile the rusage helper: " + why)
    if os.path.exists("/usr/bin/time"):  # GNU time: CPU only to 10 ms
        RUNNER.update(kind="gnu-time", path="/usr/bin/time")
        return RUNNER
    RUNNER.update(kind="direct", path=None)
    log("WARNING: no cc and no /usr/bin/time: peak RSS will include this script's own RSS")
    return RUNNER


def run_measured(cmd, timeout, logbase, env=None):
    """Runs cmd (through the rusage helper) in its own process group; returns wall, CPU and
    peak RSS. The group is killed on timeout, and afterwards in any case."""
    out = open(logbase + ".out", "wb")
    err = open(logbase + ".err", "wb")
    jpath = logbase + ".rusage.json"
    if RUNNER["kind"] == "lfb-run":
        full = [RUNNER["path"], jpath] + cmd
    elif RUNNER["kind"] == "gnu-time":
        full = [RUNNER["path"], "-o", jpath, "-f", '{"wall_s": %e, "user_s": %U, "sys_s": %S, '
                '"maxrss_kb": %M, "exit": %x}'] + cmd
    else:
        full = cmd
    timed_out = threading.Event()
    t0 = time.monotonic()
    p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                         start_new_session=True)
    LIVE.add(p.pid)

    def overrun():
        timed_out.set()
        killpg(p.pid)

    timer = threading.Timer(timeout, overrun)
    timer.daemon = True
    timer.start()
    try:
        while True:
            try:
                _, status, ru = os.wait4(p.pid, 0)
                break
            except InterruptedError:
                continue
        wall = time.monotonic() - t0
    finally:
        timer.cancel()
        killpg(p.pid)  # children it left behind (none expected)
        LIVE.discard(p.pid)
        out.close()
        err.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    res = {"wall_s": wall, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
           "maxrss_kb": ru.ru_maxrss, "exit": p.returncode}
    if RUNNER["kind"] != "direct" and not timed_out.is_set():
        try:
            with open(jpath) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res["exit"] = res["exit"] or 127  # the helper could not report: count as failed
    with open(logbase + ".err", "rb") as f:
        tail = f.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
    return {"wall_s": res["wall_s"], "user_s": res["user_s"], "sys_s": res["sys_s"],
            "cpu_s": res["user_s"] + res["sys_s"], "maxrss_mb": res["maxrss_kb"] / 1024,
            "exit": res["exit"], "timeout": timed_out.is_set(), "stderr_tail": tail[-6:],
            "outer_wall_s": wall}


def scan_sizes(d):
    sizes = []
    for root, _, files in os.walk(d):
        for f in files:
            if f == MANIFEST and root == d:
                continue
            sizes.append(os.lstat(os.path.join(root, f)).st_size)
    return collections.Counter(sizes)


def verify(d, expected):
    got = scan_sizes(d)
    n_exp, n_got = sum(expected.values()), sum(got.values())
    b_exp = sum(k * v for k, v in expected.items())
    b_got = sum(k * v for k, v in got.items())
    missing = sum((expected - got).values())
    extra = sum((got - expected).values())
    ok = got == expected
    msg = "ok" if ok else ("%d/%d files, %d/%d bytes, %d expected sizes missing, %d unexpected"
                           % (n_got, n_exp, b_got, b_exp, missing, extra))
    return {"ok": ok, "files": n_got, "files_expected": n_exp, "bytes": b_got,
            "bytes_expected": b_exp, "missing": missing, "unexpected": extra, "detail": msg}


def access_log_stats(path, offset, port, list_path=None):
    """Protocols and distinct connections of the article requests logged since offset, and
    the waves: how far apart the articles' requests reached nginx (ms), and how many reached it
    only after an article had been sent whole (a second wave). The list page is not an
    article."""
    protos, conns, n, times = collections.Counter(), set(), 0, []
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            for line in f.read().decode("utf-8", "replace").splitlines():
                parts = line.split(None, 7)
                if len(parts) < 3 or parts[0] != str(port):
                    continue
                protos[parts[1]] += 1
                conns.add(parts[2])
                n += 1
                if len(parts) == 8 and parts[7] != list_path:
                    end = float(parts[5])
                    times.append((end - float(parts[6]), end))
    except FileNotFoundError:
        pass
    out = {"requests": n, "protocols": dict(protos), "connections": len(conns)}
    if times:
        first_done = min(e for _, e in times)
        out["spread_ms"] = 1000 * (max(a for a, _ in times) - min(a for a, _ in times))
        out["second_wave"] = sum(1 for a, _ in times if a > first_done)
    return out


# ---------------------------------------------------------------- tools and workloads

# key, label, family
TOOLS = [
    ("loopfetch", "loopfetch"),
    ("loopfetch_i", "loopfetch -i list"),
    ("lc_floor", "libcurl alone (yardstick)"),
    ("curl", "curl -Z"),
    ("aria2c", "aria2c"),
    ("wget2", "wget2"),
    ("req_seq", "requests sequential"),
    ("req_t16", "requests threads 16"),
    ("req_t32", "requests threads 32"),
    ("req_pool", "requests Pool(%d)" % os.cpu_count()),
    ("aiohttp", "asyncio+aiohttp"),
]
LABEL = dict(TOOLS)
NEEDS = {"curl": "curl", "aria2c": "aria2c", "wget2": "wget2",
         "req_seq": "python3 requests", "req_t16": "python3 requests",
         "req_t32": "python3 requests", "req_pool": "python3 requests",
         "aiohttp": "python3 aiohttp"}
COLORS = {"loopfetch": "#d62728", "loopfetch_i": "#ff9896", "lc_floor": "#c7c7c7", "curl": "#1f77b4",
          "aria2c": "#2ca02c", "wget2": "#9467bd", "req_seq": "#8c564b", "req_t16": "#e377c2",
          "req_t32": "#bcbd22", "req_pool": "#7f7f7f", "aiohttp": "#17becf"}


class Workload:
    def __init__(self, key, title, list_key, n_pages, storage, https=False, via_list_page=False,
                 in_flight=None, delay_ms=0):
        self.key, self.title, self.list_key, self.n_pages = key, title, list_key, n_pages
        self.storage, self.https, self.via_list_page = storage, https, via_list_page
        self.in_flight, self.delay_ms = in_flight, delay_ms
        self.floor_s = None
        self.floor_note = ""
        self.base = None  # scheme://host:port of the list page and articles (A, B, F)
        self.write_floor = None  # {"wall_s", "note"}: the file system alone


def tool_cmd(tool, w, site, lf, ca, out):
    """The command line for tool on workload w, or (None, why) when it is skipped."""
    list_file = site.files[w.list_key]
    list_url = w.base + site.list_path if w.via_list_page else None
    high = w.in_flight or 300
    if tool == "loopfetch":
        c = [lf, "-o", out]
        if ca and w.https:
            c += ["--cacert", ca]
        if w.in_flight:
            c += ["-c", str(w.in_flight)]
        return c + ([list_url] if list_url else ["-i", list_file]), None
    if tool == "loopfetch_i":
        if not w.via_list_page:
            return None, "same as loopfetch here"
        c = [lf, "-o", out, "-i", list_file]
        return c + (["--cacert", ca] if w.https else []), None
    if tool == "lc_floor":
        if not LC_FLOOR["path"]:
            return None, LC_FLOOR["why"]
        c = [LC_FLOOR["path"], "-c", str(min(high, CURL_PARALLEL_MAX)), "-o", out, list_file]
        return c + (["--cacert", ca] if w.https else []), None
    if tool == "curl":
        c = ["curl", "-q", "-Z", "--parallel-max", str(min(high, CURL_PARALLEL_MAX)), "-s", "-S",
             "--fail", "--globoff", "--remote-name-all", "--output-dir", out,
             "-K", site.curl_cfg[w.list_key]]
        return c + (["--cacert", ca] if w.https else []), None
    if tool == "aria2c":
        c = ["aria2c", "--no-conf=true", "-i", list_file, "-j", str(high), "-x", "1",
             "--dir=" + out, "--file-allocation=none", "--quiet=true", "--console-log-level=error",
             "--summary-interval=0", "--deferred-input=true", "--auto-file-renaming=false",
             "--allow-overwrite=true"]
        return c + (["--ca-certificate=" + ca] if w.https else []), None
    if tool == "wget2":
        c = ["wget2", "--no-config", "-q", "-i", list_file, "--max-threads=%d" % high,
             "-P", out, "--no-directories", "--no-xattr", "--no-hsts", "--no-hpkp", "--no-ocsp",
             "--http2-request-window=100"]
        return c + (["--ca-certificate=" + ca] if w.https else []), None
    py = {"req_seq": ("req_seq.py", None), "req_t16": ("req_threads.py", 16),
          "req_t32": ("req_threads.py", 32), "req_pool": ("req_pool.py", os.cpu_count()),
          "aiohttp": ("aio.py", high)}
    script, n = py[tool]
    if tool == "req_seq" and w.key != "A":
        return None, "sequential runs on A only (B would add ~60 s of sleeps; C/D/E far more)"
    if w.delay_ms and n and tool != "aiohttp":
        projected = math.ceil(w.n_pages / n) * w.delay_ms / 1000
        if projected > 0.8 * ARGS.timeout:
            return None, "%d workers x %d ms would take >= %.0f s" % (n, w.delay_ms, projected)
    c = [PY, os.path.join(PEERS, script)]
    c += ["--list", list_url] if list_url else ["-i", list_file]
    c += ["-o", out]
    if n:
        c += ["-n", str(n)]
    return c + (["--cacert", ca] if w.https else []), None


def write_floor(root, sizes):
    """Seconds one Python thread needs to create and write these files (open O_EXCL, write,
    close) in a fresh folder under root: what the file system alone costs, no network."""
    d = tempfile.mkdtemp(prefix="write-floor-", dir=root)
    try:
        os.sync()
        time.sleep(0.3)
        data = b"x" * max(sizes)
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        c0, t0 = os.times(), time.monotonic()
        for i, size in enumerate(sizes):
            fd = os.open("%06d.html" % i, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644,
                         dir_fd=dfd)
            os.write(fd, data[:size])
            os.close(fd)
        wall, c1 = time.monotonic() - t0, os.times()
        os.close(dfd)
        return {"wall_s": wall, "cpu_s": (c1.user - c0.user) + (c1.system - c0.system),
                "files": len(sizes), "per_file_us": wall / len(sizes) * 1e6}
    finally:
        drop_output(d, "disk" if fs_type(root) != "tmpfs" else "tmpfs")


def drop_output(d, storage):
    """tmpfs output goes at once. Disk output stays until the end (the output roots are removed
    then) while there is room: ext4 skips inodes freed in the last ~30 s when it allocates new
    ones (recently_deleted() in ext4_new_inode), and the scan made file creation up to 20x
    dearer for whichever run came right after a deletion."""
    if storage == "disk":
        try:
            if shutil.disk_usage(d).free > 8 * 2**30:
                return
        except OSError:
            pass
    shutil.rmtree(d, ignore_errors=True)


def wrk_rate(url_fmt, n, seconds, tmp):
    """Requests/s wrk reaches cycling through n URLs (path format url_fmt % i)."""
    base = urllib.parse.urlsplit(url_fmt % 0)
    script = os.path.join(tmp, "wrk-cycle.lua")
    path_fmt = urllib.parse.urlsplit(url_fmt).path
    with open(script, "w") as f:
        f.write('local i = 0\nrequest = function()\n  i = i + 1\n'
                '  return wrk.format(nil, string.format("%s", i %% %d))\nend\n' % (path_fmt, n))
    cmd = ["wrk", "-t2", "-c100", "-d%ds" % seconds, "-s", script,
           "%s://%s/" % (base.scheme, base.netloc)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", r.stdout)
    if not m:
        raise RuntimeError("wrk: no rate in output:\n" + r.stdout + r.stderr)
    return {"rate": float(m.group(1)), "cmd": " ".join(cmd), "non2xx": int(bad.group(1)) if bad
            else 0, "output": r.stdout.strip().splitlines()}


# ---------------------------------------------------------------- report


def fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return ("%%.%df" % nd) % x


def ratio(a, b):
    return a / b if a is not None and b else None


def pick(runs):
    """The run to report among repeats: the one with the median wall time (ok runs first)."""
    ok = [r for r in runs if r.get("verify", {}).get("ok")]
    pool = ok or runs
    pool = sorted(pool, key=lambda r: r["wall_s"])
    return pool[(len(pool) - 1) // 2]


def table(w, rows, wrk=None):
    lf = rows.get("loopfetch")
    lf_ok = lf and lf.get("ok")
    head = ("| tool | wall s | × loopfetch | × floor | CPU s (user+sys) | CPU × lf | peak RSS MB | "
            "RSS × lf | pages/s | files ok? |")
    if w.https:
        head += " protocol (connections) | requests spread ms (2nd wave) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for tool, _ in TOOLS:
        r = rows.get(tool)
        if r is None:
            continue
        if r.get("skipped"):
            cells = [LABEL[tool], "skipped (%s)" % r["skipped"]] + [""] * 8
        else:
            ok = r.get("ok")
            status = "yes" if ok else ("TIMEOUT" if r.get("timeout") else "NO: " + r["why"])
            base = lf if lf_ok else None
            cells = [
                LABEL[tool] if tool != "loopfetch" else "**loopfetch**",
                fmt(r["wall_s"]), fmt(ratio(r["wall_s"], base and base["wall_s"])),
                fmt(ratio(r["wall_s"], w.floor_s)),
                "%s (%s+%s)" % (fmt(r["cpu_s"]), fmt(r["user_s"]), fmt(r["sys_s"])),
                fmt(ratio(r["cpu_s"], base and base["cpu_s"])), fmt(r["maxrss_mb"], 1),
                fmt(ratio(r["maxrss_mb"], base and base["maxrss_mb"])),
                fmt(r["pages_s"], 0) if ok else "–", status]
        if w.https:
            a = r.get("access")
            cells.append(", ".join("%s×%d" % (p, n) for p, n in sorted(a["protocols"].items()))
                         + " (%d)" % a["connections"] if a else "")
            cells.append("%.0f (%d)" % (a["spread_ms"], a["second_wave"])
                         if a and "spread_ms" in a else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def svg_chart(groups, title):
    """Grouped bars: wall time / loopfetch's wall time per workload and tool, log scale.
    groups: [(label, floor_ratio or None, [(tool, ratio or None, state)])]"""
    tools = [t for t, _ in TOOLS if any(t == g[0] for grp in groups for g in grp[2])]
    vals = [v for grp in groups for _, v, _ in grp[2] if v] + [g[1] for g in groups if g[1]]
    lo = min([0.5] + [v / 1.3 for v in vals])
    hi = max([2.0] + [v * 1.6 for v in vals])
    ticks = [m * 10 ** e for e in range(-2, 5) for m in (1, 2, 5) if lo <= m * 10 ** e <= hi]
    bw, gap, left, ph = 16, 34, 70, 340
    widths = [max(1, len(g[2])) * bw for g in groups]
    W = max(760, left + sum(widths) + gap * (len(groups) + 1) + 20)
    legend, lx, ly = [], left, 74
    for t in tools:
        w_item = 24 + 7 * len(LABEL[t])
        if lx + w_item > W - 20:
            lx, ly = left, ly + 18
        legend.append((t, lx, ly))
        lx += w_item
    top = ly + 46  # room for the value labels of the tallest bars
    H = top + ph + 50
    y = lambda v: top + ph - (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * ph  # noqa
    e = html.escape
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (W, H, W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (left, e(title)),
           '<text x="%d" y="40" fill="#444">Wall time relative to loopfetch, log scale: lower is '
           'better, 1× = loopfetch.</text>' % left,
           '<text x="%d" y="56" fill="#444">Dashed line = physical floor of the workload; '
           '✗ = failed run, – = skipped.</text>' % left]
    for t, lx, ly in legend:
        out.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, ly, COLORS[t]))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 16, ly + 11, e(LABEL[t])))
    for v in ticks:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>'
                   % (left, W - 20, y(v), y(v), "#333" if v == 1 else "#ddd"))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g×</text>' % (left - 6, y(v) + 4, v))
    x = left + gap
    for (label, floor, bars), wdt in zip(groups, widths):
        for i, (tool, v, state) in enumerate(bars):
            bx = x + i * bw
            if v:
                out.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"%s>'
                           '<title>%s: %.2f×</title></rect>'
                           % (bx + 1, y(v), bw - 2, top + ph - y(v), COLORS[tool],
                              ' stroke="black" stroke-dasharray="2,2"' if state != "ok" else "",
                              e(LABEL[tool]), v))
                out.append('<text transform="translate(%d,%.1f) rotate(-90)" font-size="10">'
                           '%s</text>' % (bx + bw / 2 + 3, y(v) - 3,
                                          ("%.0f×" if v >= 10 else "%.2g×") % v))
            mark = {"failed": "✗", "timeout": "✗", "skipped": "–"}.get(state)
            if mark:
                out.append('<text x="%d" y="%.1f" text-anchor="middle" font-weight="bold" '
                           'font-size="14" fill="%s">%s<title>%s: %s</title></text>'
                           % (bx + bw / 2, top + ph - 4, COLORS[tool], mark, e(LABEL[tool]),
                              state))
        if floor:
            out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black" '
                       'stroke-dasharray="5,3"/>' % (x - 4, x + wdt + 4, y(floor), y(floor)))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" font-weight="bold">%s</text>'
                   % (x + wdt / 2, top + ph + 20, e(label)))
        x += wdt + gap
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#333"/>'
               % (left, W - 20, top + ph, top + ph))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- main


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loopfetch", default=os.path.join(REPO, "build", "loopfetch"))
    ap.add_argument("--workloads", default="A,B,C,D,E,F")
    ap.add_argument("--streams", default=",".join(map(str, H2_LIMITS)),
                    help="stream limits of the HTTPS servers for B and F (default 100,128,512)")
    ap.add_argument("--tools", default=None,
                    help="only these tools, e.g. loopfetch,loopfetch_i,curl,wget2 (default all)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: fewer peers, 2,000 small pages, 20,000 URLs in E")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (site, logs)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per tool, the median is reported (default: 5 for A and B, 3 for "
                         "C, 1 for D and E; 1 with --quick; runs over 20 s are never repeated)")
    ap.add_argument("--timeout", type=float, default=300, help="limit per run, seconds")
    ap.add_argument("--profile", action="store_true",
                    help="also run loopfetch on C (tmpfs) under strace -c -f and perf stat")
    ap.add_argument("--serve", type=float, metavar="SECONDS",
                    help="only set up the site and nginx, print URLs and serve for SECONDS "
                         "(for manual profiling), then clean up")
    ap.add_argument("--render", metavar="PEERS_JSON",
                    help="only rewrite peers.md and peers.svg in --out from a peers.json")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--disk-dir", default="/var/tmp", help="where 'disk' output goes")
    ap.add_argument("--tmpfs-dir", default="/dev/shm", help="where 'tmpfs' output goes")
    a = ap.parse_args()
    a.workloads = [x.strip().upper() for x in a.workloads.split(",") if x.strip()]
    bad = [x for x in a.workloads if x not in "ABCDEF" or len(x) != 1]
    if bad:
        ap.error("unknown workloads: %s" % ",".join(bad))
    a.streams = [int(x) for x in a.streams.split(",") if x.strip()]
    a.tools = set(a.tools.split(",")) if a.tools else None
    if a.tools and a.tools - set(LABEL):
        ap.error("unknown tools: %s (known: %s)" % (",".join(sorted(a.tools - set(LABEL))),
                                                    ",".join(LABEL)))
    return a


ARGS = None


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def main():
    global ARGS
    ARGS = args = parse_args()
    if args.render:
        return render_only(args)
    found, missing = check_tools(args.profile)
    log("tools: " + ", ".join("%s ok" % k for k in sorted(found)))
    for m in missing:
        log("MISSING: %s (Debian package: %s)" % (m, APT[m]))
    hard = [m for m in missing if m in ("nginx", "echo module", "openssl")]
    if "wrk" in missing and any(w in args.workloads for w in "CE"):
        hard.append("wrk")
    if hard:
        log("cannot run without: %s. Install: apt-get install %s"
            % (", ".join(hard), " ".join(APT[m].split()[0] for m in missing)))
        return 2
    if not os.access(args.loopfetch, os.X_OK):
        log("no loopfetch at %s: build it (meson setup build; ninja -C build) or pass --loopfetch"
            % args.loopfetch)
        return 2

    tmp = tempfile.mkdtemp(prefix="lf-peers-")
    os.chmod(tmp, 0o755)  # nginx workers (user nobody when started as root) read the site
    out_roots = {"disk": tempfile.mkdtemp(prefix="lf-peers-out-", dir=args.disk_dir),
                 "tmpfs": tempfile.mkdtemp(prefix="lf-peers-out-", dir=args.tmpfs_dir)}
    nginx = None
    old = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        # A snapshot: other people rebuild build/loopfetch while this runs.
        lf = os.path.join(tmp, "loopfetch")
        lf_mtime = os.path.getmtime(args.loopfetch)
        shutil.copy2(args.loopfetch, lf)
        with open(lf, "rb") as f:
            lf_sha = hashlib.sha256(f.read()).hexdigest()
        lf_ver = subprocess.run([lf, "-V"], capture_output=True, text=True).stdout.strip()
        git = git_state(args.loopfetch)
        log("loopfetch: %s (%s, sha256 %s…, built %s)" % (
            args.loopfetch, lf_ver, lf_sha[:12],
            time.strftime("%Y-%m-%d %H:%M", time.localtime(lf_mtime))))

        mixes = ["B"] + (["F"] if "F" in args.workloads else [])  # B@128: the sanity check
        keys = [(m, n) for m in mixes for n in sorted(set(args.streams) | {NGINX_DEFAULT_STREAMS})]
        ports = free_ports(1 + len(keys))
        http_port, https_ports = ports[0], dict(zip(keys, ports[1:]))
        n_cd = 2000 if args.quick else SMALL_FILES
        n_e = 20_000 if args.quick else 100_000
        t0 = time.monotonic()
        site = Site(tmp, http_port, https_ports, n_cd, n_e)
        log("site: %d files, %.0f MB in %s (%.1f s)" % (
            233 + 1 + SMALL_FILES, site.total_bytes / 1e6, site.root, time.monotonic() - t0))
        ca, crt, key = make_certs(tmp)
        build_runner(tmp)
        build_libcurl_floor(tmp)
        log("runner: %s" % RUNNER["kind"])
        nginx = Nginx(tmp, nginx_conf(tmp, site, http_port, https_ports, crt, key))
        nginx.start(ports, ca)
        sane = sanity_check(site, ca)
        log("nginx: http://127.0.0.1:%d, https (h2): %s; slowest article %s: %d ms, "
            "measured %.0f ms" % (http_port, ", ".join("%s@%d on %d" % (m, n, p) for (m, n), p in
                                                       sorted(https_ports.items())),
                                  sane["slowest_article"], sane["slowest_ms"],
                                  sane["measured_ms"]))

        if args.serve:
            print(json.dumps({"http": site.http, "https": {"%s@%d" % k: v for k, v in
                                                          site.bases.items()}, "cacert": ca,
                              "list_page": site.list_path, "lists": site.files,
                              "curl_configs": site.curl_cfg, "tmp": tmp,
                              "access_log": os.path.join(tmp, "articles-access.log"),
                              "out_dirs": out_roots, "loopfetch": lf}, indent=1), flush=True)
            time.sleep(args.serve)
            return 0
        result = run_all(args, site, lf, ca, tmp, out_roots, sane)
        result["meta"].update({
            "loopfetch": {"path": args.loopfetch, "version": lf_ver, "sha256": lf_sha,
                          "mtime": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                 time.localtime(lf_mtime))},
            "ports": {"http": http_port, "https": {"%s@%d" % k: v for k, v in
                                                   https_ports.items()}},
            "storage": {k: {"dir": v, "fs": fs_type(v)} for k, v in out_roots.items()},
            "nginx_conf": os.path.join(tmp, "nginx.conf") if args.keep else None,
            "tools_missing": missing,
            "git": git,
            "runner": RUNNER["kind"],
        })
        write_outputs(args, result)
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for pg in list(LIVE):
            if not nginx or not nginx.proc or pg != nginx.proc.pid:
                killpg(pg)
        if nginx:
            nginx.stop()
        for s, h in old.items():
            signal.signal(s, h)
        for d in out_roots.values():
            shutil.rmtree(d, ignore_errors=True)
        if args.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def workloads_for(args, site):
    ws = []
    max_ms = site.max_article_delay_ms()
    if "A" in args.workloads:
        w = Workload("A", "A: list page + 233 articles, 100–400 ms each, HTTP/1.1", "a_http", 233,
                     "disk", via_list_page=True)
        w.base = site.http
        w.floor_s = (LIST_DELAY_MS + max_ms) / 1000
        w.floor_note = "list page (%d ms) + slowest article (%d ms)" % (LIST_DELAY_MS, max_ms)
        ws.append(w)
    for mix in "BF":
        if mix not in args.workloads:
            continue
        for n in args.streams:
            what = ("the same over HTTPS (HTTP/2 where spoken)" if mix == "B" else
                    "the same over HTTPS, articles of lognormal sizes (%.0f MB)"
                    % (sum(site.lognormal_sizes) / 1e6))
            w = Workload("%s@%d" % (mix, n), "%s@%d: %s, %d streams per connection%s" % (
                mix, n, what, n, " (nginx's default)" if n == NGINX_DEFAULT_STREAMS else ""),
                "%s@%d" % (mix.lower(), n), 233, "disk", https=True, via_list_page=True)
            w.base = site.bases[(mix, n)]
            w.floor_s = (LIST_DELAY_MS + max_ms) / 1000
            w.floor_note = "list page (%d ms) + slowest article (%d ms)" % (LIST_DELAY_MS, max_ms)
            ws.append(w)
    if "C" in args.workloads:
        ws.append(Workload("C-tmpfs", "C: %d small pages (~9 KB), no delay, output on tmpfs"
                           % site.n_cd, "c", site.n_cd, "tmpfs"))
        ws.append(Workload("C-disk", "C: %d small pages (~9 KB), no delay, output on disk"
                           % site.n_cd, "c", site.n_cd, "disk"))
    if "D" in args.workloads:
        w = Workload("D", "D: %d small pages, %d ms each, %d in flight, output on disk"
                     % (site.n_cd, D_DELAY_MS, D_IN_FLIGHT), "d", site.n_cd, "disk",
                     in_flight=D_IN_FLIGHT, delay_ms=D_DELAY_MS)
        w.floor_s = math.ceil(site.n_cd / D_IN_FLIGHT) * D_DELAY_MS / 1000
        w.floor_note = "%d URLs / %d in flight × %d ms" % (site.n_cd, D_IN_FLIGHT, D_DELAY_MS)
        ws.append(w)
    if "E" in args.workloads:
        ws.append(Workload("E", "E: %d distinct URLs (no delay), output on disk" % site.n_e, "e",
                           site.n_e, "disk"))
    return ws


DEFAULT_REPEATS = {"A": 5, "B": 5, "C": 3, "D": 1, "E": 1, "F": 5}
QUICK_TOOLS = {"loopfetch", "loopfetch_i", "lc_floor", "curl", "aria2c", "wget2", "req_t32", "aiohttp"}


def run_all(args, site, lf, ca, tmp, out_roots, sane):
    found, _ = check_tools(False)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    floors = {}
    workloads = workloads_for(args, site)
    if any(w.key.startswith("C") or w.key == "E" for w in workloads):
        secs = 2 if args.quick else 5
        log("floor: wrk -t2 -c100 -d%ds cycling through %d small pages…" % (secs, site.n_cd))
        floors["wrk_small"] = wrk_rate(site.http + "/small/%04d.html", site.n_cd, secs, tmp)
        if "E" in args.workloads:
            floors["wrk_e"] = wrk_rate(site.http + "/e/%05d.html", site.n_e, secs, tmp)
        log("floor: wrk %.0f requests/s on /small/" % floors["wrk_small"]["rate"])
    for w in workloads:
        if w.key.startswith("C"):
            w.floor_s = w.n_pages / floors["wrk_small"]["rate"]
            w.floor_note = "%d pages at wrk's %.0f requests/s" % (w.n_pages,
                                                                 floors["wrk_small"]["rate"])
        if w.key == "E":
            w.floor_s = w.n_pages / floors["wrk_e"]["rate"]
            w.floor_note = "%d pages at wrk's %.0f requests/s (/e/ URLs)" % (
                w.n_pages, floors["wrk_e"]["rate"])

    wf = {}
    for w in workloads:
        if w.key[0] not in "CDE":
            continue
        if w.storage not in wf:
            wf[w.storage] = write_floor(out_roots[w.storage], site.small_sizes[:site.n_cd])
            floors["write_" + w.storage] = wf[w.storage]
            log("floor: creating %d files on %s takes %.2f s in one thread (%.0f µs/file)" % (
                site.n_cd, w.storage, wf[w.storage]["wall_s"], wf[w.storage]["per_file_us"]))
        scale = w.n_pages / site.n_cd
        w.write_floor = {"wall_s": wf[w.storage]["wall_s"] * scale,
                         "note": "%s%d files created and written by one Python thread on %s" % (
                             "~%d × " % scale if scale != 1 else "", site.n_cd, w.storage)}

    alog = os.path.join(tmp, "articles-access.log")
    results = {}  # workload key -> tool -> summary row
    raw = []
    seq = 0
    for w in workloads:
        log("== %s  (floor %s s: %s)" % (w.title, fmt(w.floor_s, 3), w.floor_note))
        rows = results.setdefault(w.key, {})
        expected = site.expected(w.list_key)
        plan = []
        for tool, _ in TOOLS:
            if args.quick and tool not in QUICK_TOOLS:
                continue
            if args.tools and tool not in args.tools:
                continue
            if tool in NEEDS and NEEDS[tool] not in found:
                rows[tool] = {"skipped": "%s is not installed" % NEEDS[tool]}
                continue
            cmd, why = tool_cmd(tool, w, site, lf, ca, "OUT")
            if cmd is None:
                if tool != "loopfetch_i":
                    rows[tool] = {"skipped": why}
                continue
            if w.key == "E" and tool != "loopfetch":  # project from C's rate on disk
                c = results.get("C-disk", {}).get(tool) or results.get("C-tmpfs", {}).get(tool)
                if c and c.get("ok") and c["pages_s"]:
                    projected = w.n_pages / c["pages_s"]
                    if projected > 0.8 * args.timeout:
                        rows[tool] = {"skipped": "projected %.0f s from its C rate, over the "
                                      "%.0f s limit" % (projected, args.timeout)}
                        continue
            plan.append(tool)
        repeats = args.repeat or (1 if args.quick else DEFAULT_REPEATS[w.key[0]])
        done_with = set()
        for rep in range(repeats):
            for tool in plan:
                if tool in done_with:
                    continue
                seq += 1
                out = os.path.join(out_roots[w.storage], "run-%d" % seq)
                os.makedirs(out)
                cmd, _ = tool_cmd(tool, w, site, lf, ca, out)
                os.sync()  # earlier runs' dirty pages are not written back during this one
                time.sleep(0.3)
                offset = os.path.getsize(alog) if os.path.exists(alog) else 0
                load = system_load()
                r = run_measured(cmd, args.timeout, os.path.join(tmp, "run-%d" % seq), env)
                v = verify(out, expected)
                r.update(workload=w.key, tool=tool, rep=rep, cmd=cmd, verify=v, dir=out,
                         storage=w.storage, load_before=load)
                if w.via_list_page:
                    port = w.base.rsplit(":", 1)[1]
                    r["access"] = access_log_stats(alog, offset, port, site.list_path)
                raw.append(r)
                state = "ok" if v["ok"] and r["exit"] == 0 and not r["timeout"] else (
                    "TIMEOUT" if r["timeout"] else "FAILED (exit %d; %s)" % (r["exit"], v["detail"]))
                log("  %-22s %7.2f s  cpu %6.2f s  rss %7.1f MB  %s" % (
                    LABEL[tool], r["wall_s"], r["cpu_s"], r["maxrss_mb"], state))
                if state != "ok" and r["stderr_tail"]:
                    log("      stderr: " + " | ".join(r["stderr_tail"][-3:]))
                drop_output(out, w.storage)
                if r["wall_s"] > 20 or tool == "req_seq" or state != "ok":
                    done_with.add(tool)  # long runs (or broken ones) once is enough
        for tool in plan:
            runs = [r for r in raw if r["workload"] == w.key and r["tool"] == tool]
            r = pick(runs)
            ok = r["verify"]["ok"] and r["exit"] == 0 and not r["timeout"]
            why = "" if ok else ("timeout after %.0f s" % args.timeout if r["timeout"] else
                                 "exit %d, %s" % (r["exit"], r["verify"]["detail"]))
            rows[tool] = {"ok": ok, "why": why, "wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                          "user_s": r["user_s"], "sys_s": r["sys_s"], "maxrss_mb": r["maxrss_mb"],
                          "timeout": r["timeout"], "pages_s": w.n_pages / r["wall_s"],
                          "access": r.get("access"), "runs": len(runs),
                          "walls": [x["wall_s"] for x in runs], "cmd": r["cmd"],
                          "loadavg1": [x["load_before"].get("loadavg1") for x in runs]}

    profile = None
    if args.profile and "C" in args.workloads:
        profile = run_profile(args, site, lf, tmp, out_roots)

    targets = evaluate(results, workloads, floors)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": {"nproc": os.cpu_count(), "kernel": platform.release(),
                 "machine": platform.machine(), "cpu": cpu_model(),
                 "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
                                 1)},
        "quick": args.quick, "repeat": args.repeat, "timeout_s": args.timeout,
        "versions": tool_versions(), "sanity": sane,
        "settings": {"article_delay_ms": ARTICLE_DELAY_MS, "list_delay_ms": LIST_DELAY_MS,
                     "d_delay_ms": D_DELAY_MS, "d_in_flight": D_IN_FLIGHT,
                     "small_pages": site.n_cd, "e_urls": site.n_e,
                     "curl_parallel_max": CURL_PARALLEL_MAX},
    }
    return {"meta": meta, "workloads": [
        {"key": w.key, "title": w.title, "pages": w.n_pages, "storage": w.storage,
         "floor_s": w.floor_s, "floor_note": w.floor_note, "write_floor": w.write_floor,
         "rows": results[w.key]}
        for w in workloads], "floors": floors, "targets": targets, "runs": raw,
        "profile": profile, "_workloads": workloads}


def git_state(binary):
    """The commit the sources are at when the binary is snapshotted, whether src/ differs from
    it, and whether any source file is newer than the binary (then it is not what HEAD says)."""
    try:
        newer = [os.path.relpath(os.path.join(d, f), REPO)
                 for top in ("lib", "src", "include") for d, _, fs in os.walk(os.path.join(REPO, top))
                 for f in fs if os.path.getmtime(os.path.join(d, f)) > os.path.getmtime(binary)]
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "lib", "src",
                                "include", "meson.build"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return {"head": head or None, "src_dirty": bool(dirty), "sources_newer_than_binary":
                newer}
    except (OSError, subprocess.TimeoutExpired):
        return None


def system_load():
    """1-minute load average and CPU pressure (share of time some task waited for a CPU):
    the machine may be shared, and this says how much."""
    out = {}
    try:
        with open("/proc/loadavg") as f:
            out["loadavg1"] = float(f.read().split()[0])
        with open("/proc/pressure/cpu") as f:
            m = re.search(r"some avg10=([\d.]+)", f.read())
            out["cpu_pressure_avg10"] = float(m.group(1)) if m else None
    except OSError:
        pass
    return out


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def run_profile(args, site, lf, tmp, out_roots):
    """loopfetch on C (tmpfs) under strace -c -f and under perf stat: where the time goes."""
    res = {}
    os.makedirs(args.out, exist_ok=True)
    for name, pre in [("strace", ["strace", "-f", "-c", "-o", os.path.join(args.out,
                                                                           "profile-strace-C.txt")]),
                      ("perf", ["perf", "stat", "-e", "task-clock,context-switches,cpu-migrations,"
                                "page-faults", "-o", os.path.join(args.out, "profile-perf-C.txt")])]:
        if not shutil.which(pre[0]):
            res[name] = "not installed"
            continue
        out = os.path.join(out_roots["tmpfs"], "profile-" + name)
        os.makedirs(out)
        r = run_measured(pre + [lf, "-o", out, "-i", site.files["c"]], args.timeout,
                         os.path.join(tmp, "profile-" + name))
        r["verify"] = verify(out, site.expected("c"))
        shutil.rmtree(out, ignore_errors=True)
        with open(pre[pre.index("-o") + 1]) as f:
            r["report"] = f.read()
        res[name] = r
        log("profile: %s %.2f s, %s" % (name, r["wall_s"], r["verify"]["detail"]))
    return res


def evaluate(results, workloads, floors):
    out = []
    wk = {w.key: w for w in workloads}

    def add(name, ok, detail, info=False):
        out.append({"target": name, "result": "INFO" if info else "N/A" if ok is None else (
            "PASS" if ok else "FAIL"), "detail": detail})

    def lf_of(key):
        r = results.get(key, {}).get("loopfetch")
        return r if r and r.get("ok") else None

    def peer(key, tool):
        r = results.get(key, {}).get(tool)
        return r if r and r.get("ok") else None

    def best_peer(key):
        rows = [(t, r) for t, r in results.get(key, {}).items()
                if t not in ("loopfetch", "loopfetch_i", "lc_floor") and r.get("ok")]
        return min(rows, key=lambda tr: tr[1]["wall_s"]) if rows else (None, None)

    def cmp(name, key, a, b, factor, what, fmtv=lambda v: "%.3f" % v):
        lf = lf_of(key)
        if lf is None:
            add(name, False if key in results else None,
                "loopfetch run failed" if key in results else "not run")
            return
        if b is None:
            add(name, None, "no successful comparison run")
            return
        add(name, a <= factor * b, "%s %s vs %.2f × %s = %s" % (what, fmtv(a), factor,
                                                              fmtv(b), fmtv(factor * b)))

    def yard(key, curl, field, what, note):
        """What libcurl alone spends or reaches on this workload, against curl -Z (INFO)."""
        y = peer(key, "lc_floor")
        if not (y and curl):
            return
        nd = 3 if field == "cpu_s" else 0
        add("%s: libcurl alone, %s (info)" % (key, what), None,
            "%s %s = %.2f × curl -Z's %s (%s; %d in flight, files written in its one thread)"
            % (what, fmt(y[field], nd), y[field] / curl[field], fmt(curl[field], nd), note,
               min(wk[key].in_flight or 300, CURL_PARALLEL_MAX)), info=True)

    if "A" in results:
        lf, w = lf_of("A"), wk["A"]
        curl = peer("A", "curl")
        bt, bp = best_peer("A")
        cmp("A: wall ≤ 1.05 × floor", "A", lf and lf["wall_s"], w.floor_s, 1.05,
            "wall s (floor %.3f s)" % w.floor_s)
        cmp("A: wall ≤ best peer", "A", lf and lf["wall_s"], bp and bp["wall_s"], 1.0,
            "wall s (best peer: %s)" % (LABEL.get(bt, "–")))
        cmp("A: CPU ≤ 0.8 × curl -Z", "A", lf and lf["cpu_s"], curl and curl["cpu_s"], 0.8,
            "CPU s")
        cmp("A: peak RSS ≤ 0.5 × curl -Z", "A", lf and lf["maxrss_mb"],
            curl and curl["maxrss_mb"], 0.5, "MB", lambda v: "%.1f" % v)
        yard("A", curl, "cpu_s", "CPU s", "URL list, no parse")
    for key in sorted(k for k in results if k[0] in "BF"):
        # Issue 16's targets, on each stream limit: wall ≤ the best of curl -Z and wget2 and
        # ≤ 1.1 × (slowest page + list page); CPU ≤ curl -Z's.
        lf, w = lf_of(key), wk[key]
        curl = peer(key, "curl")
        duo = [(t, peer(key, t)) for t in ("curl", "wget2") if peer(key, t)]
        bt, bp = min(duo, key=lambda tr: tr[1]["wall_s"]) if duo else (None, None)
        cmp("%s: wall ≤ best of curl -Z and wget2" % key, key, lf and lf["wall_s"],
            bp and bp["wall_s"], 1.0, "wall s (best: %s)" % LABEL.get(bt, "–"))
        cmp("%s: wall ≤ 1.1 × floor" % key, key, lf and lf["wall_s"], w.floor_s, 1.1,
            "wall s (floor %.3f s)" % w.floor_s)
        cmp("%s: CPU ≤ curl -Z" % key, key, lf and lf["cpu_s"], curl and curl["cpu_s"], 1.0,
            "CPU s")
        if lf and lf.get("access"):
            n = int(key.split("@")[1])
            add("%s: connections (info)" % key, None, "%d connections for %d articles at %d "
                "streams each (ceil = %d)" % (lf["access"]["connections"], w.n_pages, n,
                                               -(-w.n_pages // n)), info=True)
    for key, factor in (("C-tmpfs", 2.0), ("C-disk", 1.2)):
        if key not in results:
            continue
        lf, curl = lf_of(key), peer(key, "curl")
        name = "%s: pages/s ≥ %.1f × curl -Z" % (key, factor)
        if lf is None:
            add(name, False, "loopfetch run failed")
        elif curl is None:
            add(name, None, "no successful curl run")
        else:
            add(name, lf["pages_s"] >= factor * curl["pages_s"],
                "%.0f pages/s vs %.1f × %.0f = %.0f" % (lf["pages_s"], factor, curl["pages_s"],
                                                       factor * curl["pages_s"]))
        yard(key, curl, "pages_s", "pages/s", "no naming, manifest or limits")
        if lf and "wrk_small" in floors:
            rate = floors["wrk_small"]["rate"]
            add("%s: share of wrk's rate (info)" % key, None,
                "%.0f pages/s = %.0f %% of wrk's %.0f requests/s"
                % (lf["pages_s"], 100 * lf["pages_s"] / rate, rate), info=True)
    if "D" in results:
        lf, w = lf_of("D"), wk["D"]
        cmp("D: wall ≤ 1.2 × floor", "D", lf and lf["wall_s"], w.floor_s, 1.2,
            "wall s (floor %.3f s)" % w.floor_s)
    if "E" in results:
        lf = lf_of("E")
        ref_key = "C-disk" if lf_of("C-disk") else ("C-tmpfs" if lf_of("C-tmpfs") else None)
        ref = lf_of(ref_key) if ref_key else None
        cmp("E: peak RSS at %d URLs ≤ 1.5 × at %d (%s)" % (wk["E"].n_pages,
                                                            wk[ref_key].n_pages if ref_key else 0,
                                                            ref_key or "C not run"),
            "E", lf and lf["maxrss_mb"], ref and ref["maxrss_mb"], 1.5, "MB",
            lambda v: "%.1f" % v)
    return out


def render_only(args):
    with open(args.render) as f:
        result = json.load(f)
    ws = []
    for wd in result["workloads"]:
        w = Workload(wd["key"], wd["title"], None, wd["pages"], wd["storage"],
                     https=wd["key"][0] in "BF")
        w.floor_s, w.floor_note = wd["floor_s"], wd["floor_note"]
        w.write_floor = wd.get("write_floor")
        ws.append(w)
    result["_workloads"] = ws
    args.quick = result["meta"].get("quick", False)
    result["targets"] = evaluate({wd["key"]: wd["rows"] for wd in result["workloads"]}, ws,
                                 result["floors"])
    write_outputs(args, result, write_json=False)
    return 0


def write_outputs(args, result, write_json=True):
    workloads = result.pop("_workloads")
    os.makedirs(args.out, exist_ok=True)
    meta = result["meta"]
    h = meta["host"]
    md = ["# loopfetch vs peers (bench/bench_peers.py%s)" % (" --quick" if args.quick else ""), "",
          "%s · %s · nproc %d · kernel %s · %s GB RAM · %s · git %s%s" % (
              meta["date"], h["cpu"], h["nproc"], h["kernel"], h["mem_gb"],
              meta["loopfetch"]["version"], (meta.get("git") or {}).get("head"),
              " (src modified)" if (meta.get("git") or {}).get("src_dirty") else ""),
          "" if not (meta.get("git") or {}).get("sources_newer_than_binary") else
          "**Note: sources newer than the binary: %s**" % ", ".join(
              meta["git"]["sources_newer_than_binary"]),
          "", "Output storage: " + ", ".join("%s = %s (%s)" % (k, v["dir"], v["fs"])
                                              for k, v in meta["storage"].items()), ""]
    for w in workloads:
        wd = result["workloads"][[x["key"] for x in result["workloads"]].index(w.key)]
        md += ["## " + w.title, "", "Floor: %s s (%s)." % (fmt(w.floor_s, 3), w.floor_note)]
        if w.write_floor:
            md[-1] += " File-system floor: %s s (%s)." % (fmt(w.write_floor["wall_s"], 2),
                                                        w.write_floor["note"])
        loads = [x for r in wd["rows"].values() for x in r.get("loadavg1", []) if x is not None]
        reps = sorted({r["runs"] for r in wd["rows"].values() if "runs" in r})
        md += ["", table(w, wd["rows"]), "",
               "_Wall, CPU and RSS are those of the median-wall run of %s per tool (all runs in "
               "peers.json). 1-min load average before the runs: %s._" % (
                   "/".join(map(str, reps)) or "1",
                   "%.1f–%.1f" % (min(loads), max(loads)) if loads else "?"), ""]
    md += ["## Targets", ""] + ["- **%s** %s — %s" % (t["result"], t["target"], t["detail"])
                                for t in result["targets"]] + [""]
    text = "\n".join(md)
    print(text)
    with open(os.path.join(args.out, "peers.md"), "w") as f:
        f.write(text)
    if write_json:
        with open(os.path.join(args.out, "peers.json"), "w") as f:
            json.dump(result, f, indent=1, default=str)
    groups = []
    for wd in result["workloads"]:
        rows = wd["rows"]
        lf = rows.get("loopfetch")
        base = lf["wall_s"] if lf and lf.get("ok") else None
        bars = []
        for tool, _ in TOOLS:
            r = rows.get(tool)
            if r is None:
                continue
            if r.get("skipped"):
                bars.append((tool, None, "skipped"))
            else:
                bars.append((tool, ratio(r["wall_s"], base), "ok" if r["ok"] else
                             ("timeout" if r.get("timeout") else "failed")))
        label = wd["key"] + (" (lf %.2f s)" % base if base else "")
        groups.append((label, ratio(wd["floor_s"], base), bars))
    with open(os.path.join(args.out, "peers.svg"), "w") as f:
        f.write(svg_chart(groups, "loopfetch vs peers — %s, nproc %d%s" % (
            meta["date"][:10], h["nproc"], ", quick" if args.quick else "")))
    log("wrote %s/peers.{md,json,svg}" % args.out)


if __name__ == "__main__":
    sys.exit(main())
