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
    /* hosts as the URL standard's host parser writes them (issue 27), IDNA by libidn2 */
    {HP, "http://info\u3002xinhua.org/p", "http://info.xinhua.org/p"},
    {HP, "http://wlbj.91open.com&zwj;", NULL}, /* ZWJ: CheckJoiners */
    {HP, "http://\uff27\uff4f.com", "http://go.com/"},
    {HP, "http://B\u00dcCHER.example/", "http://xn--bcher-kva.example/"},
    {HP, "http://ab--\u00fc.com/", "http://xn--ab---3ra.com/"}, /* CheckHyphens false */
    {HP, "http://-\u00fc-.com/", "http://xn-----xka.com/"},
    {HP, "http://EXAMPLE.com./", "http://example.com./"},
    {HP, "http://256.256.256.256", NULL},
    {HP, "http://999999999.", "http://59.154.201.255/"},
    {HP, "http://0x7f.1/", "http://127.0.0.1/"},
    {HP, "http://[::127.0.0.1]", "http://[::7f00:1]/"},
    {HP, "http://[0:0:0:0:1:0:0:0]/", "http://[::1:0:0:0]/"},
    {HP, "http://a|b/", NULL},
    {HP, "https://example.com%80/", NULL},
    {HP, "http://ho%7Fst/", NULL},
    {HP, "http://ex%41mple.com/", "http://example.com/"},
    {HP, "http://a!b.example/", NULL}, /* the standard allows it; libcurl would not fetch it */
    /* userinfo */
    {HP, "http://a:@www.example.com", "http://a@www.example.com/"},
    {HP, "http://\U0001F600@host/", "http://%F0%9F%98%80@host/"},
    {HP, "https://@@@example", "https://%40%40@example/"},
    {HP, "http://u:p@a@b@host/", "http://u:p%40a%40b@host/"},
    {HP, "http://u@/x", NULL},
    /* the path percent-encode set has '^' (2025); the query keeps it */
    {HP, "/RS=^ADA?q=^", "http://h.example/RS=%5EADA?q=^"},
    {HP, "/a b`{}&quot;<>?x y'&quot;", "http://h.example/a%20b%60%7B%7D%22%3C%3E?x%20y%27%22"},
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
