/* UTF-8 one character at a time, as the WHATWG Encoding standard reads and writes it: for the
 * files that look at characters themselves (buf.c, encoding.c's fallback, charesc.c). */
#ifndef LF_UTF8_H
#define LF_UTF8_H

#include <stddef.h>

/* Writes code point cp (at most U+10FFFF) as UTF-8 at out; returns its length, 1 to 4. */
static inline size_t lf__utf8_encode(unsigned long cp, char *out) {
  static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
  size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  for (size_t i = n - 1; i > 0; i--, cp >>= 6)
    out[i] = (char)(0x80 | (cp & 0x3f));
  out[0] = (char)(n == 1 ? cp : (lead[n] | cp));
  return n;
}

/* The code point of the well-formed UTF-8 sequence at s (left > 0 bytes there), and its length
 * in *n; *n is 0 when s does not start one: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no sequence cut short. */
static inline unsigned long lf__utf8_decode(const unsigned char *s, size_t left, size_t *n) {
  unsigned char b = s[0], lo = 0x80, hi = 0xbf; /* the bounds of the second byte */
  size_t len = b < 0x80                 ? 1
               : b >= 0xc2 && b <= 0xdf ? 2
               : b >= 0xe0 && b <= 0xef ? 3
               : b >= 0xf0 && b <= 0xf4 ? 4
                                        : 0;
  static const unsigned char mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
  unsigned long cp = b & mask[len];
  *n = 0;
  if (len == 3) {
    lo = b == 0xe0 ? 0xa0 : 0x80;
    hi = b == 0xed ? 0x9f : 0xbf;
  } else if (len == 4) {
    lo = b == 0xf0 ? 0x90 : 0x80;
    hi = b == 0xf4 ? 0x8f : 0xbf;
  }
  if (!len || len > left || (len > 1 && (s[1] < lo || s[1] > hi))) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  *n = len;
  return cp;
}

#endif
