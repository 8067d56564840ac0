/* Failures explained with the option that changes them (hint.h). */
#include "hint.h"

#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

const char *lf__hint_error(const lf_result_t *r, uint64_t max_size, char *buf, size_t len) {
  if (!r->error) return NULL;
  if (r->status == LF_ETOOBIG && strncmp(r->error, "body exceeds the size limit", 27) == 0) {
    snprintf(buf, len,
             "body exceeds the size limit, --max-size (%llu bytes): raise --max-size to save it",
             (unsigned long long)(max_size ? max_size : LF_DEFAULT_MAX_SIZE));
    return buf;
  }
  if (r->error_class == LF_ERR_TLS && r->curl_code == CURLE_PEER_FAILED_VERIFICATION) {
    snprintf(buf, len,
             "%s (TLS verification failed: if the server's certificate comes from your own CA, "
             "give its certificate with --cacert FILE)",
             r->error);
    return buf;
  }
  if (r->curl_code == CURLE_TOO_MANY_REDIRECTS) {
    snprintf(buf, len, "%s (--max-redirs allows more)", r->error);
    return buf;
  }
  return r->error;
}
