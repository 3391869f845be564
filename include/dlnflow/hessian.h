/* The Hessian H = D²ℒ(θ) at a point, through its extreme eigenvalues (THEORY.md §1, §4):
 * the count of negative ones tells a saddle from a minimum, and their sizes give escape rates.
 * Small nets get every eigenvalue (H assembled from P Hessian-vector products, LAPACK's dsyevd);
 * large ones the extremes by Lanczos iteration on H·v with full reorthogonalisation. */
#ifndef DLNFLOW_HESSIAN_H
#define DLNFLOW_HESSIAN_H

#include <stddef.h>

#include "dlnflow/problem.h"

typedef struct dln_hessian_spectrum {
  double lambda_min;    /* smallest eigenvalue (Ritz value for Lanczos) */
  double lambda_max;    /* largest eigenvalue */
  size_t negative;      /* eigenvalues below -tol·max|λ| (Lanczos: Ritz values, a lower bound) */
  int dense;            /* 1 when every eigenvalue was computed */
  size_t lanczos_steps; /* Krylov dimension used (0 when dense) */
} dln_hessian_spectrum;

/* Describes H(θ); tol is relative to the spectral radius. Dense when P <= dense_max, else `steps` Lanczos steps from a start vector
 * drawn with seed. If eigenvalues is not NULL and the computation is dense, it receives all P
 * eigenvalues in ascending order. Returns DLN_ENOMEM, DLN_ELINALG. */
int dln_hessian_spectrum_compute(dln_problem *p, const double *theta, double tol,
                                 size_t dense_max, size_t steps, unsigned long seed,
                                 dln_hessian_spectrum *out, double *eigenvalues);

/* How a Newton search for a critical point ended. */
typedef struct dln_newton_result {
  int converged;          /* ||∇ℒ|| fell below 1e-9 of its start */
  size_t iterations;
  double grad_norm_start, grad_norm;
  double distance;        /* ||θ_found - θ_start|| */
} dln_newton_result;

/* Newton's method for ∇ℒ(θ) = 0 from theta into out (P doubles), for small nets: each step
 * is -H⁺∇ℒ over the eigenpairs of the dense Hessian with |λ| above 1e-10 of the largest
 * (H is singular at every critical point: the hidden layers' rotations leave ℒ unchanged),
 * halved until ||∇ℒ|| falls. It finds the critical point next to a closest approach, whatever
 * its index; along a degenerate direction (L > 2 saddles) it converges linearly. */
int dln_newton_critical_point(dln_problem *p, const double *theta, size_t max_iterations,
                              double *out, dln_newton_result *result);

#endif
