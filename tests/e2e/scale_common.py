"""What the scale-out drivers (e2e_slurm.py, e2e_scale.py) add to e2e_modes.py's: the job's
URL list with its expected names and bytes, the shard function, `loopfetch status` helpers."""

import collections
import json
import urllib.request

from e2e_modes import Ctx as ModesCtx
from e2e_modes import Failure, Skip, check, run_main, site  # noqa: F401 (re-exported)
from e2e_modes import Server as ModesServer


class Server(ModesServer):
    def stats(self, reset=False):
        """The counters; reset: zero them (returns the zeroed counters)."""
        with urllib.request.urlopen(self.base + ("/__stats/reset" if reset else "/__stats")) as r:
            return json.load(r)


class Ctx(ModesCtx):
    def path(self, name):
        return self.dir(name)

    def write_list(self, name, urls):
        with open(self.dir(name), "w") as f:
            f.write("".join(u + "\n" for u in urls))
        return self.dir(name)

    def status(self, *args):
        """`loopfetch status`: exit 0 (complete) or 1 (not), anything else fails the case."""
        p = self.run("status", *args, timeout=120)
        check(p.returncode in (0, 1), f"status {args}: exit {p.returncode}: {p.stderr}")
        return p

    def status_json(self, *args):
        p = self.status("--json", *args)
        return p.returncode, json.loads(p.stdout)


def hash64(data):
    """src/base/hmap.c lf__hash64: FNV-1a 64, then MurmurHash3's 64-bit finaliser."""
    m = 0xFFFFFFFFFFFFFFFF
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & m
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & m
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & m
    return h ^ (h >> 33)


def shard_of(url, n):
    """src/store/shard.c: lf__hash64 of the URL, mod n (0-based)."""
    return hash64(url.encode()) % n


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
