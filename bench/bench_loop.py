#!/usr/bin/env python3
"""Issue 2 benchmark: one loop overlapping every transfer vs one page after another.

    python3 bench/bench_loop.py [--loopfetch build/loopfetch] [--skip-sequential]

Starts the fixture server (tests/fixtures/server.py) with 100-400 ms of latency per article,
runs `loopfetch -c 1` and `loopfetch` (default concurrency) into fresh folders, each as a
child measured with os.wait4 (wall clock, user+sys CPU, peak RSS), checks the 233 saved
files, prints a Markdown table and writes bench/out/loop.json.

The "floor" is what no client can beat: the list page's fetch time plus the slowest
page's latency (all pages overlapped perfectly). wall/floor near 1 means the loop adds little.
"""

import argparse
import datetime
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "tests", "fixtures", "server.py")
_spec = importlib.util.spec_from_file_location("fixture_site", os.path.join(ROOT, "tests", "fixtures", "site.py"))
site = importlib.util.module_from_spec(_spec)  # not "import site": the stdlib owns that name
_spec.loader.exec_module(site)


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def get(url):
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=60) as r:
        return r.read()


def start_server(lo, hi):
    # --prewarm: every body and its gzip form exist before the ready line, so the first
    # measured run does not pay for content generation.
    proc = subprocess.Popen([sys.executable, SERVER, "--port", "0", "--prewarm",
                             "--latency-min", str(lo), "--latency-max", str(hi)],
                            stdout=subprocess.PIPE, env=clean_env())
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""
    if not line:
        proc.kill()
        sys.exit("fixture server did not start")
    return proc, json.loads(line)["base"]


def measure(cmd):
    """Runs cmd under GNU time; returns (exit code, wall s, user s, sys s, peak RSS MB, stderr).

    Not os.wait4 from here: Linux keeps the forking process's high-water RSS across exec, so
    a child of this Python process (holding every page body for verification) would report
    this process's memory. GNU time is small and forks the command itself."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-q", "-o", tf.name, "-f", "%U %S %M", *cmd],
                           stdout=subprocess.DEVNULL, stderr=err, env=clean_env())
        wall = time.monotonic() - t0
        user, sys_, rss_kb = tf.read().split()[-3:]
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return p.returncode, wall, float(user), float(sys_), int(rss_kb) / 1024, text


def verify(folder, links):
    """Problems with the saved pages (empty list: all 233 present and byte-equal)."""
    want = {site.expected_filename(u): u for u in links}
    have = set(os.listdir(folder)) - {"loopfetch-manifest.jsonl"}  # loopfetch's own record
    problems = ["missing %s" % n for n in sorted(set(want) - have)[:3]]
    problems += ["unexpected %s" % n for n in sorted(have - set(want))[:3]]
    for n in sorted(set(want) & have):
        with open(os.path.join(folder, n), "rb") as f:
            if f.read() != site.page_body(urllib.parse.urlsplit(want[n]).path):
                problems.append("differs: " + n)
    return problems, len(have)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(ROOT, "build", "loopfetch"))
    ap.add_argument("--skip-sequential", action="store_true", help="only the default mode (quick)")
    ap.add_argument("--latency-min", type=int, default=100, metavar="MS")
    ap.add_argument("--latency-max", type=int, default=400, metavar="MS")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "out", "loop.json"))
    args = ap.parse_args()
    if not os.access(args.loopfetch, os.X_OK):
        sys.exit("no loopfetch at %s (build it, or pass --loopfetch)" % args.loopfetch)

    proc, base = start_server(args.latency_min, args.latency_max)
    work = tempfile.mkdtemp(prefix="lf-bench-")
    runs, ok = [], True
    try:
        list_url = base + site.LIST_PATH
        links = site.expected_links(base)
        list_s = min(_timed_get(list_url) for _ in range(3))
        slowest_ms = max(site.page_latency(urllib.parse.urlsplit(u).path, args.latency_min,
                                           args.latency_max) for u in links)
        floor = list_s + slowest_ms / 1000
        modes = ([] if args.skip_sequential else [("-c 1", ["-c", "1"])]) + [("default", [])]
        for name, extra in modes:
            out = os.path.join(work, name.replace(" ", ""))
            get(base + "/__stats/reset")
            code, wall, user, sys_, rss, err = measure([args.loopfetch, *extra, "-o", out, list_url])
            stats = json.loads(get(base + "/__stats"))
            problems, nfiles = verify(out, links) if os.path.isdir(out) else (["no output folder"], 0)
            if code != 0 or problems:
                ok = False
                print("%s: exit %d, %s\n%s" % (name, code, "; ".join(problems[:6]), err[-1500:]),
                      file=sys.stderr)
            runs.append({"mode": name, "args": extra, "exit": code, "files": nfiles, "wall_s": wall,
                         "cpu_user_s": user, "cpu_sys_s": sys_, "cpu_s": user + sys_,
                         "peak_rss_mb": rss, "wall_over_floor": wall / floor,
                         "max_concurrent_connections": stats["max_concurrent_connections"],
                         "requests": stats["requests"], "summary": err.strip().splitlines()[-1:]})
            shutil.rmtree(out, ignore_errors=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    seq = next((r for r in runs if r["mode"] == "-c 1"), None)
    for r in runs:
        r["speedup"] = seq["wall_s"] / r["wall_s"] if seq else None
    print("| mode | wall s | CPU s | peak RSS MB | speedup vs -c 1 | max conns |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs:
        print("| %s | %.2f | %.2f | %.1f | %s | %d |" % (
            r["mode"], r["wall_s"], r["cpu_s"], r["peak_rss_mb"],
            "%.1fx" % r["speedup"] if r["speedup"] else "n/a", r["max_concurrent_connections"]))
    print("\nfloor: list page %.3f s + slowest page latency %d ms = %.3f s" % (list_s, slowest_ms, floor))
    for r in runs:
        print("%s: wall/floor = %.2f" % (r["mode"], r["wall_over_floor"]))

    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "loopfetch": os.path.abspath(args.loopfetch), "pages": len(links),
              "latency_ms": [args.latency_min, args.latency_max], "list_page_s": list_s,
              "slowest_page_ms": slowest_ms, "floor_s": floor, "ok": ok, "runs": runs}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print("\nwrote " + args.json)
    return 0 if ok else 1


def _timed_get(url):
    t0 = time.monotonic()
    get(url)
    return time.monotonic() - t0


if __name__ == "__main__":
    sys.exit(main())
