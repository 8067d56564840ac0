#!/usr/bin/env python3
"""Issue 22 benchmark: one slowly paced host does not slow the others down.

    python3 bench/bench_polite.py [--loopfetch build/loopfetch] [--runs 3] [--delay 2]

Five fixture servers (tests/fixtures/server.py, at their defaults, 20-60 ms of latency per
page) on 127.0.0.1 .. 127.0.0.5: the first serves a robots.txt with `Crawl-delay: DELAY` and
5 pages (so loopfetch paces it: 5 starts DELAY s apart), the other four 250 pages each (1,000
URLs, no robots.txt, not paced). A list page on 127.0.0.6 links them. Two runs, each RUNS
times, alternating:
  A  the list of the 1,000 other-host URLs only;
  B  the same 1,000 plus the paced host's 5, interleaved at the front.
For each run the time at which the last of the 1,000 other-host pages was complete comes from
loopfetch's own manifest (start + total, on the job's clock); the medians of A and B and
their ratio are printed (1.00 = the paced host cost the others nothing), with B's whole wall
time (at least 4 x DELAY: the paced host's pages, spaced). Writes bench/out/polite.json.
"""

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "tests", "fixtures", "server.py")


def start_fixture(host, *extra):
    p = subprocess.Popen([sys.executable, SERVER, "--host", host, "--port", "0",
                          "--latency-min", "20", "--latency-max", "60", *extra],
                         stdout=subprocess.PIPE, text=True)
    return p, json.loads(p.stdout.readline())["base"]


def list_server(pages):
    """127.0.0.6 serves /a and /b: list pages linking the given URLs."""
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            urls = pages.get(self.path)
            if urls is None:
                self.send_error(404)
                return
            rows = "".join('<tr><td><span class="flagicon"></span> <a href="%s">x</a></td></tr>'
                           % u for u in urls)
            body = ("<html><body><table>%s</table></body></html>" % rows).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    s = http.server.ThreadingHTTPServer(("127.0.0.6", 0), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s, "http://127.0.0.6:%d" % s.server_address[1]


def run(exe, url, out, others_prefixes):
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    p = subprocess.run([exe, "-q", "--json", "-o", out, url], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")})
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("loopfetch exit %d: %s" % (p.returncode, p.stderr[-500:]))
    ends = []
    with open(os.path.join(out, "loopfetch-manifest.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r["status"] != "saved":
                sys.exit("not saved: %s" % line)
            if r["url"].startswith(others_prefixes):
                ends.append(r["start"] + r["total"])
    return max(ends), wall, len(ends)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(ROOT, "build", "loopfetch"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--delay", type=float, default=2.0)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="lf-bench-polite-")
    robots = os.path.join(tmp, "robots.txt")
    with open(robots, "w") as f:
        f.write("User-agent: *\nCrawl-delay: %g\n" % a.delay)
    procs = []
    try:
        p, paced = start_fixture("127.0.0.1", "--robots", robots)
        procs.append(p)
        bases = []
        for i in range(2, 6):
            p, b = start_fixture("127.0.0.%d" % i)
            procs.append(p)
            bases.append(b)
        others = ["%s/small/p%d-%d" % (b, i, j) for j in range(250) for i, b in enumerate(bases)]
        slow = ["%s/small/slow%d" % (paced, j) for j in range(5)]
        mixed = [u for pair in zip(slow, others) for u in pair] + others[len(slow):]
        srv, lbase = list_server({"/a": others, "/b": mixed})
        results = {"A": [], "B": []}
        for r in range(a.runs):
            for name in ("A", "B"):
                end, wall, n = run(a.loopfetch, lbase + "/" + name.lower(), os.path.join(tmp, name),
                                   tuple(bases))
                assert n == 1000, n
                results[name].append((end, wall))
        med = {k: statistics.median(e for e, _ in v) for k, v in results.items()}
        wall_b = statistics.median(w for _, w in results["B"])
        print("| run | 1,000 other-host pages done (median of %d) | whole run |" % a.runs)
        print("|---|---:|---:|")
        print("| A: others only | %.3f s | %.3f s |" % (med["A"], statistics.median(w for _, w in results["A"])))
        print("| B: + 5 pages paced at Crawl-delay %g s | %.3f s | %.3f s |" % (a.delay, med["B"], wall_b))
        print("B / A (others' completion): %.2f" % (med["B"] / med["A"]))
        os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "out", "polite.json"), "w") as f:
            json.dump({"runs": results, "median_done_s": med, "ratio": med["B"] / med["A"],
                       "crawl_delay": a.delay, "wall_b_s": wall_b}, f, indent=1)
        srv.shutdown()
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
