/* libFuzzer: decoding any bytes in any encoding gives valid UTF-8 (what gumbo needs), and
 * encoding that UTF-8 back for a URL query never fails. The first byte picks the encoding.
 * Then the escape of the characters gumbo would replace (charesc.h): the escaped text holds
 * none of them, and undoing the escape gives back the decoded text byte for byte. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "charesc.h"
#include "encoding.h"
#include "loopfetch.h"

static const char *const labels[] = {
    "windows-1252", "iso-8859-2", "shift_jis",      "euc-kr",      "gb18030",
    "gbk",          "big5",       "euc-jp",         "iso-2022-jp", "utf-16le",
    "utf-16be",     "koi8-r",     "x-user-defined", "iso-2022-kr", "windows-1256",
    "windows-874",  "ibm866",     "x-mac-cyrillic", "utf-8",
};

/* Whether c is a code point gumbo 0.10 replaces with U+FFFD (lib/html/charesc.c's list). */
static int replaced_by_gumbo(uint32_t c) {
  return (c >= 1 && c <= 8) || c == 0xB || (c >= 0xE && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) ||
         (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

/* Reads s with iconv's own UTF-8 reader rather than encoding.c's validator: an independent
 * judge of what lf__decode() and lf__charesc_page() wrote. Returns 0 if s is not valid UTF-8;
 * else 1, with *replaced (if not NULL) telling whether s holds a code point gumbo replaces. */
static int read_utf8(const char *s, size_t len, int *replaced) {
  static iconv_t cd = (iconv_t)-1;
  if (cd == (iconv_t)-1 && (cd = iconv_open("UTF-32LE", "UTF-8")) == (iconv_t)-1) abort();
  uint32_t buf[1024];
  char *in = (char *)s;
  size_t left = len;
  if (replaced) *replaced = 0;
  while (left) {
    char *out = (char *)buf;
    size_t room = sizeof(buf);
    if (iconv(cd, &in, &left, &out, &room) == (size_t)-1 && errno != E2BIG) return 0;
    for (uint32_t *c = buf; replaced && (char *)c < out; c++)
      *replaced |= replaced_by_gumbo(*c);
  }
  return 1;
}

static void check_escape(const char *text, size_t n) {
  char *esc = NULL;
  size_t elen = 0;
  if (lf__charesc_page(text, n, &esc, &elen) != 0) abort();
  if (!esc) return;
  int replaced;
  if (read_utf8(text, n, NULL) && (!read_utf8(esc, elen, &replaced) || replaced)) abort();
  if (!memchr(text, 0, n) && (lf__charesc_undo(esc) != n || memcmp(esc, text, n) != 0)) abort();
  free(esc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  const char *label = labels[data[0] % (sizeof(labels) / sizeof(*labels))];
  const lf__encoding_t *enc = lf__encoding_for_label(label, strlen(label));
  char *out = NULL, *back = NULL;
  size_t n = 0, m = 0;
  if (!enc) abort();
  if (lf__decode(enc, (const char *)data + 1, size - 1, &out, &n) != 0) return 0;
  if (strlen(out) > n || (enc->kind != LF__ENC_UTF8 && !read_utf8(out, n, NULL))) abort();
  if (enc->kind != LF__ENC_UTF8 && lf__encode_query(enc, out, n, &back, &m) != 0) abort();
  check_escape(out, n);
  check_escape((const char *)data, size); /* any bytes: not well-formed UTF-8 passes as is */
  free(out);
  free(back);
  return 0;
}
