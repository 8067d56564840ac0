/* What a request takes along when libcurl follows a redirect. libcurl keeps Authorization and
 * Cookie headers and CURLOPT_USERPWD to the first origin (CVE-2018-1000007, CVE-2022-27776), but
 * sends every other custom header everywhere (curl 7.88 does too) and follows https to http.
 * Here, by default, the fetcher's own headers (lf_options_t.headers: an API key, say) go only to
 * the request's own origin, and a redirect from https to http is refused
 * (lf_http_options_t.flags relaxes both).
 *
 * libcurl has no hook between following a Location and building the next request but
 * CURLOPT_PREREQFUNCTION: it runs once the connection for each request is ready and before
 * the request is written (multi.c, MSTATE_DO, ahead of multi_do(), which builds the request
 * from the handle's header list). So the header list is chosen there, for the URL the request
 * is about to go to (CURLINFO_EFFECTIVE_URL, which Curl_follow has already set): setting
 * CURLOPT_HTTPHEADER only stores the list pointer the next request is built from. A refused
 * downgrade aborts the transfer there too, before a byte of it is sent over http.
 * tests/e2e/e2e_http.py has a second server record what arrives after the redirect. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

/* scheme://host:port of url, lowercased by libcurl's parser, into out. 0 or -1. */
static int origin_of(const char *url, char *out, size_t len) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = -1;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    for (char *p = host; *p; p++)
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    rc = (size_t)snprintf(out, len, "%s://%s:%s", scheme, host, port) < len ? 0 : -1;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

/* url without user:password@, for a message; "" if it cannot be parsed. Caller frees. */
static char *shown_url(const char *url) {
  CURLU *u = curl_url();
  char *out = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK)
    (void)curl_url_get(u, CURLUPART_URL, &out, 0);
  curl_url_cleanup(u);
  return out;
}

/* The fetcher's headers that may cross origins (LF_HTTP_LOCATION_TRUSTED): all but
 * Authorization and Cookie. Built once per fetcher. */
int lf__redirect_init(lf_fetcher_t *f) {
  if (!(f->http.flags & LF_HTTP_LOCATION_TRUSTED)) return 0;
  for (const struct curl_slist *h = f->header_list; h; h = h->next) {
    if (strncasecmp(h->data, "Authorization:", 14) == 0 || strncasecmp(h->data, "Cookie:", 7) == 0)
      continue;
    struct curl_slist *l = curl_slist_append(f->trusted_headers, h->data);
    if (!l) return LF_ENOMEM;
    f->trusted_headers = l;
  }
  return 0;
}

/* The list for a request to another origin: the trusted headers (if any) and the request's
 * own (validators that lf_fetcher_add's caller chose for this URL). */
static struct curl_slist *foreign_headers(lf__transfer_t *t) {
  if (t->foreign_headers || t->foreign_built) return t->foreign_headers;
  t->foreign_built = 1;
  struct curl_slist *l = NULL;
  for (const struct curl_slist *h = t->fetcher->trusted_headers; h; h = h->next)
    if (!(l = curl_slist_append(t->foreign_headers, h->data)))
      return NULL;
    else
      t->foreign_headers = l;
  const char *h = t->req->headers;
  for (size_t i = 0; i < t->req->header_count; i++, h += strlen(h) + 1)
    if (!(l = curl_slist_append(t->foreign_headers, h)))
      return NULL;
    else
      t->foreign_headers = l;
  return t->foreign_headers;
}

/* CURLOPT_PREREQFUNCTION's part: CURL_PREREQFUNC_OK, or ABORT with the reason recorded. */
int lf__redirect_prereq(lf__transfer_t *t) {
  char *url = NULL;
  if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
    return CURL_PREREQFUNC_OK;
  int was_https = t->hop_https, https = lf__is_https(url);
  t->hop_https = https;
  if (!t->hops++) return CURL_PREREQFUNC_OK; /* the request's own URL: as configured */
  if (was_https && !https && !(t->fetcher->http.flags & LF_HTTP_ALLOW_INSECURE_REDIRECT)) {
    char *shown = shown_url(url);
    lf__transfer_set_error(t, LF_EHTTP, "refused a redirect from https to plain http (%s)",
                           shown ? shown : "unparsable URL");
    curl_free(shown);
    t->refused_redirect = 1;
    return CURL_PREREQFUNC_ABORT;
  }
  const lf_fetcher_t *f = t->fetcher;
  if (!f->header_list) return CURL_PREREQFUNC_OK; /* nothing of ours to keep back */
  char first[512], now[512];
  int same = origin_of(t->req->url, first, sizeof(first)) == 0 &&
             origin_of(url, now, sizeof(now)) == 0 && strcmp(first, now) == 0;
  struct curl_slist *list =
      same ? (t->req_headers ? t->req_headers : f->header_list) : foreign_headers(t);
  if (!same && !list && (f->trusted_headers || t->req->header_count)) {
    lf__transfer_set_error(t, LF_ENOMEM, "out of memory for the request headers");
    return CURL_PREREQFUNC_ABORT;
  }
  if (curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, list) != CURLE_OK) {
    lf__transfer_set_error(t, LF_ECURL, "could not set the headers after a redirect");
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}
