/* ASCII-only character helpers: locale-independent, as HTML, CSS and URLs want them
 * (strcasecmp and tolower would follow the locale). */
#ifndef LF_ASCII_H
#define LF_ASCII_H

#include <stddef.h>

static inline unsigned char lf__ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline int lf__ascii_caseeq_n(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lf__ascii_lower((unsigned char)a[i]) != lf__ascii_lower((unsigned char)b[i])) return 0;
  return 1;
}

/* ASCII whitespace as HTML and CSS mean it. */
static inline int lf__ascii_is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

#endif
