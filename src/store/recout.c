/* The records files of -e (recout.h). */
#define _GNU_SOURCE
#include "recout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hmap.h"
#include "safe_text.h"

/* ---- building one page's text in o->buf ---- */

typedef struct {
  lf__recout_t *o;
  size_t len;
  int failed;
} out_t;

static void put(out_t *w, const char *s, size_t n) {
  lf__recout_t *o = w->o;
  if (w->failed) return;
  if (w->len + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < w->len + n + 1)
      cap *= 2;
    char *b = realloc(o->buf, cap);
    if (!b) {
      w->failed = 1;
      return;
    }
    o->buf = b;
    o->cap = cap;
  }
  memcpy(o->buf + w->len, s, n);
  w->len += n;
  o->buf[w->len] = '\0';
}

static void puts_(out_t *w, const char *s) {
  put(w, s, strlen(s));
}

/* n bytes of s inside a JSON string: '"', '\\' and controls escaped (the text is UTF-8). */
static void put_json_escaped(void *arg, const char *s, size_t n) {
  out_t *w = arg;
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f)
      p++;
    put(w, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    char esc[8];
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    const char *k = *p ? strchr(from, *p) : NULL; /* the short forms JSON writers use */
    if (k)
      snprintf(esc, sizeof(esc), "\\%c", to[k - from]);
    else
      snprintf(esc, sizeof(esc), "\\u%04x", *p);
    puts_(w, esc);
    p++;
  }
}

static void put_json_str(out_t *w, const char *s) {
  put(w, "\"", 1);
  put_json_escaped(w, s, strlen(s));
  put(w, "\"", 1);
}

/* A URL with its password hidden, as in the manifest (safe_text.h); NULL is null. */
static void put_json_url(out_t *w, const char *url) {
  if (!url) {
    puts_(w, "null");
    return;
  }
  put(w, "\"", 1);
  lf__url_redacted(url, put_json_escaped, w);
  put(w, "\"", 1);
}

static void put_json_value(out_t *w, const lf_value_t *v) {
  if (!v->array && !v->count) {
    puts_(w, "null");
    return;
  }
  if (v->array) put(w, "[", 1);
  for (size_t i = 0; i < v->count; i++) {
    if (i) put(w, ",", 1);
    put_json_str(w, v->items[i]);
  }
  if (v->array) put(w, "]", 1);
}

/* One CSV cell (RFC 4180): quoted when it holds a quote, a comma, CR or LF, or is empty (so
 * that an empty string differs from null, an empty cell), quotes doubled. */
static void put_csv_cell(void *arg, const char *s, size_t n) {
  out_t *w = arg;
  if (n && !memchr(s, '"', n) && !memchr(s, ',', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n)) {
    put(w, s, n);
    return;
  }
  put(w, "\"", 1);
  for (const char *q; n && (q = memchr(s, '"', n)) != NULL; n -= (size_t)(q + 1 - s), s = q + 1) {
    put(w, s, (size_t)(q + 1 - s));
    put(w, "\"", 1);
  }
  put(w, s, n);
  put(w, "\"", 1);
}

/* A cell holding text that was built in its own out_t (the JSON of an array, a URL). */
static void put_csv_built(out_t *w, void (*build)(out_t *, const void *), const void *arg) {
  lf__recout_t tmp = {.json_fd = -1, .csv_fd = -1};
  out_t t = {.o = &tmp};
  build(&t, arg);
  if (t.failed) w->failed = 1;
  put_csv_cell(w, tmp.buf ? tmp.buf : "", t.len);
  free(tmp.buf);
}

static void put_cb(void *arg, const char *s, size_t n) {
  put(arg, s, n);
}

static void build_url(out_t *t, const void *url) {
  lf__url_redacted(url, put_cb, t);
}

static void build_json_value(out_t *t, const void *v) {
  put_json_value(t, v);
}

static void put_json_record(out_t *w, const lf__recout_t *o, const char *url, const char *parent,
                            unsigned depth, const lf_value_t *values) {
  char num[24];
  puts_(w, "{\"url\":");
  put_json_url(w, url);
  puts_(w, ",\"parent\":");
  put_json_url(w, parent);
  snprintf(num, sizeof(num), ",\"depth\":%u", depth);
  puts_(w, num);
  for (size_t f = 0; f < o->n; f++) {
    put(w, ",", 1);
    put_json_str(w, o->names[f]);
    put(w, ":", 1);
    put_json_value(w, &values[f]);
  }
  puts_(w, "}\n");
}

static void put_csv_record(out_t *w, const lf__recout_t *o, const char *url, const char *parent,
                           unsigned depth, const lf_value_t *values) {
  char num[24];
  put_csv_built(w, build_url, url);
  put(w, ",", 1);
  if (parent) put_csv_built(w, build_url, parent);
  snprintf(num, sizeof(num), ",%u", depth);
  puts_(w, num);
  for (size_t f = 0; f < o->n; f++) {
    const lf_value_t *v = &values[f];
    put(w, ",", 1);
    if (v->array)
      put_csv_built(w, build_json_value, v);
    else if (v->count)
      put_csv_cell(w, v->items[0], strlen(v->items[0]));
  }
  puts_(w, "\r\n");
}

static const char *header(lf__recout_t *o, size_t *len) {
  out_t w = {.o = o};
  puts_(&w, "url,parent,depth");
  for (size_t f = 0; f < o->n; f++) {
    put(&w, ",", 1);
    put_csv_cell(&w, o->names[f], strlen(o->names[f]));
  }
  puts_(&w, "\r\n");
  *len = w.len;
  return w.failed ? NULL : o->buf;
}

const char *lf__recout_format(lf__recout_t *o, int csv, const char *url, const char *parent,
                              unsigned depth, const lf_records_t *recs, size_t *len) {
  out_t w = {.o = o};
  put(&w, "", 0);
  for (size_t r = 0; r < recs->count; r++) {
    const lf_value_t *values = recs->values ? &recs->values[r * recs->fields] : NULL;
    if (csv)
      put_csv_record(&w, o, url, parent, depth, values);
    else
      put_json_record(&w, o, url, parent, depth, values);
  }
  *len = w.len;
  return w.failed ? NULL : o->buf;
}

/* ---- files ---- */

/* All of p in one write(2) if the kernel takes it so (an O_APPEND regular file does); a part
 * written before an error is taken back, so the file ends with a whole record. */
static int write_all(int fd, const char *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int err = -errno;
      struct stat st;
      if (done && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)done &&
          ftruncate(fd, st.st_size - (off_t)done) < 0)
        err = -errno; /* cannot take it back: the next open cuts it off */
      return err;
    }
    done += (size_t)w;
  }
  return 0;
}

int lf__recout_write(lf__recout_t *o, const char *url, const char *parent, unsigned depth,
                     const lf_records_t *recs) {
  int fds[2] = {o->json_fd, o->csv_fd};
  for (int csv = 0; csv < 2; csv++) {
    if (fds[csv] < 0 || !recs->count) continue;
    size_t len;
    const char *text = lf__recout_format(o, csv, url, parent, depth, recs, &len);
    if (!text) return -ENOMEM;
    int rc = write_all(fds[csv], text, len);
    if (rc) {
      o->failed = o->paths[csv];
      return rc;
    }
  }
  return 0;
}

/* Where the last whole record of a regular file ends. JSON Lines (which escape line breaks)
 * end at the last newline: a file ending in one is whole without reading more, else it is read
 * backwards to it. CSV is read from the start, since a quoted cell may hold CRLF and only the
 * quotes before a CRLF tell whether it ends a row (about a second per GB, once per run). */
static int whole_end(int fd, int csv, off_t size, off_t *end) {
  char buf[65536];
  ssize_t n;
  *end = size;
  off_t tail = size >= 2 ? size - 2 : 0;
  while ((n = pread(fd, buf, (size_t)(size - tail), tail)) < 0 && errno == EINTR)
    ;
  if (n != size - tail) return n < 0 ? -errno : -EIO;
  if (buf[n - 1] == '\n' && !csv) return 0;
  *end = 0;
  if (!csv) {
    for (off_t at = size; at > 0;) {
      size_t want = at > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)at;
      while ((n = pread(fd, buf, want, at - (off_t)want)) < 0 && errno == EINTR)
        ;
      if (n != (ssize_t)want) return n < 0 ? -errno : -EIO;
      at -= (off_t)want;
      char *nl = memrchr(buf, '\n', want);
      if (nl) {
        *end = at + (nl - buf) + 1;
        return 0;
      }
    }
    return 0;
  }
  int quoted = 0;
  char prev = 0;
  for (off_t at = 0; at < size; at += n) {
    while ((n = pread(fd, buf, sizeof(buf), at)) < 0 && errno == EINTR)
      ;
    if (n <= 0) return n < 0 ? -errno : -EIO;
    for (ssize_t i = 0; i < n; prev = buf[i++]) {
      if (buf[i] == '"') quoted = !quoted; /* "" inside a cell toggles twice */
      if (buf[i] == '\n' && !quoted && prev == '\r') *end = at + i + 1;
    }
  }
  return 0;
}

/* The first line of a CSV file, without its CRLF, into line (NUL-terminated). */
static int first_line(int fd, char *line, size_t len) {
  ssize_t n;
  while ((n = pread(fd, line, len - 1, 0)) < 0 && errno == EINTR)
    ;
  if (n < 0) return -errno;
  line[n] = '\0';
  char *crlf = strstr(line, "\r\n");
  if (crlf) *crlf = '\0';
  return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *path, const char *why) {
  snprintf(err, errlen, fmt, path, why);
  return -1;
}

/* Opens one file; a regular file's torn end is cut off and a CSV one's header checked or
 * written. */
static int open_one(lf__recout_t *o, const char *path, int csv, int *fd_out, int *owned, char *err,
                    size_t errlen) {
  const char *opt = csv ? "--csv" : "--records";
  int fd = 1;
  if (strcmp(path, "-") != 0) {
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
    *owned = 1;
  }
  *fd_out = fd;
  struct stat st;
  if (fstat(fd, &st) < 0) return fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
  int regular = S_ISREG(st.st_mode) && *owned;
  off_t end = 0;
  if (regular && st.st_size > 0) {
    /* the file was opened write-only: a second descriptor reads it */
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) return fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
    int rc = whole_end(rfd, csv, st.st_size, &end);
    size_t hlen;
    const char *want = csv && !rc ? header(o, &hlen) : NULL;
    char have[8192];
    if (!rc && csv && end > 0 && (rc = first_line(rfd, have, sizeof(have))) == 0 && want &&
        (strlen(have) != hlen - 2 || memcmp(have, want, hlen - 2) != 0)) {
      close(rfd);
      snprintf(err, errlen,
               "%s %s has other columns (%.200s); this job writes %.*s: give another "
               "file",
               opt, path, have, (int)(hlen - 2 > 200 ? 200 : hlen - 2), want);
      return -1;
    }
    close(rfd);
    if (rc) return fail(err, errlen, "cannot read %s: %s", path, strerror(-rc));
    if (end < st.st_size && ftruncate(fd, end) < 0)
      return fail(err, errlen, "cannot cut the torn last record of %s: %s", path, strerror(errno));
  }
  if (csv && (!regular || end == 0)) {
    size_t hlen;
    const char *h = header(o, &hlen);
    int rc = h ? write_all(fd, h, hlen) : -ENOMEM;
    if (rc) return fail(err, errlen, "cannot write %s: %s", path, strerror(-rc));
  }
  return 0;
}

int lf__recout_open(lf__recout_t *o, const char *json_path, const char *csv_path,
                    const char *const *names, size_t n, char *err, size_t errlen) {
  *o = (lf__recout_t){
      .json_fd = -1, .csv_fd = -1, .paths = {json_path, csv_path}, .names = names, .n = n};
  if ((json_path && open_one(o, json_path, 0, &o->json_fd, &o->json_owned, err, errlen) < 0) ||
      (csv_path && open_one(o, csv_path, 1, &o->csv_fd, &o->csv_owned, err, errlen) < 0)) {
    lf__recout_close(o);
    return -1;
  }
  return 0;
}

static int open_append(const char *path, int *fd, char *err, size_t errlen) {
  if (strcmp(path, "-") == 0)
    return fail(err, errlen, "%s%s", "records on stdout: not from a worker", "");
  *fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  return *fd < 0 ? fail(err, errlen, "cannot open %s: %s", path, strerror(errno)) : 0;
}

int lf__recout_open_append(lf__recout_t *o, const char *json_path, const char *csv_path,
                           const char *const *names, size_t n, char *err, size_t errlen) {
  *o = (lf__recout_t){.json_fd = -1,
                      .csv_fd = -1,
                      .json_owned = 1,
                      .csv_owned = 1,
                      .paths = {json_path, csv_path},
                      .names = names,
                      .n = n};
  if ((json_path && open_append(json_path, &o->json_fd, err, errlen) < 0) ||
      (csv_path && open_append(csv_path, &o->csv_fd, err, errlen) < 0)) {
    lf__recout_close(o);
    return -1;
  }
  return 0;
}

/* ---- reading back the pages a records file has ---- */

typedef struct {
  lf__hmap_t *set;
  int quoted, in_first, header_done, failed;
  char *cell;
  size_t len, cap;
  /* JSON Lines: where we are in {"url":"...": 0 outside, the prefix matched so far, then in */
  size_t prefix;
  int escaped;
  unsigned u_left; /* hex digits of a \uXXXX still to read */
  unsigned u_val;
} scan_t;

#define URL_MAX (1 << 20) /* a longer cell is no URL of ours: dropped */

static void cell_put(scan_t *s, char c) {
  if (s->len + 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    if (cap > URL_MAX) {
      s->len = 0; /* cut: the cell starts again, as an unusable one */
      return;
    }
    char *p = realloc(s->cell, cap);
    if (!p) {
      s->failed = 1;
      return;
    }
    s->cell = p;
    s->cap = cap;
  }
  s->cell[s->len++] = c;
}

static void cell_done(scan_t *s) {
  if (s->len && !s->failed) {
    int added;
    s->cell[s->len] = '\0';
    if (!lf__hmap_put(s->set, lf__url_key(s->cell), 1, &added)) s->failed = 1;
  }
  s->len = 0;
}

/* CSV: the first cell of each row, unquoted ("" inside quotes is one quote); the header row
 * is skipped. s->escaped: the last byte closed a quoted stretch (or began a "" pair). */
static void scan_csv(scan_t *s, char c) {
  int after_quote = s->escaped;
  s->escaped = 0;
  if (s->quoted) {
    if (c == '"') {
      s->quoted = 0;
      s->escaped = 1;
    } else if (s->in_first) {
      cell_put(s, c);
    }
    return;
  }
  if (c == '"') {
    if (after_quote && s->in_first) cell_put(s, '"');
    s->quoted = 1;
    return;
  }
  if (c == ',' || c == '\n') {
    if (s->in_first && s->header_done) cell_done(s);
    s->len = 0;
    s->in_first = c == '\n';
    s->header_done = s->header_done || c == '\n';
    return;
  }
  if (s->in_first && c != '\r') cell_put(s, c);
}

static int hexval(char c) {
  return c >= '0' && c <= '9'                 ? c - '0'
         : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                              : -1;
}

/* JSON Lines as this writer writes them: each line starts with {"url":"...". */
static void scan_json(scan_t *s, char c) {
  static const char prefix[] = "{\"url\":\"";
  if (c == '\n') {
    s->prefix = 0;
    s->len = 0;
    return;
  }
  if (s->prefix < sizeof(prefix) - 1) { /* matching the prefix, or a line without it */
    s->prefix = c == prefix[s->prefix] ? s->prefix + 1 : sizeof(prefix) + 1;
    return;
  }
  if (s->prefix != sizeof(prefix) - 1) return; /* past the url, or no url on this line */
  if (s->u_left) {
    int v = hexval(c);
    s->u_val = s->u_val * 16 + (unsigned)(v < 0 ? 0 : v);
    if (--s->u_left == 0) cell_put(s, (char)s->u_val); /* the writer escapes only bytes */
  } else if (s->escaped) {
    static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
    const char *k = strchr(from, c);
    if (c == 'u') {
      s->u_left = 4;
      s->u_val = 0;
    } else {
      cell_put(s, k && c ? to[k - from] : c);
    }
    s->escaped = 0;
  } else if (c == '\\') {
    s->escaped = 1;
  } else if (c == '"') {
    cell_done(s);
    s->prefix = sizeof(prefix); /* the rest of the line is not the url */
  } else {
    cell_put(s, c);
  }
}

int lf__recout_load_urls(const char *path, int csv, lf__hmap_t *set) {
  if (!path || strcmp(path, "-") == 0) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { /* a FIFO or a device has no past */
    close(fd);
    return 0;
  }
  scan_t s = {.set = set, .in_first = 1};
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) != 0 && !s.failed) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (ssize_t i = 0; i < n; i++)
      (csv ? scan_csv : scan_json)(&s, buf[i]);
  }
  int err = n < 0 ? -errno : s.failed ? -ENOMEM : 0;
  close(fd);
  free(s.cell);
  return err;
}

void lf__recout_close(lf__recout_t *o) {
  if (o->json_owned && o->json_fd >= 0) close(o->json_fd);
  if (o->csv_owned && o->csv_fd >= 0) close(o->csv_fd);
  free(o->buf);
  *o = (lf__recout_t){.json_fd = -1, .csv_fd = -1};
}
