/* Descriptions of a state: singular values and rank of A, norms, and the drift of the
 * balancedness invariants D_l = W_{l+1}ᵀ W_{l+1} - W_l W_lᵀ (THEORY.md §2). */
#ifndef DLNFLOW_DIAGNOSTICS_H
#define DLNFLOW_DIAGNOSTICS_H

#include <stddef.h>

#include "dlnflow/network.h"

/* Writes the min(rows, cols) singular values of the row-major matrix M, largest first.
 * M is not modified. Returns DLN_ELINALG if LAPACK fails, DLN_ENOMEM. */
int dln_singular_values(const double *M, size_t rows, size_t cols, double *sv);

/* Returns the number of singular values above tol (sv sorted, largest first). */
size_t dln_rank(const double *sv, size_t n, double tol);

/* Returns ||x||_2. */
double dln_norm2(const double *x, size_t n);

/* Tracks the invariants D_l from a reference state. */
typedef struct dln_balance dln_balance;

/* Records D_l(θ_ref) for l = 1..L-1 (nothing for L = 1). */
int dln_balance_alloc(const dln_network *net, const double *theta_ref, dln_balance **out);
void dln_balance_free(dln_balance *b);
/* Returns max_l ||D_l(θ) - D_l(θ_ref)||_F / s_l with s_l = ||W_{l+1}||_F^2 + ||W_l||_F^2, the
 * larger of its values at θ_ref and at θ: zero along the exact flow, so its size measures
 * integration error relative to the weights' scale (0 for L = 1). */
double dln_balance_drift(dln_balance *b, const double *theta);
/* Moves the reference by D_l(after) - D_l(before): a deliberate jump of the state (a kick at
 * a saddle) is not counted as drift. */
void dln_balance_shift(dln_balance *b, const double *before, const double *after);
/* Writes ||D_l(θ)||_F for l = 1..L-1 into norms[0..L-2]. */
void dln_balance_norms(dln_balance *b, const double *theta, double *norms);

#endif
