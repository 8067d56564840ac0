#!/usr/bin/env python3
"""Peak RSS of a crawl that extracts, against the number of pages it crawls (issue 21, item 5:
"memory: peak RSS O(in-flight pages), not O(pages crawled)").

    meson compile -C build && python3 bench/bench_crawl_memory.py [--sizes 1000,4000,16000]

The site (generated, served as static files by Debian's nginx at its defaults on 127.0.0.1):
for each size N, a chain of list pages /lN/1.html, /lN/2.html, ... of 100 item links each,
each linking the next with `a.next`; item pages /item/K.html of ~4 kB (a title, an h1, a few
paragraphs), shared by the chains. The job, with a fixed in-flight limit (-c, default 16):

    loopfetch -q -c 16 --next a.next -f a.item -e name=h1 -e title=title -e para=p \\
        -e link=p a::url(href) --records FILE http://127.0.0.1:PORT/lN/1.html

one loop and -p 2, each size once (--runs for more; the lowest peak is kept); --concurrency
16,128 adds rows at another in-flight limit, where the peak should move with -c, not with N. Every run's
records are checked (N of them, each with its name). Peak RSS is GNU time's %M (wait4's
ru_maxrss: the largest process; with -p 2 the parent or a worker), measured from a small
process (a child's ru_maxrss starts at the RSS of the process it was forked from, so it is
not taken from this script). The crawl must hold its in-flight pages, and the URLs it has
seen (the dedup set, the navigation level's links until they are merged, the records'
parents: O(URLs), which the issue accepts): the script prints the growth from the smallest
size to the largest in bytes per URL, which is that cost, and flags anything above
--max-per-url bytes (default 400) as growing with the pages crawled.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_crawl  # noqa: E402  (nginx at its defaults, the records check)

PER_LIST = 100
WORDS = ("loop fetch crawl page item record field value network parser select extract "
         "memory flight window level chain dedup").split()


def item_page(k):
    words = " ".join(WORDS[(k + i) % len(WORDS)] for i in range(90))
    paras = "".join("<p>Paragraph %d of item %d: %s <a href=\"/item/%d.html#s\">next</a>.</p>\n"
                    % (i, k, words, (k + i) % 50000) for i in range(6))
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Item %d</title></head>"
            "<body><div class=\"nav\"><a href=\"/\">home</a></div><h1>Item <b>%d</b></h1>\n%s"
            "</body></html>\n" % (k, k, paras)).encode()


def list_page(size, n, pages):
    first = (n - 1) * PER_LIST
    links = "".join("<li><a class=\"item\" href=\"/item/%d.html\">item %d</a></li>\n" % (k, k)
                    for k in range(first, min(first + PER_LIST, size)))
    nxt = "<a class=\"next\" href=\"/l%d/%d.html\">next</a>" % (size, n + 1) if n < pages else ""
    return ("<!DOCTYPE html><html><head><title>List %d of %d</title></head><body><ul>\n%s</ul>%s"
            "</body></html>\n" % (n, pages, links, nxt)).encode()


def make_site(tmp, sizes):
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "item"))
    item_bytes = 0
    for k in range(max(sizes)):
        body = item_page(k)
        item_bytes += len(body)
        with open(os.path.join(root, "item", "%d.html" % k), "wb") as f:
            f.write(body)
    for size in sizes:
        d = os.path.join(root, "l%d" % size)
        os.makedirs(d)
        pages = (size + PER_LIST - 1) // PER_LIST
        for n in range(1, pages + 1):
            with open(os.path.join(d, "%d.html" % n), "wb") as f:
                f.write(list_page(size, n, pages))
    return root, item_bytes / max(sizes)


def run(cmd, cwd):
    """Wall, CPU seconds and peak RSS (kB) of cmd, from GNU time (-f '%e %U %S %M')."""
    stats = os.path.join(cwd, "time.txt")
    p = subprocess.run(["/usr/bin/time", "-o", stats, "-f", "%e %U %S %M", *cmd], cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                   p.stderr.decode()[-2000:]))
    with open(stats) as f:
        wall, user, sys_, rss = f.read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss)


def label(c, n):
    return "-c %d, %s" % (c, "one loop" if n == 1 else "-p %d" % n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(ROOT, "build", "loopfetch"))
    ap.add_argument("--sizes", default="1000,4000,16000")
    ap.add_argument("--concurrency", default="16",
                    help="in-flight limits (-c), comma-separated: one table row each")
    ap.add_argument("--procs", default="1,2", help="1: one loop; N: -p N (default 1,2)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--max-per-url", type=float, default=400.0)
    a = ap.parse_args()
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("GNU time is needed: apt-get install time")
    sizes = sorted(int(s) for s in a.sizes.split(","))
    procs = [int(p) for p in a.procs.split(",")]
    concs = [int(c) for c in a.concurrency.split(",")]
    modes = [(c, n) for c in concs for n in procs]
    lf = os.path.abspath(a.loopfetch)
    tmp = tempfile.mkdtemp(prefix="lf-bench-crawlmem-")
    os.chmod(tmp, 0o755)  # nginx's workers run as another user
    root, item_size = make_site(tmp, sizes)
    nginx, port = bench_crawl.start_nginx(tmp, root)
    fields = ["name=h1", "title=title", "para=p", "link=p a::url(href)"]
    extract = [x for fld in fields for x in ("-e", fld)]
    peak = {}
    try:
        for size in sizes:
            start = "http://127.0.0.1:%d/l%d/1.html" % (port, size)
            for c, n in modes:
                for r in range(a.runs):
                    work = os.path.join(tmp, "run")
                    shutil.rmtree(work, ignore_errors=True)
                    os.makedirs(work)
                    out = os.path.join(work, "records.jsonl")
                    cmd = [lf, "-q", "-c", str(c)] + (["-p", str(n)] if n > 1 else [])
                    cmd += ["--next", "a.next", "-f", "a.item", *extract, "--records", out, start]
                    wall, cpu, rss = run(cmd, work)
                    got, named = bench_crawl.count_records(out)
                    if got != size or named != size:
                        raise SystemExit("%d pages, -c %d -p %d: %d records (%d with a name)"
                                         % (size, c, n, got, named))
                    print("%6d pages  %-16s wall %6.2f s  cpu %6.2f s  peak RSS %7.1f MB" %
                          (size, label(c, n), wall, cpu, rss / 1024), flush=True)
                    key = (size, c, n)
                    peak[key] = min(peak.get(key, rss), rss)
    finally:
        bench_crawl.os.killpg(nginx.pid, bench_crawl.signal.SIGTERM)
        nginx.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n%s item pages of %.1f kB (+ a list page per %d), 4 fields each; peak RSS in MB"
          % ("/".join(map(str, sizes)), item_size / 1000, PER_LIST))
    print("| mode | " + " | ".join("%d pages" % s for s in sizes) +
          " | growth %d -> %d | bytes per URL |" % (sizes[0], sizes[-1]))
    print("| --- |" + " ---: |" * (len(sizes) + 2))
    bad = []
    for c, n in modes:
        row = [peak[(s, c, n)] for s in sizes]
        grow = (row[-1] - row[0]) * 1024
        urls = (sizes[-1] - sizes[0]) * (1 + 1 / PER_LIST)  # items and list pages
        per = grow / urls
        print("| %s | %s | %+.1f MB | %.0f |" % (
            label(c, n), " | ".join("%.1f" % (k / 1024) for k in row), grow / 2**20, per))
        if per > a.max_per_url:
            bad.append("%s: %.0f bytes per URL" % (label(c, n), per))
    if bad:
        print("GROWS with the pages crawled (over %.0f bytes per URL): %s" %
              (a.max_per_url, "; ".join(bad)))
        sys.exit(1)


if __name__ == "__main__":
    main()
