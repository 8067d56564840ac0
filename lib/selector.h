/* CSS selector engine over gumbo's tree: compile once, match many nodes. */
#ifndef LF_SELECTOR_H
#define LF_SELECTOR_H

#include <stddef.h>
#include <gumbo.h>

typedef struct lf__selector_s lf__selector_t;

/* Compiles text into *out. Supports: type, *, .class, #id, [attr], [attr=v], [attr~=v],
 * [attr|=v], [attr^=v], [attr$=v], [attr*=v] (values bare or quoted), descendant (space),
 * child >, adjacent sibling +, general sibling ~ (elements only; text nodes do not count),
 * and groups with ','. Returns 0, LF_ENOMEM, or LF_ESELECTOR with *err_pos set to the 0-based
 * byte offset of the problem and errbuf holding one line such as
 * "unexpected ']' at position 4". */
int lf__selector_compile(const char *text, lf__selector_t **out, size_t *err_pos, char *errbuf,
                         size_t errlen);

/* 1 if the element node matches the selector (any group), else 0. Non-elements never match. */
int lf__selector_matches(const lf__selector_t *sel, const GumboNode *node);

void lf__selector_free(lf__selector_t *sel);

#endif
