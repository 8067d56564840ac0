/* Redaction and escaping of outside text; see safe_text.h. */
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "safe_text.h"

size_t lf__url_userinfo(const char *url, size_t *offset) {
  const char *scheme_end = strstr(url, "://");
  if (!scheme_end) return 0;
  const char *auth = scheme_end + 3;
  size_t auth_len = strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < auth + auth_len; p++) /* the last '@' ends the userinfo */
    if (*p == '@') at = p;
  if (!at) return 0;
  *offset = (size_t)(auth - url);
  return (size_t)(at + 1 - auth);
}

void lf__url_redacted(const char *url, void (*out)(void *arg, const char *s, size_t n), void *arg) {
  size_t off, len = lf__url_userinfo(url, &off);
  if (!len) {
    out(arg, url, strlen(url));
    return;
  }
  out(arg, url, off);
  out(arg, "***@", 4);
  out(arg, url + off + len, strlen(url + off + len));
}

static void hash_piece(void *arg, const char *s, size_t n) {
  uint64_t *h = arg;
  *h = lf__fnv1a(*h, s, n);
}

/* Keys of the rerun index, whose slot is the key's low bits: lf__hash64's mixing, so names
 * that differ in a pattern do not crowd into neighbouring slots. */
uint64_t lf__url_key(const char *url) {
  uint64_t h = LF__FNV1A_INIT;
  lf__url_redacted(url, hash_piece, &h);
  return lf__mix64(h);
}

uint64_t lf__text_key(const char *s) {
  return lf__hash64(s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p that is safe to print (no C0/C1 control, no DEL),
 * or 0. */
static size_t printable_seq(const unsigned char *p) {
  if (*p >= 0x20 && *p < 0x7f) return 1;
  size_t n = *p >= 0xc2 && *p <= 0xdf   ? 2
             : *p >= 0xe0 && *p <= 0xef ? 3
             : *p >= 0xf0 && *p <= 0xf4 ? 4
                                        : 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  if (n == 2 && *p == 0xc2 && p[1] < 0xa0) return 0; /* U+0080..U+009F: C1 controls */
  if (n == 3 && *p == 0xe0 && p[1] < 0xa0) return 0; /* overlong */
  if (n == 4 && ((*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 && p[1] > 0x8f))) return 0;
  return n;
}

typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
} grow_t;

static void put(void *arg, const char *s, size_t n) {
  grow_t *g = arg;
  if (g->oom) return;
  if (g->len + n * 4 + 1 > g->cap) { /* each byte may become \xNN */
    size_t cap = (g->len + n * 4 + 1) * 2;
    char *b = realloc(g->buf, cap);
    if (!b) {
      g->oom = 1;
      return;
    }
    g->buf = b;
    g->cap = cap;
  }
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    size_t k = printable_seq(p);
    if (k && p + k <= end) {
      memcpy(g->buf + g->len, p, k);
      g->len += k;
      p += k;
      continue;
    }
    g->buf[g->len++] = '\\';
    g->buf[g->len++] = 'x';
    g->buf[g->len++] = hex[*p >> 4];
    g->buf[g->len++] = hex[*p & 15];
    p++;
  }
  g->buf[g->len] = '\0';
}

char *lf__display(const char *text, int is_url) {
  grow_t g = {0};
  if (is_url)
    lf__url_redacted(text, put, &g);
  else
    put(&g, text, strlen(text));
  if (!g.oom && !g.buf) put(&g, "", 0);
  if (g.oom || !g.buf) {
    free(g.buf);
    return NULL;
  }
  return g.buf;
}
