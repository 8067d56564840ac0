/* Input lines read on the loop; see lines.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lines.h"

#define READ_CHUNK 65536

int lf__lines_open(lf__lines_t *l, uv_loop_t *loop, const char *path,
                   void (*on_ready)(lf__lines_t *l)) {
  memset(l, 0, sizeof(*l));
  l->loop = loop;
  l->on_ready = on_ready;
  l->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (l->fd < 0) return -errno;
  uv_handle_type t = uv_guess_handle(l->fd);
  l->is_stream = t == UV_NAMED_PIPE || t == UV_TTY || t == UV_TCP;
  return 0;
}

/* Room for at least `want` more bytes after len, moving the unread bytes to the front. */
static int make_room(lf__lines_t *l, size_t want) {
  if (l->start > 0) {
    memmove(l->buf, l->buf + l->start, l->len - l->start);
    l->len -= l->start;
    l->start = 0;
  }
  if (l->cap - l->len >= want + 1) return 0; /* + 1: the NUL after a last line */
  size_t cap = l->cap ? l->cap : READ_CHUNK;
  while (cap - l->len < want + 1)
    cap *= 2;
  char *b = realloc(l->buf, cap);
  if (!b) return UV_ENOMEM;
  l->buf = b;
  l->cap = cap;
  return 0;
}

static void stop_reading(lf__lines_t *l) {
  if (l->reading) uv_read_stop(&l->h.stream);
  l->reading = 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  lf__lines_t *l = h->data;
  (void)suggested;
  if (make_room(l, READ_CHUNK) < 0) {
    *buf = uv_buf_init(NULL, 0); /* on_read gets UV_ENOBUFS */
    return;
  }
  *buf = uv_buf_init(l->buf + l->len, (unsigned)(l->cap - l->len - 1));
}

/* Something for the consumer: a whole line, or enough of one to cut (or drop). */
static int has_line(const lf__lines_t *l) {
  size_t avail = l->len - l->start;
  return (l->max_line && (avail > l->max_line || (l->skipping && avail > 0))) ||
         memchr(l->buf + l->start + l->scanned, '\n', avail - l->scanned) != NULL;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  lf__lines_t *l = s->data;
  (void)buf;
  if (n < 0) {
    l->eof = 1;
    l->err = n == UV_EOF ? 0 : n == UV_ENOBUFS ? UV_ENOMEM : (int)n;
  } else {
    l->len += (size_t)n;
  }
  if (!l->eof && !has_line(l)) return; /* a line in the making: read on */
  stop_reading(l);                     /* the consumer takes the lines, then asks for more */
  l->on_ready(l);
}

static int open_handle(lf__lines_t *l) {
  if (uv_guess_handle(l->fd) == UV_TTY) {
    int rc = uv_tty_init(l->loop, &l->h.tty, l->fd, 1);
    l->h_open = rc == 0;
    return rc;
  }
  int rc = uv_pipe_init(l->loop, &l->h.pipe, 0);
  if (rc < 0) return rc;
  l->h_open = 1; /* closed by lf__lines_close, with the fd once the handle owns it */
  if ((rc = uv_pipe_open(&l->h.pipe, l->fd)) == 0) l->fd_in_h = 1;
  return rc;
}

static int start_reading(lf__lines_t *l) {
  int rc = 0;
  if (!l->h_open && (rc = open_handle(l)) < 0) return rc;
  l->h.handle.data = l;
  if ((rc = uv_read_start(&l->h.stream, on_alloc, on_read)) < 0) return rc;
  l->reading = 1;
  return 0;
}

/* A regular file: the next chunk, read at once. */
static void read_file(lf__lines_t *l) {
  int rc = make_room(l, READ_CHUNK);
  ssize_t n = rc < 0 ? -1 : read(l->fd, l->buf + l->len, l->cap - l->len - 1);
  while (n < 0 && rc == 0 && errno == EINTR)
    n = read(l->fd, l->buf + l->len, l->cap - l->len - 1);
  if (n > 0) {
    l->len += (size_t)n;
    return;
  }
  l->eof = 1;
  l->err = rc < 0 ? rc : n < 0 ? -errno : 0;
}

/* The rest of a cut line goes, up to and including its newline: 1 when it is gone. */
static int skip_rest(lf__lines_t *l) {
  size_t avail = l->len - l->start;
  char *nl = avail ? memchr(l->buf + l->start, '\n', avail) : NULL;
  l->start = nl ? (size_t)(nl - l->buf) + 1 : l->len;
  l->scanned = 0;
  l->skipping = !nl;
  return nl != NULL;
}

int lf__lines_next(lf__lines_t *l, char **line, size_t *len) {
  for (;;) {
    if (l->skipping) skip_rest(l);
    size_t avail = l->len - l->start;
    char *p = avail ? l->buf + l->start : NULL;
    char *nl = avail > l->scanned ? memchr(p + l->scanned, '\n', avail - l->scanned) : NULL;
    size_t n = nl ? (size_t)(nl - p) : avail;
    if (l->max_line && n > l->max_line && !l->skipping) { /* too long: its head, then drop */
      *len = l->max_line;
      p[*len] = '\0'; /* a byte of the dropped rest */
      l->start += nl ? n + 1 : avail;
      l->skipping = !nl;
      l->scanned = 0;
      l->cut = 1;
      *line = p;
      return 1;
    }
    if (!l->skipping && (nl || (l->eof && avail > 0))) { /* a line, or the last one */
      *len = n;
      p[*len] = '\0'; /* over the newline, or in the byte make_room keeps free */
      l->start += *len + (nl != NULL);
      l->scanned = 0;
      l->cut = 0;
      *line = p;
      return 1;
    }
    l->scanned = avail;
    if (l->eof) return -1;
    if (!l->is_stream) {
      read_file(l);
      continue;
    }
    if (!l->reading) {
      int rc = start_reading(l);
      if (rc < 0) {
        l->eof = 1;
        l->err = rc;
        continue;
      }
    }
    return 0;
  }
}

void lf__lines_close(lf__lines_t *l) {
  stop_reading(l);
  if (l->h_open) uv_close(&l->h.handle, NULL); /* with the fd, unless 0-2 (libuv's rule) */
  if (!l->fd_in_h && l->fd > 2) close(l->fd);
  l->h_open = l->fd_in_h = 0;
  l->fd = -1;
  l->eof = 1;
  free(l->buf);
  l->buf = NULL;
  l->start = l->len = l->cap = l->scanned = 0;
}
