/* libFuzzer: any bytes, fed to the sitemap reader in two pieces (the first byte says where the
 * cut is), end with a verdict and no crash, leak or read outside: entries handed out are
 * non-empty NUL-terminated strings within the protocol's caps, and an error names its place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sitemap.h"

static int on_entry(void *arg, int index, const char *loc, const char *lastmod) {
  size_t *n = arg;
  (void)index;
  if (!loc[0] || strlen(loc) > LF_SITEMAP_LOC_MAX || (lastmod && strlen(lastmod) > 63)) abort();
  if (++*n > LF_SITEMAP_MAX_URLS) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t cut = data[0] < size ? data[0] : size - 1, n = 0;
  const char *body = (const char *)data + 1;
  size--;
  if (cut > size) cut = size;
  lf__sitemap_t *s = lf__sitemap_new(on_entry, &n);
  if (!s) return 0;
  int rc = lf__sitemap_feed(s, body, cut);
  if (rc == 0) rc = lf__sitemap_feed(s, body + cut, size - cut);
  if (rc == 0) rc = lf__sitemap_end(s);
  if (rc < 0 && !lf__sitemap_error(s)[0]) abort();
  lf__sitemap_free(s);
  return 0;
}
