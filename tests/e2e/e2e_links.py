#!/usr/bin/env python3
"""End-to-end tests of links as a browser resolves them (issue 27): hosts and userinfo as the
WHATWG URL standard writes them, and every link the extractor prints is one the fetch step
takes (one parser, one answer).

    python3 tests/e2e/e2e_links.py --list
    python3 tests/e2e/e2e_links.py --loopfetch build/loopfetch CASE

Each case runs its own small HTTP server on 127.0.0.1 (e2e_cli.Site). Exit 0, 1 or 77.
"""

import sys

import e2e
import e2e_cli
import harness

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# The table: href on a UTF-8 page, and what a browser's a.href gives (None: no link).
HOSTS = [
    ("http://info\u3002xinhua.org/p", "http://info.xinhua.org/p"),
    ("http://wlbj.91open.com&zwj;", None),
    ("/RS=^ADA?q=^", "{base}/RS=%5EADA?q=^"),
    ("http://\uff27\uff4f.com", "http://go.com/"),
    ("http://B\u00dcCHER.example/", "http://xn--bcher-kva.example/"),
    ("http://256.256.256.256", None),
    ("http://999999999.", "http://59.154.201.255/"),
    ("http://[::127.0.0.1]", "http://[::7f00:1]/"),
    ("http://a:@www.example.com", "http://a@www.example.com/"),
    ("http://\U0001F600@host/", "http://%F0%9F%98%80@host/"),
    ("https://@@@example", "https://%40%40@example/"),
    ("http://a|b/", None),
    ("https://example.com%80/", None),
    ("http://ho%7Fst/", None),
    ("http://info.xinhua.org/p", "http://info.xinhua.org/p"),  # the same URL as the first: once
]


@case
def links_hosts_as_browser(t):
    s = t.site()
    lst = s.list_page("/list.html", [h for h, _ in HOSTS])
    p = t.run("--links", lst)
    t.expect_exit(p, 0)
    want = []
    for _, w in HOSTS:
        w = w and w.format(base=s.base)
        if w and w not in want:
            want.append(w)
    got = p.out.splitlines()
    t.check(got == want, "--links printed:\n%s\nexpected:\n%s" % ("\n".join(got), "\n".join(want)))
    t.check(all(l.isascii() for l in got), "a non-ASCII byte on stdout: %r" % got)


@case
def extracted_links_are_fetched(t):
    """Loopback forms the host parser rewrites are fetched (exit 0), links that fail the standard
    are skipped, never a failure of the fetch step."""
    s = t.site()
    port = s.base.rsplit(":", 1)[1]
    for path in ("/p/a", "/p/b", "/p/c", "/RS=%5EADA"):
        s.route(path, "<p>%s</p>" % path)
    # the same URLs written otherwise: one fetch and one file each (hosts in their ASCII form)
    hrefs = ["http://0x7f.1:%s/p/a" % port, "http://127.1:%s/p/b" % port,
             "http://127\u30020\u30020\u30021:%s/p/a" % port,
             "http://\uff11\uff12\uff17.0.0.1:%s/p/b" % port, "HTTP://127.0.0.1:%s/p/a" % port,
             "http://u:@127.0.0.1:%s/p/c" % port, "/RS=^ADA?q=^",
             "http://ho%7Fst/", "http://a|b/", "https://example.com%80/", "http://[::1/"]
    lst = s.list_page("/list.html", hrefs)
    out = t.path("out")
    p = t.run("-o", out, lst)
    t.expect_exit(p, 0)
    t.check(sorted(r["status"] for r in t.manifest(out)) == ["saved"] * 4,
            "manifest: %s" % t.manifest(out))
    for path in ("/p/a", "/p/b", "/p/c", "/RS=%5EADA"):
        t.check(len(s.hits(path)) == 1, "%s fetched %d times" % (path, len(s.hits(path))))
    t.check([r[0] for r in s.hits("/RS=%5EADA")] == ["/RS=%5EADA?q=^"],
            "requested as %s" % s.hits("/RS=%5EADA"))
    auth = s.hits("/p/c")[0][1].get("Authorization", "")
    t.check(auth == "Basic dTo=", "the empty password: Authorization %r" % auth)


def main():
    args = harness.parse_args(CASES, __doc__.split("\n\n")[0])
    if isinstance(args, int):
        return args
    return e2e.run_case(e2e_cli.CliCase(args), CASES[args.case], args.case)


if __name__ == "__main__":
    sys.exit(main())
