/* lf_options_t.http: proxies and credentials, copied when the fetcher is made and set on each
 * new easy handle. libcurl does the work (CURLOPT_PROXY*, CURLOPT_USERPWD, CURLOPT_NETRC*);
 * this file only copies the caller's strings and hands them on. */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* Copies in->http's strings into one block owned by the fetcher (f->http_strings). */
int lf__http_copy(lf_fetcher_t *f, const lf_http_options_t *in) {
  memset(&f->http, 0, sizeof(f->http));
  if (!in) return 0;
  if (!lf__reserved_zero(in->reserved, LF__SLOTS(in))) return LF_EINVAL;
  const char *strs[5] = {in->proxy, in->noproxy, in->proxy_userpwd, in->userpwd, in->netrc_file};
  const char **dst[5] = {&f->http.proxy, &f->http.noproxy, &f->http.proxy_userpwd, &f->http.userpwd,
                         &f->http.netrc_file};
  size_t total = 1;
  for (int i = 0; i < 5; i++)
    total += strs[i] ? strlen(strs[i]) + 1 : 0;
  char *p = f->http_strings = malloc(total);
  if (!p) return LF_ENOMEM;
  for (int i = 0; i < 5; i++) {
    if (!strs[i]) continue;
    size_t n = strlen(strs[i]) + 1;
    memcpy(p, strs[i], n);
    *dst[i] = p;
    p += n;
  }
  f->http.flags = in->flags;
  return 0;
}

/* Wipes the secrets before the block goes back to the allocator. */
void lf__http_free(lf_fetcher_t *f) {
  const char *secrets[3] = {f->http.proxy, f->http.proxy_userpwd, f->http.userpwd};
  for (int i = 0; i < 3; i++)
    if (secrets[i]) explicit_bzero((char *)secrets[i], strlen(secrets[i]));
  free(f->http_strings);
  f->http_strings = NULL;
  memset(&f->http, 0, sizeof(f->http));
}

#define SET(opt, val)                                                                              \
  do {                                                                                             \
    if ((rc = curl_easy_setopt(e, opt, val)) != CURLE_OK) {                                        \
      *what = #opt;                                                                                \
      return rc;                                                                                   \
    }                                                                                              \
  } while (0)

/* Options of a new easy handle; they stay for every request it serves. A proxy left NULL is
 * libcurl's to find in the environment (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY). */
CURLcode lf__http_configure(const lf_fetcher_t *f, CURL *e, const char **what) {
  const lf_http_options_t *h = &f->http;
  CURLcode rc;
  if (h->proxy) SET(CURLOPT_PROXY, h->proxy);
  if (h->noproxy) SET(CURLOPT_NOPROXY, h->noproxy);
  if (h->proxy_userpwd) SET(CURLOPT_PROXYUSERPWD, h->proxy_userpwd);
  /* An https proxy is verified as the servers are, with the same CA file. */
  if (f->opts.cacert) SET(CURLOPT_PROXY_CAINFO, f->opts.cacert);
  /* Basic, sent from the first request on. libcurl sends it only to the URL's own origin
   * (scheme, host and port: CVE-2022-27776); CURLOPT_UNRESTRICTED_AUTH stays off. */
  if (h->userpwd) {
    SET(CURLOPT_USERPWD, h->userpwd);
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  }
  if (h->netrc_file) {
    SET(CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL); /* a URL's own user:password@ wins */
    SET(CURLOPT_NETRC_FILE, h->netrc_file);
  }
  return CURLE_OK;
}
