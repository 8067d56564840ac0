/* Reading selector text: characters, names, quoted values, escapes, and error reports with the
 * byte position. Used by selector_parse.c; the ASCII helpers by selector_match.c too. */
#ifndef LF_SELECTOR_LEX_H
#define LF_SELECTOR_LEX_H

#include <stddef.h>

#include "ascii.h"

typedef struct {
  const char *s;
  size_t pos;
  size_t err_pos;
  char *errbuf;
  size_t errlen;
  int depth;  /* nesting of :is() :not() :has() :nth-child(of S) */
  int in_has; /* inside :has(), which the standard does not allow to nest */
} lf__sel_parser_t;

/* Records a syntax error at pos; the message always ends in " at position N" (0-based). */
int lf__sel_fail(lf__sel_parser_t *p, size_t pos, const char *fmt, ...);
int lf__sel_nomem(lf__sel_parser_t *p);
int lf__sel_fail_unexpected(lf__sel_parser_t *p, size_t pos);
int lf__sel_fail_expected(lf__sel_parser_t *p, const char *expected);
int lf__sel_skip_ws(lf__sel_parser_t *p);
/* A name (identifier characters and escapes) into a fresh string. */
int lf__sel_parse_name(lf__sel_parser_t *p, const char *expected, char **out);
/* A quoted value at p->pos into a fresh string. */
int lf__sel_parse_string(lf__sel_parser_t *p, char **out);

/* Returns items with room for one more element (n in use, *cap allocated), or NULL when out of
 * memory, leaving items untouched. */
void *lf__sel_grow(void *items, size_t *cap, size_t n, size_t size);

/* Name characters. Lenient on purpose: a leading digit is accepted (`#123`), as a user typing a
 * selector on the command line expects, although strict CSS would reject it. */
static inline int lf__sel_is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c >= 0x80;
}

#endif
