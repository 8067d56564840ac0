/* The host parser of the WHATWG URL standard for special URLs (http, https): a domain, an
 * IPv4 address or an [IPv6] address, written in its ASCII serialisation. */
#ifndef LF_URLHOST_H
#define LF_URLHOST_H

#include <stddef.h>

/* Parses the host part of a special URL (in: n bytes of UTF-8, still percent-encoded, as it
 * stands between the authority and the port or path) into *out (malloc'd): a lowercase ASCII
 * domain (IDNA: UTS #46 as the standard sets it, by libidn2), dotted IPv4 or "[v6]".
 * Returns 0, LF__HOST_FAIL (*why says why) or LF_ENOMEM. */
#define LF__HOST_FAIL 1
int lf__host_parse(const char *in, size_t n, char **out, const char **why);

#endif
