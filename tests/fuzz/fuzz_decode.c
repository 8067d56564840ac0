/* libFuzzer: decoding any bytes in any encoding gives valid UTF-8 (what gumbo needs), and
 * encoding that UTF-8 back for a URL query never fails. The first byte picks the encoding. */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include "encoding.h"
#include "loopfetch.h"

static const char *const labels[] = {
    "windows-1252", "iso-8859-2", "shift_jis",      "euc-kr",      "gb18030",
    "gbk",          "big5",       "euc-jp",         "iso-2022-jp", "utf-16le",
    "utf-16be",     "koi8-r",     "x-user-defined", "iso-2022-kr", "windows-1256",
    "windows-874",  "ibm866",     "x-mac-cyrillic", "utf-8",
};

/* Checked with iconv's own UTF-8 reader rather than encoding.c's validator: an independent
 * judge of what lf__decode() wrote. */
static int valid_utf8(const char *s, size_t len) {
  static iconv_t cd = (iconv_t)-1;
  if (cd == (iconv_t)-1 && (cd = iconv_open("UTF-32LE", "UTF-8")) == (iconv_t)-1) abort();
  char buf[4096];
  char *in = (char *)s;
  size_t left = len;
  while (left) {
    char *out = buf;
    size_t room = sizeof(buf);
    if (iconv(cd, &in, &left, &out, &room) == (size_t)-1 && errno != E2BIG) return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  const char *label = labels[data[0] % (sizeof(labels) / sizeof(*labels))];
  const lf__encoding_t *enc = lf__encoding_for_label(label, strlen(label));
  char *out = NULL, *back = NULL;
  size_t n = 0, m = 0;
  if (!enc) abort();
  if (lf__decode(enc, (const char *)data + 1, size - 1, &out, &n) != 0) return 0;
  if (strlen(out) > n || (enc->kind != LF__ENC_UTF8 && !valid_utf8(out, n))) abort();
  if (enc->kind != LF__ENC_UTF8 && lf__encode_query(enc, out, n, &back, &m) != 0) abort();
  free(out);
  free(back);
  return 0;
}
