#!/usr/bin/env python3
"""Crawls (issue 21): -f/--follow level by level, --next pagination, --max-pages, --max-urls,
--save-all, navigation pages in the manifest, each URL once per job, -i start pages, and the
combinations refused before the first request.

    python3 tests/e2e/e2e_crawl.py --list
    python3 tests/e2e/e2e_crawl.py --loopfetch build/loopfetch CASE

Each case serves a small shop-like site from its own in-process server (e2e_cli.Site): a
category paginated over three pages (the last links back to the first), items on each, and a
detail page per item; every request is recorded, so "fetched once" is checked on the server.
"""

import os
import sys

import e2e  # noqa: E402
import e2e_cli  # noqa: E402
import harness  # noqa: E402

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def page(body):
    return "<!doctype html><html><body>%s</body></html>" % body


def shop(t, pages=3, items=4, loop=True):
    """/cat/1..pages (a.next to the following one; the last back to /cat/1 when loop), each
    listing `items` items /item/P-I (and /item/1-1 again on every page, a duplicate), each item
    linking its /detail/P-I and /cat/1. Returns (site, start URL, item paths, detail paths)."""
    s = t.site()
    item_paths, detail_paths = [], []
    for p in range(1, pages + 1):
        links = []
        for i in range(1, items + 1):
            ip, dp = "/item/%d-%d" % (p, i), "/detail/%d-%d" % (p, i)
            item_paths.append(ip)
            detail_paths.append(dp)
            links.append('<li><a class="item" href="%s">item %d-%d</a></li>' % (ip, p, i))
            s.route(ip, page('<h1>Item %d-%d</h1><a class="detail" href="%s">more</a>'
                             '<a class="cat" href="/cat/1">back</a>' % (p, i, dp)))
            s.route(dp, page("<p>detail %d-%d</p>" % (p, i)))
        links.append('<li><a class="item" href="/item/1-1">item 1-1 again</a></li>')
        nxt = p + 1 if p < pages else (1 if loop else None)
        more = '<a class="next" href="/cat/%d">next</a>' % nxt if nxt else ""
        s.route("/cat/%d" % p, page("<ul>%s</ul>%s" % ("".join(links), more)))
    return s, s.base + "/cat/1", item_paths, detail_paths


def by_status(t, folder, status):
    return sorted(r["url"] for r in t.manifest(folder) if r["status"] == status)


def hits_once(t, s, paths):
    for p in paths:
        n = len(s.hits(p))
        t.check(n == 1, "%s requested %d times, not once" % (p, n))


@case
def follow_two_levels(t):
    """-f twice: the start page, its items (navigation), their details (saved). The link back to
    the start page and the duplicate item are each fetched once; navigation pages are recorded
    as navigated and not saved; the details are saved under their names."""
    s, start, items, details = shop(t, pages=1, items=5)
    out = t.path("out")
    p = t.run("-o", out, "-f", "a.item", "-f", "a.detail", start)
    t.expect_exit(p, 0)
    t.check(sorted(t.files(out)) == sorted(d.rsplit("/", 1)[1] + ".html" for d in details),
            "saved: %s" % sorted(t.files(out)))
    t.check(by_status(t, out, "navigated") == sorted(s.base + i for i in items),
            "navigated: %s" % by_status(t, out, "navigated"))
    t.check(by_status(t, out, "saved") == sorted(s.base + d for d in details), "saved records")
    hits_once(t, s, ["/cat/1"] + items + details)
    t.check("5 saved" in p.err and "5 navigated" in p.err, "summary: %s" % p.err)


@case
def select_is_one_follow(t):
    """--select SEL is exactly one -f SEL: same pages, same names, same manifest statuses."""
    s, start, items, _ = shop(t, pages=1, items=3)
    a, b = t.path("a"), t.path("b")
    t.expect_exit(t.run("-o", a, "--select", "a.item", start), 0)
    t.expect_exit(t.run("-o", b, "-f", "a.item", start), 0)
    t.check(sorted(t.files(a)) == sorted(t.files(b)) and len(t.files(a)) == 3,
            "--select %s vs -f %s" % (t.files(a), t.files(b)))


@case
def next_paginates_start_level(t):
    """--next before any -f: the start level's "next page" links are more start pages (not
    depth), the loop back to page 1 ends by the dedup, and all items of all pages are saved."""
    s, start, items, _ = shop(t, pages=3, items=2)
    out = t.path("out")
    p = t.run("-o", out, "--next", "a.next", "-f", "a.item", start)
    t.expect_exit(p, 0)
    t.check(len(t.files(out)) == 6, "saved %s" % sorted(t.files(out)))
    hits_once(t, s, ["/cat/1", "/cat/2", "/cat/3"] + items)
    # page 1 is the LIST_URL (the job's input, not recorded); pages 2 and 3 were navigated
    t.check(by_status(t, out, "navigated") == [s.base + "/cat/2", s.base + "/cat/3"],
            "navigated: %s" % by_status(t, out, "navigated"))


@case
def next_names_in_page_order(t):
    """Items reached through pagination are merged in page order: two runs at -c 1 and at the
    default concurrency name every page the same (and both see the same links in order)."""
    s, start, items, _ = shop(t, pages=3, items=3)
    a, b = t.path("a"), t.path("b")
    la = t.run("--links", "--next", "a.next", "-f", "a.item", start)
    lb = t.run("--links", "-c", "1", "--next", "a.next", "-f", "a.item", start)
    t.expect_exit(la, 0)
    t.check(la.out == lb.out, "--links differ:\n%s\n%s" % (la.out, lb.out))
    t.check(la.out.split() == [s.base + i for i in items],
            "--links not in page order:\n%s" % la.out)


@case
def max_pages_caps_next(t):
    """--max-pages 1: one page more through --next, the next one reported as capped."""
    s, start, items, _ = shop(t, pages=3, items=1, loop=False)
    out = t.path("out")
    p = t.run("-o", out, "--next", "a.next", "--max-pages", "1", "-f", "a.item", start)
    t.expect_exit(p, 0)
    t.check(len(s.hits("/cat/3")) == 0, "/cat/3 fetched beyond --max-pages")
    t.check(by_status(t, out, "capped") == [s.base + "/cat/3"],
            "capped: %s" % by_status(t, out, "capped"))
    t.check(len(t.files(out)) == 2, "saved %s" % t.files(out))


@case
def max_urls_caps_job(t):
    """--max-urls 4: the start page and three more URLs; every refused one is reported as
    capped (none silently dropped), and nothing beyond the cap is requested."""
    s, start, items, details = shop(t, pages=1, items=5)
    out = t.path("out")
    p = t.run("-o", out, "--max-urls", "4", "-f", "a.item", start)
    t.expect_exit(p, 0)
    capped = by_status(t, out, "capped")
    t.check(len(t.files(out)) == 3, "saved %s" % t.files(out))
    t.check(len(capped) == 2, "capped: %s" % capped)
    requested = len([r for r in s.hits() if r[0].startswith("/item/")])
    t.check(requested == 3, "%d items requested" % requested)
    t.check("2 capped" in p.err, "summary: %s" % p.err)


@case
def save_all_keeps_navigation(t):
    """--save-all: the navigation pages (the list page too) are saved as well, named like pages
    in one name space (item 1-1 and detail 1-1 share a last segment: 1-1.html, 1-1~2.html), and
    each recorded with its file, which holds the page as served."""
    s, start, items, details = shop(t, pages=1, items=2)
    out = t.path("out")
    t.expect_exit(t.run("-o", out, "--save-all", "-f", "a.item", "-f", "a.detail", start), 0)
    want = ["1-1.html", "1-1~2.html", "1-2.html", "1-2~2.html", "1.html"]
    t.check(sorted(t.files(out)) == want, "saved: %s" % sorted(t.files(out)))
    nav = [r for r in t.manifest(out) if r["status"] == "navigated"]
    t.check(len(nav) == 2 and all(r.get("file") for r in nav), "navigated records: %s" % nav)
    for r in nav:
        with open(os.path.join(out, r["file"]), encoding="utf-8") as f:
            t.check(r["url"].rsplit("/", 1)[1] in f.read(), "%s holds another page" % r["file"])


@case
def input_start_pages(t):
    """-i with -f: the input's URLs are the start pages (navigated), their links the pages."""
    s, start, items, details = shop(t, pages=1, items=3)
    out = t.path("out")
    urls = t.input_file("".join(s.base + i + "\n" for i in items))
    p = t.run("-o", out, "-i", urls, "-f", "a.detail")
    t.expect_exit(p, 0)
    t.check(sorted(t.files(out)) == sorted(d.rsplit("/", 1)[1] + ".html" for d in details),
            "saved: %s" % t.files(out))
    t.check(by_status(t, out, "navigated") == sorted(s.base + i for i in items), "navigated")


@case
def failed_navigation_page(t):
    """A navigation page that fails (404) is recorded failed, the rest of the crawl goes on,
    and the exit code says some pages failed."""
    s, start, items, details = shop(t, pages=1, items=3)
    del s.routes[items[1]]
    out = t.path("out")
    p = t.run("-o", out, "--retries", "0", "-f", "a.item", "-f", "a.detail", start)
    t.expect_exit(p, 1)
    t.check(by_status(t, out, "failed") == [s.base + items[1]], "failed: %s" %
            by_status(t, out, "failed"))
    t.check(len(t.files(out)) == 2, "saved %s" % t.files(out))


@case
def rerun_skips_saved(t):
    """A rerun of the same crawl fetches no saved page again (navigation is fetched again)."""
    s, start, items, details = shop(t, pages=1, items=3)
    out = t.path("out")
    args = ["-o", out, "-f", "a.item", "-f", "a.detail", start]
    t.expect_exit(t.run(*args), 0)
    t.expect_exit(t.run(*args), 0)
    for d in details:
        t.check(len(s.hits(d)) == 1, "%s fetched again on the rerun" % d)


@case
def records_name_parent_and_depth(t):
    """-e on a crawl's last level: one record per item page, "depth" the last level's (1: one
    -f), "parent" the category page it was first found on (page 2 for the items of page 2,
    reached through --next), "url" the page as requested; nothing saved without --save."""
    import json
    s, start, items, _ = shop(t, pages=2, items=2, loop=False)
    recs = t.path("recs.jsonl")
    p = t.run("--next", "a.next", "-f", "a.item", "-e", "title=h1", "--records", recs, start)
    t.expect_exit(p, 0)
    with open(recs, encoding="utf-8") as f:
        got = sorted((r["url"], r["parent"], r["depth"], r["title"]) for r in map(json.loads, f))
    want = sorted((s.base + i, s.base + "/cat/" + i.split("/")[2].split("-")[0], 1,
                   "Item " + i.split("/")[2]) for i in items)
    t.check(got == want, "records:\n%s\nwant:\n%s" % (got, want))
    t.check(not os.path.exists(os.path.join(t.path("pages"), "1-1.html")), "a page was kept")


@case
def records_two_levels(t):
    """Two -f levels and -e: records come from the details (depth 2), each naming its item."""
    import json
    s, start, items, details = shop(t, pages=1, items=3)
    recs = t.path("recs.jsonl")
    p = t.run("-f", "a.item", "-f", "a.detail", "-e", "text=p", "--records", recs, start)
    t.expect_exit(p, 0)
    with open(recs, encoding="utf-8") as f:
        got = sorted((r["url"], r["parent"], r["depth"], r["text"]) for r in map(json.loads, f))
    want = sorted((s.base + d, s.base + d.replace("detail", "item"), 2,
                   "detail " + d.rsplit("/", 1)[1]) for d in details)
    t.check(got == want, "records:\n%s\nwant:\n%s" % (got, want))


@case
def records_with_procs(t):
    """-p 2: the workers parse and extract the pages they fetched and append their records to
    the file (one write per page): the same records as one loop, each page's once, with its
    parent and depth; stdout as the records file is refused with -p."""
    import json
    s, start, items, details = shop(t, pages=2, items=6, loop=False)
    got = {}
    for mode in (["-c", "4"], ["-p", "2"]):
        recs = t.path("recs%s.jsonl" % mode[0])
        p = t.run(*mode, "-o", t.path("out" + mode[0]), "--next", "a.next", "-f", "a.item",
                  "-f", "a.detail",
                  "-e", "text=p", "-e", "n[]=p", "--records", recs, start)
        t.expect_exit(p, 0)
        with open(recs, encoding="utf-8") as f:
            lines = f.read().splitlines()
        got[mode[0]] = sorted(lines)
        t.check(len(lines) == len(details), "%s: %d records" % (mode, len(lines)))
        # the summary counts the workers' records too (it said "0 records" with -p)
        err = p.stderr.decode("utf-8", "replace")
        t.check(", %d records" % len(details) in err, "%s summary: %s" % (mode, err))
    t.check(got["-c"] == got["-p"], "-p records differ:\n%s\n%s" % (got["-c"], got["-p"]))
    for line in got["-p"]:
        r = json.loads(line)
        t.check(r["depth"] == 2 and r["parent"] == r["url"].replace("detail", "item"), line)
    p = t.run("-p", "2", "-f", "a.item", "-e", "t=h1", start)
    t.expect_exit(p, 2)
    t.one_line_error(p, "-p", "--records")


@case
def procs_deal_to_free_worker(t):
    """-p 2 deals pages as workers are free, not by a hash up front: with -c 1, the worker
    that took the slow first page (3 s) gets no other while the other worker does the 19 rest
    (dealt by a hash, about half of them would wait behind the slow page)."""
    import time
    s = t.site()
    paths = ["/slow"] + ["/p/%d" % i for i in range(19)]
    for p in paths:
        s.route(p, page("<h1>%s</h1>" % p))
    status, headers, body = s.routes["/slow"]

    def slow(handler, r=(status, headers, body)):
        time.sleep(3)
        return r
    s.routes["/slow"] = slow
    s.route("/list", page("".join('<a class="i" href="%s">x</a>' % p for p in paths)))
    out = t.path("out")
    p = t.run("-p", "2", "-c", "1", "-o", out, "--select", "a.i", s.base + "/list")
    t.expect_exit(p, 0)
    recs = t.manifest(out)
    t.check(sorted(r["url"] for r in recs) == sorted(s.base + p for p in paths), "manifest")
    slow_pid = [r["pid"] for r in recs if r["url"].endswith("/slow")][0]
    took = sorted(r["url"] for r in recs if r["pid"] == slow_pid)
    t.check(len(took) == 1, "the worker held up by /slow also got %s" % took)


@case
def procs_parse_navigation(t):
    """-p 2: the workers fetch and parse the navigation pages (their manifest lines carry a
    worker's pid, not the parent's), the parent merges their links in page order: the same
    names, statuses and --next chain as one loop, every URL fetched once."""
    s, start, items, details = shop(t, pages=3, items=3, loop=True)
    runs = {}
    for mode in (["-c", "4"], ["-p", "2"]):
        out = t.path("out" + mode[0])
        p = t.run(*mode, "-o", out, "--save-all", "--next", "a.next", "-f", "a.item",
                  "-f", "a.detail", start)
        t.expect_exit(p, 0)
        recs = t.manifest(out)
        runs[mode[0]] = sorted((r["url"], r["status"], r.get("file")) for r in recs)
        if mode[0] == "-p":
            saved = {r["pid"] for r in recs if r["status"] == "saved"}
            nav = [r for r in recs if r["status"] == "navigated"]
            t.check(len(nav) == 2 + len(items), "navigated: %d" % len(nav))
            t.check(len(saved) <= 2 and all(r["pid"] in saved for r in nav),
                    "navigation pages parsed outside the workers: %s vs %s" %
                    (sorted({r["pid"] for r in nav}), sorted(saved)))
    t.check(runs["-c"] == runs["-p"], "-p differs from one loop:\n%s\n%s" % (runs["-c"], runs["-p"]))
    for path in ["/cat/1", "/cat/2", "/cat/3"] + items + details:
        n = len(s.hits(path))
        t.check(n == 2, "%s requested %d times in two runs, not once each" % (path, n))


@case
def procs_worker_killed_navigating(t):
    """kill -9 of a worker while it holds navigation pages: the parent fetches and parses what
    it had not reported (the links it had sent of them dropped), and the crawl ends complete:
    every item navigated once in the manifest, every detail saved once."""
    import signal
    import subprocess
    import time
    s, start, items, details = shop(t, pages=1, items=12)
    for ip in items:  # the navigation level takes 0.5 s a page: the kill lands inside it
        status, headers, body = s.routes[ip]

        def slow(handler, r=(status, headers, body)):
            time.sleep(0.5)
            return r
        s.routes[ip] = slow
    out = t.path("out")
    p = subprocess.Popen([t.lf, "-p", "2", "-c", "3", "-o", out, "-f", "a.item", "-f",
                          "a.detail", start], cwd=t.tmp, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e2e.clean_env())
    victim, deadline = None, time.time() + 30
    while victim is None and time.time() < deadline:
        kids = []
        for task in os.listdir("/proc/%d/task" % p.pid):
            try:
                with open("/proc/%d/task/%s/children" % (p.pid, task)) as f:
                    kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
        if len(kids) == 2 and len(s.hits()) >= 3:
            victim = kids[0]
        time.sleep(0.02)
    t.check(victim is not None, "never saw two workers at work")
    os.kill(victim, signal.SIGKILL)
    _, err = p.communicate(timeout=120)
    t.check(p.returncode == 0, "exit %d: %s" % (p.returncode, err[-500:]))
    t.check("killed by signal 9" in err, "the worker's death was not reported: %s" % err)
    recs = t.manifest(out)
    nav = sorted(r["url"] for r in recs if r["status"] == "navigated")
    t.check(nav == sorted(s.base + i for i in items), "navigated: %s" % nav)
    t.check(by_status(t, out, "saved") == sorted(s.base + d for d in details),
            "saved: %s" % by_status(t, out, "saved"))
    hits_once(t, s, details)


@case
def procs_next_on_last_level(t):
    """--next on the last level with -p: the workers send the "next page" links up, the parent
    takes each once (the loop back to page 1 ends there) and deals it: the same records as one
    loop, each page fetched once."""
    import json
    s, start, items, _ = shop(t, pages=4, items=1, loop=True)
    got = {}
    for mode in (["-c", "4"], ["-p", "2"]):
        recs = t.path("recs%s.jsonl" % mode[0])
        p = t.run(*mode, "--next", "a.next", "-e", "items[]=a.item::attr(href)", "--records",
                  recs, start)
        t.expect_exit(p, 0)
        with open(recs, encoding="utf-8") as f:
            got[mode[0]] = sorted(f.read().splitlines())
    t.check(len(got["-c"]) == 4 and got["-c"] == got["-p"],
            "records:\n%s\n%s" % (got["-c"], got["-p"]))
    t.check([json.loads(l)["parent"] for l in got["-p"]].count(None) == 1, "parents: %s" % got["-p"])
    for path in ["/cat/1", "/cat/2", "/cat/3", "/cat/4"]:
        t.check(len(s.hits(path)) == 2, "%s requested %d times in two runs" % (path, len(s.hits(path))))


@case
def rerun_reads_navigation_back(t):
    """A rerun does not fetch the navigation pages again (issue 21, item 6): their links come
    back from the output folder's loopfetch-nav/, so a crawl that ended with one detail failed is
    finished by the same command with one request more than the LIST_URL's (with and without
    -p); the records end one per detail page. Another command (other selectors) does not use
    them."""
    import json
    for mode in (["-c", "4"], ["-p", "2"]):
        s, start, items, details = shop(t, pages=2, items=3, loop=True)
        status, headers, body = s.routes["/detail/2-3"]
        tries = []

        def flaky(handler, r=(status, headers, body)):
            tries.append(1)
            return (500, {}, b"no") if len(tries) == 1 else r
        s.routes["/detail/2-3"] = flaky
        out, recs = t.path("out" + mode[0]), t.path("recs%s.jsonl" % mode[0])
        args = [*mode, "--retries", "0", "-o", out, "--next", "a.next", "-f", "a.item", "-f",
                "a.detail", "-e", "text=p", "--records", recs, start]
        t.expect_exit(t.run(*args), 1)
        p = t.run(*args)
        t.expect_exit(p, 0)
        t.check(len(s.hits("/cat/1")) == 2, "%s: the LIST_URL is fetched every run" % mode)
        hits_once(t, s, ["/cat/2"] + items + [d for d in details if d != "/detail/2-3"])
        t.check(len(s.hits("/detail/2-3")) == 2, "%s: the failed page: %d requests" %
                (mode, len(s.hits("/detail/2-3"))))
        with open(recs, encoding="utf-8") as f:
            urls = sorted(json.loads(line)["url"] for line in f)
        t.check(urls == sorted(s.base + d for d in details), "%s records: %s" % (mode, urls))
        # other selectors: what was kept is not theirs, the pages are fetched again
        t.expect_exit(t.run(*mode, "-o", out, "--next", "a.next", "-f", "li a", "-f",
                            "a.detail", "-e", "text=p", "--records", recs, start), 0)
        t.check(len(s.hits("/cat/2")) == 2, "%s: kept links used for another selector" % mode)


def slow_details(s, details, rng):
    """Detail pages answer after 0-60 ms, so that a kill lands while pages are in flight."""
    import time
    for d in details:
        status, headers, body = s.routes[d]

        def reply(handler, r=(status, headers, body)):
            time.sleep(rng.uniform(0, 0.06))
            return r
        s.routes[d] = reply


def records_after_kills(t, extra):
    """SIGKILL at random moments, then the same command until it completes: the records file
    ends with exactly one record per detail page (none lost, none twice), with and without -p."""
    import json
    import random
    import signal
    import subprocess
    import time
    rng = random.Random(21)
    s, start, items, details = shop(t, pages=2, items=15, loop=False)
    slow_details(s, details, rng)
    recs = t.path("recs.jsonl")
    args = [t.lf, *extra, "--next", "a.next", "-f", "a.item", "-f", "a.detail", "-e", "text=p",
            "--records", recs, start]
    kills = 0
    for _ in range(6):
        p = subprocess.Popen(args, cwd=t.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=e2e.clean_env())
        time.sleep(rng.uniform(0.02, 0.5))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    for _ in range(3):
        p = t.run(*args[1:])
        if p.returncode == 0:
            break
    t.expect_exit(p, 0)
    with open(recs, encoding="utf-8") as f:
        urls = [json.loads(line)["url"] for line in f]
    want = sorted(s.base + d for d in details)
    t.check(sorted(set(urls)) == want, "pages missing from the records: %s" %
            sorted(set(want) - set(urls)))
    twice = sorted(u for u in set(urls) if urls.count(u) > 1)
    t.check(not twice, "records written twice after %d kills: %s" % (kills, twice))
    t.check(kills >= 1, "no run was killed: the case tested nothing")
    # a navigation page is fetched again only by a run killed while it was in flight (or
    # before its links were kept): at most once per kill more, never once per run
    for path in ["/cat/2"] + items:
        n = len(s.hits(path))
        t.check(1 <= n <= 1 + kills, "%s fetched %d times in %d kills" % (path, n, kills))


@case
def records_after_kills_one_loop(t):
    records_after_kills(t, ["-c", "8"])


@case
def records_after_kills_procs(t):
    records_after_kills(t, ["-p", "2"])


@case
def compare_a_crawl(t):
    """--compare runs the crawl sequentially, on one loop and on -p processes, each with its
    own folder and, with -e, its own records file: the same records three times."""
    s, start, items, _ = shop(t, pages=2, items=3, loop=False)
    out = t.path("cmp")
    p = t.run("--compare", "-p", "2", "-o", out, "--next", "a.next", "-f", "a.item", "-e", "t=h1",
              start)
    t.expect_exit(p, 0)
    got = []
    for mode in ("sequential", "loop", "procs"):
        with open(os.path.join(out, mode, "records.jsonl"), encoding="utf-8") as f:
            got.append(sorted(f.read().splitlines()))
    t.check(len(got[0]) == 6 and got[0] == got[1] == got[2], "records per mode: %s" % got)
    for mode in ("sequential", "loop", "procs"):
        t.check(mode in p.out, "the table lacks %s:\n%s" % (mode, p.out))


@case
def robots_on_navigation_levels(t):
    """robots.txt applies to the pages a crawl discovers at every level (not to the LIST_URL):
    a disallowed item page is recorded "robots" and not fetched, so neither is its detail."""
    s, start, items, details = shop(t, pages=1, items=3)
    s.route("/robots.txt", "User-agent: *\nDisallow: /item/1-2\nDisallow: /cat/\n",
            ctype="text/plain")
    out = t.path("out")
    p = t.run("-o", out, "-f", "a.item", "-f", "a.detail", start)
    t.expect_exit(p, 0)
    t.check(by_status(t, out, "robots") == [s.base + "/item/1-2"],
            "robots: %s" % by_status(t, out, "robots"))
    t.check(not s.hits("/item/1-2") and not s.hits("/detail/1-2"), "a disallowed page was fetched")
    t.check(len(s.hits("/cat/1")) == 1, "the LIST_URL is the user's: fetched as asked")
    t.check(len(s.hits("/robots.txt")) == 1, "robots.txt fetched %d times" % len(s.hits("/robots.txt")))
    t.check(sorted(t.files(out)) == ["1-1.html", "1-3.html"], "saved %s" % t.files(out))


@case
def refused_combinations(t):
    """What a crawl does not do yet is refused before the first request, in one line."""
    s, start, _, _ = shop(t, pages=1, items=1)
    for args, words in [
        (["--shard", "1/2", "-f", "a.item", "-f", "a.detail", start], ["--shard", "crawl"]),
        (["-f", "a[", start], ["--follow", "a["]),
        (["--next", "a..b", start], ["--next"]),
        (["-f", "http://x/", start], ["--follow", "selector"]),
    ]:
        p = t.run("-o", t.path("r"), *args)
        t.expect_exit(p, 2)
        t.one_line_error(p, *words)
    t.check(not s.hits(), "a refused command made requests: %s" % s.hits())


def main():
    args = harness.parse_args(CASES, __doc__.split("\n\n")[0])
    if isinstance(args, int):
        return args
    return e2e.run_case(e2e_cli.CliCase(args), CASES[args.case], args.case)


if __name__ == "__main__":
    sys.exit(main())
