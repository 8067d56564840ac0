/* The output folder and the manifest (job_output.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "job_end.h"
#include "job_output.h"
#include "navkeep.h"

/* mkdir -p: each missing component is created; an existing non-folder is an error. */
static int make_dirs(const char *path) {
  char *p = strdup(path);
  if (!p) return -ENOMEM;
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0755) < 0 && errno != EEXIST) {
      rc = -errno;
      break;
    }
    *s = c;
    if (!c) break;
  }
  struct stat st;
  if (rc == 0 && stat(path, &st) < 0) rc = -errno;
  if (rc == 0 && !S_ISDIR(st.st_mode)) rc = -ENOTDIR; /* errno would still say EEXIST */
  free(p);
  return rc;
}

/* With --shard K/N, "loopfetch-manifest.K-of-N.jsonl": shards may share one folder. */
static void default_manifest_name(const lf_cli_t *cfg, char *buf, size_t len) {
  if (cfg->shard_n)
    snprintf(buf, len, "loopfetch-manifest.%u-of-%u.jsonl", cfg->shard_k, cfg->shard_n);
  else
    snprintf(buf, len, "%s", LF_MANIFEST_NAME);
}

/* A first run that saved nothing (a list page that failed, nothing to fetch, a usage or local
 * error) leaves no trace (issue 25, item 9): the folder it made goes again, with its own
 * manifest if that is still empty. Anything else in the folder keeps it (rmdir fails). */
void lf__job_remove_empty_output(const lf_cli_t *cfg) {
  char name[64];
  int fd = open(cfg->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  default_manifest_name(cfg, name, sizeof(name));
  struct stat st;
  if (!cfg->manifest && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
      st.st_size == 0)
    (void)unlinkat(fd, name, 0); /* if it fails, so does the rmdir: the folder stays, whole */
  lf__navkeep_remove(fd);        /* a crawl's navigation pages' links */
  close(fd);
  (void)rmdir(cfg->out_dir); /* only if empty */
}

/* The stop signals are blocked while the manifests load: the loop that would run libuv's
 * signal callbacks has not started yet, so a SIGTERM would wait for the whole load (seconds for
 * a million records). Blocked, a signal stays pending, is seen between two pieces read, and is
 * taken here (libuv never sees it, so a second one still quits at once). */
static void stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGHUP);
}

/* The pending stop signal, taken; 0 if none. */
static int pending_stop(void *arg) {
  sigset_t want;
  const struct timespec now = {0, 0};
  (void)arg;
  stop_signals(&want);
  int sig = sigtimedwait(&want, NULL, &now);
  return sig > 0 ? sig : 0;
}

/* load(job, stop) with the stop signals blocked, stop looking for one: 0, load's negative
 * error, or the signal that stopped it (one that came at the very end too). */
static int interruptible(job_t *job, int (*load)(job_t *job, int (*stop)(void *arg))) {
  sigset_t block, old;
  stop_signals(&block);
  int blocked = pthread_sigmask(SIG_BLOCK, &block, &old) == 0;
  int rc = load(job, blocked ? pending_stop : NULL);
  if (blocked && rc == 0) rc = pending_stop(NULL);
  if (blocked) pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

/* What the folder's manifests say was saved. 0, LF_ENOMEM, or what stop returned. */
static int load_manifests(job_t *job, int (*stop)(void *arg)) {
  job->manifest.stop = stop;
  int rc = lf__manifest_load(&job->manifest, job->dirfd);
  job->manifest.stop = NULL;
  return rc;
}

/* --refresh: the validators of the pages saved so far, before this run's records go in: a
 * second read of the run's manifest, as long as the first (issue 28, item 15: both stop on a
 * signal). 0, -errno, or what stop returned. */
static int load_refresh(job_t *job, int (*stop)(void *arg)) {
  return lf__refresh_load(job->manifest.path, stop, &job->refresh);
}

/* The manifest, locked for the run, and what the folder's manifests say was saved; then the
 * temporaries of runs that were killed go. */
static int open_manifest(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  char name[64], err[4500];
  int repaired;
  default_manifest_name(cfg, name, sizeof(name));
  lf__manifest_t *m = &job->manifest;
  if (lf__manifest_open(m, job->dirfd, cfg->out_dir, cfg->manifest, name, &repaired, err,
                        sizeof(err)) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", err, "");
    return -1;
  }
  if (repaired && !cfg->quiet)
    fprintf(stderr,
            "loopfetch: warning: %s: its last record was cut short (a run was killed "
            "while writing it); removed, that page is fetched again\n",
            m->path);
  /* URLs with a password are known by their url_id: the key, if the folder has one yet. */
  (void)lf__urlkey_load(&job->urlkey, job->dirfd, 0);
  m->urlkey = &job->urlkey;
  /* Every name an earlier URL holds goes into the set first: no new URL takes one. */
  if (!job->names && lf__names_new(&job->names) < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory", "");
    return -1;
  }
  m->names = job->names;
  int rc = interruptible(job, load_manifests);
  if (rc > 0) { /* a signal came while they loaded */
    lf__job_stop_on_signal(job, rc);
    return -1;
  }
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "%s%s", "out of memory reading the manifests", "");
    return -1;
  }
  lf__manifest_remove_leftovers(m, job->dirfd, job->pid);
  lf__report_set_manifest(&job->report, m->fd, m->path); /* the report closes it at the end */
  m->fd = -1;
  return 0;
}

/* A file the run writes under a name the user chose, if it lies in the output folder: its name
 * (or, for the WARC files, their stem) is kept so that no page takes it, with --force too
 * (issue 28, item 1). "In the folder" means its folder is the output folder itself (the same
 * device and inode), however the path is written. */
static void reserve_own(job_t *job, const char *path, int warc) {
  if (!path || strcmp(path, "-") == 0 || job->own_count >= sizeof(job->own_names) / sizeof(char *))
    return;
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
  struct stat a, b;
  int inside = dir && stat(*dir ? dir : "/", &a) == 0 && fstat(job->dirfd, &b) == 0 &&
               a.st_dev == b.st_dev && a.st_ino == b.st_ino && *base;
  free(dir);
  if (!inside) return;
  char *name = strdup(base);
  if (!name) return; /* out of memory: the foreign-file check still keeps it (not --force) */
  if (warc) {        /* the stem first: own_names[0] */
    memmove(job->own_names + 1, job->own_names, job->own_count * sizeof(char *));
    job->own_names[0] = name;
    job->own_warc = 1;
  } else {
    job->own_names[job->own_count] = name;
  }
  job->own_count++;
}

int lf__job_open_output(job_t *job) {
  const lf_cli_t *cfg = job->cfg;
  struct stat before;
  job->dir_created = stat(cfg->out_dir, &before) < 0 && errno == ENOENT;
  int rc = make_dirs(cfg->out_dir);
  if (rc == 0) {
    job->dirfd = open(cfg->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = job->dirfd < 0 ? -errno : 0;
  }
  if (rc < 0) {
    lf__job_fatal(job, LF_EXIT_LOCAL, "cannot use output folder %s: %s", cfg->out_dir,
                  strerror(-rc));
    return -1;
  }
  if (cfg->mode == LF_MODE_WORKER) { /* the parent names, skips and keeps the manifest */
    if (lf__xpages_open(&job->xpages, cfg) < 0) { /* -e: the records of its pages */
      lf__job_finish(job, LF_EXIT_LOCAL);
      return -1;
    }
    return 0;
  }
  if (open_manifest(job) < 0) return -1;
  reserve_own(job, cfg->manifest, 0);
  reserve_own(job, cfg->records, 0);
  reserve_own(job, cfg->csv, 0);
  if (cfg->fetch.warc) reserve_own(job, cfg->fetch.warc->name, 1);
  if (lf__xpages_open(&job->xpages, cfg) < 0) { /* -e: --records and --csv */
    lf__job_finish(job, LF_EXIT_LOCAL);
    return -1;
  }
  job->report.records_on = job->xpages != NULL;
  if (cfg->refresh && (rc = interruptible(job, load_refresh)) != 0) {
    if (rc > 0) /* a signal came while it loaded */
      lf__job_stop_on_signal(job, rc);
    else
      lf__job_fatal(job, LF_EXIT_LOCAL, "cannot read manifest %s for --refresh: %s",
                    job->manifest.path, strerror(-rc));
    return -1;
  }
  return 0;
}
