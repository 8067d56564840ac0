/* What is the same for every fetcher of the process: the version, the ABI rules the header
 * promises (include/loopfetch.h, "ABI and versions"), and libcurl's global initialisation. */
#include <limits.h>
#include "internal.h"

const char *lf_version(void) {
  return LOOPFETCH_VERSION;
}

unsigned lf_version_num(void) {
  return LOOPFETCH_VERSION_HEX;
}

/* Structs the caller allocates never change size; a new field takes reserved slots. Checked
 * where the sizes are known (LP64: Linux, BSD, macOS). */
#if UINTPTR_MAX == UINT64_MAX && ULONG_MAX == UINT64_MAX
_Static_assert(sizeof(lf_request_t) == 80, "lf_request_t changed size: take reserved slots");
_Static_assert(sizeof(lf_options_t) == 192, "lf_options_t changed size: take reserved slots");
#endif

/* A reserved slot that is not zero is a field this library does not know (a newer caller):
 * refused rather than ignored. */
int lf__reserved_zero(void *const *slots, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (slots[i]) return 0;
  return 1;
}

/* libcurl is initialised once per process. curl_global_init() is thread-safe only where
 * libcurl was built with atomics (CURL_VERSION_THREADSAFE, 7.84+; Debian's 7.88 is), and
 * pairing it with curl_global_cleanup() per fetcher made every close tear down OpenSSL for
 * the next fetcher to set up again; so: once, under uv_once, never cleaned up (see "Threads"
 * in loopfetch.h). */
static uv_once_t global_once = UV_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int lf__global_init(void) {
  uv_once(&global_once, global_init);
  return global_rc == CURLE_OK ? 0 : LF_ECURL;
}
