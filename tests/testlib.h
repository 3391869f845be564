/* A tiny test harness: one "PASS: ..." or "FAIL: ..." line per check, NaN-aware comparisons
 * that print observed against expected, and a closing count. .ci/run sums these lines. */
#ifndef DLNFLOW_TESTLIB_H
#define DLNFLOW_TESTLIB_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int testlib_passed, testlib_failed;

static void testlib_report(int ok, const char *detail, const char *fmt, va_list ap)
{
  printf("%s: ", ok ? "PASS" : "FAIL");
  vprintf(fmt, ap);
  if (detail[0] != '\0') printf(" (%s)", detail);
  printf("\n");
  fflush(stdout);
  if (ok)
    testlib_passed++;
  else
    testlib_failed++;
}

/* Checks a condition. */
static inline int test_true(int ok, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  testlib_report(ok, "", fmt, ap);
  va_end(ap);
  return ok;
}

/* Checks |observed - expected| <= tol·|expected| (NaN never passes). */
static inline int test_rel(double observed, double expected, double tol, const char *fmt, ...)
{
  double err = fabs(observed - expected) / fabs(expected);
  int ok = (observed == expected) || (isfinite(err) && err <= tol);
  char detail[160];
  snprintf(detail, sizeof detail, "observed %.10g, expected %.10g, rel err %.3g, tol %.3g",
           observed, expected, err, tol);
  va_list ap;
  va_start(ap, fmt);
  testlib_report(ok, detail, fmt, ap);
  va_end(ap);
  return ok;
}

/* Checks |observed - expected| <= tol (NaN never passes). */
static inline int test_abs(double observed, double expected, double tol, const char *fmt, ...)
{
  double err = fabs(observed - expected);
  int ok = isfinite(err) && err <= tol;
  char detail[160];
  snprintf(detail, sizeof detail, "observed %.10g, expected %.10g, abs err %.3g, tol %.3g",
           observed, expected, err, tol);
  va_list ap;
  va_start(ap, fmt);
  testlib_report(ok, detail, fmt, ap);
  va_end(ap);
  return ok;
}

/* Checks observed <= bound (NaN never passes). */
static inline int test_below(double observed, double bound, const char *fmt, ...)
{
  int ok = observed <= bound;
  char detail[120];
  snprintf(detail, sizeof detail, "observed %.6g, bound %.6g", observed, bound);
  va_list ap;
  va_start(ap, fmt);
  testlib_report(ok, detail, fmt, ap);
  va_end(ap);
  return ok;
}

/* Prints the count and returns the exit status for main. */
static inline int test_summary(void)
{
  printf("%d passed, %d failed\n", testlib_passed, testlib_failed);
  return testlib_failed == 0 ? 0 : 1;
}

#endif
