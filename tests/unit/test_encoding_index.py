#!/usr/bin/env python3
"""Every decoder lib/html supports, against the WHATWG Encoding Standard's own index files
(tests/fixtures/whatwg/encoding-indexes.json.gz) and decoder algorithms, byte by byte.

The standard's decoders are written out below, step for step (the oracle); the bytes they
decode are fed to our decoder (lib/html: glibc's iconv plus our corrections) through
decode_stdin, and the two outputs must be equal:
  - single-byte encodings: every byte 0x00-0xFF;
  - gb18030/GBK, Big5, EUC-JP, Shift_JIS, EUC-KR: every lead byte with every trail byte, and
    every lone byte, each decoded on its own; gb18030 also every four-byte sequence of the
    BMP and a sample of those beyond;
  - ISO-2022-JP: every escape sequence, every character of each of its states, and escapes
    back to back.

    python3 test_encoding_index.py DECODE_STDIN
"""
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "fixtures", "whatwg", "encoding-indexes.json.gz")
IDX = json.load(gzip.open(DATA, "rt", encoding="utf-8"))
FFFD = "\ufffd"

SINGLE = ["ibm866", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6",
          "iso-8859-7", "iso-8859-8", "iso-8859-10", "iso-8859-13", "iso-8859-14",
          "iso-8859-15", "iso-8859-16", "koi8-r", "koi8-u", "macintosh", "windows-874",
          "windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
          "windows-1255", "windows-1256", "windows-1257", "windows-1258", "x-mac-cyrillic"]


def cp(v):
    return None if v is None else chr(v)


def single_byte(name, data):
    table = IDX[name]
    return "".join(chr(b) if b < 0x80 else (cp(table[b - 0x80]) or FFFD) for b in data)


class Stream:
    """The standard's I/O queue: read, prepend."""

    def __init__(self, data):
        self.q = list(data)

    def read(self):
        return self.q.pop(0) if self.q else None

    def prepend(self, *bs):
        self.q[0:0] = [b for b in bs if b is not None]


def run(handler, data):
    s, out = Stream(data), []
    while True:
        b = s.read()
        r = handler(b, s)
        if r == "done":
            return "".join(out)
        if r is not None:
            out.append(r)
        if b is None and r != "again":
            return "".join(out)


def ranges_cp(p):
    if (39419 < p < 189000) or p > 1237575:
        return None
    if p == 7457:
        return 0xE7C7
    best = None
    for off, c in IDX["gb18030-ranges"]:
        if off <= p:
            best = (off, c)
        else:
            break
    return best[1] + p - best[0]


def gb18030(data):
    st = {"f": 0, "s": 0, "t": 0}
    idx = IDX["gb18030"]

    def h(b, q):
        f, s, t = st["f"], st["s"], st["t"]
        if b is None:
            if f == s == t == 0:
                return "done"
            st.update(f=0, s=0, t=0)
            return FFFD
        if t:
            st.update(f=0, s=0, t=0)
            if not 0x30 <= b <= 0x39:
                q.prepend(s, t, b)
                return FFFD
            c = ranges_cp(((f - 0x81) * 10 + s - 0x30) * 1260 + (t - 0x81) * 10 + b - 0x30)
            return FFFD if c is None else chr(c)
        if s:
            if 0x81 <= b <= 0xFE:
                st["t"] = b
                return None
            q.prepend(s, b)
            st.update(f=0, s=0)
            return FFFD
        if f:
            if 0x30 <= b <= 0x39:
                st["s"] = b
                return None
            st["f"] = 0
            off = 0x40 if b < 0x7F else 0x41
            p = (f - 0x81) * 190 + (b - off) if (0x40 <= b <= 0x7E or 0x80 <= b <= 0xFE) else None
            c = idx[p] if p is not None and p < len(idx) else None
            if c is not None:
                return chr(c)
            if b < 0x80:
                q.prepend(b)
            return FFFD
        if b < 0x80:
            return chr(b)
        if b == 0x80:
            return "\u20ac"
        if b == 0xFF:
            return FFFD
        st["f"] = b
        return None
    return run(h, data)


def lead_trail(data, pointer, lookup, single):
    """The shape Big5, EUC-KR and Shift_JIS share: a lead byte, then a trail byte."""
    st = {"lead": 0}

    def h(b, q):
        lead = st["lead"]
        if b is None:
            if lead:
                st["lead"] = 0
                return FFFD
            return "done"
        if lead:
            st["lead"] = 0
            p = pointer(lead, b)
            c = lookup(p) if p is not None else None
            if c is not None:
                return c
            if b < 0x80:
                q.prepend(b)
            return FFFD
        r = single(b)
        if r == "lead":
            st["lead"] = b
            return None
        return r
    return run(h, data)


def big5(data):
    idx = IDX["big5"]
    special = {1133: "\u00ca\u0304", 1135: "\u00ca\u030c", 1164: "\u00ea\u0304", 1166: "\u00ea\u030c"}

    def pointer(l, b):
        off = 0x40 if b < 0x7F else 0x62
        return (l - 0x81) * 157 + (b - off) if (0x40 <= b <= 0x7E or 0xA1 <= b <= 0xFE) else None

    def lookup(p):
        if p in special:
            return special[p]
        return cp(idx[p]) if p < len(idx) else None
    return lead_trail(data, pointer, lookup,
                      lambda b: chr(b) if b < 0x80 else "lead" if 0x81 <= b <= 0xFE else FFFD)


def euc_kr(data):
    idx = IDX["euc-kr"]
    return lead_trail(data, lambda l, b: (l - 0x81) * 190 + (b - 0x41) if 0x41 <= b <= 0xFE else None,
                      lambda p: cp(idx[p]) if p < len(idx) else None,
                      lambda b: chr(b) if b < 0x80 else "lead" if 0x81 <= b <= 0xFE else FFFD)


def shift_jis(data):
    idx = IDX["jis0208"]

    def pointer(l, b):
        off = 0x40 if b < 0x7F else 0x41
        loff = 0x81 if l < 0xA0 else 0xC1
        return (l - loff) * 188 + b - off if (0x40 <= b <= 0x7E or 0x80 <= b <= 0xFC) else None

    def lookup(p):
        if 8836 <= p <= 10715:
            return chr(0xE000 - 8836 + p)
        return cp(idx[p]) if p < len(idx) else None

    def single(b):
        if b <= 0x80:
            return chr(b)
        if 0xA1 <= b <= 0xDF:
            return chr(0xFF61 - 0xA1 + b)
        if 0x81 <= b <= 0x9F or 0xE0 <= b <= 0xFC:
            return "lead"
        return FFFD
    return lead_trail(data, pointer, lookup, single)


def euc_jp(data):
    st = {"lead": 0, "j12": False}

    def h(b, q):
        lead = st["lead"]
        if b is None:
            if lead:
                st["lead"] = 0
                return FFFD
            return "done"
        if lead == 0x8E and 0xA1 <= b <= 0xDF:
            st["lead"] = 0
            return chr(0xFF61 - 0xA1 + b)
        if lead == 0x8F and 0xA1 <= b <= 0xFE:
            st.update(j12=True, lead=b)
            return None
        if lead:
            st["lead"] = 0
            c = None
            if 0xA1 <= lead <= 0xFE and 0xA1 <= b <= 0xFE:
                idx = IDX["jis0212" if st["j12"] else "jis0208"]
                p = (lead - 0xA1) * 94 + b - 0xA1
                c = idx[p] if p < len(idx) else None
            st["j12"] = False
            if c is not None:
                return chr(c)
            if b < 0x80:
                q.prepend(b)
            return FFFD
        if b < 0x80:
            return chr(b)
        if b in (0x8E, 0x8F) or 0xA1 <= b <= 0xFE:
            st["lead"] = b
            return None
        return FFFD
    return run(h, data)


def iso2022jp(data):
    st = {"state": "ascii", "out_state": "ascii", "lead": 0, "flag": False}
    idx = IDX["jis0208"]

    def h(b, q):
        s = st["state"]
        if s in ("ascii", "roman", "katakana", "lead"):
            if b == 0x1B:
                st["state"] = "esc_start"
                return None
            if b is None:
                return "done"
            st["flag"] = False
            if s == "ascii" and b < 0x80 and b not in (0x0E, 0x0F):
                return chr(b)
            if s == "roman" and b < 0x80 and b not in (0x0E, 0x0F):
                return "\u00a5" if b == 0x5C else "\u203e" if b == 0x7E else chr(b)
            if s == "katakana" and 0x21 <= b <= 0x5F:
                return chr(0xFF61 - 0x21 + b)
            if s == "lead" and 0x21 <= b <= 0x7E:
                st.update(lead=b, state="trail")
                return None
            return FFFD
        if s == "trail":
            if b == 0x1B:
                st["state"] = "esc_start"
                return FFFD
            st["state"] = "lead"
            if b is not None and 0x21 <= b <= 0x7E:
                c = idx[(st["lead"] - 0x21) * 94 + b - 0x21]
                return FFFD if c is None else chr(c)
            if b is None:
                return FFFD  # then end of queue again, in the lead byte state
            return FFFD
        if s == "esc_start":
            if b in (0x24, 0x28):
                st.update(lead=b, state="esc")
                return None
            q.prepend(b)
            st.update(flag=False, state=st["out_state"])
            return FFFD if b is not None else FFFD
        if s == "esc":
            l = st["lead"]
            st["lead"] = 0
            new = {(0x28, 0x42): "ascii", (0x28, 0x4A): "roman", (0x28, 0x49): "katakana",
                   (0x24, 0x40): "lead", (0x24, 0x42): "lead"}.get((l, b))
            if new:
                st.update(state=new, out_state=new)
                old, st["flag"] = st["flag"], True
                return FFFD if old else None
            q.prepend(l, b)
            st.update(flag=False, state=st["out_state"])
            return FFFD

    # end of queue is read until a state finishes: "again" keeps run() going after a None byte
    def h2(b, q):
        r = h(b, q)
        if b is None and r != "done":
            if r is None:
                return "again"
            out_extra.append(r)
            return "again"
        return r
    out_extra = []
    s, out = Stream(data), []
    while True:
        b = s.read()
        r = h(b, s)
        if r == "done":
            break
        if r is not None:
            out.append(r)
    return "".join(out)


MULTI = {"gb18030": gb18030, "gbk": gb18030, "big5": big5, "euc-kr": euc_kr,
         "shift_jis": shift_jis, "euc-jp": euc_jp}


def pairs():
    """Every lone byte and every byte pair from 0x80 up, each line ended by a newline."""
    for l in range(0x80, 0x100):
        yield bytes([l])
        for t in range(0x100):
            if t != 0x0A:
                yield bytes([l, t])


def gb_fours():
    """Four-byte gb18030 sequences: every one of the BMP ranges (pointers 0-39419), the edges of
    the valid pointers, and every 997th beyond U+FFFF."""
    seqs = set()
    edges = [off for off, _ in IDX["gb18030-ranges"]]
    for p in (list(range(39421)) + edges + [e - 1 for e in edges] + [189000, 189001, 1237575, 1237576]
              + list(range(189000, 1237576, 997))):
        if p < 0:
            continue
        b4 = p % 10
        b3 = (p // 10) % 126
        b2 = (p // 1260) % 10
        b1 = p // 12600
        if b1 <= 0xFE - 0x81:
            seqs.add(bytes([0x81 + b1, 0x30 + b2, 0x81 + b3, 0x30 + b4]))
    seqs.add(b"\x81\x30\x81")  # cut short
    seqs.add(b"\x81\x30\x20\x30")
    return sorted(seqs)


def iso2022_cases():
    escs = [b"\x1b(B", b"\x1b(J", b"\x1b(I", b"\x1b$@", b"\x1b$B"]
    body = bytes(range(0x00, 0x80)).replace(b"\x1b", b"").replace(b"\n", b"")
    out = []
    for e in escs:
        out.append(e + body)
        for lead in range(0x21, 0x7F):
            out.append(e + bytes(x for t in range(0x21, 0x7F) for x in (lead, t)))
        for e2 in escs:
            out.append(e + e2 + b"ab")  # two escapes back to back: U+FFFD
            out.append(e + b"x" + e2 + b"ab")
    out += [b"\x1b", b"\x1b(", b"\x1b$", b"\x1b(X", b"\x1b$A", b"\x1b$B\x21", b"\x1b$B\x21\x1b(Bx",
            b"\x1b$B\x1b(Bevil", b"\x0e", b"\x0f", b"\x80\xff", b"\x1b(I\x60"]
    return out


def main():
    tool = sys.argv[1]
    failed = 0

    def ours(label, data):
        p = subprocess.run([tool, label, "lines"], input=data, capture_output=True)
        if p.returncode:
            raise SystemExit("%s %s: exit %d" % (tool, label, p.returncode))
        return p.stdout.decode("utf-8")

    def compare(label, chunks, oracle):
        nonlocal failed
        data = b"\n".join(chunks)
        got = ours(label, data).split("\n")
        # each chunk is decoded alone, by both
        want = [oracle(c) for c in chunks]
        if len(got) != len(want):
            print("%s: %d lines out, %d expected" % (label, len(got), len(want)))
            failed += 1
            return
        bad = [(c, g, w) for c, g, w in zip(chunks, got, want) if g != w]
        for c, g, w in bad[:12]:
            print("%s: %s decodes to %s, the standard says %s" % (label, c.hex(" "), ascii(g), ascii(w)))
        if bad:
            print("%s: %d of %d sequences differ" % (label, len(bad), len(chunks)))
        failed += len(bad)

    for name in SINGLE:
        compare(name, [bytes([b]) for b in range(0x100) if b != 0x0A],
                lambda c, n=name: single_byte(n, c))
    for name, fn in MULTI.items():
        chunks = list(pairs())
        if name in ("gb18030", "gbk"):
            chunks += gb_fours()
        compare(name, chunks, fn)
    compare("iso-2022-jp", iso2022_cases(), iso2022jp)
    print("%s" % ("all decoders agree with the standard" if not failed else "%d differences" % failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
