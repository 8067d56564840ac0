/* libFuzzer: link extraction on arbitrary bytes, through encoding sniffing and decoding: the
 * first byte picks the Content-Type (no charset, or one of several encodings), the rest is the
 * page. Every link that comes out must be an absolute http(s) URL without spaces, controls or a
 * fragment, and none twice. Field extraction (lf_extract_page) runs on the same page: every
 * text is collapsed and trimmed, every ::url value is such a URL, every value valid UTF-8. */
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"

static const char *const types[] = {
    NULL,
    "text/html",
    "text/html; charset=windows-1252",
    "text/html; charset=shift_jis",
    "text/html; charset=utf-16le",
    "text/html; charset=utf-16be",
    "text/html; charset=euc-kr",
    "text/html; charset=gb18030",
    "text/html; charset=iso-2022-jp",
    "text/html; charset=big5",
    "text/html; charset=x-user-defined",
    "text/html; charset=iso-2022-kr",
    "text/html; charset=\"iso-8859-2\"",
    "text/html; charset=bogus",
};

static void check_url(const char *u) {
  if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) || strchr(u, '#')) abort();
  for (const unsigned char *p = (const unsigned char *)u; *p; p++)
    if (*p <= 0x20 || *p >= 0x7f) abort(); /* an href is ASCII (WHATWG: hosts too) */
}

/* Well-formed UTF-8 (no surrogates, nothing above U+10FFFF, no overlong forms). */
static void check_utf8(const unsigned char *s) {
  while (*s) {
    unsigned char b = *s;
    size_t n = b < 0x80                 ? 1
               : b >= 0xc2 && b <= 0xdf ? 2
               : b >= 0xe0 && b <= 0xef ? 3
               : b >= 0xf0 && b <= 0xf4 ? 4
                                        : 0;
    if (!n) abort();
    for (size_t i = 1; i < n; i++)
      if ((s[i] & 0xc0) != 0x80) abort();
    if ((b == 0xe0 && s[1] < 0xa0) || (b == 0xed && s[1] > 0x9f) || (b == 0xf0 && s[1] < 0x90) ||
        (b == 0xf4 && s[1] > 0x8f))
      abort();
    s += n;
  }
}

static void check_text(const char *t) {
  size_t n = strlen(t);
  if (n && (t[0] == ' ' || t[n - 1] == ' ')) abort();
  if (strstr(t, "  ") || strpbrk(t, "\t\r\n\f")) abort();
}

static lf_extract_t *fields;

static void extract(const char *html, size_t len, const char *ct) {
  static const char *const specs[] = {
      "t=p",   "all[]=td, th, li", "u=a::url(href)", "us[]=a, img::url(src)", "a=a::attr(title)",
      "b=body"};
  if (!fields) {
    if (lf_extract_new("tr, div", &fields, NULL, 0) != 0) abort();
    for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++)
      if (lf_extract_add(fields, specs[i], NULL, 0) != 0) abort();
  }
  lf_records_t r;
  if (lf_extract_page(fields, html, len, "https://en.wikipedia.org/wiki/List", ct, &r, NULL, 0))
    return;
  for (size_t i = 0; i < r.count * r.fields; i++) {
    const lf_value_t *v = &r.values[i];
    size_t f = i % r.fields;
    if (!v->array && v->count > 1) abort();
    for (size_t k = 0; k < v->count; k++) {
      check_utf8((const unsigned char *)v->items[k]);
      if (f == 0 || f == 1 || f == 5) check_text(v->items[k]);
      if (f == 2 || f == 3) check_url(v->items[k]);
    }
  }
  lf_records_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lf_links_t links;
  char err[256];
  const char *ct = size ? types[data[0] % (sizeof(types) / sizeof(*types))] : NULL;
  const char *html = size ? (const char *)data + 1 : (const char *)data;
  size_t len = size ? size - 1 : 0;
  int rc = lf_links_extract2(html, len, "https://en.wikipedia.org/wiki/List", ct,
                             "td .flagicon + a, a[href], :is(area, link)[href]", &links, err,
                             sizeof(err));
  extract(html, len, ct);
  if (rc != 0) return 0;
  for (size_t i = 0; i < links.count; i++) {
    const char *u = links.urls[i];
    check_url(u);
    for (size_t j = 0; j < i && links.count < 200; j++)
      if (strcmp(u, links.urls[j]) == 0) abort();
  }
  lf_links_free(&links);
  return 0;
}
