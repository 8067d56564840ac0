#!/usr/bin/env python3
"""Every C example of README.md and docs/api.md, made into files the build compiles (issue 25,
item 10: an example that does not compile, or does the wrong thing, is worse than none).

    python3 tests/docs_examples.py --list DOC...            the files --write makes, one a line
    python3 tests/docs_examples.py --write OUTDIR DOC...    writes them
    python3 tests/docs_examples.py --check-excerpts ROOT DOC...

Each ```c block is one of:
  - a program (it has `int main(`): prog_<doc>_<n>.c, as it stands; tests/meson.build builds
    it and tests/e2e/e2e_lib.py's docs_examples case runs it against a local server;
  - an excerpt of a file of the tree (its first line is `/* examples/NAME.c */`): each of its
    other lines must be a line of that file (--check-excerpts), which is built and run by its
    own test;
  - a fragment (it defines a function): frag_<doc>_<n>.c, the block after the public headers,
    compiled on its own;
  - declarations (the API reference's synopses): all in decls.c, after the header, so each
    must agree with it (a redeclaration that differs does not compile).
"""

import os
import re
import sys

PRELUDE = ("/* Made by tests/docs_examples.py from %s: do not edit. */\n"
           "#include <curl/curl.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
           "#include <loopfetch.h>\n")
EXCERPT = re.compile(r"^/\* (examples/[\w.-]+\.c) \*/\s*$")


def blocks(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^```c\n(.*?)^```", text, flags=re.S | re.M)


def kind(block):
    if EXCERPT.match(block.split("\n", 1)[0]):
        return "excerpt"
    if re.search(r"\bint main\(", block):
        return "prog"
    if re.search(r"^[a-z].*\)\s*\{\s*$", block, flags=re.M):
        return "frag"
    return "decl"


def plan(docs):
    """[(file name or None, kind, doc, block)] in document order."""
    out = []
    for doc in docs:
        stem = os.path.splitext(os.path.basename(doc))[0].lower()
        for n, b in enumerate(blocks(doc), 1):
            k = kind(b)
            name = "%s_%s_%d.c" % (k, stem, n) if k in ("prog", "frag") else None
            out.append((name, k, doc, b))
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "--list":
        names = [p[0] for p in plan(argv[1:]) if p[0]] + ["decls.c"]
        print("\n".join(names))
        return 0
    if len(argv) >= 3 and argv[0] == "--write":
        outdir, docs = argv[1], argv[2:]
        decls = []
        for name, k, doc, b in plan(docs):
            if k == "prog":
                with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
                    f.write(b)
            elif k == "frag":
                with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
                    f.write(PRELUDE % os.path.basename(doc) + b)
            elif k == "decl":
                decls.append(b)
        with open(os.path.join(outdir, "decls.c"), "w", encoding="utf-8") as f:
            f.write(PRELUDE % "the API reference" + "\n".join(decls))
        return 0
    if len(argv) >= 3 and argv[0] == "--check-excerpts":
        root, docs, bad, seen = argv[1], argv[2:], 0, 0
        for _, k, doc, b in plan(docs):
            if k != "excerpt":
                continue
            seen += 1
            src = EXCERPT.match(b.split("\n", 1)[0]).group(1)
            with open(os.path.join(root, src), encoding="utf-8") as f:
                have = {line.rstrip() for line in f}
            for line in b.split("\n")[1:]:
                if line.strip() and line.rstrip() not in have:
                    print("FAIL: %s: not a line of %s: %r" % (doc, src, line))
                    bad += 1
        print("%d excerpts checked, %d lines not found" % (seen, bad))
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
