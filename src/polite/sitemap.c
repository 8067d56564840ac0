/* Sitemaps read as they arrive (sitemap.h). */
#include "sitemap.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { ROOT_NONE, ROOT_URLSET, ROOT_INDEX };
enum { IN_NONE, IN_LOC, IN_LASTMOD };

struct lf__sitemap_s {
  xmlParserCtxtPtr ctxt;
  xmlSAXHandler sax;
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
  int failed;
  char error[256];
  int sniffed, gzip; /* the first bytes were looked at; they are gzip */
  z_stream z;
  int z_ready;
  unsigned char head[2];
  size_t head_len;
};

/* The first failure wins: what the user sees is where the file went wrong first. */
static void fail(lf__sitemap_t *s, const char *fmt, const char *what) {
  if (s->failed) return;
  s->failed = 1;
  int line = s->ctxt ? xmlSAX2GetLineNumber(s->ctxt) : 0;
  int col = s->ctxt ? xmlSAX2GetColumnNumber(s->ctxt) : 0;
  char msg[200];
  snprintf(msg, sizeof(msg), fmt, what ? what : "");
  snprintf(s->error, sizeof(s->error), "line %d, column %d: %s", line, col, msg);
  if (s->ctxt) xmlStopParser(s->ctxt);
}

static void on_structured_error(void *arg, xmlErrorPtr e) {
  lf__sitemap_t *s = arg;
  if (!e || e->level < XML_ERR_ERROR || s->failed) return;
  char msg[200];
  snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "malformed XML");
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    msg[--n] = '\0';
  s->failed = 1;
  snprintf(s->error, sizeof(s->error), "line %d, column %d: %s", e->line, e->int2, msg);
  if (s->ctxt) xmlStopParser(s->ctxt);
}

/* Any DTD is refused before its declarations mean anything: sitemaps have none. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
                               const xmlChar *sys) {
  (void)name, (void)ext, (void)sys;
  fail(ctx, "%sa DOCTYPE (a sitemap has none; entities are not read)", NULL);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
                           const xmlChar *sys, xmlChar *content) {
  (void)name, (void)type, (void)pub, (void)sys, (void)content;
  fail(ctx, "%san entity declaration (not read)", NULL);
}

static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name) {
  (void)name;
  fail(ctx, "%sa reference to an entity (only &amp; &lt; &gt; &quot; &apos; are read)", NULL);
  return NULL;
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                     int nns, const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs) {
  (void)prefix, (void)uri, (void)nns, (void)ns, (void)nattr, (void)ndef, (void)attrs;
  lf__sitemap_t *s = ctx;
  const char *name = (const char *)local;
  s->depth++;
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

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri) {
  (void)local, (void)prefix, (void)uri;
  lf__sitemap_t *s = ctx;
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

static void on_chars(void *ctx, const xmlChar *ch, int len) {
  lf__sitemap_t *s = ctx;
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
  s->sax.initialized = XML_SAX2_MAGIC;
  s->sax.startElementNs = on_start;
  s->sax.endElementNs = on_end;
  s->sax.characters = on_chars;
  s->sax.cdataBlock = on_chars;
  s->sax.internalSubset = on_internal_subset;
  s->sax.entityDecl = on_entity_decl;
  s->sax.getEntity = on_get_entity;
  s->sax.getParameterEntity = on_get_entity;
  s->sax.serror = on_structured_error;
  s->ctxt = xmlCreatePushParserCtxt(&s->sax, s, NULL, 0, NULL);
  if (!s->ctxt) {
    free(s);
    return NULL;
  }
  /* NONET: nothing leaves the machine; no NOENT (entities stay unexpanded), no DTDLOAD, no
   * HUGE (libxml2's own limits on depth and text stay) */
  xmlCtxtUseOptions(s->ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING);
  return s;
}

static int parse(lf__sitemap_t *s, const char *data, size_t len, int last) {
  if (s->failed) return -1;
  if (s->bytes + len > LF_SITEMAP_MAX_BYTES) {
    fail(s, "larger than %s, the sitemap protocol's limit (uncompressed)", "50 MB");
    return -1;
  }
  s->bytes += len;
  while (len > 0 || last) {
    int n = len > (1 << 20) ? (1 << 20) : (int)len;
    int rc = xmlParseChunk(s->ctxt, data, n, last && (size_t)n == len);
    if (s->failed) return -1;
    if (rc != 0) {
      fail(s, "%smalformed XML", NULL);
      return -1;
    }
    data += n;
    len -= (size_t)n;
    if (len == 0) break;
  }
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
  if (s->ctxt) {
    if (s->ctxt->myDoc) xmlFreeDoc(s->ctxt->myDoc);
    xmlFreeParserCtxt(s->ctxt);
  }
  if (s->z_ready) inflateEnd(&s->z);
  free(s);
}
