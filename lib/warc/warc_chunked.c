/* De-chunking, for the one body libcurl reads but never hands to the write callback: a
 * redirect it follows (it reads the body to keep the connection, "ignorebody", and shows it
 * only to the debug callback, still chunked). Such bodies are small and whole in memory. */
#include <string.h>
#include "warc.h"

static int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The end of the line starting at p (just past its LF), or NULL if it has none. */
static const char *line_end(const char *p, const char *end) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl + 1 : NULL;
}

size_t lf__warc_dechunk(const char *in, size_t len, char *out, int *complete) {
  const char *p = in, *end = in + len;
  size_t n = 0;
  *complete = 0;
  while (p < end) {
    uint64_t size = 0;
    int digits = 0, d;
    while (p < end && (d = hex(*p)) >= 0) {
      if (size >> 60) return n; /* absurd size: malformed */
      size = size << 4 | (uint64_t)d;
      p++;
      digits++;
    }
    const char *next = digits ? line_end(p, end) : NULL; /* extensions end with the line */
    if (!next) return n;
    p = next;
    if (size == 0) { /* the last chunk: trailer fields up to an empty line */
      while (p < end) {
        const char *e = line_end(p, end);
        if (!e) return n;
        int empty = e - p == 1 || (e - p == 2 && p[0] == '\r');
        p = e;
        if (empty) {
          *complete = 1;
          return n;
        }
      }
      return n;
    }
    if ((uint64_t)(end - p) < size) { /* cut short: keep what came */
      memmove(out + n, p, (size_t)(end - p));
      return n + (size_t)(end - p);
    }
    memmove(out + n, p, (size_t)size);
    n += (size_t)size;
    p += size;
    if (p < end && *p == '\r') p++;
    if (p < end && *p == '\n') p++;
  }
  return n;
}
