"""What the scale-out drivers (e2e_slurm.py, e2e_scale.py) share: the fixture server, the
job's URL list with its expected names and bytes, the shard function, and the case runner."""

import argparse
import collections
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

_spec = importlib.util.spec_from_file_location("fixture_site", os.path.join(HERE, "fixture", "site.py"))
site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site)

SKIP = 77


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def shard_of(url, n):
    """src/shard.c: FNV-1a 64 of the URL, mod n (0-based)."""
    h = 0xcbf29ce484222325
    for b in url.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % n


class Server:
    def __init__(self, lo, hi):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fixture", "server.py"), "--port", "0",
             "--latency-min", str(lo), "--latency-max", str(hi)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.base = json.loads(self.proc.stdout.readline())["base"]

    def stats(self, reset=False):
        with urllib.request.urlopen(self.base + ("/__stats/reset" if reset else "/__stats")) as r:
            return json.load(r)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def job_urls(base, count=1000, repeats=200):
    """count distinct small pages, then `repeats` of them again with a query string: the same
    name asked for twice, so "~2" names must agree across shards. {url: (name, body)}, in
    input order."""
    urls = ["%s/small/p%04d" % (base, i) for i in range(count)]
    urls += ["%s/small/p%04d?again=1" % (base, i * (count // repeats)) for i in range(repeats)]
    taken, out = collections.Counter(), {}
    for u in urls:
        stem = u.rsplit("/", 1)[1].split("?")[0]
        taken[stem] += 1
        name = stem + (".html" if taken[stem] == 1 else "~%d.html" % taken[stem])
        out[u] = (name, site.small_body(stem))
    return out


def run_main(cases, make_ctx, prefix, skip_reason=lambda: None, errors=()):
    """The driver's command line: --list, or one case in a fresh temporary folder. Exit 0 ok,
    1 failed, 77 (meson's skip) with a "SKIP: why" line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopfetch")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(cases))
        return 0
    why = skip_reason()
    if why:
        print(f"SKIP: {a.case}: {why}")
        return SKIP
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        cases[a.case](make_ctx(os.path.abspath(a.loopfetch), tmp))
    except Skip as e:
        print(f"SKIP: {a.case}: {e}")
        return SKIP
    except (Failure, *errors) as e:
        print(f"FAIL {a.case}: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"ok {a.case}")
    return 0
