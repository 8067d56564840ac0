/* The public face without a network: version macros against the project version meson.build
 * declares (passed as argv[1]), the run-time version calls, and the ABI rule that a reserved
 * slot which is not zero is refused (a newer caller's field this library does not know).
 * Usage: test_api PROJECT_VERSION */
#include <stdlib.h>
#include "loopfetch.h"
#include "test.h"

static void on_result(lf_fetcher_t *f, const lf_result_t *r) {
  (void)f, (void)r;
}

static void check_version(const char *project) {
  char want[32];
  snprintf(want, sizeof(want), "%d.%d.%d", LOOPFETCH_VERSION_MAJOR, LOOPFETCH_VERSION_MINOR,
           LOOPFETCH_VERSION_PATCH);
  CHECK_EQ_STR(want, project); /* the header's numbers are meson.build's version */
  CHECK_EQ_STR(LOOPFETCH_VERSION, project);
  CHECK_EQ_STR(lf_version(), project);
  CHECK_EQ_INT(LOOPFETCH_VERSION_HEX, (LOOPFETCH_VERSION_MAJOR << 16) |
                                          (LOOPFETCH_VERSION_MINOR << 8) | LOOPFETCH_VERSION_PATCH);
  CHECK_EQ_INT(lf_version_num(), LOOPFETCH_VERSION_HEX);
  /* Comparable: a later version is a larger number, whichever part grew. */
  unsigned maj = 0, min = 0, pat = 0;
  CHECK_EQ_INT(sscanf(project, "%u.%u.%u", &maj, &min, &pat), 3);
  CHECK_EQ_INT(lf_version_num(), (maj << 16) | (min << 8) | pat);
  CHECK(LOOPFETCH_VERSION_MINOR < 256 && LOOPFETCH_VERSION_PATCH < 256);
}

static void check_reserved(void) {
  uv_loop_t loop;
  lf_fetcher_t *f = NULL;
  lf_options_t opts;
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  lf_options_init(&opts);
  for (size_t i = 0; i < sizeof(opts.reserved) / sizeof(opts.reserved[0]); i++)
    CHECK(opts.reserved[i] == NULL);
  opts.reserved[3] = &opts;
  CHECK_EQ_INT(lf_fetcher_new(&loop, &opts, on_result, &f), LF_EINVAL);
  CHECK(f == NULL);
  opts.reserved[3] = NULL;
  CHECK_EQ_INT(lf_fetcher_new(&loop, &opts, on_result, &f), 0);
  lf_request_t req = {.url = "http://127.0.0.1:1/", .output = LF_OUTPUT_MEMORY};
  const size_t last = sizeof(req.reserved) / sizeof(req.reserved[0]) - 1; /* fields take slots */
  req.reserved[last] = &req;
  CHECK_EQ_INT(lf_fetcher_add(f, &req), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_queued(f) + lf_fetcher_in_flight(f), 0);
  req.output = (lf_output_t)99; /* an output kind this library does not know */
  req.reserved[last] = NULL;
  CHECK_EQ_INT(lf_fetcher_add(f, &req), LF_EINVAL);
  /* pacing: what docs/api.md promises to refuse */
  CHECK_EQ_INT(lf_fetcher_set_pace(f, -1, 0), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_pace(f, 0.0 / 0.0, 0), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_pace(f, 86401, 0), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_pace(f, 1, 4), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_pace(f, 0.25, LF_PACE_RANDOM | LF_PACE_BACKOFF), 0);
  CHECK_EQ_INT(lf_fetcher_set_host_pace(f, NULL, 1), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_host_pace(f, "", 1), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_host_pace(f, "Example.ORG", -2), LF_EINVAL);
  CHECK_EQ_INT(lf_fetcher_set_host_pace(f, "Example.ORG", 2.5), 0);
  CHECK_EQ_INT(lf_fetcher_set_host_pace(f, "example.org", 0), 0);
  CHECK_EQ_INT(lf_fetcher_close(f, NULL), 0);
  CHECK_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_api PROJECT_VERSION\n");
    return 2;
  }
  check_version(argv[1]);
  check_reserved();
  return lf_test_report();
}
