#!/usr/bin/python3
"""Issue 23's cost target: workload A with --warc-file against the same run without.

    /usr/bin/python3 bench/bench_warc.py [--loopfetch build-rel/loopfetch] [--runs 10]
        [--baseline OTHER_LOOPFETCH] [--cdx] [--floor bench_warc_floor]

Starts bench_peers.py's workload A (its Wikipedia-like site: the list page and 233 articles,
100-400 ms each, served by Debian's nginx at its defaults on 127.0.0.1; `bench_peers.py
--workloads A --serve`), then runs, alternating, each a child in its own process group measured
with os.wait4 (wall, user+sys CPU, peak RSS):

    loopfetch -q LIST_URL -o /dev/shm/.../o                                  (no WARC)
    loopfetch -q LIST_URL -o /dev/shm/.../o --warc-file /dev/shm/.../w       (WARC)
    [--baseline: the other binary with --warc-file, to compare two builds in the same run]

into fresh folders on tmpfs, checks every run (exit 0, 233 pages saved, and for WARC runs a
gzip file whose members all decompress, holding a response record for each article and the
list page), and prints the medians
and minima, the ratio WARC / no WARC of both (the target: median <= 1.3), the load average
before and after (an idle machine has < 0.5: the ratio is only the target's on one), and the
floor: the last WARC run's records compressed and digested alone (bench_warc_floor.c) against
the CPU the WARC added.
"""

import argparse
import gzip
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PAGES = 233  # the articles the list page links to (the list page itself is not saved)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def start_site(lf, seconds):
    """bench_peers.py --serve in its own process group; returns (proc, its JSON)."""
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "bench_peers.py"), "--loopfetch", lf,
                          "--workloads", "A", "--serve", str(seconds)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    text = ""
    for line in p.stdout:  # the JSON, then it serves until killed
        text += line
        if line.rstrip() == "}":
            break
    if not text:
        p.wait()
        raise RuntimeError("bench_peers.py --serve printed nothing (exit %s)" % p.returncode)
    return p, json.loads(text)


def stop_site(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)  # bench_peers cleans up nginx and its folders
        try:
            p.wait(timeout=300)  # its site is 10,000 files: minutes on a busy machine
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run(cmd, timeout):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            _, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.002)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode("utf-8", "replace")
    p.stderr.close()
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "exit": os.waitstatus_to_exitcode(status), "stderr": err[-500:]}


def check(res, out_dir, warc):
    """Why the run does not count, or None."""
    if res["exit"] != 0:
        return "exit %s: %s" % (res["exit"], res["stderr"].strip())
    saved = [n for n in os.listdir(out_dir) if not n.startswith("loopfetch-")]
    if len(saved) != PAGES:
        return "%d pages saved, not %d" % (len(saved), PAGES)
    if warc:
        path = warc + ".warc.gz"
        # Read in pieces: a bench process grown by the whole file would count in the next
        # child's peak RSS (it is forked from this one).
        key, n, tail = b"\r\nWARC-Type: response\r\n", 0, b""
        try:
            with gzip.open(path, "rb") as f:  # every member, each checked by its CRC
                while True:
                    piece = f.read(1 << 20)
                    if not piece:
                        break
                    buf = tail + piece
                    n += buf.count(key)
                    tail = buf[-(len(key) - 1):]
        except (OSError, EOFError) as e:
            return "%s: %s" % (path, e)
        if n < PAGES + 1:
            return "%s holds %d response records, not %d or more" % (path, n, PAGES + 1)
    return None


def measure_floor(tool, work):
    """The CPU of compressing and digesting the last WARC run's records alone, or None."""
    if not os.access(tool, os.X_OK):
        log("no %s: the floor is not measured" % tool)
        return None
    records = os.path.join(work, "records")
    with gzip.open(os.path.join(work, "last.warc.gz"), "rb") as f, open(records, "wb") as o:
        shutil.copyfileobj(f, o, 1 << 20)
    p = subprocess.run([tool, records], capture_output=True, text=True)
    os.unlink(records)
    if p.returncode != 0:
        log("%s failed: %s" % (tool, p.stderr.strip()))
        return None
    return json.loads(p.stdout)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(REPO, "build-rel", "loopfetch"))
    ap.add_argument("--baseline", help="another loopfetch, also run with --warc-file")
    ap.add_argument("--runs", type=int, default=10, help="runs of each kind (default 10)")
    ap.add_argument("--cdx", action="store_true", help="WARC runs also write --warc-cdx")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--floor", help="bench_warc_floor (default: bench/bench_warc_floor in the "
                    "build folder of --loopfetch)")
    a = ap.parse_args()
    if not a.floor:
        a.floor = os.path.join(os.path.dirname(os.path.abspath(a.loopfetch)), "bench",
                               "bench_warc_floor")
    for lf in [a.loopfetch] + ([a.baseline] if a.baseline else []):
        if not os.access(lf, os.X_OK):
            log("no loopfetch at %s (meson setup build-rel --buildtype=release)" % lf)
            return 2
    site, info = start_site(a.loopfetch, 3600)
    work = tempfile.mkdtemp(prefix="lf-bench-warc-", dir="/dev/shm")
    kinds = [("no WARC", a.loopfetch, False), ("WARC", a.loopfetch, True)]
    if a.baseline:
        kinds.append(("WARC, baseline", a.baseline, True))
    results = {k[0]: [] for k in kinds}
    try:
        url = info["http"] + info["list_page"]
        log("site: %s; loopfetch %s; load average %s" % (url, a.loopfetch, loadavg()))
        load_before = loadavg()
        for i in range(a.runs):
            for name, lf, warc in kinds:
                d = os.path.join(work, "r")
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                out, w = os.path.join(d, "o"), os.path.join(d, "w")
                cmd = [lf, "-q", url, "-o", out]
                if warc:
                    cmd += ["--warc-file", w] + (["--warc-cdx"] if a.cdx else [])
                res = run(cmd, a.timeout)
                why = check(res, out, w if warc else None)
                if why:
                    log("run %d, %s: FAILED: %s" % (i + 1, name, why))
                    return 1
                results[name].append(res)
                if warc and lf == a.loopfetch:  # the floor is measured on these records
                    os.replace(w + ".warc.gz", os.path.join(work, "last.warc.gz"))
                log("run %d, %-15s wall %.3f s  CPU %.3f s  RSS %.1f MB" % (
                    i + 1, name, res["wall"], res["cpu"], res["rss_mb"]))
        load_after = loadavg()
        floor = measure_floor(a.floor, work)
    finally:
        stop_site(site)
        shutil.rmtree(work, ignore_errors=True)

    def med(name, key):
        return statistics.median(r[key] for r in results[name])

    def low(name, key):
        return min(r[key] for r in results[name])

    print("workload A (%d pages), %d runs each, alternating; load average before %s, after %s"
          % (PAGES, a.runs, load_before, load_after))
    print("| run | wall median s | wall min s | CPU median s | peak RSS median MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, _, _ in kinds:
        print("| %s | %.3f | %.3f | %.3f | %.1f |" % (name, med(name, "wall"), low(name, "wall"),
                                                     med(name, "cpu"), med(name, "rss_mb")))
    for name, _, warc in kinds:
        if warc:
            print("%s / no WARC: wall median %.2f x (target <= 1.3), wall min %.2f x, "
                  "CPU median +%.3f s" % (name, med(name, "wall") / med("no WARC", "wall"),
                                           low(name, "wall") / low("no WARC", "wall"),
                                           med(name, "cpu") - med("no WARC", "cpu")))
    if floor:
        f = sum(floor[k] for k in ("isal1_s", "sha1_twice_s", "crc_s"))
        extra = med("WARC", "cpu") - med("no WARC", "cpu")
        print("floor, the %.1f MB of records alone in one thread: igzip level 1 %.3f s (%.1f MB), "
              "SHA-1 twice %.3f s, CRC %.3f s: %.3f s (zlib level 1 alone: %.3f s); the WARC's "
              "CPU over no WARC, +%.3f s, is %.2f x the floor"
              % (floor["bytes"] / 1e6, floor["isal1_s"], floor["isal1_bytes"] / 1e6,
                 floor["sha1_twice_s"], floor["crc_s"], f, floor["zlib1_s"], extra, extra / f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
