/* The CPU cost of parsing and extracting, per MB of HTML (issue 21, item 5's number to watch):
 * what lf_extract_page() costs on each page, the same call `loopfetch -e` makes.
 *
 *     build/bench/bench_extract RUNS FILE...        (bench/bench_parse.py runs it)
 *
 * Reads the files into memory, then RUNS times: every page through an extraction without
 * fields (the charset sniffed, the page decoded and parsed by gumbo into the arena, the tree
 * walked once: the parse) and through one with the five fields below (the parse and the
 * fields), and through gumbo alone (gumbo_parse into the same arena: what the parse costs
 * without loopfetch's charset sniffing, escapes and walk). Prints one JSON object: the bytes
 * of one pass and, for each of the three, the best
 * run's CPU time of this process (CLOCK_PROCESS_CPUTIME_ID) and the median's. The fields'
 * values of the first page go along, for the driver to check against lxml's. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loopfetch.h"
#include "arena.h"

/* Five fields of a Wikipedia-like article (tests/fixtures/site.py): text, attributes, an array,
 * the long text of a paragraph. bench_parse.py gives lxml the same five as XPath. */
static const char *const fields[] = {
    "name=h1",
    "title=title",
    "first_para=#mw-content-text p",
    "sections[]=h2 .mw-headline::attr(id)",
    "first_link=#mw-content-text p a::url(href)",
};
#define NFIELDS (sizeof(fields) / sizeof(*fields))

typedef struct {
  char *data;
  size_t len;
} page_t;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, page_t *p) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  p->data = n > 0 ? malloc((size_t)n) : NULL;
  p->len = p->data ? fread(p->data, 1, (size_t)n, f) : 0;
  fclose(f);
  return p->data && p->len == (size_t)n ? 0 : -1;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One pass over every page with x; the seconds of CPU it took. */
static double pass(lf_extract_t *x, const page_t *pages, int n, lf_records_t *first) {
  double t0 = cpu_now();
  for (int i = 0; i < n; i++) {
    lf_records_t r;
    char err[256];
    if (lf_extract_page(x, pages[i].data, pages[i].len, "https://en.wikipedia.org/wiki/Page",
                        "text/html; charset=UTF-8", &r, err, sizeof(err)) != 0) {
      fprintf(stderr, "bench_extract: %s\n", err);
      exit(1);
    }
    if (i == 0 && first && !first->values)
      *first = r;
    else
      lf_records_free(&r);
  }
  return cpu_now() - t0;
}

/* The same pages through gumbo alone, as lib/html/page.c calls it. */
static double gumbo_pass(const page_t *pages, int n) {
  double t0 = cpu_now();
  for (int i = 0; i < n; i++) {
    lf__arena_t arena = {0};
    GumboOptions opts = kGumboDefaultOptions;
    opts.max_errors = 0;
    lf__arena_use(&arena, &opts);
    if (!gumbo_parse_with_options(&opts, pages[i].data, pages[i].len)) exit(1);
    lf__arena_release(&arena);
  }
  return cpu_now() - t0;
}

static void put_json(const char *s) {
  putchar('"');
  for (; *s; s++)
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", (unsigned char)*s);
    else
      putchar(*s);
  putchar('"');
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 0, n = argc - 2;
  if (runs < 1 || n < 1) {
    fprintf(stderr, "usage: bench_extract RUNS FILE...\n");
    return 2;
  }
  page_t *pages = calloc((size_t)n, sizeof(*pages));
  size_t bytes = 0;
  for (int i = 0; i < n; i++) {
    if (!pages || load(argv[i + 2], &pages[i]) < 0) {
      fprintf(stderr, "bench_extract: cannot read %s\n", argv[i + 2]);
      return 1;
    }
    bytes += pages[i].len;
  }
  lf_extract_t *none, *five;
  char err[256];
  if (lf_extract_new(NULL, &none, err, sizeof(err)) ||
      lf_extract_new(NULL, &five, err, sizeof(err)))
    return 1;
  for (size_t f = 0; f < NFIELDS; f++)
    if (lf_extract_add(five, fields[f], err, sizeof(err)) != 0) {
      fprintf(stderr, "bench_extract: %s: %s\n", fields[f], err);
      return 1;
    }
  double *parse = calloc((size_t)runs, sizeof(double)),
         *extract = calloc((size_t)runs, sizeof(double)),
         *gumbo = calloc((size_t)runs, sizeof(double));
  lf_records_t first = {0};
  pass(five, pages, n, NULL); /* warm: the pages in the cache, the allocator's heap grown */
  for (int r = 0; r < runs; r++) {
    parse[r] = pass(none, pages, n, NULL);
    extract[r] = pass(five, pages, n, r == 0 ? &first : NULL);
    gumbo[r] = gumbo_pass(pages, n);
  }
  qsort(gumbo, (size_t)runs, sizeof(double), cmp);
  qsort(parse, (size_t)runs, sizeof(double), cmp);
  qsort(extract, (size_t)runs, sizeof(double), cmp);
  printf("{\"pages\":%d,\"bytes\":%zu,\"runs\":%d,\"parse_best\":%.6f,\"parse_median\":%.6f,"
         "\"extract_best\":%.6f,\"extract_median\":%.6f,\"gumbo_best\":%.6f,"
         "\"gumbo_median\":%.6f,\"first\":{",
         n, bytes, runs, parse[0], parse[runs / 2], extract[0], extract[runs / 2], gumbo[0],
         gumbo[runs / 2]);
  for (size_t f = 0; f < NFIELDS && first.values; f++) {
    const lf_value_t *v = &first.values[f];
    printf("%s", f ? "," : "");
    put_json(lf_extract_field_name(five, f));
    putchar(':');
    if (v->array) putchar('[');
    for (size_t k = 0; k < v->count; k++) {
      if (k) putchar(',');
      put_json(v->items[k]);
    }
    if (v->array) putchar(']');
    if (!v->array && !v->count) fputs("null", stdout);
  }
  printf("}}\n");
  lf_records_free(&first);
  lf_extract_free(none);
  lf_extract_free(five);
  for (int i = 0; i < n; i++)
    free(pages[i].data);
  free(pages);
  free(parse);
  free(extract);
  free(gumbo);
  return 0;
}
