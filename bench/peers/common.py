"""Shared parts of the Python peers of bench/bench_peers.py (the ways the original articles
download the country pages): command line, the list page step, file names.

Every peer takes the same arguments:

    --list URL [--select SEL]   fetch the list page, pick links with BeautifulSoup's select()
    -i FILE                     or read URLs from FILE, one per line
    -o DIR                      save each page as DIR/<last path segment, decoded>[.html]
    --cacert FILE               verify TLS with this CA bundle
    -n N                        workers / concurrency (where the peer has the knob)

Run them with Debian's interpreter (/usr/bin/python3) and packages: python3-requests,
python3-bs4, python3-aiohttp. Exit status 0 when every page was saved, 1 otherwise.
"""

import argparse
import os
import sys
import urllib.parse

SELECTOR = "td .flagicon + a"


def parse_args(doc, workers=None):
    ap = argparse.ArgumentParser(description=doc)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--list", metavar="URL", help="list page to parse with bs4")
    src.add_argument("-i", dest="input", metavar="FILE", help="file of URLs, one per line")
    ap.add_argument("--select", default=SELECTOR)
    ap.add_argument("-o", dest="out", required=True)
    ap.add_argument("--cacert")
    if workers is not None:
        ap.add_argument("-n", dest="workers", type=int, default=workers)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def links_from_html(body, base, selector=SELECTOR):
    """What the articles do: BeautifulSoup(...).select('td .flagicon + a'), hrefs made absolute.
    Fragments are dropped and repeats removed (the list page links China and India twice)."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(body, "html.parser")
    out, seen = [], set()
    for a in soup.select(selector):
        href = a.get("href")
        if not href:
            continue
        url = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))[0]
        if url.startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            out.append(url)
    return out


def read_list(path):
    with open(path, encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def file_name(url):
    """Last path segment, percent-decoded, '.html' added unless present."""
    seg = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1] or "index"
    name = urllib.parse.unquote(seg).replace("/", "_")
    return name if name.endswith(".html") else name + ".html"


def save(out, url, body):
    with open(os.path.join(out, file_name(url)), "wb") as f:
        f.write(body)


def finish(urls, failures):
    """Prints at most a few failures and returns the exit status."""
    for url, err in failures[:5]:
        print("failed: %s: %s" % (url, err), file=sys.stderr)
    if len(failures) > 5:
        print("... %d failures in all" % len(failures), file=sys.stderr)
    if not urls:
        print("no URLs", file=sys.stderr)
        return 1
    return 1 if failures else 0
