/* The WARC files of one fetcher: NAME.warc.gz, then NAME-00001.warc.gz, ... Each record is one
 * gzip member, written whole under the file's lock at the offset the file has reached; a
 * failed write cuts the file back to that offset, so the file only ever holds whole records
 * (a kill -9 can leave one torn member at the end: every member before it is whole). A file
 * is never opened twice: each one is created with O_EXCL, so a rerun, or a second process
 * with the same NAME, starts the next free number instead of writing into an old file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include "warc.h"

#define PROFILE_SAME "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
#define PROFILE_304 "http://netpreserve.org/warc/1.1/revisit/server-not-modified"

/* A payload written as a response record, for identical-payload-digest revisits. */
typedef struct {
  char digest[LF__WARC_DIGEST_LEN];
  char id[LF__WARC_ID_LEN];
  char date[LF__WARC_DATE_LEN];
  unsigned file; /* the number of the file it is in */
  char uri[];
} seen_t;

struct lf__warc_file_s {
  uv_mutex_t lock;
  char *base;     /* NAME's last component */
  int dirfd;      /* NAME's folder */
  unsigned flags; /* LF_WARC_* */
  uint64_t max_size;
  char *info;      /* the warcinfo block */
  size_t info_len; /* its length */
  unsigned index;  /* the file's number: 0 for NAME.warc.gz */
  int fd, cdx_fd;
  char name[4096];     /* the file's name (for WARC-Filename and the index) */
  char cdx_name[4096]; /* its index's */
  uint64_t off;        /* bytes written: where the next record starts */
  uint64_t first_off;  /* after the warcinfo: a file with more holds records */
  char info_id[LF__WARC_ID_LEN];
  z_stream z;
  seen_t **seen; /* open addressing by digest */
  size_t seen_len, seen_cap;
  int err; /* a write failed and could not be undone: no more records */
};

/* ---- small strings ---- */

typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} str_t;

static void sput(str_t *s, const char *p, size_t n) {
  if (s->oom) return;
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *q = realloc(s->p, cap);
    if (!q) {
      s->oom = 1;
      return;
    }
    s->p = q;
    s->cap = cap;
  }
  memcpy(s->p + s->len, p, n);
  s->len += n;
  s->p[s->len] = '\0';
}

static void field(str_t *s, const char *name, const char *value) {
  if (!value) return;
  sput(s, name, strlen(name));
  sput(s, ": ", 2);
  sput(s, value, strlen(value));
  sput(s, "\r\n", 2);
}

static void field_u64(str_t *s, const char *name, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
  field(s, name, buf);
}

/* ---- writing ---- */

static int pwrite_all(int fd, const char *p, size_t n, uint64_t *off) {
  while (n > 0) {
    ssize_t k = pwrite(fd, p, n, (off_t)*off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -errno;
    p += k;
    n -= (size_t)k;
    *off += (uint64_t)k;
  }
  return 0;
}

/* The spooled part of a body, copied in the kernel where it can be. */
static int copy_spool(int from, uint64_t len, int to, uint64_t *off) {
  loff_t in = 0, out = (loff_t)*off;
  while ((uint64_t)in < len) {
    ssize_t k = copy_file_range(from, &in, to, &out, (size_t)(len - (uint64_t)in), 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break; /* not supported here (or across file systems): copy by hand below */
  }
  *off = (uint64_t)out;
  char buf[65536];
  while ((uint64_t)in < len) {
    size_t want = len - (uint64_t)in < sizeof(buf) ? (size_t)(len - (uint64_t)in) : sizeof(buf);
    ssize_t k = pread(from, buf, want, in);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k < 0 ? -errno : -EIO;
    in += k;
    int rc = pwrite_all(to, buf, (size_t)k, off);
    if (rc < 0) return rc;
  }
  return 0;
}

/* Raw deflate of text, ending the stream (finish) or at a byte boundary that another raw
 * deflate stream may follow (Z_SYNC_FLUSH: a non-final empty stored block). */
static int deflate_text(lf__warc_file_t *w, const char *text, size_t len, int finish, str_t *out) {
  if (deflateReset(&w->z) != Z_OK) return LF_ENOMEM;
  w->z.next_in = (Bytef *)(uintptr_t)text;
  w->z.avail_in = (uInt)len;
  char buf[16384];
  int zr;
  do {
    w->z.next_out = (Bytef *)buf;
    w->z.avail_out = sizeof(buf);
    zr = deflate(&w->z, finish ? Z_FINISH : Z_SYNC_FLUSH);
    if (zr == Z_STREAM_ERROR) return LF_ENOMEM;
    sput(out, buf, sizeof(buf) - w->z.avail_out);
  } while (w->z.avail_out == 0);
  return out->oom ? LF_ENOMEM : 0;
}

static void le32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

/* One record: text (the WARC header and the block's first part), then the body's output if
 * any (which ends with the record's closing CR LF CR LF), else the closing CR LF CR LF here.
 * A gzip member each when compressing. */
static int put_record(lf__warc_file_t *w, str_t *text, const lf__warc_body_t *body) {
  if (!body) sput(text, "\r\n\r\n", 4);
  if (text->oom) return LF_ENOMEM;
  int rc;
  if (!(w->flags & LF_WARC_NO_COMPRESSION)) {
    static const unsigned char gz[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    str_t z = {0};
    sput(&z, (const char *)gz, sizeof(gz));
    rc = deflate_text(w, text->p, text->len, !body, &z);
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)text->p, (uInt)text->len);
    uint64_t total = text->len;
    if (rc == 0 && body) {
      crc = (uint32_t)crc32_combine(crc, body->crc, (z_off_t)(body->body_len + 4));
      total += body->body_len + 4;
    }
    if (rc == 0) rc = pwrite_all(w->fd, z.p, z.len, &w->off);
    free(z.p);
    if (rc == 0 && body) {
      rc = pwrite_all(w->fd, body->out, body->out_len, &w->off);
      if (rc == 0 && body->spool_fd >= 0)
        rc = copy_spool(body->spool_fd, body->spool_len, w->fd, &w->off);
    }
    unsigned char tail[8];
    le32(tail, crc);
    le32(tail + 4, (uint32_t)total);
    if (rc == 0) rc = pwrite_all(w->fd, (const char *)tail, sizeof(tail), &w->off);
    return rc;
  }
  rc = pwrite_all(w->fd, text->p, text->len, &w->off);
  if (rc == 0 && body) rc = pwrite_all(w->fd, body->out, body->out_len, &w->off);
  if (rc == 0 && body && body->spool_fd >= 0)
    rc = copy_spool(body->spool_fd, body->spool_len, w->fd, &w->off);
  return rc;
}

static void header_start(str_t *s, const char *type, const char *id, const char *date) {
  sput(s, "WARC/1.1\r\n", 10);
  field(s, "WARC-Type", type);
  field(s, "WARC-Record-ID", id);
  field(s, "WARC-Date", date);
}

/* ---- the files ---- */

static void file_name(const lf__warc_file_t *w, unsigned index, const char *ext, char *out,
                      size_t len) {
  if (index == 0)
    snprintf(out, len, "%s%s", w->base, ext);
  else
    snprintf(out, len, "%s-%05u%s", w->base, index, ext);
}

static int write_warcinfo(lf__warc_file_t *w) {
  char date[LF__WARC_DATE_LEN];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  lf__warc_date((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec, date);
  lf__warc_new_id(w->info_id);
  str_t s = {0};
  header_start(&s, "warcinfo", w->info_id, date);
  field(&s, "WARC-Filename", w->name);
  field(&s, "Content-Type", "application/warc-fields");
  field_u64(&s, "Content-Length", w->info_len);
  sput(&s, "\r\n", 2);
  sput(&s, w->info, w->info_len);
  int rc = put_record(w, &s, NULL);
  free(s.p);
  w->first_off = w->off;
  return rc;
}

/* Sorts an index file's lines (pywb looks keys up by binary search): read, sort, write to a
 * temporary, rename over. */
static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_cdx(lf__warc_file_t *w) {
  struct stat st;
  if (w->cdx_fd < 0 || fstat(w->cdx_fd, &st) < 0 || st.st_size == 0) return;
  char *all = malloc((size_t)st.st_size + 1);
  size_t n = 0, lines = 0;
  if (!all) return; /* an unsorted index is still an index */
  while (n < (size_t)st.st_size) {
    ssize_t k = pread(w->cdx_fd, all + n, (size_t)st.st_size - n, (off_t)n);
    if (k <= 0) break;
    n += (size_t)k;
  }
  all[n] = '\0';
  for (size_t i = 0; i < n; i++)
    lines += all[i] == '\n';
  char **v = malloc((lines + 1) * sizeof(*v));
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), ".%s.sorting", w->cdx_name);
  int fd =
      v ? openat(w->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
  if (fd >= 0) {
    size_t k = 0;
    for (char *p = all; p < all + n && k < lines;) {
      char *nl = strchr(p, '\n');
      if (!nl) break;
      *nl = '\0';
      v[k++] = p;
      p = nl + 1;
    }
    qsort(v, k, sizeof(*v), cmp_line);
    uint64_t off = 0;
    int ok = 1;
    for (size_t i = 0; i < k && ok; i++) {
      v[i][strlen(v[i])] = '\n'; /* the NUL put there above */
      ok = pwrite_all(fd, v[i], strcspn(v[i], "\n") + 1, &off) == 0;
    }
    if (close(fd) == 0 && ok) ok = renameat(w->dirfd, tmp, w->dirfd, w->cdx_name) == 0;
    if (!ok) unlinkat(w->dirfd, tmp, 0);
  }
  free(v);
  free(all);
}

static void close_current(lf__warc_file_t *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  sort_cdx(w);
  if (w->cdx_fd >= 0) close(w->cdx_fd);
  w->cdx_fd = -1;
}

/* Creates the first free file from w->index on (and its index), and writes the warcinfo. */
static int open_next(lf__warc_file_t *w, char *err, size_t errlen) {
  const char *ext = w->flags & LF_WARC_NO_COMPRESSION ? ".warc" : ".warc.gz";
  for (;; w->index++) {
    file_name(w, w->index, ext, w->name, sizeof(w->name));
    w->fd = openat(w->dirfd, w->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w->fd >= 0) break;
    if (errno != EEXIST || w->index >= 99999) {
      int e = errno;
      snprintf(err, errlen, "cannot create WARC file %s: %s", w->name, strerror(e));
      return -e;
    }
  }
  if (w->flags & LF_WARC_CDX) {
    file_name(w, w->index, ".cdxj", w->cdx_name, sizeof(w->cdx_name));
    /* Not O_EXCL: an index left by a run killed before its WARC file held a record is
     * replaced, since it can only describe a file of this number that no longer exists. */
    w->cdx_fd = openat(w->dirfd, w->cdx_name,
                       O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (w->cdx_fd < 0) {
      int e = errno;
      snprintf(err, errlen, "cannot create WARC index %s: %s", w->cdx_name, strerror(e));
      return -e;
    }
  }
  w->off = 0;
  int rc = write_warcinfo(w);
  if (rc < 0) snprintf(err, errlen, "cannot write WARC file %s: %s", w->name, lf_strerror(rc));
  return rc;
}

static char *info_block(const lf_warc_options_t *o, size_t *len) {
  str_t s = {0};
  char host[256] = "";
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  field(&s, "software", "loopfetch/" LOOPFETCH_VERSION " (+" LOOPFETCH_URL ")");
  field(&s, "format", "WARC File Format 1.1");
  field(&s, "conformsTo",
        "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/");
  if (host[0]) field(&s, "hostname", host);
  for (size_t i = 0; o->info && o->info[i]; i++) {
    const char *line = o->info[i];
    size_t n = strcspn(line, "\r\n"); /* one line each, whatever the caller gave */
    sput(&s, line, n);
    sput(&s, "\r\n", 2);
  }
  if (s.oom) {
    free(s.p);
    return NULL;
  }
  *len = s.len;
  return s.p;
}

int lf__warc_file_open(const lf_warc_options_t *o, lf__warc_file_t **out, char *err,
                       size_t errlen) {
  *out = NULL;
  snprintf(err, errlen, "out of memory");
  if (!o || !o->name || !o->name[0]) {
    snprintf(err, errlen, "no WARC file name");
    return LF_EINVAL;
  }
  lf__warc_file_t *w = calloc(1, sizeof(*w));
  if (!w) return LF_ENOMEM;
  w->fd = w->cdx_fd = w->dirfd = -1;
  w->flags = o->flags;
  w->max_size = o->max_size;
  const char *slash = strrchr(o->name, '/');
  char *dir = slash ? strndup(o->name, (size_t)(slash - o->name) + 1) : strdup(".");
  w->base = strdup(slash ? slash + 1 : o->name);
  w->info = info_block(o, &w->info_len);
  int rc = LF_ENOMEM;
  if (dir && w->base && w->info && w->base[0] && uv_mutex_init(&w->lock) == 0) {
    /* Record headers (a few hundred bytes each, two or three per page): level 1 and a small
     * hash (memLevel 5: 4 KiB to clear at each deflateReset, not 64 KiB). At level 6 with the
     * defaults they took 3 % of workload A's CPU with --warc-file; now 0.1 % more bytes. */
    if (deflateInit2(&w->z, 1, Z_DEFLATED, -15, 5, Z_DEFAULT_STRATEGY) != Z_OK) {
      uv_mutex_destroy(&w->lock);
    } else {
      w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (w->dirfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open the folder %s of WARC file %s: %s", dir, o->name,
                 strerror(errno));
      } else {
        rc = open_next(w, err, errlen);
      }
      if (rc < 0) {
        deflateEnd(&w->z);
        uv_mutex_destroy(&w->lock);
      }
    }
  } else if (w->base && !w->base[0]) {
    snprintf(err, errlen, "WARC file name %s ends in '/'", o->name);
    rc = LF_EINVAL;
  }
  free(dir);
  if (rc < 0) {
    if (w->fd >= 0) close(w->fd);
    if (w->cdx_fd >= 0) close(w->cdx_fd);
    if (w->dirfd >= 0) close(w->dirfd);
    free(w->base);
    free(w->info);
    free(w);
    return rc;
  }
  *out = w;
  return 0;
}

int lf__warc_file_dirfd(const lf__warc_file_t *w) {
  return w->dirfd;
}

int lf__warc_file_compressed(const lf__warc_file_t *w) {
  return !(w->flags & LF_WARC_NO_COMPRESSION);
}

void lf__warc_file_close(lf__warc_file_t *w) {
  if (!w) return;
  close_current(w);
  for (size_t i = 0; i < w->seen_cap; i++)
    free(w->seen[i]);
  free(w->seen);
  deflateEnd(&w->z);
  uv_mutex_destroy(&w->lock);
  if (w->dirfd >= 0) close(w->dirfd);
  free(w->base);
  free(w->info);
  free(w);
}

/* ---- identical payloads ---- */

static size_t slot_of(const lf__warc_file_t *w, const char *digest) {
  uint64_t h = 1469598103934665603ull;
  for (const char *p = digest; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return (size_t)(h & (w->seen_cap - 1));
}

static seen_t *seen_find(const lf__warc_file_t *w, const char *digest) {
  if (!w->seen_cap) return NULL;
  for (size_t i = slot_of(w, digest);; i = (i + 1) & (w->seen_cap - 1)) {
    if (!w->seen[i]) return NULL;
    if (strcmp(w->seen[i]->digest, digest) == 0) return w->seen[i];
  }
}

static void seen_add(lf__warc_file_t *w, seen_t *e) {
  if ((w->seen_len + 1) * 4 > w->seen_cap * 3) { /* at most 3/4 full */
    size_t cap = w->seen_cap ? w->seen_cap * 2 : 1024;
    seen_t **old = w->seen, **grown = calloc(cap, sizeof(*grown));
    if (!grown) { /* dedup is an economy: without memory, this payload is not remembered */
      free(e);
      return;
    }
    size_t old_cap = w->seen_cap;
    w->seen = grown;
    w->seen_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i]) {
        size_t j = slot_of(w, old[i]->digest);
        while (w->seen[j])
          j = (j + 1) & (cap - 1);
        w->seen[j] = old[i];
      }
    free(old);
  }
  size_t j = slot_of(w, e->digest);
  while (w->seen[j])
    j = (j + 1) & (w->seen_cap - 1);
  w->seen[j] = e;
  w->seen_len++;
}

/* ---- the index ---- */

static void json_str(str_t *s, const char *v) {
  sput(s, "\"", 1);
  for (; *v; v++) {
    unsigned char c = (unsigned char)*v;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      sput(s, esc, 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof(esc), "\\u%04x", c);
      sput(s, esc, 6);
    } else {
      sput(s, (const char *)&c, 1);
    }
  }
  sput(s, "\"", 1);
}

static void cdx_line(lf__warc_file_t *w, const lf__warc_exchange_t *x, const char *mime,
                     const char *digest, uint64_t offset, uint64_t length) {
  if (w->cdx_fd < 0) return;
  char key[8192], ts[16], num[32];
  lf__warc_surt(x->target_uri, key, sizeof(key));
  size_t k = 0;
  for (const char *p = x->response_date; *p && k < 14; p++)
    if (*p >= '0' && *p <= '9') ts[k++] = *p;
  ts[k] = '\0';
  str_t s = {0};
  sput(&s, key, strlen(key));
  sput(&s, " ", 1);
  sput(&s, ts, k);
  sput(&s, " {\"url\":", 8);
  json_str(&s, x->target_uri);
  if (mime && mime[0]) {
    sput(&s, ",\"mime\":", 8);
    json_str(&s, mime);
  }
  if (x->status) {
    snprintf(num, sizeof(num), "%d", x->status);
    sput(&s, ",\"status\":", 10);
    json_str(&s, num);
  }
  if (digest) {
    sput(&s, ",\"digest\":", 10);
    json_str(&s, digest + 5); /* without "sha1:", as warcio and pywb index it */
  }
  snprintf(num, sizeof(num), "%llu", (unsigned long long)length);
  sput(&s, ",\"length\":", 10);
  json_str(&s, num);
  snprintf(num, sizeof(num), "%llu", (unsigned long long)offset);
  sput(&s, ",\"offset\":", 10);
  json_str(&s, num);
  sput(&s, ",\"filename\":", 12);
  json_str(&s, w->name);
  sput(&s, "}\n", 2);
  if (!s.oom) { /* one write: a line is whole or absent (O_APPEND) */
    ssize_t n = write(w->cdx_fd, s.p, s.len);
    (void)n; /* the index can be rebuilt from the WARC file (warcio cdx-index): not fatal */
  }
  free(s.p);
}

/* ---- one exchange ---- */

static int write_exchange(lf__warc_file_t *w, lf__warc_exchange_t *x) {
  const lf__warc_body_t *b = x->response;
  char req_id[LF__WARC_ID_LEN], resp_id[LF__WARC_ID_LEN], head_digest[LF__WARC_DIGEST_LEN];
  lf__warc_new_id(req_id);
  lf__warc_new_id(resp_id);
  /* request */
  str_t s = {0};
  header_start(&s, "request", req_id, x->request_date);
  field(&s, "WARC-Warcinfo-ID", w->info_id);
  field(&s, "WARC-Concurrent-To", resp_id);
  field(&s, "WARC-Target-URI", x->target_uri);
  field(&s, "WARC-IP-Address", x->ip);
  field(&s, "WARC-Protocol", x->protocol);
  lf__warc_sha1(x->request_head, x->request_head_len, head_digest);
  field(&s, "WARC-Block-Digest", head_digest);
  field(&s, "Content-Type", "application/http;msgtype=request");
  field_u64(&s, "Content-Length", x->request_head_len);
  sput(&s, "\r\n", 2);
  sput(&s, x->request_head, x->request_head_len);
  int rc = put_record(w, &s, NULL);
  free(s.p);
  if (rc < 0) return rc;
  /* response, or revisit */
  seen_t *same = NULL;
  int dedup = !(w->flags & LF_WARC_NO_DEDUP) && !x->not_modified && !x->truncated &&
              b->body_len > 0 && x->status >= 200 && x->status < 300;
  if (dedup) same = seen_find(w, b->payload_digest);
  uint64_t start = w->off;
  s = (str_t){0};
  if (x->not_modified || same) {
    lf__warc_sha1(b->head, b->head_len, head_digest);
    header_start(&s, "revisit", resp_id, x->response_date);
    field(&s, "WARC-Warcinfo-ID", w->info_id);
    field(&s, "WARC-Profile", same ? PROFILE_SAME : PROFILE_304);
    field(&s, "WARC-Concurrent-To", req_id);
    field(&s, "WARC-Target-URI", x->target_uri);
    field(&s, "WARC-IP-Address", x->ip);
    field(&s, "WARC-Protocol", x->protocol);
    if (same && same->file == w->index) field(&s, "WARC-Refers-To", same->id);
    field(&s, "WARC-Refers-To-Target-URI", same ? same->uri : x->target_uri);
    field(&s, "WARC-Refers-To-Date", same ? same->date : x->refers_date);
    if (same) field(&s, "WARC-Payload-Digest", b->payload_digest);
    field(&s, "WARC-Block-Digest", head_digest);
    field(&s, "Content-Type", "application/http;msgtype=response");
    field_u64(&s, "Content-Length", b->head_len);
    sput(&s, "\r\n", 2);
    sput(&s, b->head, b->head_len);
    rc = put_record(w, &s, NULL);
    free(s.p);
    if (rc == 0)
      cdx_line(w, x, "warc/revisit", same ? b->payload_digest : NULL, start, w->off - start);
    return rc;
  }
  header_start(&s, "response", resp_id, x->response_date);
  field(&s, "WARC-Warcinfo-ID", w->info_id);
  field(&s, "WARC-Concurrent-To", req_id);
  field(&s, "WARC-Target-URI", x->target_uri);
  field(&s, "WARC-IP-Address", x->ip);
  field(&s, "WARC-Protocol", x->protocol);
  field(&s, "WARC-Block-Digest", b->block_digest);
  field(&s, "WARC-Payload-Digest", b->payload_digest);
  field(&s, "WARC-Truncated", x->truncated);
  field(&s, "Content-Type", "application/http;msgtype=response");
  field_u64(&s, "Content-Length", b->head_len + b->body_len);
  sput(&s, "\r\n", 2);
  sput(&s, b->head, b->head_len);
  rc = put_record(w, &s, b);
  free(s.p);
  if (rc < 0) return rc;
  cdx_line(w, x, x->mime, b->payload_digest, start, w->off - start);
  if (dedup) {
    size_t ulen = strlen(x->target_uri);
    seen_t *e = malloc(sizeof(*e) + ulen + 1);
    if (e) {
      memcpy(e->digest, b->payload_digest, sizeof(e->digest));
      memcpy(e->id, resp_id, sizeof(e->id));
      memcpy(e->date, x->response_date, sizeof(e->date));
      e->file = w->index;
      memcpy(e->uri, x->target_uri, ulen + 1);
      seen_add(w, e);
    }
  }
  return 0;
}

/* A rough size of the exchange's records, to roll over before a file would pass max_size. */
static uint64_t estimate(const lf__warc_exchange_t *x) {
  const lf__warc_body_t *b = x->response;
  return 2048 + x->request_head_len + b->head_len + b->out_len + b->spool_len;
}

int lf__warc_file_write(lf__warc_file_t *w, lf__warc_exchange_t *x, char *err, size_t errlen) {
  uv_mutex_lock(&w->lock);
  int rc = w->err;
  if (rc < 0) {
    snprintf(err, errlen, "cannot write WARC file %s: an earlier write failed", w->name);
  } else {
    if (w->max_size && w->off > w->first_off && w->off + estimate(x) > w->max_size) {
      close_current(w);
      w->index++;
      rc = open_next(w, err, errlen);
      if (rc < 0) w->err = rc;
    }
    uint64_t start = w->off;
    if (rc == 0) rc = write_exchange(w, x);
    if (rc < 0 && !w->err) {
      snprintf(err, errlen, "cannot write WARC file %s: %s", w->name, lf_strerror(rc));
      /* The records written so far go, so that the file holds whole records only. */
      if (ftruncate(w->fd, (off_t)start) == 0)
        w->off = start;
      else
        w->err = rc;
    }
  }
  uv_mutex_unlock(&w->lock);
  return rc;
}
