/* Growable strings (buf.h). Doubling keeps appends amortised O(1). */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "utf8.h"

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
  char u[4];
  return lf__buf_push(b, u, lf__utf8_encode(cp, u));
}
