/* Selector matching against gumbo's parse of the same page (issue 13's speed target).
 *
 *     meson compile -C build bench/bench_selector && build/bench/bench_selector [RUNS]
 *
 * Generates a 1 MB page holding a 5,000-row table (flag icons, links, notes, a lang attribute:
 * what the list pages loopfetch reads look like), parses it with gumbo as lf_links_extract()
 * does (no error recording, the tree in lib/html/arena.c's arena), then walks the tree in document
 * order matching each of twelve selectors on every element, as lf_links_extract() does. RUNS
 * (default 15) runs, in CPU time of this process; each run parses, walks alone, and matches
 * each selector on the same tree. Prints one row per selector: the best (fastest) run's
 * walk + match time as a share of the best parse, and the median of the per-run shares. The
 * target is at most 10 % (best); exit status 1 if a selector misses it. Nothing but CPU: no
 * server, no files. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "selector.h"
#include "walk.h"

#define ROWS 5000

static const char *const selectors[] = {
    "td .flagicon + a", /* loopfetch's default */
    "table.wikitable > tbody > tr > td:first-child > a",
    "tr:nth-child(2n+1) > td:nth-child(2)",
    "tr:nth-child(odd of .r1) a",
    "tr:has(> td > .flagicon) a[href^=\"/wiki/\"]",
    "tr:has(a[href$=\"7\"]) + tr td:first-child a",
    ":is(td, th):nth-child(3) a.ext, :nth-last-child(2) a",
    "a:not([href*=note], .ext)",
    "td:nth-last-of-type(2):not(:empty)",
    "tr > [lang|=EN i]:only-of-type, td:lang(fr)",
    /* quadratic in the rows before issue 28 item 12 (seconds here): '~'-led :has() on every
     * row, and an :nth-*(... of S) whose S counts too */
    "tr:has(~ tr a[href=\"/wiki/Place_5000\"]) td:first-child a",
    ":nth-child(odd of :nth-last-child(3n of tr)) a",
};

static char *make_page(size_t *len) {
  size_t cap = 1200 * 1024, n = 0;
  char *p = malloc(cap);
  if (!p) return NULL;
  n += (size_t)snprintf(p + n, cap - n,
                        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
                        "<title>List</title></head><body><h1>List of places</h1>"
                        "<table class=\"wikitable sortable\"><tbody><tr><th>Place</th>"
                        "<th>Population</th><th>Note</th><th>Region</th></tr>\n");
  for (int i = 1; i <= ROWS && cap - n > 512; i++)
    n += (size_t)snprintf(p + n, cap - n,
                          "<tr class=r%d><td><span class=flagicon><img src=/f/%d.svg></span>"
                          "&nbsp;<a href=/wiki/Place_%d>Place %d</a></td>"
                          "<td>%d,%03d,%03d</td>"
                          "<td><a class=ext href=/note/%d>[%d]</a></td><td lang=%s>%s</td></tr>\n",
                          i % 3, i, i, i, i % 900, i % 1000, (i * 7) % 1000, i, i % 50,
                          i % 5 ? "en-GB" : "fr", i % 11 ? "Region" : "");
  n += (size_t)snprintf(p + n, cap - n, "</tbody></table></body></html>\n");
  *len = n;
  return p;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine may be shared */
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp);
  return v[n / 2];
}

static double least(const double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++)
    m = v[i] < m ? v[i] : m;
  return m;
}

static GumboOutput *parse(lf__arena_t *arena, const char *page, size_t len) {
  GumboOptions opts = kGumboDefaultOptions;
  opts.max_errors = 0;
  lf__arena_use(arena, &opts);
  return gumbo_parse_with_options(&opts, page, len);
}

static size_t match_all(lf__selector_t *sel, const GumboNode *root) {
  size_t hits = 0;
  lf__selector_forget(sel);
  for (const GumboNode *n = root; n; n = lf__walk_next(n))
    hits += (size_t)lf__selector_matches(sel, n);
  return hits;
}

#define NSEL (sizeof(selectors) / sizeof(*selectors))

static size_t walk_only(const GumboNode *root) {
  size_t nodes = 0;
  for (const GumboNode *n = root; n; n = lf__walk_next(n))
    nodes++;
  return nodes;
}

/* One run: for the walk alone and then for each selector, a fresh parse and one walk over the
 * fresh tree, as lf_links_extract() does (the first walk after a parse is the slow one: the
 * tree is not in the CPU caches yet). t[2 * k] is parse k, t[2 * k + 1] walk k (k = 0: the
 * walk alone, k = 1 + s: selector s); hits[s] the matches of selector s. */
static int one_run(const char *page, size_t len, lf__selector_t **sels, double *t, size_t *hits) {
  for (size_t k = 0; k <= NSEL; k++) {
    lf__arena_t arena = {0};
    double t0 = now();
    GumboOutput *doc = parse(&arena, page, len);
    t[2 * k] = now() - t0;
    if (!doc) return -1;
    t0 = now();
    size_t n = k ? match_all(sels[k - 1], doc->document) : walk_only(doc->document);
    t[2 * k + 1] = now() - t0;
    if (k) hits[k - 1] = n;
    lf__arena_release(&arena);
  }
  return 0;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 15;
  if (runs < 1 || runs > 1000) runs = 15;
  size_t len = 0, hits[NSEL];
  char *page = make_page(&len);
  lf__selector_t *sels[NSEL];
  const size_t per_run = 2 * (NSEL + 1);
  double *t = malloc(sizeof(double) * (size_t)runs * per_run), col[1000], ratio[1000];
  if (!page || !t) return 2;
  for (size_t s = 0; s < NSEL; s++) {
    char err[128];
    if (lf__selector_compile(selectors[s], &sels[s], NULL, err, sizeof(err)) != 0) {
      fprintf(stderr, "bench_selector: '%s': %s\n", selectors[s], err);
      return 2;
    }
  }
  for (int r = 0; r < runs; r++)
    if (one_run(page, len, sels, t + (size_t)r * per_run, hits)) return 2;
  for (int r = 0; r < runs; r++)
    col[r] = t[(size_t)r * per_run];
  double parse_best = least(col, runs), parse_s = median(col, runs);
  printf("page: %zu bytes, %d table rows; gumbo parse: %.2f ms best, %.2f ms median of %d runs "
         "(CPU time)\n\n",
         len, ROWS, parse_best * 1e3, parse_s * 1e3, runs);
  printf("| selector | matches | walk + match ms, best | of parse, best | of parse, median |\n"
         "|---|---:|---:|---:|---:|\n");
  int status = 0;
  for (size_t s = 0; s <= NSEL; s++) { /* s == 0: the walk alone */
    for (int r = 0; r < runs; r++) {
      col[r] = t[(size_t)r * per_run + 2 * s + 1];
      ratio[r] = col[r] / t[(size_t)r * per_run + 2 * s] * 100;
    }
    double best = least(col, runs), share = best / parse_best * 100;
    double mshare = median(ratio, runs);
    if (s) status |= share > 10;
    if (!s)
      printf("| (the walk alone, no selector) | - | %.2f | %.1f %% | %.1f %% |\n", best * 1e3,
             share, mshare);
    else
      printf("| `%s` | %zu | %.2f | %.1f %%%s | %.1f %% |\n", selectors[s - 1], hits[s - 1],
             best * 1e3, share, share > 10 ? " (over 10 %)" : "", mshare);
  }
  printf("\nbest: fastest run of each (other load on the machine only ever adds time); median:\n"
         "median over runs of walk + match / the parse just before it.\n"
         "target: each selector's matching at most 10 %% of the parse (best): %s\n",
         status ? "MISSED" : "met");
  for (size_t s = 0; s < NSEL; s++)
    lf__selector_free(sels[s]);
  free(page);
  free(t);
  return status;
}
