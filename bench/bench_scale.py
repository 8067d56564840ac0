#!/usr/bin/env python3
"""A million URLs: does loopfetch's memory stay flat and its time linear in the list's length?

    python3 bench/bench_scale.py [--loopfetch build/loopfetch] [--sizes 100000,1000000]
                                 [--concurrency 0,64] [--runs 1] [--dir /dev/shm]
                                 [--layout flat] [--curl]

nginx (Debian's nginx-light, defaults but for its port, root and a catch-all `try_files` that
answers every path with one 60-byte page) listens on 127.0.0.1; for each size N the list holds
http://127.0.0.1:PORT/p0 .. p(N-1), so N distinct URLs and N distinct file names. loopfetch
fetches them with `-i list -o DIR` (DIR on tmpfs, so the disk is not what is measured) and its
--json summary gives wall time and peak RSS (VmHWM). Each size runs once per --concurrency
value: 0 is the default in-flight window (it widens up to 512 while the loop idles, so its
memory depends on how far it widened, which depends on the machine's load), 64 a fixed -c 64
(the same transfers in flight at every size: what is left growing is per-URL memory). With --curl, curl -Z (--parallel-max 100,
a config file of url/output pairs) fetches the smallest size as a yardstick in the same run.

Prints one row per run and the ratios the README quotes: peak RSS at the largest size over
the smallest (target <= 1.5) and wall time over the size ratio (target <= 1.1 x linear).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NGINX_CONF = """
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ }}
http {{
  access_log off;
  server {{
    listen 127.0.0.1:{port};
    root {tmp}/www;
    location / {{ try_files /page.html =404; }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(tmp, size=0):
    """nginx answering every path with one page (60 bytes, or size bytes): (process, base)."""
    os.makedirs(os.path.join(tmp, "www"))
    with open(os.path.join(tmp, "www", "page.html"), "w") as f:
        body = "<!DOCTYPE html><title>p</title><p>one tiny page for all.</p>\n"
        f.write(body if size <= len(body) else body + "x" * (size - len(body) - 1) + "\n")
    port = free_port()
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=port))
    p = subprocess.Popen(["nginx", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"), "-e",
                          os.path.join(tmp, "error.log"), "-g", "daemon off;"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("nginx did not start: " + open(os.path.join(tmp, "error.log")).read()[-500:])


def write_list(path, base, n):
    with open(path, "w") as f:
        for i in range(0, n, 10000):
            f.write("".join(f"{base}/p{j}\n" for j in range(i, min(n, i + 10000))))


def count_files(d):
    n = 0
    for _, _, files in os.walk(d):
        n += len(files)
    return n


def run_loopfetch(exe, lst, out, n, layout, conc):
    args = [exe, "-q", "--json", "-i", lst, "-o", out] + (["-c", str(conc)] if conc else [])
    if layout != "flat":
        args += ["--layout", layout]
    t = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"loopfetch exit {p.returncode}: {p.stderr[-500:]}")
    js = json.loads(p.stdout)
    files = count_files(out) - 1  # the manifest
    if js["saved"] != n or files != n:
        sys.exit(f"loopfetch saved {js['saved']} pages, {files} files, of {n}")
    return {"tool": f"loopfetch -c {conc}" if conc else "loopfetch", "urls": n, "wall_s": wall,
            "rss_mb": js["peak_rss_kb"] / 1024, "cpu_s": js["cpu_s"],
            "in_flight": js["concurrency"]}


def run_curl(lst, out, n, tmp):
    cfg = os.path.join(tmp, "curl.cfg")
    os.makedirs(out)
    with open(lst) as src, open(cfg, "w") as f:
        for i, line in enumerate(src):
            f.write(f'url = "{line.strip()}"\noutput = "{out}/p{i}.html"\n')
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "curl", "-sS", "-Z",
                        "--parallel-max", "100", "-K", cfg], capture_output=True, text=True,
                       timeout=3600)
    wall = time.monotonic() - t
    rss_kb, user, sys_ = p.stderr.strip().splitlines()[-1].split()
    if p.returncode != 0 or count_files(out) != n:
        sys.exit(f"curl exit {p.returncode}: {p.stderr[-300:]}")
    return {"tool": "curl -Z", "urls": n, "wall_s": wall, "rss_mb": int(rss_kb) / 1024,
            "cpu_s": float(user) + float(sys_)}


LOAD0 = f"{os.getloadavg()[0]:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(ROOT, "build", "loopfetch"))
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--runs", type=int, default=1, help="runs per size; the median is kept")
    ap.add_argument("--concurrency", default="0,64", help="-c values, 0: the default window")
    ap.add_argument("--dir", default="/dev/shm", help="where lists and pages go (tmpfs)")
    ap.add_argument("--layout", default="flat", help="loopfetch --layout for every run")
    ap.add_argument("--curl", action="store_true", help="curl -Z on the smallest size too")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="lf-bench-scale-", dir=a.dir)
    os.chmod(tmp, 0o755)  # nginx's workers run as nobody
    nginx = None
    rows = []
    try:
        nginx, base = start_nginx(tmp)
        for n in sizes:
            lst = os.path.join(tmp, f"list-{n}.txt")
            write_list(lst, base, n)
            for conc in [int(c) for c in a.concurrency.split(",")]:
                runs = []
                for r in range(a.runs):
                    out = os.path.join(tmp, f"out-{n}-{r}")
                    runs.append(run_loopfetch(os.path.abspath(a.loopfetch), lst, out, n,
                                              a.layout, conc))
                    shutil.rmtree(out)
                    print(json.dumps(runs[-1]), flush=True)
                runs.sort(key=lambda x: x["wall_s"])
                rows.append(runs[len(runs) // 2])
            if a.curl and n == sizes[0]:
                out = os.path.join(tmp, f"curl-{n}")
                rows.append(run_curl(lst, out, n, tmp))
                shutil.rmtree(out)
                print(json.dumps(rows[-1]), flush=True)
            os.unlink(lst)
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average before: {LOAD0}, after: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print(f"\n| tool | URLs | in flight | wall s | pages/s | CPU s | peak RSS MB |\n| --- | ---: "
          "| ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['tool']} | {r['urls']:,} | {r.get('in_flight', 100)} | {r['wall_s']:.1f} "
              f"| {r['urls'] / r['wall_s']:,.0f} | {r['cpu_s']:.1f} | {r['rss_mb']:.1f} |")
    for tool in dict.fromkeys(r["tool"] for r in rows if r["tool"].startswith("loopfetch")):
        lf = [r for r in rows if r["tool"] == tool]
        if len(lf) < 2:
            continue
        lo, hi = lf[0], lf[-1]
        print(f"\n{tool}:")
        k = hi["urls"] / lo["urls"]
        rss, wall = hi["rss_mb"] / lo["rss_mb"], hi["wall_s"] / lo["wall_s"]
        print(f"\npeak RSS {hi['urls']:,} / {lo['urls']:,}: {rss:.2f} (target <= 1.5) "
              f"{'PASS' if rss <= 1.5 else 'FAIL'}")
        print(f"wall {hi['urls']:,} / {lo['urls']:,}: {wall:.2f} (target <= {1.1 * k:.0f}) "
              f"{'PASS' if wall <= 1.1 * k else 'FAIL'}")


if __name__ == "__main__":
    main()
