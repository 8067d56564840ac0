/* Fatal error lines, remembered for --json (errmsg.h). */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

static char first[1024];
static int have_first;

void lf__error(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  fprintf(stderr, "loopfetch: %s\n", line);
  if (have_first) return;
  snprintf(first, sizeof(first), "%s", line);
  have_first = 1;
}

const char *lf__first_error(void) {
  return have_first ? first : NULL;
}

void lf__json_put_str(const char *s) {
  if (!s) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}
