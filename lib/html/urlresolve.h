/* Resolving an href found on a page to the absolute URL a browser would request. */
#ifndef LF_URLRESOLVE_H
#define LF_URLRESOLVE_H

#include <curl/curl.h>

#include "encoding.h"

#define LF__URL_SKIP 1 /* result: this href gives no usable http(s) URL */

/* Resolves raw (UTF-8, as gumbo gives attribute values) against base (NULL: raw must be
 * absolute); the query is written in enc (NULL: UTF-8), the rest as UTF-8. On success *out is
 * the absolute URL (malloc'd). Returns 0, LF__URL_SKIP (with *why saying why) or LF_ENOMEM.
 * With base_out, the resolved URL is also returned as a handle (for <base href>). */
int lf__url_resolve(CURLU *base, const lf__encoding_t *enc, const char *raw, char **out,
                    CURLU **base_out, const char **why);

#endif
