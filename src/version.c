/* --version: like curl -V, the program and what it is built from, with versions read at run
 * time from each library (libcurl, its TLS library and nghttp2, libuv). gumbo has no run-time
 * version call, so its pkg-config version is compiled in (LF_GUMBO_VERSION, from meson). */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include "cli.h"

#ifndef LF_GUMBO_VERSION
#define LF_GUMBO_VERSION "unknown"
#endif

static void feature(const curl_version_info_data *v, int bit, const char *name, int *first) {
  if (!(v->features & bit)) return;
  printf("%s%s", *first ? "" : " ", name);
  *first = 0;
}

void lf__print_version(void) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  printf("loopfetch %s (%s)\n", LOOPFETCH_VERSION, LOOPFETCH_URL);
  printf("libcurl %s, TLS %s, nghttp2 %s\n", v->version, v->ssl_version ? v->ssl_version : "none",
         v->nghttp2_version ? v->nghttp2_version : "none");
  printf("libuv %s\n", uv_version_string());
  printf("gumbo %s\n", LF_GUMBO_VERSION);
  printf("decoders:");
  if (v->libz_version) printf(" gzip+deflate (zlib %s)", v->libz_version);
  if (v->brotli_version) printf(" br (brotli %s)", v->brotli_version);
  if (v->zstd_version) printf(" zstd (%s)", v->zstd_version);
  printf("\n");
  int first = 1;
  printf("features: ");
  feature(v, CURL_VERSION_HTTP2, "HTTP/2", &first);
  feature(v, CURL_VERSION_SSL, "HTTPS", &first);
  feature(v, CURL_VERSION_LIBZ, "gzip", &first);
  feature(v, CURL_VERSION_BROTLI, "brotli", &first);
  feature(v, CURL_VERSION_ZSTD, "zstd", &first);
  feature(v, CURL_VERSION_IPV6, "IPv6", &first);
  feature(v, CURL_VERSION_ASYNCHDNS, "AsynchDNS", &first);
  printf("\n");
}
