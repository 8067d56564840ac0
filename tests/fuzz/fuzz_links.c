/* libFuzzer: link extraction on arbitrary bytes, through encoding sniffing and decoding: the
 * first byte picks the Content-Type (no charset, or one of several encodings), the rest is the
 * page. Every link that comes out must be an absolute http(s) URL without spaces, controls or a
 * fragment, and none twice. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lf_links_t links;
  char err[256];
  const char *ct = size ? types[data[0] % (sizeof(types) / sizeof(*types))] : NULL;
  const char *html = size ? (const char *)data + 1 : (const char *)data;
  size_t len = size ? size - 1 : 0;
  int rc = lf_links_extract2(html, len, "https://en.wikipedia.org/wiki/List", ct,
                             "td .flagicon + a, a[href], :is(area, link)[href]", &links, err,
                             sizeof(err));
  if (rc != 0) return 0;
  for (size_t i = 0; i < links.count; i++) {
    const char *u = links.urls[i];
    if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) || strchr(u, '#'))
      abort();
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
      if (*p <= 0x20 || *p >= 0x7f) abort(); /* an href is ASCII (WHATWG: hosts too) */
    for (size_t j = 0; j < i && links.count < 200; j++)
      if (strcmp(u, links.urls[j]) == 0) abort();
  }
  lf_links_free(&links);
  return 0;
}
