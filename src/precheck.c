/* Checks made before the first request, so that a job that cannot save anything stops at once
 * with one line instead of fetching every page to fail each one: the output folder exists (or
 * can be created), is a folder and takes a new file; the CA file can be read (the manifest
 * is opened and locked before the first request by manifest.c). Nothing is created: the probe file
 * is removed again, a missing folder is only checked for in its nearest existing parent. Exit 5
 * (local error) on any failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "errmsg.h"

/* Creates and removes a file in dir: the only check that also holds for ACLs, read-only mounts
 * and root (access(2) answers for the real user and ignores read-only file systems). */
static int probe_writable(const char *dir) {
  char path[4300];
  if ((size_t)snprintf(path, sizeof(path), "%s/.lf-probe-%ld", dir, (long)getpid()) >= sizeof(path))
    return -ENAMETOOLONG;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  close(fd);
  return unlink(path) < 0 ? -errno : 0;
}

/* The folder itself if it exists, else its nearest existing parent, into buf. 0 or -errno. */
static int nearest_existing(const char *path, char *buf, size_t len, int *exists) {
  struct stat st;
  snprintf(buf, len, "%s", path);
  *exists = 1;
  for (;;) {
    if (stat(buf, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    if (errno != ENOENT) return -errno;
    *exists = 0;
    char *slash = strrchr(buf, '/');
    while (slash && slash > buf && slash[1] == '\0') { /* "a/b/": drop the trailing slash */
      *slash = '\0';
      slash = strrchr(buf, '/');
    }
    if (!slash) {
      snprintf(buf, len, ".");
    } else if (slash == buf) {
      buf[1] = '\0';
    } else {
      *slash = '\0';
    }
  }
}

static int check_folder(const char *dir) {
  char near[4200];
  int exists;
  int rc = nearest_existing(dir, near, sizeof(near), &exists);
  if (rc == 0) rc = probe_writable(near);
  if (rc == 0) return 0;
  if (exists || rc == -ENOTDIR)
    lf__error("cannot use output folder %s: %s", dir, strerror(-rc));
  else
    lf__error("cannot create output folder %s in %s: %s", dir, near, strerror(-rc));
  return LF_EXIT_LOCAL;
}

static int check_cacert(const char *path) {
  if (!path) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  int rc = fd < 0 ? -errno : fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
  char byte;
  if (rc == 0 && read(fd, &byte, 1) < 0) rc = -errno;
  if (fd >= 0) close(fd);
  if (rc == 0) return 0;
  lf__error("cannot read --cacert %s: %s", path, strerror(-rc));
  return LF_EXIT_LOCAL;
}

/* --warc-file NAME: NAME's folder must exist and take new files (the library creates the
 * first file when the fetcher starts; its error would name no option). */
static int check_warc_folder(const lf_warc_options_t *w) {
  if (!w) return 0;
  char dir[4200];
  const char *slash = strrchr(w->name, '/');
  if (slash)
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - w->name) + 1, w->name);
  else
    snprintf(dir, sizeof(dir), ".");
  struct stat st;
  int rc = stat(dir, &st) < 0 ? -errno : !S_ISDIR(st.st_mode) ? -ENOTDIR : probe_writable(dir);
  if (rc == 0) return 0;
  lf__error("cannot write --warc-file %s into the folder %s: %s", w->name, dir, strerror(-rc));
  return LF_EXIT_LOCAL;
}

int lf__precheck(const lf_cli_t *cfg) {
  if (cfg->mode == LF_MODE_WORKER) return 0; /* its parent checked */
  int rc = check_cacert(cfg->fetch.cacert);
  if (rc == 0) rc = lf__secrets_check_netrc(cfg);
  if (rc == 0) rc = lf__secrets_check_cookies(cfg);
  if (rc || cfg->links_only) return rc; /* --links writes nothing */
  /* The manifest is opened and locked (manifest.c) before the first request too, without
   * ever blocking on a FIFO or following a symlink: no second look at it here. */
  rc = check_folder(cfg->out_dir);
  return rc ? rc : check_warc_folder(cfg->fetch.warc);
}
