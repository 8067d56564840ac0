/* A growable, always NUL-terminated byte string for the selector lexer and the transcoder. */
#ifndef LF_BUF_H
#define LF_BUF_H

#include <stddef.h>

typedef struct {
  char *data; /* NULL until the first push; then NUL-terminated */
  size_t len, cap;
} lf__buf_t;

/* Room for more bytes plus the NUL. 0 or LF_ENOMEM (b unchanged). */
int lf__buf_reserve(lf__buf_t *b, size_t more);
int lf__buf_push(lf__buf_t *b, const char *s, size_t n);
/* Appends code point cp (at most U+10FFFF) as UTF-8. */
int lf__buf_push_utf8(lf__buf_t *b, unsigned long cp);

#endif
