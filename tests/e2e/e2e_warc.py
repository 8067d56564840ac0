#!/usr/bin/env python3
"""End-to-end cases for --warc-file (README "Archiving (WARC)"), checked by tools no one here
wrote and by an independent reader:

  - npm's warcio (warcio.js) parses and indexes every WARC file a case writes (`warcio index`),
    and its `warcio cdx-index` must equal our --warc-cdx index line for line;
  - read_warc() below walks each file gzip member by gzip member (one record each), recomputes
    every WARC-Block-Digest and WARC-Payload-Digest (sha1, base32), and checks the heads;
  - the decoded payload of every response is byte-identical to the page saved on disk;
  - Debian's `wget --warc-file` fetches the same pages: same records per URL, same payload
    digests.

    python3 tests/e2e/e2e_warc.py --loopfetch build/loopfetch CASE     (or --list)

warcio is installed by scripts/deps.sh into .deps/ (git-ignored); a case installs it there
itself if it is missing (npm, from the npm registry).
"""

import base64
import ctypes
import ctypes.util
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
import harness  # noqa: E402
import e2e_modes as m  # noqa: E402

check = m.check
hostile = harness.fixture("hostile")
CASES = {}
WARCIO_VERSION = "2.4.11"
DEPS = os.path.join(harness.ROOT, ".deps")
LARGE = 101 * 1024 * 1024  # past 100 MB, as the issue asks
LONG = 48 * 1024 * 1024


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# ---- the server: every kind of response the archive must hold ----

def page(name, size=6000):
    seed = hashlib.sha256(name.encode()).hexdigest()
    return (f"<!DOCTYPE html><title>{name}</title><p>" + seed * (size // 64 + 1))[:size].encode()


SAME = b"<!DOCTYPE html><p>the same body under two URLs</p>\n" * 40


def brotli_decode(data):
    lib = ctypes.CDLL(ctypes.util.find_library("brotlidec") or "libbrotlidec.so.1")
    lib.BrotliDecoderDecompress.argtypes = [ctypes.c_size_t, ctypes.c_char_p,
                                            ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
    cap = 64 * len(data) + 65536
    out = ctypes.create_string_buffer(cap)
    size = ctypes.c_size_t(cap)
    if lib.BrotliDecoderDecompress(len(data), data, ctypes.byref(size), out) != 1:
        raise m.Failure("brotli payload does not decode")
    return out.raw[:size.value]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=(), chunked=False):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 1000):  # many chunks, with an extension on one
                piece = body[i:i + 1000]
                ext = ";name=value" if i == 0 else ""
                self.wfile.write(b"%x%s\r\n%s\r\n" % (len(piece), ext.encode(), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def do_GET(self):
        p = self.path
        html = [("Content-Type", "text/html; charset=utf-8")]
        etag = '"v1-' + hashlib.sha1(p.encode()).hexdigest()[:8] + '"'
        if p in ("/plain.html", "/next.html", "/old.html"):
            if self.headers.get("If-None-Match") == etag:
                return self.send(304, headers=[("ETag", etag)])
            return self.send(200, page(p), html + [("ETag", etag)])
        if p == "/gzip.html":
            return self.send(200, gzip.compress(page(p), mtime=0),
                             html + [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
        if p == "/br.html":
            return self.send(200, hostile.brotli(page(p)), html + [("Content-Encoding", "br")])
        if p == "/chunked.html":
            return self.send(200, page(p, 9000), html, chunked=True)
        if p == "/chunked-gzip.html":
            return self.send(200, gzip.compress(page(p, 20000), mtime=0),
                             html + [("Content-Encoding", "gzip")], chunked=True)
        if p == "/empty.txt":
            return self.send(200, b"", [("Content-Type", "text/plain")])
        if p in ("/same1.html", "/same2.html"):
            return self.send(200, SAME, html)
        if p == "/r1":  # a chain of two redirects, the first one's body chunked
            return self.send(302, b"<p>moved to r2</p>" * 30, html + [("Location", "/r2")],
                             chunked=True)
        if p == "/r2":
            return self.send(301, b"<p>moved</p>", html + [("Location", "/next.html")])
        if p == "/missing.html":
            return self.send(404, b"<p>no such page</p>", html)
        if p == "/large.bin":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(LARGE))
            self.end_headers()
            block = hashlib.sha256(b"large").digest() * 512  # 16 KiB: repeats within deflate's window
            for _ in range(LARGE // len(block)):
                self.wfile.write(block)
            return
        if p == "/flaky.html":  # 503 the first time, then the page
            with FLAKY_LOCK:
                FLAKY[self.server.server_address[1]] = n = FLAKY.get(
                    self.server.server_address[1], 0) + 1
            if n == 1:
                return self.send(503, b"<p>try again</p>", html + [("Retry-After", "0")])
            return self.send(200, page(p), html)
        if p == "/cut.html":  # a body cut short: the connection closes half-way
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "10000")
            self.end_headers()
            self.wfile.write(page(p, 3000))
            self.wfile.flush()
            self.close_connection = True
            return
        if p.startswith("/slow/"):  # for kills: each page takes a while
            time.sleep(0.05)
            return self.send(200, page(p, 20000), html)
        self.send(404, b"not here", [("Content-Type", "text/plain")])


FLAKY, FLAKY_LOCK = {}, threading.Lock()


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client killed mid-body (warc_kill9_rerun) is expected


class Server:
    def __init__(self):
        self.httpd = ThreadingServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


PATHS = ["/plain.html", "/gzip.html", "/br.html", "/chunked.html", "/chunked-gzip.html",
         "/empty.txt", "/same1.html", "/same2.html", "/r1", "/missing.html"]


# ---- reading a WARC file without any WARC library ----

def b32sha1(data):
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def members(raw):
    """The file's gzip members, each decompressed on its own: [(offset, length, data)]."""
    out, off = [], 0
    while off < len(raw):
        d = zlib.decompressobj(wbits=31)
        data = d.decompress(raw[off:])
        check(d.eof, f"gzip member at {off} is not whole")
        length = len(raw) - off - len(d.unused_data)
        out.append((off, length, data))
        off += length
    return out


def parse_record(data, where):
    check(data.startswith(b"WARC/1.1\r\n"), f"{where}: not a WARC/1.1 record: {data[:20]!r}")
    end = data.index(b"\r\n\r\n")
    head = {}
    for line in data[10:end].decode().split("\r\n"):
        k, v = line.split(": ", 1)
        head.setdefault(k, []).append(v)
    n = int(head["Content-Length"][0])
    block = data[end + 4:end + 4 + n]
    check(len(block) == n, f"{where}: block shorter than Content-Length")
    return {k: v[0] for k, v in head.items()}, head, block, data[end + 4 + n:]


def read_warc(path):
    """Every record of a file, checked: one gzip member per record (compressed files), heads,
    digests, Content-Length, no angle brackets around the target URI, sub-second dates."""
    with open(path, "rb") as f:
        raw = f.read()
    recs = []
    if path.endswith(".gz"):
        units = members(raw)
    else:
        units, off = [], 0
        while off < len(raw):
            rec = parse_record(raw[off:], f"{path}@{off}")
            length = len(raw) - off - len(rec[3]) + 4
            units.append((off, length, raw[off:off + length]))
            off += length
    for off, length, data in units:
        h, multi, block, rest = parse_record(data, f"{path}@{off}")
        check(rest == b"\r\n\r\n", f"{path}@{off}: a member holds more than one record")
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", h["WARC-Date"]),
              f"{path}@{off}: WARC-Date {h['WARC-Date']} lacks sub-second precision")
        uri = h.get("WARC-Target-URI", "")
        check(not uri.startswith("<"), f"{path}@{off}: angle brackets around {uri}")
        if "WARC-Block-Digest" in h:
            check(h["WARC-Block-Digest"] == b32sha1(block), f"{path}@{off}: block digest wrong")
        rec = {"file": os.path.basename(path), "offset": off, "length": length, "h": h,
               "multi": multi, "block": block}
        if h["WARC-Type"] in ("response", "revisit", "request"):
            i = block.find(b"\r\n\r\n")
            check(i > 0, f"{path}@{off}: no HTTP head")
            rec["http"], rec["payload"] = block[:i + 4], block[i + 4:]
            lines = rec["http"].decode("latin-1").split("\r\n")
            rec["status_line"] = lines[0]
            rec["fields"] = {ln.split(":", 1)[0].lower(): ln.split(":", 1)[1].strip()
                             for ln in lines[1:] if ":" in ln}
            check("transfer-encoding" not in rec["fields"],
                  f"{path}@{off}: stored head says Transfer-Encoding for a de-chunked body")
            if h["WARC-Type"] == "response":
                check(h["WARC-Payload-Digest"] == b32sha1(rec["payload"]),
                      f"{path}@{off}: payload digest wrong")
                check(re.match(r"HTTP/1\.[01] \d{3}", lines[0]), f"{path}@{off}: {lines[0]!r}")
        recs.append(rec)
    check(recs and recs[0]["h"]["WARC-Type"] == "warcinfo", f"{path}: does not start with warcinfo")
    return recs


def decoded(rec):
    enc = rec["fields"].get("content-encoding", "").lower()
    if enc == "gzip":
        return gzip.decompress(rec["payload"])
    if enc == "br":
        return brotli_decode(rec["payload"])
    return rec["payload"]


# ---- warcio.js ----

def warcio():
    exe = os.path.join(DEPS, "node_modules", ".bin", "warcio")
    if not os.path.exists(exe):
        if not shutil.which("npm"):
            raise m.Failure("npm is not installed (scripts/deps.sh installs it)")
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", DEPS,
                            f"warcio@{WARCIO_VERSION}"], capture_output=True, text=True)
        check(p.returncode == 0 and os.path.exists(exe), f"npm install warcio: {p.stderr[-400:]}")
    return exe


def warcio_checks(paths, recs_by_file):
    """warcio.js parses every record of every file; its CDXJ index equals ours. (One run of
    each command for all the files: node's start is most of a small file's time.)"""
    exe = warcio()
    p = subprocess.run([exe, "index", *paths, "--fields=filename,warc-type,warc-target-uri,offset,"
                        "length"], capture_output=True, text=True, timeout=300)
    check(p.returncode == 0 and not p.stderr.strip(), f"warcio index: {p.stderr[-400:]}")
    rows = {}
    for line in p.stdout.splitlines():
        row = json.loads(line)
        rows.setdefault(os.path.basename(row["filename"]), []).append(row)
    for path in paths:
        got, ours = rows.get(os.path.basename(path), []), recs_by_file[path]
        check(len(got) == len(ours), f"warcio read {len(got)} records in {path}, we wrote "
                                     f"{len(ours)}")
        for row, rec in zip(got, ours):
            # (warcio's length of an uncompressed record leaves out the closing CR LF CR LF)
            want_len = rec["length"] if path.endswith(".gz") else rec["length"] - 4
            check(row["warc-type"] == rec["h"]["WARC-Type"] and int(row["offset"]) == rec["offset"]
                  and int(row["length"]) == want_len,
                  f"warcio saw {row} where we wrote {rec['h']['WARC-Type']}@{rec['offset']}")
    indexed = [pth for pth in paths if os.path.exists(re.sub(r"\.warc(\.gz)?$", ".cdxj", pth))]
    if indexed:
        p = subprocess.run([exe, "cdx-index", *indexed], capture_output=True, text=True,
                           timeout=300)
        check(p.returncode == 0, f"warcio cdx-index: {p.stderr[-400:]}")
        ours_cdx = []
        for path in indexed:
            with open(re.sub(r"\.warc(\.gz)?$", ".cdxj", path)) as f:
                lines = f.read().splitlines()
            check(lines == sorted(lines), f"the index of {path} is not sorted")
            ours_cdx += lines
        check(sorted(p.stdout.splitlines()) == sorted(ours_cdx),
              f"our index differs from warcio's:\n ours {sorted(ours_cdx)[:2]}\n warcio "
              f"{sorted(p.stdout.splitlines())[:2]}")


def warc_files(folder, stem):
    """The files of NAME* in the order written: NAME.warc.gz, then NAME-00001.warc.gz, ..."""
    def order(n):
        m_ = re.search(r"-(\d{5})\.warc", n)
        return (n[:m_.start()] if m_ else n.split(".warc")[0], int(m_.group(1)) if m_ else 0)
    return [os.path.join(folder, n) for n in sorted(
        (n for n in os.listdir(folder) if n.startswith(stem) and re.search(r"\.warc(\.gz)?$", n)),
        key=order)]


def check_archive(folder, stem, out=None, manifest=None):
    """All checks over every file NAME*.warc[.gz] in folder; returns the records by URL."""
    paths = warc_files(folder, stem)
    check(paths, f"no WARC file {stem}* in {folder}")
    by_file = {p: read_warc(p) for p in paths}
    warcio_checks(paths, by_file)
    recs = [r for p in paths for r in by_file[p]]
    ids = {r["h"]["WARC-Record-ID"]: r for r in recs}
    check(len(ids) == len(recs), "record ids repeat")
    by_url = {}
    for r in recs:
        t = r["h"]["WARC-Type"]
        if t == "warcinfo":
            continue
        for other in r["multi"].get("WARC-Concurrent-To", []):
            check(other in ids, f"WARC-Concurrent-To {other} names no record")
            o = ids[other]
            check(o["h"]["WARC-Target-URI"] == r["h"]["WARC-Target-URI"],
                  "WARC-Concurrent-To ties records of different URLs")
        by_url.setdefault(r["h"]["WARC-Target-URI"], []).append(r)
    for url, rs in by_url.items():
        kinds = [r["h"]["WARC-Type"] for r in rs]
        check(kinds.count("request") == len(kinds) - kinds.count("request"),
              f"{url}: records {kinds} are not request/response pairs")
    if out:  # the saved pages are the decoded payloads
        for rec in manifest or m.manifest(out):
            if rec["status"] != "saved":
                continue
            url = rec["url"]
            for _ in range(10):  # follow the redirect hops' records to the page
                hop = [r for r in by_url.get(url, []) if r["h"]["WARC-Type"] != "request"]
                loc = hop[-1]["fields"].get("location") if hop else None
                if not loc or not hop[-1]["status_line"].split()[1].startswith("3"):
                    break
                url = loc if "://" in loc else url.split("/", 3)[0] + "//" + url.split("/")[2] + loc
            resp = [r for r in by_url.get(url, []) if r["h"]["WARC-Type"] == "response"
                    and r["status_line"].split()[1] == "200"]
            if not resp:  # a revisit: its payload is the record it refers to
                rv = [r for r in by_url.get(url, []) if r["h"]["WARC-Type"] == "revisit"]
                check(rv, f"{url}: saved, but no response or revisit record")
                target = rv[-1]["h"].get("WARC-Refers-To-Target-URI")
                resp = [r for r in by_url.get(target, []) if r["h"]["WARC-Type"] == "response"]
                check(resp, f"{url}: its revisit refers to {target}, which has no response")
            with open(os.path.join(out, rec["file"]), "rb") as f:
                saved = f.read()
            check(decoded(resp[-1]) == saved, f"{url}: the WARC payload, decoded, differs from "
                                              f"the saved {rec['file']}")
    return by_url


def urls(srv, paths=PATHS):
    return "".join(srv.base + p + "\n" for p in paths)


# ---- cases ----

@case
def warc_one_loop(ctx):
    """Every kind of response, archived whole and truthfully."""
    with Server() as srv:
        out, w = ctx.dir("out"), ctx.dir("w")
        p = ctx.run("-q", "-i", "-", "-o", out, "--warc-file", w, "--warc-cdx", stdin=urls(srv))
        check(p.returncode == 1, f"exit {p.returncode} (the 404 fails): {p.stderr[-300:]}")
        by = check_archive(ctx.tmp, "w", out)
        b = srv.base
        kinds = lambda u: [r["h"]["WARC-Type"] for r in by.get(b + u, [])]  # noqa: E731
        for u in ["/plain.html", "/gzip.html", "/br.html", "/chunked.html", "/chunked-gzip.html",
                  "/empty.txt", "/missing.html"]:
            check(kinds(u) == ["request", "response"], f"{u}: records {kinds(u)}")
        # the same body twice: whichever was written second is a revisit of the first
        first, second = sorted(["/same1.html", "/same2.html"], key=lambda u: by[b + u][1]["offset"])
        check(kinds(first) == ["request", "response"] and kinds(second) == ["request", "revisit"],
              f"same bodies: {kinds(first)}, {kinds(second)}")
        rv = by[b + second][1]["h"]
        check(rv["WARC-Profile"].endswith("/identical-payload-digest") and
              rv["WARC-Refers-To-Target-URI"] == b + first and
              rv["WARC-Refers-To"] == by[b + first][1]["h"]["WARC-Record-ID"] and
              rv["WARC-Refers-To-Date"] == by[b + first][1]["h"]["WARC-Date"] and
              rv["WARC-Payload-Digest"] == by[b + first][1]["h"]["WARC-Payload-Digest"],
              f"the revisit: {rv}")
        # one pair per redirect hop, the hop bodies de-chunked and whole
        for u, code in [("/r1", "302"), ("/r2", "301"), ("/next.html", "200")]:
            check(kinds(u) == ["request", "response"], f"redirect hop {u}: {kinds(u)}")
            resp = by[b + u][1]
            check(resp["status_line"].split()[1] == code, f"{u}: {resp['status_line']}")
        check(by[b + "/r1"][1]["payload"] == b"<p>moved to r2</p>" * 30, "/r1's body not whole")
        check("WARC-Truncated" not in by[b + "/r1"][1]["h"], "/r1 marked truncated")
        # content coding kept, its header with it; chunked bodies stored de-chunked
        check(by[b + "/gzip.html"][1]["fields"]["content-encoding"] == "gzip", "gzip header lost")
        check(by[b + "/chunked.html"][1]["fields"].get("x-archive-orig-transfer-encoding")
              == "chunked", "the original Transfer-Encoding is not kept under X-Archive-Orig-")
        check(by[b + "/empty.txt"][1]["payload"] == b"", "empty body is not empty")
        req = by[b + "/plain.html"][0]
        check(req["block"].startswith(b"GET /plain.html HTTP/1.1\r\n") and
              b"User-Agent: loopfetch/" in req["block"], f"request: {req['block'][:80]!r}")
        check(req["h"]["WARC-IP-Address"] == "127.0.0.1", "WARC-IP-Address")
        info = read_warc(ctx.dir("w.warc.gz"))[0]["block"].decode()
        for field in ("software: loopfetch/", "format: WARC File Format 1.1", "hostname: ",
                      "command-line: loopfetch -q -i - -o "):
            check(field in info, f"warcinfo lacks {field!r}: {info}")


@case
def warc_jobs_take_turns(ctx):
    """Archive jobs take turns (capture.c: at most one per pool thread but one, so the pages'
    own file jobs never queue behind every body): with a pool of two threads, one job at a time,
    30 bodies of ~500 KB arriving beside a long one (48 MB; nginx, HTTP/1.1 over TLS) all come
    out whole, and in turn: each is written before the long one, which does not keep the turn
    from one of its jobs to the next."""
    import e2e_tls
    with e2e_tls.Nginx(ctx.tmp, 30, size=500_000, http2=False) as srv:
        with open(os.path.join(srv.tmp, "www", "p", "long.bin"), "wb") as f:
            block = hashlib.sha256(b"long").digest() * 512
            for _ in range(LONG // len(block)):
                f.write(block)
        os.chmod(os.path.join(srv.tmp, "www", "p", "long.bin"), 0o644)
        long_url = srv.urls[0].rsplit("/", 1)[0] + "/long.bin"
        out, w = ctx.dir("out"), ctx.dir("turns")
        old = os.environ.get("UV_THREADPOOL_SIZE")
        os.environ["UV_THREADPOOL_SIZE"] = "2"
        try:
            p = ctx.run("-q", "--cacert", srv.ca, "--per-host", "40", "-i", "-", "-o", out,
                        "--warc-file", w, stdin="\n".join([long_url] + srv.urls) + "\n")
        finally:
            if old is None:
                del os.environ["UV_THREADPOOL_SIZE"]
            else:
                os.environ["UV_THREADPOOL_SIZE"] = old
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        by = check_archive(ctx.tmp, "turns", out)
        for u in [long_url] + srv.urls:
            kinds = [r["h"]["WARC-Type"] for r in by.get(u, [])]
            check(kinds == ["request", "response"], f"{u}: records {kinds}")
        long_at = by[long_url][1]["offset"]
        late = [u for u in srv.urls if by[u][1]["offset"] > long_at]
        check(not late, f"{len(late)} of 30 bodies waited for the long one to end: {late[:3]}")


@case
def warc_uncompressed_and_nodedup(ctx):
    """--no-warc-compression writes NAME.warc; --no-warc-dedup writes both bodies."""
    with Server() as srv:
        out, w = ctx.dir("out"), ctx.dir("plain")
        p = ctx.run("-q", "-i", "-", "-o", out, "--warc-file", w, "--no-warc-compression",
                    "--no-warc-dedup", stdin=urls(srv, ["/same1.html", "/same2.html"]))
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        check(os.path.exists(w + ".warc") and not os.path.exists(w + ".warc.gz"), "no NAME.warc")
        by = check_archive(ctx.tmp, "plain", out)
        for u in ("/same1.html", "/same2.html"):
            check([r["h"]["WARC-Type"] for r in by[srv.base + u]] == ["request", "response"],
                  f"{u}: not a full response with --no-warc-dedup")


@case
def warc_rerun_new_file(ctx):
    """A rerun never rewrites a WARC file: it starts NAME-00001.warc.gz."""
    with Server() as srv:
        out, w = ctx.dir("out"), ctx.dir("w")
        ctx.run("-q", "-i", "-", "-o", out, "--warc-file", w, stdin=urls(srv, ["/plain.html"]))
        with open(w + ".warc.gz", "rb") as f:
            first = f.read()
        p = ctx.run("-q", "--force", "-i", "-", "-o", out, "--warc-file", w,
                    stdin=urls(srv, ["/plain.html", "/gzip.html"]))
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        with open(w + ".warc.gz", "rb") as f:
            check(f.read() == first, "the first run's file changed")
        check(os.path.exists(w + "-00001.warc.gz"), "the rerun did not start NAME-00001.warc.gz")
        check_archive(ctx.tmp, "w", out)


@case
def warc_large(ctx):
    """A body over 100 MB streams through (spooled, never whole in memory), digests right, and
    decodes to the saved file. (Its bytes repeat every 16 KiB, so the file stays small.)"""
    with Server() as srv:
        out, w = ctx.dir("out"), ctx.dir("big")
        p = ctx.run("-q", "--max-size", "200M", "-i", "-", "-o", out, "--warc-file", w,
                    stdin=urls(srv, ["/large.bin"]), timeout=600)
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        recs = read_warc(w + ".warc.gz")  # digests recomputed there
        resp = [r for r in recs if r["h"]["WARC-Type"] == "response"]
        check(len(resp) == 1 and len(resp[0]["payload"]) == LARGE, "large response not whole")
        with open(os.path.join(out, "large.bin"), "rb") as f:
            check(f.read() == resp[0]["payload"], "large payload differs from the saved file")
        for r in recs:  # what warcio_checks needs, without the 100 MB
            r.pop("payload", None), r.pop("block", None)
        del resp
        warcio_checks([w + ".warc.gz"], {w + ".warc.gz": recs})


@case
def warc_h2(ctx):
    """HTTP/2 over TLS (nginx): HTTP/1.1-style status lines, WARC-Protocol: h2."""
    import e2e_tls
    with e2e_tls.Nginx(ctx.tmp, 20) as srv:
        out, w = ctx.dir("out"), ctx.dir("h2")
        p = ctx.run("-q", "--cacert", srv.ca, "-i", "-", "-o", out, "--warc-file", w,
                    "--warc-cdx", stdin="\n".join(srv.urls) + "\n")
        check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
        by = check_archive(ctx.tmp, "h2", out)
        for url in srv.urls:
            req, resp = by[url]
            check(resp["h"]["WARC-Protocol"] == "h2" and req["h"]["WARC-Protocol"] == "h2",
                  f"{url}: WARC-Protocol {resp['h'].get('WARC-Protocol')}")
            check(resp["status_line"] == "HTTP/1.1 200 OK", f"{url}: {resp['status_line']!r}")
            check(req["block"].split(b"\r\n")[0].endswith(b" HTTP/1.1"), f"{url}: request line")


@case
def warc_same_as_wget(ctx):
    """Side by side with Debian's wget --warc-file on the same pages: the same records per URL
    (a request and a response per hop) and the same payload digests."""
    wget = shutil.which("wget")
    if not wget:
        raise m.Failure("wget is not installed (scripts/deps.sh installs it)")
    paths = ["/plain.html", "/gzip.html", "/br.html", "/chunked.html", "/empty.txt", "/r1",
             "/missing.html", "/same1.html", "/same2.html"]
    with Server() as srv:
        out = ctx.dir("out")
        p = ctx.run("-q", "-i", "-", "-o", out, "--warc-file", ctx.dir("ours"), "--no-warc-dedup",
                    stdin=urls(srv, paths))
        check(p.returncode == 1, f"exit {p.returncode}: {p.stderr[-300:]}")
        wdir = ctx.dir("wget")
        os.makedirs(wdir)
        with open(os.path.join(wdir, "urls"), "w") as f:
            f.write(urls(srv, paths))
        subprocess.run([wget, "-q", "-i", "urls", "--warc-file", "theirs", "--no-warc-keep-log"],
                       cwd=wdir, capture_output=True, timeout=120)
        ours = check_archive(ctx.tmp, "ours", out)
        theirs = {}
        for r in read_warc_loose(os.path.join(wdir, "theirs.warc.gz")):
            theirs.setdefault(r["uri"], []).append(r)
        check(set(ours) == set(theirs), f"URLs differ: ours {sorted(set(ours) - set(theirs))}, "
                                        f"wget's {sorted(set(theirs) - set(ours))}")
        for url in ours:
            mine = [(r["h"]["WARC-Type"], r["h"].get("WARC-Payload-Digest")) for r in ours[url]
                    if r["h"]["WARC-Type"] != "request"]
            wget_ = [(r["type"], r["payload_digest"]) for r in theirs[url] if r["type"] != "request"]
            check([t for t, _ in mine] == [t for t, _ in wget_], f"{url}: ours {mine}, wget {wget_}")
            check([d for _, d in mine] == [d for _, d in wget_],
                  f"{url}: payload digests differ: ours {mine}, wget {wget_}")
            for r in theirs[url]:  # wget's defect: a chunked body's digest over the chunks
                if r["type"] == "response" and r["chunked"]:
                    check(r["wget_digest"] != r["payload_digest"], "wget fixed its digest: "
                                                                   "README's difference is gone")
            check(sum(r["h"]["WARC-Type"] == "request" for r in ours[url]) ==
                  sum(r["type"] == "request" for r in theirs[url]), f"{url}: request records")


def dechunk(data):
    out, p = b"", 0
    while True:
        e = data.index(b"\r\n", p)
        size = int(data[p:e].split(b";")[0], 16)
        p = e + 2
        if size == 0:
            return out
        out += data[p:p + size]
        p += size + 2


def read_warc_loose(path):
    """wget's records (WARC/1.0, angle brackets around URIs): type, URI, payload digest."""
    out = []
    with gzip.open(path, "rb") as f:
        raw = f.read()
    off = 0
    while off < len(raw):
        end = raw.index(b"\r\n\r\n", off)
        head = dict(line.split(": ", 1) for line in raw[off:end].decode().split("\r\n")[1:])
        n = int(head["Content-Length"])
        uri = head.get("WARC-Target-URI", "").strip("<>")
        block = raw[end + 4:end + 4 + n]
        digest = head.get("WARC-Payload-Digest")
        rec = {"type": head["WARC-Type"], "uri": uri, "payload_digest": digest,
               "wget_digest": digest, "chunked": False}
        i = block.find(b"\r\n\r\n")
        if head["WARC-Type"] == "response" and re.search(rb"(?im)^transfer-encoding:\s*chunked",
                                                         block[:i]):
            # wget stores the chunks and digests them; the payload is what they carry
            rec["chunked"] = True
            rec["payload_digest"] = b32sha1(dechunk(block[i + 4:]))
        out.append(rec)
        off = end + 4 + n + 4
    return [r for r in out if r["type"] in ("request", "response", "revisit")]


@case
def warc_refresh_304(ctx):
    """--refresh: a 304 is archived as a server-not-modified revisit (after the conditional
    request as sent) referring to the earlier capture by its URL and WARC-Date, which the
    manifest keeps (warc_date), in one loop and with -p; a second refresh still refers to the
    capture that holds the payload."""
    paths = ["/plain.html", "/old.html", "/next.html"]
    with Server() as srv:
        out = ctx.dir("out")
        p = ctx.run("-q", "-i", "-", "-o", out, "--warc-file", ctx.dir("first"),
                    stdin=urls(srv, paths))
        check(p.returncode == 0, f"first run: exit {p.returncode}: {p.stderr[-300:]}")
        first = check_archive(ctx.tmp, "first", out)
        dates = {srv.base + u: first[srv.base + u][1]["h"]["WARC-Date"] for u in paths}
        recs = {r["url"]: r for r in m.manifest(out)}
        for url, d in dates.items():
            check(recs[url].get("warc_date") == d, f"{url}: manifest warc_date "
                                                   f"{recs[url].get('warc_date')}, WARC {d}")
        for run, extra in (("again", []), ("procs", ["-p", "2"])):
            p = ctx.run("-q", "--refresh", *extra, "-i", "-", "-o", out, "--warc-file",
                        ctx.dir(run), "--warc-cdx", stdin=urls(srv, paths))
            check(p.returncode == 0, f"--refresh {extra}: exit {p.returncode}: {p.stderr[-300:]}")
            by = check_archive(ctx.tmp, run)
            for url in dates:
                req, rv = by[url]
                check(req["h"]["WARC-Type"] == "request" and b"If-None-Match: " in req["block"],
                      f"{url}: the conditional request is not archived as sent")
                check(rv["h"]["WARC-Type"] == "revisit" and
                      rv["h"]["WARC-Profile"].endswith("/revisit/server-not-modified") and
                      rv["h"]["WARC-Refers-To-Target-URI"] == url and
                      rv["h"].get("WARC-Refers-To-Date") == dates[url] and
                      rv["status_line"].startswith("HTTP/1.1 304"), f"{run} {url}: {rv['h']}")
            last = {r["url"]: r for r in m.manifest(out)}
            for url, d in dates.items():
                check(last[url]["status"] == "unchanged" and last[url].get("warc_date") == d,
                      f"{run}: {url}'s manifest record {last[url]}")


@case
def warc_procs_and_shards(ctx):
    """-p 2: each worker its own NAME-pK file; --shard K/N: NAME-K-of-N; together, every page
    once, every file valid, payloads equal to the saved pages."""
    paths = ["/plain.html", "/gzip.html", "/br.html", "/chunked.html", "/r1", "/same1.html",
             "/same2.html"] + [f"/slow/{i}" for i in range(12)]
    with Server() as srv:
        out = ctx.dir("procs")
        p = ctx.run("-q", "-p", "2", "-i", "-", "-o", out, "--warc-file", ctx.dir("pw"),
                    "--warc-cdx", stdin=urls(srv, paths))
        check(p.returncode == 0, f"-p 2: exit {p.returncode}: {p.stderr[-300:]}")
        files = [os.path.basename(f) for f in warc_files(ctx.tmp, "pw")]
        check({"pw-p1.warc.gz", "pw-p2.warc.gz"} <= set(files), f"-p 2 wrote {files}")
        by = check_archive(ctx.tmp, "pw", out)
        for u in paths:
            check(srv.base + u in by, f"-p 2: no records of {u}")
        sh = ctx.dir("shards")
        for k in (1, 2):
            p = ctx.run("-q", "--shard", f"{k}/2", "-i", "-", "-o", sh, "--warc-file",
                        ctx.dir("sw"), stdin=urls(srv, paths))
            check(p.returncode == 0, f"--shard {k}/2: exit {p.returncode}: {p.stderr[-300:]}")
        files = sorted(os.path.basename(f) for f in warc_files(ctx.tmp, "sw"))
        check(files == ["sw-1-of-2.warc.gz", "sw-2-of-2.warc.gz"], f"shards wrote {files}")
        recs = []
        for k in (1, 2):
            recs += m.manifest(sh, os.path.join(sh, m.shard_manifest(k, 2)))
        by = check_archive(ctx.tmp, "sw", sh, manifest=recs)
        for u in paths:
            check(srv.base + u in by, f"shards: no records of {u}")


@case
def warc_kill9_rerun(ctx):
    """kill -9 mid-run: every whole gzip member is a valid record, every page the manifest
    calls saved has its response in the file; the rerun starts a new file, leaves the old one
    untouched, and finishes the job."""
    paths = [f"/slow/{i}" for i in range(80)]
    with Server() as srv:
        out, w = ctx.dir("out"), ctx.dir("k")
        proc = subprocess.Popen([ctx.exe, "-q", "-c", "3", "-i", "-", "-o", out, "--warc-file", w],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(urls(srv, paths).encode())
        proc.stdin.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if len(m.manifest(out)) >= 20:
                    break
            except (FileNotFoundError, json.JSONDecodeError):
                pass
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with open(w + ".warc.gz", "rb") as f:
            raw = f.read()
        whole, off = [], 0
        while off < len(raw):  # members until a torn one (if the kill cut one)
            d = zlib.decompressobj(wbits=31)
            try:
                data = d.decompress(raw[off:])
            except zlib.error:
                break
            if not d.eof:
                break
            whole.append(parse_record(data, f"member@{off}"))
            off = len(raw) - len(d.unused_data)
        saved = [r for r in m.manifest(out) if r["status"] == "saved"]
        check(len(saved) >= 20, f"only {len(saved)} pages saved before the kill")
        responses = {h["WARC-Target-URI"]: blk for h, _, blk, _ in whole
                     if h["WARC-Type"] == "response"}
        for r in saved:
            check(r["url"] in responses, f"{r['url']}: saved in the manifest, not in the WARC")
            with open(os.path.join(out, r["file"]), "rb") as f:
                check(responses[r["url"]].split(b"\r\n\r\n", 1)[1] == f.read(),
                      f"{r['url']}: WARC payload differs from the saved page")
        p = ctx.run("-q", "-c", "3", "-i", "-", "-o", out, "--warc-file", w,
                    stdin=urls(srv, paths))
        check(p.returncode == 0, f"rerun: exit {p.returncode}: {p.stderr[-300:]}")
        with open(w + ".warc.gz", "rb") as f:
            check(f.read() == raw, "the rerun changed the killed run's file")
        check(os.path.exists(w + "-00001.warc.gz"), "the rerun did not start a new file")
        by_file = {w + "-00001.warc.gz": read_warc(w + "-00001.warc.gz")}
        warcio_checks(list(by_file), by_file)
        again = {r["h"]["WARC-Target-URI"] for r in by_file[w + "-00001.warc.gz"]
                 if r["h"]["WARC-Type"] == "response"}
        check(again | set(responses) >= {srv.base + q for q in paths},
              "some page is in neither file after the rerun")


@case
def warc_interrupted(ctx):
    """Ctrl-C mid-run: the transfers stop, what was archived is whole (every member a record),
    and every page the manifest calls saved is in the file."""
    with Server() as srv:
        out, w = ctx.dir("out"), ctx.dir("i")
        proc = subprocess.Popen([ctx.exe, "-q", "-c", "4", "-i", "-", "-o", out, "--warc-file", w],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(urls(srv, [f"/slow/{i}" for i in range(60)]).encode())
        proc.stdin.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if len(m.manifest(out)) >= 8:
                    break
            except (FileNotFoundError, json.JSONDecodeError):  # not yet, or a line half there
                pass
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        check(proc.wait(60) == 130, f"exit {proc.returncode}: {proc.stderr.read()[-300:]}")
        recs = m.manifest(out)
        check(any(r["status"] == "interrupted" for r in recs), "nothing was interrupted")
        check_archive(ctx.tmp, "i", out)


@case
def warc_failures_and_rollover(ctx):
    """Every attempt that got a response is archived (a 503 then its retry; a body cut short,
    each attempt marked WARC-Truncated), one that got nothing is not (a refused connection);
    --warc-max-size rolls over between exchanges, each file starting with a warcinfo record."""
    with socketserver.TCPServer(("127.0.0.1", 0), None) as closed:
        dead = f"http://127.0.0.1:{closed.server_address[1]}/x"  # closed below: refused
    paths = ["/flaky.html", "/cut.html"] + [f"/slow/{i}" for i in range(8)]
    with Server() as srv:
        out = ctx.dir("out")
        p = ctx.run("-q", "--retries", "1", "--retry-max-wait", "0.1", "-i", "-",
                    "-o", out, "--warc-file", ctx.dir("f"), "--warc-max-size", "4k",
                    "--warc-cdx", stdin=urls(srv, paths) + dead + "\n")
        check(p.returncode == 1, f"exit {p.returncode}: {p.stderr[-300:]}")
        files = warc_files(ctx.tmp, "f")
        check(len(files) >= 3, f"--warc-max-size 4k wrote {len(files)} files")
        for path in files:
            size = os.path.getsize(path)
            recs = read_warc(path)  # each starts with warcinfo
            kinds = [r["h"]["WARC-Type"] for r in recs[1:]]
            check(kinds.count("request") * 2 == len(kinds), f"{path}: an exchange split: {kinds}")
            check(size <= 4096 or len(kinds) == 2, f"{path}: {size} bytes past the limit")
        by = check_archive(ctx.tmp, "f", out)
        flaky = [r for r in by[srv.base + "/flaky.html"] if r["h"]["WARC-Type"] == "response"]
        check([r["status_line"].split()[1] for r in flaky] == ["503", "200"],
              f"flaky: {[r['status_line'] for r in flaky]}")
        cut = [r for r in by[srv.base + "/cut.html"] if r["h"]["WARC-Type"] == "response"]
        check(len(cut) == 2 and all(r["h"].get("WARC-Truncated") == "disconnect" and
                                    len(r["payload"]) == 3000 for r in cut),
              f"cut: {[(r['h'].get('WARC-Truncated'), len(r['payload'])) for r in cut]}")
        check(dead not in by, "a refused connection left records")


@case
def warc_usage(ctx):
    """--warc-* options need --warc-file; a URL is not a WARC name; a folder that cannot take
    the file is one line and exit 5 before any request; --links writes no WARC file."""
    p = ctx.run("-i", os.devnull, "-o", ctx.dir("o"), "--warc-file", ctx.dir("none/w"))
    check(p.returncode == 5 and "--warc-file" in p.stderr and p.stderr.count("\n") == 1,
          f"missing WARC folder: exit {p.returncode}, {p.stderr!r}")
    lst = ctx.dir("urls")
    with open(lst, "w") as f:
        f.write("http://127.0.0.1:9/a\n")
    p = ctx.run("--links", "-i", lst, "--warc-file", ctx.dir("links"))
    check(p.returncode == 0 and not warc_files(ctx.tmp, "links"), "--links wrote a WARC file")
    for args in (["--warc-cdx"], ["--no-warc-compression"], ["--warc-max-size", "1M"],
                 ["--warc-file", "http://x/y"], ["--warc-file", "dir/"],
                 ["--warc-file", "w", "--warc-max-size", "lots"]):
        p = ctx.run(*args, "-i", os.devnull, "-o", ctx.dir("o"))
        check(p.returncode == 2 and p.stderr.count("\n") == 1, f"{args}: exit {p.returncode}, "
                                                               f"{p.stderr!r}")


if __name__ == "__main__":
    sys.exit(m.run_main(CASES, "lf-warc-"))
