/* The NTK operator Θ of THEORY.md §1 as a matrix, and its norms.
 *
 *   Θ(M) = Σ_l S_{l+1} S_{l+1}ᵀ M P_{l-1}ᵀ P_{l-1}     (M: n_L x n_0; the flow's A' = -Θ(∇C(A)))
 *
 * Θ is a symmetric positive semi-definite map on the m = n_L·n_0 dimensional space of n_L x n_0
 * matrices; its matrix in the basis E_j (row-major vec: j = row·n_0 + col) has column j = vec Θ(E_j),
 * built from m calls of dln_problem_ntk_apply. No cost enters: for L = 1, Θ is the identity.
 */
#ifndef DLNFLOW_NTK_H
#define DLNFLOW_NTK_H

#include <stddef.h>

#include "dlnflow/problem.h"

/* Writes the m x m matrix of Θ at θ (row-major, symmetrised: (K + Kᵀ)/2), m = n_L·n_0. */
int dln_ntk_matrix(dln_problem *p, const double *theta, double *K);

/* Returns the Frobenius norm of an m x m matrix. */
double dln_ntk_frobenius(size_t m, const double *K);

/* Writes the operator (spectral) norm of the symmetric m x m matrix K: its largest |eigenvalue|
 * (LAPACKE_dsyev on a copy). Returns DLN_ELINALG or DLN_ENOMEM on failure. */
int dln_ntk_operator_norm(size_t m, const double *K, double *norm);

#endif
