#!/usr/bin/env python3
"""End-to-end cases on a real Slurm cluster: a job array of `loopfetch --shard K/N` into one
shared folder, and a task cancelled mid-run then resubmitted.

    python3 tests/e2e/e2e_slurm.py --loopfetch build/loopfetch CASE     (or --list)

Each case starts a single-node cluster of its own (tests/e2e/slurm_cluster.py: munge, slurmctld,
slurmd, all under a temporary folder, stopped at the end, also on failure) and the fixture
server on 127.0.0.1. Where Slurm cannot run (not root, packages missing) a case prints
"SKIP: <why>" and exits 77, which meson reports as skipped.
"""

import collections
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
import slurm_cluster  # noqa: E402

import scale_common  # noqa: E402
from scale_common import Failure, Server, Skip, check, job_urls, run_main, shard_of  # noqa: E402

SHARDS = 4
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def manifest_name(k):
    return f"loopfetch-manifest.{k}-of-{SHARDS}.jsonl"


def read_manifest(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def check_folder(out, want):
    """Every page once under its name with its bytes; nothing else but the shard manifests."""
    names = {name: body for name, body in want.values()}
    manifests = {manifest_name(k) for k in range(1, SHARDS + 1)}
    got = set(os.listdir(out))
    check(got - manifests == set(names), f"files differ: missing {sorted(set(names) - got)[:5]}"
          f", extra {sorted(got - manifests - set(names))[:5]}")
    check(manifests <= got, f"manifests missing: {sorted(manifests - got)}")
    for name, body in names.items():
        with open(os.path.join(out, name), "rb") as f:
            check(f.read() == body, f"{name}: bytes differ from the server's")


def check_records(out, want, ok=("saved",)):
    """Each URL in exactly one manifest, its shard's, under its name, with a status in ok."""
    seen = collections.Counter()
    for k in range(1, SHARDS + 1):
        for r in read_manifest(os.path.join(out, manifest_name(k))):
            seen[r["url"]] += 1
            check(r["url"] in want, f"unknown URL {r['url']}")
            check(shard_of(r["url"], SHARDS) == k - 1, f"{r['url']} in shard {k}'s manifest")
            check(r["status"] in ok, f"{r['url']}: {r['status']} ({r.get('error')})")
            check(r["file"] == want[r["url"]][0], f"{r['url']}: named {r['file']}, "
                  f"want {want[r['url']][0]}")
    check(set(seen) == set(want), f"union incomplete: {len(set(want) - set(seen))} URLs missing")
    check(max(seen.values()) == 1, "a URL recorded twice")


class Ctx(scale_common.Ctx):
    def job_script(self, urls_file, out, extra=""):
        path = self.dir("job.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n# one array task: one shard of the list\n"
                    f"exec {self.exe} -q {extra} --shard \"$SLURM_ARRAY_TASK_ID/{SHARDS}\" "
                    f"-i {urls_file} -o {out}\n")
        os.chmod(path, 0o755)
        return path


def cluster(ctx):
    """This case's own Slurm cluster, or SKIP (exit 77) with the reason."""
    why = slurm_cluster.skip_reason()
    if why:
        print(f"SKIP: {why}")
        raise Skip(why)
    return slurm_cluster.SlurmCluster(ctx.tmp)


def write_urls(ctx, want):
    ctx.urls_file = os.path.join(ctx.tmp, "urls.txt")
    with open(ctx.urls_file, "w") as f:
        f.write("".join(u + "\n" for u in want))
    return ctx.urls_file


@case
def slurm_array(ctx):
    """sbatch --array=1-4 of --shard K/4 over 1,200 URLs into one folder: every URL saved once,
    in its shard's manifest, under the name one run gives it, with the server's bytes; the
    server saw each page requested exactly once."""
    with Server(0, 5) as srv, cluster(ctx) as cl:
        want = job_urls(srv.base)
        out = os.path.join(ctx.tmp, "pages")
        script = ctx.job_script(write_urls(ctx, want), out)
        job, rc = cl.sbatch(f"--array=1-{SHARDS}", script, wait=True)
        check(rc == 0, f"job {job}: sbatch --wait exit {rc}: {cl.job_logs()}")
        check_records(out, want)
        check_folder(out, want)
        p = ctx.status("--json", "-i", ctx.urls_file, out)
        js = json.loads(p.stdout)
        check(p.returncode == 0 and js["complete"] and js["total"]["saved"] == len(want),
              f"loopfetch status: exit {p.returncode}, {js['total']}")
        st = srv.stats()
        check(st["requests"] == len(want), f"server saw {st['requests']} requests for "
              f"{len(want)} URLs")


def wait_for(cond, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise Failure(f"timed out waiting for {what}")


def lines_in(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


@case
def slurm_cancel_rerun(ctx):
    """scancel one array task mid-run, resubmit just that task: it fetches only what the
    cancelled run did not save (server request count, manifest), and the union is whole."""
    with Server(20, 40) as srv, cluster(ctx) as cl:
        want = job_urls(srv.base)
        mine = [u for u in want if shard_of(u, SHARDS) == 1]  # shard 2
        out = os.path.join(ctx.tmp, "pages")
        script = ctx.job_script(write_urls(ctx, want), out, extra="-c 2")
        job, _ = cl.sbatch(f"--array=1-{SHARDS}", script)
        m2 = os.path.join(out, manifest_name(2))
        wait_for(lambda: lines_in(m2) >= 20, "shard 2 to record 20 pages")
        cl.scancel(f"{job}_2")
        cl.wait_gone(job)
        before = read_manifest(m2)
        saved_before = {r["url"] for r in before if r["status"] == "saved"}
        check(0 < len(saved_before) < len(mine), f"cancel was not mid-run: {len(saved_before)} "
              f"of {len(mine)} saved")
        check(not [n for n in os.listdir(out) if n.endswith(".part")], "temporaries left")
        p = ctx.status("--shards", "-i", ctx.urls_file, out)
        check(p.returncode == 1 and p.stdout.strip() == "2", f"status --shards: {p.stdout!r}")
        srv.stats(reset=True)
        job2, rc = cl.sbatch("--array=2", script, wait=True)
        check(rc == 0, f"rerun {job2}: exit {rc}: {cl.job_logs()}")
        st = srv.stats()
        check(st["requests"] == len(mine) - len(saved_before),
              f"rerun requested {st['requests']} pages, {len(mine) - len(saved_before)} missing")
        after = read_manifest(m2)
        appended = after[:len(before)] == before
        if appended:  # a manifest that keeps earlier runs' records: the rerun's come last
            after = after[len(before):]
        by_status = collections.defaultdict(set)
        for r in after:
            by_status[r["status"]].add(r["url"])
        check(by_status["skipped"] == saved_before, "rerun did not skip exactly what was saved")
        check(by_status["saved"] == set(mine) - saved_before, "rerun did not fetch what was missing")
        if not appended:
            check_records(out, want, ok=("saved", "skipped"))
        check_folder(out, want)
        p = ctx.status("-i", ctx.urls_file, out)
        check(p.returncode == 0, f"loopfetch status after the rerun: exit {p.returncode}\n{p.stdout}")


if __name__ == "__main__":
    sys.exit(run_main(CASES, "lf-slurm-", Ctx))
