/* Resolving an href found on a page to the absolute URL a browser would request: the WHATWG
 * URL standard's parser for http and https (urlresolve.c), its host parser (urlhost.c). */
#ifndef LF_URLRESOLVE_H
#define LF_URLRESOLVE_H

#include "encoding.h"

#define LF__URL_SKIP 1 /* result: this href gives no usable http(s) URL */

/* A parsed http(s) URL, every part in its serialised (percent-encoded, ASCII) form. */
typedef struct {
  int https;         /* the scheme: 0 http, 1 https */
  char *user, *pass; /* "" when there is none */
  char *host;        /* a domain, a dotted IPv4 address or "[v6]" */
  int port;          /* -1: the scheme's default */
  char *path;        /* "/seg/seg": each segment after a '/' (no segments: "") */
  char *query;       /* without its '?'; NULL when there is none */
} lf__url_t;

/* The WHATWG basic URL parser: raw (len bytes of UTF-8) against base (NULL: raw must be
 * absolute); the query is encoded in enc (NULL: UTF-8). Returns 0 with *out (lf__url_free it),
 * LF__URL_SKIP with *why (a failure, or a scheme other than http/https) or LF_ENOMEM. */
int lf__url_parse(const char *raw, size_t len, const lf__url_t *base, const lf__encoding_t *enc,
                  lf__url_t **out, const char **why);
/* The href (malloc'd), as a browser's a.href writes it. */
char *lf__url_href(const lf__url_t *u);
void lf__url_free(lf__url_t *u);

/* lf__url_parse, then the href in *out (when out is non-NULL) and the URL in *base_out (when
 * base_out is non-NULL; for <base href>). A URL libcurl would not take (the fetch step parses
 * every URL with it) is skipped too: one answer from both. */
int lf__url_resolve(const lf__url_t *base, const lf__encoding_t *enc, const char *raw, char **out,
                    lf__url_t **base_out, const char **why);

#endif
