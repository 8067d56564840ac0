/* The floor of what --warc-file costs in CPU (bench_warc.py runs it): the records of a WARC
 * file, uncompressed, compressed alone in one thread as lib/warc does it (ISA-L's igzip at
 * level 1, streamed in 64 KiB pieces, one stream per 1 MiB) and by zlib at level 1 for scale,
 * digested twice by SHA-1 (the block and the payload digests) and CRC'd. Prints one JSON line of
 * CPU seconds (CLOCK_PROCESS_CPUTIME_ID).
 *
 *     bench_warc_floor FILE   (FILE: the records, e.g. zcat NAME.warc.gz > FILE) */
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#define PIECE (64 * 1024)
#define STREAM (1024 * 1024)

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t isal(const unsigned char *in, size_t n) {
  static struct isal_zstream z;
  static unsigned char level_buf[ISAL_DEF_LVL1_SMALL], out[32768];
  size_t total = 0;
  for (size_t s = 0; s < n; s += STREAM) {
    size_t end = s + STREAM < n ? s + STREAM : n;
    isal_deflate_init(&z);
    z.level = 1;
    z.level_buf = level_buf;
    z.level_buf_size = sizeof(level_buf);
    for (size_t at = s; at < end; at += PIECE) {
      size_t k = end - at < PIECE ? end - at : PIECE;
      z.next_in = (uint8_t *)(uintptr_t)(in + at);
      z.avail_in = (uint32_t)k;
      z.end_of_stream = at + k == end;
      do {
        z.next_out = out;
        z.avail_out = sizeof(out);
        if (isal_deflate(&z) != COMP_OK) exit(1);
      } while (z.avail_in || z.avail_out == 0 ||
               (z.end_of_stream && z.internal_state.state != ZSTATE_END));
    }
    total += z.total_out;
  }
  return total;
}

static size_t zlib1(const unsigned char *in, size_t n) {
  static unsigned char out[32768];
  size_t total = 0;
  for (size_t s = 0; s < n; s += STREAM) {
    size_t end = s + STREAM < n ? s + STREAM : n;
    z_stream z = {0};
    if (deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    z.next_in = (Bytef *)(uintptr_t)(in + s);
    z.avail_in = (uInt)(end - s);
    int rc;
    do {
      z.next_out = out;
      z.avail_out = sizeof(out);
      rc = deflate(&z, Z_FINISH);
    } while (rc == Z_OK);
    total += z.total_out;
    deflateEnd(&z);
  }
  return total;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench_warc_floor FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f || fseek(f, 0, SEEK_END) != 0) return 1;
  long len = ftell(f);
  rewind(f);
  unsigned char *in = malloc((size_t)len + 1);
  if (!in || fread(in, 1, (size_t)len, f) != (size_t)len) return 1;
  fclose(f);
  size_t n = (size_t)len;
  volatile unsigned sink = 0;
  for (size_t i = 0; i < n; i += 4096) /* fault it in before timing */
    sink += in[i];
  double t0 = cpu();
  size_t isal_out = isal(in, n);
  double t1 = cpu();
  size_t zlib_out = zlib1(in, n);
  double t2 = cpu();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int ml;
  for (int i = 0; i < 2; i++)
    EVP_Digest(in, n, md, &ml, EVP_sha1(), NULL);
  double t3 = cpu();
  sink += crc32_gzip_refl(0, in, n);
  double t4 = cpu();
  printf("{\"bytes\": %zu, \"isal1_s\": %.3f, \"isal1_bytes\": %zu, \"zlib1_s\": %.3f, "
         "\"zlib1_bytes\": %zu, \"sha1_twice_s\": %.3f, \"crc_s\": %.3f}\n",
         n, t1 - t0, isal_out, t2 - t1, zlib_out, t3 - t2, t4 - t3);
  free(in);
  return 0;
}
