/* lib/warc: digests in base32, the stored HTTP heads, de-chunking, SURT keys, and the files:
 * one gzip member per record (read back with zlib), identical-payload revisits, rollover with a
 * warcinfo at the start of each file, and a failed write cut back so the file holds whole
 * records only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "test.h"
#include "warc.h"

static void test_digest_text(void) {
  char out[LF__WARC_DIGEST_LEN];
  lf__warc_sha1("", 0, out); /* sha1("") = da39a3ee...: base32 as wget and warcio write it */
  CHECK_EQ_STR(out, "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
  lf__warc_sha1("abc", 3, out);
  CHECK_EQ_STR(out, "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
}

static void test_date_and_id(void) {
  char d[LF__WARC_DATE_LEN], id[LF__WARC_ID_LEN], id2[LF__WARC_ID_LEN];
  lf__warc_date(1765065723123456789ull, d);
  CHECK_EQ_STR(d, "2025-12-07T00:02:03.123456Z");
  lf__warc_new_id(id);
  lf__warc_new_id(id2);
  CHECK(strlen(id) == 47 && strncmp(id, "<urn:uuid:", 10) == 0 && id[24] == '4');
  CHECK(strcmp(id, id2) != 0);
}

static void test_heads(void) {
  const char h2[] = "HTTP/2 200 \r\ncontent-type: text/HTML; charset=utf-8\r\n"
                    "content-encoding: gzip\r\n\r\n";
  size_t n;
  int status;
  char mime[64];
  char *h = lf__warc_response_head(h2, sizeof(h2) - 1, &n, &status, mime, sizeof(mime));
  CHECK_EQ_STR(h, "HTTP/1.1 200 OK\r\ncontent-type: text/HTML; charset=utf-8\r\n"
                  "content-encoding: gzip\r\n\r\n");
  CHECK_EQ_INT(status, 200);
  CHECK_EQ_STR(mime, "text/html");
  free(h);
  const char h1[] = "HTTP/1.1 404 Not Found\nTransfer-Encoding: chunked\nX: y\n\n";
  h = lf__warc_response_head(h1, sizeof(h1) - 1, &n, &status, mime, sizeof(mime));
  CHECK_EQ_STR(
      h, "HTTP/1.1 404 Not Found\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\nX: y\r\n\r\n");
  CHECK_EQ_INT(status, 404);
  CHECK_EQ_STR(mime, "");
  CHECK_EQ_INT(n, strlen(h));
  free(h);
  const char r2[] = "GET /a?b HTTP/2\r\nHost: x\r\n\r\n";
  h = lf__warc_request_head(r2, sizeof(r2) - 1, &n);
  CHECK_EQ_STR(h, "GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n");
  free(h);
}

static void test_dechunk(void) {
  char buf[] = "5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n";
  int complete;
  size_t n = lf__warc_dechunk(buf, strlen(buf), buf, &complete);
  CHECK(n == 12 && memcmp(buf, "hello world!", 12) == 0 && complete);
  char cut[] = "5\r\nhello\r\n8\r\nwor";
  n = lf__warc_dechunk(cut, strlen(cut), cut, &complete);
  CHECK(n == 8 && memcmp(cut, "hellowor", 8) == 0 && !complete);
  char bad[] = "5\r\nhello\r\nzz\r\n";
  n = lf__warc_dechunk(bad, strlen(bad), bad, &complete);
  CHECK(n == 5 && !complete);
}

static void test_surt(void) {
  char k[256];
  /* what warcio.js's getSurt and pywb compute */
  lf__warc_surt("http://www.Example.com:80/A/b?z=1&a=2#frag", k, sizeof(k));
  CHECK_EQ_STR(k, "com,example)/a/b?a=2&z=1");
  lf__warc_surt("https://user:pw@www2.example.co.uk:8443", k, sizeof(k));
  CHECK_EQ_STR(k, "uk,co,example:8443)/");
  lf__warc_surt("https://example.com:443/x?", k, sizeof(k));
  CHECK_EQ_STR(k, "com,example)/x");
  lf__warc_surt("http://127.0.0.1:8080/p.html", k, sizeof(k));
  CHECK_EQ_STR(k, "1,0,0,127:8080)/p.html");
  lf__warc_surt("http://wwwexample.com/", k, sizeof(k));
  CHECK_EQ_STR(k, "com,wwwexample)/");
}

/* ---- files ---- */

static char dir[64];

static char *slurp(const char *name, size_t *len) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  fstat(fd, &st);
  char *p = malloc((size_t)st.st_size + 1);
  *len = (size_t)read(fd, p, (size_t)st.st_size);
  close(fd);
  return p;
}

/* The records of a compressed file, each its own member: their texts, NUL-separated in out
 * (one per member), and the count; -1 if a member is not whole. */
static int members(const char *raw, size_t len, char **texts, size_t max) {
  size_t off = 0;
  int count = 0;
  while (off < len && (size_t)count < max) {
    z_stream z = {0};
    if (inflateInit2(&z, 31) != Z_OK) return -1;
    size_t cap = 1 << 24;
    char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)(raw + off);
    z.avail_in = (uInt)(len - off);
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap - 1;
    int rc = inflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END) {
      inflateEnd(&z);
      free(out);
      return -1;
    }
    out[z.total_out] = '\0';
    texts[count++] = out;
    off += z.total_in;
    inflateEnd(&z);
  }
  return count;
}

/* The body is handed over in pieces of varying sizes (1 byte to ~200 KB) when this is set, as
 * the engine's jobs do, else in one call. */
static int in_pieces;

static lf__warc_exchange_t *exchange_n(lf__warc_file_t *w, const char *uri, const char *body,
                                       size_t body_len) {
  static lf__warc_exchange_t x;
  static lf__warc_body_t b;
  memset(&x, 0, sizeof(x));
  const char raw[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  size_t n;
  int status;
  char *head = lf__warc_response_head(raw, sizeof(raw) - 1, &n, &status, x.mime, sizeof(x.mime));
  x.status = status;
  lf__warc_body_init(&b, lf__warc_file_compressed(w), lf__warc_file_dirfd(w), head, n);
  unsigned r = 11;
  for (size_t at = 0, n = body_len; at < body_len; at += n) {
    if (in_pieces) n = (r = r * 1103515245u + 12345u) >> 16 & 1 ? 1 + (r >> 8) % 200000 : 1 + r % 7;
    if (n > body_len - at) n = body_len - at;
    CHECK_EQ_INT(lf__warc_body_add(&b, body + at, n), 0);
  }
  CHECK_EQ_INT(lf__warc_body_end(&b), 0);
  const char req[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  x.request_head = lf__warc_request_head(req, sizeof(req) - 1, &x.request_head_len);
  x.target_uri = uri;
  x.protocol = "http/1.1";
  x.ip = "127.0.0.1";
  lf__warc_date(1765065723000000000ull, x.request_date);
  lf__warc_date(1765065723500000000ull, x.response_date);
  x.response = &b;
  return &x;
}

static lf__warc_exchange_t *exchange(lf__warc_file_t *w, const char *uri, const char *body) {
  return exchange_n(w, uri, body, strlen(body));
}

static void done(lf__warc_exchange_t *x) {
  free(x->request_head);
  lf__warc_body_free(x->response);
}

static void test_file(void) {
  char name[128], err[256];
  snprintf(name, sizeof(name), "%s/a", dir);
  lf_warc_options_t o = {.name = name, .flags = LF_WARC_CDX};
  lf__warc_file_t *w;
  CHECK_EQ_INT(lf__warc_file_open(&o, &w, err, sizeof(err)), 0);
  lf__warc_exchange_t *x = exchange(w, "http://h/1", "same body");
  CHECK_EQ_INT(lf__warc_file_write(w, x, err, sizeof(err)), 0);
  done(x);
  x = exchange(w, "http://h/2", "same body");
  CHECK_EQ_INT(lf__warc_file_write(w, x, err, sizeof(err)), 0);
  done(x);
  lf__warc_file_close(w);
  size_t len;
  char *raw = slurp("a.warc.gz", &len), *texts[8];
  CHECK_EQ_INT(members(raw, len, texts, 8), 5); /* warcinfo, 2 x (request, response|revisit) */
  CHECK(strstr(texts[0], "WARC-Type: warcinfo\r\n") && strstr(texts[0], "a.warc.gz"));
  CHECK(strstr(texts[2], "WARC-Type: response\r\n") &&
        strstr(texts[2], "\r\n\r\nsame body\r\n\r\n"));
  CHECK(strstr(texts[2], "Content-Length: 54\r\n")); /* head 45 + body 9 */
  CHECK(strstr(texts[4], "WARC-Type: revisit\r\n") &&
        strstr(texts[4], "WARC-Refers-To-Target-URI: http://h/1\r\n") &&
        strstr(texts[4], "WARC-Refers-To-Date: 2025-12-07T00:02:03.500000Z\r\n") &&
        strstr(texts[4], "/revisit/identical-payload-digest\r\n") &&
        !strstr(texts[4], "same body"));
  for (int i = 0; i < 5; i++)
    free(texts[i]);
  free(raw);
  char *cdx = slurp("a.cdxj", &len);
  static const char line1[] = "h)/1 20251207000203 {\"url\":\"http://h/1\",\"mime\":\"text/plain\","
                              "\"status\":\"200\",\"digest\":\"";
  CHECK(cdx && strncmp(cdx, line1, sizeof(line1) - 1) == 0);
  CHECK(cdx &&
        strstr(cdx, "\nh)/2 20251207000203 {\"url\":\"http://h/2\",\"mime\":\"warc/revisit\""));
  free(cdx);
  /* a second set with the same name starts the next number, never touching the first */
  CHECK_EQ_INT(lf__warc_file_open(&o, &w, err, sizeof(err)), 0);
  lf__warc_file_close(w);
  char path[256];
  snprintf(path, sizeof(path), "%s/a-00001.warc.gz", dir);
  CHECK(access(path, F_OK) == 0);
}

/* A body whose output passes what is kept in memory goes through the spool; it comes back
 * whole, in one member, compressed or not, whether it came in one piece or many (the compressor
 * streams across the calls), with its digests; and so does an empty one. */
static void test_large_body(int flags) {
  char name[128], err[256];
  snprintf(name, sizeof(name), "%s/big%d", dir, flags);
  lf_warc_options_t o = {.name = name, .flags = (unsigned)flags};
  lf__warc_file_t *w;
  CHECK_EQ_INT(lf__warc_file_open(&o, &w, err, sizeof(err)), 0);
  size_t n = 3 * 1024 * 1024 + 17;
  char *body = malloc(n + 1);
  unsigned r = 7;
  for (size_t i = 0; i < n; i++)
    body[i] = (char)('a' + (r = r * 1103515245u + 12345u) % 7);
  body[n] = '\0';
  in_pieces = 1;
  lf__warc_exchange_t *x = exchange_n(w, "http://h/big", body, n); /* spooled */
  in_pieces = 0;
  char digest[LF__WARC_DIGEST_LEN];
  lf__warc_sha1(body, n, digest);
  CHECK_EQ_STR(x->response->payload_digest, digest);
  CHECK_EQ_INT(lf__warc_file_write(w, x, err, sizeof(err)), 0);
  done(x);
  x = exchange_n(w, "http://h/empty", "", 0);
  CHECK_EQ_INT(lf__warc_file_write(w, x, err, sizeof(err)), 0);
  done(x);
  lf__warc_file_close(w);
  size_t len;
  char file[64];
  snprintf(file, sizeof(file), "big%d.warc%s", flags, flags ? "" : ".gz");
  char *raw = slurp(file, &len), *texts[6] = {0};
  if (!flags) {
    CHECK_EQ_INT(members(raw, len, texts, 6), 5);
  } else {
    texts[2] = raw ? strstr(raw, "WARC-Type: response") : NULL;
  }
  char *b = texts[2] ? strstr(texts[2], "\r\n\r\nHTTP/1.1 200 OK") : NULL;
  b = b ? strstr(b + 4, "\r\n\r\n") : NULL;
  CHECK(b && memcmp(b + 4, body, n) == 0 && memcmp(b + 4 + n, "\r\n\r\n", 4) == 0);
  /* the empty body's response: its head, then the record's end */
  const char *e = flags ? (b ? strstr(b + 4 + n, "WARC-Type: response") : NULL) : texts[4];
  e = e ? strstr(e, "\r\n\r\nHTTP/1.1 200 OK") : NULL;
  e = e ? strstr(e + 4, "\r\n\r\n") : NULL;
  CHECK(e && memcmp(e, "\r\n\r\n\r\n\r\n", 8) == 0 && (flags || e[8] == '\0'));
  if (!flags)
    for (int i = 0; i < 5; i++)
      free(texts[i]);
  free(raw);
  free(body);
}

static void test_rollover_and_cut(void) {
  char name[128], err[256];
  snprintf(name, sizeof(name), "%s/r", dir);
  lf_warc_options_t o = {.name = name, .flags = LF_WARC_NO_COMPRESSION, .max_size = 3000};
  lf__warc_file_t *w;
  CHECK_EQ_INT(lf__warc_file_open(&o, &w, err, sizeof(err)), 0);
  char body[8];
  for (int i = 0; i < 4; i++) {
    snprintf(body, sizeof(body), "b%d", i);
    lf__warc_exchange_t *x = exchange(w, "http://h/x", body);
    CHECK_EQ_INT(lf__warc_file_write(w, x, err, sizeof(err)), 0);
    done(x);
  }
  lf__warc_file_close(w);
  size_t len;
  char *a = slurp("r.warc", &len), *b = slurp("r-00001.warc", &len);
  CHECK(a && b && strncmp(a, "WARC/1.1\r\nWARC-Type: warcinfo", 29) == 0 &&
        strncmp(b, "WARC/1.1\r\nWARC-Type: warcinfo", 29) == 0);
  free(a);
  free(b);
  /* A write that fails half-way (here: the file size limit) leaves the file as it was. */
  snprintf(name, sizeof(name), "%s/cut", dir);
  o = (lf_warc_options_t){.name = name};
  CHECK_EQ_INT(lf__warc_file_open(&o, &w, err, sizeof(err)), 0);
  char *before = slurp("cut.warc.gz", &len);
  size_t before_len = len;
  static char big[400000]; /* compresses poorly: more than 600 bytes in the file */
  unsigned r = 1;
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)((r = r * 1103515245u + 12345u) >> 24);
  /* made before the limit: its output's spool is a file too */
  lf__warc_exchange_t *x = exchange_n(w, "http://h/big", big, sizeof(big));
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = (rlim_t)before_len + 600; /* the request fits, the response does not */
  setrlimit(RLIMIT_FSIZE, &lim);
  int rc = lf__warc_file_write(w, x, err, sizeof(err));
  setrlimit(RLIMIT_FSIZE, &old);
  done(x);
  CHECK(rc < 0 && strstr(err, "cannot write WARC file"));
  char *after = slurp("cut.warc.gz", &len);
  CHECK(len == before_len && memcmp(before, after, len) == 0);
  lf__warc_file_close(w);
  free(before);
  free(after);
}

int main(void) {
  snprintf(dir, sizeof(dir), "/tmp/lf-test-warc-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  test_digest_text();
  test_date_and_id();
  test_heads();
  test_dechunk();
  test_surt();
  test_file();
  test_rollover_and_cut();
  test_large_body(0);
  test_large_body(LF_WARC_NO_COMPRESSION);
  char cmd[128];
  if (getenv("KEEP")) return lf_test_report();
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return lf_test_report();
}
