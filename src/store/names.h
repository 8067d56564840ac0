/* Output names: from a URL to a safe, unique file name inside the output folder. */
#ifndef LF_NAMES_H
#define LF_NAMES_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#define LF_NAME_MAX 255 /* bytes, as NAME_MAX on Linux */

/* Derives "<last path segment, percent-decoded>.html" from an absolute URL into buf
 * (buflen >= LF_NAME_MAX + 1). The result never is "." or "..", never contains '/', NUL or
 * control bytes, never starts with '.', is valid UTF-8, and is at most LF_NAME_MAX bytes.
 * Returns 0, LF_EURL, or LF_ENAME. */
int lf__name_from_url(const char *url, char *buf, size_t buflen);
/* The same from a URL libcurl has parsed already. */
int lf__name_from_curlu(CURLU *u, char *buf, size_t buflen);

/* Names follow the content (as wget's --adjust-extension): `reserved` is the name
 * lf__name_from_url() gave `url` (made unique by lf__names_unique()), which always ends in
 * ".html". Into out: for a reply that is not HTML (is_html 0) the added ".html" comes off
 * ("big.bin.html" -> "big.bin"), and for a URL name ending in ".htm" it always does; a URL
 * name ending in ".html" keeps it. Since names taken whole end in ".html" and names with it
 * taken off never do, no two URLs of a job can end up with the same name, whatever their
 * replies: the set reserves the ".html" form for both. `reserved` may be a --layout path; out
 * needs strlen(reserved) + 1 bytes. Returns 0, LF_EURL, LF_EINVAL. */
int lf__name_for_reply(const char *url, const char *reserved, int is_html, char *out,
                       size_t outlen);

/* Names the program itself uses in an output folder start with "loopfetch-" (the manifests
 * loopfetch-manifest*.jsonl and any file the program adds there: a lock, records, WARC
 * files) or ".lf-" (temporaries), and -C's partial files are ".NAME.lf-part" and
 * ".NAME.lf-part.state" beside a page (lib/engine/partial.c): no page name starts with '.'. A page's name or --layout
 * folder never does: name[0..len) starting with "loopfetch-" in any case (case-insensitive
 * file systems) gets its '-' turned into '_' ("loopfetch_manifest.jsonl"). */
#define LF_RESERVED_PREFIX "loopfetch-"
void lf__name_unreserve(char *name, size_t len);

/* The file name a Content-Disposition header offers (filename*=UTF-8''... or filename=...),
 * only its last path component, through the same sanitizer as URL names (no ".html" added).
 * Returns 0, or LF_ENAME if the header names no usable file. */
int lf__name_from_disposition(const char *header, char *buf, size_t buflen);

/* A set of names already handed out, to make collisions unique deterministically: the first
 * "X.html" keeps its name, later ones become "X~2.html", "X~3.html", ... in call order. */
typedef struct lf__names_s lf__names_t;

int lf__names_new(lf__names_t **out); /* nameset.c */
/* Writes the unique variant of name into out (outlen >= LF_NAME_MAX + 1) and records it. */
int lf__names_unique(lf__names_t *names, const char *name, char *out, size_t outlen);
void lf__names_free(lf__names_t *names);
/* The same set used for other keys (the -i input's URLs, to drop repeats): records the 64-bit
 * key; 1 if it was new, 0 if recorded already, LF_ENOMEM. 6 bytes a key (nameset.c). */
int lf__names_add_key(lf__names_t *set, uint64_t key);

/* Writes "<stem>~n<ext>" for name (len bytes) to out (LF_NAME_MAX + 1 bytes), the stem cut on
 * a character boundary so the result fits LF_NAME_MAX. ext is the final extension (".html",
 * ".gz", none). */
void lf__name_variant(const char *name, size_t len, unsigned long n, char *out);

#endif
