/* Matching stays near-linear where it used to be quadratic (issue 28, item 12), measured by
 * the compounds the matcher tries (lf__selector_steps()), not by time: for each selector, a
 * list of N and of 4N siblings must cost at most 4.5 times as many steps (quadratic would be
 * 16) and at most STEPS_PER_ITEM a sibling. Before the fix, `li:has(~ li.x)` on 4,000 items
 * took 24 million steps (16 times those of 1,000) and nested :nth-*(... of S) 4 to 34 million;
 * now each of these is under 10 a sibling. Then the answers themselves,
 * on small lists where the :has(~ ...) memo's shortcuts (a witness reused, a search resumed,
 * a "no" carried forward) each decide something. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector_check.h"

#define STEPS_PER_ITEM 40

/* <ul> of n <li><a></a></li>, the last li of class x, every third of class y; returns the
 * compounds tried to extract links with sel, and the number of links in *links. */
static unsigned long steps_for(const char *sel, int n, size_t *links) {
  size_t cap = (size_t)n * 64 + 64, len = 0;
  char *html = malloc(cap);
  if (!html) return 0;
  len += (size_t)snprintf(html, cap, "<ul>");
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(html + len, cap - len, "<li class=%s><a href=/p%d>x</a></li>",
                            i == n - 1 ? "x"
                            : i % 3    ? "z"
                                       : "y",
                            i);
  len += (size_t)snprintf(html + len, cap - len, "</ul>");
  lf_links_t l;
  char err[128];
  unsigned long before = lf__selector_steps();
  int rc = lf_links_extract(html, len, "http://h.example/", sel, &l, err, sizeof err);
  unsigned long steps = lf__selector_steps() - before;
  CHECK_EQ_INT(rc, 0);
  *links = rc ? 0 : l.count;
  if (!rc) lf_links_free(&l);
  free(html);
  return steps;
}

static void test_linear(void) {
  const char *sels[] = {
      "li:has(~ li.x) a",
      "li:has(~ .y ~ .x) a",
      "li:has(~ li > a[href$='9']) a",
      ":nth-child(odd of :nth-child(odd of li)) a",
      ":nth-last-child(odd of :nth-last-child(odd of li)) a",
      ":nth-last-child(2n of :nth-child(odd of :nth-last-child(odd of li))) a",
      "li:nth-child(odd of :has(~ .y)) a",
      "li:nth-last-of-type(3n) a",
      "li:has(+ li ~ li.x) a",
      "li:has(+ .y ~ .x) a",
  };
  enum { N = 1000 };
  for (size_t i = 0; i < sizeof sels / sizeof *sels; i++) {
    size_t l1 = 0, l4 = 0;
    unsigned long s1 = steps_for(sels[i], N, &l1), s4 = steps_for(sels[i], 4 * N, &l4);
    int ok = s4 <= s1 * 9 / 2 && s4 <= (unsigned long)STEPS_PER_ITEM * 4 * N && l4 > 0;
    if (!ok || getenv("LF_SHOW_STEPS"))
      fprintf(stderr, "  %s: %lu steps for %d items (%zu links), %lu for %d (%zu links)\n", sels[i],
              s1, N, l1, s4, 4 * N, l4);
    CHECK(ok);
  }
}

static void test_answers(void) {
  const char *ul = "<ul><li id=a1 class=x></li><li id=a2></li><li id=a3 class=x></li>"
                   "<li id=a4></li><li id=a5 class=y></li><li id=a6></li></ul>";
  CHECK_EQ_STR(select_labels(ul, "li:has(~ .x)"), "a1 a2");
  CHECK_EQ_STR(select_labels(ul, "li:has(~ .y)"), "a1 a2 a3 a4");
  /* a1's witness (a2 + a3.x) does not serve a2; a2 has none, so nor do the later ones */
  CHECK_EQ_STR(select_labels(ul, "li:has(~ li + .x)"), "a1");
  /* a1's witness (a3) fails a3 itself; the search resumes after it and finds a5 ~ ... none */
  CHECK_EQ_STR(select_labels(ul, "li:has(~ .x ~ .y)"), "a1 a2");
  CHECK_EQ_STR(select_labels(ul, "li:has(~ #a4 ~ #a6)"), "a1 a2 a3");
  CHECK_EQ_STR(select_labels(ul, "li:has(~ li, ~ .x)"), "a1 a2 a3 a4 a5");
  CHECK_EQ_STR(select_labels(ul, "li:has(~ .y):has(~ .x)"), "a1 a2");
  /* led by '+': the first compound on the next element, the rest anchored there */
  CHECK_EQ_STR(select_labels(ul, "li:has(+ li ~ .x)"), "a1");
  CHECK_EQ_STR(select_labels(ul, "li:has(+ .x ~ .y)"), "a2");
  CHECK_EQ_STR(select_labels(ul, "li:has(+ li + li ~ .y)"), "a1 a2");
  CHECK_EQ_STR(select_labels(ul, "li:has(+ .x ~ li, ~ .y)"), "a1 a2 a3 a4");
  const char *nest = "<div><p id=p1></p><section id=s1><b id=b1></b></section><p id=p2></p>"
                     "<section id=s2><i id=i1></i></section><p id=p3></p></div>";
  CHECK_EQ_STR(select_labels(nest, "p:has(~ section b)"), "p1");
  CHECK_EQ_STR(select_labels(nest, "p:has(~ section > i)"), "p1 p2");
  CHECK_EQ_STR(select_labels(nest, "p:has(~ section :is(b, i))"), "p1 p2");
  const char *nest2 = "<div><p id=p1></p><section><b></b><i></i></section><p id=p2></p>"
                      "<section><i></i><b></b></section></div>";
  CHECK_EQ_STR(select_labels(nest2, "p:has(+ section b ~ i)"), "p1");
  CHECK_EQ_STR(select_labels(nest2, "p:has(+ section > i ~ b)"), "p2");
  /* nested :nth-*(... of S): S's own counting asked out of order */
  const char *ol = "<ol><li id=l1></li><li id=l2 class=k></li><li id=l3 class=k></li>"
                   "<li id=l4></li><li id=l5 class=k></li><li id=l6 class=k></li></ol>";
  CHECK_EQ_STR(select_labels(ol, ":nth-child(odd of .k)"), "l2 l5");
  CHECK_EQ_STR(select_labels(ol, ":nth-child(2 of :nth-child(odd of .k))"), "l5");
  CHECK_EQ_STR(select_labels(ol, ":nth-last-child(1 of :nth-last-child(even of .k))"), "l5");
  CHECK_EQ_STR(select_labels(ol, "li:nth-of-type(2n)"), "l2 l4 l6");
  const char *mix = "<dl><dt id=t1></dt><dd id=d1></dd><dt id=t2></dt><dd id=d2></dd>"
                    "<dd id=d3></dd></dl>";
  CHECK_EQ_STR(select_labels(mix, ":nth-of-type(2)"), "t2 d2");
  CHECK_EQ_STR(select_labels(mix, "dl > :nth-last-of-type(1)"), "t2 d3");
  CHECK_EQ_STR(select_labels(mix, "dd:only-of-type, dt:last-of-type"), "t2");
}

int main(void) {
  test_linear();
  test_answers();
  return lf_test_report();
}
