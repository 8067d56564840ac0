/* A helper for tests/unit/test_encoding_index.py: decodes stdin in the encoding its label names
 * (lib/html's decoder, as a page is decoded) and writes the UTF-8 to stdout; with a second
 * argument "lines", each line of stdin is decoded on its own and the results are joined by
 * newlines (one process for thousands of independent cases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) return 2;
  int lines = argc == 3 && !strcmp(argv[2], "lines");
  const lf__encoding_t *enc = lf__encoding_for_label(argv[1], strlen(argv[1]));
  if (!enc) return 2;
  size_t len = 0, cap = 1 << 16, n;
  char *in = malloc(cap), *out = NULL;
  while (in && (n = fread(in + len, 1, cap - len, stdin)) > 0)
    if ((len += n) == cap) in = realloc(in, cap *= 2);
  if (!in) return 1;
  for (size_t i = 0; i <= len;) {
    size_t n = len;
    if (lines) {
      const char *nl = memchr(in + i, '\n', len - i);
      n = nl ? (size_t)(nl - (in + i)) : len - i;
    }
    size_t out_len = 0;
    if (lf__decode(enc, in + i, n, &out, &out_len)) return 1;
    fwrite(out, 1, out_len, stdout);
    free(out);
    i += n + 1;
    if (lines && i <= len) putchar('\n');
  }
  free(in);
  return fflush(stdout) ? 1 : 0;
}
