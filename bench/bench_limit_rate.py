#!/usr/bin/env python3
"""--limit-rate: does the whole job stay at the rate (issue 26, item 6: within 10 % over at
least 8 s)? One local nginx (Debian's, defaults but where to listen and what to serve) serves
three workloads, each run once under --limit-rate RATE; the achieved rate is body bytes / wall:

  greedy:  8 files of 8 MiB over plain HTTP/1.1, all at once (each could take the whole rate);
  mixed:   4 such files plus 4 from a location that nginx sends at 64 KiB/s each (limit_rate:
           slow servers), so the fast ones must take the rest of the rate;
  small:   400 pages of 64 KiB over HTTPS + HTTP/2 (libcurl looks at a transfer's cap only
           between reads, and over TLS reads up to 1.6 MB at once: the job's token bucket holds
           these to the rate).

Prints achieved MiB/s and achieved / RATE per workload.

    python3 bench/bench_limit_rate.py [--loopfetch build/loopfetch] [--rate 2M]
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CONF = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path {tmp}/tmp;
  server {{
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{tls} ssl http2;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    root {tmp}/www;
    location /slow/ {{ limit_rate 64k; }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_rate(s):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(s[-1].lower(), 1)
    return int(s[:-1] if mult > 1 else s) * mult


def write_file(path, size, seed):
    block = (seed.encode() * 4096)[:65536]
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopfetch", default="build/loopfetch")
    ap.add_argument("--rate", default="2M")
    a = ap.parse_args()
    rate = parse_rate(a.rate)
    tmp = tempfile.mkdtemp(prefix="lf-bench-rate-")
    www = os.path.join(tmp, "www")
    for d in ("www/fast", "www/slow", "www/small", "tmp"):
        os.makedirs(os.path.join(tmp, d))
    for i in range(8):
        write_file(f"{www}/fast/f{i}.bin", 8 << 20, f"f{i}")
    for i in range(4):
        write_file(f"{www}/slow/s{i}.bin", 1 << 20, f"s{i}")
    for i in range(400):
        write_file(f"{www}/small/p{i}.bin", 64 << 10, f"p{i}")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem"],
                   check=True, capture_output=True)
    for root, dirs, files in os.walk(tmp):
        os.chmod(root, 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    port, tls = free_port(), free_port()
    with open(f"{tmp}/nginx.conf", "w") as f:
        f.write(CONF.format(tmp=tmp, port=port, tls=tls))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    srv = subprocess.Popen([nginx, "-p", tmp, "-c", f"{tmp}/nginx.conf", "-e",
                            f"{tmp}/error.log", "-g", "daemon off;"])
    try:
        time.sleep(0.5)
        base, sbase = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls}"
        loads = {
            "greedy": [f"{base}/fast/f{i}.bin" for i in range(8)],
            "mixed": [f"{base}/fast/f{i}.bin" for i in range(4)] +
                     [f"{base}/slow/s{i}.bin" for i in range(4)],
            "small": [f"{sbase}/small/p{i}.bin" for i in range(400)],
        }
        print(f"--limit-rate {a.rate} ({rate / 1048576:.2f} MiB/s), loopfetch {a.loopfetch}")
        print(f"{'workload':8} {'MiB':>7} {'wall s':>7} {'MiB/s':>7} {'/ rate':>7}")
        for name, urls in loads.items():
            out = os.path.join(tmp, "out-" + name)
            t0 = time.monotonic()
            p = subprocess.run([a.loopfetch, "-q", "--limit-rate", a.rate, "--cacert",
                                f"{tmp}/cert.pem", "-i", "-", "-o", out],
                               input="".join(u + "\n" for u in urls), text=True,
                               capture_output=True)
            wall = time.monotonic() - t0
            if p.returncode != 0:
                print(f"{name}: exit {p.returncode}: {p.stderr[-300:]}", file=sys.stderr)
                continue
            got = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out)
                      if not n.startswith("loopfetch-manifest"))
            mibs = got / wall / 1048576
            print(f"{name:8} {got / 1048576:7.1f} {wall:7.2f} {mibs:7.3f} {mibs * 1048576 / rate:7.3f}")
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
