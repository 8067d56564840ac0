/* Unit tests for the records files of -e (src/store/recout.c): the JSON Lines and CSV text of a
 * page's records (escapes, quoting, null against "", arrays), and opening files a crashed run
 * or another job left: a torn last record cut off, a CSV header that is not this job's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recout.h"
#include "safe_text.h"
#include "test.h"

static const char *const names[] = {"name", "pop", "links"};

/* Two records: every kind of value. */
static const char *const s1[] = {"Côte d'Ivoire, \"CI\""};
static const char *const s2[] = {"line1\nline2\ttab\x01"};
static const char *const arr[] = {"https://x/a", "b\"c"};
static const char *const empty[] = {""};
static lf_value_t values[6] = {
    {.items = s1, .count = 1},
    {.items = s2, .count = 1},
    {.items = arr, .count = 2, .array = 1},
    {.items = empty, .count = 1},
    {.count = 0},
    {.count = 0, .array = 1},
};
static const lf_records_t recs = {.count = 2, .fields = 3, .values = values};

static void test_format(void) {
  lf__recout_t o = {.json_fd = -1, .csv_fd = -1, .names = names, .n = 3};
  size_t len;
  const char *t = lf__recout_format(&o, 0, "https://user:secret@h.org/w?a=1", NULL, 0, &recs, &len);
  CHECK_EQ_STR(t, "{\"url\":\"https://***@h.org/w?a=1\",\"parent\":null,\"depth\":0,"
                  "\"name\":\"Côte d'Ivoire, \\\"CI\\\"\",\"pop\":\"line1\\nline2\\ttab"
                  "\\u0001\",\"links\":[\"https://x/a\",\"b\\\"c\"]}\n"
                  "{\"url\":\"https://***@h.org/w?a=1\",\"parent\":null,\"depth\":0,"
                  "\"name\":\"\",\"pop\":null,\"links\":[]}\n");
  CHECK_EQ_INT(len, strlen(t));
  t = lf__recout_format(&o, 1, "https://h.org/a,b", "https://h.org/list", 1, &recs, &len);
  CHECK_EQ_STR(t, "\"https://h.org/a,b\",https://h.org/list,1,\"Côte d'Ivoire, \"\"CI\"\"\","
                  "\"line1\nline2\ttab\x01\",\"[\"\"https://x/a\"\",\"\"b\\\"\"c\"\"]\"\r\n"
                  "\"https://h.org/a,b\",https://h.org/list,1,\"\",,[]\r\n");
  lf_records_t none = {.count = 0, .fields = 3};
  t = lf__recout_format(&o, 1, "https://h.org/", NULL, 0, &none, &len);
  CHECK_EQ_STR(t, "");
  lf__recout_close(&o);
}

static char dir[] = "/tmp/test-recout-XXXXXX";

static const char *path(const char *name) {
  static char buf[256];
  snprintf(buf, sizeof(buf), "%s/%s", dir, name);
  return buf;
}

static void put_file(const char *name, const char *text) {
  FILE *f = fopen(path(name), "wb");
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

static const char *get_file(const char *name) {
  static char buf[8192];
  FILE *f = fopen(path(name), "rb");
  size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
  return buf;
}

static void test_files(void) {
  if (!mkdtemp(dir)) return;
  char err[512] = "";
  lf__recout_t o;
  char json[256], csv[256];
  snprintf(json, sizeof(json), "%s", path("r.jsonl"));
  snprintf(csv, sizeof(csv), "%s", path("r.csv"));
  /* new files: the CSV gets its header; records are appended page by page */
  CHECK_EQ_INT(lf__recout_open(&o, json, csv, names, 3, err, sizeof(err)), 0);
  CHECK_EQ_INT(lf__recout_write(&o, "http://a/1", NULL, 0, &recs), 0);
  lf__recout_close(&o);
  CHECK(strncmp(get_file("r.csv"), "url,parent,depth,name,pop,links\r\n\"http://a/1\"", 5) == 0);
  CHECK_EQ_INT(lf__recout_open(&o, json, csv, names, 3, err, sizeof(err)), 0);
  CHECK_EQ_INT(lf__recout_write(&o, "http://a/2", "http://a/", 1, &recs), 0);
  lf__recout_close(&o);
  const char *c = get_file("r.csv");
  int headers = 0;
  for (const char *p = c; (p = strstr(p, "url,parent,depth")) != NULL; p++)
    headers++;
  CHECK_EQ_INT(headers, 1);
  const char *j = get_file("r.jsonl");
  int lines = 0;
  for (const char *p = j; (p = strchr(p, '\n')) != NULL; p++)
    lines++;
  CHECK_EQ_INT(lines, 4);

  /* a torn last record (a killed run) is cut off, whole ones stay */
  put_file("t.jsonl", "{\"url\":\"a\"}\n{\"url\":\"b\"}\n{\"url\":\"c\",\"na");
  put_file("t.csv", "url,parent,depth,name,pop,links\r\nu,,0,\"a\r\nb\",,[]\r\nv,,0,\"x\r\n");
  CHECK_EQ_INT(lf__recout_open(&o, path("t.jsonl"), NULL, names, 3, err, sizeof(err)), 0);
  lf__recout_close(&o);
  CHECK_EQ_STR(get_file("t.jsonl"), "{\"url\":\"a\"}\n{\"url\":\"b\"}\n");
  CHECK_EQ_INT(lf__recout_open(&o, NULL, path("t.csv"), names, 3, err, sizeof(err)), 0);
  lf__recout_close(&o);
  CHECK_EQ_STR(get_file("t.csv"), "url,parent,depth,name,pop,links\r\nu,,0,\"a\r\nb\",,[]\r\n");
  /* torn inside the header: the file is empty again and gets the header */
  put_file("h.csv", "url,par");
  CHECK_EQ_INT(lf__recout_open(&o, NULL, path("h.csv"), names, 3, err, sizeof(err)), 0);
  lf__recout_close(&o);
  CHECK_EQ_STR(get_file("h.csv"), "url,parent,depth,name,pop,links\r\n");
  put_file("n.jsonl", "no newline at all");
  CHECK_EQ_INT(lf__recout_open(&o, path("n.jsonl"), NULL, names, 3, err, sizeof(err)), 0);
  lf__recout_close(&o);
  CHECK_EQ_STR(get_file("n.jsonl"), "");

  /* another job's CSV: refused, left as it was */
  put_file("o.csv", "url,parent,depth,title\r\nu,,0,t\r\n");
  CHECK_EQ_INT(lf__recout_open(&o, json, path("o.csv"), names, 3, err, sizeof(err)), -1);
  CHECK(strstr(err, "has other columns (url,parent,depth,title)") != NULL);
  CHECK(strstr(err, "this job writes url,parent,depth,name,pop,links") != NULL);
  CHECK_EQ_INT(o.json_fd, -1); /* nothing left open */
  CHECK_EQ_STR(get_file("o.csv"), "url,parent,depth,title\r\nu,,0,t\r\n");
  /* a folder where the file should be */
  CHECK_EQ_INT(lf__recout_open(&o, dir, NULL, names, 3, err, sizeof(err)), -1);
  CHECK(strstr(err, "cannot open") != NULL);

  const char *files[] = {"r.jsonl", "r.csv", "t.jsonl", "t.csv", "h.csv", "n.jsonl", "o.csv"};
  for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
    unlink(path(files[i]));
  rmdir(dir);
}

/* A rerun's skip set: the url of every record, JSON Lines or CSV, as lf__url_key(). */
static void test_load_urls(void) {
  char d[] = "/tmp/test-recout-load-XXXXXX";
  if (!mkdtemp(d)) return;
  char j[128], c[128];
  snprintf(j, sizeof(j), "%s/r.jsonl", d);
  snprintf(c, sizeof(c), "%s/r.csv", d);
  FILE *f = fopen(j, "wb");
  fputs("{\"url\":\"http://a/1\",\"parent\":null,\"depth\":0,\"x\":\"http://no/\"}\n"
        "{\"url\":\"http://a/q\\\"\\\\\\u0001\",\"parent\":\"http://p/\",\"depth\":1}\n"
        "{\"url\":\"https://***@h/s\",\"parent\":null,\"depth\":0}\n"
        "{\"other\":\"http://no/2\"}\n",
        f);
  fclose(f);
  lf__hmap_t set = {0};
  CHECK_EQ_INT(lf__recout_load_urls(j, 0, &set), 0);
  CHECK_EQ_INT(set.count, 3);
  CHECK(lf__hmap_get(&set, lf__url_key("http://a/1")) != NULL);
  CHECK(lf__hmap_get(&set, lf__url_key("http://a/q\"\\\x01")) != NULL);
  CHECK(lf__hmap_get(&set, lf__url_key("https://user:pw@h/s")) != NULL); /* as redacted */
  CHECK(lf__hmap_get(&set, lf__url_key("http://no/")) == NULL);
  CHECK(lf__hmap_get(&set, lf__url_key("http://p/")) == NULL);
  lf__hmap_free(&set);
  f = fopen(c, "wb");
  fputs("url,parent,depth,t\r\n"
        "http://c/1,,0,\"two\r\nlines, \"\"quoted\"\"\"\r\n"
        "\"http://c/2,x\",http://p/,1,\"\"\r\n"
        "\"http://c/\"\"3\"\"\",,0,plain\r\n",
        f);
  fclose(f);
  CHECK_EQ_INT(lf__recout_load_urls(c, 1, &set), 0);
  CHECK_EQ_INT(set.count, 3);
  CHECK(lf__hmap_get(&set, lf__url_key("http://c/1")) != NULL);
  CHECK(lf__hmap_get(&set, lf__url_key("http://c/2,x")) != NULL);
  CHECK(lf__hmap_get(&set, lf__url_key("http://c/\"3\"")) != NULL);
  CHECK(lf__hmap_get(&set, lf__url_key("url")) == NULL);
  lf__hmap_free(&set);
  CHECK_EQ_INT(lf__recout_load_urls("/nonexistent/r.jsonl", 0, &set), 0);
  CHECK_EQ_INT(lf__recout_load_urls("-", 0, &set), 0);
  CHECK_EQ_INT(set.count, 0);
  unlink(j);
  unlink(c);
  rmdir(d);
}

int main(void) {
  test_format();
  test_files();
  test_load_urls();
  return lf_test_report();
}
