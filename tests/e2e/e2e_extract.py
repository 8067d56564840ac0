#!/usr/bin/env python3
"""-e/--extract end to end (issue 21, items 4 and 9): records compared with an independent
implementation (extract_ref.py: html5lib + soupsieve + Python's codecs, the same text rule) on
real-shaped pages (tests/fixtures/shaped.py: infoboxes, nested tables, <br> in text, entities,
five encodings, a <base href>, fields with no match, sloppy markup), as JSON Lines and as CSV;
README's "Crawling and extracting" command run as written; and the command line's promises
(malformed specs refused before any request, pages kept only with --save or -o, stdout,
a torn records file repaired).

    python3 tests/e2e/e2e_extract.py --loopfetch BUILD/loopfetch CASE     (or --list)
"""

import csv
import http.server
import io
import json
import os
import re
import shlex
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from e2e_modes import Failure, check, run_main  # noqa: E402
import extract_ref  # noqa: E402

shaped = harness.fixture("shaped")
CASES = {}
PAGES = 24  # two of each shape
LIST_PATH = "/wiki/List_of_countries_by_population_(United_Nations)"
SELECT = "td .flagicon + a"
FIELDS = [
    "name=h1",
    "official=.infobox .country-name",
    "capital=.infobox td.infobox-data:has(.geo-default) > a",
    "capital_text=.infobox tr:has(.geo-default) > td",
    "population=.infobox tr.mergedtoprow:has(a[href*=Demographics_of]) + tr > td",
    "flag=.infobox .infobox-image img::url(src)",
    "flag_alt=.infobox .infobox-image img::attr(alt)",
    "coords=.infobox .geo-dms::attr(title)",
    "government=.infobox table.nested",
    "leaders[]=.infobox table.nested td:last-child",
    "links[]=#mw-content-text p > a::url(href)",
    "hrefs[]=#mw-content-text a::attr(href)",
    "languages=.infobox tr:nth-child(4) td",
    "missing=.no-such-class",
    "missing_all[]=table.nothing td::url(href)",
]
EACH = ".infobox tr"
EACH_FIELDS = ["label=th", "value=td", "link=td a::url(href)", "inner[]=td td", "self=tr"]


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Site:
    """The shaped pages and their list page on 127.0.0.1 (a thread of this process)."""

    def __init__(self, n=PAGES):
        self.pages = {LIST_PATH: (shaped.list_page(n), "text/html; charset=utf-8")}
        for i in range(n):
            path, body, ctype = shaped.page(i)
            self.pages[path] = (body, ctype)
        self.requests = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests += 1
                if self.path == "/moved":  # a redirect to the first page
                    self.send_response(301)
                    self.send_header("Location", shaped.path_of(0))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, ctype = site.pages.get(self.path, (b"not found", None))
                self.send_response(200 if ctype else 404)
                self.send_header("Content-Type", ctype or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.list_url = self.base + LIST_PATH
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def urls(self):
        return [self.base + p for p in self.pages if p != LIST_PATH]

    def expected(self, fields, each=None, parent=None, depth=1):
        """url -> the reference's records of that page (with url, parent, depth first)."""
        want = {}
        for url in self.urls():
            body, ctype = self.pages[url[len(self.base):]]
            recs = extract_ref.records(body, ctype, url, fields, each)
            want[url] = [{"url": url, "parent": parent, "depth": depth, **r} for r in recs]
        return want

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def by_url(recs):
    got = {}
    for r in recs:
        got.setdefault(r["url"], []).append(r)
    return got


def compare(got, want, what):
    check(set(got) <= set(want), f"{what}: records of pages not asked for: {sorted(set(got) - set(want))[:3]}")
    for url, recs in want.items():
        have = got.get(url, [])
        if have != recs:
            for a, b in zip(have, recs):
                for k in b:
                    if a.get(k) != b[k]:
                        raise Failure(f"{what}: {url}: field {k}: loopfetch {a.get(k)!r}, "
                                      f"reference {b[k]!r}")
            raise Failure(f"{what}: {url}: {len(have)} records, the reference {len(recs)}")


def csv_rows(path):
    with open(path, "rb") as f:
        raw = f.read()
    check(not raw.startswith(b"\xef\xbb\xbf"), "the CSV starts with a BOM")
    check(raw.endswith(b"\r\n") and b"\r\n" in raw, "CSV lines do not end with CRLF")
    check(re.search(rb"[^\r]\n", raw) is None or b'"' in raw, "a bare LF outside quotes")
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


def as_cell(v):
    if v is None:
        return ""
    if isinstance(v, list):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return str(v)


def check_csv(rows, want_recs, keys, what):
    check(rows[0] == keys, f"{what}: header {rows[0]} != {keys}")
    want = sorted([as_cell(r[k]) for k in keys] for recs in want_recs.values() for r in recs)
    got = sorted(rows[1:])
    for row in got:  # an array's JSON text may escape what the reference's json.dumps does not
        row[:] = [as_cell(json.loads(c)) if c.startswith("[") else c for c in row]
    if got != want:
        for g, w in zip(got, want):
            if g != w:
                diff = [(k, a, b) for k, a, b in zip(keys, g, w) if a != b]
                raise Failure(f"{what}: CSV row of {g[0]}: (column, loopfetch, reference): {diff}")
        raise Failure(f"{what}: {len(got)} CSV rows, {len(want)} expected")


def run(ctx, *args, timeout=120, cwd=None):
    p = subprocess.run([ctx.exe, *args], capture_output=True, text=True, timeout=timeout,
                       cwd=cwd or ctx.tmp)
    ctx.last = (args, p)
    return p


def field_args(fields, each=None):
    args = []
    for f in fields:
        args += ["-e", f]
    return args + (["--each", each] if each else [])


# ---- cases ----

@case
def reference_fields(ctx):
    """--select and 15 fields on 24 real-shaped pages: JSON Lines and CSV (written at once)
    equal the reference's records, key order url, parent, depth, then -e order; the pages are
    not kept (no --save)."""
    with Site() as site:
        p = run(ctx, "--select", SELECT, *field_args(FIELDS), "--records", "r.jsonl", "--csv",
                "r.csv", site.list_url)
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-800:]}")
        want = site.expected(FIELDS, parent=site.list_url)
        recs = read_jsonl(ctx.dir("r.jsonl"))
        keys = ["url", "parent", "depth"] + [f.split("=")[0].replace("[]", "") for f in FIELDS]
        for r in recs:
            check(list(r) == keys, f"keys {list(r)}")
        compare(by_url(recs), want, "JSON Lines")
        check_csv(csv_rows(ctx.dir("r.csv")), want, keys, "CSV")
        kept = [n for n in os.listdir(ctx.dir("pages")) if not n.startswith("loopfetch-manifest")]
        check(kept == [], f"pages kept without --save: {kept[:3]}")
        with open(ctx.dir("pages/loopfetch-manifest.jsonl")) as f:
            lines = [json.loads(x) for x in f]
        check(len(lines) == PAGES and all(x["status"] == "saved" for x in lines),
              f"manifest: {len(lines)} lines")


@case
def reference_each(ctx):
    """--each '.infobox tr' on the start pages themselves (-i, no --select): one record per
    row, fields among the row's descendants (querySelectorAll: 'td td' finds the nested
    table's cells, 'tr' never the row itself), depth 0 and parent null."""
    with Site() as site:
        with open(ctx.dir("urls.txt"), "w") as f:
            f.write("\n".join(site.urls()) + "\n")
        p = run(ctx, "-i", "urls.txt", *field_args(EACH_FIELDS, EACH), "--records", "e.jsonl")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-800:]}")
        want = site.expected(EACH_FIELDS, EACH, parent=None, depth=0)
        check(sum(map(len, want.values())) > 5 * PAGES, "the reference found too few rows")
        compare(by_url(read_jsonl(ctx.dir("e.jsonl"))), want, "--each")


def readme_command():
    """The one command of README's "Crawling and extracting" section, as a list of words."""
    with open(os.path.join(harness.ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Crawling and extracting", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return shlex.split(block.replace("\\\n", " "))


@case
def readme_example(ctx):
    """README's Wikipedia example, word for word but for the list page's address (served here
    on 127.0.0.1, never the real site): every country's name, capital and population, as the
    reference reads them, in the CSV it names."""
    words = readme_command()
    check(words[0] == "loopfetch", f"README's command starts with {words[0]!r}")
    with Site() as site:
        args = [site.list_url if w.startswith("https://en.wikipedia.org/") else w
                for w in words[1:]]
        if site.list_url not in args:
            args.append(site.list_url)  # the default list page, made explicit here
        fields = [args[i + 1] for i, w in enumerate(args) if w in ("-e", "--extract")]
        out = [args[i + 1] for i, w in enumerate(args) if w == "--csv"]
        check(len(fields) >= 3 and out, f"README's command: {words}")
        p = run(ctx, *args)
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-800:]}")
        want = site.expected(fields, parent=site.list_url)
        keys = ["url", "parent", "depth"] + [f.split("=")[0] for f in fields]
        rows = csv_rows(ctx.dir(out[0]))
        check_csv(rows, want, keys, "README's CSV")
        named = [r for r in rows[1:] if all(r[3:])]
        check(len(named) >= PAGES // 2, f"only {len(named)} rows have every field")


@case
def bad_specs(ctx):
    """A malformed field or --each is refused before any request, exit 2, with its position;
    so are url/parent/depth as names and options that go with -e alone."""
    with Site() as site:
        cases = [
            (["-e", "pop=td::txt"], "-e 'pop=td::txt': expected ::text, ::attr(ATTR) or "
                                    "::url(ATTR) at position 6"),
            (["-e", "x=td[", "-e", "y=h1"], "-e 'x=td[': unclosed '[' at position 4"),
            (["-e", "depth=h1"], "field name 'depth' is reserved"),
            (["-e", "a=h1", "-e", "a=h2"], "-e 'a=h2': field name 'a' given twice at position 0"),
            (["-e", "a=h1", "--each", "tr:nope"], "--each 'tr:nope': "),
            (["-e", "h1"], "expected NAME=SELECTOR, found no '=' at position 2"),
            (["-e", "a\nb=h1"], "-e 'a\\x0ab=h1': expected NAME=SELECTOR (a name is letters, "
                                "digits, '_', '-', '.'), found \\x0a at position 1"),
            (["--csv", "x.csv"], "--csv goes with -e/--extract"),
            (["-e", "a=h1", "--records", "-", "--csv", "-"], "both on stdout"),
            (["-e", "a=h1", "--json"], "--json takes stdout"),
            (["-e", "a=h1", "-p", "2"], "-e with -p: give --records or --csv a file"),
            (["-e", "a=h1", "--compare", "--csv", "x.csv"], "leave out --records and --csv"),
        ]
        for args, msg in cases:
            p = run(ctx, *args, site.list_url)
            check(p.returncode == 2, f"{args}: exit {p.returncode}: {p.stderr}")
            check(msg in p.stderr, f"{args}: {p.stderr!r} lacks {msg!r}")
            check(len(p.stderr.strip().splitlines()) == 1, f"{args}: not one line: {p.stderr!r}")
        check(site.requests == 0, f"{site.requests} requests made before the refusals")


@case
def keep_and_stdout(ctx):
    """Records go to stdout by default; --save keeps the pages (as -o does) and gives the same
    records; a records file a killed run left torn is cut to its last whole record, and a CSV
    of other columns is refused (exit 5) before any request."""
    with Site(7) as site:
        urls, new = site.urls()[:6], site.urls()[6]
        p = run(ctx, "-e", "name=h1", *urls)
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-500:]}")
        plain = [json.loads(x) for x in p.stdout.splitlines()]
        check(len(plain) == 6 and all(r["parent"] is None and r["depth"] == 0 for r in plain),
              f"stdout: {p.stdout[:300]}")
        check("6 saved, 0 failed, 6 records," in p.stderr, f"summary: {p.stderr}")
        check(not os.path.exists(ctx.dir("pages/Germany.html")), "a page kept without --save")
        for opt in (["--save"], ["-o", "kept"]):
            p = run(ctx, "-e", "name=h1", "--force", *opt, *urls)
            check(p.returncode == 0, f"{opt}: exit {p.returncode}: {p.stderr[-500:]}")
            folder = ctx.dir("kept" if "-o" in opt else "pages")
            check(os.path.exists(os.path.join(folder, "Germany.html")), f"{opt}: not kept")
            got = sorted(json.dumps(json.loads(x)) for x in p.stdout.splitlines())
            check(got == sorted(json.dumps(r) for r in plain), f"{opt}: other records")
        # a rerun skips the pages it kept and appends only the records of pages it fetched
        p = run(ctx, "-e", "name=h1", "--save", *urls[:4], new)
        fetched = [json.loads(x)["url"] for x in p.stdout.splitlines()]
        check(p.returncode == 0 and fetched == [new] and "4 skipped, 1 record," in p.stderr,
              f"rerun: exit {p.returncode}: {p.stdout[:200]} {p.stderr[-300:]}")
        with open(ctx.dir("torn.jsonl"), "w") as f:
            f.write('{"url":"x","parent":null,"depth":0,"name":"X"}\n{"url":"y","par')
        p = run(ctx, "-e", "name=h1", "--records", "torn.jsonl", "-o", "t", urls[0])
        check(p.returncode == 0, f"torn: exit {p.returncode}: {p.stderr[-500:]}")
        lines = read_jsonl(ctx.dir("torn.jsonl"))
        check([r["url"] for r in lines] == ["x", urls[0]], f"torn file now: {lines}")
        with open(ctx.dir("other.csv"), "w") as f:
            f.write("url,parent,depth,title\r\n")
        before = site.requests
        p = run(ctx, "-e", "name=h1", "--csv", "other.csv", "-o", "o", urls[0])
        check(p.returncode == 5 and "has other columns" in p.stderr, f"{p.returncode} {p.stderr}")
        check(site.requests == before, "a request before the CSV was refused")


@case
def records_edges(ctx):
    """A reply that is not HTML gives no records; a page over --max-list-size (parsed in
    memory) fails alone; a password in a page's URL never reaches a record; after a redirect
    the record's url is the one requested and ::url resolves against where the page ended; a
    records file that cannot be written stops the job with exit 5 and one line."""
    with Site(2) as site:
        site.pages["/data.json"] = (b'{"h1": "not a page"}', "application/json")
        site.pages["/big"] = (b"<h1>big</h1>" + b"<p>x</p>" * 40000, "text/html")
        url = site.urls()[0]
        p = run(ctx, "-e", "name=h1", "--max-list-size", "100k", url, site.base + "/data.json",
                site.base + "/big")
        recs = [json.loads(x) for x in p.stdout.splitlines()]
        check(p.returncode == 1 and [r["url"] for r in recs] == [url],
              f"exit {p.returncode}, records {recs}")
        check("/big: body exceeds the size limit" in p.stderr and "2 saved, 1 failed, 1 record,"
              in p.stderr, p.stderr)
        secret = url.replace("http://", "http://user:s3cret@")
        p = run(ctx, "-e", "name=h1", "--csv", "c.csv", "--records", "r.jsonl", secret)
        with open(ctx.dir("c.csv"), encoding="utf-8") as f1, open(ctx.dir("r.jsonl")) as f2:
            both = f1.read() + f2.read()
        check(p.returncode == 0 and "s3cret" not in both and "http://***@127.0.0.1" in both,
              f"exit {p.returncode}: {both[:300]}")
        # a redirect: "url" is the page as requested, URLs resolve against where it ended
        p = run(ctx, "-e", "l[]=#mw-content-text p > a::url(href)", site.base + "/moved")
        rec = json.loads(p.stdout)
        check(rec["url"] == site.base + "/moved" and site.base + "/wiki/Other_0" in rec["l"],
              f"after a redirect: {p.stdout[:400]}")
        if os.path.exists("/dev/full"):
            p = run(ctx, "-e", "name=h1", "--records", "/dev/full", url)
            lines = p.stderr.strip().splitlines()
            check(p.returncode == 5 and "cannot write the records to /dev/full: No space" in p.stderr and
                  len([x for x in lines if "records" in x]) >= 1, f"{p.returncode}: {p.stderr}")


@case
def rerun_records(ctx):
    """A rerun of the same command (pages not kept) skips the pages whose records the file
    has, fetching nothing again and appending nothing twice; a record torn by a killed run is
    cut off and its page fetched again, once; --force fetches and appends again; with only
    --csv the CSV is what a rerun reads."""
    with Site(8) as site:
        urls = site.urls()
        args = ["-e", "name=h1", "--records", "r.jsonl", "--csv", "r.csv"]
        p = run(ctx, *args, *urls[:6])
        check(p.returncode == 0 and "6 records" in p.stderr, p.stderr)
        before = site.requests
        p = run(ctx, *args, *urls[:6])
        check(p.returncode == 0 and "6 skipped, 0 records" in p.stderr and site.requests == before,
              f"rerun: exit {p.returncode}, {site.requests - before} requests: {p.stderr}")
        with open(ctx.dir("r.jsonl"), "a") as f:  # a run killed while writing urls[6]'s record
            f.write('{"url":"%s","parent":null,"de' % urls[6])
        p = run(ctx, *args, *urls[:8])
        recs = read_jsonl(ctx.dir("r.jsonl"))
        rows = csv_rows(ctx.dir("r.csv"))[1:]
        check(p.returncode == 0 and "6 skipped, 2 records" in p.stderr, p.stderr)
        check(sorted(r["url"] for r in recs) == sorted(urls[:8]) and
              sorted(r[0] for r in rows) == sorted(urls[:8]), f"records now: {[r['url'] for r in recs]}")
        p = run(ctx, *args, "--force", urls[0])
        check(p.returncode == 0 and len(read_jsonl(ctx.dir("r.jsonl"))) == 9, "--force")
        for _ in range(2):
            p = run(ctx, "-e", "name=h1", "--csv", "only.csv", *urls[:3])
        check("3 skipped, 0 records" in p.stderr and len(csv_rows(ctx.dir("only.csv"))) == 4,
              f"--csv rerun: {p.stderr}")
        for _ in range(2):  # with workers: the parent skips, the workers append
            p = run(ctx, "-p", "2", "-e", "name=h1", "--records", "p.jsonl", *urls)
        check(p.returncode == 0 and "8 skipped, 0 records" in p.stderr and
              sorted(r["url"] for r in read_jsonl(ctx.dir("p.jsonl"))) == sorted(urls),
              f"-p rerun: {p.stderr}")


if __name__ == "__main__":
    sys.exit(run_main(CASES, "lf-e2e-extract-"))
