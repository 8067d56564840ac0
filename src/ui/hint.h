/* What to do about a failure, said with the option that does it: the library's line for a
 * result, with the command line's remedy added where there is one (--max-size, --cacert,
 * --max-redirs). */
#ifndef LF_HINT_H
#define LF_HINT_H

#include <stddef.h>
#include "loopfetch.h"

/* r->error, or that line with a hint naming the option, written into buf (len bytes).
 * max_size: --max-size as given (0: the default). */
const char *lf__hint_error(const lf_result_t *r, uint64_t max_size, char *buf, size_t len);

#endif
