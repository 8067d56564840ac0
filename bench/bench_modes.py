#!/usr/bin/env python3
"""Single loop against worker processes, on two workloads, in one run (issue 3's benchmark).

  latency-bound: the reference job, 233 pages of 20 KB-1 MB, each delayed 100-400 ms, from the
                 fixture server (HTTP/1.1);
  CPU-bound:     N small pages (~9 KB, no delay) over HTTPS + HTTP/2 from a local nginx with a
                 self-signed certificate: TLS, HTTP/2 framing and file writes on the client.

Each workload runs `loopfetch --compare --json -p P`, which measures sequential (-c 1), one
loop, and P worker processes, each into a fresh folder. Prints one table per workload and the
ratio procs/loop. Then, because --compare cannot tell whose CPU the server spent, it runs the
loop and the P processes again as separate invocations (--runs times each, alternating, medians)
and reads the server's CPU (utime + stime of the server process and its children, from /proc)
before and after each: the second table per workload gives client CPU, server CPU, and machine
utilisation = (client + server CPU) / (wall x cores). Near 100 % means the client and the server
together already use every core, and no number of client processes can go faster.
Writes bench/out/modes.json.

    python3 bench/bench_modes.py [--loopfetch build/loopfetch] [--small 5000] [--procs 2]
                                 [--runs 3] [--nginx-workers 1]

Needs Debian's nginx-light (or nginx) and openssl. Everything listens on 127.0.0.1 only.
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
SERVER = os.path.join(ROOT, "tests", "fixtures", "server.py")
LIST = "/wiki/List_of_countries_by_population_(United_Nations)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fixture():
    p = subprocess.Popen([sys.executable, SERVER, "--port", "0", "--prewarm", "--latency-min",
                          "100", "--latency-max", "400"], stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())["base"]


NGINX_CONF = """
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  http2_max_concurrent_streams 512;
  default_type text/html;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    root {tmp}/www;
  }}
}}
"""


def start_nginx(tmp, count, workers=1):
    """nginx serving `count` files of ~9 KB over HTTPS/HTTP2; returns (process, URLs, CA)."""
    www = os.path.join(tmp, "www", "small")
    os.makedirs(www)
    for i in range(count):
        with open(os.path.join(www, f"p{i}.html"), "w") as f:
            f.write(f"<!DOCTYPE html><title>p{i}</title><p>" + (f"page {i} " * 1100)[:9000])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem"],
                   check=True, capture_output=True)
    port = free_port()
    with open(f"{tmp}/nginx.conf", "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=port, workers=workers))
    p = subprocess.Popen(["nginx", "-p", tmp, "-c", f"{tmp}/nginx.conf", "-e",
                          f"{tmp}/error.log", "-g", "daemon off;"], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    urls = [f"https://127.0.0.1:{port}/small/p{i}.html" for i in range(count)]
    return p, urls, f"{tmp}/cert.pem"


def compare(exe, procs, out, *job):
    p = subprocess.run([exe, "--compare", "--json", "-p", str(procs), "-o", out, *job],
                       capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        sys.exit(f"loopfetch --compare failed ({p.returncode}): {p.stderr[-500:]}")
    rows = json.loads(p.stdout)["runs"]  # each run's own --json object, with speedup, cpu_pct
    for r in rows:  # the table's memory is the run's and its workers'
        r["peak_rss_kb"] += r.get("peak_rss_children_kb", 0)
    return rows


TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds (user + system) used so far by pid and its live children (nginx's workers,
    which run as long as the master: their counters cover every run)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(c) for c in f.read().split()]
    except OSError:
        pass
    total = 0.0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
    return total


def busy_cpu():
    """CPU seconds every process on the machine has used (from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / TICK


def run_one(exe, procs, out, server_pid, *job):
    """One run of one mode: loopfetch's own --json, plus the server's CPU meanwhile."""
    args = [exe, "--json", "-q", "--force", "-o", out, *job]
    if procs:
        args += ["-p", str(procs)]
    s0, b0, t0 = tree_cpu(server_pid), busy_cpu(), time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    t1, b1, s1 = time.monotonic(), busy_cpu(), tree_cpu(server_pid)
    # Kept until the end: on ext4, creating thousands of files right after deleting thousands
    # in the same file system costs the kernel ~1 ms each (recently_deleted inode scans).
    if p.returncode != 0:
        sys.exit(f"loopfetch failed ({p.returncode}): {p.stderr[-500:]}")
    r = json.loads(p.stdout)
    cores = os.cpu_count() or 1
    r["server_cpu_s"] = s1 - s0
    r["run_s"] = t1 - t0  # the process's whole life, start-up included
    r["utilisation"] = (r["cpu_s"] + r["server_cpu_s"]) / (r["run_s"] * cores)
    r["machine_busy"] = (b1 - b0) / (r["run_s"] * cores)  # everyone's, other benchmarks too
    return r


def cpu_split(exe, procs, runs, out, server_pid, *job):
    """Loop and procs, alternating, `runs` times each; the median run of each by wall time."""
    got = {"loop": [], "procs": []}
    for i in range(runs):
        got["loop"].append(run_one(exe, 0, f"{out}-loop{i}", server_pid, *job))
        got["procs"].append(run_one(exe, procs, f"{out}-procs{i}", server_pid, *job))
    rows = []
    for mode, rs in got.items():
        rs.sort(key=lambda r: r["wall_s"])
        med = dict(rs[len(rs) // 2])
        for k in ("cpu_s", "server_cpu_s", "utilisation", "machine_busy"):
            med[k] = sorted(r[k] for r in rs)[len(rs) // 2]
        med["walls"] = [round(r["wall_s"], 3) for r in rs]
        rows.append(med)
    return rows


def mode_label(r):
    return r["mode"] + (f" ({r['procs']})" if r["mode"] == "procs" else "")


def cpu_table(rows, runs):
    cores = os.cpu_count() or 1
    print(f"\nwhere the CPU goes (separate runs, median of {runs}; utilisation = (client + "
          f"server CPU) / (wall x {cores} cores); machine = every process's CPU, others' too):\n")
    print("| mode | wall s | client CPU s | server CPU s | total CPU s | utilisation | machine |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {mode_label(r)} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['server_cpu_s']:.2f} | "
              f"{r['cpu_s'] + r['server_cpu_s']:.2f} | {100 * r['utilisation']:.0f}% | "
              f"{100 * r['machine_busy']:.0f}% |")
    loop = rows[0]
    need = loop["cpu_s"] + loop["server_cpu_s"]
    print(f"\nbound: the loop's client + server work ({need:.2f} CPU s) on {cores} cores takes at "
          f"least {need / cores:.2f} s, so no mode can be more than "
          f"{loop['wall_s'] * cores / need:.2f}x the loop here "
          f"(and only if it added no CPU of its own)")


def table(title, rows):
    print(f"\n### {title}\n")
    print("| mode | wall s | speedup vs -c 1 | CPU s | CPU % | peak RSS MB | pages | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {mode_label(r)} | {r['wall_s']:.2f} | {r['speedup']:.1f}x | {r['cpu_s']:.2f} | "
              f"{r['cpu_pct']:.0f}% | {r['peak_rss_kb'] / 1024:.1f} | {r['pages']} | "
              f"{r['failed']} |")
    loop, procs = rows[1], rows[2]
    ratio = loop["wall_s"] / procs["wall_s"]
    print(f"\nprocs {procs['procs']} vs one loop: {ratio:.2f}x faster")
    return ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(ROOT, "build", "loopfetch"))
    ap.add_argument("--small", type=int, default=5000, help="pages in the CPU-bound workload")
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--runs", type=int, default=3,
                    help="separate runs per mode for the server-CPU table (0: skip it)")
    ap.add_argument("--nginx-workers", default="1", help="nginx worker_processes (1, 2, auto)")
    a = ap.parse_args()
    exe = os.path.abspath(a.loopfetch)
    tmp = tempfile.mkdtemp(prefix="lf-modes-bench-")
    os.chmod(tmp, 0o755)  # nginx's workers run as nobody and must read the site
    fixture = nginx = None
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "nproc": os.cpu_count(),
              "kernel": os.uname().release, "procs": a.procs}
    try:
        fixture, base = start_fixture()
        rows = compare(exe, a.procs, f"{tmp}/latency", base + LIST)
        result["latency_bound"] = rows
        result["latency_ratio"] = table("latency-bound: 233 pages, 100-400 ms each, HTTP/1.1",
                                        rows)
        if a.runs:
            rows = cpu_split(exe, a.procs, a.runs, f"{tmp}/latency-split", fixture.pid,
                             base + LIST)
            result["latency_bound_cpu"] = rows
            cpu_table(rows, a.runs)
        nginx, urls, ca = start_nginx(tmp, a.small, a.nginx_workers)
        result["nginx_workers"] = a.nginx_workers
        with open(f"{tmp}/small.txt", "w") as f:
            f.write("\n".join(urls) + "\n")
        rows = compare(exe, a.procs, f"{tmp}/cpu", "--cacert", ca, "-i", f"{tmp}/small.txt")
        result["cpu_bound"] = rows
        result["cpu_ratio"] = table(f"CPU-bound: {a.small} pages of 9 KB, HTTPS + HTTP/2, no "
                                    f"delay (nginx worker_processes {a.nginx_workers})", rows)
        if a.runs:
            rows = cpu_split(exe, a.procs, a.runs, f"{tmp}/cpu-split", nginx.pid, "--cacert",
                             ca, "-i", f"{tmp}/small.txt")
            result["cpu_bound_cpu"] = rows
            cpu_table(rows, a.runs)
        print(f"\nexpectation on 2 cores: procs >= 1.7x one loop on CPU-bound "
              f"({'PASS' if result['cpu_ratio'] >= 1.7 else 'FAIL'}: {result['cpu_ratio']:.2f}x)"
              f"; no slowdown on latency-bound ("
              f"{'PASS' if result['latency_ratio'] >= 0.95 else 'FAIL'}: "
              f"{result['latency_ratio']:.2f}x)")
        os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "out", "modes.json"), "w") as f:
            json.dump(result, f, indent=1)
    finally:
        for p in (fixture, nginx):
            if p:
                p.terminate()
                p.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
