/* Unit tests for URL resolution (lib/html/urlresolve.c): each href with the absolute URL the WHATWG
 * URL standard (and so a browser) gives for it, written out. The first group are the cases
 * where libcurl alone disagrees with the standard (issue 13); the rest guard the ordinary
 * cases around them. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"
#include "test.h"

typedef struct {
  const char *page, *href, *want; /* want NULL: the link is skipped */
} url_case_t;

#define HP "http://h.example/dir/page.html"
#define HS "https://h.example/dir/page.html"

static const url_case_t cases[] = {
    /* a relative path whose first segment holds ':' (a scheme starts with a letter) */
    {HP, "12:30.html", "http://h.example/dir/12:30.html"},
    {HP, "9:x", "http://h.example/dir/9:x"},
    {HP, "-a:b", "http://h.example/dir/-a:b"},
    {HP, ".a:b", "http://h.example/dir/.a:b"},
    {HP, "12:30.html?x=1:2", "http://h.example/dir/12:30.html?x=1:2"},
    /* a special scheme equal to the page's: relative */
    {HP, "http:/x", "http://h.example/x"},
    {HP, "http:rel/x", "http://h.example/dir/rel/x"},
    {HP, "http:?q", "http://h.example/dir/page.html?q"},
    {HP, "http:", "http://h.example/dir/page.html"},
    {HP, "HTTP:/x", "http://h.example/x"},
    {HS, "https:/x", "https://h.example/x"},
    /* another special scheme: the slashes are skipped, a host follows */
    {HP, "https:host/x", "https://host/x"},
    {HP, "https:/host/x", "https://host/x"},
    {HS, "http:/host/x", "http://host/x"},
    {HP, "http:///host/x", "http://host/x"},
    {HP, "https:////host", "https://host/"},
    {HP, "///host/x", "http://host/x"},
    /* %2e is a dot in dot segments */
    {HP, "/a/%2e%2e/b", "http://h.example/b"},
    {HP, "/a/%2E%2e/b", "http://h.example/b"},
    {HP, "/a/.%2e/b", "http://h.example/b"},
    {HP, "/a/%2e./b", "http://h.example/b"},
    {HP, "/a/%2e/b", "http://h.example/a/b"},
    {HP, "%2e%2e/x", "http://h.example/x"},
    {HP, "/a/%2e%2e%2e/b", "http://h.example/a/%2e%2e%2e/b"},
    {HP, "/a/%2ex/b", "http://h.example/a/%2ex/b"},
    {HP, "/a/b?%2e%2e/c", "http://h.example/a/b?%2e%2e/c"},
    /* an empty query stays */
    {HP, "/p?", "http://h.example/p?"},
    {HP, "?", "http://h.example/dir/page.html?"},
    {HP, "/p?#frag", "http://h.example/p?"},
    /* ordinary cases next to them */
    {HP, "a:b", NULL}, /* a scheme "a" */
    {HP, "mailto:x@y", NULL},
    {HP, "/x:y", "http://h.example/x:y"},
    {HP, "x/y:z", "http://h.example/dir/x/y:z"},
    {HP, "?a=1:2", "http://h.example/dir/page.html?a=1:2"},
    {HP, "//other.example/x", "http://other.example/x"},
    {HP, "https://Other.Example:443/x", "https://other.example/x"},
    {HP, "/a/../../b", "http://h.example/b"},
    {HP, "", "http://h.example/dir/page.html"},
    {HP, "/p?a", "http://h.example/p?a"},
};

int main(void) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    const url_case_t *c = &cases[i];
    char html[512], err[256];
    snprintf(html, sizeof(html), "<a href=\"%s\">x</a>", c->href);
    lf_links_t l;
    int rc = lf_links_extract(html, strlen(html), c->page, "a", &l, err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    if (rc) continue;
    const char *got = l.count ? l.urls[0] : NULL;
    int ok = c->want ? got && !strcmp(got, c->want) : !got && l.skipped == 1;
    if (!ok)
      fprintf(stderr, "  on %s, href \"%s\": got %s, want %s\n", c->page, c->href,
              got ? got : "(skipped)", c->want ? c->want : "(skipped)");
    CHECK(ok);
    lf_links_free(&l);
  }
  return lf_test_report();
}
