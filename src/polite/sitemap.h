/* Sitemaps (sitemaps.org protocol 0.9): a <urlset> or a <sitemapindex>, plain or gzip, read as it
 * arrives, with expat's parser behind handlers that refuse any DTD: no entity is ever declared,
 * so none can be expanded (the "billion laughs" have nothing to multiply) and no external one
 * loaded (no external entity handler, parameter entities never parsed). At most
 * LF_SITEMAP_MAX_BYTES are read (uncompressed: a gzip bomb stops there) and LF_SITEMAP_MAX_URLS
 * entries taken, the protocol's caps; elements nest at most 256 deep and no tag is longer than
 * 1 MB. Elements are matched by local name, so a sitemap that forgets its namespace still
 * reads. */
#ifndef LF_SITEMAP_H
#define LF_SITEMAP_H

#include <stddef.h>

#define LF_SITEMAP_MAX_BYTES (50u * 1024 * 1024)
#define LF_SITEMAP_MAX_URLS 50000
#define LF_SITEMAP_LOC_MAX 8192 /* bytes of a <loc> (the protocol says under 2,048 chars) */

typedef struct lf__sitemap_s lf__sitemap_t;

/* One entry: a page of a <urlset> (index 0) or a sitemap of a <sitemapindex> (index 1), its
 * <loc> trimmed and its <lastmod> (or NULL). Return 0 to go on, negative to stop (out of
 * memory). */
typedef int (*lf__sitemap_cb)(void *arg, int index, const char *loc, const char *lastmod);

/* NULL when out of memory. */
lf__sitemap_t *lf__sitemap_new(lf__sitemap_cb cb, void *arg);
/* The next bytes of the body, as they come; gzip is recognised by its first two bytes. 0, or -1
 * once the sitemap is found malformed or too big (lf__sitemap_error says where and why). */
int lf__sitemap_feed(lf__sitemap_t *s, const char *data, size_t len);
/* The end of the body: 0, or -1 (truncated, not a sitemap, ...). */
int lf__sitemap_end(lf__sitemap_t *s);
/* "line 3, column 7: <reason>", or "" when none. */
const char *lf__sitemap_error(const lf__sitemap_t *s);
/* Entries that went past LF_SITEMAP_MAX_URLS, not handed out. */
size_t lf__sitemap_dropped(const lf__sitemap_t *s);
/* 1 for a <sitemapindex>, 0 for a <urlset> (known after the root element). */
int lf__sitemap_is_index(const lf__sitemap_t *s);
void lf__sitemap_free(lf__sitemap_t *s);

#endif
