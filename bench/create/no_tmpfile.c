/* LD_PRELOAD shim for bench_create.py: openat() with O_TMPFILE fails with EOPNOTSUPP, as on a
 * file system without it, so loopfetch's probe (lib/engine/sink.c lf__sink_link_mode) falls back to
 * temporary names + rename. Everything else goes to libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

static int (*real)(int, const char *, int, ...);

int openat(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | __O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if ((flags & O_TMPFILE) == O_TMPFILE) {
    errno = EOPNOTSUPP;
    return -1;
  }
  if (!real) real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
  return real(dirfd, path, flags, mode);
}

/* Programs built with _FILE_OFFSET_BITS=64 call openat64. */
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));
