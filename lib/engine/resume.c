/* Resuming a page (LF_REQUEST_CONTINUE, the program's -C) from its partial file (partial.c):
 * what an attempt asks for, what the reply makes of the partial, and the partial's file work
 * on the thread pool.
 *
 * At the start of each attempt the partial beside the page's name is looked up: its state must
 * name this URL, its data file must be a regular file, and the response it came from must have
 * had a validator that If-Range can carry (a strong ETag, else Last-Modified; RFC 9110 13.1.5
 * forbids a weak ETag there). Then the attempt asks for the rest with libcurl's CURLOPT_RANGE
 * ("N-") and an If-Range header (libcurl has no option for it: CURLOPT_TIMECONDITION makes
 * If-Modified-Since, not If-Range). CURLOPT_RANGE rather than CURLOPT_RESUME_FROM_LARGE:
 * libcurl 7.88 fails a resumed transfer whose server answers 200 (CURLE_RANGE_ERROR), where
 * that 200 is the whole new page that we want to keep.
 * The reply decides:
 *  - 206 whose Content-Range starts where the data ends, runs to the end of a page of the
 *    length recorded, and whose ETag (if both have one) is the recorded one: the body is
 *    appended after the data;
 *  - 200 (the server ignores Range, or If-Range found the page changed): the page comes whole,
 *    so the data is emptied and the body written from byte 0, with the new validators;
 *  - 416, or a 206 that is not that continuation: the partial is dropped and the request starts
 *    again at once without a range (at most twice per request);
 *  - anything else (an error, a redirect's end that fails) leaves the partial as it is.
 * A body is kept as a partial only when it can be resumed: identity-coded (a range of an
 * encoded body is not a range of the decoded bytes we save) with a validator, and not announced
 * as smaller than LF__RESUME_MIN. The page's own
 * name gets the data only once the attempt succeeded and the file holds the length recorded.
 *
 * The lookup runs on the loop thread: an open of the page's folder and of a state file that
 * mostly does not exist (one failing openat), done only for these requests; everything that
 * writes runs on the pool with the rest of the sink's work. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#define LF__RESTARTS_MAX 2
/* A body announced shorter than this is saved as any page (unnamed file, linked when whole):
 * asking it again costs less than the partial's bookkeeping, a named file and a state file
 * per page (-C on 3000 pages of 15 KB: +40 % system time on tmpfs, 3x the wall time on ext4). */
#define LF__RESUME_MIN (1024 * 1024)

/* A page's own transfer with the flag; the ranges --split adds (split.c) are not pages. */
static int wanted(const lf__transfer_t *t) {
  return (t->req->flags & LF_REQUEST_CONTINUE) && t->req->output == LF_OUTPUT_FILE &&
         !t->split_part;
}

void lf__resume_init(lf__transfer_t *t) {
  memset(&t->part, 0, sizeof(t->part));
  t->part.dirfd = -1;
  t->part.fd = -1;
  t->part.state.length = -1;
}

void lf__resume_free(lf__transfer_t *t) {
  lf__partial_t *p = &t->part;
  if (p->fd >= 0) close(p->fd);
  if (p->dirfd >= 0 && p->dirfd != t->fetcher->out_dirfd) close(p->dirfd);
  lf__partial_state_free(&p->state);
  free(p->if_range);
  lf__resume_init(t);
}

static int strong_etag(const char *etag) {
  return etag && etag[0] == '"';
}

/* Whether the request's own headers already speak of ranges: the caller's, then, not ours. */
static int own_range(const lf__transfer_t *t) {
  const char *h = t->req->headers;
  for (size_t i = 0; i < t->req->header_count; i++, h += strlen(h) + 1)
    if (strncasecmp(h, "Range:", 6) == 0 || strncasecmp(h, "If-Range:", 9) == 0) return 1;
  return 0;
}

static void drop(lf__partial_t *p, lf__partial_state_t *st) {
  lf__partial_state_free(st);
  lf__partial_remove(p->dirfd, p->data, p->state_name);
}

int lf__resume_prepare(lf__transfer_t *t) {
  lf__partial_t *p = &t->part;
  if (!wanted(t)) return 0;
  const char *base;
  int dirfd = lf__subdir_find(t->fetcher->out_dirfd, t->req->file, &base);
  lf__partial_names(base, p->data, p->state_name);
  if (dirfd < 0) return 0; /* no folder: no partial (the pool creates the folder) */
  p->dirfd = dirfd;
  lf__partial_state_t st;
  if (lf__partial_state_read(dirfd, p->state_name, &st) < 0) {
    if (errno != ENOENT) drop(p, &st); /* unreadable or not ours: useless */
    return 0;
  }
  int fd = strcmp(st.url, t->req->url) == 0 ? lf__partial_open_regular(dirfd, p->data, O_RDWR) : -1;
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0) { /* another URL's data under this name, or no data */
    if (fd >= 0) close(fd);
    drop(p, &st);
    return 0;
  }
  p->fd = fd;
  p->state = st;
  uint64_t from = lf__partial_prefix(&st, (uint64_t)sb.st_size);
  const char *validator = strong_etag(st.etag) ? st.etag : st.last_modified;
  if (from == 0 || !validator || own_range(t)) return 0;
  /* Complete but not yet named (the process ended in between): ask for its last byte, which
   * proves the validators still hold, rather than for nothing (a 416). */
  if (st.length > 0 && from >= (uint64_t)st.length) from = (uint64_t)st.length - 1;
  size_t n = strlen(validator) + sizeof("If-Range: ");
  if (!(p->if_range = malloc(n))) return LF_ENOMEM;
  snprintf(p->if_range, n, "If-Range: %s", validator);
  p->from = from;
  return 0;
}

int lf__resume_headers(lf__transfer_t *t, struct curl_slist **list) {
  if (!t->part.if_range) return 0;
  struct curl_slist *l = curl_slist_append(*list, t->part.if_range);
  if (!l) return LF_ENOMEM;
  *list = l;
  return 0;
}

static char *header_value(CURL *e, const char *name) {
  struct curl_header *h = NULL;
  if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) return NULL;
  return h->value;
}

/* Whether a 206 continues the data: "bytes FROM-(T-1)/T" with T the length recorded, and the
 * validator If-Range carried, unchanged: the part must say it is of the same page (a redirect
 * to another origin may have dropped If-Range, and a server may ignore it). why says what
 * differs. */
static int continues(lf__transfer_t *t, char *why, size_t len) {
  const lf__partial_t *p = &t->part;
  const char *cr = header_value(t->easy, "Content-Range");
  unsigned long long start, end, total;
  int used = 0;
  if (t->decoder) {
    snprintf(why, len, "the part is content-encoded");
    return 0;
  }
  if (!cr || sscanf(cr, "bytes %llu-%llu/%llu%n", &start, &end, &total, &used) != 3 ||
      cr[used] != '\0') {
    snprintf(why, len, "Content-Range %s", cr ? "unreadable" : "missing");
    return 0;
  }
  if (start != p->from || end + 1 != total || total <= start ||
      (p->state.length >= 0 && total != (unsigned long long)p->state.length)) {
    snprintf(why, len, "bytes %llu-%llu/%llu where %" PRIu64 "-/%lld was asked", start, end, total,
             p->from, (long long)p->state.length);
    return 0;
  }
  const char *etag = header_value(t->easy, "ETag");
  const char *lm = header_value(t->easy, "Last-Modified");
  if (strong_etag(p->state.etag) ? !etag || strcmp(etag, p->state.etag) != 0
                                 : !lm || strcmp(lm, p->state.last_modified) != 0) {
    snprintf(why, len, "its %s %s", strong_etag(p->state.etag) ? "ETag" : "Last-Modified",
             (strong_etag(p->state.etag) ? etag : lm) ? "changed" : "is missing");
    return 0;
  }
  t->part.state.length = (int64_t)total;
  return 1;
}

/* The state of a body written from byte 0 on: this reply's validators. */
static int fresh_state(lf__transfer_t *t) {
  lf__partial_t *p = &t->part;
  lf__partial_state_free(&p->state);
  const char *etag = header_value(t->easy, "ETag"), *lm = header_value(t->easy, "Last-Modified");
  if (!strong_etag(etag) && !lm) return 0; /* If-Range could not carry it: no partial */
  lf__partial_state_t *st = &p->state;
  st->length = t->content_length;
  if (!(st->url = strdup(t->req->url)) || (etag && !(st->etag = strdup(etag))) ||
      (lm && !(st->last_modified = strdup(lm))))
    return LF_ENOMEM;
  return 1;
}

/* The whole page came and is saved without a partial (too small, encoded, no validator, split):
 * a partial found at the start is of an older page and goes (on the loop thread: rare). */
static int drop_outdated(lf__partial_t *p) {
  if (p->fd < 0) return 0;
  close(p->fd);
  p->fd = -1;
  lf__partial_remove(p->dirfd, p->data, p->state_name);
  return 0;
}

int lf__resume_check(lf__transfer_t *t) {
  lf__partial_t *p = &t->part;
  if (!wanted(t) || t->http_code < 200 || t->http_code >= 300) return 0;
  int rc;
  /* --split's first request asks for "0-": a 206 that split.c did not split is the whole page
   * (its Content-Range checked there), as a 200 is. One it split is split.c's. */
  int whole =
      t->http_code == 200 || (t->http_code == 206 && !p->from && t->whole_range && !t->split);
  if (t->http_code == 206 && !whole) {
    char why[160];
    if (!p->from) /* split.c took the page, or a part nobody asked for (transfer.c refused it) */
      return t->split ? drop_outdated(p) : 0;
    if (!continues(t, why, sizeof(why))) {
      p->restart = 1;
      lf__transfer_set_error(t, LF_ECURL, "the reply does not continue the partial file (%s)", why);
      return -1;
    }
    rc = 1;
  } else if (!whole || t->decoder ||
             (t->content_length >= 0 && t->content_length < LF__RESUME_MIN)) {
    return drop_outdated(p); /* no range could continue it (or not worth it): as any page */
  } else if ((rc = fresh_state(t)) < 0) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory");
    return -1;
  }
  if (rc == 0) return drop_outdated(p);
  /* One stream appends: the state says "from 0 to the data file's end", written before the
   * first byte (resume_open), so whatever of the file survives is the page's. */
  free(p->state.ranges);
  p->state.ranges = NULL;
  p->state.range_count = 0;
  if (lf__partial_add_range(&p->state, 0, LF__RANGE_OPEN) < 0) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory");
    return -1;
  }
  p->on = 1;
  p->fresh = whole;
  return 0;
}

int lf__resume_restart(lf__transfer_t *t) {
  lf__partial_t *p = &t->part;
  if (!wanted(t) || !(p->restart || (p->from && t->http_code == 416))) return 0;
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
  /* On the loop thread: rare (the page changed under a range), and two unlinks. */
  if (p->dirfd >= 0) lf__partial_remove(p->dirfd, p->data, p->state_name);
  if (t->req->cancelled || t->req->restarts >= LF__RESTARTS_MAX) return 0;
  t->req->restarts++;
  if (t->http_code == 416 && !t->abort_status)
    lf__transfer_set_error(t, LF_EHTTP, "HTTP 416: the partial file is past the page's end");
  return 1;
}

/* ---- pool side ---- */

static int fail(lf__sink_t *s, const char *op) {
  s->job_err = errno ? -errno : UV_EIO;
  s->job_err_op = op;
  return -1;
}

int lf__resume_open(lf__sink_t *s) {
  lf__transfer_t *t = s->transfer;
  lf__partial_t *p = &t->part;
  if (p->dirfd < 0) {
    const char *base;
    p->dirfd = lf__subdir_open(t->fetcher->out_dirfd, t->req->file, &base);
    if (p->dirfd < 0) return fail(s, "mkdir");
  }
  uint64_t at = p->fresh ? 0 : p->from;
  if (p->fd >= 0) { /* what was there is cut to where this body starts */
    s->fd = p->fd;
    p->fd = -1;
    if (ftruncate(s->fd, (off_t)at) < 0 || lseek(s->fd, (off_t)at, SEEK_SET) < 0)
      return fail(s, "truncate");
  } else {
    /* Whatever is at the name (left without a state, or planted: a symlink, a FIFO) goes;
     * O_EXCL | O_NOFOLLOW then never opens anything but the file made here. */
    if (unlinkat(p->dirfd, p->data, 0) < 0 && errno != ENOENT) return fail(s, "open");
    s->fd = openat(p->dirfd, p->data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (s->fd < 0) return fail(s, "open");
  }
  if (lf__partial_state_write(p->dirfd, s->temp_name, p->state_name, &p->state) < 0)
    return fail(s, "write");
  return 0;
}

void lf__resume_finish(lf__sink_t *s, int keep, int fdir, const char *final_name, int no_replace,
                       char used[256]) {
  lf__partial_t *p = &s->transfer->part;
  int fd = s->fd;
  s->fd = -1;
  struct stat sb;
  errno = 0;
  if (keep && p->state.length >= 0 &&
      (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != (uint64_t)p->state.length)) {
    /* Not the page the state describes (changed under us?): never published, and dropped. */
    if (!errno) errno = EIO;
    fail(s, "check");
    close(fd);
    lf__partial_remove(p->dirfd, p->data, p->state_name);
    return;
  }
  if (close(fd) < 0 && keep) keep = fail(s, "close") == 0; /* maybe lost data: not published */
  if (!keep) return; /* the partial stays for the next attempt or run */
  /* LF_REQUEST_NO_REPLACE: never over a file that appeared meanwhile (sink.c says why). */
  if (no_replace ? lf__sink_rename_new(p->dirfd, p->data, fdir, final_name, used) < 0
                 : renameat(p->dirfd, p->data, fdir, final_name) < 0) {
    used[0] = '\0';
    fail(s, "rename");
    return;
  }
  unlinkat(p->dirfd, p->state_name, 0); /* a state without data is dropped when next seen */
}
