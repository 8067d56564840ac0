/* From a page's bytes to gumbo's tree, and reading URLs and attribute values out of it (see
 * page.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup */
#endif
#include "page.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "charesc.h"
#include "pagecost.h"
#include "urlresolve.h"
#include "walk.h"

/* gumbo's parse, which may end early from inside (arena.h): past its memory budget, when a
 * stop signal waits (blocked by the caller, page.h), or out of memory. What the cost scan
 * (pagecost.h) cannot foresee is bounded here: gumbo makes a copy of an element, with all its
 * attributes, each time it reopens formatting elements that a closed parent cut short (the
 * HTML standard's "reconstruct the active formatting elements"), so 10,000 paragraphs after
 * one <b> of 4,000 attributes took 14.7 s for a 100 KB page, and more pages as much memory. */
static int parse_bounded(lf__page_t *p, GumboOptions *opts, const char *utf8, size_t len) {
  jmp_buf escape;
  p->arena.allocs = p->arena.bytes = 0;
  p->arena.budget = len > (SIZE_MAX - LF__PAGE_TREE_BASE) / LF__PAGE_TREE_PER_BYTE
                        ? SIZE_MAX
                        : len * LF__PAGE_TREE_PER_BYTE + LF__PAGE_TREE_BASE;
  int rc = setjmp(escape);
  if (rc != 0) { /* from arena.c: gumbo's frames are gone, its blocks all in the arena */
    lf__arena_release(&p->arena);
    p->out = NULL;
    if (rc == LF_ECOMPLEX)
      snprintf(p->why, sizeof(p->why), "its tree would take over %u times its size in memory",
               (unsigned)LF__PAGE_TREE_PER_BYTE);
    return rc;
  }
  p->arena.escape = &escape;
  p->out = gumbo_parse_with_options(opts, utf8, len);
  p->arena.escape = NULL;
  if (!p->out) return LF_ENOMEM;
  p->root = p->out->document;
  return 0;
}

/* gumbo reads UTF-8 only, and replaces some characters a browser keeps: the page goes to it
 * with those escaped (charesc.h). */
static int parse_utf8(lf__page_t *p, const char *utf8, size_t len) {
  size_t escaped_len = 0;
  int rc = lf__charesc_page(utf8, len, &p->escaped, &escaped_len);
  if (rc) return rc;
  if (p->escaped) {
    utf8 = p->escaped;
    len = escaped_len;
  }
  rc = lf__page_check_cost(utf8, len, p->why, sizeof(p->why));
  if (rc) return rc;
  GumboOptions opts = kGumboDefaultOptions;
  opts.max_errors = 0; /* we never read parse errors; recording them costs time and memory */
  lf__arena_use(&p->arena, &opts);
  return parse_bounded(p, &opts, utf8, len);
}

/* The encoding the first <meta> of the parsed page names (charset, or http-equiv content-type
 * with a charset), or NULL. */
static const lf__encoding_t *meta_encoding(const GumboNode *root) {
  for (const GumboNode *n = root; n; n = lf__walk_next(n)) {
    if (n->type != GUMBO_NODE_ELEMENT || n->v.element.tag != GUMBO_TAG_META ||
        n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
      continue;
    const GumboVector *a = &n->v.element.attributes;
    const GumboAttribute *cs = gumbo_get_attribute(a, "charset"),
                         *he = gumbo_get_attribute(a, "http-equiv"),
                         *ct = gumbo_get_attribute(a, "content");
    const lf__encoding_t *e =
        lf__encoding_for_meta(cs ? cs->value : NULL, he ? he->value : NULL, ct ? ct->value : NULL);
    if (e) return e;
  }
  return NULL;
}

/* Whether the bytes are ASCII without ESC, SO and SI: text that every single-byte and CJK
 * decoder leaves as it is (ISO-2022-JP's too, without those three). */
static int plain_ascii(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] >= 0x80 || s[i] == 0x1b || s[i] == 0x0e || s[i] == 0x0f) return 0;
  return 1;
}

/* Decodes (from the bytes after the BOM) and parses in p->enc. */
static int decode_and_parse(lf__page_t *p, const char *html, size_t len) {
  if (p->enc->kind == LF__ENC_UTF8 ||
      (p->enc->decoder != LF__DEC_ICONV && plain_ascii(html, len))) /* nothing to decode */
    return parse_utf8(p, html, len);
  size_t utf8_len = 0;
  int rc = lf__decode(p->enc, html, len, &p->utf8, &utf8_len);
  if (rc == LF_EINVAL) { /* a glibc without this converter (gconv modules missing): as before
                          * decoding existed, the bytes go to gumbo as they are */
    p->enc = lf__encoding_for_label("utf-8", 5);
    return parse_utf8(p, html, len);
  }
  return rc ? rc : parse_utf8(p, p->utf8, utf8_len);
}

int lf__page_parse(lf__page_t *p, const char *html, size_t len, const char *content_type) {
  size_t bom = 0;
  int tentative;
  *p = (lf__page_t){0};
  if (!html) html = "";
  p->enc = lf__encoding_sniff_page(html, len, content_type, &bom, &tentative);
  int rc = decode_and_parse(p, html + bom, len - bom);
  if (rc || !tentative) return rc;
  /* The HTML standard's "change the encoding": the encoding came from the prescan of the first
   * 1024 bytes or the fallback, and the parser meets a <meta> naming another one (past those
   * bytes, or one the prescan could not read): the page is decoded and parsed again with it,
   * as a browser reloads it. Once: the second parse's encoding is certain. */
  const lf__encoding_t *e = meta_encoding(p->root);
  if (!e || e == p->enc) return 0;
  lf__page_release(p);
  p->enc = e;
  return decode_and_parse(p, html + bom, len - bom);
}

void lf__page_release(lf__page_t *p) {
  lf__arena_release(&p->arena); /* the whole tree at once */
  free(p->utf8);
  free(p->escaped);
  *p = (lf__page_t){0};
}

int lf__page_attr(const GumboNode *n, const char *name, const char **value, char **copy) {
  *copy = NULL;
  *value = NULL;
  if (n->type != GUMBO_NODE_ELEMENT) return 0;
  const GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
  if (!a) return 0;
  *value = a->value;
  if (!lf__charesc_found(a->value, strlen(a->value))) return 0;
  if (!(*copy = strdup(a->value))) return LF_ENOMEM;
  lf__charesc_undo(*copy);
  *value = *copy;
  return 0;
}

int lf__page_open_url(const char *page_url, lf__url_t **out, char *errbuf, size_t errlen) {
  const char *why;
  int rc = lf__url_resolve(NULL, NULL, page_url, NULL, out, &why);
  if (rc == LF__URL_SKIP) {
    if (errbuf && errlen) snprintf(errbuf, errlen, "invalid page URL '%.200s': %s", page_url, why);
    return LF_EURL;
  }
  if (rc && errbuf && errlen) snprintf(errbuf, errlen, "out of memory");
  return rc;
}

int lf__page_is_base(const GumboNode *n) {
  return n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_BASE &&
         gumbo_get_attribute(&n->v.element.attributes, "href");
}

int lf__page_apply_base(lf__url_t **base, const lf__encoding_t *enc, const GumboNode *base_el) {
  lf__url_t *h = NULL;
  const char *why, *href = NULL;
  char *copy = NULL;
  int rc = base_el ? lf__page_attr(base_el, "href", &href, &copy) : 0;
  if (!rc) rc = href ? lf__url_resolve(*base, enc, href, NULL, &h, &why) : LF__URL_SKIP;
  free(copy);
  if (rc == 0) {
    lf__url_free(*base);
    *base = h;
  }
  return rc == LF__URL_SKIP ? 0 : rc;
}
