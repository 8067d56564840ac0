/* The program's fatal error lines: printed on stderr as "loopfetch: ...", and the first one
 * kept, so that --json can put it into the one object it prints whatever the exit status. */
#ifndef LF_ERRMSG_H
#define LF_ERRMSG_H

#include <stddef.h>

/* Prints "loopfetch: <fmt...>\n" on stderr and remembers the first such line (without the
 * prefix). */
void lf__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first line lf__error() printed, or NULL. */
const char *lf__first_error(void);
/* Writes s as a JSON string (quotes included) to stdout; NULL prints null. */
void lf__json_put_str(const char *s);

#endif
