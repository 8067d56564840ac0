/* Sitemaps: urlsets and indexes, plain and gzip, fed in any pieces; malformed files named with
 * their line and column; DTDs and entities refused (billion laughs, external entities); the
 * protocol's caps, and the parser's own: nesting depth, the length of one tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sitemap.h"
#include "test.h"

typedef struct {
  char locs[8][128], mods[8][64];
  int index[8];
  size_t n, total;
} got_t;

static int collect(void *arg, int index, const char *loc, const char *lastmod) {
  got_t *g = arg;
  if (g->n < 8) {
    snprintf(g->locs[g->n], sizeof(g->locs[0]), "%s", loc);
    snprintf(g->mods[g->n], sizeof(g->mods[0]), "%s", lastmod ? lastmod : "-");
    g->index[g->n] = index;
    g->n++;
  }
  g->total++;
  return 0;
}

/* Feeds text in pieces of `step` bytes (0: all at once); returns 0 or -1, error into err. */
static int parse(const char *text, size_t len, size_t step, got_t *g, char *err, size_t errlen) {
  memset(g, 0, sizeof(*g));
  lf__sitemap_t *s = lf__sitemap_new(collect, g);
  int rc = 0;
  for (size_t at = 0; at < len && rc == 0;) {
    size_t n = step && len - at > step ? step : len - at;
    rc = lf__sitemap_feed(s, text + at, n);
    at += n;
  }
  if (rc == 0) rc = lf__sitemap_end(s);
  snprintf(err, errlen, "%s", lf__sitemap_error(s));
  lf__sitemap_free(s);
  return rc;
}

static const char urlset[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
    "  <url><loc>https://example.org/a</loc><lastmod>2024-05-01</lastmod></url>\n"
    "  <url>\n    <loc>\n  https://example.org/b?x=1&amp;y=2  </loc>\n    "
    "<changefreq>daily</changefreq></url>\n"
    "  <url><loc><![CDATA[https://example.org/c]]></loc>"
    "<lastmod>2024-05-02T10:00:00+00:00</lastmod></url>\n"
    "</urlset>\n";

static void check_urlset(const got_t *g, const char *what) {
  if (g->n != 3) {
    fprintf(stderr, "%s: %zu entries\n", what, g->n);
    CHECK(0);
    return;
  }
  CHECK_EQ_STR(g->locs[0], "https://example.org/a");
  CHECK_EQ_STR(g->mods[0], "2024-05-01");
  CHECK_EQ_STR(g->locs[1], "https://example.org/b?x=1&y=2");
  CHECK_EQ_STR(g->mods[1], "-");
  CHECK_EQ_STR(g->locs[2], "https://example.org/c");
  CHECK_EQ_STR(g->mods[2], "2024-05-02T10:00:00+00:00");
  CHECK(g->index[0] == 0);
}

static size_t gzip_of(const char *in, size_t len, unsigned char *out, size_t cap) {
  z_stream z = {0};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  deflate(&z, Z_FINISH);
  size_t n = z.total_out;
  deflateEnd(&z);
  return n;
}

int main(void) {
  got_t g;
  char err[256];
  size_t len = strlen(urlset);
  /* whole, byte by byte, in odd pieces */
  size_t steps[] = {0, 1, 7, 100};
  for (size_t i = 0; i < 4; i++) {
    CHECK_EQ_INT(parse(urlset, len, steps[i], &g, err, sizeof err), 0);
    check_urlset(&g, "urlset");
  }
  /* gzip, whole and byte by byte (the magic split over two feeds) */
  static unsigned char gz[4096];
  size_t gzlen = gzip_of(urlset, len, gz, sizeof gz);
  CHECK_EQ_INT(parse((char *)gz, gzlen, 0, &g, err, sizeof err), 0);
  check_urlset(&g, "gzip");
  CHECK_EQ_INT(parse((char *)gz, gzlen, 1, &g, err, sizeof err), 0);
  check_urlset(&g, "gzip byte by byte");
  /* gzip cut short */
  CHECK_EQ_INT(parse((char *)gz, gzlen - 10, 0, &g, err, sizeof err), -1);
  CHECK(strstr(err, "gzip") != NULL);
  /* no namespace, and an index */
  const char *index = "<sitemapindex><sitemap><loc>https://example.org/s1.xml.gz</loc>"
                      "<lastmod>2024-01-01</lastmod></sitemap>"
                      "<sitemap><loc>https://example.org/s2.xml</loc></sitemap></sitemapindex>";
  CHECK_EQ_INT(parse(index, strlen(index), 3, &g, err, sizeof err), 0);
  CHECK_EQ_INT(g.n, 2);
  CHECK(g.index[0] == 1 && g.index[1] == 1);
  CHECK_EQ_STR(g.locs[0], "https://example.org/s1.xml.gz");
  CHECK_EQ_STR(g.mods[1], "-");
  /* malformed: named by line and column */
  const char *bad = "<urlset>\n<url><loc>https://example.org/a</loc></url>\n<url><loc>x</url>\n"
                    "</urlset>\n";
  CHECK_EQ_INT(parse(bad, strlen(bad), 0, &g, err, sizeof err), -1);
  CHECK(strncmp(err, "line 3, column ", 15) == 0);
  /* truncated */
  CHECK_EQ_INT(parse(urlset, len - 20, 0, &g, err, sizeof err), -1);
  CHECK(strncmp(err, "line ", 5) == 0);
  /* not a sitemap */
  const char *html = "<html><body>hi</body></html>";
  CHECK_EQ_INT(parse(html, strlen(html), 0, &g, err, sizeof err), -1);
  CHECK(strstr(err, "<html>") != NULL);
  CHECK_EQ_INT(parse("", 0, 0, &g, err, sizeof err), -1);
  CHECK_EQ_INT(parse("x", 1, 0, &g, err, sizeof err), -1);
  /* an entry without <loc> */
  const char *noloc = "<urlset><url><lastmod>2024</lastmod></url></urlset>";
  CHECK_EQ_INT(parse(noloc, strlen(noloc), 0, &g, err, sizeof err), -1);
  CHECK(strstr(err, "without <loc>") != NULL);
  /* billion laughs: refused at the DOCTYPE, nothing expanded */
  const char *lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
                    " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n"
                    "<urlset><url><loc>https://e.org/&lol3;</loc></url></urlset>";
  CHECK_EQ_INT(parse(lol, strlen(lol), 0, &g, err, sizeof err), -1);
  CHECK_EQ_INT(g.total, 0);
  CHECK(strstr(err, "DOCTYPE") != NULL || strstr(err, "entit") != NULL);
  /* an external entity: never loaded (a file that exists: its text must not appear) */
  const char *xxe =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE u [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
      "<urlset><url><loc>https://e.org/&x;</loc></url></urlset>";
  CHECK_EQ_INT(parse(xxe, strlen(xxe), 0, &g, err, sizeof err), -1);
  CHECK_EQ_INT(g.total, 0);
  /* an undeclared entity */
  const char *undecl = "<urlset><url><loc>https://e.org/&nope;</loc></url></urlset>";
  CHECK_EQ_INT(parse(undecl, strlen(undecl), 0, &g, err, sizeof err), -1);
  CHECK_EQ_INT(g.total, 0);
  /* an internal DTD without entities, an external one, a DOCTYPE alone: all refused */
  const char *dtds[] = {"<!DOCTYPE urlset [<!ELEMENT urlset ANY>]><urlset></urlset>",
                        "<!DOCTYPE urlset SYSTEM \"file:///etc/hostname\"><urlset></urlset>",
                        "<!DOCTYPE urlset><urlset></urlset>"};
  for (size_t i = 0; i < 3; i++) {
    CHECK_EQ_INT(parse(dtds[i], strlen(dtds[i]), 0, &g, err, sizeof err), -1);
    CHECK(strstr(err, "DOCTYPE") != NULL);
  }
  /* a prefixed sitemap with its namespace, and an encoding expat knows */
  const char *ns = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
                   "<s:urlset xmlns:s=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
                   "<s:url><s:loc>https://e.org/\xe9</s:loc></s:url></s:urlset>";
  CHECK_EQ_INT(parse(ns, strlen(ns), 5, &g, err, sizeof err), 0);
  CHECK_EQ_INT(g.n, 1);
  CHECK_EQ_STR(g.locs[0], "https://e.org/\xc3\xa9");
  /* nesting: 256 levels read, 257 refused (libxml2's cap, which expat has not) */
  for (int depth = 256; depth <= 257; depth++) {
    static char deep[257 * 8 + 64];
    size_t d = (size_t)sprintf(deep, "<urlset>");
    for (int i = 1; i < depth; i++)
      d += (size_t)sprintf(deep + d, "<x>");
    for (int i = 1; i < depth; i++)
      d += (size_t)sprintf(deep + d, "</x>");
    d += (size_t)sprintf(deep + d, "</urlset>");
    int rc = parse(deep, d, 1000, &g, err, sizeof err);
    CHECK_EQ_INT(rc, depth == 256 ? 0 : -1);
    if (depth == 257) CHECK(strstr(err, "deeper than 256") != NULL);
  }
  /* one piece of markup over 1 MB (a tag that never ends, a comment), fed in 16 KB pieces, is
   * refused at 1 MB (expat 2.5 scans it again at each piece: 50 MB would take minutes); 4 MB
   * of text between tags is not markup and reads */
  size_t huge_len = 4u << 20;
  char *huge = malloc(huge_len + 256);
  const char *opens[] = {"<urlset><url a=\"", "<urlset><!-- "};
  for (size_t i = 0; i < 2; i++) {
    size_t h = (size_t)sprintf(huge, "%s", opens[i]);
    memset(huge + h, 'x', huge_len - h);
    CHECK_EQ_INT(parse(huge, huge_len, 16384, &g, err, sizeof err), -1);
    CHECK(strstr(err, "1 MB") != NULL);
  }
  size_t h = (size_t)sprintf(huge, "<urlset><url><loc>https://e.org/t</loc>");
  memset(huge + h, ' ', huge_len - h);
  h = huge_len + (size_t)sprintf(huge + huge_len, "</url></urlset>");
  CHECK_EQ_INT(parse(huge, h, 16384, &g, err, sizeof err), 0);
  CHECK_EQ_INT(g.n, 1);
  free(huge);
  /* 50,000 entries at most; the rest counted as dropped */
  size_t n = LF_SITEMAP_MAX_URLS + 5, cap = n * 60 + 64;
  char *big = malloc(cap);
  size_t o = (size_t)sprintf(big, "<urlset>");
  for (size_t i = 0; i < n; i++)
    o += (size_t)sprintf(big + o, "<url><loc>https://e.org/%zu</loc></url>", i);
  o += (size_t)sprintf(big + o, "</urlset>");
  memset(&g, 0, sizeof g);
  lf__sitemap_t *s = lf__sitemap_new(collect, &g);
  CHECK_EQ_INT(lf__sitemap_feed(s, big, o), 0);
  CHECK_EQ_INT(lf__sitemap_end(s), 0);
  CHECK_EQ_INT(g.total, LF_SITEMAP_MAX_URLS);
  CHECK_EQ_INT(lf__sitemap_dropped(s), 5);
  lf__sitemap_free(s);
  free(big);
  /* more than 50 MB uncompressed (a gzip bomb) stops at the cap */
  size_t bomb_len = LF_SITEMAP_MAX_BYTES + 1024;
  char *bomb = malloc(bomb_len);
  memcpy(bomb, "<urlset>", 8);
  memset(bomb + 8, ' ', bomb_len - 8);
  size_t zcap = bomb_len / 100 + 4096;
  unsigned char *zb = malloc(zcap);
  size_t zlen = gzip_of(bomb, bomb_len, zb, zcap);
  CHECK(zlen < 200000);
  CHECK_EQ_INT(parse((char *)zb, zlen, 65536, &g, err, sizeof err), -1);
  CHECK(strstr(err, "50 MB") != NULL);
  free(zb);
  free(bomb);
  return lf_test_report();
}
