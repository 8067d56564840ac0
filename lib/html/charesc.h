/* Characters gumbo would lose, carried through the parse under an escape (see charesc.c). */
#ifndef LF_CHARESC_H
#define LF_CHARESC_H

#include <stddef.h>
#include <string.h>

/* The escape character, U+10FFFD, in UTF-8. */
#define LF__CHARESC "\xF4\x8F\xBF\xBD"
#define LF__CHARESC_LEN 4

/* Rewrites a UTF-8 page so that gumbo keeps every character a browser keeps: each control,
 * noncharacter or escape character becomes the escape followed by a private-use character
 * that names it. *out is NULL (and nothing allocated) when the page holds none of them, which
 * is the common case; else a malloc'd copy of *out_len bytes. Bytes that are not well-formed
 * UTF-8 are copied as they are (gumbo replaces them, as browsers do). Returns 0 or
 * LF_ENOMEM. */
int lf__charesc_page(const char *in, size_t len, char **out, size_t *out_len);

/* Whether a string from the tree of an escaped page holds an escape. */
static inline int lf__charesc_found(const char *s, size_t len) {
  const char *p = len >= LF__CHARESC_LEN ? memchr(s, 0xF4, len - LF__CHARESC_LEN + 1) : NULL;
  for (; p; p = memchr(p + 1, 0xF4, (size_t)(s + len - LF__CHARESC_LEN - p)))
    if (memcmp(p, LF__CHARESC, LF__CHARESC_LEN) == 0) return 1;
  return 0;
}

/* Undoes lf__charesc_page() on a NUL-terminated string from the tree, in place (the text only
 * gets shorter); returns its new length. */
size_t lf__charesc_undo(char *s);

#endif
