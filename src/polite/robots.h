/* robots.txt (RFC 9309): a file parsed once for one product token, then asked about URLs.
 *
 * Where the RFC leaves room, Google's reference parser (github.com/google/robotstxt) is followed:
 * keys are recognised by their prefix, case-insensitively, with its frequent typos ("useragent",
 * "dissallow", ...); a key and its value may be separated by whitespace instead of ':' when the
 * line holds exactly two words; lines end at LF, CR or CR LF and are cut at 16,664 bytes; a BOM
 * (or the start of one) is skipped; "Allow: /x/index.html" also allows "/x/". What Google does
 * not read but crawlers commonly honour, Crawl-delay, is read too (the largest value of the
 * groups that apply). Only the first LF_ROBOTS_MAX_BYTES are read; a line cut by that limit is
 * dropped rather than read short (a short "Allow:" pattern would allow more). */
#ifndef LF_ROBOTS_H
#define LF_ROBOTS_H

#include <stddef.h>

#define LF_ROBOTS_MAX_BYTES (500 * 1024) /* RFC 9309 2.5: at least 500 KiB */
#define LF_ROBOTS_TOKEN_MAX 64           /* bytes of a product token kept for matching */

typedef struct lf__robots_s lf__robots_t;

/* Parses len bytes of text for the crawler whose product token is agent ("loopfetch"; see
 * lf__robots_token; "" obeys only the "*" groups). Never fails on content: what cannot be read
 * is ignored, as the RFC asks. NULL only when out of memory. */
lf__robots_t *lf__robots_parse(const char *text, size_t len, const char *agent);
void lf__robots_free(lf__robots_t *r);

/* May url be fetched? url is absolute (http://host/path?q#f) or a path ("/path?q"). Returns 1
 * (allowed) or 0 (disallowed). *rule (if rule is not NULL) is the deciding line as
 * "Disallow: <pattern as written>" or "Allow: ...", or NULL when no rule matched; it lives as
 * long as r. */
int lf__robots_allowed(const lf__robots_t *r, const char *url, const char **rule);

/* Crawl-delay of the groups that apply, in seconds, or -1 when none gives one. */
double lf__robots_crawl_delay(const lf__robots_t *r);

/* The Sitemap lines of the whole file (they belong to no group), in file order. */
size_t lf__robots_sitemap_count(const lf__robots_t *r);
const char *lf__robots_sitemap(const lf__robots_t *r, size_t i);

/* The product token of a User-Agent header value: its leading letters, '-' and '_'
 * ("loopfetch/0.1.0 (+https://...)" -> "loopfetch"), at most LF_ROBOTS_TOKEN_MAX bytes, into
 * out (LF_ROBOTS_TOKEN_MAX + 1 bytes). "" when it starts with none. */
void lf__robots_token(const char *user_agent, char *out);

/* robots_match.c: the path (with query, without fragment) of url as it is matched: percent-
 * escapes of unreserved characters decoded, the others in upper case, bytes outside printable
 * ASCII and the special characters '*' and '$' escaped. A new string, or NULL (no memory). */
char *lf__robots_norm_url(const char *url);
/* A rule's pattern normalised the same way, except that '*' stays a wildcard (runs of them
 * become one) and a final '$' stays the end anchor. A new string, or NULL. */
char *lf__robots_norm_pattern(const char *pattern, size_t len);
/* Does the normalised pattern match the start of the normalised path (all of it with '$')? */
int lf__robots_match(const char *path, size_t n, const char *pattern, size_t m);

#endif
