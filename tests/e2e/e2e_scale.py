#!/usr/bin/env python3
"""End-to-end cases for scaling out: `loopfetch status` over the manifests of many shards,
the rerun-what-failed loop of the README, folder layouts, and the recipes for the other
engines (the Kubernetes Indexed Job file in deploy/k8s, GNU parallel).

    python3 tests/e2e/e2e_scale.py --loopfetch build/loopfetch CASE     (or --list)

Each case starts the fixture server on 127.0.0.1 and works in a fresh temporary folder. A case
that needs a program this machine lacks prints "SKIP: <why>" and exits 77.
"""

import collections
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
from scale_common import (Ctx, Failure, Server, Skip, check, hash64, job_urls,  # noqa: E402
                          run_main, shard_of)

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def shard_row(js, k, n):
    rows = [s for s in js["shards"] if s["shard"] == f"{k}/{n}"]
    check(len(rows) == 1, f"status --json: {len(rows)} rows for shard {k}/{n}")
    return rows[0]


@case
def status_job_view(ctx):
    """Three of four shards run, one URL fails: status says per shard what is saved, failed
    and missing, --urls lists exactly the URLs to redo (and -i reads them back), --shards the
    shards to rerun, exit 1; a torn last line and a deleted page are seen; the rerun loop of
    the README (the same command for each shard --shards names) ends with exit 0."""
    with Server(0, 0) as srv:
        want = job_urls(srv.base, 300, 60)
        flaky = srv.base + "/fault/fail-then/500/1/small/flaky"  # fails once, then serves
        urls = list(want) + [flaky]
        lst = ctx.write_list("urls.txt", urls)
        out = ctx.path("pages")
        n = 4
        for k in (1, 2, 3):
            ctx.run("-q", "--retries", "0", "--shard", f"{k}/{n}", "-i", lst, "-o", out)
        of = collections.Counter(shard_of(u, n) + 1 for u in urls)
        fk = shard_of(flaky, n) + 1

        p = ctx.status(out)  # no list: missing pages cannot be known
        check(p.returncode == 1 and "(no manifest: shard not run)" in p.stdout and "-i" in p.stdout,
              f"status without -i: exit {p.returncode}:\n{p.stdout}")
        rc, js = ctx.status_json("-i", lst, out)
        check(rc == 1 and js["complete"] is False, f"status -i: exit {rc}, {js}")
        check(shard_row(js, 4, n)["missing"] == of[4] and shard_row(js, 4, n)["manifest"] is None,
              f"shard 4: {shard_row(js, 4, n)}, want {of[4]} missing")
        for k in (1, 2, 3):
            row = shard_row(js, k, n)
            failed = 1 if k == fk else 0
            check(row["saved"] == of[k] - failed and row["failed"] == failed and
                  row["missing"] == 0, f"shard {k}: {row}")
        check(js["total"]["missing"] == of[4], f"total: {js['total']}")

        p = ctx.status("--urls", "-i", lst, out)
        redo = [l for l in p.stdout.splitlines() if not l.startswith("#")]
        whys = [l for l in p.stdout.splitlines() if l.startswith("#")]
        check(len(whys) == len(redo) and all(w.startswith("# missing: ") for w in whys
                                             if not w.startswith("# failed: HTTP 500")),
              f"--urls: a reason before each URL: {whys[:5]}")
        want_redo = {u for u in urls if shard_of(u, n) == 3} | ({flaky} if fk != 4 else set())
        check(set(redo) == want_redo and len(redo) == len(want_redo),
              f"--urls: {len(redo)} lines, want {len(want_redo)}")
        p = ctx.run("-q", "-i", "-", "-o", ctx.path("redo"), stdin=p.stdout)
        check(p.returncode == 0 and len(os.listdir(ctx.path("redo"))) == len(want_redo) + 1,
              f"-i reading --urls back: exit {p.returncode}")
        p = ctx.status("--shards", "-i", lst, out)
        check(p.stdout.strip() == ",".join(str(k) for k in sorted({fk, 4})),
              f"--shards: {p.stdout!r}")

        # A run killed mid-write leaves a torn last line; a page removed by hand is missing.
        with open(os.path.join(out, f"loopfetch-manifest.1-of-{n}.jsonl"), "a") as f:
            f.write('{"url":"http://127.0.0.1/cut-sho')
        gone = next(u for u in want if shard_of(u, n) == 1)
        os.unlink(os.path.join(out, want[gone][0]))
        rc, js = ctx.status_json("-i", lst, out)
        check(shard_row(js, 1, n)["torn"] == 1, f"torn line not counted: {shard_row(js, 1, n)}")
        check(shard_row(js, 2, n)["gone"] == 1 and shard_row(js, 2, n)["missing"] == 1,
              f"deleted page: {shard_row(js, 2, n)}")

        # The README loop: rerun the same command for every shard status names.
        for _ in range(3):
            p = ctx.status("--shards", "-i", lst, out)
            if p.returncode == 0:
                break
            for k in p.stdout.strip().split(","):
                ctx.run("-q", "--retries", "0", "--shard", f"{k}/{n}", "-i", lst, "-o", out)
        p = ctx.status("-i", lst, out)
        check(p.returncode == 0 and "complete:" in p.stdout, f"after the loop: exit "
              f"{p.returncode}:\n{p.stdout}")
        for u, (name, body) in want.items():
            with open(os.path.join(out, name), "rb") as f:
                check(f.read() == body, f"{name}: bytes differ")


@case
def status_usage(ctx):
    """Usage errors exit 2 with one line; a folder without manifests exits 5 with one line."""
    for args in ([], ["--json", "--urls", "x"], ["--bogus", "x"]):
        p = ctx.run("status", *args)
        check(p.returncode == 2, f"status {args}: exit {p.returncode}")
    os.makedirs(ctx.path("empty"))
    for d in (ctx.path("empty"), ctx.path("absent")):
        p = ctx.run("status", d)
        check(p.returncode == 5 and len(p.stderr.strip().splitlines()) == 1 and d in p.stderr,
              f"status {d}: exit {p.returncode}: {p.stderr!r}")


def record(url, file, status="saved"):
    return json.dumps({"url": url, "file": file, "status": status, "http": 200, "bytes": 2,
                       "attempts": 1, "error": None, "pid": 1}) + "\n"


def run_status(ctx, *args):
    """status with a short timeout: a hang is a failure, not a stuck test."""
    try:
        return ctx.run("status", *args, timeout=30)
    except subprocess.TimeoutExpired:
        raise Failure(f"status {args} did not finish within 30 s")


@case
def status_hostile_manifests(ctx):
    """Planted manifests (issue 28, items 7, 11, 19): a shard name with a huge N is not a
    shard (no walk over 1..N), the largest valid N is listed at once; a symlinked manifest, a
    FIFO, and a symlink to /dev/zero are refused with one line and exit 5, never followed or
    waited on; a line over the cap is torn, the records around it count; a record whose file
    is absolute or climbs out of the folder with ".." is not a done page."""
    out = ctx.path("pages")
    os.makedirs(os.path.join(out, "sub"))
    with open(ctx.path("outside.html"), "w") as f:
        f.write("hi")
    with open(os.path.join(out, "a.html"), "w") as f:
        f.write("hi")
    urls = ["http://h/a", "http://h/abs", "http://h/up", "http://h/subup", "http://h/dot"]
    lst = ctx.write_list("urls.txt", urls)
    man = os.path.join(out, "loopfetch-manifest.jsonl")
    with open(man, "w") as f:
        f.write(record(urls[0], "a.html"))
        f.write(record(urls[1], ctx.path("outside.html")))
        f.write(record(urls[2], "../outside.html"))
        f.write(record(urls[3], "sub/../../outside.html"))
        f.write(record(urls[4], "./a.html"))
        f.write('{"url":"http://h/long","file":"' + "x" * (2 << 20) + '","status":"saved"}\n')
    p = run_status(ctx, "--json", "-i", lst, out)
    check(p.returncode == 1, f"planted files: exit {p.returncode}: {p.stderr}")
    js = json.loads(p.stdout)
    t = js["total"]
    check(t["saved"] == 1 and t["gone"] == 4 and t["missing"] == 4 and t["torn"] == 1,
          f"absolute and '..' files must not count as done, the long line is torn: {t}")
    p = run_status(ctx, "--urls", "-i", lst, out)
    redo = [l for l in p.stdout.splitlines() if not l.startswith("#")]
    check(sorted(redo) == sorted(urls[1:]) and p.stdout.count("# gone: ") == 4,
          f"--urls: {p.stdout!r}")

    # Shard names: N past --shard's 65536 is "other"; N = 65536 lists 65,535 shards not run.
    os.rename(man, os.path.join(out, "loopfetch-manifest.1-of-4294967294.jsonl"))
    p = run_status(ctx, "--json", out)
    check(p.returncode == 1 and [s["shard"] for s in json.loads(p.stdout)["shards"]] == ["other"],
          f"1-of-4294967294: exit {p.returncode}: {p.stdout[:300]} {p.stderr}")
    os.rename(os.path.join(out, "loopfetch-manifest.1-of-4294967294.jsonl"),
              os.path.join(out, "loopfetch-manifest.1-of-65536.jsonl"))
    p = run_status(ctx, "--shards", "-i", lst, out)
    check(p.returncode == 1 and p.stdout.count(",") == 65535, f"1-of-65536: {p.stdout[:100]}")
    os.rename(os.path.join(out, "loopfetch-manifest.1-of-65536.jsonl"), man)

    # Symlinks (to a FIFO, to /dev/zero, to a good manifest) and a FIFO are never read.
    os.mkfifo(ctx.path("fifo"))
    good = ctx.path("good.jsonl")
    shutil.copy(man, good)
    for target, kind in ((ctx.path("fifo"), "symbolic link"), ("/dev/zero", "symbolic link"),
                         (good, "symbolic link"), (None, "not a regular file")):
        os.unlink(man)
        if target:
            os.symlink(target, man)
        else:
            os.mkfifo(man)
        p = run_status(ctx, out)
        check(p.returncode == 5 and kind in p.stderr and len(p.stderr.splitlines()) == 1,
              f"manifest -> {target}: exit {p.returncode}: {p.stderr!r}")
        p = run_status(ctx, man)  # named directly: the same
        check(p.returncode == 5 and kind in p.stderr, f"status {man} -> {target}: {p.stderr!r}")


def run_shards(ctx, command, env_of, n, cwd):
    """Runs the shell command once per shard index 0..n-1 at the same time, with loopfetch on
    PATH and env_of(i) added; every one must exit 0."""
    env = dict(os.environ, PATH=os.path.dirname(ctx.exe) + os.pathsep + os.environ["PATH"])
    procs = [subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd, env=dict(env, **env_of(i)),
                              stderr=subprocess.PIPE, text=True) for i in range(n)]
    for i, p in enumerate(procs):
        err = p.communicate(timeout=240)[1]
        check(p.returncode == 0, f"index {i}: exit {p.returncode}: {err[-300:]}")


def check_job_done(ctx, want, lst, out, n):
    """The shared folder holds every page with its bytes, one manifest per shard, and status
    says complete."""
    for u, (name, body) in want.items():
        with open(os.path.join(out, name), "rb") as f:
            check(f.read() == body, f"{name}: bytes differ")
    manifests = sorted(f for f in os.listdir(out) if f.startswith("loopfetch-manifest"))
    check(manifests == [f"loopfetch-manifest.{k}-of-{n}.jsonl" for k in range(1, n + 1)],
          f"manifests: {manifests}")
    p = ctx.status("-i", lst, out)
    check(p.returncode == 0, f"status: exit {p.returncode}\n{p.stdout}")


@case
def k8s_indexed_job(ctx):
    """deploy/k8s/loopfetch-job.yaml is an Indexed Job whose completions, parallelism and
    --shard N agree and whose JOB_COMPLETION_INDEX i runs shard i+1; its container command,
    run here for every index with /data mapped to a temporary folder, does the whole job."""
    try:
        import yaml
    except ImportError:
        raise Skip("python3-yaml is missing (scripts/deps.sh installs it)")
    with open(os.path.join(ROOT, "deploy", "k8s", "loopfetch-job.yaml")) as f:
        job = yaml.safe_load(f)
    check(job["apiVersion"] == "batch/v1" and job["kind"] == "Job", "not a batch/v1 Job")
    spec = job["spec"]
    check(spec.get("completionMode") == "Indexed", "completionMode is not Indexed")
    n = spec["completions"]
    check(isinstance(n, int) and 1 <= spec["parallelism"] <= n, f"completions {n}, "
          f"parallelism {spec['parallelism']}")
    pod = spec["template"]["spec"]
    check(pod["restartPolicy"] in ("Never", "OnFailure"), "restartPolicy")
    (c,) = pod["containers"]
    command = " ".join(c["command"][2:] + c["args"]) if c["command"][:2] == ["/bin/sh", "-c"] \
        else None
    check(command is not None, f"container command is not /bin/sh -c: {c['command']}")
    check(f'--shard "$((JOB_COMPLETION_INDEX + 1))/{n}"' in command,
          f"the index is not mapped to --shard i+1/{n}: {command}")
    mount = c["volumeMounts"][0]["mountPath"]
    check(any(v["name"] == c["volumeMounts"][0]["name"] for v in pod["volumes"]), "volume")
    with Server(0, 5) as srv:
        want = job_urls(srv.base, 400, 50)
        data = ctx.path("data")
        os.makedirs(data)
        lst = os.path.join(data, "urls.txt")
        with open(lst, "w") as f:
            f.write("".join(u + "\n" for u in want))
        run_shards(ctx, command.replace(mount + "/", data + "/"),
                   lambda i: {"JOB_COMPLETION_INDEX": str(i)}, n, ctx.tmp)
        check_job_done(ctx, want, lst, os.path.join(data, "pages"), n)


def readme_line(prefix):
    """The README's command line that starts with prefix (the recipe users copy)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        lines = [line.strip() for line in f if line.strip().startswith(prefix)]
    check(len(lines) == 1, f"README: {len(lines)} lines start with {prefix!r}")
    return lines[0]


@case
def gnu_parallel(ctx):
    """The README's GNU parallel recipe, run as written (in a folder holding urls.txt): all
    shards into one folder, the job complete."""
    if not shutil.which("parallel"):
        raise Skip("GNU parallel is missing (scripts/deps.sh installs it)")
    recipe = readme_line("parallel ")
    n = len(recipe.split(":::")[1].split())
    check(f"--shard {{}}/{n}" in recipe and "-i urls.txt" in recipe, f"recipe: {recipe}")
    with Server(0, 5) as srv:
        want = job_urls(srv.base, 400, 50)
        lst = ctx.write_list("urls.txt", want)
        os.makedirs(ctx.path("home"))
        run_shards(ctx, recipe, lambda i: {"HOME": ctx.path("home")}, 1, ctx.tmp)
        check_job_done(ctx, want, lst, ctx.path("pages"), n)


def hash_path(name):
    """--layout hash: two bytes of the name's hash as two folder levels."""
    h = hash64(name.encode())
    return "%02x/%02x/%s" % (h >> 56, (h >> 48) & 0xFF, name)


def files_under(folder):
    out = set()
    for d, _, files in os.walk(folder):
        out |= {os.path.relpath(os.path.join(d, f), folder) for f in files}
    return {f for f in out if not f.startswith("loopfetch-")}


@case
def layout_hash(ctx):
    """--layout hash with 4 shards (one of them -p 2) into one folder: every page at
    ab/cd/<name> from its name's hash, the same path in every shard and mode; a rerun skips all
    of them (no request), one page removed is the only one fetched again, and status finds the
    files under their folders."""
    with Server(0, 0) as srv:
        want = job_urls(srv.base, 500, 100)
        lst = ctx.write_list("urls.txt", want)
        out = ctx.path("pages")
        n = 4
        for k in range(1, n + 1):
            p = ctx.run("-q", "--layout", "hash", "--shard", f"{k}/{n}", "-i", lst, "-o", out,
                        *(["-p", "2"] if k == 2 else []))
            check(p.returncode == 0, f"shard {k}: exit {p.returncode}: {p.stderr}")
        paths = {hash_path(name): body for name, body in want.values()}
        check(files_under(out) == set(paths), f"paths differ: {sorted(files_under(out))[:3]} "
              f"vs {sorted(paths)[:3]}")
        for path, body in paths.items():
            with open(os.path.join(out, path), "rb") as f:
                check(f.read() == body, f"{path}: bytes differ")
        check(ctx.status("-i", lst, out).returncode == 0, "status: not complete")
        gone = sorted(paths)[7]
        os.unlink(os.path.join(out, gone))
        p = ctx.status("--json", "-i", lst, out)
        check(json.loads(p.stdout)["total"]["gone"] == 1, f"status misses {gone}: {p.stdout}")
        srv.stats(reset=True)
        for k in range(1, n + 1):
            p = ctx.run("-q", "--json", "--layout", "hash", "--shard", f"{k}/{n}", "-i", lst,
                        "-o", out)
            js = json.loads(p.stdout)
            check(p.returncode == 0 and js["saved"] <= 1, f"rerun {k}: {js}")
        check(srv.stats()["requests"] == 1, f"rerun fetched {srv.stats()['requests']} pages, "
              "want the 1 removed")
        check(os.path.exists(os.path.join(out, gone)), f"{gone} not fetched again")


@case
def layout_host_and_symlinks(ctx):
    """--layout host puts pages under DIR/<host>/; a symlink planted where a folder of the
    layout goes is never followed: the page fails, nothing is written outside, and a file
    outside is never taken for a saved page."""
    with Server(0, 0) as srv:
        want = job_urls(srv.base, 20, 2)
        lst = ctx.write_list("urls.txt", want)
        out = ctx.path("host")
        p = ctx.run("-q", "--layout", "host", "-i", lst, "-o", out)
        check(p.returncode == 0, f"host: exit {p.returncode}")
        check(files_under(out) == {"127.0.0.1/" + n for n, _ in want.values()},
              f"host layout: {sorted(files_under(out))[:3]}")
        outside = ctx.path("outside")
        os.makedirs(outside)
        out = ctx.path("planted")
        os.makedirs(out)
        victim_url, (victim, _) = next(iter(want.items()))
        top = hash_path(victim).split("/")[0]
        os.symlink(outside, os.path.join(out, top))
        os.makedirs(os.path.join(outside, hash_path(victim).split("/")[1]))
        p = ctx.run("--layout", "hash", "-i", lst, "-o", out)
        check(p.returncode == 1 and victim_url in p.stderr, f"planted symlink: exit "
              f"{p.returncode}: {p.stderr}")
        check(files_under(outside) == set(), f"written outside: {files_under(outside)}")
        # A file outside under the page's path must not count as saved by a rerun.
        with open(os.path.join(outside, hash_path(victim).split("/", 1)[1]), "w") as f:
            f.write("planted")
        p = ctx.run("-q", "--json", "--layout", "hash", "-i", lst, "-o", out)
        check(json.loads(p.stdout)["skipped"] == len(want) - 1 - sum(
            1 for n, _ in want.values() if hash_path(n).split("/")[0] == top and n != victim),
              f"rerun through a symlink: {p.stdout}")
        p = ctx.run("--layout", "diagonal", "-o", out, "http://127.0.0.1:1/")
        check(p.returncode == 2 and "--layout" in p.stderr, f"bad layout: {p.returncode}")


if __name__ == "__main__":
    sys.exit(run_main(CASES, "lf-scale-", Ctx))
