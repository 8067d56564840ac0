/* The file work of one saved page, both ways lib/engine/sink.c can do it, timed in kernel CPU:
 *   tmpfile: openat(O_TMPFILE) + write + linkat(AT_EMPTY_PATH) + close   (link_mode 1)
 *   rename:  openat(O_CREAT|O_EXCL, temp name) + write + close + renameat  (link_mode 0)
 *
 *   create_modes MODE DIR COUNT SIZE     prints: MODE COUNT sys_s user_s wall_s
 *
 * DIR must exist and be empty; the files stay (the driver, bench_create.py, removes them). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t) {
  return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static void die(const char *what, int i) {
  fprintf(stderr, "create_modes: %s (file %d): ", what, i);
  perror(NULL);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: create_modes tmpfile|rename DIR COUNT SIZE\n");
    return 2;
  }
  int tmpfile = strcmp(argv[1], "tmpfile") == 0, count = atoi(argv[3]);
  size_t size = (size_t)atol(argv[4]);
  char *body = malloc(size), name[64], temp[64];
  int dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (!body || dirfd < 0) die("setup", 0);
  memset(body, 'x', size);
  struct rusage r0, r1;
  struct timespec w0, w1;
  clock_gettime(CLOCK_MONOTONIC, &w0);
  getrusage(RUSAGE_SELF, &r0);
  for (int i = 0; i < count; i++) {
    snprintf(name, sizeof(name), "p%d.html", i);
    int fd;
    if (tmpfile) {
      if ((fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644)) < 0) die("open", i);
      if (write(fd, body, size) != (ssize_t)size) die("write", i);
      if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) < 0) die("linkat", i);
      if (close(fd) < 0) die("close", i);
    } else {
      snprintf(temp, sizeof(temp), ".lf-%d-%d.part", (int)getpid(), i);
      fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd < 0) die("open", i);
      if (write(fd, body, size) != (ssize_t)size) die("write", i);
      if (close(fd) < 0) die("close", i);
      if (renameat(dirfd, temp, dirfd, name) < 0) die("renameat", i);
    }
  }
  getrusage(RUSAGE_SELF, &r1);
  clock_gettime(CLOCK_MONOTONIC, &w1);
  printf("%s %d %.4f %.4f %.4f\n", argv[1], count, tv(r1.ru_stime) - tv(r0.ru_stime),
         tv(r1.ru_utime) - tv(r0.ru_utime),
         (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
  return 0;
}
