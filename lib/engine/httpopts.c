/* lf_options_t.http: proxies, credentials and cookies, copied when the fetcher is made and set
 * on each new easy handle. libcurl does the work (CURLOPT_PROXY*, CURLOPT_USERPWD,
 * CURLOPT_NETRC*, its cookie engine in the fetcher's share); this file hands the caller's
 * settings on. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* Copies in->http's strings into one block owned by the fetcher (f->http_strings). */
int lf__http_copy(lf_fetcher_t *f, const lf_http_options_t *in) {
  memset(&f->http, 0, sizeof(f->http));
  if (!in) return 0;
  if (!lf__reserved_zero(in->reserved, LF__SLOTS(in))) return LF_EINVAL;
  enum { N = 7 };
  const char *strs[N] = {in->proxy,      in->noproxy,     in->proxy_userpwd, in->userpwd,
                         in->netrc_file, in->cookie_file, in->cookie_jar};
  const char **dst[N] = {&f->http.proxy,     &f->http.noproxy,    &f->http.proxy_userpwd,
                         &f->http.userpwd,   &f->http.netrc_file, &f->http.cookie_file,
                         &f->http.cookie_jar};
  size_t total = 1;
  for (int i = 0; i < N; i++)
    total += strs[i] ? strlen(strs[i]) + 1 : 0;
  char *p = f->http_strings = malloc(total);
  if (!p) return LF_ENOMEM;
  for (int i = 0; i < N; i++) {
    if (!strs[i]) continue;
    size_t n = strlen(strs[i]) + 1;
    memcpy(p, strs[i], n);
    *dst[i] = p;
    p += n;
  }
  f->http.flags = in->flags;
  f->http.limit_rate = in->limit_rate;
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
  /* The cookie engine on, without a file: the file was read once into the share (below). Read
   * by each handle, it would be read again as each one starts, putting the file's old values
   * back over what responses have set since. */
  if (lf__cookies_on(f)) SET(CURLOPT_COOKIEFILE, "");
  return CURLE_OK;
}

int lf__cookies_on(const lf_fetcher_t *f) {
  return f->http.cookie_file || f->http.cookie_jar;
}

/* Cookies: one jar per fetcher, in its share (CURL_LOCK_DATA_COOKIE; one loop thread, so no
 * lock functions), which every transfer uses. The file is read into it here, once, through a
 * handle of its own (CURLOPT_COOKIELIST "RELOAD" reads the CURLOPT_COOKIEFILE files now). */
int lf__cookies_init(lf_fetcher_t *f) {
  if (!lf__cookies_on(f)) return 0;
  if (curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK)
    return LF_ECURL;
  if (!f->http.cookie_file) return 0;
  CURL *e = curl_easy_init();
  if (!e) return LF_ENOMEM;
  int rc = curl_easy_setopt(e, CURLOPT_SHARE, (CURLSH *)f->share) == CURLE_OK &&
                   curl_easy_setopt(e, CURLOPT_COOKIEFILE, f->http.cookie_file) == CURLE_OK &&
                   curl_easy_setopt(e, CURLOPT_COOKIELIST, "RELOAD") == CURLE_OK
               ? 0
               : LF_ECURL;
  curl_easy_cleanup(e);
  return rc;
}

/* Writes the jar. libcurl 7.88 (its Curl_fopen) writes a temporary file beside an existing jar
 * and renames it over, with the old file's mode and at least 0600, but writes a new jar in
 * place with fopen (mode 0666 less the umask): so a missing jar is first created empty, 0600,
 * and the cookies always arrive whole, readable by their owner only. Called once no transfer
 * is left, before the share goes. */
void lf__cookies_save(lf_fetcher_t *f) {
  if (!f->http.cookie_jar || !f->share) return;
  int fd = open(f->http.cookie_jar, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  CURL *e = curl_easy_init();
  if (!e) return;
  if (curl_easy_setopt(e, CURLOPT_SHARE, (CURLSH *)f->share) == CURLE_OK &&
      curl_easy_setopt(e, CURLOPT_COOKIEJAR, f->http.cookie_jar) == CURLE_OK)
    (void)curl_easy_setopt(e, CURLOPT_COOKIELIST, "FLUSH");
  (void)curl_easy_setopt(e, CURLOPT_COOKIEJAR, NULL); /* or the cleanup writes it again */
  curl_easy_cleanup(e);
}
