#!/usr/bin/env python3
"""A crawl that extracts (issue 21, item 5): one loop against -p 2, and against Scrapy, on the
same server in the same run.

    meson compile -C build && python3 bench/bench_crawl.py [--runs 3] [--scale 2]

The site: tests/fixtures/site.py's list page and its 233 Wikipedia-like articles, each made
--scale times its size by repeating its content section (default 2: ~0.5 MB a page, ~110 MB
in all, as real country pages are), served as static files by Debian's nginx at its defaults
(a minimal configuration: a root and a port, nothing tuned), on 127.0.0.1, no latency. The job:
fetch the list page, follow `td .flagicon + a`, and from every article extract five fields
(bench_extract.c's: the h1's text, the title's, the first paragraph's text, every section
heading's id, the first paragraph link resolved) into a JSON Lines file. Nothing is saved.

- loopfetch, one loop:  loopfetch -e ... --records FILE LIST_URL
- loopfetch, -p 2:      the same with -p 2 (each worker parses the pages it fetched)
- Scrapy (Debian's python3-scrapy): the same crawl and fields with parsel CSS selectors,
  CONCURRENT_REQUESTS=256, CONCURRENT_REQUESTS_PER_DOMAIN=256, a JSON Lines feed, no robots.
- Crawlee's CheerioCrawler (npm `crawlee`, pinned CRAWLEE_VERSION, installed by this script with
  npm into .deps/crawlee, git-ignored, on first use): bench/peers/crawlee_crawl.cjs, the same crawl
  and fields with cheerio selectors and loopfetch's text rule walked over cheerio's tree,
  maxConcurrency 256, no retries, no robots, storage in memory, JSON Lines out; run twice: with
  its autoscaled pool at its defaults (HttpCrawler starts it at 10 tasks and it grows 5 % every
  10 s while the machine's CPU is not over 95 % busy: the most it ran at once is printed), and
  pinned at 256 (minConcurrency and desiredConcurrency 256). Its records are compared field by
  field with one loop's (the count of differing records is printed).

Each is run --runs times, alternating, under GNU time (/usr/bin/time, Debian's `time`); best
(lowest) wall time of each, with the CPU time (user + system of the process and its children:
loopfetch's workers, Node's ps) and peak RSS (the largest process) of that run; every run's records are
checked: 233 of them. Ratios are printed against one loop. nginx shares the 2 cores: that is
the machine the targets are stated for ("-p 2 wall <= 0.6 x one loop on an idle 2-core
machine"). Run it on an idle machine.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

CRAWLEE_VERSION = "3.18.1"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402

SELECT = "td .flagicon + a"
FIELDS = ["name=h1", "title=title", "first_para=#mw-content-text p",
          "sections[]=h2 .mw-headline::attr(id)", "first_link=#mw-content-text p a::url(href)"]

SCRAPY_SPIDER = r'''
import scrapy

class Crawl(scrapy.Spider):
    name = "crawl"
    custom_settings = {
        "CONCURRENT_REQUESTS": 256, "CONCURRENT_REQUESTS_PER_DOMAIN": 256,
        "ROBOTSTXT_OBEY": False, "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False, "RETRY_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }

    def __init__(self, start=None, **kw):
        super().__init__(**kw)
        self.start_urls = [start]

    def parse(self, response):
        for href in response.css("td .flagicon + a::attr(href)").getall():
            yield response.follow(href, self.parse_item)

    def parse_item(self, response):
        link = response.css("#mw-content-text p a::attr(href)").get()
        yield {
            "url": response.url,
            "name": " ".join(response.css("h1 ::text").getall()).strip(),
            "title": response.css("title::text").get(),
            "first_para": " ".join(response.css("#mw-content-text p")[0].css(" ::text").getall()).strip()
            if response.css("#mw-content-text p") else None,
            "sections": response.css("h2 .mw-headline::attr(id)").getall(),
            "first_link": response.urljoin(link) if link else None,
        }
'''

NGINX_CONF = """daemon off;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/nginx-error.log;
events {}
http {
  access_log off;
  client_body_temp_path %(tmp)s/b;
  proxy_temp_path %(tmp)s/p;
  fastcgi_temp_path %(tmp)s/f;
  uwsgi_temp_path %(tmp)s/u;
  scgi_temp_path %(tmp)s/s;
  default_type text/html;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
  }
}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scaled(body, scale):
    """The article with its content section repeated scale times (real country pages are
    ~0.5 MB; the fixture's average 0.24 MB)."""
    if scale <= 1:
        return body
    start = body.find(b'<div id="mw-content-text"')
    end = body.rfind(b"</body>")
    if start < 0 or end < 0:
        return body
    inner = body[start:end]
    return body[:start] + inner * scale + body[end:]


def make_site(tmp, scale):
    site = harness.fixture("site")
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "wiki"))
    total = 0
    for url in site.expected_links("http://x"):
        path = urllib.parse.urlsplit(url).path
        body = scaled(site.page_body(path), scale)
        total += len(body)
        with open(os.path.join(root.encode(), b"wiki", site.title_of(path).encode()), "wb") as f:
            f.write(body)
    with open(os.path.join(root, site.LIST_PATH.lstrip("/")), "wb") as f:
        f.write(site.list_page())
    return root, site.LIST_PATH, total


def start_nginx(tmp, root):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF % dict(tmp=tmp, port=port, root=root))
    p = subprocess.Popen(["nginx", "-p", tmp + "/", "-c", conf], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nginx did not start (see %s)" % tmp)


def measured(cmd, cwd, env=None):
    """Runs cmd under GNU time; wall seconds, and of that run alone CPU seconds (user + system
    of the process and every descendant it waited for: Node's children too) and peak RSS in MB
    (wait4's ru_maxrss: the largest process's). Not os.wait4 on a child of this script: a
    child's ru_maxrss starts at the RSS of the process it was forked from (exec keeps the old
    mm's high-water mark), and this script holds ~90 MB after building the site, so every tool
    below that showed ~86-90 MB (loopfetch -p 2's "85.7 MB" before 2026-12-07 04:00 was that)."""
    stats = os.path.join(cwd, ".time.txt")
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-o", stats, "-f", "%e %U %S %M", *cmd], cwd=cwd,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                   p.stderr.decode()[-2000:]))
    with open(stats) as f:
        _, user, sys_, rss = f.read().split()[-4:]
    return wall, float(user) + float(sys_), int(rss) / 1024, p.stderr.decode(errors="replace")


def ensure_crawlee():
    """The directory of node_modules holding crawlee CRAWLEE_VERSION (installed with npm into
    .deps/crawlee when missing), or None with the reason printed."""
    prefix = os.path.join(ROOT, ".deps", "crawlee")
    mods = os.path.join(prefix, "node_modules")
    pkg = os.path.join(mods, "crawlee", "package.json")
    try:
        with open(pkg) as f:
            if json.load(f).get("version") == CRAWLEE_VERSION:
                return mods
    except OSError:
        pass
    if not shutil.which("node") or not shutil.which("npm"):
        print("(Crawlee skipped: node and npm not found: apt-get install nodejs npm)")
        return None
    print("installing crawlee@%s into %s ..." % (CRAWLEE_VERSION, prefix), flush=True)
    os.makedirs(prefix, exist_ok=True)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", prefix,
                        "crawlee@" + CRAWLEE_VERSION], capture_output=True, text=True)
    if r.returncode != 0:
        print("(Crawlee skipped: npm install failed:\n%s)" % r.stderr[-2000:])
        return None
    return mods


def by_url(path):
    with open(path, encoding="utf-8") as f:
        return {r["url"]: r for r in (json.loads(line) for line in f if line.strip())}


def differing(mine, theirs, fields):
    """How many of mine's records differ from theirs (by url) in one of fields."""
    return sum(1 for url, r in mine.items()
               if url not in theirs or any(r.get(k) != theirs[url].get(k) for k in fields))


def count_records(path):
    with open(path, encoding="utf-8") as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return len(recs), sum(1 for r in recs if r.get("name"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loopfetch", default=os.path.join(ROOT, "build", "loopfetch"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--no-scrapy", action="store_true")
    ap.add_argument("--no-crawlee", action="store_true")
    a = ap.parse_args()
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("GNU time is needed: apt-get install time")
    lf = os.path.abspath(a.loopfetch)
    tmp = tempfile.mkdtemp(prefix="lf-bench-crawl-")
    os.chmod(tmp, 0o755)  # nginx's workers run as another user
    root, list_path, total = make_site(tmp, a.scale)
    nginx, port = start_nginx(tmp, root)
    list_url = "http://127.0.0.1:%d%s" % (port, list_path)
    spider = os.path.join(tmp, "spider.py")
    with open(spider, "w") as f:
        f.write(SCRAPY_SPIDER)
    scrapy_py = "/usr/bin/python3"
    have_scrapy = not a.no_scrapy and subprocess.run(
        [scrapy_py, "-c", "import scrapy"], capture_output=True).returncode == 0
    extract = [x for fld in FIELDS for x in ("-e", fld)]
    tools = {
        "loopfetch, one loop": lambda out: [lf, "-q", "--select", SELECT, *extract,
                                            "--records", out, list_url],
        "loopfetch -p 2": lambda out: [lf, "-q", "-p", "2", "--select", SELECT, *extract,
                                       "--records", out, list_url],
    }
    if have_scrapy:
        tools["Scrapy (parsel)"] = lambda out: [scrapy_py, "-m", "scrapy", "runspider", spider,
                                                "-a", "start=" + list_url, "-o",
                                                out + ":jsonlines", "--nolog"]
    crawlee_mods = None if a.no_crawlee else ensure_crawlee()
    if crawlee_mods:
        script = os.path.join(HERE, "peers", "crawlee_crawl.cjs")
        tools["Crawlee (CheerioCrawler)"] = lambda out: ["node", script, list_url, out]
        tools["Crawlee, pinned at 256"] = lambda out: ["node", script, list_url, out, "256"]
    node_env = dict(os.environ, NODE_PATH=crawlee_mods or "", CRAWLEE_STORAGE_DIR=tmp + "/cs")
    fields = [f.split("=")[0].rstrip("[]") for f in FIELDS]
    best = {}
    kept = {}
    try:
        for run in range(a.runs):
            for name, cmd in tools.items():
                work = os.path.join(tmp, "run")
                shutil.rmtree(work, ignore_errors=True)
                os.makedirs(work)
                out = os.path.join(work, "records.jsonl")
                wall, cpu, rss, err = measured(cmd(out), work,
                                               node_env if name.startswith("Crawlee") else None)
                n, named = count_records(out)
                if n != 233 or named != 233:
                    raise SystemExit("%s: %d records (%d with a name), not 233" % (name, n, named))
                if run == 0 and name in ("loopfetch, one loop", "Crawlee (CheerioCrawler)"):
                    kept[name] = by_url(out)
                said = [ln for ln in err.splitlines() if ln.startswith("crawlee_crawl: ")]
                print("run %d  %-20s wall %6.2f s  cpu %6.2f s  peak RSS %6.1f MB%s" %
                      (run + 1, name, wall, cpu, rss, ("  (" + said[-1][15:] + ")") if said else ""),
                      flush=True)
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, cpu, rss)
    finally:
        os.killpg(nginx.pid, signal.SIGTERM)
        nginx.wait(timeout=10)
    if len(kept) == 2:
        mine, theirs = kept["loopfetch, one loop"], kept["Crawlee (CheerioCrawler)"]
        print("Crawlee's records differing from one loop's in %s: %d of %d" %
              (", ".join(fields), differing(theirs, mine, fields), len(theirs)))
    base = best["loopfetch, one loop"]
    print("\n233 pages, %.1f MB of HTML (%.2f MB a page), 5 fields each; best of %d" %
          (total / 1e6, total / 233 / 1e6, a.runs))
    print("| tool | wall s | CPU s | peak RSS MB | wall vs one loop | CPU vs one loop |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (wall, cpu, rss) in best.items():
        print("| %s | %.2f | %.2f | %.1f | %.2f x | %.2f x |" %
              (name, wall, cpu, rss, wall / base[0], cpu / base[1]))
    if not have_scrapy and not a.no_scrapy:
        print("(Scrapy not found: apt-get install python3-scrapy)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
