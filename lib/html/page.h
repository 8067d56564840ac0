/* A page as the selector engine sees it: its bytes decoded to UTF-8 in the encoding the HTML
 * standard sniffs, parsed by gumbo into an arena, and the helpers that read URLs and attribute
 * values out of the tree. Shared by link extraction (links.c) and field extraction
 * (extract.c), so that both see the same tree, the same charset and the same URLs. */
#ifndef LF_PAGE_H
#define LF_PAGE_H

#include <gumbo.h>
#include <stddef.h>

#include "arena.h"
#include "encoding.h"
#include "urlresolve.h"

typedef struct {
  const GumboNode *root;     /* the document node */
  const lf__encoding_t *enc; /* the page's, for the queries of its URLs */
  GumboOutput *out;
  lf__arena_t arena;
  char *utf8;    /* the page decoded, when it was not UTF-8 */
  char *escaped; /* the page with the characters gumbo would lose escaped (charesc.h) */
  char why[128];  /* LF_ECOMPLEX: which cap the page passes (pagecost.h) */
} lf__page_t;

/* Sniffs the encoding of html (len bytes; content_type may be NULL), decodes it to UTF-8 and
 * parses it. Returns 0, LF_ENOMEM or LF_ECOMPLEX (a page gumbo cannot parse in bounded time,
 * refused before the parse: p->why says why); on any, lf__page_release() frees what was
 * made. */
int lf__page_parse(lf__page_t *p, const char *html, size_t len, const char *content_type);

/* Frees the tree and the buffers it points into; p is zeroed. */
void lf__page_release(lf__page_t *p);

/* The value of attribute name of element n as the page wrote it (character references
 * decoded, the escapes of charesc.h undone), or NULL when n has no such attribute. The value
 * is in the tree or, when an escape had to be undone, in *copy (malloc'd; the caller frees it,
 * NULL otherwise). Returns 0 or LF_ENOMEM. */
int lf__page_attr(const GumboNode *n, const char *name, const char **value, char **copy);

/* The page URL as a base for resolving: it must be an absolute http(s) URL. Returns 0, LF_EURL
 * (with one line in errbuf) or LF_ENOMEM. */
int lf__page_open_url(const char *page_url, lf__url_t **out, char *errbuf, size_t errlen);

/* Makes the href of base_el (the document's first <base href>, or NULL), resolved against
 * *base, the new *base. A base that does not resolve to http(s) is ignored, as links.c always
 * did. Returns 0 or LF_ENOMEM. */
int lf__page_apply_base(lf__url_t **base, const lf__encoding_t *enc, const GumboNode *base_el);

/* Whether n is a <base> with an href (the first one in document order is the document's). */
int lf__page_is_base(const GumboNode *n);

#endif
