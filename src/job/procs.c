/* --procs: the parent side. Deals pages to workers by shard, reads their records, and makes
 * sure no page is lost when a worker dies: what it had not reported goes back to the job. */
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
#include "procs.h"
#include "shard.h"

#define READ_CHUNK 65536

typedef struct {
  char *url, *name; /* one allocation: url then name */
  int done;
} entry_t;

typedef struct {
  lf__procs_t *owner;
  unsigned id;
  uv_process_t proc;
  uv_pipe_t in, out;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  entry_t *entries;
  size_t count, cap;
  char *feed; /* "INDEX\tURL\tNAME\n" lines, written at once */
  size_t feed_len, feed_cap;
  char *line; /* a partial line read from the worker */
  size_t line_len, line_cap;
  char chunk[READ_CHUNK];
  int spawned, exited, eof, finalized;
  int pid;
  int64_t exit_status;
  int term_signal;
} worker_t;

struct lf__procs_s {
  uv_loop_t *loop;
  lf__procs_cbs_t cbs;
  unsigned n, live;
  worker_t *workers;
  char **argv;
  size_t argc;
  size_t warc_arg; /* argv's --warc-file, set per worker (spawn_worker); 0: none */
  size_t jar_arg;  /* argv's --cookie-jar, set per worker (spawn_worker); 0: none */
  const char *jar; /* the job's --cookie-jar */
  const char *warc_name;
  const char *out_dir;
  lf__hmap_t paced; /* hash of a paced host -> 1: its worker was told its pace */
  int stopping;
};

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
    if (!(names[i] = worker_jar(p, i))) rc = LF_ENOMEM;
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
  char *tab = strchr(line, '\t');
  lf__record_t rec;
  if (!tab || lf__record_parse_json(tab + 1, &rec) < 0)
    return; /* not ours: ignore rather than trust it */
  size_t index = strtoul(line, NULL, 10);
  if (index >= w->count || w->entries[index].done) return;
  /* Interrupted although the parent did not ask (someone sent the worker a SIGTERM): left
   * unreported, so the page is fetched again like a killed worker's. */
  if (rec.status == LF_REC_INTERRUPTED && !w->owner->stopping) return;
  w->entries[index].done = 1;
  w->owner->cbs.on_record(w->owner->cbs.arg, &rec);
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

/* Both the exit and the end of its output are needed: records may still be in the pipe. */
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
  size_t lost = 0;
  for (size_t i = 0; i < w->count; i++)
    lost += !w->entries[i].done;
  if (lost && !p->stopping)
    fprintf(stderr, "loopfetch: %s with %zu pages unreported; fetching them in the parent\n", why,
            lost);
  for (size_t i = 0; i < w->count; i++)
    if (!w->entries[i].done)
      p->cbs.on_orphan(p->cbs.arg, w->entries[i].url, w->entries[i].name, why);
  if (--p->live == 0) p->cbs.on_done(p->cbs.arg);
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
    p->stopping = 1; /* the ones started end with EOF on stdin; their pages are none yet */
    lf__procs_end_input(p);
    *out = p; /* freed by the job after the loop has closed the handles */
    return rc;
  }
  *out = p;
  return 0;
}

static int feed_append(worker_t *w, const char *s, size_t len) {
  if (w->feed_len + len > w->feed_cap) {
    size_t cap = w->feed_cap ? w->feed_cap : 8192;
    while (cap < w->feed_len + len)
      cap *= 2;
    char *f = realloc(w->feed, cap);
    if (!f) return -1;
    w->feed = f;
    w->feed_cap = cap;
  }
  memcpy(w->feed + w->feed_len, s, len);
  w->feed_len += len;
  return 0;
}

/* A paced host's worker, told the host's pace before its first page. NULL: out of memory. */
static worker_t *paced_worker(lf__procs_t *p, const lf__procs_pace_t *pace) {
  uint64_t key = lf__hash64(pace->host, strlen(pace->host));
  worker_t *w = &p->workers[key % p->n];
  int added;
  if (!lf__hmap_put(&p->paced, key, 1, &added)) return NULL;
  if (!added) return w;
  char line[320];
  int n =
      snprintf(line, sizeof(line), "P\t%s\t%.6f\t%.6f\n", pace->host, pace->interval, pace->hold);
  if (n < 0 || (size_t)n >= sizeof(line) || feed_append(w, line, (size_t)n) < 0) return NULL;
  return w;
}

int lf__procs_add(lf__procs_t *p, const char *url, const char *name, const char *extra,
                  const lf__procs_pace_t *pace) {
  worker_t *w = pace ? paced_worker(p, pace) : &p->workers[lf__shard_of(url, p->n)];
  if (!w) return LF_ENOMEM;
  if (w->count == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    entry_t *e = realloc(w->entries, cap * sizeof(*e));
    if (!e) return LF_ENOMEM;
    w->entries = e;
    w->cap = cap;
  }
  size_t ul = strlen(url), nl = strlen(name);
  char *both = malloc(ul + nl + 2), head[24];
  if (!both) return LF_ENOMEM;
  memcpy(both, url, ul + 1);
  memcpy(both + ul + 1, name, nl + 1);
  int hl = snprintf(head, sizeof(head), "%zu\t", w->count);
  if (feed_append(w, head, (size_t)hl) < 0 || feed_append(w, url, ul) < 0 ||
      feed_append(w, "\t", 1) < 0 || feed_append(w, name, nl) < 0 ||
      feed_append(w, extra, strlen(extra)) < 0 || feed_append(w, "\n", 1) < 0) {
    free(both);
    return LF_ENOMEM;
  }
  w->entries[w->count++] = (entry_t){both, both + ul + 1, 0};
  return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  worker_t *w = req->data;
  (void)status; /* a worker that died early: its pipe is broken, finalize() handles it */
  uv_close((uv_handle_t *)&w->in, on_closed);
}

static void close_input(worker_t *w) {
  w->shutdown_req.data = w;
  if (uv_shutdown(&w->shutdown_req, (uv_stream_t *)&w->in, on_shutdown) < 0)
    uv_close((uv_handle_t *)&w->in, on_closed);
}

static void on_written(uv_write_t *req, int status) {
  worker_t *w = req->data;
  (void)status;
  free(w->feed);
  w->feed = NULL;
  close_input(w);
}

int lf__procs_end_input(lf__procs_t *p) {
  int first_err = 0;
  for (unsigned i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    if (!w->spawned) continue;
    if (!w->feed_len) {
      close_input(w);
      continue;
    }
    uv_buf_t buf = uv_buf_init(w->feed, (unsigned)w->feed_len);
    w->write_req.data = w;
    int rc = uv_write(&w->write_req, (uv_stream_t *)&w->in, &buf, 1, on_written);
    if (rc < 0) {
      first_err = first_err ? first_err : rc;
      close_input(w);
    }
  }
  return first_err;
}

void lf__procs_stop(lf__procs_t *p, int hard) {
  p->stopping = 1;
  for (unsigned i = 0; i < p->n; i++) {
    worker_t *w = &p->workers[i];
    if (w->spawned && !w->exited)
      uv_process_kill(&w->proc, hard ? SIGKILL : SIGTERM); /* ESRCH: it just ended */
  }
}

void lf__procs_free(lf__procs_t *p) {
  for (unsigned i = 0; p->workers && i < p->n; i++) {
    worker_t *w = &p->workers[i];
    for (size_t j = 0; j < w->count; j++)
      free(w->entries[j].url);
    free(w->entries);
    free(w->feed);
    free(w->line);
  }
  for (size_t i = 0; i < p->argc; i++)
    free(p->argv[i]);
  free(p->argv);
  free(p->workers);
  lf__hmap_free(&p->paced);
  free(p);
}
