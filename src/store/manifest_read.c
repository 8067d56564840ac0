/* Reading a manifest that may be hostile: every reader of manifests (the run's index of saved
 * pages, --refresh, `loopfetch status`) opens and reads them here, the same way.
 *
 * A manifest is a file in a folder other people and other runs can write to, so a planted one
 * may be a symlink (to /dev/zero, to another user's file), a FIFO nobody writes to, or one line
 * of a gigabyte. It is opened without following a symlink (O_NOFOLLOW), without waiting on a
 * FIFO (O_NONBLOCK: the open returns, and fstat refuses anything but a regular file), and read
 * in pieces with a cap on a line's length: a longer line is skipped (reported as a NULL line),
 * never held whole. A real record is a few hundred bytes; the cap leaves room for URLs and
 * validators far longer than any server takes. See manifest.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loopfetch.h"
#include "manifest.h"

#define READ_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
#define CHUNK 65536

int lf__manifest_open_read(int dirfd, const char *path) {
  int fd = openat(dirfd, path, READ_FLAGS);
  if (fd < 0) return -errno;
  struct stat st;
  int err = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : LF__ENOTREG;
  if (err) close(fd);
  return err ? err : fd;
}

const char *lf__manifest_read_error(int err) {
  if (err == -ELOOP) return "it is a symbolic link (never followed)";
  if (err == LF__ENOTREG) return "not a regular file (a FIFO, device or socket is never read)";
  return strerror(-err);
}

/* The lines of buf[0..*len): each whole one to fn, the rest moved to the front. In skip mode
 * (a line over the cap is being passed over) bytes up to the next newline are dropped. */
static int split(char *buf, size_t *len, uint64_t *off, int *skipping, lf__manifest_line_cb fn,
                 void *arg) {
  char *start = buf, *end = buf + *len, *nl;
  int rc = 0;
  while (rc == 0 && (nl = memchr(start, '\n', (size_t)(end - start)))) {
    *nl = '\0';
    rc = *skipping ? fn(arg, NULL, 0, *off) : fn(arg, start, (size_t)(nl - start), *off);
    *skipping = 0;
    *off += (uint64_t)(nl + 1 - start); /* a skipped line's start is not known: not used */
    start = nl + 1;
  }
  *len = (size_t)(end - start);
  memmove(buf, start, *len);
  return rc;
}

int lf__manifest_each_line(int fd, lf__manifest_line_cb fn, int (*tick)(void *arg), void *arg,
                           int *partial) {
  size_t cap = CHUNK, len = 0;
  char *buf = malloc(cap + 1);
  off_t pos = 0;
  uint64_t line_off = 0; /* where buf[0] is in the file */
  int rc = buf ? 0 : LF_ENOMEM, skipping = 0;
  *partial = 0;
  while (rc == 0) {
    if (len == cap && cap < LF_MANIFEST_LINE_MAX) { /* a long line, under the cap: room */
      size_t ncap = cap * 2 > LF_MANIFEST_LINE_MAX ? LF_MANIFEST_LINE_MAX : cap * 2;
      char *b = realloc(buf, ncap + 1);
      if (!b) {
        rc = LF_ENOMEM;
        break;
      }
      buf = b;
      cap = ncap;
    } else if (len == cap) { /* over the cap: pass over the rest of the line */
      skipping = 1;
      line_off += len;
      len = 0;
    }
    ssize_t n = pread(fd, buf + len, cap - len, pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0) break;
    pos += n;
    len += (size_t)n;
    rc = split(buf, &len, &line_off, &skipping, fn, arg);
    if (rc == 0 && tick) rc = tick(arg);
  }
  /* A last line without its newline is being written (a run at work) or was torn. */
  *partial = rc == 0 && (len > 0 || skipping);
  free(buf);
  return rc;
}
