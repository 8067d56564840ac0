/* --compare: the same job in three modes (sequential, one loop, worker processes), each a
 * child run of this program with --json into a fresh folder, and one table of the results.
 * Children are started with posix_spawn and reaped with wait4 because wait4 returns the
 * child's own resource usage (CPU, peak RSS), which is what the table compares; the runs are
 * sequential, so there is no loop to keep serving meanwhile. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "errmsg.h"
#include "report.h"

extern char **environ;

/* SIGINT/SIGTERM while a run is under way: passed on to it, and no further run starts. */
static volatile sig_atomic_t got_signal;
static volatile pid_t running_child;

/* A Ctrl-C at the terminal reaches the child too (same process group): the kernel sends it
 * (si_code SI_KERNEL), and passing it on would make it the child's second signal, which quits
 * at once. A signal from a process (kill, a job scheduler) reaches only us: pass it on. */
static void on_signal(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  got_signal = sig;
  if (running_child > 0 && info->si_code != SI_KERNEL) kill(running_child, sig);
}

static int watch_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: the reads and waits below see EINTR */
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ? -1 : 0;
}

typedef struct {
  const char *mode;
  double wall, cpu;
  long rss_kb;
  size_t pages, saved, failed;
  double mb;
  int exit_code;
  char *json; /* the run's own --json object (malloc'd, without its newline), or NULL */
} run_t;

/* Options that --compare sets itself for each run are dropped from the user's command line. */
static int drop_option(const char *a, int *takes_value) {
  static const char *const with_value[] = {"-p",           "--procs",    "--trace",
                                           "--waterfall",  "--manifest", "-o",
                                           "--output-dir", "--records",  "--csv"};
  static const char *const flags[] = {"--compare", "--json", "-q", "--quiet", "--progress"};
  *takes_value = 0;
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
    if (strcmp(a, flags[i]) == 0) return 1;
  for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++) {
    size_t n = strlen(with_value[i]);
    if (strncmp(a, with_value[i], n) != 0) continue;
    if (a[n] == '\0') {
      *takes_value = 1;
      return 1;
    }
    if (a[n] == '=' || (with_value[i][1] != '-' && a[n])) /* --procs=4, -p4, -odir */
      return 1;
  }
  return 0;
}

static char **run_argv(const lf_cli_t *cfg, const char *mode, const char *dir, char *buf[4]) {
  char **argv = calloc((size_t)cfg->argc + 8, sizeof(*argv));
  if (!argv) return NULL;
  int n = 0, skip;
  argv[n++] = cfg->argv[0];
  for (int i = 1; i < cfg->argc; i++) {
    if (drop_option(cfg->argv[i], &skip)) {
      i += skip;
      continue;
    }
    argv[n++] = cfg->argv[i];
  }
  argv[n++] = "--json";
  argv[n++] = "-q";
  /* On a terminal each run draws its own progress line under "running MODE...": the runs can
   * take a while and would otherwise show nothing (-q alone hides the line). */
  if (!cfg->quiet && isatty(2)) argv[n++] = "--progress";
  argv[n++] = "--force"; /* a fresh run each time, even over an earlier comparison */
  snprintf(buf[0], 4200, "--output-dir=%s/%s", cfg->out_dir, mode);
  argv[n++] = buf[0];
  if (strcmp(mode, "sequential") == 0) argv[n++] = "--concurrency=1";
  if (strcmp(mode, "procs") == 0) {
    snprintf(buf[1], 64, "--procs=%u", cfg->procs);
    argv[n++] = buf[1];
  }
  if (cfg->field_count) { /* -e: each run's records beside its pages (the same three times) */
    snprintf(buf[2], 4200, "--records=%s/%s/records.jsonl", cfg->out_dir, mode);
    argv[n++] = buf[2];
  }
  (void)dir;
  return argv;
}

static double json_num(const char *json, const char *key) {
  char pat[64];
  snprintf(pat, sizeof(pat), "\"%s\":", key);
  const char *p = strstr(json, pat);
  return p ? strtod(p + strlen(pat), NULL) : 0.0;
}

static int run_mode(const lf_cli_t *cfg, const char *mode, run_t *out) {
  char exe[4096];
  size_t exe_len = sizeof(exe);
  if (uv_exepath(exe, &exe_len) < 0) return -1;
  char b0[4200], b1[64], b2[4200], *bufs[4] = {b0, b1, b2, NULL};
  char **argv = run_argv(cfg, mode, cfg->out_dir, bufs);
  if (cfg->field_count && unlink(b2 + strlen("--records=")) < 0 && errno != ENOENT) {
    free(argv); /* an earlier comparison's records would be appended to */
    return -1;
  }
  int fds[2];
  if (!argv || pipe(fds) < 0) {
    free(argv);
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  pid_t pid;
  uint64_t t0 = uv_hrtime();
  int rc = got_signal ? EINTR : posix_spawn(&pid, exe, &fa, NULL, argv, environ);
  if (rc == 0) running_child = pid;
  if (rc == 0 && got_signal) kill(pid, got_signal); /* arrived just before it was known */
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  free(argv);
  if (rc != 0) {
    close(fds[0]);
    errno = rc;
    return -1;
  }
  /* The whole object: with its failures listed it may be long. */
  char *json = NULL;
  size_t len = 0, cap = 0;
  ssize_t n = 1;
  while (n != 0) {
    if (len + 4096 + 1 > cap) {
      char *grown = realloc(json, cap = cap ? 2 * cap : 16384);
      if (!grown) break; /* what was read is kept: the numbers come first */
      json = grown;
    }
    n = read(fds[0], json + len, cap - len - 1);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) len += (size_t)n;
  }
  if (json) json[len] = '\0';
  while (json && len && (json[len - 1] == '\n' || json[len - 1] == '\r'))
    json[--len] = '\0';
  close(fds[0]);
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR) return -1;
  running_child = 0;
  *out = (run_t){.mode = mode, .wall = (double)(uv_hrtime() - t0) / 1e9};
  if (json && json[0] == '{') {
    out->json = json;
  } else {
    free(json);
    json = NULL;
  }
  if (!json) return 0; /* no object: the table shows zeros */
  out->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out->cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
             ru.ru_stime.tv_usec / 1e6;
  /* Each run reports its own peak (VmHWM) and its workers'; wait4's ru_maxrss would include
   * what this process had resident when it spawned the run. */
  out->rss_kb = (long)json_num(json, "peak_rss_kb") + (long)json_num(json, "peak_rss_children_kb");
  if (out->rss_kb == 0) out->rss_kb = ru.ru_maxrss;
  out->pages = (size_t)json_num(json, "pages");
  out->saved = (size_t)json_num(json, "saved");
  out->failed = (size_t)json_num(json, "failed");
  out->mb = json_num(json, "bytes") / 1e6;
  return 0;
}

static void print_table(const lf_cli_t *cfg, const run_t *r, int n) {
  /* 72 columns: a terminal of 80 never wraps it. */
  printf("%-11s %7s %7s %7s %5s %7s %6s %8s %6s\n", "mode", "wall s", "speedup", "cpu s", "cpu %",
         "RSS MB", "pages", "MB", "failed");
  for (int i = 0; i < n; i++) {
    char label[32];
    if (strcmp(r[i].mode, "procs") == 0)
      snprintf(label, sizeof(label), "procs (%u)", cfg->procs);
    else
      snprintf(label, sizeof(label), "%s", r[i].mode);
    printf("%-11s %7.2f %6.1fx %7.2f %4.0f%% %7.1f %6zu %8.1f %6zu\n", label, r[i].wall,
           r[i].wall > 0 ? r[0].wall / r[i].wall : 0.0, r[i].cpu,
           r[i].wall > 0 ? 100.0 * r[i].cpu / r[i].wall : 0.0, r[i].rss_kb / 1024.0, r[i].pages,
           r[i].mb, r[i].failed);
  }
}

/* The end of a JSON array that starts at p ('['), strings and nesting minded; p if none. */
static const char *array_end(const char *p) {
  int depth = 0, in_str = 0;
  for (const char *q = p; *q; q++) {
    if (in_str) {
      if (*q == '\\' && q[1])
        q++;
      else if (*q == '"')
        in_str = 0;
    } else if (*q == '"') {
      in_str = 1;
    } else if (*q == '[' || *q == '{') {
      depth++;
    } else if ((*q == ']' || *q == '}') && --depth == 0) {
      return q;
    }
  }
  return p;
}

/* The runs' failures as one list, the first LF_REPORT_FAILURES of them: each run's
 * "failures" array is a list of objects, copied whole, one by one. */
static void print_failures(const run_t *r, int n) {
  size_t shown = 0, total = 0;
  printf(",\"failures\":[");
  for (int i = 0; i < n; i++) {
    total += r[i].failed;
    const char *a = r[i].json ? strstr(r[i].json, "\"failures\":[") : NULL;
    if (!a) continue;
    a += strlen("\"failures\":");
    const char *end = array_end(a);
    for (const char *item = a + 1; item < end && shown < LF_REPORT_FAILURES;) {
      while (item < end && *item != '{')
        item++;
      if (item >= end) break;
      const char *close = array_end(item);
      if (close == item) break;
      printf("%s%.*s", shown++ ? "," : "", (int)(close - item + 1), item);
      item = close + 1;
    }
  }
  printf("],\"failures_total\":%zu", total);
}

/* One object of the same shape as a plain run's (counts of the three runs together, the exit
 * status the command returns, the failures), with each run's own object in "runs", plus its
 * speedup over the sequential run and its CPU share. */
static void print_json(const lf_cli_t *cfg, const run_t *r, int n, int exit_code, double wall) {
  size_t pages = 0, saved = 0, failed = 0;
  double cpu = 0, mb = 0;
  long rss = 0;
  for (int i = 0; i < n; i++) {
    pages += r[i].pages;
    saved += r[i].saved;
    failed += r[i].failed;
    cpu += r[i].cpu;
    mb += r[i].mb;
    if (r[i].rss_kb > rss) rss = r[i].rss_kb;
  }
  printf("{\"mode\":\"compare\",\"procs\":%u,\"pages\":%zu,\"saved\":%zu,\"failed\":%zu,"
         "\"bytes\":%.0f,\"wall_s\":%.6f,\"cpu_s\":%.6f,\"peak_rss_kb\":%ld,\"exit_code\":%d,"
         "\"error\":null",
         cfg->procs, pages, saved, failed, mb * 1e6, wall, cpu, rss, exit_code);
  print_failures(r, n);
  printf(",\"runs\":[");
  for (int i = 0; i < n; i++) {
    printf("%s{\"speedup\":%.4f,\"cpu_pct\":%.2f,", i ? "," : "",
           r[i].wall > 0 ? r[0].wall / r[i].wall : 0.0,
           r[i].wall > 0 ? 100.0 * r[i].cpu / r[i].wall : 0.0);
    if (r[i].json) /* the run's own object, its keys after these two */
      fputs(r[i].json + 1, stdout);
    else
      printf("\"mode\":\"%s\",\"exit_code\":%d}", r[i].mode, r[i].exit_code);
  }
  printf("]}\n");
}

int lf__compare_run(const lf_cli_t *cfg) {
  static const char *const modes[] = {"sequential", "loop", "procs"};
  run_t runs[3] = {{0}};
  int worst = 0;
  uint64_t t0 = uv_hrtime();
  if (watch_signals() < 0) {
    fprintf(stderr, "loopfetch: --compare: cannot watch signals: %s\n", strerror(errno));
    return LF_EXIT_LOCAL;
  }
  for (int i = 0; i < 3; i++) {
    if (!cfg->quiet) fprintf(stderr, "loopfetch: --compare: running %s...\n", modes[i]);
    fflush(stdout);
    int rc = run_mode(cfg, modes[i], &runs[i]);
    if (got_signal) { /* the run was told and has ended: so do we, without a table */
      if (!cfg->quiet)
        fprintf(stderr, "loopfetch: --compare: stopped during the %s run\n", modes[i]);
      for (int k = 0; k <= i; k++)
        free(runs[k].json);
      return got_signal == SIGINT ? LF_EXIT_SIGINT : LF_EXIT_SIGTERM;
    }
    if (rc < 0) {
      lf__error("--compare: cannot run %s mode: %s", modes[i], strerror(errno));
      if (cfg->json) lf__report_json_stopped(LF_EXIT_LOCAL);
      for (int k = 0; k <= i; k++)
        free(runs[k].json);
      return LF_EXIT_LOCAL;
    }
    if (runs[i].exit_code > worst) worst = runs[i].exit_code;
  }
  if (cfg->json)
    print_json(cfg, runs, 3, worst, (double)(uv_hrtime() - t0) / 1e9);
  else
    print_table(cfg, runs, 3);
  for (int i = 0; i < 3; i++)
    free(runs[i].json);
  return worst;
}
