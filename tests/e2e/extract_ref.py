"""An independent implementation of loopfetch's records, for tests/e2e/e2e_extract.py: the same
rules (README "Crawling and extracting") written with other code: Python's codecs for the
charset, html5lib for the tree (the HTML standard's parser, as gumbo is), soupsieve (through
BeautifulSoup) for the selectors, urllib for URLs. What loopfetch and this file agree on is
what the rules say, not what either implementation happens to do.

    records(body, content_type, page_url, fields, each) -> [dict]  (fields: the -e specs)
"""

import json
import re
import sys
import urllib.parse

try:
    import bs4
except ImportError:  # pyenv's or a venv's python3: Debian's packages are one folder away
    sys.path.append("/usr/lib/python3/dist-packages")
    import bs4
import html5lib  # noqa: F401  (bs4's "html5lib" tree builder needs it)
import soupsieve  # noqa: F401

BLOCK = set("address article aside blockquote caption dd details div dl dt fieldset figcaption "
            "figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary "
            "table tbody td tfoot th thead tr ul".split())
SKIPPED = {"script", "style", "template", "noscript"}
HTML_NS = "http://www.w3.org/1999/xhtml"
WS = " \t\r\n\f"
TEXT_TYPES = tuple(t for t in (bs4.NavigableString, bs4.CData, getattr(bs4.element, "Script", None),
                               getattr(bs4.element, "Stylesheet", None),
                               getattr(bs4.element, "TemplateString", None)) if t)
NOT_TEXT = (bs4.Comment, bs4.Doctype, bs4.Declaration, bs4.ProcessingInstruction)

# ---- the charset: the HTML standard's sniffing, decoded by Python's codecs ----

LABELS = {"utf-8": "utf-8", "utf8": "utf-8", "windows-1252": "cp1252", "iso-8859-1": "cp1252",
          "latin1": "cp1252", "us-ascii": "cp1252", "iso-8859-2": "iso8859_2",
          "shift_jis": "cp932", "sjis": "cp932", "utf-16le": "utf-16-le", "utf-16-le": "utf-16-le",
          "utf-16": "utf-16-le"}


def _label(s):
    return LABELS.get(s.strip().lower()) if s else None


def encoding_of(body, content_type):
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if body.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    m = re.search(r"charset=\"?([\w-]+)", content_type or "", re.I)
    if m and _label(m[1]):
        return _label(m[1]), 0
    m = re.search(rb"<meta[^>]*charset=[\"']?([\w-]+)", body[:1024], re.I)
    if m and _label(m[1].decode()):
        enc = _label(m[1].decode())
        return ("utf-8" if enc == "utf-16-le" else enc), 0  # a <meta> never says UTF-16
    try:
        body.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError:
        return "cp1252", 0


def _c1(err):
    """windows-1252's five undefined bytes are C1 controls (WHATWG), not errors."""
    return "".join(chr(b) for b in err.object[err.start:err.end]), err.end


import codecs  # noqa: E402

codecs.register_error("lf_c1", _c1)


def decode(body, content_type):
    enc, skip = encoding_of(body, content_type)
    return body[skip:].decode(enc, errors="lf_c1" if enc == "cp1252" else "replace"), enc


# ---- the rules ----

def text_of(el):
    out = []

    def walk(n, top):
        if isinstance(n, NOT_TEXT):
            return
        if isinstance(n, TEXT_TYPES):
            out.append(str(n))
            return
        html_el = getattr(n, "namespace", HTML_NS) in (HTML_NS, None)
        if n is not top and html_el and n.name in SKIPPED:
            return
        block = html_el and n.name in BLOCK
        if html_el and n.name == "br":
            out.append(" ")
        if block:
            out.append(" ")
        for c in n.children:
            walk(c, top)
        if block:
            out.append(" ")

    walk(el, el)
    return re.sub("[" + WS + "]+", " ", "".join(out)).strip(WS)


def _percent(s, encoding, also):
    """s encoded in encoding, then each byte that is not printable ASCII, or is in also,
    percent-encoded (the WHATWG URL standard's percent-encode sets); a character encoding has
    none for becomes %26%23N%3B (&#N; with N in decimal)."""
    out = []
    for ch in s:
        try:
            raw = ch.encode(encoding)
        except UnicodeEncodeError:
            out.append("%%26%%23%d%%3B" % ord(ch))
            continue
        out.append("".join(chr(b) if 0x20 < b < 0x7f and chr(b) not in also else "%%%02X" % b
                           for b in raw))
    return "".join(out)


def resolve(base, href, encoding):
    """href against base as a browser does, for the hrefs real pages hold: None unless http(s)."""
    href = re.sub("[\t\n\r]", "", href.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c"
                                              "\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"
                                              "\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
    url = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))[0]
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    query_enc = "utf-8" if encoding.startswith("utf") else encoding
    path = _percent(parts.path or "/", "utf-8", '"<>`{}')  # the path percent-encode set
    query = _percent(parts.query, query_enc, "\"<>'")  # the special-query set
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc.lower(), path, query, ""))


def parse_spec(spec):
    m = re.fullmatch(r"([^=\[]+)(\[\])?=(.*?)(?:::(text|attr|url)(?:\(\s*([^)\s]+)\s*\))?)?",
                     spec, re.S)
    name, arr, sel, take, attr = m.groups()
    return name, bool(arr), sel, take or "text", attr


def value(el, take, attr, base, encoding):
    if take == "text":
        return text_of(el)
    v = el.get(attr)
    if v is None:
        v = next((val for key, val in el.attrs.items() if key.lower() == attr.lower()), None)
    if v is None or take == "attr":
        return v
    return resolve(base, v, encoding)


def records(body, content_type, page_url, fields, each=None):
    text, encoding = decode(body, content_type)
    soup = bs4.BeautifulSoup(text, "html5lib", multi_valued_attributes=None)
    base = page_url
    first_base = soup.find("base", href=True)
    if first_base is not None:
        b = resolve(page_url, first_base["href"], encoding)
        if b:
            base = b
    scopes = soup.select(each) if each else [soup]
    out = []
    for scope in scopes:
        rec = {}
        for spec in fields:
            name, arr, sel, take, attr = parse_spec(spec)
            found = scope.select(sel)
            if arr:
                vals = [value(el, take, attr, base, encoding) for el in found]
                rec[name] = [v for v in vals if v is not None]
            else:
                rec[name] = value(found[0], take, attr, base, encoding) if found else None
        out.append(rec)
    return out


if __name__ == "__main__":  # a quick look: extract_ref.py FILE URL SPEC...
    with open(sys.argv[1], "rb") as f:
        for r in records(f.read(), None, sys.argv[2], sys.argv[3:]):
            print(json.dumps(r, ensure_ascii=False))
