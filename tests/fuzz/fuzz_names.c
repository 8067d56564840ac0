/* libFuzzer: any URL path gives either an error or a name that is safe: no '/', no NUL, no
 * control byte, not starting with '.', at most 255 bytes, ending in ".html"; and the unique
 * variant of it stays safe too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"
#include "names.h"

static void check_safe(const char *n) {
  size_t len = strlen(n);
  if (len == 0 || len > LF_NAME_MAX || n[0] == '.' || strchr(n, '/')) abort();
  for (const unsigned char *p = (const unsigned char *)n; *p; p++)
    if (*p < 0x20 || *p == 0x7f) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lf__names_t *names;
  if (!names && lf__names_new(&names) < 0) return 0;
  char *url = malloc(size + 32);
  if (!url) return 0;
  memcpy(url, "https://h.example/", 18);
  memcpy(url + 18, data, size);
  url[18 + size] = '\0';
  char name[LF_NAME_MAX + 1], unique[LF_NAME_MAX + 1];
  if (lf__name_from_url(url, name, sizeof(name)) == 0) {
    check_safe(name);
    if (strcmp(name + strlen(name) - 5, ".html") != 0) abort();
    if (lf__names_unique(names, name, unique, sizeof(unique)) == 0) check_safe(unique);
  }
  free(url);
  return 0;
}
