/* --procs: the parent side. Deals pages to workers as they are free, reads their records
 * (and the links a worker found on a page), and makes sure no page is lost when a worker dies:
 * what it had not reported goes back to the job. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "hmap.h"
#include "hmap.h"
#include "procs.h"

#define READ_CHUNK 65536
/* A worker holds at most 1/WINDOW_SHARE of the pages left per worker (and at least
 * WINDOW_MIN, at most its concurrency): see window(). */
#define WINDOW_SHARE 4
#define WINDOW_MIN 8
/* A worker told to stop (SIGTERM) that has not ended this long after is killed, so that a stop
 * always ends (a worker stopped by SIGSTOP, or one that missed the signal while it started):
 * its pages are then recorded interrupted by the parent. */
#define STOP_GRACE_MS 5000

typedef struct {
  char *url, *name, *extra; /* one allocation: url, name, then the rest of its line; freed
                             * once done (drop_strings), so a long job keeps ~40 bytes a page */
  uintptr_t data;           /* the job's, given back with its record */
  int worker;               /* dealt to; -1: not yet */
  unsigned char done;       /* its record came (or it went back to the job) */
  unsigned char next_done;  /* the job wants no more X lines for it */
  unsigned char paced;      /* a paced host's: dealt to its worker at once, outside the window */
} entry_t;

typedef struct {
  lf__procs_t *owner;
  unsigned id;
  uv_process_t proc;
  uv_pipe_t in, out;
  uv_shutdown_t shutdown_req;
  size_t outstanding; /* dealt, not reported */
  char *line;         /* a partial line read from the worker */
  size_t line_len, line_cap;
  char chunk[READ_CHUNK];
  int spawned, exited, eof, finalized, in_closed, broken;
  int pid;
  int64_t exit_status;
  int term_signal;
} worker_t;

/* One write to a worker's stdin: its lines, freed once written. */
typedef struct {
  uv_write_t req;
  size_t len, cap;
  char buf[];
} feed_t;

struct lf__procs_s {
  uv_loop_t *loop;
  lf__procs_cbs_t cbs;
  unsigned n, live;
  unsigned concurrency; /* each worker's transfers in flight */
  worker_t *workers;
  entry_t *entries; /* every page given, in order; entries[next_deal..] wait for a worker */
  size_t count, cap, next_deal;
  size_t outstanding, unpaced; /* dealt and not reported: all, and those the window counts */
  lf__hmap_t paced;            /* hash of a paced host -> 1: its worker was told its pace */
  int input_ended;
  char **argv;
  size_t argc;
  size_t warc_arg; /* argv's --warc-file, set per worker (spawn_worker); 0: none */
  size_t jar_arg;  /* argv's --cookie-jar, set per worker (spawn_worker); 0: none */
  const char *jar; /* the job's --cookie-jar */
  const char *warc_name;
  const char *out_dir;
  int stopping;
  uv_timer_t *stop_timer; /* STOP_GRACE_MS after the stop, while workers live */
};

static void deal(lf__procs_t *p);
static void close_input(worker_t *w);
static void send_feed(worker_t *w, feed_t *f);

/* ---- the workers' command line: this program, --worker, and the transfer options ---- */

static int push_arg(lf__procs_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int push_arg(lf__procs_t *p, const char *fmt, ...) {
  char **a = realloc(p->argv, (p->argc + 2) * sizeof(*a));
  if (!a) return -1;
  p->argv = a;
  va_list ap;
  va_start(ap, fmt);
  int rc = vasprintf(&p->argv[p->argc], fmt, ap);
  va_end(ap);
  if (rc < 0) return -1;
  p->argv[++p->argc] = NULL;
  return 0;
}

/* --warc-file: each worker writes files of its own, NAME-pK (K from 1), rather than hand its
 * records to one writer: the records are the bulk of the bytes (bodies as received), so piping
 * them to the parent would copy every body once more and serialise their compression in one
 * process, the opposite of why -p exists; files of their own need no coordination (each is
 * created O_EXCL), and a worker that dies leaves its own file with whole records before a torn
 * end, while the parent fetches (and archives, in NAME's files) what it had not reported. */
static int warc_args(lf__procs_t *p, const lf_cli_t *cfg) {
  const lf_warc_options_t *w = cfg->fetch.warc;
  if (!w) return 0;
  int rc = 0;
  if (w->flags & LF_WARC_NO_COMPRESSION) rc |= push_arg(p, "--no-warc-compression");
  if (w->flags & LF_WARC_NO_DEDUP) rc |= push_arg(p, "--no-warc-dedup");
  if (w->flags & LF_WARC_CDX) rc |= push_arg(p, "--warc-cdx");
  if (w->max_size) rc |= push_arg(p, "--warc-max-size=%llu", (unsigned long long)w->max_size);
  p->warc_name = w->name;
  p->warc_arg = p->argc;
  rc |= push_arg(p, "--warc-file=%s-p0", w->name); /* spawn_worker puts the number in */
  return rc;
}

/* Proxies and credentials as the parent resolved them. --user gets only the name: its password
 * travels in the environment (cli's secrets.c put it there), not on a command line that every
 * user of the machine may read. */
static int push_http_args(lf__procs_t *p, const lf_cli_t *cfg) {
  const lf_http_options_t *h = &cfg->http;
  int rc = 0;
  if (h->proxy) rc |= push_arg(p, "--proxy=%s", h->proxy);
  if (h->noproxy) rc |= push_arg(p, "--noproxy=%s", h->noproxy);
  if (h->proxy_userpwd) rc |= push_arg(p, "--proxy-user=%s", h->proxy_userpwd);
  if (cfg->user) rc |= push_arg(p, "--user=%.*s", (int)strcspn(cfg->user, ":"), cfg->user);
  if (h->netrc_file) rc |= push_arg(p, "--netrc-file=%s", h->netrc_file);
  if (h->flags & LF_HTTP_LOCATION_TRUSTED) rc |= push_arg(p, "--location-trusted");
  if (h->flags & LF_HTTP_ALLOW_INSECURE_REDIRECT) rc |= push_arg(p, "--allow-insecure-redirect");
  /* Every worker starts from the same cookie file and writes a jar of its own, which the
   * parent merges into the job's (lf__procs_merge_cookies). */
  if (h->cookie_file) rc |= push_arg(p, "--cookie=%s", h->cookie_file);
  if (h->limit_rate) /* the rate is the whole job's: each worker gets its share */
    rc |= push_arg(p, "--limit-rate=%llu",
                   (unsigned long long)(h->limit_rate / p->n ? h->limit_rate / p->n : 1));
  if (h->cookie_jar) {
    p->jar = h->cookie_jar;
    p->jar_arg = p->argc;
    rc |= push_arg(p, "--cookie-jar=%s.lf-w0", h->cookie_jar); /* spawn_worker numbers it */
  }
  return rc;
}

/* A worker's jar: JAR.lf-wK, K from 1. Caller frees; NULL: out of memory. */
static char *worker_jar(const lf__procs_t *p, unsigned id) {
  char *name = NULL;
  return asprintf(&name, "%s.lf-w%u", p->jar, id + 1) < 0 ? NULL : name;
}

int lf__procs_merge_cookies(lf__procs_t *p) {
  if (!p->jar) return 0;
  /* libcurl's own cookie engine reads every file (the parent's jar first, then the workers' in
   * order: a cookie set again later wins, as libcurl replaces one of the same name, domain and
   * path) and writes the jar, atomically. A worker that died left no jar: skipped. */
  CURL *e = curl_easy_init();
  if (!e) return LF_ENOMEM;
  int rc = curl_easy_setopt(e, CURLOPT_COOKIEFILE, p->jar) == CURLE_OK ? 0 : LF_ECURL;
  char **names = calloc(p->n, sizeof(*names));
  if (!names) rc = LF_ENOMEM;
  for (unsigned i = 0; rc == 0 && i < p->n; i++) {
    if (!(names[i] = worker_jar(p, i)))
      rc = LF_ENOMEM;
    else if (access(names[i], F_OK) == 0 &&
             curl_easy_setopt(e, CURLOPT_COOKIEFILE, names[i]) != CURLE_OK)
      rc = LF_ECURL;
  }
  if (rc == 0 && (curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD") != CURLE_OK ||
                  curl_easy_setopt(e, CURLOPT_COOKIEJAR, p->jar) != CURLE_OK ||
                  curl_easy_setopt(e, CURLOPT_COOKIELIST, "FLUSH") != CURLE_OK))
    rc = LF_ECURL;
  (void)curl_easy_setopt(e, CURLOPT_COOKIEJAR, NULL); /* or the cleanup writes it again */
  curl_easy_cleanup(e);
  for (unsigned i = 0; names && i < p->n; i++) {
    if (rc == 0 && names[i]) unlink(names[i]);
    free(names[i]);
  }
  free(names);
  return rc;
}

static int build_argv(lf__procs_t *p, const lf_cli_t *cfg, unsigned concurrency) {
  char exe[4096];
  size_t len = sizeof(exe);
  const lf_options_t *o = &cfg->fetch;
  int rc = uv_exepath(exe, &len);
  if (rc < 0) return rc;
  rc |= push_arg(p, "%s", exe);
  rc |= push_arg(p, "--worker");
  rc |= push_arg(p, "-q");
  rc |= push_arg(p, "--output-dir=%s", cfg->out_dir);
  rc |= push_arg(p, "--concurrency=%u", concurrency);
  if (cfg->resume) rc |= push_arg(p, "--continue");
  /* Zero is the library's default for every option (the worker's too), LF_NONE is "none",
   * which the command line writes 0: only options given are passed on. */
  if (o->retries) rc |= push_arg(p, "--retries=%d", o->retries < 0 ? 0 : o->retries);
  if (o->max_redirs) rc |= push_arg(p, "--max-redirs=%ld", o->max_redirs < 0 ? 0 : o->max_redirs);
  if (o->retry_max_wait_ms)
    rc |= push_arg(p, "--retry-max-wait=%.3f", o->retry_max_wait_ms / 1000.0);
  if (o->connect_timeout_ms)
    rc |= push_arg(p, "--connect-timeout=%.3f", o->connect_timeout_ms / 1000.0);
  if (o->stall_timeout_ms)
    rc |= push_arg(p, "--stall-timeout=%.3f",
                   o->stall_timeout_ms < 0 ? 0.0 : o->stall_timeout_ms / 1000.0);
  if (o->max_size) rc |= push_arg(p, "--max-size=%llu", (unsigned long long)o->max_size);
  if (o->timeout_ms > 0) rc |= push_arg(p, "--timeout=%.3f", o->timeout_ms / 1000.0);
  if (o->per_host) rc |= push_arg(p, "--per-host=%u", o->per_host);
  if (o->split > 1) rc |= push_arg(p, "--split=%ld", o->split);
  if (o->rate > 0) /* the limit is for the whole job: each worker gets its share */
    rc |= push_arg(p, "--rate=%.6f", o->rate / p->n);
  /* per host, not shared: a paced host's pages all go to one worker (lf__procs_add) */
  if (cfg->wait > 0) rc |= push_arg(p, "--wait=%.6f", cfg->wait);
  if (cfg->random_wait) rc |= push_arg(p, "--random-wait");
  if (o->user_agent) rc |= push_arg(p, "--user-agent=%s", o->user_agent);
  if (o->cacert) rc |= push_arg(p, "--cacert=%s", o->cacert);
  for (size_t i = 0; i < cfg->header_count; i++)
    rc |= push_arg(p, "--header=%s", cfg->headers[i]);
  rc |= warc_args(p, cfg);
  if (o->max_memory_body != LF_CLI_MAX_LIST_SIZE)
    rc |= push_arg(p, "--max-list-size=%zu", o->max_memory_body);
  /* A crawl's levels: workers parse the navigation pages they fetch for the next level's
   * links (and --next's), and the last level's pages for --next */
  for (size_t i = 0; i < cfg->level_count; i++) {
    if (i > 0) rc |= push_arg(p, "--follow=%s", cfg->levels[i].follow);
    if (cfg->levels[i].next) rc |= push_arg(p, "--next=%s", cfg->levels[i].next);
  }
  if (cfg->field_count) { /* -e: workers parse and extract the pages they fetch */
    for (size_t i = 0; i < cfg->field_count; i++)
      rc |= push_arg(p, "--extract=%s", cfg->fields[i]);
    if (cfg->each) rc |= push_arg(p, "--each=%s", cfg->each);
    if (cfg->records) rc |= push_arg(p, "--records=%s", cfg->records);
    if (cfg->csv) rc |= push_arg(p, "--csv=%s", cfg->csv);
    if (cfg->save) rc |= push_arg(p, "--save");
    rc |= push_arg(p, "--record-depth=%zu", cfg->level_count - 1);
  }
  rc |= push_http_args(p, cfg);
  return rc ? LF_ENOMEM : 0;
}

/* ---- reading records ---- */

static void finalize(worker_t *w);

static void handle_usage(worker_t *w, char *json) {
  const char *rss = strstr(json, "\"maxrss_kb\":"), *cpu = strstr(json, "\"cpu_s\":");
  if (rss && cpu && w->owner->cbs.on_usage)
    w->owner->cbs.on_usage(w->owner->cbs.arg, strtol(rss + 12, NULL, 10), strtod(cpu + 8, NULL));
}

/* A done entry's line is never sent or reported again: its strings go, so the parent's memory
 * per page dealt is the entry alone, not its URL and name (a crawl of a million pages). */
static void drop_strings(entry_t *e) {
  free(e->url);
  e->url = e->name = e->extra = NULL;
}

/* The entry a line of w names, if w has it out; NULL: not ours, ignored rather than trusted. */
static entry_t *entry_of(worker_t *w, const char *index) {
  char *end;
  unsigned long long i = strtoull(index, &end, 10);
  if (end == index || *end != '\t' || i >= w->owner->count) return NULL;
  entry_t *e = &w->owner->entries[i];
  return e->worker == (int)w->id && !e->done ? e : NULL;
}

/* "L\tINDEX\tURL" (a link the next level's selector found on the page), "X\tINDEX\tURL" (a
 * --next candidate), "M\tINDEX\tMATCHED\tTOO_LONG": before the page's record. */
static void handle_found(worker_t *w, char *line) {
  entry_t *e = entry_of(w, line + 2);
  lf__procs_t *p = w->owner;
  if (!e || !p->cbs.on_found || p->stopping) return;
  char *value = strchr(line + 2, '\t') + 1;
  if (line[0] == 'X' && e->next_done) return;
  size_t i = (size_t)(e - p->entries); /* the callback may add pages: entries may move */
  if (p->cbs.on_found(p->cbs.arg, e->data, e->url, line[0], value) && line[0] == 'X')
    p->entries[i].next_done = 1;
}

/* "R\tINDEX\tN": the records the worker wrote for a page it has out, before its record. */
static void handle_records(worker_t *w, const char *line) {
  entry_t *e = entry_of(w, line);
  if (!e || !w->owner->cbs.on_records) return;
  const char *value = strchr(line, '\t') + 1;
  char *end;
  unsigned long long n = strtoull(value, &end, 10);
  if (end != value && *end == '\0') w->owner->cbs.on_records(w->owner->cbs.arg, (uint64_t)n);
}

static void handle_line(worker_t *w, char *line) {
  if (strncmp(line, "S\t", 2) == 0) {
    handle_usage(w, line + 2);
    return;
  }
  if (strncmp(line, "B\t", 2) == 0) {
    char *end;
    unsigned long long n = strtoull(line + 2, &end, 10);
    if (end != line + 2 && *end == '\0' && w->owner->cbs.on_bytes)
      w->owner->cbs.on_bytes(w->owner->cbs.arg, (uint64_t)n);
    return;
  }
  if (line[0] == 'R' && line[1] == '\t') {
    handle_records(w, line + 2);
    return;
  }
  if ((line[0] == 'L' || line[0] == 'X' || line[0] == 'M') && line[1] == '\t') {
    handle_found(w, line);
    return;
  }
  entry_t *e = entry_of(w, line);
  lf__record_t rec;
  if (!e || lf__record_parse_json(strchr(line, '\t') + 1, &rec) < 0) return;
  /* Interrupted although the parent did not ask (someone sent the worker a SIGTERM): left
   * unreported, so the page is fetched again like a killed worker's. */
  if (rec.status == LF_REC_INTERRUPTED && !w->owner->stopping) return;
  e->done = 1;
  if (!e->paced) {
    w->outstanding--;
    w->owner->unpaced--;
  }
  w->owner->outstanding--;
  uintptr_t data = e->data;
  drop_strings(e); /* before the callback, which may add pages (entries may move) */
  w->owner->cbs.on_record(w->owner->cbs.arg, &rec, data);
  deal(w->owner); /* a slot is free: whichever worker has room gets the next page */
}

static int append_line(worker_t *w, const char *data, size_t len) {
  if (w->line_len + len + 1 > w->line_cap) {
    size_t cap = w->line_cap ? w->line_cap : 4096;
    while (cap < w->line_len + len + 1)
      cap *= 2;
    char *l = realloc(w->line, cap);
    if (!l) return -1;
    w->line = l;
    w->line_cap = cap;
  }
  memcpy(w->line + w->line_len, data, len);
  w->line_len += len;
  w->line[w->line_len] = '\0';
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  worker_t *w = h->data;
  (void)suggested;
  *buf = uv_buf_init(w->chunk, sizeof(w->chunk));
}

static void on_closed(uv_handle_t *h) {
  (void)h;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  worker_t *w = s->data;
  if (nread < 0) { /* EOF or a broken pipe: either way nothing more comes */
    w->eof = 1;
    uv_close((uv_handle_t *)&w->out, on_closed);
    finalize(w);
    return;
  }
  const char *p = buf->base, *end = buf->base + nread;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (append_line(w, p, n) < 0)
      w->line_len = 0; /* out of memory: this record is lost, its page becomes an orphan */
    if (nl) {
      handle_line(w, w->line);
      w->line_len = 0;
    }
    p += n + (nl ? 1 : 0);
  }
}

/* ---- endings ---- */

static void on_exit_cb(uv_process_t *proc, int64_t status, int term_signal) {
  worker_t *w = proc->data;
  w->exited = 1;
  w->exit_status = status;
  w->term_signal = term_signal;
  uv_close((uv_handle_t *)proc, on_closed);
  finalize(w);
}

/* A worker killed mid-transfer cannot remove its temporaries; they carry its pid. */
static void remove_temporaries(lf__procs_t *p, int pid) {
  char prefix[32];
  int n = snprintf(prefix, sizeof(prefix), ".lf-%d-", pid);
  DIR *d = opendir(p->out_dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, prefix, (size_t)n) == 0 && unlinkat(dirfd(d), e->d_name, 0) < 0)
      fprintf(stderr, "loopfetch: cannot remove %s/%s: %s\n", p->out_dir, e->d_name,
              strerror(errno));
  closedir(d);
}

/* Entries [from, to) that are not done go back to the job (for worker w, or for none). */
static void orphan(lf__procs_t *p, int worker, const char *why) {
  for (size_t i = 0; i < p->count; i++) {
    entry_t *e = &p->entries[i];
    if (e->done || e->worker != worker) continue;
    e->done = 1;
    if (worker >= 0) p->outstanding--;
    if (worker >= 0 && !e->paced) p->unpaced--;
    char *all = e->url; /* the callback may add pages: entries may move */
    e->url = e->name = e->extra = NULL;
    p->cbs.on_orphan(p->cbs.arg, all, all + strlen(all) + 1, why, p->entries[i].data);
    free(all);
  }
}

/* Both the exit and the end of its output are needed: records may still be in the pipe. */
static void free_handle(uv_handle_t *h) {
  free(h);
}

static void end_stop_timer(lf__procs_t *p) {
  if (!p->stop_timer) return;
  uv_close((uv_handle_t *)p->stop_timer, free_handle);
  p->stop_timer = NULL;
}

static void on_stop_grace(uv_timer_t *t) {
  lf__procs_t *p = t->data;
  end_stop_timer(p);
  if (!p->live) return;
  fprintf(stderr, "loopfetch: a worker did not stop within %d s of being told to: killed\n",
          STOP_GRACE_MS / 1000);
  lf__procs_stop(p, 1);
}

/* After a stop (SIGTERM to the workers): the timer that kills those still alive. */
static void start_stop_timer(lf__procs_t *p) {
  if (p->stop_timer || !p->live || !(p->stop_timer = malloc(sizeof(*p->stop_timer)))) return;
  if (uv_timer_init(p->loop, p->stop_timer) < 0) {
    free(p->stop_timer); /* no grace kill: a second signal still kills them (job_driver.c) */
    p->stop_timer = NULL;
    return;
  }
  p->stop_timer->data = p;
  if (uv_timer_start(p->stop_timer, on_stop_grace, STOP_GRACE_MS, 0) < 0) end_stop_timer(p);
}

static void finalize(worker_t *w) {
  lf__procs_t *p = w->owner;
  if (!w->exited || !w->eof || w->finalized) return;
  w->finalized = 1;
  if (w->term_signal || w->exit_status) remove_temporaries(p, w->pid);
  char why[128];
  if (w->term_signal)
    snprintf(why, sizeof(why), "worker %u was killed by signal %d", w->id + 1, w->term_signal);
  else
    snprintf(why, sizeof(why), "worker %u exited with status %lld", w->id + 1,
             (long long)w->exit_status);
  if (w->outstanding && !p->stopping)
    fprintf(stderr, "loopfetch: %s with %zu pages unreported; fetching them in the parent\n", why,
            w->outstanding);
  w->outstanding = 0;
  close_input(w); /* nobody reads it any more */
  orphan(p, (int)w->id, why);
  if (--p->live == 0) {
    end_stop_timer(p);
    orphan(p, -1, why); /* nobody is left to deal them to */
    p->next_deal = p->count;
    p->cbs.on_done(p->cbs.arg);
  } else {
    deal(p);
  }
}

/* ---- starting and feeding ---- */

static int spawn_worker(lf__procs_t *p, worker_t *w) {
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&w->in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&w->out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t opts = {
      .exit_cb = on_exit_cb, .file = p->argv[0], .args = p->argv, .stdio_count = 3, .stdio = stdio};
  if (p->warc_arg) {
    char *arg = NULL;
    if (asprintf(&arg, "--warc-file=%s-p%u", p->warc_name, w->id + 1) < 0) return LF_ENOMEM;
    free(p->argv[p->warc_arg]);
    p->argv[p->warc_arg] = arg;
  }
  if (p->jar_arg) {
    char *jar = worker_jar(p, w->id), *arg = NULL;
    int bad = !jar || asprintf(&arg, "--cookie-jar=%s", jar) < 0;
    free(jar);
    if (bad) return LF_ENOMEM;
    free(p->argv[p->jar_arg]);
    p->argv[p->jar_arg] = arg;
  }
  int rc = uv_pipe_init(p->loop, &w->in, 0);
  if (rc < 0) return rc;
  if ((rc = uv_pipe_init(p->loop, &w->out, 0)) < 0) {
    uv_close((uv_handle_t *)&w->in, on_closed);
    return rc;
  }
  w->in.data = w->out.data = w->proc.data = w;
  if ((rc = uv_spawn(p->loop, &w->proc, &opts)) == 0)
    rc = uv_read_start((uv_stream_t *)&w->out, on_alloc, on_read);
  if (rc < 0) {
    uv_close((uv_handle_t *)&w->in, on_closed);
    uv_close((uv_handle_t *)&w->out, on_closed);
    return rc;
  }
  w->spawned = 1;
  w->pid = w->proc.pid;
  return 0;
}

int lf__procs_start(uv_loop_t *loop, const lf_cli_t *cfg, unsigned n, unsigned concurrency,
                    uint64_t epoch_ns, const lf__procs_cbs_t *cbs, lf__procs_t **out) {
  lf__procs_t *p = calloc(1, sizeof(*p));
  if (!p) return LF_ENOMEM;
  p->loop = loop;
  p->out_dir = cfg->out_dir;
  p->cbs = *cbs;
  p->n = n;
  p->concurrency = concurrency ? concurrency : 1;
  p->workers = calloc(n, sizeof(*p->workers));
  int rc = p->workers ? build_argv(p, cfg, concurrency) : LF_ENOMEM;
  if (rc == 0 && push_arg(p, "--epoch=%llu", (unsigned long long)epoch_ns) < 0) rc = LF_ENOMEM;
  for (unsigned i = 0; rc == 0 && i < n; i++) {
    p->workers[i].owner = p;
    p->workers[i].id = i;
    rc = spawn_worker(p, &p->workers[i]);
    if (rc == 0) p->live++;
  }
  if (rc < 0) {
    lf__procs_stop(p, 1);
    lf__procs_end_input(p); /* the ones started end with EOF on stdin; their pages are none yet */
    *out = p;               /* freed by the job after the loop has closed the handles */
    return rc;
  }
  *out = p;
  return 0;
}

/* ---- dealing: pages go to whichever worker has room, as records come back ---- */

static void on_shutdown(uv_shutdown_t *req, int status) {
  worker_t *w = req->data;
  (void)status; /* a worker that died early: its pipe is broken, finalize() handles it */
  uv_close((uv_handle_t *)&w->in, on_closed);
}

static void close_input(worker_t *w) {
  if (!w->spawned || w->in_closed) return;
  w->in_closed = 1;
  w->shutdown_req.data = w;
  if (uv_shutdown(&w->shutdown_req, (uv_stream_t *)&w->in, on_shutdown) < 0)
    uv_close((uv_handle_t *)&w->in, on_closed);
}

static void on_written(uv_write_t *req, int status) {
  (void)status; /* a worker that died: what it had goes back to the job in finalize() */
  free(req->data);
}

static int usable(const worker_t *w) {
  return w->spawned && !w->exited && !w->eof && !w->in_closed && !w->broken;
}

/* Pages a worker may hold unreported: its concurrency while many are left, fewer towards the
 * end. The pages left (dealt or not) are shared so that no worker holds more than a quarter of
 * its share: pages dealt at once by a hash (or all up front) left one worker parsing its last
 * pages while the other had none (bench_crawl.py: 123 and 110 of 233). */
static size_t window(const lf__procs_t *p) {
  size_t left = p->count - p->next_deal + p->unpaced;
  size_t per = p->n * WINDOW_SHARE, w = (left + per - 1) / per;
  size_t min = WINDOW_MIN < p->concurrency ? WINDOW_MIN : p->concurrency;
  return w < min ? min : w > p->concurrency ? p->concurrency : w;
}

/* Appends to *fp (made or grown), at most need bytes. -1: out of memory. */
static int feed_room(feed_t **fp, size_t need) {
  feed_t *f = *fp;
  if (!f || f->len + need > f->cap) {
    size_t cap = f ? f->cap * 2 : 4096;
    while (cap < (f ? f->len : 0) + need)
      cap *= 2;
    feed_t *g = realloc(f, sizeof(*g) + cap);
    if (!g) return -1;
    if (!f) g->len = 0;
    g->cap = cap;
    *fp = g;
  }
  return 0;
}

static int feed_line(feed_t **fp, size_t index, const entry_t *e) {
  if (feed_room(fp, 24 + strlen(e->url) + strlen(e->name) + strlen(e->extra) + 3) < 0) return -1;
  feed_t *f = *fp;
  f->len += (size_t)sprintf(f->buf + f->len, "%zu\t%s\t%s%s\n", index, e->url, e->name, e->extra);
  return 0;
}

/* A paced host's page goes to its host's worker at once, after the host's pace the first
 * time (procs.h). 0, LF_ENOMEM, or 1: that worker is gone (the page goes back to the job). */
static int deal_paced(lf__procs_t *p, size_t index, const lf__procs_pace_t *pace) {
  uint64_t key = lf__hash64(pace->host, strlen(pace->host));
  worker_t *w = &p->workers[key % p->n];
  if (!usable(w)) return 1;
  int added;
  if (!lf__hmap_put(&p->paced, key, 1, &added)) return LF_ENOMEM;
  feed_t *f = NULL;
  if (added) {
    if (feed_room(&f, 320 + strlen(pace->host)) < 0) return LF_ENOMEM;
    f->len = (size_t)sprintf(f->buf, "P\t%s\t%.6f\t%.6f\n", pace->host, pace->interval, pace->hold);
  }
  entry_t *e = &p->entries[index];
  if (feed_line(&f, index, e) < 0) {
    free(f);
    return LF_ENOMEM;
  }
  e->worker = (int)w->id;
  e->paced = 1;
  p->outstanding++;
  send_feed(w, f);
  return 0;
}

/* Writes f's lines to w (f freed once written). */
static void send_feed(worker_t *w, feed_t *f) {
  uv_buf_t buf = uv_buf_init(f->buf, (unsigned)f->len);
  f->req.data = f;
  if (uv_write(&f->req, (uv_stream_t *)&w->in, &buf, 1, on_written) < 0) {
    free(f); /* its pages go back to the job once the worker is gone */
    w->broken = 1;
    uv_process_kill(&w->proc, SIGKILL);
  }
}

/* The worker with the fewest pages out and room for one more, or NULL. */
static worker_t *freest(lf__procs_t *p, size_t room) {
  worker_t *best = NULL;
  for (unsigned i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    if (usable(w) && w->outstanding < room && (!best || w->outstanding < best->outstanding))
      best = w;
  }
  return best;
}

static void deal(lf__procs_t *p) {
  if (p->stopping) return;
  feed_t **feeds = calloc(p->n, sizeof(*feeds));
  if (!feeds) return; /* tried again at the next record */
  worker_t *w;
  for (;;) {
    while (p->next_deal < p->count && p->entries[p->next_deal].worker >= 0)
      p->next_deal++; /* a paced host's, dealt already */
    if (p->next_deal == p->count || !(w = freest(p, window(p)))) break;
    entry_t *e = &p->entries[p->next_deal];
    if (feed_line(&feeds[w->id], p->next_deal, e) < 0) break;
    e->worker = (int)w->id;
    w->outstanding++;
    p->unpaced++;
    p->outstanding++;
    p->next_deal++;
  }
  for (unsigned i = 0; i < p->n; i++)
    if (feeds[i]) send_feed(&p->workers[i], feeds[i]);
  free(feeds);
  if (p->input_ended && p->next_deal == p->count)
    for (unsigned i = 0; i < p->n; i++)
      close_input(&p->workers[i]);
}

int lf__procs_add(lf__procs_t *p, const char *url, const char *name, const char *extra,
                  const lf__procs_pace_t *pace, uintptr_t data) {
  if (p->count == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    entry_t *e = realloc(p->entries, cap * sizeof(*e));
    if (!e) return LF_ENOMEM;
    p->entries = e;
    p->cap = cap;
  }
  size_t ul = strlen(url), nl = strlen(name), el = strlen(extra);
  char *all = malloc(ul + nl + el + 3);
  if (!all) return LF_ENOMEM;
  memcpy(all, url, ul + 1);
  memcpy(all + ul + 1, name, nl + 1);
  memcpy(all + ul + nl + 2, extra, el + 1);
  p->entries[p->count++] = (entry_t){all, all + ul + 1, all + ul + nl + 2, data, -1, 0, 0, 0};
  int rc = pace ? deal_paced(p, p->count - 1, pace) : 0;
  if (rc < 0) {
    free(all);
    p->count--;
    return rc;
  }
  if (rc == 1) { /* its host's worker died: the job fetches it */
    p->entries[p->count - 1].done = 1;
    drop_strings(&p->entries[p->count - 1]);
    p->cbs.on_orphan(p->cbs.arg, url, name, "its host's worker has ended", data);
  }
  deal(p);
  return 0;
}

int lf__procs_end_input(lf__procs_t *p) {
  p->input_ended = 1;
  if (p->stopping || p->next_deal == p->count)
    for (unsigned i = 0; i < p->n; i++)
      close_input(&p->workers[i]);
  return 0;
}

size_t lf__procs_pending(const lf__procs_t *p) {
  return p->outstanding + (p->count - p->next_deal);
}

void lf__procs_stop(lf__procs_t *p, int hard) {
  p->stopping = 1;
  for (unsigned i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    if (w->spawned && !w->exited)
      uv_process_kill(&w->proc, hard ? SIGKILL : SIGTERM); /* ESRCH: it just ended */
  }
  if (!hard) start_stop_timer(p);
}

void lf__procs_free(lf__procs_t *p) {
  for (unsigned i = 0; p->workers && i < p->n; i++)
    free(p->workers[i].line);
  for (size_t i = 0; i < p->count; i++)
    free(p->entries[i].url);
  free(p->entries);
  for (size_t i = 0; i < p->argc; i++)
    free(p->argv[i]);
  free(p->argv);
  free(p->workers);
  lf__hmap_free(&p->paced);
  free(p);
}
