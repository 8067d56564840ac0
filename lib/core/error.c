/* Error codes to text: ours from LF_ERRNO_MAP, everything else is libuv's. */
#include "loopfetch.h"

const char *lf_strerror(int err) {
  switch (err) {
#define LF__ERR_CASE(name, value, text)                                                            \
  case LF_##name:                                                                                  \
    return text;
    LF_ERRNO_MAP(LF__ERR_CASE)
#undef LF__ERR_CASE
  case 0:
    return "success";
  default:
    return uv_strerror(err);
  }
}
