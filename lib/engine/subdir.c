/* Subfolders of the output folder, for file names like "ab/cd/page.html" (a layout that keeps
 * a million pages out of one folder). Each component is opened with O_NOFOLLOW: a symlink
 * planted in the output folder, even as a folder, is never followed, so nothing is written
 * outside it. Missing folders are created (0755), on the thread pool like the rest of the file
 * work. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

/* The folder of path's last component, opened under dirfd, and *base pointed at that last
 * component; missing folders are made when create is set. Symlinks are never followed. Without
 * a '/' in path: dirfd itself (not to be closed). -1 with errno set. */
static int walk(int dirfd, const char *path, const char **base, int create) {
  const char *slash = strrchr(path, '/');
  *base = path;
  if (!slash) return dirfd;
  char comp[256];
  int fd = dirfd;
  for (const char *p = path; p < slash;) {
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= sizeof(comp)) {
      errno = EINVAL;
      goto fail;
    }
    memcpy(comp, p, n);
    comp[n] = '\0';
    int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && create && errno == ENOENT && (mkdirat(fd, comp, 0755) == 0 || errno == EEXIST))
      next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) goto fail;
    if (fd != dirfd) close(fd);
    fd = next;
    p += n + 1;
  }
  *base = slash + 1;
  return fd;
fail:
  if (fd != dirfd) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
  return -1;
}

int lf__subdir_open(int dirfd, const char *path, const char **base) {
  return walk(dirfd, path, base, 1);
}

/* resume.c names the partial files by *base before it knows whether the folder exists: the
 * last component, whatever the walk found. */
int lf__subdir_find(int dirfd, const char *path, const char **base) {
  int fd = walk(dirfd, path, base, 0);
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  return fd;
}
