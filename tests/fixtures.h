/* Test fixtures shared by the numerical tests: orthonormal frames, whitened regression
 * data with a known target M = U S Vᵀ, and balanced aligned starts (THEORY.md §4b). */
#ifndef DLNFLOW_TEST_FIXTURES_H
#define DLNFLOW_TEST_FIXTURES_H

#include <stddef.h>

#include "dlnflow/problem.h"

/* A whitened MSE problem whose cost is ||A - M||_F^2 + C0 with M = U diag(s) Vᵀ. */
typedef struct whitened_problem {
  size_t n;          /* n0 = nL = n; s has n entries */
  double *U, *V;     /* n x n orthogonal (owned) */
  double C0;         /* the irreducible part of the loss */
} whitened_problem;

/* Fills Q (rows x cols, rows >= cols) with orthonormal columns drawn from seed. */
void fixture_orthonormal(size_t rows, size_t cols, unsigned long seed, double *Q);

/* Builds the cost for targets s[0..n-1] (N samples, noise orthogonal to the inputs giving
 * C0 > 0) into *cost and describes it in *wp. */
int fixture_whitened_cost(size_t n, const double *s, size_t N, unsigned long seed,
                          whitened_problem *wp, dln_cost **cost);
void fixture_whitened_release(whitened_problem *wp);

/* A rectangular net of the given depth and hidden width on the whitened cost for s[0..n-1]
 * (N samples, seed); writes the cost's floor C0 if C0 is not NULL. */
dln_problem *fixture_whitened_net(size_t depth, size_t width, const double *s, size_t n,
                                  size_t N, unsigned long seed, double *C0);

/* Writes a balanced aligned start of depth L and hidden width w >= n: every layer carries
 * mode i with magnitude a0[i]^(1/L), so that A(0) = U diag(a0) Vᵀ. */
void fixture_balanced_start(const whitened_problem *wp, const dln_network *net, const double *a0,
                            unsigned long seed, double *theta);

#endif
