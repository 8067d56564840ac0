/* Reading selector text: names, quoted values and CSS escapes, and the error messages, whose
 * positions are 0-based byte offsets into the selector text (both in *err_pos and in the
 * message, "unexpected ']' at position 4", so the two always agree). */
#include "selector_lex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "loopfetch.h"

/* Doubling keeps appends amortised O(1). */
void *lf__sel_grow(void *items, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return items;
  size_t ncap = *cap ? *cap * 2 : 4;
  if (ncap < *cap || ncap > SIZE_MAX / size) return NULL;
  void *p = realloc(items, ncap * size);
  if (p) *cap = ncap;
  return p;
}

static int is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_value(unsigned char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int lf__sel_fail(lf__sel_parser_t *p, size_t pos, const char *fmt, ...) {
  char what[192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  p->err_pos = pos;
  if (p->errbuf && p->errlen) snprintf(p->errbuf, p->errlen, "%s at position %zu", what, pos);
  return LF_ESELECTOR;
}

int lf__sel_nomem(lf__sel_parser_t *p) {
  if (p->errbuf && p->errlen) snprintf(p->errbuf, p->errlen, "out of memory");
  return LF_ENOMEM;
}

/* Describes the byte at pos for a message. Controls and non-ASCII bytes are shown in hex so
 * the message stays one printable line (a lone byte may be part of a UTF-8 sequence). */
static void describe(const lf__sel_parser_t *p, size_t pos, char *out, size_t outlen) {
  unsigned char c = (unsigned char)p->s[pos];
  if (!c)
    snprintf(out, outlen, "end of selector");
  else if (c < 0x20 || c >= 0x7f)
    snprintf(out, outlen, "byte 0x%02x", c);
  else
    snprintf(out, outlen, "'%c'", c);
}

int lf__sel_fail_unexpected(lf__sel_parser_t *p, size_t pos) {
  char what[32];
  describe(p, pos, what, sizeof(what));
  return lf__sel_fail(p, pos, "unexpected %s", what);
}

int lf__sel_fail_expected(lf__sel_parser_t *p, const char *expected) {
  char what[32];
  describe(p, p->pos, what, sizeof(what));
  return lf__sel_fail(p, p->pos, "expected %s, found %s", expected, what);
}

int lf__sel_skip_ws(lf__sel_parser_t *p) {
  size_t start = p->pos;
  while (lf__ascii_is_space((unsigned char)p->s[p->pos]))
    p->pos++;
  return p->pos > start;
}

/* A CSS escape at p->pos (the backslash): `\` + 1-6 hex digits (+ one optional whitespace)
 * is a code point; `\` + any other character is that character taken literally (`#a\:b`). */
static int parse_escape(lf__sel_parser_t *p, lf__buf_t *b) {
  size_t start = p->pos++;
  unsigned char c = (unsigned char)p->s[p->pos];
  if (!c || c == '\n' || c == '\r' || c == '\f') return lf__sel_fail(p, start, "unfinished escape");
  if (!is_hex(c)) {
    p->pos++;
    return lf__buf_push(b, (const char *)&c, 1) ? lf__sel_nomem(p) : 0;
  }
  unsigned long cp = 0;
  for (int i = 0; i < 6 && is_hex((unsigned char)p->s[p->pos]); i++)
    cp = cp * 16 + (unsigned long)hex_value((unsigned char)p->s[p->pos++]);
  /* The whitespace ends the escape so that `\31 23` can mean "123". CRLF counts as one. */
  if (p->s[p->pos] == '\r' && p->s[p->pos + 1] == '\n')
    p->pos += 2;
  else if (lf__ascii_is_space((unsigned char)p->s[p->pos]))
    p->pos++;
  /* CSS turns NUL, surrogates and out-of-range values into U+FFFD. */
  if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = 0xfffd;
  return lf__buf_push_utf8(b, cp) ? lf__sel_nomem(p) : 0;
}

int lf__sel_parse_name(lf__sel_parser_t *p, const char *expected, char **out) {
  lf__buf_t b = {0};
  size_t start = p->pos;
  int rc = 0;
  for (;;) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '\\')
      rc = parse_escape(p, &b);
    else if (lf__sel_is_name_char(c))
      rc = lf__buf_push(&b, (const char *)&p->s[p->pos++], 1) ? lf__sel_nomem(p) : 0;
    else
      break;
    if (rc) {
      free(b.data);
      return rc;
    }
  }
  if (p->pos == start) return lf__sel_fail_expected(p, expected);
  *out = b.data;
  return 0;
}

/* An unterminated value is reported at its opening quote. */
int lf__sel_parse_string(lf__sel_parser_t *p, char **out) {
  char quote = p->s[p->pos];
  size_t open = p->pos++;
  lf__buf_t b = {0};
  int rc = lf__buf_push(&b, "", 0) ? lf__sel_nomem(p) : 0; /* "" is a valid, empty value */
  while (!rc) {
    char c = p->s[p->pos];
    if (!c || (c == '\\' && !p->s[p->pos + 1]))
      rc = lf__sel_fail(p, open, "unclosed %s", quote == '"' ? "'\"'" : "\"'\"");
    else if (c == quote)
      break;
    else if (c == '\n' || c == '\r' || c == '\f')
      rc = lf__sel_fail(p, p->pos, "newline inside quoted value");
    else if (c == '\\' && p->s[p->pos + 1] == '\r' && p->s[p->pos + 2] == '\n')
      p->pos += 3; /* an escaped newline continues the string on the next line */
    else if (c == '\\' &&
             (p->s[p->pos + 1] == '\n' || p->s[p->pos + 1] == '\r' || p->s[p->pos + 1] == '\f'))
      p->pos += 2;
    else if (c == '\\')
      rc = parse_escape(p, &b);
    else
      rc = lf__buf_push(&b, &p->s[p->pos++], 1) ? lf__sel_nomem(p) : 0;
  }
  if (rc) {
    free(b.data);
    return rc;
  }
  p->pos++; /* the closing quote */
  *out = b.data;
  return 0;
}
