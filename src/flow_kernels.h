/* Loops over all P parameters that the flow driver (flow.c) runs at every right-hand side,
 * Jacobian product or step: compiled like the vector kernels (nvector_fast.c, -O3 with AVX2
 * clones) in a file of their own, so that the *_plainvec benchmark programs, which replace
 * nvector_fast.c, keep them. */
#ifndef DLNFLOW_FLOW_KERNELS_H
#define DLNFLOW_FLOW_KERNELS_H

#include <stddef.h>

/* Returns whether all n entries of x are finite (neither inf nor NaN), without early exit. */
int dln_all_finite(const double *x, size_t n);

/* x = -x; returns whether every entry is finite. */
int dln_negate_all_finite(double *x, size_t n);

/* w_i = 1 / (rtol |y_i| + atol), i < n. */
void dln_inverse_tolerances(const double *y, size_t n, double rtol, double atol, double *w);

/* Returns ||x||_2, safe from overflow and underflow: a plain sum of squares where that is
 * exact to round-off, BLAS's scaled dnrm2 otherwise. */
double dln_norm2_fast(const double *x, size_t n);

#endif
