/* Whether gumbo can parse a page in bounded time (pagecost.c says why it may not). */
#ifndef LF_PAGECOST_H
#define LF_PAGECOST_H

#include <stddef.h>

/* The caps (README, "A page is saved only..."): the costliest of 125,961 real HTML files
 * took 12 million steps; a page at the step cap parses in about 1 s. */
#define LF__PAGE_MAX_DEPTH 8192 /* elements open inside each other */
#define LF__PAGE_MAX_ATTRS 4096 /* attributes of one element */
#define LF__PAGE_MAX_STEPS                                                                         \
  50000000 /* sum of the depth each element opens at, plus A^2/2 for                               \
              each element of A attributes */

/* What gumbo may allocate for a page of N bytes (arena.h counts it while it parses), bytes
 * asked for, freed ones too: N * LF__PAGE_TREE_PER_BYTE + LF__PAGE_TREE_BASE. Real pages take
 * far less (README); copies of formatting elements stop here. */
#define LF__PAGE_TREE_PER_BYTE 64u
#define LF__PAGE_TREE_BASE (16u << 20)

/* 0 if html (UTF-8, len bytes) is within the caps; LF_ECOMPLEX with one line in why (naming
 * the cap) if not; LF_ENOMEM. Linear in len. */
int lf__page_check_cost(const char *html, size_t len, char *why, size_t whylen);

#endif
