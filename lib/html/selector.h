/* CSS selector engine over gumbo's tree: compile once, match many nodes. */
#ifndef LF_SELECTOR_H
#define LF_SELECTOR_H

#include <stddef.h>
#include <gumbo.h>

typedef struct lf__selector_s lf__selector_t;

/* Compiles text into *out. Supports CSS Selectors Level 3 and, from Level 4, :is(), :where(),
 * :not(list), :has(relative list), :nth-child(An+B of S) and the i/s attribute flags; see
 * README "Selectors" for the list and selector_parse.c for the details. Returns 0, LF_ENOMEM, or
 * LF_ESELECTOR with *err_pos set to the 0-based byte offset of the problem and errbuf holding one
 * line such as "unexpected ']' at position 4". */
int lf__selector_compile(const char *text, lf__selector_t **out, size_t *err_pos, char *errbuf,
                         size_t errlen);

/* 1 if the element node matches the selector (any group), else 0. Non-elements never match.
 * The :nth-* pseudo-classes remember where they counted last (so a walk in document order stays
 * linear): one compiled selector matches in one thread at a time, and lf__selector_forget()
 * must be called before it is used on another document. */
int lf__selector_matches(const lf__selector_t *sel, const GumboNode *node);

/* Drops what matching remembered about the previous document. */
void lf__selector_forget(lf__selector_t *sel);

/* lf__selector_forget, then reads what matching needs of the document root (gumbo's document
 * node) before the first element is matched: its quirks mode (.class and #id then compare
 * ASCII case-insensitively, as in browsers) and, for a selector with :lang(), the language a
 * <meta http-equiv=content-language> sets for elements no lang attribute covers. */
void lf__selector_document(lf__selector_t *sel, const GumboNode *root);

void lf__selector_free(lf__selector_t *sel);

/* How many compounds this thread has tried so far: tests check with it that matching stays
 * near-linear, without timing anything. */
unsigned long lf__selector_steps(void);

#endif
