/* SURT keys (Sort-friendly URI Reordering Transform) for the CDXJ index, canonicalised as
 * warcio and pywb do, so that pywb finds a URL under the key it computes itself: lowercased,
 * without scheme, a leading www. (or www2. ...), userinfo, default port and fragment; host
 * labels reversed and comma-joined; query parameters sorted. */
#include <stdlib.h>
#include <string.h>
#include "ascii.h"
#include "warc.h"

typedef struct {
  char *p;
  size_t len, cap;
} sbuf_t;

static void add(sbuf_t *b, const char *s, size_t n) {
  for (size_t i = 0; i < n && b->len + 1 < b->cap; i++)
    b->p[b->len++] = (char)lf__ascii_lower((unsigned char)s[i]);
  b->p[b->len] = '\0';
}

static int cmp_str(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y);
}

/* Query parameters ("a=1&b=2"), sorted as strings and joined with '&'. */
static void sorted_query(sbuf_t *b, const char *q, size_t n) {
  char *copy = malloc(n + 1);
  size_t count = 1;
  for (size_t i = 0; i < n; i++)
    count += q[i] == '&';
  char **parts = malloc(count * sizeof(*parts));
  if (!copy || !parts) { /* without memory, unsorted: still a key, only a worse one */
    add(b, q, n);
    free(copy);
    free(parts);
    return;
  }
  for (size_t i = 0; i < n; i++)
    copy[i] = (char)lf__ascii_lower((unsigned char)q[i]);
  copy[n] = '\0';
  size_t k = 0;
  for (char *s = copy;;) {
    parts[k++] = s;
    char *amp = strchr(s, '&');
    if (!amp) break;
    *amp = '\0';
    s = amp + 1;
  }
  qsort(parts, k, sizeof(*parts), cmp_str);
  for (size_t i = 0; i < k; i++) {
    if (i) add(b, "&", 1);
    add(b, parts[i], strlen(parts[i]));
  }
  free(parts);
  free(copy);
}

void lf__warc_surt(const char *url, char *out, size_t len) {
  sbuf_t b = {out, 0, len};
  if (!len) return;
  out[0] = '\0';
  const char *sep = strstr(url, "://");
  int https = lf__ascii_caseeq_n(url, "https://", 8);
  if (!sep || !(https || lf__ascii_caseeq_n(url, "http://", 7))) {
    add(&b, url, strlen(url));
    return;
  }
  const char *auth = sep + 3, *auth_end = auth + strcspn(auth, "/?#");
  const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
  const char *host = at ? at + 1 : auth, *host_end = auth_end, *port = NULL;
  const char *colon =
      host < auth_end && *host == '[' ? memchr(host, ']', (size_t)(auth_end - host)) : host;
  colon = colon ? memchr(colon, ':', (size_t)(auth_end - colon)) : NULL;
  if (colon) {
    host_end = colon;
    port = colon + 1;
  }
  /* www, www2, ... at the start goes */
  if (host_end - host > 4 && lf__ascii_caseeq_n(host, "www", 3)) {
    const char *d = host + 3;
    while (d < host_end && *d >= '0' && *d <= '9')
      d++;
    if (d < host_end && *d == '.') host = d + 1;
  }
  /* labels reversed */
  const char *end = host_end;
  while (end > host && end[-1] == '.')
    end--;
  for (const char *e = end; e > host;) {
    const char *s = e;
    while (s > host && s[-1] != '.')
      s--;
    add(&b, s, (size_t)(e - s));
    if (s > host) add(&b, ",", 1);
    e = s > host ? s - 1 : host;
  }
  if (port && port < auth_end) {
    size_t pn = (size_t)(auth_end - port);
    int dflt = (https && pn == 3 && memcmp(port, "443", 3) == 0) ||
               (!https && pn == 2 && memcmp(port, "80", 2) == 0);
    if (!dflt) {
      add(&b, ":", 1);
      add(&b, port, pn);
    }
  }
  add(&b, ")", 1);
  const char *path = auth_end, *path_end = path + strcspn(path, "?#");
  if (path == path_end)
    add(&b, "/", 1);
  else
    add(&b, path, (size_t)(path_end - path));
  if (*path_end == '?') {
    const char *q = path_end + 1;
    size_t qn = strcspn(q, "#");
    if (qn) {
      add(&b, "?", 1);
      sorted_query(&b, q, qn);
    }
  }
}
