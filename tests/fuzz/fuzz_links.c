/* libFuzzer: link extraction on arbitrary HTML with the reference selector; every link that
 * comes out must be an absolute http(s) URL without a fragment, and none twice. */
#include <stdlib.h>
#include <string.h>
#include "loopfetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lf_links_t links;
  char err[256];
  int rc = lf_links_extract((const char *)data, size, "https://en.wikipedia.org/wiki/List",
                            "td .flagicon + a, a[href]", &links, err, sizeof(err));
  if (rc != 0) return 0;
  for (size_t i = 0; i < links.count; i++) {
    const char *u = links.urls[i];
    if ((strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) || strchr(u, '#'))
      abort();
    for (size_t j = 0; j < i && links.count < 200; j++)
      if (strcmp(u, links.urls[j]) == 0) abort();
  }
  lf_links_free(&links);
  return 0;
}
