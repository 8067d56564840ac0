#!/usr/bin/env python3
"""Parse and extract cost per MB of HTML: loopfetch's (gumbo, lf_extract_page) against lxml's
(libxml2, what Scrapy's parsel uses), on the Wikipedia-like articles of tests/fixtures/site.py
(20 KB to 1 MB each, ~0.24 MB on average, 55.5 MB in all). Issue 21, item 5: "the parse cost
per MB against lxml's is the number to watch".

    meson compile -C build && python3 bench/bench_parse.py [--pages N] [--runs R]

Both sides get the same bytes in memory and do the same work per page: find the charset, parse
the whole page into a tree, then take five fields (the <h1>'s text, the <title>'s, the first
paragraph's text, every section heading's id, the first paragraph link resolved against the
page URL). loopfetch: build/bench/bench_extract (one C process, lf_extract_page with and without
the five fields); lxml: lxml.html.document_fromstring and five compiled XPath expressions (the
fastest way lxml offers; parsel would add its CSS-to-XPath layer on top), in this process.
Times are CPU seconds of the process (no I/O inside), best of R runs over all pages; the fields
of the first page are compared so the two are known to do the same work. Nothing but CPU: run
it on an idle machine.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402

try:
    from lxml import etree, html as lhtml
except ImportError:  # pyenv's python3: Debian's python3-lxml is one folder away
    sys.path.append("/usr/lib/python3/dist-packages")
    from lxml import etree, html as lhtml

site = harness.fixture("site")
PAGE_URL = "https://en.wikipedia.org/wiki/Page"
WS = " \t\r\n\f"

XPATHS = {
    "name": etree.XPath("(//h1)[1]"),
    "title": etree.XPath("(//title)[1]"),
    "first_para": etree.XPath("(//*[@id='mw-content-text']//p)[1]"),
    "sections": etree.XPath("//h2//*[contains(concat(' ', normalize-space(@class), ' '), "
                            "' mw-headline ')]/@id"),
    "first_link": etree.XPath("(//*[@id='mw-content-text']//p//a)[1]/@href"),
}


def text(els):
    if not els:
        return None
    return re.sub("[" + WS + "]+", " ", els[0].text_content()).strip(WS)


def lxml_fields(body):
    doc = lhtml.document_fromstring(body)
    link = XPATHS["first_link"](doc)
    return {
        "name": text(XPATHS["name"](doc)),
        "title": text(XPATHS["title"](doc)),
        "first_para": text(XPATHS["first_para"](doc)),
        "sections": [str(s) for s in XPATHS["sections"](doc)],
        "first_link": urllib.parse.urldefrag(urllib.parse.urljoin(PAGE_URL, link[0]))[0]
        if link else None,
    }


def lxml_pass(bodies, fields):
    t0 = time.process_time()
    for b in bodies:
        if fields:
            lxml_fields(b)
        else:
            lhtml.document_fromstring(b)
    return time.process_time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=233, help="articles (default all 233)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    exe = os.path.join(a.build, "bench", "bench_extract")
    if not os.access(exe, os.X_OK):
        sys.exit(f"bench_parse: {exe} is not built (meson compile -C {a.build})")
    paths = [urllib.parse.urlsplit(u).path for u in site.expected_links("http://x")][:a.pages]
    bodies = [site.page_body(p) for p in paths]
    total = sum(map(len, bodies))
    mb = total / 1e6
    with tempfile.TemporaryDirectory(prefix="lf-bench-parse-") as tmp:
        files = []
        for i, b in enumerate(bodies):
            files.append(os.path.join(tmp, "%d.html" % i))
            with open(files[-1], "wb") as f:
                f.write(b)
        out = subprocess.run([exe, str(a.runs), *files], capture_output=True, text=True,
                             check=True).stdout
    c = json.loads(out)
    lxml_fields(bodies[0])  # warm
    lp = sorted(lxml_pass(bodies, False) for _ in range(a.runs))
    le = sorted(lxml_pass(bodies, True) for _ in range(a.runs))
    mine, theirs = c["first"], lxml_fields(bodies[0])
    same = {k: mine.get(k) == theirs[k] for k in theirs}
    print(f"Parse and extract, CPU per MB of HTML: {len(bodies)} Wikipedia-like pages, "
          f"{mb:.1f} MB, best of {a.runs} (median in brackets)")
    print(f"{'':22}{'parse ms/MB':>20}{'parse+5 fields ms/MB':>26}{'MB/s':>8}")
    rows = [("loopfetch (gumbo)", c["parse_best"], c["parse_median"], c["extract_best"],
             c["extract_median"]),
            ("lxml (libxml2)", lp[0], lp[len(lp) // 2], le[0], le[len(le) // 2])]
    for name, pb, pm, eb, em in rows:
        print(f"{name:22}{pb / mb * 1e3:>11.2f} [{pm / mb * 1e3:6.2f}]"
              f"{eb / mb * 1e3:>17.2f} [{em / mb * 1e3:6.2f}]{mb / eb:>8.1f}")
    g = c["gumbo_best"]
    print(f"{'  of which gumbo alone':22}{g / mb * 1e3:>11.2f} [{c['gumbo_median'] / mb * 1e3:6.2f}]"
          f"{'':26}{mb / g:>8.1f}")
    print(f"{'loopfetch / lxml':22}{c['parse_best'] / lp[0]:>11.2f}x{'':8}"
          f"{c['extract_best'] / le[0]:>17.2f}x")
    print(f"fields extra over the parse: loopfetch "
          f"{(c['extract_best'] - c['parse_best']) / c['parse_best'] * 100:.1f} %, lxml "
          f"{(le[0] - lp[0]) / lp[0] * 100:.1f} %")
    print("first page's fields equal: " + ", ".join(f"{k} {'yes' if v else 'NO'}"
                                                    for k, v in same.items()))
    if not all(same.values()):
        print(f"  loopfetch: {json.dumps(mine)[:400]}\n  lxml:      {json.dumps(theirs)[:400]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
