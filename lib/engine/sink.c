/* Output sinks. A memory sink grows one buffer. A file sink writes a file in the output folder
 * that gets the page's name only when the transfer succeeded, so a final name never holds a
 * partial page. Where the folder allows (probed in fetcher.c, f->link_mode) the file is unnamed
 * (O_TMPFILE) and linkat() names it; else it is created under a temporary name. A final name
 * that already exists is replaced by a rename from a temporary name, since rename replaces
 * atomically and linkat never replaces; with LF_REQUEST_NO_REPLACE it is never replaced: the
 * file takes the first free NAME~N.EXT instead (publish_new). File work runs on libuv's thread
 * pool, batched with other sinks' (disk.c), one job at a time per sink: the loop thread keeps
 * receiving into `fill` while a job writes `busy`. A job does all it can at once (open + write +
 * link + close for a small page), because each trip through the pool costs more than the system
 * calls themselves. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

/* A job is started once this much is buffered: large writes, few trips to the pool. While a
 * job runs, a transfer that has this much more waiting pauses until the job is done. */
#define LF__FLUSH_AT (64 * 1024)
/* All sinks of a fetcher together buffer at most about this much: past it, a sink flushes
 * what it has and pauses. So memory is bounded however many transfers receive at once. */
#define LF__BUFFER_BUDGET (1 * 1024 * 1024)
/* Sinks that never pause (HTTP/2, see never_pause) pause all the same past this much. */
#define LF__BUFFER_HARD (16 * 1024 * 1024)

void lf__sink_init(lf__sink_t *s, lf__transfer_t *t, lf_output_t kind) {
  memset(s, 0, sizeof(*s));
  s->transfer = t;
  s->kind = kind;
  s->fd = -1;
}

/* Bytes this sink counts in the fetcher's budget are given back. */
static void release(lf__sink_t *s, size_t n) {
  if (n > s->accounted) n = s->accounted;
  s->accounted -= n;
  s->transfer->fetcher->buffered -= n;
}

/* Pauses are counted per fetcher: lf_fetcher_waiting_for_disk(). */
static void set_paused(lf__sink_t *s, int on) {
  if (s->paused == on) return;
  s->paused = on;
  if (on)
    s->transfer->fetcher->paused_sinks++;
  else
    s->transfer->fetcher->paused_sinks--;
}

void lf__sink_reset(lf__sink_t *s) {
  if (s->transfer) {
    release(s, s->accounted);
    set_paused(s, 0);
  }
  free(s->fill);
  free(s->busy);
  free(s->job_renamed);
  lf__sink_init(s, s->transfer, s->kind);
}

/* File sinks never need much more than LF__FLUSH_AT plus one callback's worth: doubling
 * past it would only reserve memory that is never used. */
static size_t grown_cap(const lf__sink_t *s, size_t need) {
  size_t cap = s->fill_cap ? s->fill_cap : 16384;
  while (cap < need)
    cap *= 2;
  size_t limit = LF__FLUSH_AT + CURL_MAX_WRITE_SIZE + 1;
  if (s->kind == LF_OUTPUT_FILE && cap > limit && need <= limit) cap = limit;
  return cap;
}

static int append(lf__sink_t *s, const char *data, size_t len) {
  if (s->fill_len + len + 1 > s->fill_cap) {
    size_t cap = grown_cap(s, s->fill_len + len + 1);
    char *p = realloc(s->fill, cap);
    if (!p) return LF_ENOMEM;
    s->fill = p;
    s->fill_cap = cap;
  }
  memcpy(s->fill + s->fill_len, data, len);
  s->fill_len += len;
  s->fill[s->fill_len] = '\0'; /* memory bodies are handed out NUL-terminated */
  return 0;
}

/* ---- pool side: runs on a libuv worker thread; touches only busy, fd and job_* ---- */

static int job_fail(lf__sink_t *s, const char *op) {
  s->job_err = -errno;
  s->job_err_op = op;
  return -1;
}

int lf__sink_open_temp(int dirfd, int link_mode, const char *temp_name) {
#ifdef O_TMPFILE
  if (link_mode) /* unnamed: nothing to remove if the page fails or the process dies */
    return openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
#else
  (void)link_mode;
#endif
  /* O_EXCL + O_NOFOLLOW: never reuse or follow anything planted under the temporary name. */
  return openat(dirfd, temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

static int job_open(lf__sink_t *s, int dirfd, int link_mode) {
  if (s->transfer->part.on) return lf__resume_open(s); /* a named partial file (resume.c) */
  s->fd = lf__sink_open_temp(dirfd, link_mode, s->temp_name);
  return s->fd < 0 ? job_fail(s, "open") : 0;
}

static int job_write(lf__sink_t *s) {
  size_t off = 0;
  while (off < s->busy_len) {
    ssize_t n = write(s->fd, s->busy + off, s->busy_len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return job_fail(s, "write");
    off += (size_t)n;
  }
  s->busy_len = 0;
  return 0;
}

/* Gives the unnamed file a name in dirfd; fails with EEXIST if the name is taken. */
static int link_unnamed(int fd, int link_mode, int dirfd, const char *name) {
#if defined(O_TMPFILE) && defined(AT_EMPTY_PATH)
  if (link_mode == 1) return linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
  char path[32];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
#else
  (void)fd, (void)link_mode, (void)dirfd, (void)name;
  errno = ENOSYS;
  return -1;
#endif
}

/* Whether pages can be written as unnamed files (O_TMPFILE) and linked into dirfd once
 * complete: that saves creating and renaming a temporary name per page, about a third of the
 * file work on ext4. Not every file system has O_TMPFILE, linkat(AT_EMPTY_PATH) needs
 * CAP_DAC_READ_SEARCH on older kernels and the /proc/self/fd way needs /proc: so each is tried
 * once, on a probe file, and anything failing keeps temporary names (mode 0). */
int lf__sink_link_mode(int dirfd, long pid) {
#ifdef O_TMPFILE
  int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return 0;
  char name[48];
  snprintf(name, sizeof(name), ".lf-%ld-probe.part", pid); /* a temporary's name */
  int mode = 1;
  while (mode <= 2 && link_unnamed(fd, mode, dirfd, name) < 0)
    mode++;
  if (mode > 2 || unlinkat(dirfd, name, 0) < 0) mode = 0;
  close(fd);
  return mode;
#else
  (void)dirfd, (void)pid;
  return 0;
#endif
}

/* Renames from into to unless to exists (EEXIST). RENAME_NOREPLACE checks and renames in one
 * step; a file system without it (EINVAL) gets link + unlink: linkat never replaces either. */
static int rename_new(int dirfd, const char *from, int fdir, const char *to) {
#ifdef RENAME_NOREPLACE
  if (renameat2(dirfd, from, fdir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
  if (linkat(dirfd, from, fdir, to, 0) < 0) return -1;
  (void)unlinkat(dirfd, from, 0); /* best effort: a leftover temporary goes with the next run */
  return 0;
}

#define VARIANTS_MAX 1000 /* NAME~2 .. NAME~1000: past that, EEXIST is the answer */
#define EXT_MAX 16        /* a longer "extension" is part of the stem (as the program's names) */

/* "<stem>~n<ext>" for a name (one component): the stem is cut so the result fits 255 bytes,
 * never inside a UTF-8 character. */
static void variant(const char *name, unsigned n, char out[256]) {
  size_t len = strlen(name), ext = 0, stem;
  const char *dot = strrchr(name, '.');
  if (dot && dot != name && (size_t)(name + len - dot) <= EXT_MAX) ext = (size_t)(name + len - dot);
  char suffix[16];
  size_t slen = (size_t)snprintf(suffix, sizeof(suffix), "~%u", n);
  size_t room = 255 - ext - slen;
  stem = len - ext;
  if (stem > room) {
    stem = room;
    while (stem > 0 && ((unsigned char)name[stem] & 0xC0) == 0x80)
      stem--;
  }
  memcpy(out, name, stem);
  memcpy(out + stem, suffix, slen);
  memcpy(out + stem + slen, name + len - ext, ext + 1);
}

/* rename_new() of from (in dirfd) to name in fdir, or to the first free variant of it (into
 * used). resume.c publishes partial files with it. 0, or -1 with errno. */
int lf__sink_rename_new(int dirfd, const char *from, int fdir, const char *name, char used[256]) {
  snprintf(used, 256, "%s", name);
  for (unsigned n = 2;; n++) {
    if (rename_new(dirfd, from, fdir, used) == 0) return 0;
    if (errno != EEXIST || n > VARIANTS_MAX) return -1;
    variant(name, n, used);
  }
}

/* LF_REQUEST_NO_REPLACE: the file gets name in fdir, or the first free variant of it; each try
 * both checks and names (linkat of the unnamed file, or rename_new of the temporary), so a
 * name another process takes at the same moment is never replaced. *used: the name taken.
 * 0, or -1 with errno. */
static int publish_new(lf__sink_t *s, int dirfd, int link_mode, int fdir, const char *name,
                       char used[256]) {
  snprintf(used, 256, "%s", name);
  for (unsigned n = 2;; n++) {
    int rc = link_mode ? link_unnamed(s->fd, link_mode, fdir, used)
                       : rename_new(dirfd, s->temp_name, fdir, used);
    if (rc == 0) return 0;
    if (errno != EEXIST || n > VARIANTS_MAX) return -1;
    variant(name, n, used);
  }
}

/* Closes the file under s->temp_name, then renames it over final_name (in folder fdir) or
 * removes it; with no_replace, renames it to final_name or a free variant (into used). */
static void finish_named(lf__sink_t *s, int dirfd, int keep, int fdir, const char *final_name,
                         int no_replace, char used[256]) {
  if (close(s->fd) < 0 && keep)
    keep = job_fail(s, "close") == 0; /* a failed close may mean lost data: do not keep */
  s->fd = -1;
  if (keep && no_replace && publish_new(s, dirfd, 0, fdir, final_name, used) == 0) return;
  if (keep && !no_replace && renameat(dirfd, s->temp_name, fdir, final_name) == 0) return;
  if (keep) job_fail(s, "rename");
  int saved = errno;
  unlinkat(dirfd, s->temp_name, 0); /* best effort: the error that matters is already kept */
  errno = saved;
}

/* Temporaries live in dirfd, the output folder; final_name in fdir, its folder (subdir.c).
 * used: the name the file got, when it is not final_name (no_replace); else "". */
static void job_finish(lf__sink_t *s, int dirfd, int link_mode, int keep, int fdir,
                       const char *final_name, char used[256]) {
  int no_replace = s->job_no_replace;
  used[0] = '\0';
  if (s->fd < 0) return; /* nothing was ever created */
  if (s->transfer->part.on) {
    lf__resume_finish(s, keep, fdir, final_name, no_replace, used);
    return;
  }
  if (!link_mode) {
    finish_named(s, dirfd, keep, fdir, final_name, no_replace, used);
    return;
  }
  int fd = s->fd;
  if (keep && (no_replace ? publish_new(s, dirfd, link_mode, fdir, final_name, used)
                          : link_unnamed(fd, link_mode, fdir, final_name)) == 0) {
    s->fd = -1;
    if (close(fd) == 0) return;
    job_fail(s, "close"); /* as above: not kept, so the name goes again */
    int saved = errno;
    unlinkat(fdir, no_replace ? used : final_name, 0);
    used[0] = '\0';
    errno = saved;
    return;
  }
  /* linkat never replaces a name: one already there (--force, an older file, a planted
   * symlink) is replaced by a rename from a temporary name, after the close, as in mode 0. */
  if (keep && !no_replace && errno == EEXIST &&
      link_unnamed(fd, link_mode, dirfd, s->temp_name) == 0) {
    finish_named(s, dirfd, 1, fdir, final_name, 0, used);
    return;
  }
  if (keep) job_fail(s, "link");
  s->fd = -1;
  close(fd); /* the unnamed file goes with its last descriptor */
}

/* The file went under used, a variant of name (the last component of file): the result must
 * say so, so the path with it is kept for the loop side (lf__sink_job_done). Without memory for
 * it, the page is not kept: a file the result does not name would be lost to the caller. */
static void renamed(lf__sink_t *s, const char *file, const char *name, const char *used, int fdir) {
  size_t dir = (size_t)(name - file), n = strlen(used);
  char *path = malloc(dir + n + 1);
  if (!path) {
    errno = ENOMEM;
    job_fail(s, "rename");
    (void)unlinkat(fdir, used, 0);
    return;
  }
  memcpy(path, file, dir);
  memcpy(path + dir, used, n + 1);
  s->job_renamed = path;
}

void lf__sink_job_run(lf__sink_t *s) {
  if (s->split) { /* a range of a split file: its bytes in place, the file is split.c's */
    s->job_err = 0;
    lf__split_job(s);
    return;
  }
  lf__transfer_t *t = s->transfer;
  int dirfd = t->fetcher->out_dirfd;
  s->job_err = 0;
  int ok = 1;
  int link_mode = t->fetcher->link_mode; /* set with out_dirfd, before any job */
  if (s->fd < 0 && (s->busy_len > 0 || s->job_keep)) ok = job_open(s, dirfd, link_mode) == 0;
  if (ok && s->busy_len > 0) ok = job_write(s) == 0;
  if (!s->job_finishing) return;
  if (s->job_keep && ok && s->fd >= 0 && t->file_time >= 0) {
    /* The file's time is the page's (Last-Modified), as wget and curl -R keep it. */
    struct timespec times[2] = {{0, UTIME_OMIT}, {(time_t)t->file_time, 0}};
    int rc = futimens(s->fd, times);
    (void)rc; /* a file system without times still holds the whole page: keep it */
  }
  const char *file = lf__transfer_file(t), *name = file;
  int fdir = s->job_keep && ok ? lf__subdir_open(dirfd, file, &name) : dirfd;
  if (fdir < 0) ok = job_fail(s, "mkdir") == 0;
  char used[256];
  job_finish(s, dirfd, link_mode, s->job_keep && ok, fdir < 0 ? dirfd : fdir, name, used);
  if (used[0] && strcmp(used, name) != 0) renamed(s, file, name, used, fdir < 0 ? dirfd : fdir);
  if (fdir >= 0 && fdir != dirfd) close(fdir);
}

/* ---- loop side ---- */

static void kick(lf__sink_t *s, int force);
static void resume_or_flush(lf__sink_t *s);

void lf__sink_job_done(lf__sink_t *s, int status) {
  lf__transfer_t *t = s->transfer;
  lf_fetcher_t *f = t->fetcher;
  lf__fetcher_enter(f);
  s->job_running = 0;
  release(s, s->job_bytes);
  /* The written buffer goes back to the allocator now, not when the page ends: with hundreds
   * of pages in flight, buffers kept per transfer would add up to more than the budget. */
  free(s->busy);
  s->busy = NULL;
  s->busy_cap = s->busy_len = 0;
  if (status < 0 && !s->err) { /* the job was cancelled: it did not run */
    s->err = status;
    s->err_op = "queue";
  }
  if (s->job_renamed) { /* LF_REQUEST_NO_REPLACE: the name was taken, a variant is used */
    free(t->final_name);
    t->final_name = s->job_renamed;
    s->job_renamed = NULL;
  }
  if (s->job_err && !s->err) {
    s->keep = 0; /* the transfer may have ended well, but its file did not */
    s->err = s->job_err;
    s->err_op = s->job_err_op;
    lf__transfer_set_error(t, LF_EIO, "cannot save %s/%s: %s failed: %s", f->opts.out_dir,
                           lf__transfer_file(t), s->err_op, uv_strerror(s->err));
  }
  if (s->job_finishing) {
    t->written_ns = lf__now_ns();
    lf__fetcher_report(t);
  } else {
    kick(s, 0);
    if (s->finishing && !s->job_running)
      lf__fetcher_report(t); /* nothing left to do on disk (e.g. the open had failed) */
    else if (s->paused && !s->finishing)
      resume_or_flush(s);
  }
  lf__fetcher_leave(f);
}

/* Starts a pool job if one is due and none runs; force flushes even a small buffer. */
static void kick(lf__sink_t *s, int force) {
  if (s->job_running) return;
  int flush = s->fill_len >= LF__FLUSH_AT || ((s->finishing || force) && s->fill_len > 0);
  int finish = s->finishing && (s->fd >= 0 || s->keep || flush);
  if (!flush && !finish) return;
  if (s->err && !s->finishing) return;
  s->job_bytes = 0;
  if (flush) { /* hand the filled buffer to the job; the old busy buffer becomes fill */
    char *b = s->busy;
    size_t cap = s->busy_cap;
    s->busy = s->fill;
    s->busy_cap = s->fill_cap;
    s->busy_len = s->err ? 0 : s->fill_len;
    s->job_bytes = s->fill_len;
    s->busy_off = s->off; /* split: where these bytes go in the file */
    s->off += s->fill_len;
    s->fill = b;
    s->fill_cap = cap;
    s->fill_len = 0;
  }
  lf__transfer_t *t = s->transfer;
  /* Named before the first job: mode 0 creates it, the others need it if the name is taken. */
  if (s->fd < 0 && !s->temp_name[0])
    snprintf(s->temp_name, sizeof(s->temp_name), ".lf-%ld-%llu.part", t->fetcher->pid,
             (unsigned long long)t->fetcher->temp_seq++);
  /* The job reads these copies: finishing/keep may change on this thread while it runs. */
  /* A name the name callback picked (final_name: a server's Content-Disposition, say) is not
   * the file the caller asked to replace: it replaces nothing either, or two pages a server
   * names alike at the same moment (two shards, one folder) would keep one (issue 28, item 5). */
  s->job_no_replace = (t->req->flags & LF_REQUEST_NO_REPLACE) != 0 || t->final_name != NULL;
  s->job_finishing = finish;
  s->job_keep = s->keep && finish && !s->err; /* a failed write never becomes the page */
  s->job_running = 1;
  lf__disk_submit(t->fetcher, s);
  lf__disk_start(t->fetcher);
}

static int over_budget(const lf__sink_t *s, size_t more) {
  return s->transfer->fetcher->buffered + more > LF__BUFFER_BUDGET;
}

/* A paused sink always has a job under way or gets resumed here, so none waits forever: with
 * nothing of its own buffered it resumes whatever the budget says. Called only from a job's
 * end (lf__sink_job_done), outside libcurl, where ending the transfer is allowed. */
static void resume_or_flush(lf__sink_t *s) {
  if (s->job_running) return;
  if (s->fill_len == 0 || (s->fill_len < LF__FLUSH_AT && !over_budget(s, 0))) {
    /* Resuming may call on_write right here, re-entering lf__sink_write: state is settled. */
    set_paused(s, 0);
    CURLcode rc = curl_easy_pause(s->transfer->easy, CURLPAUSE_CONT);
    if (rc != CURLE_OK) {
      /* The bytes handed back failed (a bomb past the size cap, say): libcurl 7.88 returns the
       * error here but leaves the transfer as it was, without reading or timing out until its
       * connect timer fires (30 s), so it ends now. Nothing of s is used after this call. */
      lf__transfer_t *t = s->transfer;
      if (t->range_cut) { /* not a failure: they reached its range's end (split.c), a success */
        lf__transfer_done(t, CURLE_OK);
        return;
      }
      lf__transfer_set_error(t, LF_ECURL, "curl_easy_pause: %s", curl_easy_strerror(rc));
      lf__transfer_done(t, rc);
    }
    return;
  }
  kick(s, 1);
}

static int pause_sink(lf__sink_t *s) {
  set_paused(s, 1);
  return 1;
}

int lf__sink_write(lf__sink_t *s, const char *data, size_t len) {
  if (s->err) return s->err;
  if (s->kind == LF_OUTPUT_CALLBACK) return lf__stream_write(s, data, len);
  /* HTTP/2 bodies are buffered rather than paused, but not without end: a decompression bomb
   * decodes far faster than the disk writes (40 bombs held 218 MB), so past LF__BUFFER_HARD
   * for all sinks together they pause too and pay libcurl's 1 s resume. */
  if (s->kind == LF_OUTPUT_FILE && s->never_pause && s->job_running &&
      s->transfer->fetcher->buffered + len > LF__BUFFER_HARD)
    return pause_sink(s); /* the running job's end resumes us */
  if (s->kind == LF_OUTPUT_FILE && !s->never_pause) {
    int over = over_budget(s, len);
    if (s->job_running && (s->fill_len + len > LF__FLUSH_AT || over))
      return pause_sink(s); /* the running job's end resumes us */
    if (over && s->fill_len > 0) {
      kick(s, 1); /* write what we hold, and wait for it */
      if (s->job_running) return pause_sink(s);
    }
  }
  int rc = append(s, data, len);
  if (rc < 0) {
    lf__transfer_set_error(s->transfer, rc, "out of memory buffering the body");
    return rc;
  }
  if (s->kind == LF_OUTPUT_FILE) {
    s->accounted += len;
    s->transfer->fetcher->buffered += len;
    kick(s, 0);
  }
  return 0;
}

void lf__sink_finish(lf__sink_t *s, int keep) {
  lf__transfer_t *t = s->transfer;
  s->finishing = 1;
  s->keep = keep;
  if (s->kind != LF_OUTPUT_FILE) { /* memory and callback bodies have nothing left to do */
    lf__fetcher_report(t);
    return;
  }
  /* A failed page is not written, only its temporary removed; but what a partial file (-C)
   * received is written: the next attempt continues after it. */
  if (!keep && !t->part.on) s->fill_len = 0;
  if (s->job_running) return; /* job_done continues */
  if (s->fd < 0 && !keep && !s->fill_len) {
    lf__fetcher_report(t);
    return;
  }
  kick(s, 0);
  if (!s->job_running) /* nothing to do on disk after all */
    lf__fetcher_report(t);
}
