/* Growable strings (buf.h). Doubling keeps appends amortised O(1). */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"

int lf__buf_reserve(lf__buf_t *b, size_t more) {
  if (b->data && more < b->cap - b->len) return 0;
  size_t need = b->len + more + 1, ncap = b->cap ? b->cap : 16;
  if (need <= b->len) return LF_ENOMEM;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2) return LF_ENOMEM;
    ncap *= 2;
  }
  char *p = realloc(b->data, ncap);
  if (!p) return LF_ENOMEM;
  if (!b->data) p[0] = '\0';
  b->data = p;
  b->cap = ncap;
  return 0;
}

int lf__buf_push(lf__buf_t *b, const char *s, size_t n) {
  if (lf__buf_reserve(b, n)) return LF_ENOMEM;
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int lf__buf_push_utf8(lf__buf_t *b, unsigned long cp) {
  static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
  char u[4];
  size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  for (size_t i = n - 1; i > 0; i--, cp >>= 6)
    u[i] = (char)(0x80 | (cp & 0x3f));
  u[0] = (char)(n == 1 ? cp : (lead[n] | cp));
  return lf__buf_push(b, u, n);
}
