/* The manifest file: safe opening, the lock, repair, the index of saved pages, leftovers.
 * See manifest.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "manifest.h"
#include "hmap.h"
#include "layout.h"
#include "record.h"
#include "safe_text.h"

/* Never through a symlink (O_NOFOLLOW), never waiting on a FIFO (O_NONBLOCK: the open returns
 * and fstat refuses it), always at the end (O_APPEND: records of a crashed run stay). */
#define OPEN_FLAGS (O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
#define MANIFEST_PREFIX "loopfetch-manifest"
#define MANIFEST_SUFFIX ".jsonl"

void lf__manifest_init(lf__manifest_t *m) {
  memset(m, 0, sizeof(*m));
  m->fd = -1;
}

/* ---- the lock ---- */

/* The process holding a flock on fd's file, from /proc/locks, or -1. flock() itself does not
 * say who holds a lock, and a POSIX lock (whose F_GETLK reports the pid) is dropped when the
 * process closes any descriptor of the file, so the lock is a flock and its holder is looked
 * up here. The pid is the locker's as this pid namespace sees it; 0 or -1 when it cannot. */
static long lock_holder(int fd) {
  struct stat st;
  FILE *f = fstat(fd, &st) == 0 ? fopen("/proc/locks", "re") : NULL;
  char line[256];
  long holder = -1;
  while (f && holder < 0 && fgets(line, sizeof(line), f)) {
    char kind[16];
    long pid;
    unsigned maj, min;
    unsigned long ino;
    if (strstr(line, "->")) continue; /* a waiter, not the holder */
    if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", kind, &pid, &maj, &min, &ino) == 5 &&
        strcmp(kind, "FLOCK") == 0 && ino == (unsigned long)st.st_ino)
      holder = pid; /* inode only: some file systems (btrfs) show another device number */
  }
  if (f) fclose(f);
  return holder;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *path, const char *why) {
  snprintf(err, errlen, fmt, path, why);
  return -1;
}

static int lock(int fd, const char *path, char *err, size_t errlen) {
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno != EWOULDBLOCK)
    return fail(err, errlen, "cannot lock manifest %s: %s", path, strerror(errno));
  long pid = lock_holder(fd);
  char who[48] = "a process not visible from here";
  if (pid > 0) snprintf(who, sizeof(who), "pid %ld", pid);
  return fail(err, errlen,
              "manifest %s is in use by another loopfetch run (%s); one run per manifest at a "
              "time (see --shard, --manifest)",
              path, who);
}

/* ---- repair ---- */

/* A run killed in the middle of a write leaves a last line without its newline: cut it off
 * (that record is lost; its page is fetched again). 1 if cut, 0 if whole, -1 on error. */
static int repair_tail(int fd) {
  struct stat st;
  char buf[65536];
  if (fstat(fd, &st) < 0) return -1;
  off_t end = st.st_size;
  if (end == 0) return 0;
  if (pread(fd, buf, 1, end - 1) != 1) return -1;
  if (buf[0] == '\n') return 0;
  while (end > 0) {
    size_t n = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;
    off_t off = end - (off_t)n;
    if (pread(fd, buf, n, off) != (ssize_t)n) return -1;
    for (size_t i = n; i-- > 0;)
      if (buf[i] == '\n') return ftruncate(fd, off + (off_t)i + 1) < 0 ? -1 : 1;
    end = off;
  }
  return ftruncate(fd, 0) < 0 ? -1 : 1;
}

int lf__manifest_open(lf__manifest_t *m, int dirfd, const char *out_dir, const char *user_path,
                      const char *default_name, int *repaired, char *err, size_t errlen) {
  *repaired = 0;
  if (user_path)
    m->path = strdup(user_path);
  else if (asprintf(&m->path, "%s/%s", out_dir, default_name) < 0)
    m->path = NULL;
  if (!m->path) return fail(err, errlen, "%s%s", "out of memory", "");
  int fd =
      user_path ? open(user_path, OPEN_FLAGS, 0644) : openat(dirfd, default_name, OPEN_FLAGS, 0644);
  if (fd < 0)
    return fail(err, errlen, "cannot open manifest %s: %s", m->path,
                errno == ELOOP ? "it is a symbolic link (never followed)" : strerror(errno));
  m->fd = fd;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return fail(err, errlen, "cannot open manifest %s: %s", m->path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail(err, errlen, "cannot open manifest %s: %s", m->path,
                "not a regular file (a FIFO, device or socket is never used)");
  if (lock(fd, m->path, err, errlen) < 0) return -1;
  int rc = repair_tail(fd); /* under the lock: nobody else writes it now */
  if (rc < 0) return fail(err, errlen, "cannot repair manifest %s: %s", m->path, strerror(errno));
  *repaired = rc;
  return 0;
}

/* ---- the index: name -> (URL, size) of the page last saved under it ---- */

static lf__saved_t *slot_of(const lf__manifest_t *m, uint64_t name_key) {
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)name_key & mask;; i = (i + 1) & mask)
    if (m->slots[i].name_key == name_key || m->slots[i].name_key == 0) return &m->slots[i];
}

static int grow(lf__manifest_t *m) {
  size_t cap = m->cap ? m->cap * 2 : 1024;
  lf__saved_t *old = m->slots;
  size_t old_cap = m->cap;
  if (!(m->slots = calloc(cap, sizeof(*m->slots)))) {
    m->slots = old;
    return LF_ENOMEM;
  }
  m->cap = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].name_key) *slot_of(m, old[i].name_key) = old[i];
  free(old);
  return 0;
}

static int has_userinfo(const char *url) {
  size_t off;
  return lf__url_userinfo(url, &off) != 0;
}

/* ---- the kept names: URL -> the record that gives its name ---- */

static lf__kept_t *kept_slot(const lf__manifest_t *m, uint64_t url_key) {
  size_t mask = m->kept_cap - 1;
  for (size_t i = (size_t)url_key & mask;; i = (i + 1) & mask)
    if (m->kept[i].url_key == url_key || m->kept[i].url_key == 0) return &m->kept[i];
}

static int kept_grow(lf__manifest_t *m) {
  size_t cap = m->kept_cap ? m->kept_cap * 2 : 1024, old_cap = m->kept_cap;
  lf__kept_t *old = m->kept;
  if (!(m->kept = calloc(cap, sizeof(*m->kept)))) {
    m->kept = old;
    return LF_ENOMEM;
  }
  m->kept_cap = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].url_key) *kept_slot(m, old[i].url_key) = old[i];
  free(old);
  return 0;
}

static int keep(lf__manifest_t *m, uint64_t url_key, uint64_t loc) {
  if ((m->kept_count + 1) * 4 > m->kept_cap * 3 && kept_grow(m) < 0) return LF_ENOMEM;
  url_key += !url_key; /* 0 marks a free slot */
  lf__kept_t *k = kept_slot(m, url_key);
  m->kept_count += k->url_key == 0;
  *k = (lf__kept_t){url_key, loc};
  return 0;
}

/* The name a record gives, in the set in its ".html" form (the form names are reserved in,
 * names.h): only the last component of a --layout path. */
static int seed_name(lf__manifest_t *m, const char *file) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  size_t n = strlen(base);
  char buf[LF_NAME_MAX + 8];
  if (!m->names || n == 0 || n > LF_NAME_MAX) return 0;
  memcpy(buf, base, n);
  if (n < 5 || memcmp(base + n - 5, ".html", 5) != 0) {
    memcpy(buf + n, ".html", 5);
    n += 5;
  }
  return lf__names_add_key(m->names, lf__hash64(buf, n)) < 0 ? LF_ENOMEM : 0;
}

/* One manifest line, at offset off of file m->nfds - 1. A saved record says what the name
 * holds now; a skipped (or, with --refresh, unchanged) one confirms it, and carries the size
 * since skipped records have it. Failed and interrupted pages never touched the final name. */
static int add_line(lf__manifest_t *m, char *line, uint64_t off) {
  int confirms = strstr(line, "\"status\":\"unchanged\"") != NULL; /* issue-14's --refresh */
  lf__record_t r;
  if (lf__record_parse_json(line, &r) < 0 || !r.file || !r.url) return 0;
  confirms |= r.status == LF_REC_SKIPPED;
  if (r.status != LF_REC_SAVED && !confirms) return 0;
  if (!lf__layout_path_ok(r.file)) return 0; /* planted: no page of ours is there */
  if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0) return LF_ENOMEM;
  uint64_t name_key = lf__text_key(r.file), id = lf__url_key(r.url);
  /* A URL with a password is its url_id: its shown form ("***@") is every user's, and an
   * older record without one cannot tell which user's page it is. */
  if (has_userinfo(r.url) && (!r.url_id || !lf__url_id_parse(r.url_id, &id))) return 0;
  uint32_t url_key = (uint32_t)id;
  int rc = seed_name(m, r.file);
  if (rc == 0 && off < (UINT64_C(1) << 48)) rc = keep(m, id, (uint64_t)(m->nfds - 1) << 48 | off);
  if (rc < 0) return rc;
  name_key += !name_key; /* 0 marks a free slot */
  lf__saved_t *s = slot_of(m, name_key);
  if (confirms && (s->name_key ? s->url_key == url_key : r.bytes == 0))
    return 0; /* nothing new, or an old record without the size */
  m->count += s->name_key == 0;
  *s = (lf__saved_t){name_key, url_key, (uint32_t)r.bytes};
  return 0;
}

static int add_line_cb(void *arg, char *line, size_t len, uint64_t off) {
  (void)len;
  return line ? add_line(arg, line, off) : 0; /* a line over the cap is no record */
}

static int tick(void *arg) {
  lf__manifest_t *m = arg;
  return m->stop ? m->stop(m->stop_arg) : 0;
}

/* Every whole line of fd; a last line without its newline is being written (a shard at work)
 * or torn, and is left out. A read error: what was read is all we know. fd is kept (in
 * m->fds, closed by lf__manifest_close), so that a kept name can be read again. */
static int load_fd(lf__manifest_t *m, int fd) {
  int partial;
  if (m->nfds >= 65535) return 0; /* loc holds 16 bits of file index */
  int *fds = realloc(m->fds, (m->nfds + 1) * sizeof(*fds));
  if (!fds) return LF_ENOMEM;
  m->fds = fds;
  if ((m->fds[m->nfds] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) return 0;
  m->nfds++;
  int rc = lf__manifest_each_line(fd, add_line_cb, tick, m, &partial);
  return rc > 0 || rc == LF_ENOMEM ? rc : 0; /* stopped, or out of memory */
}

/* A directory stream over dirfd's folder, from its start: a dup shares the offset, which an
 * earlier scan left at the end. */
static DIR *open_folder(int dirfd) {
  int fd = dup(dirfd); /* closedir() closes the descriptor it reads */
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d && fd >= 0) close(fd);
  if (d) rewinddir(d);
  return d;
}

static int is_manifest_name(const char *name) {
  size_t n = strlen(name), p = strlen(MANIFEST_PREFIX), s = strlen(MANIFEST_SUFFIX);
  return n >= p + s && strncmp(name, MANIFEST_PREFIX, p) == 0 &&
         strcmp(name + n - s, MANIFEST_SUFFIX) == 0;
}

/* Whether pid is a process of this machine that may still write files. A zombie may not: a
 * worker killed with its parent stays one until init reaps it, which can be after the next run
 * has started, and its temporaries must go all the same. EPERM: alive, but not ours. */
static int pid_alive(long pid) {
  if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) return 0;
  char path[48], buf[256];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT; /* no /proc: trust kill() */
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 1;
  buf[n] = '\0';
  const char *paren = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold spaces */
  return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

/* A run holds this other manifest, and that run is not a process of this machine (another
 * host on a shared file system, another pid namespace): its temporaries must be left alone. */
static int held_unseen(int fd) {
  if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
    flock(fd, LOCK_UN);
    return 0;
  }
  long pid = lock_holder(fd);
  return pid <= 0 || !pid_alive(pid);
}

int lf__manifest_load(lf__manifest_t *m, int dirfd) {
  struct stat own;
  int rc = m->fd >= 0 ? load_fd(m, m->fd) : 0;
  if (rc != 0 || (m->fd >= 0 && fstat(m->fd, &own) < 0)) return rc;
  DIR *d = open_folder(dirfd);
  if (!d) return 0; /* an unreadable folder: nothing to skip */
  struct dirent *e;
  while (rc == 0 && (e = readdir(d))) {
    if (!is_manifest_name(e->d_name)) continue;
    int fd = lf__manifest_open_read(dirfd, e->d_name); /* a regular file, or nothing */
    struct stat st;
    if (fd < 0) continue;
    if (fstat(fd, &st) == 0 && (m->fd < 0 || st.st_ino != own.st_ino || st.st_dev != own.st_dev)) {
      m->other_unseen |= held_unseen(fd);
      rc = load_fd(m, fd);
    }
    close(fd);
  }
  closedir(d);
  return rc;
}

/* The key a URL has in both indexes: its url_id if it holds a password (none without the
 * folder's key: such a URL is then never found), else the hash of its shown form. 0: none. */
static uint64_t url_key_of(const lf__manifest_t *m, const char *url) {
  if (!has_userinfo(url)) return lf__url_key(url);
  if (!m->urlkey || m->urlkey->state != 1) return 0;
  return lf__url_id(m->urlkey, url, NULL);
}

int lf__manifest_lookup(const lf__manifest_t *m, const char *url, const char *name,
                        uint64_t *bytes) {
  if (m->count == 0) return 0;
  uint64_t name_key = lf__text_key(name), key = url_key_of(m, url);
  name_key += !name_key;
  const lf__saved_t *s = slot_of(m, name_key);
  if (key == 0 || s->name_key == 0 || s->url_key != (uint32_t)key) return 0;
  *bytes = s->bytes;
  return 1;
}

/* The line at loc, read again (at most LF_MANIFEST_LINE_MAX): a new string, or NULL. */
static char *read_line_at(const lf__manifest_t *m, uint64_t loc) {
  size_t file = (size_t)(loc >> 48), cap = 4096, len = 0;
  off_t off = (off_t)(loc & ((UINT64_C(1) << 48) - 1));
  if (file >= m->nfds) return NULL;
  char *buf = malloc(cap + 1), *nl = NULL;
  while (buf && !nl) {
    ssize_t n = pread(m->fds[file], buf + len, cap - len, off + (off_t)len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    nl = memchr(buf + len, '\n', (size_t)n);
    len += (size_t)n;
    if (!nl && len == cap) {
      char *b = cap < LF_MANIFEST_LINE_MAX ? realloc(buf, cap * 2 + 1) : NULL;
      if (!b) break;
      buf = b;
      cap *= 2;
    }
  }
  if (!nl) {
    free(buf);
    return NULL;
  }
  *nl = '\0';
  return buf;
}

int lf__manifest_holds(const lf__manifest_t *m, const char *name) {
  if (m->count == 0) return 0;
  uint64_t name_key = lf__text_key(name);
  return slot_of(m, name_key + !name_key)->name_key != 0;
}

int lf__manifest_kept_name(const lf__manifest_t *m, const char *url, char *out) {
  uint64_t key = url_key_of(m, url);
  if (m->kept_count == 0 || key == 0) return 0;
  const lf__kept_t *k = kept_slot(m, key + !key);
  if (k->url_key == 0) return 0;
  char *line = read_line_at(m, k->loc);
  lf__record_t r;
  int ok = line && lf__record_parse_json(line, &r) == 0 && r.file && lf__layout_path_ok(r.file);
  if (ok) { /* still its name: the name's last record is this URL's */
    uint64_t name_key = lf__text_key(r.file);
    const lf__saved_t *s = m->count ? slot_of(m, name_key + !name_key) : NULL;
    ok = s && s->name_key && s->url_key == (uint32_t)key;
  }
  if (ok) memcpy(out, r.file, strlen(r.file) + 1); /* at most LF_PATH_MAX: path_ok */
  free(line);
  return ok;
}

/* ---- leftovers ---- */

/* The pid in a temporary's name ".lf-PID-....part" (lib/engine/sink.c), or 0. */
static long temporary_pid(const char *name) {
  size_t n = strlen(name);
  if (strncmp(name, ".lf-", 4) != 0 || n < 10 || strcmp(name + n - 5, ".part") != 0) return 0;
  char *end;
  long pid = strtol(name + 4, &end, 10);
  return *end == '-' && pid > 0 ? pid : 0;
}

size_t lf__manifest_remove_leftovers(const lf__manifest_t *m, int dirfd, long own_pid) {
  if (m->other_unseen) return 0;
  DIR *d = open_folder(dirfd);
  if (!d) return 0;
  size_t removed = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    long pid = temporary_pid(e->d_name);
    /* A process alive here (or one we may not signal: EPERM) may still be writing it. */
    if (pid == 0 || pid == own_pid || pid_alive(pid)) continue;
    removed += unlinkat(dirfd, e->d_name, 0) == 0;
  }
  closedir(d);
  return removed;
}

void lf__manifest_close(lf__manifest_t *m) {
  if (m->fd >= 0) close(m->fd);
  for (size_t i = 0; i < m->nfds; i++)
    close(m->fds[i]);
  free(m->fds);
  free(m->kept);
  m->fd = -1;
  free(m->path);
  free(m->slots);
  lf__manifest_init(m);
}
