/* crawl_extract: a two-level crawl that extracts records, on the caller's own libuv loop.
 *
 * Level 0 is a list page, fetched into memory; its links (a CSS selector, lf_links_extract2)
 * are level 1, fetched into memory too; each level-1 page is parsed once more by
 * lf_extract_page() with the fields given on the command line, and its records are printed
 * as JSON Lines: {"url": ..., "parent": ..., then the fields in order}. Nothing is saved.
 *
 * Usage: crawl_extract LIST_URL LINK_SEL [--each SEL] NAME=SEL[::text|::attr(A)|::url(A)]...
 * e.g.   crawl_extract https://en.wikipedia.org/wiki/List_of_countries_by_population_\
 *        (United_Nations) 'td .flagicon + a' 'name=h1' 'capital=.infobox td:has(.geo) > a'
 * Exit status 0 when every page gave its records, 1 otherwise, 2 for a bad field or selector. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"

static lf_extract_t *fields; /* compiled once, used for every page (one loop: one thread) */
static const char *link_selector;
static size_t added, done, failed;
static int list_tag; /* the list page's lf_request_t.data; level-1 pages have their parent */
static int adding;   /* queuing links: a result may come before the last one is added */

/* A JSON string: quotes, backslashes and control characters escaped (the text is UTF-8). */
static void put_json(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void put_value(const lf_value_t *v) {
  if (!v->array && !v->count) {
    fputs("null", stdout);
    return;
  }
  if (v->array) putchar('[');
  for (size_t i = 0; i < v->count; i++) {
    if (i) putchar(',');
    put_json(v->items[i]);
  }
  if (v->array) putchar(']');
}

/* One page of level 1: its records, one line each. */
static void extract_page(const lf_result_t *r, const char *parent) {
  lf_records_t recs;
  char err[256];
  const char *base = r->effective_url ? r->effective_url : r->url; /* resolve as the browser */
  if (lf_extract_page(fields, r->body, r->body_len, base, r->content_type, &recs, err,
                      sizeof(err)) != 0) {
    fprintf(stderr, "crawl_extract: %s: %s\n", r->url, err);
    failed++;
    return;
  }
  for (size_t i = 0; i < recs.count; i++) {
    fputs("{\"url\":", stdout);
    put_json(r->url);
    fputs(",\"parent\":", stdout);
    put_json(parent);
    for (size_t f = 0; f < recs.fields; f++) {
      putchar(',');
      put_json(lf_extract_field_name(fields, f));
      putchar(':');
      put_value(&recs.values[i * recs.fields + f]);
    }
    fputs("}\n", stdout);
  }
  lf_records_free(&recs);
}

/* The list page: its links become level 1. */
static void follow_links(lf_fetcher_t *f, const lf_result_t *r) {
  static char parent[4096];
  lf_links_t links;
  char err[256];
  snprintf(parent, sizeof(parent), "%s", r->url);
  const char *base = r->effective_url ? r->effective_url : r->url;
  if (lf_links_extract2(r->body, r->body_len, base, r->content_type, link_selector, &links, err,
                        sizeof(err)) != 0) {
    fprintf(stderr, "crawl_extract: list page %s: %s\n", r->url, err);
    failed++;
    return;
  }
  adding = 1;
  for (size_t i = 0; i < links.count; i++) {
    lf_request_t req = {.url = links.urls[i], .output = LF_OUTPUT_MEMORY, .data = parent};
    added++; /* counted first: a result may come before lf_fetcher_add() returns */
    int rc = lf_fetcher_add(f, &req);
    if (rc < 0) {
      fprintf(stderr, "crawl_extract: %s: %s\n", links.urls[i], lf_strerror(rc));
      added--;
      failed++;
    }
  }
  adding = 0;
  lf_links_free(&links);
}

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  done++;
  if (r->status != 0) {
    fprintf(stderr, "crawl_extract: %s: %s\n", r->url, r->error);
    failed++;
  } else if (r->data == &list_tag) {
    follow_links(f, r);
  } else {
    extract_page(r, r->data);
  }
  if (done == added && !adding) lf_fetcher_close(f, NULL); /* the loop ends when its handles are closed */
}

int main(int argc, char **argv) {
  char err[256];
  int argi = 3;
  const char *each = NULL;
  if (argc > 4 && strcmp(argv[3], "--each") == 0) {
    each = argv[4];
    argi = 5;
  }
  if (argc < argi + 1) {
    fprintf(stderr, "usage: crawl_extract LIST_URL LINK_SEL [--each SEL] NAME=SEL...\n");
    return 2;
  }
  link_selector = argv[2];
  /* Every field is checked before the first request: a bad one says where it went wrong. */
  if (lf_extract_new(each, &fields, err, sizeof(err)) != 0) {
    fprintf(stderr, "crawl_extract: --each '%s': %s\n", each, err);
    return 2;
  }
  for (int i = argi; i < argc; i++)
    if (lf_extract_add(fields, argv[i], err, sizeof(err)) != 0) {
      fprintf(stderr, "crawl_extract: field '%s': %s\n", argv[i], err);
      lf_extract_free(fields);
      return 2;
    }

  uv_loop_t loop;
  lf_fetcher_t *f;
  lf_options_t opts;
  lf_options_init(&opts);
  if (uv_loop_init(&loop) != 0 || lf_fetcher_new(&loop, &opts, on_result, &f) != 0) {
    fprintf(stderr, "crawl_extract: cannot set up the loop\n");
    return 1;
  }
  lf_request_t list = {.url = argv[1], .output = LF_OUTPUT_MEMORY, .data = &list_tag};
  added = 1;
  int rc = lf_fetcher_add(f, &list);
  if (rc < 0) {
    fprintf(stderr, "crawl_extract: %s: %s\n", argv[1], lf_strerror(rc));
    lf_fetcher_close(f, NULL);
    failed++;
  }
  uv_run(&loop, UV_RUN_DEFAULT); /* the caller's loop: other handles could run on it too */
  uv_loop_close(&loop);
  lf_extract_free(fields);
  fprintf(stderr, "crawl_extract: %zu pages, %zu failed\n", done, failed);
  return failed ? 1 : 0;
}
