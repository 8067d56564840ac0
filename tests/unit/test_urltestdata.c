/* The WHATWG URL standard's conformance data (tests/fixtures/whatwg/urltestdata.json, turned
 * into urltestdata.h by gen_urltestdata.py): every case whose input or base is http(s) runs
 * through lib/html/urlresolve.c's parser. Its href (without the fragment, which we never keep)
 * must be the expected one; an expected failure, or an expected URL of another scheme, must be
 * skipped. Then every href we write must be one libcurl parses as the fetch step does (one
 * parser, one answer), except the hosts listed in curl_refuses below, which lf__url_resolve
 * skips for that reason. The few cases libidn2 answers otherwise are in known[], each with its
 * reason. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "test.h"
#include "urlresolve.h"

typedef struct {
  const char *input;
  size_t len;
  const char *base, *want; /* want NULL: failure */
  int http;                /* want is an http(s) URL */
} urltest_t;

#include "urltestdata.h"

/* Hosts the URL standard allows and libcurl 7.88 refuses (its hostname check rejects
 * ! $ & ' ( ) * + , ; = ` { } "): no DNS name holds them, so lf__url_resolve skips such a link
 * rather than emit one the fetch step would fail. */
static const char *const curl_refuses[] = {
    "http://!\"$&'()*+,-.;=_`{}~/",
};

/* Cases where libidn2 2.3.3, which does UTS #46 for us (the choice, and libcurl's),
 * answers otherwise than the UTS #46 the data was written against. Each must still differ
 * (a libidn2 that agrees makes the test fail, so the list shrinks). */
typedef struct {
  const char *input, *why;
} known_t;
static const known_t known[] = {
#define ALABEL_MAPPED                                                                              \
  "an A-label whose Unicode form is not in mapped form (xn--pokxncvks is \u3253\u32ce...: U+3253 " \
  "maps to \"23\"): current UTS #46 keeps such a label as written; libidn2 validates it and "      \
  "refuses"
    {"http://a.b.c.xn--pokxncvks", ALABEL_MAPPED},
    {"http://10.0.0.xn--pokxncvks", ALABEL_MAPPED},
    {"http://a.b.c.XN--pokxncvks", ALABEL_MAPPED},
    {"http://a.b.c.Xn--pokxncvks", ALABEL_MAPPED},
    {"http://10.0.0.XN--pokxncvks", ALABEL_MAPPED},
    {"http://10.0.0.xN--pokxncvks", ALABEL_MAPPED},
    {"https://xn--/",
     "\"xn--\" with empty Punycode: current UTS #46 keeps it; libidn2 refuses it as "
     "invalid Punycode"},
    {"https://%e2%98%83",
     "U+2603 (a symbol, NV8 in UTS #46's table) is valid in UTS #46 but not in "
     "IDNA2008, whose code point rules libidn2 always applies (so symbol and "
     "emoji host names are skipped)"},
};

static int is_known(const char *input) {
  for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
    if (!strcmp(input, known[i].input)) return 1;
  return 0;
}

static int listed(const char *href, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(href, list[i])) return 1;
  return 0;
}

int main(void) {
  size_t ran = 0, curl_refused = 0, known_seen = 0;
  for (size_t i = 0; i < sizeof(urltests) / sizeof(*urltests); i++) {
    const urltest_t *t = &urltests[i];
    lf__url_t *base = NULL, *u = NULL;
    const char *why = NULL;
    if (t->base) CHECK_EQ_INT(lf__url_parse(t->base, strlen(t->base), NULL, NULL, &base, &why), 0);
    int rc = lf__url_parse(t->input, t->len, base, NULL, &u, &why);
    char *href = rc ? NULL : lf__url_href(u);
    int ok = t->http ? href && !strcmp(href, t->want)
                     : rc == LF__URL_SKIP &&
                           (t->want == NULL || !strcmp(why, "scheme is not http or https"));
    if (is_known(t->input)) {
      CHECK(!ok); /* still a difference: else take it off the list */
      known_seen++;
      ok = 1;
    } else {
      if (!ok)
        fprintf(stderr, "  input \"%s\" base %s: got %s (%s), want %s\n", t->input,
                t->base ? t->base : "(none)", href ? href : "(skipped)", why ? why : "",
                t->want ? t->want : "(failure)");
      CHECK(ok);
    }
    if (href) {
      CURLU *h = curl_url();
      int takes = h && curl_url_set(h, CURLUPART_URL, href, 0) == CURLUE_OK;
      curl_url_cleanup(h);
      int expected = !listed(href, curl_refuses, sizeof(curl_refuses) / sizeof(*curl_refuses));
      if (takes != expected)
        fprintf(stderr, "  %s: libcurl %s it\n", href, takes ? "takes" : "refuses");
      CHECK(takes == expected);
      curl_refused += !takes;
      char *out = NULL;
      rc = lf__url_resolve(base, NULL, t->input, &out, NULL, &why);
      if (strlen(t->input) == t->len) CHECK_EQ_INT(rc, takes ? 0 : LF__URL_SKIP);
      free(out);
    }
    ran++;
    free(href);
    lf__url_free(u);
    lf__url_free(base);
  }
  CHECK_EQ_INT(curl_refused, sizeof(curl_refuses) / sizeof(*curl_refuses));
  CHECK_EQ_INT(known_seen, sizeof(known) / sizeof(*known));
  printf("%zu cases of urltestdata.json\n", ran);
  return lf_test_report();
}
