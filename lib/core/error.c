/* Error codes to text: ours from LF_ERRNO_MAP, libuv's from UV_ERRNO_MAP. Only codes known here
 * go to uv_strerror(): for any other it formats "Unknown system error N" into a fresh malloc()
 * that nobody frees (libuv 1.44), where the header promises a static string. */
#include "loopfetch.h"

const char *lf_strerror(int err) {
  switch (err) {
#define LF__ERR_CASE(name, value, text)                                                            \
  case LF_##name:                                                                                  \
    return text;
    LF_ERRNO_MAP(LF__ERR_CASE)
#undef LF__ERR_CASE
#define LF__UV_CASE(name, text)                                                                    \
  case UV_##name:                                                                                  \
    return uv_strerror(err);
    UV_ERRNO_MAP(LF__UV_CASE)
#undef LF__UV_CASE
  case 0:
    return "success";
  default:
    return "unknown error";
  }
}
