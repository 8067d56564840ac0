/* Partial files (LF_REQUEST_CONTINUE, the program's -C): a page's data kept under a hidden name
 * beside the page's own name while it arrives, with a small state file that says what the data
 * was fetched under and which of its bytes are the page's. Both survive any end of the process,
 * SIGKILL included, so a later request for the same page asks only for what is missing
 * (resume.c); the page's own name still gets the data only when it is whole (sink.c).
 *
 * For a page saved as "dir/NAME" (the folder as lf_request_t.file says):
 *   dir/.NAME.lf-part         the data, at the page's offsets (byte i of the page at offset i)
 *   dir/.NAME.lf-part.state   what the data is (below), replaced atomically (a temporary
 *                             ".lf-PID-SEQ.part" in dir, renamed over it)
 * A NAME too long for the suffixes is cut to LF__PART_STEM bytes and a hash of the whole
 * name added ("~" and 16 hex digits). Names of this form are reserved: lf_fetcher_add()
 * refuses them as a page's name (lf__partial_reserved), and the program never makes one (its
 * names never start with a dot).
 *
 * The state file is text, one "key value" per line, the first line the format's version:
 *   loopfetch-partial 1
 *   url URL                  the request's URL: data of another URL is never this page's
 *   etag VALUE               the ETag of the response the data came from, as sent (optional)
 *   last-modified VALUE      its Last-Modified, as sent (optional)
 *   length N                 the whole page's length in bytes (optional: unknown)
 *   range START END          bytes [START, END) of the data file are the page's; END "*":
 *                            up to the data file's end (a stream that appends: what a killed
 *                            process wrote is exactly the file's size). Any number of lines,
 *                            in any order, overlapping or not.
 * Unknown keys are ignored (a newer writer may add some); anything else malformed makes the
 * whole state unusable, and the partial is then dropped. The rule that keeps it true: the data
 * is written before a range that covers it is written into the state, so after a crash the
 * ranges can only claim less than the file holds, never more. A writer of several ranges
 * (--split) records each range's written end as it goes, with lf__partial_state_write(); the
 * single stream writes its state once, "range 0 *", before its first byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#define LF__PART_SUFFIX ".lf-part"
#define LF__STATE_SUFFIX ".lf-part.state"
#define LF__PART_STEM 200
#define LF__STATE_MAX (LF_URL_MAX + 32768) /* a URL, two header values and the ranges */
#define LF__PART_MAGIC "loopfetch-partial 1"

static int ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int lf__partial_reserved(const char *name) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  size_t n = strlen(base);
  return base[0] == '.' &&
         (ends_with(base, n, LF__PART_SUFFIX) || ends_with(base, n, LF__STATE_SUFFIX));
}

/* FNV-1a, 64 bits: only tells long names apart, nobody attacks it (same name, same hash). */
static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void lf__partial_names(const char *base, char data[LF__PART_NAME], char state[LF__PART_NAME]) {
  size_t n = strlen(base);
  if (n + sizeof(LF__STATE_SUFFIX) + 1 <= 255) {
    snprintf(data, LF__PART_NAME, ".%s" LF__PART_SUFFIX, base);
    snprintf(state, LF__PART_NAME, ".%s" LF__STATE_SUFFIX, base);
    return;
  }
  unsigned long long h = (unsigned long long)name_hash(base);
  snprintf(data, LF__PART_NAME, ".%.*s~%016llx" LF__PART_SUFFIX, LF__PART_STEM, base, h);
  snprintf(state, LF__PART_NAME, ".%.*s~%016llx" LF__STATE_SUFFIX, LF__PART_STEM, base, h);
}

/* Opens name in dirfd only if it is a regular file: a symlink is never followed (O_NOFOLLOW),
 * and O_NONBLOCK keeps a FIFO planted there from blocking the open. */
int lf__partial_open_regular(int dirfd, const char *name, int flags) {
  int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

void lf__partial_state_free(lf__partial_state_t *st) {
  free(st->url);
  free(st->etag);
  free(st->last_modified);
  free(st->ranges);
  memset(st, 0, sizeof(*st));
  st->length = -1;
}

int lf__partial_add_range(lf__partial_state_t *st, uint64_t start, uint64_t end) {
  lf__range_t *r = realloc(st->ranges, (st->range_count + 1) * sizeof(*r));
  if (!r) return LF_ENOMEM;
  st->ranges = r;
  r[st->range_count].start = start;
  r[st->range_count].end = end;
  st->range_count++;
  return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9') return -1;
  uint64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return *s ? -1 : 0;
}

static int parse_line(lf__partial_state_t *st, char *line) {
  char *sp = strchr(line, ' ');
  if (!sp) return -1;
  *sp = '\0';
  const char *key = line, *value = sp + 1;
  char **str = strcmp(key, "url") == 0             ? &st->url
               : strcmp(key, "etag") == 0          ? &st->etag
               : strcmp(key, "last-modified") == 0 ? &st->last_modified
                                                   : NULL;
  if (str) {
    if (*str) return -1; /* twice */
    return (*str = strdup(value)) ? 0 : LF_ENOMEM;
  }
  if (strcmp(key, "length") == 0) {
    uint64_t v;
    if (st->length >= 0 || parse_u64(value, &v) < 0 || v > INT64_MAX) return -1;
    st->length = (int64_t)v;
    return 0;
  }
  if (strcmp(key, "range") == 0) {
    char *sp2 = strchr(value, ' ');
    uint64_t start, end = LF__RANGE_OPEN;
    if (!sp2) return -1;
    *sp2 = '\0';
    if (parse_u64(value, &start) < 0) return -1;
    if (strcmp(sp2 + 1, "*") != 0 && (parse_u64(sp2 + 1, &end) < 0 || end < start)) return -1;
    return lf__partial_add_range(st, start, end);
  }
  return 0; /* a key of a newer writer */
}

/* Parses the text of a state file (NUL-terminated, modified in place). */
int lf__partial_state_parse(char *text, lf__partial_state_t *st) {
  memset(st, 0, sizeof(*st));
  st->length = -1;
  size_t magic = strlen(LF__PART_MAGIC);
  if (strncmp(text, LF__PART_MAGIC, magic) != 0 || text[magic] != '\n') return -1;
  int rc = 0;
  for (char *line = text + magic + 1; *line && rc == 0;) {
    char *nl = strchr(line, '\n');
    if (!nl) { /* the last line ends with a newline: a cut file is not a state */
      rc = -1;
      break;
    }
    *nl = '\0';
    rc = parse_line(st, line);
    line = nl + 1;
  }
  if (rc == 0 && !st->url) rc = -1;
  if (rc < 0) lf__partial_state_free(st);
  return rc;
}

int lf__partial_state_read(int dirfd, const char *name, lf__partial_state_t *st) {
  memset(st, 0, sizeof(*st));
  st->length = -1;
  int fd = lf__partial_open_regular(dirfd, name, O_RDONLY);
  if (fd < 0) return -1;
  struct stat sb;
  char *text = NULL;
  int rc = -1;
  if (fstat(fd, &sb) < 0 || sb.st_size <= 0 || sb.st_size > LF__STATE_MAX) goto done;
  size_t size = (size_t)sb.st_size, got = 0;
  if (!(text = malloc(size + 1))) goto done;
  while (got < size) {
    ssize_t n = read(fd, text + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto done;
    got += (size_t)n;
  }
  text[size] = '\0';
  if (strlen(text) != size) goto done; /* a NUL inside: not ours */
  rc = lf__partial_state_parse(text, st);
done:
  free(text);
  close(fd);
  if (rc < 0) errno = EINVAL; /* there, but not a state: only ENOENT means none */
  return rc;
}

static int put_text(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int put_text(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if (*buf && *len + (size_t)n < *cap) {
      *len += (size_t)n;
      return 0;
    }
    size_t want = (*cap ? *cap * 2 : 1024) + (size_t)n;
    char *p = realloc(*buf, want);
    if (!p) return -1;
    *buf = p;
    *cap = want;
  }
}

/* The state as text, malloc'd. A value holding a newline cannot be written: NULL (and the
 * page is then saved without a partial: header values never hold one). */
char *lf__partial_state_format(const lf__partial_state_t *st, size_t *out_len) {
  const char *vals[3] = {st->url, st->etag, st->last_modified};
  for (int i = 0; i < 3; i++)
    if (vals[i] && strpbrk(vals[i], "\r\n")) return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int bad = put_text(&buf, &len, &cap, "%s\nurl %s\n", LF__PART_MAGIC, st->url);
  if (st->etag) bad |= put_text(&buf, &len, &cap, "etag %s\n", st->etag);
  if (st->last_modified) bad |= put_text(&buf, &len, &cap, "last-modified %s\n", st->last_modified);
  if (st->length >= 0) bad |= put_text(&buf, &len, &cap, "length %lld\n", (long long)st->length);
  for (size_t i = 0; i < st->range_count; i++) {
    const lf__range_t *r = &st->ranges[i];
    if (r->end == LF__RANGE_OPEN)
      bad |= put_text(&buf, &len, &cap, "range %llu *\n", (unsigned long long)r->start);
    else
      bad |= put_text(&buf, &len, &cap, "range %llu %llu\n", (unsigned long long)r->start,
                      (unsigned long long)r->end);
  }
  if (bad) {
    free(buf);
    return NULL;
  }
  *out_len = len;
  return buf;
}

/* Writes the state under name in dirfd atomically: into temp (created there, never reused or
 * followed), then renamed over name. Pool thread. -1 with errno. */
int lf__partial_state_write(int dirfd, const char *temp, const char *name,
                            const lf__partial_state_t *st) {
  size_t len = 0;
  char *text = lf__partial_state_format(st, &len);
  if (!text) {
    errno = EINVAL;
    return -1;
  }
  int fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  int rc = fd < 0 ? -1 : 0;
  for (size_t off = 0; rc == 0 && off < len;) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      rc = -1;
    else
      off += (size_t)n;
  }
  int saved = errno;
  if (fd >= 0 && close(fd) < 0 && rc == 0) rc = -1, saved = errno;
  if (rc == 0 && renameat(dirfd, temp, dirfd, name) < 0) rc = -1, saved = errno;
  if (rc < 0 && fd >= 0) unlinkat(dirfd, temp, 0);
  free(text);
  errno = saved;
  return rc;
}

/* How many bytes from 0 on the data file holds for the page: the ranges that join up from 0,
 * each cut to the file's size (a range can claim no byte the file does not have). */
uint64_t lf__partial_prefix(const lf__partial_state_t *st, uint64_t file_size) {
  uint64_t done = 0;
  for (int grew = 1; grew;) {
    grew = 0;
    for (size_t i = 0; i < st->range_count; i++) {
      uint64_t start = st->ranges[i].start, end = st->ranges[i].end;
      if (end > file_size) end = file_size;
      if (start <= done && end > done) {
        done = end;
        grew = 1;
      }
    }
  }
  if (st->length >= 0 && done > (uint64_t)st->length) done = (uint64_t)st->length;
  return done;
}

/* Removes a partial's two files (either may be missing). */
void lf__partial_remove(int dirfd, const char *data, const char *state) {
  unlinkat(dirfd, state, 0); /* the state first: data without a state is never used */
  unlinkat(dirfd, data, 0);
}
