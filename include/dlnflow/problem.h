/* A training problem: a network, a cost on its end-to-end matrix, and the loss
 * ℒ(θ) = C(A(θ)) with its analytic gradient and Hessian-vector product (THEORY.md §1).
 *
 * The problem caches the last point at which it evaluated the gradient, so that the
 * Hessian-vector products CVODE asks for at that point cost one tangent pass each.
 */
#ifndef DLNFLOW_PROBLEM_H
#define DLNFLOW_PROBLEM_H

#include <stddef.h>

#include "dlnflow/cost.h"
#include "dlnflow/network.h"

typedef struct dln_problem dln_problem;

/* Counts of the expensive evaluations since allocation (or the last reset). */
typedef struct dln_problem_counters {
  long gradients; /* loss-and-gradient evaluations */
  long hvps;      /* Hessian-vector products */
  long losses;    /* loss-only evaluations */
} dln_problem_counters;

/* Builds a problem; it takes ownership of net and cost (also on failure).
 * Returns DLN_EDIM when the cost's matrix shape is not n_L x n_0. */
int dln_problem_alloc(dln_network *net, dln_cost *cost, dln_problem **out);
void dln_problem_free(dln_problem *p);

dln_network *dln_problem_network(const dln_problem *p);
const dln_cost *dln_problem_cost(const dln_problem *p);
size_t dln_problem_nparams(const dln_problem *p);

/* Writes ℒ(θ). */
int dln_problem_loss(dln_problem *p, const double *theta, double *loss);
/* Writes ℒ(θ) at a starting point; DLN_ENONFINITE, naming the settings that scale it, when
 * it is not finite (weights or data beyond double precision). */
int dln_problem_start_loss(dln_problem *p, const double *theta, double *loss);
/* Writes ℒ(θ) and, if grad is not NULL, ∇ℒ(θ). Caches A, G = ∇C(A) for the point. */
int dln_problem_gradient(dln_problem *p, const double *theta, double *loss, double *grad);
/* Writes H(θ) v. Reuses the cached point when θ equals it. */
int dln_problem_hvp(dln_problem *p, const double *theta, const double *v, double *hv);
/* Writes the whole Hessian H(θ) (P x P, row-major and symmetric) from P Hessian-vector
 * products: for small nets only. */
int dln_problem_hessian(dln_problem *p, const double *theta, double *H);
/* Writes the test cost at θ (NaN without a test set). */
int dln_problem_test_loss(dln_problem *p, const double *theta, double *loss);
/* Writes Θ(M) = Σ_l S_{l+1} S_{l+1}ᵀ M P_{l-1}ᵀ P_{l-1}, the NTK operator at θ applied to M
 * (n_L x n_0), into out (n_L x n_0). The flow's A' is -Θ(∇C(A)). */
int dln_problem_ntk_apply(dln_problem *p, const double *theta, const double *M, double *out);

/* A and G = ∇C(A) at the last point given to dln_problem_gradient. */
const double *dln_problem_product(const dln_problem *p);
const double *dln_problem_cost_gradient(const dln_problem *p);

dln_problem_counters dln_problem_get_counters(const dln_problem *p);

#endif
