#!/usr/bin/env python3
"""Section-3 man pages from docs/api.md, one per function as libcurl has them: each
"### lf_name — summary" section becomes lf_name.3 (NAME, SYNOPSIS from its code block, DESCRIPTION from
its text), and the "Rules that hold everywhere" section becomes libloopfetch.3, which every
page refers to. meson runs this at build time and installs the pages (man 3 lf_fetcher_new).

    python3 docs/api2man.py docs/api.md OUTDIR VERSION [include/loopfetch.h]

With the header, a page whose text names one of the header's structs (lf_options_t,
lf_request_t, lf_result_t, ...) also gets a STRUCTURES section: the struct as the header
declares it, every field with its comment, so `man 3 lf_fetcher_add` shows lf_request_t's
fields; libloopfetch.3 shows them all.
"""

import os
import re
import sys


def roff_text(text):
    """Markdown-ish paragraphs to man(7): `code` to bold, tables and lists kept readable."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = para.split("\n")
        if lines[0].startswith("|"):  # a table: one line per row, cells separated by " | "
            out.append(".nf")
            for row in lines:
                if re.match(r"^\|\s*-", row):
                    continue
                out.append(esc(" | ".join(c.strip() for c in row.strip("|").split("|"))))
            out.append(".fi")
            continue
        if lines[0].startswith("- "):  # a list: one .IP per item
            item = []
            for line in lines + ["- "]:
                if line.startswith("- ") and item:
                    out += [".IP \\(bu 2", inline(" ".join(item))]
                    item = []
                if line.startswith("- "):
                    item = [line[2:]] if line[2:] else []
                else:
                    item.append(line.strip())
            continue
        out += [".PP", inline(" ".join(line.strip() for line in lines))]
    return "\n".join(out)


def esc(s):
    s = s.replace("\\", "\\e")
    s = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in s)  # groff wants ASCII
    return "\n".join(("\\&" + line if line[:1] in ".'" else line) for line in s.split("\n"))


def inline(s):
    s = esc(s)
    s = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", s)
    s = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", s)
    s = re.sub(r"\[([^]]+)\]\([^)]+\)", r"\1", s)
    return s


def header_structs(path):
    """{name: declaration} of the header's `typedef struct {...} name;`."""
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return {m.group(2): m.group(1) for m in
            re.finditer(r"^(typedef struct \{\n.*?^\} (lf_\w+);)", text, flags=re.S | re.M)}


def structs_section(text, structs):
    used = [n for n in structs if re.search(r"\b%s\b" % n, text)]
    if not used:
        return []
    out = [".SH STRUCTURES"]
    for n in used:
        out += [".PP", f"\\fB{n}\\fR:", ".nf"] + [esc(l) for l in structs[n].split("\n")] + [".fi"]
    return out


def page(name, summary, synopsis, body, version, see, structs=None):
    head = [f'.TH {name} 3 "" "loopfetch {version}" "libloopfetch"', ".SH NAME",
            f"{name} \\- {esc(summary)}", ".SH SYNOPSIS", ".nf", "#include <loopfetch.h>", ""]
    head += [esc(line) for line in synopsis.strip().split("\n")]
    head += [".fi", ".SH DESCRIPTION", roff_text(body)]
    head += structs_section(synopsis + body, structs or {})
    head += [".SH SEE ALSO"]
    head.append(",\n".join(f".BR {s} (3)" for s in see))
    return "\n".join(head) + "\n"


def main():
    src, outdir, version = sys.argv[1:4]
    structs = header_structs(sys.argv[4] if len(sys.argv) > 4 else None)
    with open(src, encoding="utf-8") as f:
        text = f.read()
    os.makedirs(outdir, exist_ok=True)
    rules = text.split("## Rules that hold everywhere", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    names = [s.split("\n", 1)[0].split(" — ")[0].strip() for s in sections]
    for sec in sections:
        heading, rest = sec.split("\n", 1)
        name, _, summary = heading.partition(" — ")
        name = name.strip()
        rest = rest.split("\n## ", 1)[0]  # up to the next chapter
        m = re.search(r"```c\n(.*?)```", rest, re.S)
        synopsis = m.group(1) if m else ""
        body = rest[m.end():] if m else rest
        see = ["libloopfetch"] + [n for n in names if n != name and n in body]
        with open(os.path.join(outdir, f"{name}.3"), "w", encoding="utf-8") as f:
            f.write(page(name, summary, synopsis, body, version, see, structs))
    with open(os.path.join(outdir, "libloopfetch.3"), "w", encoding="utf-8") as f:
        f.write(f'.TH libloopfetch 3 "" "loopfetch {version}" "libloopfetch"\n.SH NAME\n'
                "libloopfetch \\- bulk downloads on a libuv loop with libcurl multi\n"
                ".SH SYNOPSIS\n.nf\n#include <loopfetch.h>\n.fi\n"
                "pkg-config --cflags --libs loopfetch\n.SH DESCRIPTION\n" + roff_text(rules)
                + "\n" + "\n".join(structs_section(" ".join(structs), structs))
                + "\n.SH FUNCTIONS\n" + ",\n".join(f".BR {n} (3)" for n in names) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
