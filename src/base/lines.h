/* Input lines (-i FILE or -i -, and a worker's stdin), read without blocking the loop.
 * A pipe, socket or terminal is read through libuv (uv_pipe_t, uv_tty_t), so pages start as
 * lines arrive and signals are handled while the writer is silent; a regular file (or
 * /dev/null) is read with read(2), which never waits for long. Reading stops while complete
 * lines wait to be taken (back-pressure): memory holds one read chunk and the longest line,
 * whatever the size of the input. */
#ifndef LF_LINES_H
#define LF_LINES_H

#include <stddef.h>
#include <uv.h>

typedef struct lf__lines_s lf__lines_t;
struct lf__lines_s {
  uv_loop_t *loop;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } h;
  int fd;
  int is_stream; /* read through h */
  int h_open;    /* h initialized, not yet closed */
  int fd_in_h;   /* h owns fd (closes it) */
  int reading;   /* uv_read_start is in effect */
  int eof, err;  /* err: a negated errno (libuv's codes), 0 at a clean end */
  char *buf;     /* unread bytes: buf[start, len) */
  size_t start, len, cap;
  size_t scanned;                   /* bytes after start known to hold no newline */
  size_t max_line;                  /* 0: none; a longer line comes cut to this, with cut set */
  int cut;                          /* the line just returned was longer: its first bytes */
  int skipping;                     /* dropping the rest of a cut line, up to its newline */
  void (*on_ready)(lf__lines_t *l); /* lines (or the end) arrived */
  void *data;
};

/* Opens path ("-": stdin) on loop (which may be initialized later, before the first next).
 * Returns 0 or a negated errno. */
int lf__lines_open(lf__lines_t *l, uv_loop_t *loop, const char *path,
                   void (*on_ready)(lf__lines_t *l));
/* 1: *line is the next line, NUL-terminated, *len bytes (it may hold NUL bytes itself), valid
 * until the next call; with max_line set, a longer line comes as its first max_line bytes
 * with l->cut set, and the rest of it is read and dropped (memory stays O(max_line)). 0: none yet;
 * on_ready is called when there is. -1: the end (l->err says whether by an error). */
int lf__lines_next(lf__lines_t *l, char **line, size_t *len);
/* Stops reading and releases everything (the handle closes on the loop). */
void lf__lines_close(lf__lines_t *l);

#endif
