#!/usr/bin/env python3
"""Unnamed file + linkat, or exclusive create + rename: which costs less kernel time per saved
page, on each file system here? (lib/engine/sink.c can do either; fetcher.c picks per output folder.)

    python3 bench/bench_create.py [--count 10000] [--size 10000] [--runs 9]
                                  [--dirs /var/tmp,/dev/shm] [--loopfetch build/loopfetch]

Builds bench/create/create_modes.c, then for each folder (each on its own file system) runs
both ways over COUNT pages of SIZE bytes into an empty subfolder, alternating the order run by
run so that load on the machine hits both alike; reports the median and the minimum of system
CPU seconds per way and their ratio. The minimum is the least disturbed run: on a shared
machine it is the better estimate of the cost itself.

Then the same question for loopfetch as a whole: COUNT pages of SIZE bytes from nginx
(bench_scale.py's catch-all server) into each folder, once as it is (it probes the folder and
uses O_TMPFILE where it can) and once with create_modes' sibling no_tmpfile.c preloaded (openat
with O_TMPFILE fails, so the probe falls back to temporary names): loopfetch's own system CPU
seconds (--json cpu_sys_s), alternating, median and minimum.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_scale import start_nginx, write_list  # noqa: E402
MODES = ["tmpfile", "rename"]


def fs_type(path):
    p = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    return p.stdout.strip() or "?"


def report(folder, res, ratio_label):
    """Rows of {way: [(sys s, wall s), ...]} (two ways), then the first over the second."""
    fs = fs_type(folder)
    for way, runs in res.items():
        s = [x[0] for x in runs]
        print(f"| {folder} | {fs} | {way} | {statistics.median(s):.3f} | {min(s):.3f} | "
              f"{statistics.median(x[1] for x in runs):.3f} |")
    t, n = ([x[0] for x in runs] for runs in res.values())
    print(f"| {folder} | {fs} | {ratio_label} | {statistics.median(t) / statistics.median(n):.2f} "
          f"| {min(t) / min(n):.2f} | |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--dirs", default="/var/tmp,/dev/shm")
    ap.add_argument("--loopfetch", default=os.path.join(os.path.dirname(HERE), "build", "loopfetch"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="lf-bench-create-")
    exe = os.path.join(tmp, "create_modes")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "create", "create_modes.c")],
                   check=True)
    print(f"{a.count} pages of {a.size} bytes, {a.runs} runs per way, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| folder | file system | way | sys s median | sys s min | wall s median |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    try:
        for base in a.dirs.split(","):
            if not os.path.isdir(base):
                print(f"| {base} | absent | | | | |")
                continue
            res = {m: [] for m in MODES}
            for r in range(a.runs):
                for m in (MODES if r % 2 == 0 else MODES[::-1]):
                    d = tempfile.mkdtemp(prefix="lf-create-", dir=base)
                    p = subprocess.run([exe, m, d, str(a.count), str(a.size)],
                                       capture_output=True, text=True)
                    shutil.rmtree(d)
                    if p.returncode != 0:
                        sys.exit(p.stderr)
                    _, _, sys_s, _, wall = p.stdout.split()
                    res[m].append((float(sys_s), float(wall)))
            report(base, res, "tmpfile / rename")
        if os.path.exists(a.loopfetch):
            whole_program(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def whole_program(a, tmp):
    shim = os.path.join(tmp, "no_tmpfile.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim,
                    os.path.join(HERE, "create", "no_tmpfile.c"), "-ldl"], check=True)
    srv_dir = os.path.join(tmp, "srv")
    os.makedirs(srv_dir)
    os.chmod(tmp, 0o755)
    os.chmod(srv_dir, 0o755)
    nginx, base = start_nginx(srv_dir, a.size)
    ways = {"loopfetch O_TMPFILE": {}, "loopfetch rename": {"LD_PRELOAD": shim}}
    try:
        lst = os.path.join(tmp, "list.txt")
        write_list(lst, base, a.count)
        print(f"\nloopfetch -i ({a.count} pages of {a.size} bytes from nginx), {a.runs} runs per way\n")
        print("| folder | file system | way | sys s median | sys s min | wall s median |")
        print("| --- | --- | --- | ---: | ---: | ---: |")
        for base_dir in a.dirs.split(","):
            if not os.path.isdir(base_dir):
                continue
            res = {w: [] for w in ways}
            for r in range(a.runs):
                for w in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
                    d = tempfile.mkdtemp(prefix="lf-create-", dir=base_dir)
                    p = subprocess.run([a.loopfetch, "-q", "--json", "-i", lst, "-o", d],
                                       capture_output=True, text=True,
                                       env=dict(os.environ, **ways[w]))
                    shutil.rmtree(d)
                    if p.returncode != 0:
                        sys.exit(f"{w}: exit {p.returncode}: {p.stderr[-300:]}")
                    js = json.loads(p.stdout)
                    res[w].append((js["cpu_sys_s"], js["wall_s"]))
            report(base_dir, res, "O_TMPFILE / rename")
    finally:
        nginx.terminate()
        nginx.wait()


if __name__ == "__main__":
    main()
