/* Which encoding a page is in: the WHATWG Encoding standard's labels, and the HTML standard's
 * "encoding sniffing algorithm" (BOM, transport-layer charset, <meta> prescan, fallback).
 *
 * The fallback is ours to choose (the standard leaves it to the user agent): UTF-8 when every
 * byte of the page is valid UTF-8, windows-1252 otherwise, which is what browsers in most
 * locales end up with for an unlabelled page. Only the names are listed here; the conversion
 * itself is glibc's iconv (transcode.c).
 */
#include "encoding.h"

#include <string.h>

#include "ascii.h"
#include "utf8.h"

/* glibc names: CP932 rather than SHIFT_JIS because glibc's SHIFT_JIS reads 0x5C as U+00A5 and
 * lacks the Microsoft extensions, while WHATWG's Shift_JIS is ASCII below 0x80 plus those
 * extensions (= CP932); likewise WHATWG's EUC-KR is Microsoft's superset (= CP949), its GBK
 * decoder is the gb18030 decoder, and its Big5 is Big5-HKSCS. */
static const lf__encoding_t encodings[] = {
#define E(name, iconv, out, kind, dec)                                                             \
  { name, iconv, out, LF__ENC_##kind, LF__DEC_##dec }
    E("UTF-8", "UTF-8", NULL, UTF8, ICONV),                   /* 0 */
    E("IBM866", "IBM866", NULL, ICONV, SINGLE),               /* 1 */
    E("ISO-8859-2", "ISO-8859-2", NULL, ICONV, SINGLE),       /* 2 */
    E("ISO-8859-3", "ISO-8859-3", NULL, ICONV, SINGLE),       /* 3 */
    E("ISO-8859-4", "ISO-8859-4", NULL, ICONV, SINGLE),       /* 4 */
    E("ISO-8859-5", "ISO-8859-5", NULL, ICONV, SINGLE),       /* 5 */
    E("ISO-8859-6", "ISO-8859-6", NULL, ICONV, SINGLE),       /* 6 */
    E("ISO-8859-7", "ISO-8859-7", NULL, ICONV, SINGLE),       /* 7 */
    E("ISO-8859-8", "ISO-8859-8", NULL, ICONV, SINGLE),       /* 8 */
    E("ISO-8859-8-I", "ISO-8859-8", NULL, ICONV, SINGLE),     /* 9 */
    E("ISO-8859-10", "ISO-8859-10", NULL, ICONV, SINGLE),     /* 10 */
    E("ISO-8859-13", "ISO-8859-13", NULL, ICONV, SINGLE),     /* 11 */
    E("ISO-8859-14", "ISO-8859-14", NULL, ICONV, SINGLE),     /* 12 */
    E("ISO-8859-15", "ISO-8859-15", NULL, ICONV, SINGLE),     /* 13 */
    E("ISO-8859-16", "ISO-8859-16", NULL, ICONV, SINGLE),     /* 14 */
    E("KOI8-R", "KOI8-R", NULL, ICONV, SINGLE),               /* 15 */
    E("KOI8-U", "KOI8-U", NULL, ICONV, SINGLE),               /* 16 */
    E("macintosh", "MACINTOSH", NULL, ICONV, SINGLE),         /* 17 */
    E("windows-874", "CP874", NULL, WINDOWS, SINGLE),         /* 18 */
    E("windows-1250", "CP1250", NULL, WINDOWS, SINGLE),       /* 19 */
    E("windows-1251", "CP1251", NULL, WINDOWS, SINGLE),       /* 20 */
    E("windows-1252", "CP1252", NULL, WINDOWS, SINGLE),       /* 21 */
    E("windows-1253", "CP1253", NULL, WINDOWS, SINGLE),       /* 22 */
    E("windows-1254", "CP1254", NULL, WINDOWS, SINGLE),       /* 23 */
    E("windows-1255", "CP1255", NULL, WINDOWS, SINGLE),       /* 24 */
    E("windows-1256", "CP1256", NULL, WINDOWS, SINGLE),       /* 25 */
    E("windows-1257", "CP1257", NULL, WINDOWS, SINGLE),       /* 26 */
    E("windows-1258", "CP1258", NULL, WINDOWS, SINGLE),       /* 27 */
    E("x-mac-cyrillic", "MAC-CYRILLIC", NULL, ICONV, SINGLE), /* 28 */
    E("GBK", "GB18030", "GBK", ICONV, GB18030),               /* 29 */
    E("gb18030", "GB18030", NULL, ICONV, GB18030),            /* 30 */
    E("Big5", "BIG5-HKSCS", NULL, ICONV, BIG5),               /* 31 */
    E("EUC-JP", "EUC-JP", NULL, ICONV, EUC_JP),               /* 32 */
    E("ISO-2022-JP", "ISO-2022-JP", NULL, ICONV, ISO2022JP),  /* 33 */
    E("Shift_JIS", "CP932", NULL, ICONV, SJIS),               /* 34 */
    E("EUC-KR", "CP949", NULL, ICONV, EUC_KR),                /* 35 */
    E("replacement", NULL, NULL, REPLACEMENT, ICONV),         /* 36 */
    E("UTF-16BE", "UTF-16BE", NULL, UTF16, ICONV),            /* 37 */
    E("UTF-16LE", "UTF-16LE", NULL, UTF16, ICONV),            /* 38 */
    E("x-user-defined", NULL, NULL, USER, ICONV),             /* 39 */
#undef E
};

enum { UTF8 = 0, WIN1252 = 21, UTF16BE = 37, UTF16LE = 38, USER_DEFINED = 39 };

/* Every label of the WHATWG Encoding standard, lowercase, with its encoding. */
static const struct {
  const char *label;
  unsigned char enc;
} labels[] = {
    {"unicode-1-1-utf-8", 0},
    {"unicode11utf8", 0},
    {"unicode20utf8", 0},
    {"utf-8", 0},
    {"utf8", 0},
    {"x-unicode20utf8", 0},
    {"866", 1},
    {"cp866", 1},
    {"csibm866", 1},
    {"ibm866", 1},
    {"csisolatin2", 2},
    {"iso-8859-2", 2},
    {"iso-ir-101", 2},
    {"iso8859-2", 2},
    {"iso88592", 2},
    {"iso_8859-2", 2},
    {"iso_8859-2:1987", 2},
    {"l2", 2},
    {"latin2", 2},
    {"csisolatin3", 3},
    {"iso-8859-3", 3},
    {"iso-ir-109", 3},
    {"iso8859-3", 3},
    {"iso88593", 3},
    {"iso_8859-3", 3},
    {"iso_8859-3:1988", 3},
    {"l3", 3},
    {"latin3", 3},
    {"csisolatin4", 4},
    {"iso-8859-4", 4},
    {"iso-ir-110", 4},
    {"iso8859-4", 4},
    {"iso88594", 4},
    {"iso_8859-4", 4},
    {"iso_8859-4:1988", 4},
    {"l4", 4},
    {"latin4", 4},
    {"csisolatincyrillic", 5},
    {"cyrillic", 5},
    {"iso-8859-5", 5},
    {"iso-ir-144", 5},
    {"iso8859-5", 5},
    {"iso88595", 5},
    {"iso_8859-5", 5},
    {"iso_8859-5:1988", 5},
    {"arabic", 6},
    {"asmo-708", 6},
    {"csiso88596e", 6},
    {"csiso88596i", 6},
    {"csisolatinarabic", 6},
    {"ecma-114", 6},
    {"iso-8859-6", 6},
    {"iso-8859-6-e", 6},
    {"iso-8859-6-i", 6},
    {"iso-ir-127", 6},
    {"iso8859-6", 6},
    {"iso88596", 6},
    {"iso_8859-6", 6},
    {"iso_8859-6:1987", 6},
    {"csisolatingreek", 7},
    {"ecma-118", 7},
    {"elot_928", 7},
    {"greek", 7},
    {"greek8", 7},
    {"iso-8859-7", 7},
    {"iso-ir-126", 7},
    {"iso8859-7", 7},
    {"iso88597", 7},
    {"iso_8859-7", 7},
    {"iso_8859-7:1987", 7},
    {"sun_eu_greek", 7},
    {"csiso88598e", 8},
    {"csisolatinhebrew", 8},
    {"hebrew", 8},
    {"iso-8859-8", 8},
    {"iso-8859-8-e", 8},
    {"iso-ir-138", 8},
    {"iso8859-8", 8},
    {"iso88598", 8},
    {"iso_8859-8", 8},
    {"iso_8859-8:1988", 8},
    {"visual", 8},
    {"csiso88598i", 9},
    {"iso-8859-8-i", 9},
    {"logical", 9},
    {"csisolatin6", 10},
    {"iso-8859-10", 10},
    {"iso-ir-157", 10},
    {"iso8859-10", 10},
    {"iso885910", 10},
    {"l6", 10},
    {"latin6", 10},
    {"iso-8859-13", 11},
    {"iso8859-13", 11},
    {"iso885913", 11},
    {"iso-8859-14", 12},
    {"iso8859-14", 12},
    {"iso885914", 12},
    {"csisolatin9", 13},
    {"iso-8859-15", 13},
    {"iso8859-15", 13},
    {"iso885915", 13},
    {"iso_8859-15", 13},
    {"l9", 13},
    {"iso-8859-16", 14},
    {"cskoi8r", 15},
    {"koi", 15},
    {"koi8", 15},
    {"koi8-r", 15},
    {"koi8_r", 15},
    {"koi8-ru", 16},
    {"koi8-u", 16},
    {"csmacintosh", 17},
    {"mac", 17},
    {"macintosh", 17},
    {"x-mac-roman", 17},
    {"dos-874", 18},
    {"iso-8859-11", 18},
    {"iso8859-11", 18},
    {"iso885911", 18},
    {"tis-620", 18},
    {"windows-874", 18},
    {"cp1250", 19},
    {"windows-1250", 19},
    {"x-cp1250", 19},
    {"cp1251", 20},
    {"windows-1251", 20},
    {"x-cp1251", 20},
    {"ansi_x3.4-1968", 21},
    {"ascii", 21},
    {"cp1252", 21},
    {"cp819", 21},
    {"csisolatin1", 21},
    {"ibm819", 21},
    {"iso-8859-1", 21},
    {"iso-ir-100", 21},
    {"iso8859-1", 21},
    {"iso88591", 21},
    {"iso_8859-1", 21},
    {"iso_8859-1:1987", 21},
    {"l1", 21},
    {"latin1", 21},
    {"us-ascii", 21},
    {"windows-1252", 21},
    {"x-cp1252", 21},
    {"cp1253", 22},
    {"windows-1253", 22},
    {"x-cp1253", 22},
    {"cp1254", 23},
    {"csisolatin5", 23},
    {"iso-8859-9", 23},
    {"iso-ir-148", 23},
    {"iso8859-9", 23},
    {"iso88599", 23},
    {"iso_8859-9", 23},
    {"iso_8859-9:1989", 23},
    {"l5", 23},
    {"latin5", 23},
    {"windows-1254", 23},
    {"x-cp1254", 23},
    {"cp1255", 24},
    {"windows-1255", 24},
    {"x-cp1255", 24},
    {"cp1256", 25},
    {"windows-1256", 25},
    {"x-cp1256", 25},
    {"cp1257", 26},
    {"windows-1257", 26},
    {"x-cp1257", 26},
    {"cp1258", 27},
    {"windows-1258", 27},
    {"x-cp1258", 27},
    {"x-mac-cyrillic", 28},
    {"x-mac-ukrainian", 28},
    {"chinese", 29},
    {"csgb2312", 29},
    {"csiso58gb231280", 29},
    {"gb2312", 29},
    {"gb_2312", 29},
    {"gb_2312-80", 29},
    {"gbk", 29},
    {"iso-ir-58", 29},
    {"x-gbk", 29},
    {"gb18030", 30},
    {"big5", 31},
    {"big5-hkscs", 31},
    {"cn-big5", 31},
    {"csbig5", 31},
    {"x-x-big5", 31},
    {"cseucpkdfmtjapanese", 32},
    {"euc-jp", 32},
    {"x-euc-jp", 32},
    {"csiso2022jp", 33},
    {"iso-2022-jp", 33},
    {"csshiftjis", 34},
    {"ms932", 34},
    {"ms_kanji", 34},
    {"shift-jis", 34},
    {"shift_jis", 34},
    {"sjis", 34},
    {"windows-31j", 34},
    {"x-sjis", 34},
    {"cseuckr", 35},
    {"csksc56011987", 35},
    {"euc-kr", 35},
    {"iso-ir-149", 35},
    {"korean", 35},
    {"ks_c_5601-1987", 35},
    {"ks_c_5601-1989", 35},
    {"ksc5601", 35},
    {"ksc_5601", 35},
    {"windows-949", 35},
    {"csiso2022kr", 36},
    {"hz-gb-2312", 36},
    {"iso-2022-cn", 36},
    {"iso-2022-cn-ext", 36},
    {"iso-2022-kr", 36},
    {"replacement", 36},
    {"unicodefffe", 37},
    {"utf-16be", 37},
    {"csunicode", 38},
    {"iso-10646-ucs-2", 38},
    {"ucs-2", 38},
    {"unicode", 38},
    {"unicodefeff", 38},
    {"utf-16", 38},
    {"utf-16le", 38},
    {"x-user-defined", 39},
};

const lf__encoding_t *lf__encoding_for_label(const char *label, size_t len) {
  while (len && lf__ascii_is_space((unsigned char)*label)) {
    label++;
    len--;
  }
  while (len && lf__ascii_is_space((unsigned char)label[len - 1]))
    len--;
  for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++)
    if (strlen(labels[i].label) == len && lf__ascii_caseeq_n(label, labels[i].label, len))
      return &encodings[labels[i].enc];
  return NULL;
}

const lf__encoding_t *lf__encoding_for_urls(const lf__encoding_t *enc) {
  int utf8 = enc->kind == LF__ENC_UTF16 || enc->kind == LF__ENC_REPLACEMENT;
  return utf8 ? &encodings[UTF8] : enc;
}

/* ---- the charset parameter of Content-Type ---- */

/* `text/html; charset="windows-1252"; q=1`: the charset value, or NULL. */
static const lf__encoding_t *from_content_type(const char *ct) {
  if (!ct) return NULL;
  const char *p = strchr(ct, ';');
  while (p) {
    p++;
    while (lf__ascii_is_space((unsigned char)*p))
      p++;
    const char *name = p;
    while (*p && *p != '=' && *p != ';')
      p++;
    if (*p != '=') continue;
    size_t name_len = (size_t)(p - name);
    const char *v = ++p, *end;
    if (*v == '"') {
      end = strchr(++v, '"');
      if (!end) end = v + strlen(v);
    } else {
      end = v + strcspn(v, ";");
    }
    if (name_len == 7 && lf__ascii_caseeq_n(name, "charset", 7))
      return lf__encoding_for_label(v, (size_t)(end - v));
    p = strchr(end, ';');
  }
  return NULL;
}

/* ---- the <meta> prescan (HTML standard, "prescan a byte stream") ---- */

typedef struct {
  const char *s;
  size_t len, pos;
} scan_t;

#define ATTR_MAX 64 /* longer names and values are cut: none we look for is that long */

typedef struct {
  char name[ATTR_MAX + 1], value[ATTR_MAX + 1];
  size_t name_len, value_len;
} attr_t;

static void append(char *to, size_t *n, unsigned char c) {
  if (*n < ATTR_MAX) to[(*n)++] = (char)lf__ascii_lower(c);
  to[*n] = '\0';
}

/* A quoted or bare attribute value; 0 when the bytes run out first. */
static int get_value(scan_t *s, attr_t *a) {
  unsigned char c = (unsigned char)s->s[s->pos];
  if (c == '"' || c == '\'') {
    for (s->pos++; s->pos < s->len; s->pos++) {
      if ((unsigned char)s->s[s->pos] == c) {
        s->pos++;
        return 1;
      }
      append(a->value, &a->value_len, (unsigned char)s->s[s->pos]);
    }
    return 0;
  }
  if (c == '>') return 1;
  for (; s->pos < s->len; s->pos++) {
    c = (unsigned char)s->s[s->pos];
    if (lf__ascii_is_space(c) || c == '>') return 1;
    append(a->value, &a->value_len, c);
  }
  return 0;
}

static void skip_spaces(scan_t *s) {
  while (s->pos < s->len && lf__ascii_is_space((unsigned char)s->s[s->pos]))
    s->pos++;
}

/* "Get an attribute": 1 with *a filled, 0 at '>' or when the bytes run out. */
static int get_attr(scan_t *s, attr_t *a) {
  *a = (attr_t){0};
  while (s->pos < s->len &&
         (lf__ascii_is_space((unsigned char)s->s[s->pos]) || s->s[s->pos] == '/'))
    s->pos++;
  if (s->pos >= s->len || s->s[s->pos] == '>') return 0;
  for (; s->pos < s->len; s->pos++) {
    unsigned char c = (unsigned char)s->s[s->pos];
    if (c == '=' && a->name_len) break;
    if (lf__ascii_is_space(c)) {
      skip_spaces(s);
      if (s->pos >= s->len) return 0;
      if (s->s[s->pos] != '=') return 1;
      break;
    }
    if (c == '/' || c == '>') return 1;
    append(a->name, &a->name_len, c);
  }
  if (s->pos >= s->len) return 0;
  s->pos++; /* '=' */
  skip_spaces(s);
  return s->pos < s->len && get_value(s, a);
}

/* "Extracting a character encoding from a meta element": charset=... inside content. */
static const lf__encoding_t *from_meta_content(const char *v, size_t len) {
  for (size_t i = 0; i + 7 <= len; i++) {
    if (!lf__ascii_caseeq_n(v + i, "charset", 7)) continue;
    size_t j = i + 7;
    while (j < len && lf__ascii_is_space((unsigned char)v[j]))
      j++;
    if (j >= len || v[j] != '=') {
      i += 6;
      continue;
    }
    for (j++; j < len && lf__ascii_is_space((unsigned char)v[j]); j++)
      ;
    if (j >= len) return NULL;
    if (v[j] == '"' || v[j] == '\'') {
      const char *end = memchr(v + j + 1, v[j], len - j - 1);
      return end ? lf__encoding_for_label(v + j + 1, (size_t)(end - v - j - 1)) : NULL;
    }
    size_t k = j;
    while (k < len && !lf__ascii_is_space((unsigned char)v[k]) && v[k] != ';')
      k++;
    return lf__encoding_for_label(v + j, k - j);
  }
  return NULL;
}

/* One <meta ...> whose attributes start at s->pos: its encoding, or NULL. */
static const lf__encoding_t *meta_encoding(scan_t *s) {
  attr_t a;
  int got_pragma = 0, need_pragma = -1, seen_he = 0, seen_ct = 0, seen_cs = 0;
  const lf__encoding_t *charset = NULL;
  while (get_attr(s, &a)) {
    if (!strcmp(a.name, "http-equiv") && !seen_he++) {
      got_pragma |= !strcmp(a.value, "content-type");
    } else if (!strcmp(a.name, "content") && !seen_ct++) {
      const lf__encoding_t *e = from_meta_content(a.value, a.value_len);
      if (e && !charset) {
        charset = e;
        need_pragma = 1;
      }
    } else if (!strcmp(a.name, "charset") && !seen_cs++) {
      charset = lf__encoding_for_label(a.value, a.value_len);
      need_pragma = 0;
    }
  }
  if (need_pragma < 0 || (need_pragma && !got_pragma) || !charset) return NULL;
  if (charset == &encodings[UTF16BE] || charset == &encodings[UTF16LE]) return &encodings[UTF8];
  if (charset == &encodings[USER_DEFINED]) return &encodings[WIN1252];
  return charset;
}

static int at(const scan_t *s, const char *lit) {
  size_t n = strlen(lit);
  return s->len - s->pos >= n && lf__ascii_caseeq_n(s->s + s->pos, lit, n);
}

static int is_alpha(unsigned char c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Advances past the next '>' at or after from. */
static void skip_past(scan_t *s, size_t from, const char *lit) {
  size_t n = strlen(lit);
  for (s->pos = from; s->pos + n <= s->len; s->pos++)
    if (!memcmp(s->s + s->pos, lit, n)) {
      s->pos += n;
      return;
    }
  s->pos = s->len;
}

static const lf__encoding_t *prescan(const char *bytes, size_t len) {
  scan_t s = {bytes, len < 1024 ? len : 1024, 0};
  attr_t a;
  while (s.pos < s.len) {
    if (at(&s, "<!--")) {
      skip_past(&s, s.pos + 2, "-->"); /* "<!-->" closes itself */
      continue;
    } else if (at(&s, "<meta") && s.pos + 5 < s.len &&
               (lf__ascii_is_space((unsigned char)s.s[s.pos + 5]) || s.s[s.pos + 5] == '/')) {
      s.pos += 6;
      const lf__encoding_t *e = meta_encoding(&s);
      if (e) return e;
    } else if (s.s[s.pos] == '<' && s.pos + 2 < s.len &&
               (is_alpha((unsigned char)s.s[s.pos + 1]) ||
                (s.s[s.pos + 1] == '/' && is_alpha((unsigned char)s.s[s.pos + 2])))) {
      while (s.pos < s.len && !lf__ascii_is_space((unsigned char)s.s[s.pos]) && s.s[s.pos] != '>')
        s.pos++;
      while (get_attr(&s, &a))
        ;
    } else if (at(&s, "<!") || at(&s, "</") || at(&s, "<?")) {
      skip_past(&s, s.pos + 2, ">");
      continue;
    }
    s.pos++;
  }
  return NULL;
}

/* ---- the fallback ---- */

static int valid_utf8(const unsigned char *s, size_t len) {
  size_t n;
  for (size_t i = 0; i < len; i += n) {
    lf__utf8_decode(s + i, len - i, &n);
    if (!n) return 0;
  }
  return 1;
}

static int all_ascii(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] >= 0x80) return 0;
  return 1;
}

const lf__encoding_t *lf__encoding_sniff_page(const char *bytes, size_t len,
                                              const char *content_type, size_t *bom_len,
                                              int *tentative) {
  const unsigned char *b = (const unsigned char *)bytes;
  *bom_len = 0;
  *tentative = 0;
  if (len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
    *bom_len = 3;
    return &encodings[UTF8];
  }
  if (len >= 2 && ((b[0] == 0xfe && b[1] == 0xff) || (b[0] == 0xff && b[1] == 0xfe))) {
    *bom_len = 2;
    return &encodings[b[0] == 0xfe ? UTF16BE : UTF16LE];
  }
  const lf__encoding_t *e = from_content_type(content_type);
  if (e) return e;
  *tentative = 1;
  e = prescan(bytes, len);
  /* The fallback: what browsers outside the CJK locales end up with. A page of ASCII bytes
   * only is windows-1252 (the locale's default), which shows in its URLs' queries
   * (`?q=&eacute;` is %E9); non-ASCII bytes that are all valid UTF-8 are UTF-8 (browsers
   * detect it); anything else is windows-1252. */
  if (!e) e = !all_ascii(b, len) && valid_utf8(b, len) ? &encodings[UTF8] : &encodings[WIN1252];
  return e;
}

const lf__encoding_t *lf__encoding_sniff(const char *bytes, size_t len, const char *content_type,
                                         size_t *bom_len) {
  int tentative;
  return lf__encoding_sniff_page(bytes, len, content_type, bom_len, &tentative);
}

const lf__encoding_t *lf__encoding_for_meta(const char *charset, const char *http_equiv,
                                            const char *content) {
  const lf__encoding_t *e = NULL;
  if (charset)
    e = lf__encoding_for_label(charset, strlen(charset));
  else if (http_equiv && content && lf__ascii_caseeq_n(http_equiv, "content-type", 13))
    e = from_meta_content(content, strlen(content));
  if (e == &encodings[UTF16BE] || e == &encodings[UTF16LE]) return &encodings[UTF8];
  if (e == &encodings[USER_DEFINED]) return &encodings[WIN1252];
  return e;
}
