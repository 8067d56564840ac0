#!/usr/bin/env python3
"""--split N against one stream and against aria2c (issue 26, item 5).

Splitting a file into ranges on several connections pays off where each connection is capped:
a server or a path in between that limits every connection (or request) to some rate, so that
one stream cannot go faster whatever the line could do. That per-connection cap is the case
splitting exists for, and the case measured here: Debian's nginx at its defaults but for one
setting, `limit_rate RATE` (per request; default 8m: 8 MiB/s), serves files of 64 MiB to
1 GiB over plain HTTP/1.1 on 127.0.0.1. Without such a cap, one stream over loopback is as
fast as the disk, and splitting buys nothing. nginx lets every request run up to one second
ahead of its limit_rate (its write filter allows rate x (seconds since the start + 1)), so a
range of RATE bytes or less is not capped at all; with 8m, the 8 ranges of the 64 MiB file are
such ranges, and the 1 GiB file is the one whose ratio is mostly the cap's.

For each file, in one run against the same server, one after the other:
  one      loopfetch, one stream (--split 1)
  split    loopfetch --split N (default 8)
  aria2c   aria2c -s N -x N -k 1M (Debian's aria2; -k 1M: aria2c splits only files of twice
           its --min-split-size, 20M by default, where loopfetch's ranges are at least 1 MiB;
           --file-allocation=none: loopfetch does not preallocate either)
Every output is checked against the served file (sha256). Prints wall seconds, peak RSS of
loopfetch, and the ratios the issue asks for: one / split (target >= 6) and split / aria2c
(target <= 1.1).

    python3 bench/bench_split.py [--loopfetch build/loopfetch] [--sizes 64M,256M,1G]
                                 [--rate 8m] [--split 8]

Needs nginx (nginx-light) and aria2c (aria2), both installed by scripts/deps.sh.
"""

import argparse
import hashlib
import os
import resource
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
    root {tmp}/www;
    limit_rate {rate};
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_size(s):
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(s[-1].lower(), 1)
    return int(s[:-1] if mult > 1 else s) * mult


def write_file(path, size):
    """size bytes in which every 1 MiB block differs (a misplaced range shows in the sha256)."""
    block = os.urandom(1 << 20)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size >> 20):
            b = i.to_bytes(8, "little") + block[8:]
            f.write(b)
            h.update(b)
    return h.hexdigest()


def sha_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def timed(cmd, stdin=None):
    """Wall seconds, exit status, peak RSS (KiB) and stderr of one command."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    p.stdin.write(stdin or "")
    p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read()
    p.stderr.close()
    return wall, os.waitstatus_to_exitcode(status), ru.ru_maxrss, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopfetch", default="build/loopfetch")
    ap.add_argument("--sizes", default="64M,256M,1G")
    ap.add_argument("--rate", default="8m", help="nginx limit_rate (per request)")
    ap.add_argument("--split", type=int, default=8)
    a = ap.parse_args()
    aria2c = shutil.which("aria2c")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not aria2c or not os.path.exists(nginx):
        sys.exit("needs aria2c (apt-get install aria2) and nginx (nginx-light): scripts/deps.sh")
    tmp = tempfile.mkdtemp(prefix="lf-bench-split-")
    os.makedirs(f"{tmp}/www")
    os.makedirs(f"{tmp}/tmp")
    sizes = [parse_size(s) for s in a.sizes.split(",")]
    sums = {}
    for size in sizes:
        sums[size] = write_file(f"{tmp}/www/f{size >> 20}.bin", size)
    for root, dirs, files in os.walk(tmp):  # nginx's worker may run as nobody
        os.chmod(root, 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    port = free_port()
    with open(f"{tmp}/nginx.conf", "w") as f:
        f.write(CONF.format(tmp=tmp, port=port, rate=a.rate))
    srv = subprocess.Popen([nginx, "-p", tmp, "-c", f"{tmp}/nginx.conf", "-e",
                            f"{tmp}/error.log", "-g", "daemon off;"])
    n = a.split
    try:
        time.sleep(0.5)
        lfv = subprocess.run([a.loopfetch, "-V"], capture_output=True, text=True).stdout
        arv = subprocess.run([aria2c, "-v"], capture_output=True, text=True).stdout
        print(f"nginx limit_rate {a.rate} per request; {lfv.splitlines()[0]}; "
              f"{arv.splitlines()[0]}; load average {os.getloadavg()[0]:.1f}")
        print(f"{'file':>8} {'one s':>8} {'split s':>8} {'aria2c s':>8} {'RSS MiB':>8} "
              f"{'one/split':>9} {'split/aria2c':>12}")
        for size in sizes:
            name = f"f{size >> 20}.bin"
            url = f"http://127.0.0.1:{port}/{name}"
            res, rss = {}, 0
            out = {tool: f"{tmp}/{tool}" for tool in ("one", "split", "aria2c")}
            lf = [a.loopfetch, "-q", "--max-size", "4G", "-i", "-"]  # -i: the URL is a page
            runs = {
                "one": (lf + ["-o", out["one"]], url + "\n"),
                "split": (lf + ["--split", str(n), "-o", out["split"]], url + "\n"),
                "aria2c": ([aria2c, "--no-conf=true", "-q", "-s", str(n), "-x", str(n), "-k", "1M",
                            "--file-allocation=none", "--allow-overwrite=true",
                            "--auto-file-renaming=false", "-d", out["aria2c"], "-o", name, url],
                           None),
            }
            for tool, (cmd, stdin) in runs.items():
                shutil.rmtree(out[tool], ignore_errors=True)
                wall, rc, maxrss, err = timed(cmd, stdin)
                got = os.path.join(out[tool], name)
                if rc != 0 or not os.path.exists(got) or sha_of(got) != sums[size]:
                    sys.exit(f"{tool} {name}: exit {rc}, output differs or is missing: {err[-400:]}")
                res[tool] = wall
                if tool == "split":
                    rss = maxrss
                shutil.rmtree(out[tool], ignore_errors=True)
            print(f"{size >> 20:>5}MiB {res['one']:8.2f} {res['split']:8.2f} {res['aria2c']:8.2f} "
                  f"{rss / 1024:8.1f} {res['one'] / res['split']:9.2f} "
                  f"{res['split'] / res['aria2c']:12.3f}", flush=True)
    finally:
        srv.terminate()
        srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
