/* What a page would cost gumbo, read before gumbo sees it (pagecost.h). gumbo 0.10 is linear in
 * the bytes but not in two shapes: each start tag scans the stack of open elements (scope
 * checks, the active formatting elements), so N elements nested inside each other cost N^2/2
 * steps (200,000 nested <div>s: minutes); and each attribute is compared with the element's
 * earlier ones for duplicates, so an element of A attributes costs A^2/2 (40,000: 15 s).
 * The parse runs on the loop thread, where nothing else (a signal included) is served until
 * it returns, so a page is refused before the parse when either shape passes a cap.
 *
 * The scan is a tokenizer's skeleton, linear and allocation-free beyond its stack: tags,
 * comments, <!...> and <?...> are told apart; the text of script, style, textarea, title, xmp,
 * iframe, noembed, noframes and noscript is skipped to its end tag (as the tokenizer does), and
 * plaintext ends the markup. Depth is a stack of tag names: void elements are never pushed; an
 * end tag pops down to its element when it is open near the top; a start tag of an element
 * whose end tag may be left out (p, li, dt, dd, tr, td, th, option, ...) first pops an open one
 * of the same name near the top, as the parser's implied end tags do. The estimate errs high
 * (an element the parser would close for another reason stays counted), so the caps are set
 * far above what real pages reach (see LF__PAGE_MAX_DEPTH). */
#include "pagecost.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"

#define NEAR_TOP 64 /* how far down the stack an end tag or an implied end looks */

static int lower(int c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int is_alpha(int c) {
  return (c | 32) >= 'a' && (c | 32) <= 'z';
}

/* A tag name as one number (FNV-1a of its lowercased bytes); *end: where it stops. */
static uint32_t tag_name(const char *p, const char *e, const char **end) {
  uint32_t h = 2166136261u;
  while (p < e && !is_space((unsigned char)*p) && *p != '/' && *p != '>')
    h = (h ^ (uint32_t)lower((unsigned char)*p++)) * 16777619u;
  *end = p;
  return h;
}

static uint32_t name_of(const char *s) {
  const char *end;
  return tag_name(s, s + strlen(s), &end);
}

/* The tag names the scan treats apart, as numbers, made once per scan (no shared state: the
 * library's link extraction may run on any thread). */
enum { VOID, OPTIONAL_END, RAW_TEXT, KINDS };
static const char *const names[KINDS][20] = {
    {"area",  "base",   "br",    "col", "embed",  "hr",    "img",   "input",    "link",    "meta",
     "param", "source", "track", "wbr", "keygen", "frame", "image", "basefont", "bgsound", NULL},
    {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rtc", "rp",
     "thead", "tbody", "tfoot", "colgroup", "caption", NULL},
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
     NULL}};

typedef struct {
  uint32_t h[KINDS][20];
  uint32_t plaintext;
} table_t;

static void make_table(table_t *t) {
  for (int k = 0; k < KINDS; k++)
    for (int i = 0; i < 20; i++)
      t->h[k][i] = names[k][i] ? name_of(names[k][i]) : 0;
  t->plaintext = name_of("plaintext");
}

static int is(const table_t *t, int kind, uint32_t h) {
  for (int i = 0; i < 20 && t->h[kind][i]; i++)
    if (t->h[kind][i] == h) return 1;
  return 0;
}

typedef struct {
  uint32_t stack[LF__PAGE_MAX_DEPTH];
  size_t depth;
  uint64_t steps; /* nesting: over start tags, the depth each opens at; attributes: A^2/2 */
  table_t names;
} scan_t;

/* Pops down to (and including) the nearest open element named h near the top; 1 if found. */
static int pop_to(scan_t *s, uint32_t h) {
  for (size_t i = s->depth, n = 0; i > 0 && n < NEAR_TOP; i--, n++)
    if (s->stack[i - 1] == h) {
      s->depth = i - 1;
      return 1;
    }
  return 0;
}

/* Past the attributes of a tag (p after its name) to its '>'; counts them in *attrs. */
static const char *attributes(const char *p, const char *e, size_t *attrs) {
  *attrs = 0;
  while (p < e) {
    while (p < e && (is_space((unsigned char)*p) || *p == '/'))
      p++;
    if (p >= e || *p == '>') break;
    (*attrs)++;
    while (p < e && !is_space((unsigned char)*p) && *p != '/' && *p != '>' && *p != '=')
      p++;
    while (p < e && is_space((unsigned char)*p))
      p++;
    if (p < e && *p == '=') {
      p++;
      while (p < e && is_space((unsigned char)*p))
        p++;
      if (p < e && (*p == '"' || *p == '\'')) {
        const char *q = memchr(p + 1, *p, (size_t)(e - p - 1));
        p = q ? q + 1 : e;
      } else {
        while (p < e && !is_space((unsigned char)*p) && *p != '>')
          p++;
      }
    }
  }
  return p;
}

/* The end of raw text begun at p: the "</name" that closes it (case-insensitive), or e. */
static const char *skip_raw(const char *p, const char *e, const char *name, size_t n) {
  for (; p < e && (p = memchr(p, '<', (size_t)(e - p))) != NULL; p++) {
    if ((size_t)(e - p) < n + 2 || p[1] != '/') continue;
    size_t i = 0;
    while (i < n && lower((unsigned char)p[2 + i]) == name[i])
      i++;
    if (i == n) return p;
  }
  return e;
}

/* Past a comment, doctype or processing instruction begun at p ('!' or '?'). */
static const char *skip_markup(const char *p, const char *e) {
  if (e - p >= 3 && memcmp(p, "!--", 3) == 0) {
    for (const char *q = p + 3; q < e && (q = memchr(q, '-', (size_t)(e - q))) != NULL; q++)
      if (e - q >= 3 && q[1] == '-' && q[2] == '>') return q + 3;
    return e;
  }
  const char *q = memchr(p, '>', (size_t)(e - p));
  return q ? q + 1 : e;
}

static int refuse(char *why, size_t whylen, const char *what, unsigned long long n) {
  if (why && whylen) snprintf(why, whylen, what, n);
  return LF_ECOMPLEX;
}

/* One start tag named h with attrs attributes: 0, or LF_ECOMPLEX past a cap. */
static int start_tag(scan_t *s, uint32_t h, size_t attrs, char *why, size_t whylen) {
  if (attrs > LF__PAGE_MAX_ATTRS)
    return refuse(why, whylen, "an element has more than %llu attributes",
                  (unsigned long long)LF__PAGE_MAX_ATTRS);
  s->steps += (uint64_t)attrs * attrs / 2;
  if (!is(&s->names, VOID, h)) {
    if (is(&s->names, OPTIONAL_END, h)) pop_to(s, h);
    if (s->depth == LF__PAGE_MAX_DEPTH)
      return refuse(why, whylen, "elements are nested more than %llu deep",
                    (unsigned long long)LF__PAGE_MAX_DEPTH);
    s->steps += s->depth;
    s->stack[s->depth++] = h;
  }
  if (s->steps > LF__PAGE_MAX_STEPS)
    return refuse(why, whylen, "its nesting and attributes would take over %llu parser steps",
                  (unsigned long long)LF__PAGE_MAX_STEPS);
  return 0;
}

int lf__page_check_cost(const char *html, size_t len, char *why, size_t whylen) {
  scan_t *s = calloc(1, sizeof(*s));
  if (!s) return LF_ENOMEM;
  make_table(&s->names);
  const char *p = html, *e = html + len;
  int rc = 0;
  while (!rc && p < e && (p = memchr(p, '<', (size_t)(e - p))) != NULL && ++p < e) {
    if (*p == '!' || *p == '?') {
      p = skip_markup(p, e);
      continue;
    }
    int closing = *p == '/';
    if (closing && ++p >= e) break;
    if (!is_alpha((unsigned char)*p)) continue; /* text, as the tokenizer reads it */
    const char *name = p;
    uint32_t h = tag_name(p, e, &p);
    size_t n = (size_t)(p - name), attrs = 0;
    p = attributes(p, e, &attrs);
    if (closing) {
      pop_to(s, h);
      continue;
    }
    rc = start_tag(s, h, attrs, why, whylen);
    if (!rc && is(&s->names, RAW_TEXT, h) && n < 16) {
      char lname[16];
      for (size_t i = 0; i < n; i++)
        lname[i] = (char)lower((unsigned char)name[i]);
      p = skip_raw(p, e, lname, n);
      pop_to(s, h); /* its end tag follows: the element is closed */
    } else if (h == s->names.plaintext) {
      break; /* the rest of the page is text */
    }
  }
  free(s);
  return rc;
}
