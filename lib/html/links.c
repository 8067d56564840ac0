/* Link extraction: decode the page to UTF-8 and parse it with gumbo (page.h), select elements
 * with a CSS selector, resolve their href against the page (or its <base href>) as a browser
 * would (urlresolve.c), keep unique http(s) URLs in first-seen order.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <gumbo.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loopfetch.h"
#include "page.h"
#include "selector.h"
#include "urlresolve.h"
#include "walk.h"

/* Open-addressing hash set of the URLs kept so far; the strings belong to lf_links_t. */
typedef struct {
  char **slots;
  size_t cap, used; /* cap is 0 or a power of two, kept at most half full */
} urlset_t;

typedef struct {
  lf__selector_t *sel;
  lf__url_t *base;
  const lf__encoding_t *enc; /* the page's, for the queries of its URLs */
  lf_links_t links;
  size_t urls_cap;
  urlset_t set;
  char why[160]; /* LF_ECOMPLEX: the page's reason */
} extract_t;

static int set_err(char *errbuf, size_t errlen, int rc, const char *fmt, ...) {
  if (errbuf && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- the set of URLs seen ---- */

static size_t hash_str(const char *s) {
  uint64_t h = 14695981039346656037u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return (size_t)h;
}

/* Slot holding s, or the empty slot where s would go. */
static char **set_slot(const urlset_t *set, const char *s) {
  size_t i = hash_str(s) & (set->cap - 1);
  while (set->slots[i] && strcmp(set->slots[i], s) != 0)
    i = (i + 1) & (set->cap - 1);
  return &set->slots[i];
}

/* Makes room for one more entry, keeping the table at most half full so probes stay short. */
static int set_reserve(urlset_t *set) {
  if ((set->used + 1) * 2 <= set->cap) return 0;
  size_t ncap = set->cap ? set->cap * 2 : 64;
  if (ncap > SIZE_MAX / sizeof(char *)) return LF_ENOMEM;
  urlset_t bigger = {calloc(ncap, sizeof(char *)), ncap, set->used};
  if (!bigger.slots) return LF_ENOMEM;
  for (size_t i = 0; i < set->cap; i++)
    if (set->slots[i]) *set_slot(&bigger, set->slots[i]) = set->slots[i];
  free(set->slots);
  *set = bigger;
  return 0;
}

static int urls_reserve(extract_t *x) {
  if (x->links.count < x->urls_cap) return 0;
  size_t ncap = x->urls_cap ? x->urls_cap * 2 : 16;
  if (ncap > SIZE_MAX / sizeof(char *)) return LF_ENOMEM;
  char **urls = realloc(x->links.urls, ncap * sizeof(char *));
  if (!urls) return LF_ENOMEM;
  x->links.urls = urls;
  x->urls_cap = ncap;
  return 0;
}

/* Keeps url (taking ownership) unless it was seen before; first-seen order is kept. */
static int add_url(extract_t *x, char *url) {
  int rc = set_reserve(&x->set);
  if (!rc) rc = urls_reserve(x);
  char **slot = rc ? NULL : set_slot(&x->set, url);
  if (!slot || *slot) {
    free(url);
    return rc;
  }
  *slot = url;
  x->set.used++;
  x->links.urls[x->links.count++] = url;
  return 0;
}

/* ---- walking the document ---- */

/* What one walk over the tree finds: the elements the selector matches, in document order, and
 * the first <base href>. One walk, not two, because walking the tree costs more than matching
 * (see bench/RESULTS.md, issue 13); the hrefs resolve afterwards, once the base is known. */
typedef struct {
  const GumboNode **nodes;
  size_t n, cap;
  const GumboNode *base;
} found_t;

static int walk(extract_t *x, const GumboNode *root, found_t *f) {
  lf__selector_document(x->sel, root);
  size_t seen = 0;
  for (const GumboNode *n = root; n; n = lf__walk_next(n)) {
    if (++seen % 65536 == 0 && lf__stop_waiting()) return LF_EABORTED; /* as the parse does */
    if (!f->base && lf__page_is_base(n)) f->base = n;
    if (!lf__selector_matches(x->sel, n)) continue;
    if (f->n == f->cap) {
      size_t ncap = f->cap ? f->cap * 2 : 64;
      const GumboNode **p =
          ncap < SIZE_MAX / sizeof(*p) ? realloc(f->nodes, ncap * sizeof(*p)) : NULL;
      if (!p) return LF_ENOMEM;
      f->nodes = p;
      f->cap = ncap;
    }
    f->nodes[f->n++] = n;
  }
  return 0;
}

/* An href (or the URL it resolves to) longer than a request may be: one such link is skipped
 * and counted, never allowed to fail the page (a 9 MB href made the URL parser run out of
 * memory, which failed the whole page). */
static int too_long(extract_t *x, const char *s) {
  if (strlen(s) <= LF_URL_MAX) return 0;
  x->links.skipped++;
  x->links.too_long++;
  return 1;
}

static int visit(extract_t *x, const GumboNode *n) {
  x->links.matched++;
  const char *href, *why;
  char *url = NULL, *copy;
  int rc = lf__page_attr(n, "href", &href, &copy);
  if (rc) return rc;
  if (href && too_long(x, href)) {
    free(copy);
    return 0;
  }
  rc = href ? lf__url_resolve(x->base, x->enc, href, &url, NULL, &why) : LF__URL_SKIP;
  free(copy);
  if (rc == LF__URL_SKIP) {
    x->links.skipped++;
    return 0;
  }
  if (!rc && too_long(x, url)) {
    free(url);
    return 0;
  }
  return rc ? rc : add_url(x, url);
}

/* One selector over the parsed page: one walk, then the hrefs resolved. */
static int extract_parsed(extract_t *x, const lf__page_t *page) {
  found_t f = {0};
  x->enc = page->enc;
  int rc = walk(x, page->root, &f);
  if (!rc) rc = lf__page_apply_base(&x->base, x->enc, f.base);
  for (size_t i = 0; i < f.n && !rc; i++)
    rc = (i + 1) % 4096 == 0 && lf__stop_waiting() ? LF_EABORTED : visit(x, f.nodes[i]);
  free(f.nodes);
  return rc;
}

/* The page decoded and parsed (page.h) once, then each of the n selectors over it. */
static int extract(extract_t *xs, size_t n, const char *html, size_t len,
                   const char *content_type) {
  lf__page_t page;
  int rc = lf__page_parse(&page, html, len, content_type);
  if (rc == LF_ECOMPLEX)
    snprintf(xs[0].why, sizeof(xs[0].why), "page too complex to parse: %s", page.why);
  for (size_t i = 0; i < n && !rc; i++)
    rc = extract_parsed(&xs[i], &page);
  lf__page_release(&page);
  return rc;
}

/* A Content-Type that says the page is HTML, or says nothing (absent, empty): its essence,
 * before any parameter and without case, is text/html or application/xhtml+xml. */
static int html_type(const char *ct) {
  if (!ct) return 1;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  size_t n = strcspn(ct, "; \t");
  return n == 0 || (n == 9 && strncasecmp(ct, "text/html", 9) == 0) ||
         (n == 21 && strncasecmp(ct, "application/xhtml+xml", 21) == 0);
}

int lf_links_extract(const char *html, size_t len, const char *page_url, const char *selector,
                     lf_links_t *out, char *errbuf, size_t errlen) {
  return lf_links_extract2(html, len, page_url, NULL, selector, out, errbuf, errlen);
}

int lf_links_extract2(const char *html, size_t len, const char *page_url, const char *content_type,
                      const char *selector, lf_links_t *out, char *errbuf, size_t errlen) {
  if (out) *out = (lf_links_t){0};
  if (!selector) {
    if (errbuf && errlen) errbuf[0] = '\0';
    return set_err(errbuf, errlen, LF_EINVAL, "lf_links_extract: missing argument");
  }
  return lf_links_extract_n(html, len, page_url, content_type, &selector, 1, out, errbuf, errlen);
}

int lf_links_extract_n(const char *html, size_t len, const char *page_url, const char *content_type,
                       const char *const *selectors, size_t n, lf_links_t *out, char *errbuf,
                       size_t errlen) {
  if (!errbuf) errlen = 0;
  if (errlen) errbuf[0] = '\0';
  for (size_t i = 0; out && i < n; i++)
    out[i] = (lf_links_t){0};
  int bad = !out || !page_url || !selectors || n == 0 || (!html && len);
  for (size_t i = 0; !bad && i < n; i++)
    bad = !selectors[i];
  if (bad) return set_err(errbuf, errlen, LF_EINVAL, "lf_links_extract: missing argument");
  extract_t *xs = calloc(n, sizeof(*xs));
  if (!xs) return set_err(errbuf, errlen, LF_ENOMEM, "out of memory");
  size_t err_pos;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = lf__selector_compile(selectors[i], &xs[i].sel, &err_pos, errbuf, errlen);
    if (!rc) rc = lf__page_open_url(page_url, &xs[i].base, errbuf, errlen);
  }
  if (!rc && !html_type(content_type))
    rc = set_err(errbuf, errlen, LF_ENOTHTML, "not HTML (Content-Type: %.200s)", content_type);
  if (!rc) {
    rc = extract(xs, n, html, len, content_type);
    if (rc) set_err(errbuf, errlen, rc, "%s", rc == LF_ECOMPLEX ? xs[0].why : "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    if (!rc)
      out[i] = xs[i].links; /* the caller owns the URLs now */
    else
      lf_links_free(&xs[i].links);
    free(xs[i].set.slots); /* the set only borrowed the strings */
    lf__url_free(xs[i].base);
    lf__selector_free(xs[i].sel);
  }
  free(xs);
  return rc;
}

void lf_links_free(lf_links_t *links) {
  if (!links) return;
  for (size_t i = 0; i < links->count; i++)
    free(links->urls[i]);
  free(links->urls);
  *links = (lf_links_t){0};
}
