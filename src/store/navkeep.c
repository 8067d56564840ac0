/* A crawl's navigation pages, kept for reruns (navkeep.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hmap.h"
#include "navkeep.h"

#define MAGIC "LFNAV1"

static void file_name(const char *url, char out[32]) {
  snprintf(out, 32, "%016" PRIx64 ".links", lf__hash64(url, strlen(url)));
}

/* The reserved folder, made when create is set. A descriptor, or a negative errno. */
static int open_dir(int dirfd, int create) {
  int fd = openat(dirfd, LF_NAVKEEP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    if (mkdirat(dirfd, LF_NAVKEEP_DIR, 0700) < 0 && errno != EEXIST) return -errno;
    fd = openat(dirfd, LF_NAVKEEP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  return fd < 0 ? -errno : fd;
}

static void put_line(FILE *f, char kind, const char *url) {
  if (!strpbrk(url, "\t\r\n")) fprintf(f, "%c\t%s\n", kind, url);
}

int lf__navkeep_write(int dirfd, const char *url, uint64_t key, char *const *links, size_t n,
                      char *const *next, size_t nn, size_t matched, size_t too_long) {
  if (strpbrk(url, "\t\r\n")) return -EINVAL;
  int dfd = open_dir(dirfd, 1);
  if (dfd < 0) return dfd;
  char name[32], tmp[64];
  file_name(url, name);
  snprintf(tmp, sizeof(tmp), ".tmp-%ld-%s", (long)getpid(), name);
  int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f) {
    int rc = -errno;
    if (fd >= 0) close(fd);
    close(dfd);
    return rc;
  }
  fprintf(f, MAGIC "\t%016" PRIx64 "\t%s\nM\t%zu\t%zu\n", key, url, matched, too_long);
  for (size_t i = 0; i < n; i++)
    put_line(f, 'L', links[i]);
  for (size_t i = 0; i < nn; i++)
    put_line(f, 'X', next[i]);
  fputs("E\n", f);
  int rc = ferror(f) ? -EIO : 0;
  if (fclose(f) != 0 && rc == 0) rc = -errno;
  if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0) rc = -errno;
  if (rc < 0) (void)unlinkat(dfd, tmp, 0);
  close(dfd);
  return rc;
}

/* Whether fd's file ends with the "E" line written last. */
static int whole(int fd) {
  struct stat st;
  char end[3];
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 3 &&
         pread(fd, end, 3, st.st_size - 3) == 3 && memcmp(end, "\nE\n", 3) == 0;
}

int lf__navkeep_read(int dirfd, const char *url, uint64_t key,
                     int (*cb)(void *arg, char kind, const char *value), void *arg) {
  int dfd = open_dir(dirfd, 0);
  if (dfd < 0) return dfd == -ENOENT ? 0 : dfd;
  char name[32];
  file_name(url, name);
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  close(dfd);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  FILE *f = whole(fd) ? fdopen(fd, "r") : NULL;
  if (!f) {
    close(fd);
    return 0;
  }
  char *line = NULL, head[64];
  size_t cap = 0;
  ssize_t len;
  int rc = 0, first = 1;
  snprintf(head, sizeof(head), MAGIC "\t%016" PRIx64 "\t", key);
  while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
    if (line[len - 1] == '\n') line[--len] = '\0';
    if (first) { /* this URL's, with these selectors: else not ours to use */
      first = 0;
      if (strncmp(line, head, strlen(head)) != 0 || strcmp(line + strlen(head), url) != 0) break;
      continue;
    }
    if (strcmp(line, "E") == 0) {
      rc = 1;
      break;
    }
    if (len < 2 || line[1] != '\t' || !strchr("MLX", line[0])) break;
    rc = cb(arg, line[0], line + 2);
  }
  free(line);
  fclose(f);
  return rc;
}

void lf__navkeep_remove(int dirfd) {
  int dfd = open_dir(dirfd, 0);
  DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
  if (!d) {
    if (dfd >= 0) close(dfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if ((n > 6 && strcmp(e->d_name + n - 6, ".links") == 0) || strncmp(e->d_name, ".tmp-", 5) == 0)
      (void)unlinkat(dfd, e->d_name, 0); /* if one stays, so does the folder */
  }
  closedir(d);
  (void)unlinkat(dirfd, LF_NAVKEEP_DIR, AT_REMOVEDIR);
}
