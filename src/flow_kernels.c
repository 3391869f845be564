/* Per-step loops of the flow driver (flow_kernels.h). */
#include "flow_kernels.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel_simd.h"
#include "linalg.h"

/* The exponent bits of a double: all ones exactly for inf and NaN. */
#define EXPONENT_MASK UINT64_C(0x7ff0000000000000)

/* A bitwise test with an OR reduction: vectorises, unlike a loop that exits early or sums. */
KERNEL int dln_all_finite(const double *x, size_t n)
{
  uint64_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t u;
    memcpy(&u, &x[i], sizeof u);
    bad |= (uint64_t)((u & EXPONENT_MASK) == EXPONENT_MASK);
  }
  return bad == 0;
}

KERNEL int dln_negate_all_finite(double *x, size_t n)
{
  uint64_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double v = -x[i];
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    bad |= (uint64_t)((u & EXPONENT_MASK) == EXPONENT_MASK);
    x[i] = v;
  }
  return bad == 0;
}

KERNEL void dln_inverse_tolerances(const double *y, size_t n, double rtol, double atol, double *w)
{
  for (size_t i = 0; i < n; i++) w[i] = 1.0 / (rtol * fabs(y[i]) + atol);
}

/* Σ x_i^2 in eight partial sums, fixed order. */
KERNEL static double sum_squares(const double *x, size_t n)
{
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) s[k] += x[i + k] * x[i + k];
  double total = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; i < n; i++) total += x[i] * x[i];
  return total;
}

double dln_norm2_fast(const double *x, size_t n)
{
  double ss = sum_squares(x, n);
  /* Overflow, or a sum so small that squares may have underflowed against it (squares below
   * DBL_MIN lose digits; the sum lies well above n of them): take the scaled algorithm. */
  if (isfinite(ss) && ss >= (double)n * (DBL_MIN / DBL_EPSILON)) return sqrt(ss);
  return dln_nrm2(n, x);
}
