/* Characters gumbo would lose, carried through the parse under an escape.
 *
 * gumbo 0.10 replaces with U+FFFD every control character but tab, newline, form feed and
 * carriage return (U+0001-0008, U+000B, U+000E-001F, U+007F-009F) and every noncharacter
 * (U+FDD0-FDEF, U+xFFFE, U+xFFFF), where the HTML standard only calls them parse errors and
 * browsers keep them. They reach URLs: a windows-1252 page's byte 0x81 is U+0081, which a
 * browser requests as %C2%81 in a path and %81 in a query (that page's encoding), and a
 * control in an href is percent-encoded, not replaced. So before gumbo sees the page, each of
 * them becomes two characters gumbo keeps: the escape U+10FFFD and U+10FE00 + its index below.
 * The escape itself is escaped too (index ESC_SELF), so undoing is exact for any page. Both
 * are private-use characters, ordinary text to the tree builder, so the tree is the one a
 * browser builds. What reads text from the tree and cares (hrefs, attribute values that
 * selectors compare) undoes the escapes; names of tags and attributes keep them. */
#include "charesc.h"

#include <stdint.h>
#include <stdlib.h>

#include "loopfetch.h"
#include "utf8.h"

#define PAYLOAD 0x10FE00 /* U+10FE00 + index */
#define ESC 0x10FFFD
#define ESC_SELF 0x83

/* The index of code point c among those gumbo would replace (and the escape), or -1. */
static int index_of(uint32_t c) {
  if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F)) return (int)c;
  if (c >= 0x7F && c <= 0x9F) return 0x20 + (int)(c - 0x7F);                   /* 0x20-0x40 */
  if (c >= 0xFDD0 && c <= 0xFDEF) return 0x41 + (int)(c - 0xFDD0);             /* 0x41-0x60 */
  if ((c & 0xFFFE) == 0xFFFE) return 0x61 + (int)(c >> 16) * 2 + (int)(c & 1); /* 0x61-0x82 */
  return c == ESC ? ESC_SELF : -1;
}

/* The code point of index i (any i in 0..ESC_SELF; index_of() tells whether it is used). */
static uint32_t code_of(int i) {
  if (i < 0x20) return (uint32_t)i;
  if (i <= 0x40) return 0x7F + (uint32_t)(i - 0x20);
  if (i <= 0x60) return 0xFDD0 + (uint32_t)(i - 0x41);
  if (i < ESC_SELF) return ((uint32_t)(i - 0x61) / 2) << 16 | 0xFFFE | (uint32_t)(i - 0x61) % 2;
  return ESC;
}

/* Lead bytes that may start a character to escape: the controls, DEL, C2 (U+0080-009F), EF
 * (U+FDD0-FDEF, U+FFFE-FFFF) and the 4-byte leads (U+xFFFE-xFFFF, the escape). */
static int may_start(unsigned char b) {
  if (b >= 0x20 && b < 0x7F) return 0; /* most of a page: decided in one test */
  return (b >= 0x01 && b <= 0x08) || b == 0x0B || (b >= 0x0E && b <= 0x1F) || b == 0x7F ||
         b == 0xC2 || b == 0xEF || (b >= 0xF0 && b <= 0xF4);
}

/* The length of the character to escape at s, or 0 (its index in *index). */
static size_t to_escape(const unsigned char *s, size_t left, int *index) {
  if (!may_start(s[0])) return 0;
  size_t n;
  uint32_t c = (uint32_t)lf__utf8_decode(s, left, &n);
  *index = n ? index_of(c) : -1;
  return *index >= 0 ? n : 0;
}

int lf__charesc_page(const char *in, size_t len, char **out, size_t *out_len) {
  const unsigned char *s = (const unsigned char *)in;
  size_t count = 0, n;
  int index;
  *out = NULL;
  *out_len = 0;
  for (size_t i = 0; i < len; i += n ? n : 1)
    count += (n = to_escape(s + i, len - i, &index)) != 0;
  if (!count) return 0;
  if (count > (SIZE_MAX - len) / 8) return LF_ENOMEM; /* each grows by at most 8 bytes */
  char *o = malloc(len + count * 8 + 1), *w = o;
  if (!o) return LF_ENOMEM;
  for (size_t i = 0; i < len; i += n ? n : 1) {
    if ((n = to_escape(s + i, len - i, &index)) == 0) {
      *w++ = in[i];
      continue;
    }
    w += lf__utf8_encode(ESC, w);
    w += lf__utf8_encode(PAYLOAD + (unsigned long)index, w);
  }
  *w = '\0';
  *out = o;
  *out_len = (size_t)(w - o);
  return 0;
}

size_t lf__charesc_undo(char *s) {
  size_t len = strlen(s), r = 0, w = 0, n;
  while (r < len) {
    if (len - r >= 2 * LF__CHARESC_LEN && memcmp(s + r, LF__CHARESC, LF__CHARESC_LEN) == 0) {
      const unsigned char *q = (const unsigned char *)s + r + LF__CHARESC_LEN;
      uint32_t p = (uint32_t)lf__utf8_decode(q, len - r - LF__CHARESC_LEN, &n);
      int i = n == 4 && p >= PAYLOAD && p <= PAYLOAD + ESC_SELF ? (int)(p - PAYLOAD) : -1;
      if (i >= 0 && index_of(code_of(i)) == i) {
        w += lf__utf8_encode(code_of(i), s + w); /* never longer than the 8 bytes it replaces */
        r += LF__CHARESC_LEN + 4;
        continue;
      }
    }
    s[w++] = s[r++];
  }
  s[w] = '\0';
  return w;
}
