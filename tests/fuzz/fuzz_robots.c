/* libFuzzer: any robots.txt parses (for our token and for none) without a crash or a leak, and
 * any path is answered: a disallow always names its rule, an allow names an Allow rule or none;
 * the path's normal form is a fixed point (normalising twice changes nothing), and a normalised
 * path matches itself as a pattern. Input: the first line is the URL to ask about, the rest the
 * file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "robots.h"

static void ask(const lf__robots_t *r, const char *url) {
  const char *rule;
  int ok = lf__robots_allowed(r, url, &rule);
  if (!ok && (!rule || strncmp(rule, "Disallow: ", 10) != 0)) abort();
  if (ok && rule && strncmp(rule, "Allow: ", 7) != 0) abort();
  (void)lf__robots_crawl_delay(r);
  for (size_t i = 0; i < lf__robots_sitemap_count(r); i++)
    if (!lf__robots_sitemap(r, i) || !lf__robots_sitemap(r, i)[0]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  const char *nl = memchr(text, '\n', size);
  size_t ulen = nl ? (size_t)(nl - text) : size;
  char *url = malloc(ulen + 1);
  if (!url) return 0;
  memcpy(url, text, ulen);
  url[ulen] = '\0';
  url[strlen(url)] = '\0'; /* a NUL inside ends it, as in a C string */
  const char *body = nl ? nl + 1 : text + size;
  size_t blen = (size_t)(text + size - body);

  char *norm = lf__robots_norm_url(url);
  if (norm) {
    char *again = lf__robots_norm_url(norm);
    if (again && strcmp(norm, again) != 0) abort();
    /* normal forms hold no '*' or '$', so as a pattern one matches itself exactly */
    if (strpbrk(norm, "*$") || !lf__robots_match(norm, strlen(norm), norm, strlen(norm))) abort();
    free(again);
    free(norm);
  }
  const char *agents[] = {"loopfetch", ""};
  for (int a = 0; a < 2; a++) {
    lf__robots_t *r = lf__robots_parse(body, blen, agents[a]);
    if (!r) continue;
    ask(r, url);
    ask(r, "/");
    ask(r, "http://example.com/a/b?c=d#e");
    lf__robots_free(r);
  }
  free(url);
  return 0;
}
