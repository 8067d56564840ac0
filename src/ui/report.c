/* Counters and the lines printed about them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "errmsg.h"
#include "progress.h"
#include "safe_text.h"
#include "report.h"
#include "stats.h"
#include "trace.h"

int lf__report_init(lf__report_t *r, int quiet) {
  memset(r, 0, sizeof(*r));
  r->manifest_fd = -1;
  r->start_ns = uv_hrtime();
  r->quiet = quiet;
  return lf__stats_new(&r->latency) < 0 ? LF_ENOMEM : 0;
}

int lf__report_keep_trace(lf__report_t *r) {
  return lf__trace_new(&r->trace) < 0 ? LF_ENOMEM : 0;
}

void lf__report_free(lf__report_t *r) {
  lf__stats_free(r->latency);
  r->latency = NULL;
  if (r->trace) lf__trace_free(r->trace);
  r->trace = NULL;
  free(r->line);
  r->line = NULL;
  r->line_cap = 0;
  for (size_t i = 0; i < 2 * r->failures_len; i++)
    free(r->failures[i]);
  free(r->failures);
  r->failures = NULL;
  r->failures_len = 0;
}

/* --json lists the first failures: memory stays O(1) however many fail. Out of memory, one is
 * left out of the list (failures_total still counts it). */
static void keep_failure(lf__report_t *r, const lf__record_t *rec) {
  if (r->failures_len == LF_REPORT_FAILURES) return;
  if (!r->failures && !(r->failures = calloc(2 * LF_REPORT_FAILURES, sizeof(char *)))) return;
  char *url = lf__display(rec->url ? rec->url : "?", 1);
  char *why = lf__display(rec->error ? rec->error : "failed", 0);
  if (!url || !why) {
    free(url);
    free(why);
    return;
  }
  r->failures[2 * r->failures_len] = url;
  r->failures[2 * r->failures_len + 1] = why;
  r->failures_len++;
}

int lf__report_write_trace(lf__report_t *r, const char *json_path, const char *svg_path,
                           const char *title) {
  char err[512];
  int rc = 0;
  if (r->trace && json_path && lf__trace_write_json(r->trace, json_path, err, sizeof(err)) < 0) {
    fprintf(stderr, "loopfetch: %s\n", err);
    rc = -1;
  }
  if (r->trace && svg_path &&
      lf__trace_write_svg(r->trace, svg_path, title, err, sizeof(err)) < 0) {
    fprintf(stderr, "loopfetch: %s\n", err);
    rc = -1;
  }
  return rc;
}

/* Bytes a saved page's run received: -C's partial file already held `resumed` of them. */
static uint64_t received(const lf__record_t *rec) {
  return rec->resumed < rec->bytes ? rec->bytes - rec->resumed : 0;
}

/* The progress line and the counters it shows. */
static void count_progress(lf__report_t *r, const lf__record_t *rec) {
  if (!r->progress) return;
  r->progress->done++;
  r->progress->failed += rec->status == LF_REC_FAILED;
  /* Bytes are those received: a page skipped on a rerun was not (its record's bytes are the
   * file's size). Where the fetcher tells bytes as they arrive (live_bytes), they are counted
   * there; workers' pages (-p) count when their record comes. */
  if (!r->live_bytes && (rec->status == LF_REC_SAVED || rec->status == LF_REC_NAVIGATED))
    r->progress->bytes += received(rec);
}

void lf__report_set_manifest(lf__report_t *r, int fd, const char *path) {
  r->manifest_fd = fd;
  r->manifest_path = path;
}

size_t lf__report_format(lf__report_t *r, const lf__record_t *rec) {
  size_t n = lf__record_to_json(rec, r->line, r->line_cap);
  if (n < r->line_cap) return n;
  char *line = realloc(r->line, n + 1); /* records never depend on the URL's length */
  if (!line) return 0;
  r->line = line;
  r->line_cap = n + 1;
  return lf__record_to_json(rec, r->line, r->line_cap);
}

/* The whole record in one write(2) on an O_APPEND descriptor: no stdio buffer to lose in a
 * crash (a kill -9 loses at most the line being written, cut off by the next run), and
 * never interleaved with a line of another writer. A record cut short by an error (a full
 * disk) is taken back, so the manifest ends with a whole line. */
static int write_record(int fd, const char *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int err = -errno;
      struct stat st;
      if (done && fstat(fd, &st) == 0 && st.st_size >= (off_t)done &&
          ftruncate(fd, st.st_size - (off_t)done) < 0)
        err = -errno; /* cannot take it back: the next run cuts it off (manifest.c) */
      return err;
    }
    done += (size_t)w;
  }
  return 0;
}

/* One line; the URL and the reason may come from outside: secrets hidden, controls escaped. */
static void print_failure(const lf__record_t *rec) {
  char *url = lf__display(rec->url ? rec->url : "?", 1);
  char *why = lf__display(rec->error ? rec->error : "failed", 0);
  if (rec->attempts > 0) /* retries are silent: say how many tries this verdict took */
    fprintf(stderr, "loopfetch: %s: %s (%d attempt%s)\n", url ? url : "?", why ? why : "failed",
            rec->attempts, rec->attempts == 1 ? "" : "s");
  else
    fprintf(stderr, "loopfetch: %s: %s\n", url ? url : "?", why ? why : "failed");
  free(url);
  free(why);
}

void lf__report_record(lf__report_t *r, const lf__record_t *rec) {
  count_progress(r, rec);
  if (r->trace && lf__trace_add(r->trace, rec) < 0) {
    fprintf(stderr, "loopfetch: out of memory: no trace will be written\n");
    lf__trace_free(r->trace);
    r->trace = NULL;
  }
  switch (rec->status) {
  case LF_REC_SAVED:
    r->saved++;
    r->bytes += received(rec);
    if (r->latency) lf__stats_add(r->latency, rec->timings.total);
    break;
  case LF_REC_SKIPPED:
    r->skipped++;
    break;
  case LF_REC_UNCHANGED:
    r->unchanged++;
    break;
  case LF_REC_ROBOTS:
    r->robots++;
    break;
  case LF_REC_INTERRUPTED:
    r->interrupted++;
    break;
  case LF_REC_NAVIGATED:
    r->navigated++;
    r->bytes += rec->bytes;
    break;
  case LF_REC_CAPPED:
    r->capped++;
    break;
  default:
    r->failed++;
    keep_failure(r, rec);
    if (r->progress) lf__progress_clear(stderr); /* the next tick redraws it under this line */
    print_failure(rec);
  }
  if (r->manifest_fd < 0 || r->manifest_err) return;
  size_t n = lf__report_format(r, rec);
  r->manifest_err = n ? write_record(r->manifest_fd, r->line, n) : -ENOMEM;
}

void lf__report_failure(lf__report_t *r, const char *url, const char *why) {
  lf__record_t rec = {.url = url, .error = why, .status = LF_REC_FAILED, .pid = (int)getpid()};
  lf__report_record(r, &rec);
}

double lf__report_elapsed(const lf__report_t *r) {
  return (double)(uv_hrtime() - r->start_ns) / 1e9;
}

/* Counts that are 0 are left out (they were what made the line wrap at 80 columns). */
void lf__report_summary(const lf__report_t *r) {
  if (r->quiet) return;
  double secs = lf__report_elapsed(r);
  double rate = secs > 0 ? (double)r->saved / secs : 0.0;
  char extra[256] = "";
  size_t n = 0;
  const size_t counts[] = {r->unchanged, r->skipped, r->interrupted, r->robots, r->navigated,
                           r->capped, r->renamed};
  const char *const names[] = {"unchanged", "skipped", "interrupted", "disallowed by robots.txt",
                               "navigated", "capped", "renamed (a file not ours)"};
  for (int i = 0; i < 7; i++)
    if (counts[i] && n < sizeof(extra))
      n += (size_t)snprintf(extra + n, sizeof(extra) - n, ", %zu %s", counts[i], names[i]);
  if (r->records_on && n < sizeof(extra))
    n += (size_t)snprintf(extra + n, sizeof(extra) - n, ", %zu record%s", r->records,
                          r->records == 1 ? "" : "s");
  fprintf(stderr,
          rate < 99.95 ? "loopfetch: %zu saved, %zu failed%s, %.1f MB in %.2f s (%.1f pages/s)\n"
                       : "loopfetch: %zu saved, %zu failed%s, %.1f MB in %.2f s (%.0f pages/s)\n",
          r->saved, r->failed, extra, (double)r->bytes / 1e6, secs, rate);
}

/* Peak RSS of this process image in KiB. getrusage()'s ru_maxrss also counts what the parent
 * had resident when it forked us (Linux keeps the old image's high-water mark across exec),
 * so a worker spawned by a parent holding a parsed page would look bigger than it is;
 * /proc/self/status's VmHWM belongs to this image alone. */
long lf__peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  if (kb < 0) {
    struct rusage ru;
    kb = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
  }
  return kb;
}

static double tv_secs(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void lf__report_json(const lf__report_t *r, const char *mode, unsigned procs, unsigned conc,
                     int exit_code, const char *error) {
  struct rusage self = {0}, kids = {0};
  if (getrusage(RUSAGE_SELF, &self) < 0 || getrusage(RUSAGE_CHILDREN, &kids) < 0)
    memset(&self, 0, sizeof(self));
  double user = tv_secs(self.ru_utime) + tv_secs(kids.ru_utime);
  double sys = tv_secs(self.ru_stime) + tv_secs(kids.ru_stime);
  size_t pages = r->saved + r->failed + r->skipped + r->interrupted + r->robots;
  printf("{\"mode\":\"%s\",\"procs\":%u,\"concurrency\":%u,\"pages\":%zu,\"saved\":%zu,"
         "\"failed\":%zu,\"skipped\":%zu,\"interrupted\":%zu,\"bytes\":%llu,"
         "\"wall_s\":%.6f,\"cpu_user_s\":%.6f,\"cpu_sys_s\":%.6f,\"cpu_s\":%.6f,"
         "\"peak_rss_kb\":%ld,\"peak_rss_children_kb\":%ld",
         mode, procs, conc, pages, r->saved, r->failed, r->skipped, r->interrupted,
         (unsigned long long)r->bytes, lf__report_elapsed(r), user, sys, user + sys,
         lf__peak_rss_kb(), r->children_maxrss_kb);
  const lf__stats_t *l = r->latency;
  printf(",\"latency_s\":{\"count\":%llu,\"min\":%.6f,\"mean\":%.6f,\"p50\":%.6f,"
         "\"p90\":%.6f,\"p99\":%.6f,\"max\":%.6f}",
         l ? (unsigned long long)lf__stats_count(l) : 0ull, l ? lf__stats_min(l) : 0.0,
         l ? lf__stats_mean(l) : 0.0, l ? lf__stats_percentile(l, 50) : 0.0,
         l ? lf__stats_percentile(l, 90) : 0.0, l ? lf__stats_percentile(l, 99) : 0.0,
         l ? lf__stats_max(l) : 0.0);
  printf(",\"unchanged\":%zu,\"robots\":%zu,\"navigated\":%zu,\"capped\":%zu,\"renamed\":%zu,"
         "\"exit_code\":%d,\"error\":",
         r->unchanged, r->robots, r->navigated, r->capped, r->renamed, exit_code);
  lf__json_put_str(error);
  if (r->records_on) printf(",\"records\":%zu", r->records);
  lf__report_json_failures(r);
  printf("}\n");
  fflush(stdout);
}

void lf__report_json_failures(const lf__report_t *r) {
  printf(",\"failures\":[");
  for (size_t i = 0; i < r->failures_len; i++) {
    printf("%s{\"url\":", i ? "," : "");
    lf__json_put_str(r->failures[2 * i]);
    printf(",\"error\":");
    lf__json_put_str(r->failures[2 * i + 1]);
    printf("}");
  }
  printf("],\"failures_total\":%zu", r->failed);
}

void lf__report_json_stopped(int exit_code) {
  lf__report_t none;
  if (lf__report_init(&none, 1) < 0) none.latency = NULL;
  lf__report_json(&none, "none", 0, 0, exit_code, lf__first_error());
  lf__report_free(&none);
}

int lf__report_close(lf__report_t *r) {
  if (r->manifest_fd >= 0) {
    if (close(r->manifest_fd) < 0 && !r->manifest_err) r->manifest_err = -errno;
    r->manifest_fd = -1;
  }
  return r->manifest_err;
}
