/* A minimal unit-test harness: CHECK records a failure and goes on; main returns non-zero if
 * any check failed. Each test binary prints "N passed, N failed" for its own checks. */
#ifndef LF_TEST_H
#define LF_TEST_H

#include <stdio.h>
#include <string.h>

static int lf_test_passed, lf_test_failed;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (cond) {                                                                                    \
      lf_test_passed++;                                                                            \
    } else {                                                                                       \
      lf_test_failed++;                                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long lf_a_ = (long long)(a), lf_b_ = (long long)(b);                                      \
    if (lf_a_ == lf_b_) {                                                                          \
      lf_test_passed++;                                                                            \
    } else {                                                                                       \
      lf_test_failed++;                                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, lf_a_, \
              lf_b_);                                                                              \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
  do {                                                                                             \
    const char *lf_a_ = (a), *lf_b_ = (b);                                                         \
    if (lf_a_ && lf_b_ && strcmp(lf_a_, lf_b_) == 0) {                                             \
      lf_test_passed++;                                                                            \
    } else {                                                                                       \
      lf_test_failed++;                                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,    \
              lf_a_ ? lf_a_ : "(null)", lf_b_ ? lf_b_ : "(null)");                                 \
    }                                                                                              \
  } while (0)

static inline int lf_test_report(void) {
  printf("%d passed, %d failed\n", lf_test_passed, lf_test_failed);
  return lf_test_failed ? 1 : 0;
}

#endif
