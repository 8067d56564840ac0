#!/usr/bin/env python3
"""The tree's layering, checked: every #include "..." in lib/ and src/ may name only a header of
its own folder, of a folder its README.md allows on its "May include:" line, or the public
include/loopfetch.h. src/ never reaches into lib/'s internals.

    python3 tests/layers.py [ROOT]       exit 0, or 1 with one line per crossing include
    python3 tests/layers.py --self-test  plants a wrong include in a copy and expects it caught
"""

import os
import re
import shutil
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
MAY = re.compile(r"^May include:\s*(.*)$", re.M)
ORDER = re.compile(r"^Order:\s*(.*)$", re.M)
TREES = ("lib", "src")


def folders(root, tree):
    """{folder name ('' for the tree's top): set of folders it may include}, from the READMEs."""
    out = {}
    base = os.path.join(root, tree)
    for name in [""] + sorted(os.listdir(base)):
        path = os.path.join(base, name)
        if not os.path.isdir(path):
            continue
        readme = os.path.join(path, "README.md")
        has_code = any(f.endswith((".c", ".h")) for f in os.listdir(path))
        if not os.path.exists(readme):
            if has_code:
                raise SystemExit(f"{tree}/{name}: has code but no README.md saying what it may include")
            continue
        m = MAY.search(open(readme, encoding="utf-8").read())
        if not m:
            if has_code:
                raise SystemExit(f"{readme}: no 'May include:' line")
            continue
        allowed = {w.strip() for w in m.group(1).split(",")}
        out[name] = {w for w in allowed if re.fullmatch(r"[a-z_]+", w)}
    return out


def order(root, tree, name):
    """A folder's "Order:" line (its modules, lowest first), as {stem: position}, or None."""
    readme = os.path.join(root, tree, name, "README.md")
    m = os.path.exists(readme) and ORDER.search(open(readme, encoding="utf-8").read())
    return {w.strip(): i for i, w in enumerate(m.group(1).split(","))} if m else None


def within(root, tree, name, f, text):
    """Crossings inside an ordered folder: a module may include only modules before it."""
    rank = order(root, tree, name)
    if rank is None:
        return []
    here = f"{tree}/{name}/{f}"
    stem = os.path.splitext(f)[0]
    if stem not in rank:
        return [f"{here}: not placed on {tree}/{name}/README.md's Order: line"]
    bad = []
    for inc in INCLUDE.findall(text):
        other = os.path.splitext(inc)[0]
        if not os.path.exists(os.path.join(root, tree, name, inc)) or other == stem:
            continue
        if other not in rank:
            bad.append(f"{here}: includes {inc}, which is not placed on the Order: line")
        elif rank[other] > rank[stem]:
            bad.append(f"{here}: includes {inc}, which comes after {stem} on the Order: line "
                       f"(a module calls only those before it)")
    return bad


def headers(root, tree, names):
    """{header file name: folder} over the tree's folders (names must be unique in a tree)."""
    where = {}
    for name in names:
        d = os.path.join(root, tree, name)
        for f in os.listdir(d):
            if f.endswith(".h"):
                if f in where:
                    raise SystemExit(f"{tree}: {f} is in both {where[f] or '.'}/ and {name or '.'}/")
                where[f] = name
    return where


def check(root):
    bad = []
    lib_headers = headers(root, "lib", folders(root, "lib"))
    for tree in TREES:
        rules = folders(root, tree)
        own = headers(root, tree, rules)
        for name, allowed in rules.items():
            d = os.path.join(root, tree, name)
            for f in sorted(os.listdir(d)):
                if not f.endswith((".c", ".h")):
                    continue
                text = open(os.path.join(d, f), encoding="utf-8", errors="replace").read()
                bad += within(root, tree, name, f, text)
                for inc in INCLUDE.findall(text):
                    here = f"{tree}/{name + '/' if name else ''}{f}"
                    if inc == "loopfetch.h" or os.path.exists(os.path.join(d, inc)):
                        continue
                    if inc in own:
                        if own[inc] not in allowed:
                            bad.append(f"{here}: includes {inc} from {tree}/{own[inc] or '.'}/, "
                                       f"which {tree}/{name or '.'}/ may not include (May include: "
                                       f"{', '.join(sorted(allowed)) or 'nothing'})")
                    elif tree == "src" and inc in lib_headers:
                        bad.append(f"{here}: includes lib/{lib_headers[inc]}/{inc}, an internal "
                                   f"header of the library (src/ uses include/loopfetch.h only)")
                    else:
                        bad.append(f"{here}: includes {inc}, which is in none of {tree}/'s folders")
    return bad


def self_test(root):
    """A copy of lib/ and src/ with html/ including the engine and store/ including the UI: both
    must be reported, and the unchanged copy must pass."""
    tmp = tempfile.mkdtemp(prefix="lf-layers-")
    try:
        for tree in TREES:
            shutil.copytree(os.path.join(root, tree), os.path.join(tmp, tree))
        clean = check(tmp)
        if clean:
            print("self-test: the unchanged tree already fails:\n" + "\n".join(clean))
            return 1
        with open(os.path.join(tmp, "lib", "html", "links.c"), "a") as f:
            f.write('\n#include "internal.h"\n')
        with open(os.path.join(tmp, "src", "store", "record.c"), "a") as f:
            f.write('\n#include "progress.h"\n')
        with open(os.path.join(tmp, "src", "base", "hmap.c"), "a") as f:
            f.write('\n#include "buf.h"\n')
        with open(os.path.join(tmp, "src", "job", "frontier.c"), "a") as f:
            f.write('\n#include "job_crawl.h"\n')
        found = check(tmp)
        want = ["lib/html/links.c: includes internal.h", "src/store/record.c: includes progress.h",
                "src/base/hmap.c: includes lib/core/buf.h",
                "src/job/frontier.c: includes job_crawl.h, which comes after frontier"]
        missing = [w for w in want if not any(line.startswith(w) for line in found)]
        if missing or len(found) != len(want):
            print("self-test: expected exactly these to be caught:", want, "\ngot:", found)
            return 1
        print("self-test: ok (" + "; ".join(found) + ")")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    args = sys.argv[1:]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args and args[0] == "--self-test":
        return self_test(args[1] if len(args) > 1 else root)
    bad = check(args[0] if args else root)
    for line in bad:
        print(line)
    print(f"layers: {'ok' if not bad else str(len(bad)) + ' crossing include(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
