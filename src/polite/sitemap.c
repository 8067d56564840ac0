/* Sitemaps read as they arrive (sitemap.h).
 *
 * Why expat and not libxml2 (which read them before): libxml2 2.9 links ICU, and ICU's data
 * library alone maps 30.5 MB at load (libicudata 30.5 MB, libicuuc 2.0 MB, libstdc++ 2.1 MB,
 * libxml2 1.7 MB: /proc/PID/maps of a running loopfetch), so under `ulimit -v 50000` the
 * dynamic loader failed before main (exit 127, "failed to map segment") even though a sitemap
 * needs none of it. libexpat maps 0.2 MB and needs nothing but libc. (Loading libxml2 with
 * dlopen only for --sitemap would have kept those 36 MB for every --sitemap run.)
 *
 * What libxml2 gave for free and expat does not is added here: a cap on nesting depth
 * (libxml2's 256), and a cap on one piece of markup (a tag, a comment, ...), which expat 2.5
 * holds whole and scans again from its start at every feed until it ends (CVE-2023-52425, fixed
 * in expat 2.6 by reparse deferral): a 50 MB tag fed in 16 KB pieces would take minutes on the
 * loop thread. Character data is handed out as it comes, so a long text is not one piece. */
#include "sitemap.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Sitemaps nest three deep (extensions such as video: five); libxml2's default cap. */
#define DEPTH_MAX 256
/* One tag, comment or processing instruction: a sitemap's are under 10 KB (a <loc> holds at
 * most LF_SITEMAP_LOC_MAX, and that is text, not markup). */
#define MARKUP_MAX (1u << 20)

enum { ROOT_NONE, ROOT_URLSET, ROOT_INDEX };
enum { IN_NONE, IN_LOC, IN_LASTMOD };

struct lf__sitemap_s {
  XML_Parser xp;
  lf__sitemap_cb cb;
  void *arg;
  int root;     /* ROOT_* */
  int depth;    /* element depth: 1 the root, 2 an entry, 3 its fields */
  int in_entry; /* inside <url> or <sitemap> */
  int field;    /* IN_* */
  char loc[LF_SITEMAP_LOC_MAX + 1], lastmod[64];
  size_t loc_len, lastmod_len;
  int has_loc;
  size_t count, dropped;
  size_t bytes; /* uncompressed, fed to the parser */
  size_t seen;  /* bytes the parser has reported as events (the end of the last one) */
  int failed;
  char error[256];
  int sniffed, gzip; /* the first bytes were looked at; they are gzip */
  z_stream z;
  int z_ready;
  unsigned char head[2];
  size_t head_len;
};

/* "line L, column C: msg", where the parser is now (columns from 1, as editors count). */
static void set_error(lf__sitemap_t *s, const char *msg) {
  unsigned long line = s->xp ? XML_GetCurrentLineNumber(s->xp) : 0;
  unsigned long col = s->xp ? XML_GetCurrentColumnNumber(s->xp) + 1 : 0;
  s->failed = 1;
  snprintf(s->error, sizeof(s->error), "line %lu, column %lu: %s", line, col, msg);
}

/* The first failure wins: what the user sees is where the file went wrong first. */
static void fail(lf__sitemap_t *s, const char *fmt, const char *what) {
  if (s->failed) return;
  char msg[200];
  snprintf(msg, sizeof(msg), fmt, what ? what : "");
  set_error(s, msg);
  if (s->xp) XML_StopParser(s->xp, XML_FALSE);
}

/* Every handler starts here: the end of the event is where markup was last complete. */
static int event(lf__sitemap_t *s) {
  XML_Index at = XML_GetCurrentByteIndex(s->xp);
  int n = XML_GetCurrentByteCount(s->xp);
  if (at >= 0 && (size_t)at + (size_t)(n > 0 ? n : 0) > s->seen)
    s->seen = (size_t)at + (size_t)(n > 0 ? n : 0);
  return !s->failed;
}

/* Any DTD is refused before its declarations mean anything: sitemaps have none. Expat calls
 * this at the DOCTYPE's '[' (or its end), before the internal subset is read. */
static void XMLCALL on_doctype(void *ctx, const XML_Char *name, const XML_Char *sys,
                               const XML_Char *pub, int has_internal) {
  (void)name, (void)sys, (void)pub, (void)has_internal;
  fail(ctx, "%sa DOCTYPE (a sitemap has none; entities are not read)", NULL);
}

static void XMLCALL on_entity_decl(void *ctx, const XML_Char *name, int pe, const XML_Char *v,
                                   int vlen, const XML_Char *base, const XML_Char *sys,
                                   const XML_Char *pub, const XML_Char *notation) {
  (void)name, (void)pe, (void)v, (void)vlen, (void)base, (void)sys, (void)pub, (void)notation;
  fail(ctx, "%san entity declaration (not read)", NULL);
}

/* Never called without a DTD (an undeclared entity is expat's error); here in case one slips
 * through: nothing is ever substituted. */
static void XMLCALL on_skipped_entity(void *ctx, const XML_Char *name, int pe) {
  (void)name, (void)pe;
  fail(ctx, "%sa reference to an entity (only &amp; &lt; &gt; &quot; &apos; are read)", NULL);
}

/* Comments, processing instructions, the XML declaration, whitespace: only their place. */
static void XMLCALL on_other(void *ctx, const XML_Char *text, int len) {
  (void)text, (void)len;
  event(ctx);
}

/* Names come as "namespace-URI name" or "name" (XML_ParserCreateNS with ' ', which no local
 * name holds): elements are matched by local name. */
static const char *local_name(const XML_Char *name) {
  const char *sp = strrchr(name, ' ');
  return sp ? sp + 1 : name;
}

static void XMLCALL on_start(void *ctx, const XML_Char *qname, const XML_Char **attrs) {
  (void)attrs;
  lf__sitemap_t *s = ctx;
  if (!event(s)) return;
  const char *name = local_name(qname);
  if (++s->depth > DEPTH_MAX) {
    fail(s, "elements nested deeper than %s", "256");
    return;
  }
  if (s->depth == 1) {
    if (strcmp(name, "urlset") == 0)
      s->root = ROOT_URLSET;
    else if (strcmp(name, "sitemapindex") == 0)
      s->root = ROOT_INDEX;
    else
      fail(s, "not a sitemap: the root element is <%s>, not <urlset> or <sitemapindex>", name);
    return;
  }
  if (s->depth == 2 && strcmp(name, s->root == ROOT_URLSET ? "url" : "sitemap") == 0) {
    s->in_entry = 1;
    s->has_loc = 0;
    s->loc_len = s->lastmod_len = 0;
    return;
  }
  if (s->depth == 3 && s->in_entry) {
    s->field = strcmp(name, "loc") == 0 ? IN_LOC : strcmp(name, "lastmod") == 0 ? IN_LASTMOD : 0;
    if (s->field == IN_LOC) s->loc_len = 0, s->has_loc = 1;
    if (s->field == IN_LASTMOD) s->lastmod_len = 0;
  }
}

static void trim(char *buf, size_t *len) {
  size_t a = 0, n = *len;
  while (a < n && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n' || buf[a] == '\r'))
    a++;
  while (n > a &&
         (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    n--;
  memmove(buf, buf + a, n - a);
  *len = n - a;
  buf[*len] = '\0';
}

static void XMLCALL on_end(void *ctx, const XML_Char *qname) {
  (void)qname;
  lf__sitemap_t *s = ctx;
  if (!event(s)) return;
  if (s->depth == 3) s->field = IN_NONE;
  if (s->depth == 2 && s->in_entry) {
    s->in_entry = 0;
    trim(s->loc, &s->loc_len);
    trim(s->lastmod, &s->lastmod_len);
    if (!s->has_loc || s->loc_len == 0) {
      fail(s, "%san entry without <loc>", NULL);
    } else if (s->count >= LF_SITEMAP_MAX_URLS) {
      s->dropped++;
    } else {
      s->count++;
      if (s->cb(s->arg, s->root == ROOT_INDEX, s->loc, s->lastmod_len ? s->lastmod : NULL) < 0)
        fail(s, "%sout of memory", NULL);
    }
  }
  s->depth--;
}

/* Text and CDATA sections alike, in pieces as they arrive. */
static void XMLCALL on_chars(void *ctx, const XML_Char *ch, int len) {
  lf__sitemap_t *s = ctx;
  if (!event(s)) return;
  if (!s->in_entry || s->field == IN_NONE || len <= 0) return;
  if (s->field == IN_LOC) {
    if (s->loc_len + (size_t)len > LF_SITEMAP_LOC_MAX) {
      fail(s, "a <loc> longer than %s bytes", "8192");
      return;
    }
    memcpy(s->loc + s->loc_len, ch, (size_t)len);
    s->loc_len += (size_t)len;
  } else {
    size_t room = sizeof(s->lastmod) - 1 - s->lastmod_len; /* a date: longer is cut */
    size_t take = (size_t)len < room ? (size_t)len : room;
    memcpy(s->lastmod + s->lastmod_len, ch, take);
    s->lastmod_len += take;
  }
}

lf__sitemap_t *lf__sitemap_new(lf__sitemap_cb cb, void *arg) {
  lf__sitemap_t *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->cb = cb;
  s->arg = arg;
  s->xp = XML_ParserCreateNS(NULL, ' ');
  if (!s->xp) {
    free(s);
    return NULL;
  }
  XML_SetUserData(s->xp, s);
  XML_SetElementHandler(s->xp, on_start, on_end);
  XML_SetCharacterDataHandler(s->xp, on_chars);
  XML_SetStartDoctypeDeclHandler(s->xp, on_doctype);
  XML_SetEntityDeclHandler(s->xp, on_entity_decl);
  XML_SetSkippedEntityHandler(s->xp, on_skipped_entity);
  /* the Expand form: setting a default handler must not turn entity expansion off (there are
   * none to expand but the five predefined ones, which a <loc> needs: &amp;) */
  XML_SetDefaultHandlerExpand(s->xp, on_other);
  /* no external DTD or parameter entity is ever read, and with no external entity handler
   * nothing is loaded from files or the network */
  XML_SetParamEntityParsing(s->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return s;
}

/* Expat's error where it stopped, unless a handler said first. */
static int parse_failed(lf__sitemap_t *s) {
  if (!s->failed) set_error(s, XML_ErrorString(XML_GetErrorCode(s->xp)));
  return -1;
}

static int parse(lf__sitemap_t *s, const char *data, size_t len, int last) {
  if (s->failed) return -1;
  if (s->bytes + len > LF_SITEMAP_MAX_BYTES) {
    fail(s, "larger than %s, the sitemap protocol's limit (uncompressed)", "50 MB");
    return -1;
  }
  do {
    int n = len > (1 << 20) ? (1 << 20) : (int)len;
    s->bytes += (size_t)n;
    if (XML_Parse(s->xp, data, n, last && (size_t)n == len) != XML_STATUS_OK)
      return parse_failed(s);
    if (s->failed) return -1;
    if (s->bytes - s->seen > MARKUP_MAX) {
      fail(s, "a tag, comment or declaration longer than %s (not a sitemap)", "1 MB");
      return -1;
    }
    data += n;
    len -= (size_t)n;
  } while (len > 0);
  return 0;
}

static int inflate_feed(lf__sitemap_t *s, const char *data, size_t len, int last) {
  unsigned char out[16384];
  s->z.next_in = (unsigned char *)data;
  s->z.avail_in = (uInt)len;
  do {
    s->z.next_out = out;
    s->z.avail_out = sizeof(out);
    int rc = inflate(&s->z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && s->z.avail_in == 0)) {
      s->failed = 1;
      snprintf(s->error, sizeof(s->error), "byte %lu of the gzip data: %s", s->z.total_in,
               s->z.msg ? s->z.msg : "not valid gzip");
      return -1;
    }
    size_t got = sizeof(out) - s->z.avail_out;
    if (got && parse(s, (const char *)out, got, 0) < 0) return -1;
    if (rc == Z_STREAM_END) break;
  } while (s->z.avail_in > 0 || s->z.avail_out == 0);
  return last ? parse(s, "", 0, 1) : 0;
}

int lf__sitemap_feed(lf__sitemap_t *s, const char *data, size_t len) {
  if (s->failed) return -1;
  if (!s->sniffed) { /* two bytes tell gzip (RFC 1952: 1f 8b); keep them until both came */
    while (s->head_len < 2 && len > 0) {
      s->head[s->head_len++] = (unsigned char)*data++;
      len--;
    }
    if (s->head_len < 2) return 0;
    s->sniffed = 1;
    s->gzip = s->head[0] == 0x1f && s->head[1] == 0x8b;
    if (s->gzip) {
      if (inflateInit2(&s->z, 15 + 16) != Z_OK) {
        fail(s, "%sout of memory", NULL);
        return -1;
      }
      s->z_ready = 1;
      if (inflate_feed(s, (const char *)s->head, 2, 0) < 0) return -1;
    } else if (parse(s, (const char *)s->head, 2, 0) < 0) {
      return -1;
    }
  }
  if (len == 0) return 0;
  return s->gzip ? inflate_feed(s, data, len, 0) : parse(s, data, len, 0);
}

int lf__sitemap_end(lf__sitemap_t *s) {
  if (s->failed) return -1;
  if (!s->sniffed && s->head_len) { /* a body of one byte */
    s->sniffed = 1;
    if (parse(s, (const char *)s->head, s->head_len, 0) < 0) return -1;
  }
  if (!s->gzip && s->bytes == 0) {
    fail(s, "%sno XML document (an empty body?)", NULL);
    return -1;
  }
  if (s->gzip && inflate_feed(s, "", 0, 1) < 0) return -1;
  if (!s->gzip && parse(s, "", 0, 1) < 0) return -1;
  if (s->gzip && s->z_ready) {
    /* the gzip stream must have ended: a cut file is not a sitemap */
    unsigned char probe[1];
    s->z.next_in = probe;
    s->z.avail_in = 0;
    s->z.next_out = probe;
    s->z.avail_out = 1;
    if (inflate(&s->z, Z_FINISH) != Z_STREAM_END) {
      s->failed = 1;
      snprintf(s->error, sizeof(s->error), "the gzip data ends too early (%lu bytes)",
               s->z.total_in);
      return -1;
    }
  }
  if (s->root == ROOT_NONE) {
    fail(s, "%sno XML document (an empty body?)", NULL);
    return -1;
  }
  return 0;
}

const char *lf__sitemap_error(const lf__sitemap_t *s) {
  return s->error;
}

size_t lf__sitemap_dropped(const lf__sitemap_t *s) {
  return s->dropped;
}

int lf__sitemap_is_index(const lf__sitemap_t *s) {
  return s->root == ROOT_INDEX;
}

void lf__sitemap_free(lf__sitemap_t *s) {
  if (!s) return;
  if (s->xp) XML_ParserFree(s->xp);
  if (s->z_ready) inflateEnd(&s->z);
  free(s);
}
