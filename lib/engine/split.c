/* --split (lf_options_t.split): one large file fetched as several byte ranges at once, each on
 * its own easy handle on the fetcher's one multi handle (no threads of ours), each written in
 * place at its offset by pwrite() on libuv's thread pool, and the file published once, whole,
 * when every range is written (or dropped, never published, if any fails for good).
 *
 * How the size is learned: the request's own transfer asks for "Range: bytes=0-" (transfer.c).
 * A 206 to it proves that the server serves ranges of this file and its Content-Range gives the
 * size, with no round trip of its own: a HEAD first would cost one on every page of a job, and
 * says nothing certain (servers answer HEAD and ranged GETs by different code paths, and many
 * send Accept-Ranges on neither). A 200 is a server that ignores ranges, or one that does not
 * serve them for this file: the page then simply arrives whole, as one stream. A 206 for a
 * large file starts the other ranges (the "parts"), and the first transfer stops at the end of
 * its own range (range_cut): its connection is closed rather than read to the end.
 *
 * One file: the parts must be ranges of the same file. Each asks with If-Range (the first
 * response's strong ETag, else its Last-Modified), so a server whose file changed answers 200
 * instead, and each 206 must carry the Content-Range asked, the same total and the same
 * validators. Any mismatch fails the whole attempt and the page starts over (a transient
 * failure, as many times as retries allow): a file is never made of two versions. A file whose
 * server names no usable validator is not split, since a change between ranges could not be
 * seen. The parts go to the first transfer's final URL (after its redirects).
 *
 * A range whose transfer fails transiently (cut, stalled, 5xx) starts again where it stopped,
 * after the usual backoff; only that range. Memory stays flat: each range's bytes go through
 * its sink like any page's (sink.c's buffer budget and pauses), never a whole range.
 *
 * With LF_REQUEST_CONTINUE (-C) the file is the page's partial file instead (partial.c's format,
 * resume.c's names): the data beside the page's name, and a state file that lists the ranges
 * written so far, each range's written end recorded as its bytes reach the file (at most once a
 * second, and when a range completes; always after the data, so the state never claims a byte
 * the file lacks). A later request for the page finds the partial (resume.c) and asks from its
 * first missing byte; here the reply then splits only what is missing, around the ranges that
 * are there, so a split download killed by SIGKILL resumes with only its missing ranges. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

/* Ranges are at least this long, so a file under twice this size is one stream: a range costs
 * a request and often a connection, worth it only for bodies that take a while. */
#define LF__SPLIT_MIN_PART (1024 * 1024)

typedef struct {
  uint64_t start, end; /* the bytes it covers, end inclusive */
  uint64_t done;       /* of those, written (from start) */
  uint64_t disk_end;   /* -C: the file holds its bytes up to here (pool threads, under lock) */
  lf__transfer_t *t;   /* its transfer, on the network or writing; NULL between */
  int attempts;        /* transfers it had, counted against opts.retries */
  int waiting;         /* to start (again) at due_ns */
  uint64_t due_ns;
} lf__part_t;

struct lf__split_s {
  lf_fetcher_t *f;
  lf__transfer_t *master; /* the request's own transfer: reported once the file is done */
  uint64_t total;         /* the file's size, from the first Content-Range */
  char *url;              /* the first transfer's final URL, where the parts go */
  char *if_range;         /* "If-Range: VALIDATOR", sent by every part */
  char *etag;             /* as the first response named them (NULL: none); each part's */
  char *last_modified;    /* response must name the same */
  uv_mutex_t lock;        /* pool threads: who opens fd */
  int fd;                 /* the file, opened by the first write (pool thread), or -1 */
  int open_err;           /* that open failed: -errno */
  char temp_name[48];     /* its temporary name when unnamed files are not possible */
  uv_timer_t timer;       /* starts parts (never inside libcurl), retries, the end */
  int timer_open;
  size_t running;     /* parts with a transfer */
  size_t complete;    /* parts wholly written */
  int master_idle;    /* the first transfer ended and was written: it only waits now */
  int ending;         /* the end is due on the timer */
  int failed;         /* the first lasting failure's status, 0 none */
  int restart;        /* it was the file changing: start the page over */
  uint64_t received;  /* body bytes of all ranges so far (progress) */
  size_t max_running; /* ranges on the network at once (opts.split) */
  /* -C (LF_REQUEST_CONTINUE): the file is the page's partial (partial.c) */
  int resumable;
  int dirfd;                 /* the page's folder: the request's part.dirfd, or opened by the
                                first write (pool), -1 until then */
  uint64_t reused;           /* bytes of the page the partial held already */
  lf__partial_state_t state; /* url, validators, length; ranges: those held already */
  uint64_t state_ns;         /* when the state was last written (pool, under lock) */
  int state_err;             /* writing it failed: -errno (the download goes on) */
  char data[LF__PART_NAME], state_name[LF__PART_NAME], state_temp[48];
  char error[CURL_ERROR_SIZE + 128];
  size_t nparts;
  lf__part_t parts[];
};

static void on_timer(uv_timer_t *timer);

/* "bytes A-B/T" (RFC 9110, 14.4), strictly: digits only, A <= B < T. */
static int parse_content_range(const char *v, uint64_t *a, uint64_t *b, uint64_t *total) {
  uint64_t n[3];
  const char *p = v;
  if (strncasecmp(p, "bytes ", 6) != 0) return -1;
  p += 6;
  for (int i = 0; i < 3; i++) {
    if (*p < '0' || *p > '9') return -1;
    uint64_t x = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
      if (x > (UINT64_MAX - 9) / 10) return -1;
      x = x * 10 + (uint64_t)(*p - '0');
    }
    n[i] = x;
    if (*p != (i == 0 ? '-' : i == 1 ? '/' : '\0')) return -1;
    if (i < 2) p++;
  }
  if (n[0] > n[1] || n[1] >= n[2]) return -1;
  *a = n[0], *b = n[1], *total = n[2];
  return 0;
}

static const char *header(lf__transfer_t *t, const char *name) {
  struct curl_header *h = NULL;
  if (curl_easy_header(t->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) return NULL;
  return h->value;
}

/* A range's response is the range asked of the same file, or the attempt fails. */
static int check_range(lf__transfer_t *t, uint64_t want_a, uint64_t want_b, uint64_t want_total,
                       uint64_t *total) {
  const char *cr = header(t, "Content-Range");
  uint64_t a, b;
  if (!cr || parse_content_range(cr, &a, &b, total) < 0) {
    lf__transfer_set_error(t, LF_EHTTP, "HTTP 206 with %s Content-Range%s%s",
                           cr ? "an unreadable" : "no", cr ? ": " : "", cr ? cr : "");
    return -1;
  }
  if (a != want_a || (want_b != UINT64_MAX && b != want_b) ||
      (want_b == UINT64_MAX && b + 1 != *total) || (want_total && *total != want_total)) {
    lf__transfer_set_error(t, LF_EHTTP, "HTTP 206 with Content-Range %s, not the range asked", cr);
    return -1;
  }
  return 0;
}

static int same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int encoded(lf__transfer_t *t) {
  const char *ce = header(t, "Content-Encoding");
  return ce && strcasecmp(ce, "identity") != 0;
}

static void split_free(lf__split_t *g) {
  lf__partial_state_free(&g->state);
  if (g->dirfd >= 0 && g->dirfd != g->f->out_dirfd) close(g->dirfd);
  if (g->fd >= 0) close(g->fd);
  free(g->url);
  free(g->if_range);
  free(g->etag);
  free(g->last_modified);
  uv_mutex_destroy(&g->lock);
  free(g);
}

static void on_closed(uv_handle_t *h) {
  lf__split_t *g = h->data;
  lf_fetcher_t *f = g->f;
  split_free(g);
  f->open_handles--;
  lf__fetcher_enter(f); /* teardown may have waited for this handle */
  lf__fetcher_leave(f);
}

static char *dup_or_null(const char *s, int *failed) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *failed = 1;
  return d;
}

/* The ranges to fetch: what is missing of [0, total) (held: ranges already in the partial file,
 * sorted, not overlapping), cut into pieces of at least LF__SPLIT_MIN_PART, about missing / n
 * each. Returns how many (0 for none), written into parts if it is not NULL. */
static size_t plan(uint64_t total, const lf__range_t *held, size_t nheld, size_t n,
                   lf__part_t *parts) {
  uint64_t missing = total, at = 0;
  for (size_t i = 0; i < nheld; i++)
    missing -= held[i].end - held[i].start;
  uint64_t size = missing / n;
  if (size < LF__SPLIT_MIN_PART) size = LF__SPLIT_MIN_PART;
  size_t count = 0;
  for (size_t i = 0; i <= nheld; i++) {
    uint64_t gap_end = i < nheld ? held[i].start : total;
    uint64_t len = gap_end - at;
    uint64_t k = len / size; /* pieces of this gap, each at least size (a short gap: one) */
    if (len && k == 0) k = 1;
    for (uint64_t j = 0; j < k; j++, count++) {
      if (!parts) continue;
      parts[count].start = at + len * j / k;
      parts[count].end = at + len * (j + 1) / k - 1;
    }
    if (i < nheld) at = held[i].end;
  }
  return count;
}

/* The ranges the partial holds for a page of total bytes, sorted, joined, cut to its data
 * file's size. NULL with *n 0 for none; LF_ENOMEM. */
static int held_ranges(const lf__partial_state_t *st, uint64_t file_size, uint64_t total,
                       lf__range_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  lf__range_t *r = st->range_count ? malloc(st->range_count * sizeof(*r)) : NULL;
  if (st->range_count && !r) return LF_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < st->range_count; i++) {
    uint64_t a = st->ranges[i].start, b = st->ranges[i].end;
    if (b > file_size) b = file_size;
    if (b > total) b = total;
    if (a < b) r[k].start = a, r[k++].end = b;
  }
  for (size_t i = 1; i < k; i++) /* insertion sort: a state holds a few ranges */
    for (size_t j = i; j > 0 && r[j].start < r[j - 1].start; j--) {
      lf__range_t x = r[j];
      r[j] = r[j - 1];
      r[j - 1] = x;
    }
  size_t m = 0;
  for (size_t i = 0; i < k; i++)
    if (m && r[i].start <= r[m - 1].end) {
      if (r[i].end > r[m - 1].end) r[m - 1].end = r[i].end;
    } else {
      r[m++] = r[i];
    }
  if (!m) free(r);
  *out = m ? r : NULL;
  *n = m;
  return 0;
}

/* -C: the split takes over the request's partial (resume.c found it, or there is none yet):
 * its folder, names, data file and the ranges it holds, which stay as the state's. */
static int take_partial(lf__split_t *g, lf__transfer_t *t, const lf__range_t *held, size_t nheld) {
  lf__partial_t *p = &t->part;
  g->resumable = 1;
  g->dirfd = p->dirfd;
  p->dirfd = -1;
  g->fd = nheld ? p->fd : -1; /* a data file without a byte to keep is made anew */
  if (nheld) p->fd = -1;
  memcpy(g->data, p->data, sizeof(g->data));
  memcpy(g->state_name, p->state_name, sizeof(g->state_name));
  if (!g->data[0]) { /* resume.c looked for nothing (no folder): the names are the same */
    const char *base = strrchr(t->req->file, '/');
    lf__partial_names(base ? base + 1 : t->req->file, g->data, g->state_name);
  }
  lf__partial_state_t *st = &g->state;
  st->length = (int64_t)g->total;
  if (!(st->url = strdup(t->req->url)) || (g->etag && !(st->etag = strdup(g->etag))) ||
      (g->last_modified && !(st->last_modified = strdup(g->last_modified))))
    return LF_ENOMEM;
  for (size_t i = 0; i < nheld; i++) {
    if (lf__partial_add_range(st, held[i].start, held[i].end) < 0) return LF_ENOMEM;
    g->reused += held[i].end - held[i].start;
  }
  p->from = 0; /* resume.c leaves this reply to us (lf__resume_check) */
  return 0;
}

/* Splits the file into the ranges plan() gives; the first transfer keeps the first, which
 * starts where its reply does. Inside libcurl's write callback: the others start on the
 * timer. 0, or LF_ENOMEM. */
static int begin(lf__transfer_t *t, uint64_t total, size_t n, const char *validator,
                 const lf__range_t *held, size_t nheld, int resumable) {
  lf_fetcher_t *f = t->fetcher;
  size_t count = plan(total, held, nheld, n, NULL);
  lf__split_t *g = calloc(1, sizeof(*g) + count * sizeof(lf__part_t));
  if (!g) return LF_ENOMEM;
  g->f = f;
  g->fd = -1;
  g->dirfd = -1;
  g->total = total;
  lf__partial_state_free(&g->state);
  int oom = 0;
  char *url = NULL;
  if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
    url = t->req->url;
  g->url = dup_or_null(url, &oom);
  g->etag = dup_or_null(header(t, "ETag"), &oom);
  g->last_modified = dup_or_null(header(t, "Last-Modified"), &oom);
  size_t len = strlen(validator) + sizeof("If-Range: ");
  if ((g->if_range = malloc(len))) snprintf(g->if_range, len, "If-Range: %s", validator);
  if (oom || !g->if_range || (resumable && take_partial(g, t, held, nheld) < 0) ||
      uv_mutex_init(&g->lock) != 0) {
    lf__partial_state_free(&g->state);
    if (g->dirfd >= 0 && g->dirfd != f->out_dirfd) close(g->dirfd);
    if (g->fd >= 0) close(g->fd);
    free(g->url), free(g->etag), free(g->last_modified), free(g->if_range), free(g);
    return LF_ENOMEM;
  }
  if (uv_timer_init(f->loop, &g->timer) != 0) {
    split_free(g);
    return LF_ENOMEM;
  }
  g->timer.data = g;
  g->timer_open = 1;
  f->open_handles++;
  g->master = t;
  g->max_running = n;
  snprintf(g->temp_name, sizeof(g->temp_name), ".lf-%ld-%llu.part", f->pid,
           (unsigned long long)f->temp_seq++);
  snprintf(g->state_temp, sizeof(g->state_temp), ".lf-%ld-%llu.part", f->pid,
           (unsigned long long)f->temp_seq++);
  g->nparts = plan(total, held, nheld, n, g->parts);
  for (size_t i = 0; i < g->nparts; i++) {
    g->parts[i].waiting = i > 0;
    g->parts[i].disk_end = g->parts[i].start;
  }
  g->parts[0].t = t;
  g->parts[0].attempts = t->req->attempts;
  g->running = 1;
  t->split = g;
  t->split_index = 0;
  t->range_len = g->parts[0].end - g->parts[0].start + 1;
  t->sink.split = g;
  t->sink.off = g->parts[0].start;
  (void)uv_timer_start(&g->timer, on_timer, 0, 0); /* cannot fail: initialised, with a cb */
  return 0;
}

/* -C: what the request's partial holds that this reply can continue (the same length and
 * validators; resume.c checked the URL and that the data file is a regular file), as sorted
 * ranges; none when it holds nothing of this file. */
static int partial_held(lf__transfer_t *t, uint64_t total, lf__range_t **held, size_t *nheld) {
  const lf__partial_t *p = &t->part;
  const lf__partial_state_t *st = &p->state;
  struct stat sb;
  *held = NULL;
  *nheld = 0;
  if (p->fd < 0 || !st->url || st->length != (int64_t)total || fstat(p->fd, &sb) < 0) return 0;
  const char *etag = header(t, "ETag"), *lm = header(t, "Last-Modified");
  if ((st->etag && etag && strcmp(st->etag, etag) != 0) || (!st->etag && !st->last_modified) ||
      (st->last_modified && lm && strcmp(st->last_modified, lm) != 0) ||
      ((st->etag != NULL) != (etag != NULL) && (st->last_modified != NULL) != (lm != NULL)))
    return 0;
  return held_ranges(st, (uint64_t)sb.st_size, total, held, nheld);
}

int lf__split_first(lf__transfer_t *t) {
  uint64_t total, from = t->part.from, a, b;
  lf_fetcher_t *f = t->fetcher;
  if (from) { /* resume.c asked for the rest of a partial: its checks decide, unless we split */
    const char *cr = header(t, "Content-Range");
    if (f->opts.split < 2 || !cr || parse_content_range(cr, &a, &b, &total) < 0 || a != from ||
        b + 1 != total)
      return 0;
  } else {
    if (check_range(t, 0, UINT64_MAX, 0, &total) < 0) return -1;
    t->whole_range = 1;
  }
  if (f->opts.split < 2 || f->pace.wait > 0 || encoded(t)) return 0; /* one stream */
  /* If-Range takes a strong ETag or a date (RFC 9110, 13.1.5); without either a change of the
   * file between ranges would go unseen. */
  const char *etag = header(t, "ETag"), *validator = NULL;
  if (etag && strncmp(etag, "W/", 2) != 0 && etag[0] == '"')
    validator = etag;
  else
    validator = header(t, "Last-Modified");
  if (!validator) return 0;
  int resumable = (t->req->flags & LF_REQUEST_CONTINUE) != 0;
  lf__range_t *held = NULL;
  size_t nheld = 0;
  if (resumable && partial_held(t, total, &held, &nheld) < 0) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory splitting the file");
    return -1;
  }
  /* A reply from `from` on continues a partial only if from is its first missing byte. */
  uint64_t first_gap = nheld && held[0].start == 0 ? held[0].end : 0;
  size_t count = plan(total, held, nheld, (size_t)f->opts.split, NULL);
  int rc = 0;
  if (first_gap != from) {
    rc = 0; /* not the partial resume.c asked after: its own check decides */
  } else if (count >= 2 || (count == 1 && nheld && held[nheld - 1].end == total)) {
    /* Two ranges or more; or one before held bytes, which resume.c's single stream could
     * only fetch by dropping what lies after it. */
    rc = begin(t, total, (size_t)f->opts.split, validator, held, nheld, resumable);
  }
  free(held);
  if (rc < 0) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory splitting the file");
    return -1;
  }
  return 0;
}

/* The file changed under us (or the server stopped serving ranges): the page starts over. */
static int changed(lf__transfer_t *t, const char *why) {
  t->split_restart = 1;
  lf__transfer_set_error(t, LF_EHTTP, "the file changed between its ranges (%s): starting over",
                         why);
  return -1;
}

int lf__split_check_part(lf__transfer_t *t) {
  lf__split_t *g = t->split;
  lf__part_t *p = &g->parts[t->split_index];
  if (t->http_code == 200) return changed(t, "HTTP 200 to If-Range");
  if (t->http_code != 206) {
    lf__transfer_set_error(t, LF_EHTTP, "HTTP %ld to a range request", t->http_code);
    return -1;
  }
  uint64_t total = g->total;
  if (check_range(t, p->start + p->done, p->end, g->total, &total) < 0) {
    if (total != g->total) t->split_restart = 1; /* the size changed: so did the file */
    return -1;
  }
  if (!same(header(t, "ETag"), g->etag)) return changed(t, "another ETag");
  if (!same(header(t, "Last-Modified"), g->last_modified))
    return changed(t, "another Last-Modified");
  if (encoded(t)) return changed(t, "a range came encoded");
  return 0;
}

void lf__split_progress(lf__transfer_t *t, lf_progress_t *pr) {
  lf__split_t *g = t->split;
  g->received += pr->delta;
  pr->url = g->master->req->url;
  pr->data = g->master->req->data;
  pr->attempt = g->master->req->attempts;
  pr->received = g->received;
  pr->content_length = (int64_t)g->total;
}

int lf__split_keep(lf__transfer_t *t, int keep) {
  lf__split_t *g = t->split;
  if (g->failed || t->sink.err) return 0;
  return t->status == 0 ? keep : t->retry_ms >= 0; /* a retried range keeps what it got */
}

/* ---- pool side ---- */

/* -C: the state as the file now holds it: the ranges held before, and each range's bytes
 * written so far. Under g->lock. */
static void write_state(lf__split_t *g) {
  lf__partial_state_t *st = &g->state;
  size_t held = st->range_count;
  for (size_t i = 0; i < g->nparts; i++)
    if (g->parts[i].disk_end > g->parts[i].start &&
        lf__partial_add_range(st, g->parts[i].start, g->parts[i].disk_end) < 0)
      break; /* out of memory: what was added is true all the same */
  if (lf__partial_state_write(g->dirfd, g->state_temp, g->state_name, st) < 0 && !g->state_err)
    g->state_err = -errno;
  st->range_count = held;
  g->state_ns = lf__now_ns();
}

/* -C: the partial's data file, made anew unless it holds bytes to keep, and its first state
 * (before any byte of this run reaches the file). Under g->lock. -1 with errno. */
static int open_partial(lf__split_t *g, lf__transfer_t *t) {
  lf_fetcher_t *f = g->f;
  if (g->dirfd < 0) {
    const char *base;
    g->dirfd = lf__subdir_open(f->out_dirfd, t->req->file, &base);
    if (g->dirfd < 0) return -1;
  }
  if (g->fd < 0) {
    /* Whatever is at the name (left without a state, or planted: a symlink, a FIFO) goes;
     * O_EXCL | O_NOFOLLOW then opens only the file made here (as resume.c). */
    if (unlinkat(g->dirfd, g->data, 0) < 0 && errno != ENOENT) return -1;
    g->fd = openat(g->dirfd, g->data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (g->fd < 0) return -1;
  }
  write_state(g);
  return g->state_err ? (errno = -g->state_err, -1) : 0;
}

void lf__split_job(lf__sink_t *s) {
  lf__split_t *g = s->split;
  if (s->busy_len == 0) return;
  lf_fetcher_t *f = g->f;
  uv_mutex_lock(&g->lock);
  if (g->fd < 0 && !g->open_err) {
    if (g->resumable) {
      if (open_partial(g, g->master) < 0) g->open_err = errno ? -errno : UV_EIO;
    } else {
      g->fd = lf__sink_open_temp(f->out_dirfd, f->link_mode, g->temp_name);
      if (g->fd < 0) g->open_err = -errno;
    }
  }
  int fd = g->fd, err = g->open_err;
  uv_mutex_unlock(&g->lock);
  if (fd < 0) {
    s->job_err = err;
    s->job_err_op = "open";
    return;
  }
  size_t off = 0;
  while (off < s->busy_len) {
    ssize_t n = pwrite(fd, s->busy + off, s->busy_len - off, (off_t)(s->busy_off + off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s->job_err = -errno;
      s->job_err_op = "write";
      return;
    }
    off += (size_t)n;
  }
  if (g->resumable) { /* the bytes are in the file: the state may now say so */
    lf__part_t *p = &g->parts[s->transfer->split_index];
    uv_mutex_lock(&g->lock);
    p->disk_end = s->busy_off + s->busy_len;
    if (p->disk_end > p->end || lf__now_ns() - g->state_ns >= 1000000000u) write_state(g);
    uv_mutex_unlock(&g->lock);
  }
  s->busy_len = 0;
}

/* ---- loop side ---- */

/* The first lasting failure fails the file: the other ranges stop. */
static void fail_status(lf__split_t *g, int status, const char *error) {
  if (g->failed) return;
  g->failed = status;
  snprintf(g->error, sizeof(g->error), "%s", error);
  for (size_t i = 0; i < g->nparts; i++) {
    lf__part_t *p = &g->parts[i];
    p->waiting = 0;
    if (p->t && p->t->easy && !p->t->done_ns)
      lf__transfer_set_error(p->t, LF_EABORTED, "aborted: another range of the file failed");
  }
  lf__watchdog_soon(g->f); /* ends the aborted ones on the next turn */
}

static void fail(lf__split_t *g, lf__transfer_t *t) {
  if (g->failed) return;
  int status = t->status ? t->status : t->abort_status ? t->abort_status : LF_EIO;
  g->restart = t->split_restart;
  fail_status(g, status, t->error[0] ? t->error : lf_strerror(status));
}

static void arm(lf__split_t *g) {
  /* At max_running, the next range to end calls this again (a partial with many gaps to fill
   * has more ranges than that). */
  if (g->ending || g->failed || g->running >= g->max_running) return;
  uint64_t next = UINT64_MAX, now = lf__now_ns();
  for (size_t i = 0; i < g->nparts; i++)
    if (g->parts[i].waiting && g->parts[i].due_ns < next) next = g->parts[i].due_ns;
  if (next == UINT64_MAX) return;
  uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 0;
  (void)uv_timer_start(&g->timer, on_timer, ms, 0);
}

/* A validator of the page as the caller had it (--refresh): the first reply already answered
 * it, and with If-Range it would make the server's answer depend on two conditions. */
static int conditional(const char *h) {
  return strncasecmp(h, "If-None-Match:", 14) == 0 || strncasecmp(h, "If-Modified-Since:", 18) == 0;
}

/* A part's request: the first request's headers, If-Range, to the final URL. */
static lf__pending_t *part_request(lf__split_t *g, int attempts) {
  const lf__pending_t *m = g->master->req;
  size_t ulen = strlen(g->url) + 1, hlen = 0, count = 0;
  const char *h = m->headers;
  for (size_t i = 0; i < m->header_count; i++, h += strlen(h) + 1)
    if (!conditional(h)) hlen += strlen(h) + 1, count++;
  size_t ilen = strlen(g->if_range) + 1;
  lf__pending_t *p = calloc(1, sizeof(*p) + ulen + hlen + ilen);
  if (!p) return NULL;
  p->data = m->data;
  p->output = LF_OUTPUT_FILE;
  p->added_ns = lf__now_ns();
  p->attempts = attempts;
  p->cancelled = m->cancelled;
  p->timeout_ms = m->timeout_ms;
  memcpy(p->url, g->url, ulen);
  p->headers = p->url + ulen;
  char *at = p->url + ulen;
  h = m->headers;
  for (size_t i = 0; i < m->header_count; i++, h += strlen(h) + 1)
    if (!conditional(h)) at = (char *)memcpy(at, h, strlen(h) + 1) + strlen(h) + 1;
  memcpy(at, g->if_range, ilen);
  p->header_count = count + 1;
  return p;
}

static void start_part(lf__split_t *g, size_t i) {
  lf__part_t *p = &g->parts[i];
  lf_fetcher_t *f = g->f;
  p->waiting = 0;
  lf__pending_t *req = part_request(g, p->attempts);
  lf__transfer_t *t = req ? lf__fetcher_adopt(f) : NULL;
  if (!t) {
    free(req);
    fail_status(g, LF_ENOMEM, "out of memory starting a range");
    return;
  }
  t->split = g;
  t->split_index = (int)i;
  t->split_part = 1;
  uint64_t from = p->start + p->done;
  snprintf(t->range, sizeof(t->range), "%llu-%llu", (unsigned long long)from,
           (unsigned long long)p->end);
  t->range_len = p->end - from + 1;
  p->t = t;
  g->running++;
  int rc = lf__transfer_start(t, req);
  t->started = 1;
  p->attempts = req->attempts;
  t->sink.split = g; /* lf__transfer_start set the sink up: no byte came yet */
  t->sink.off = from;
  if (rc < 0) { /* never on the network: ends here */
    t->status = t->abort_status ? t->abort_status : rc;
    lf__split_written(t);
  }
}

static void end(lf__split_t *g);

static void on_timer(uv_timer_t *timer) {
  lf__split_t *g = timer->data;
  lf_fetcher_t *f = g->f;
  lf__fetcher_enter(f);
  if (g->ending) {
    end(g);
  } else {
    uint64_t now = lf__now_ns();
    for (size_t i = 0; i < g->nparts && !g->failed && g->running < g->max_running; i++)
      if (g->parts[i].waiting && g->parts[i].due_ns <= now) start_part(g, i);
    arm(g);
  }
  lf__fetcher_leave(f);
}

/* Whether every part is written, or failed and nothing of it still runs: then the end is
 * due, on the timer's next turn, never inside a caller's loop over the active transfers. */
static void check_over(lf__split_t *g) {
  if (g->ending || g->running || !g->master_idle) return;
  if (!g->failed && g->complete < g->nparts) {
    if (g->f->closing)
      fail_status(g, LF_EABORTED, "aborted");
    else
      return; /* a retry waits on the timer */
  }
  g->ending = 1;
  (void)uv_timer_start(&g->timer, on_timer, 0, 0);
}

/* The file is done or failed: it becomes the first transfer's again, which names it (sink.c,
 * from the temporary or unnamed file) or drops it, and is reported. */
static void end(lf__split_t *g) {
  lf__transfer_t *m = g->master;
  lf_fetcher_t *f = g->f;
  m->split = NULL;
  m->sink.split = NULL;
  m->sink.fd = g->fd;
  memcpy(m->sink.temp_name, g->temp_name, sizeof(m->sink.temp_name));
  g->fd = -1;
  int keep = !g->failed;
  if (g->resumable && g->restart) { /* the file changed: its partial is of no use */
    if (g->dirfd >= 0) lf__partial_remove(g->dirfd, g->data, g->state_name);
  } else if (g->resumable) {
    /* resume.c's end of a partial (sink.c calls it): checked against the length, named, its
     * state removed; or, failed, left for the next attempt or run. */
    lf__partial_t *p = &m->part;
    if (p->dirfd >= 0 && p->dirfd != f->out_dirfd) close(p->dirfd);
    p->dirfd = g->dirfd;
    g->dirfd = -1;
    memcpy(p->data, g->data, sizeof(p->data));
    memcpy(p->state_name, g->state_name, sizeof(p->state_name));
    p->state.length = (int64_t)g->total;
    p->on = 1;
    p->fresh = 0;
    p->from = g->reused; /* lf_result_t.resumed_from: what the partial held before */
  }
  if (keep) {
    m->bytes = g->total - g->reused;
    m->status = 0;
  } else {
    m->status = g->failed;
    m->abort_status = g->failed;
    snprintf(m->error, sizeof(m->error), "%s", g->error);
    m->retry_ms = -1;
    if (g->restart && !m->req->cancelled && f->closing == 0 && m->req->attempts <= f->opts.retries)
      m->retry_ms = f->opts.retry_base_ms;
  }
  (void)uv_timer_stop(&g->timer);
  uv_close((uv_handle_t *)&g->timer, on_closed); /* frees g */
  lf__sink_finish(&m->sink, keep);               /* may report m right here */
}

int lf__split_written(lf__transfer_t *t) {
  lf__split_t *g = t->split;
  lf__part_t *p = &g->parts[t->split_index];
  if (p->t == t) {
    p->t = NULL;
    g->running--;
  }
  int ok = !t->sink.err && !g->failed && (t->status == 0 || t->retry_ms >= 0);
  if (ok) p->done += t->bytes; /* all written: the sink kept them (lf__split_keep) */
  if (!ok) {
    fail(g, t);
  } else if (p->start + p->done > p->end) {
    g->complete++;
  } else if (t->status == 0) {
    fail_status(g, LF_ECURL, "a range ended early");
  } else {
    p->waiting = 1; /* only this range, from where it stopped */
    p->due_ns = lf__now_ns() + (uint64_t)t->retry_ms * 1000000;
  }
  arm(g); /* waiting ranges may start now, in this one's place */
  if (t == g->master) {
    g->master_idle = 1;
    t->retry_ms = -1; /* its retries are its range's, above; the page's are end()'s */
  } else {
    lf__fetcher_drop(t);
  }
  check_over(g);
  return 1;
}

void lf__split_close(lf__transfer_t *t) {
  lf__split_t *g = t->split;
  for (size_t i = 0; i < g->nparts; i++)
    g->parts[i].waiting = 0;
  if (!g->failed) fail_status(g, LF_EABORTED, "aborted");
  check_over(g);
}
