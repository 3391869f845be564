/* Preconditioners for the Newton systems (I + γ H) z = r of the BDF flow, applied by GMRES
 * from the right.
 *
 * dense: H is assembled from P Hessian-vector products and I + γH factored by LAPACK; GMRES
 *   then converges at once. Near saddles H has a null space (the rescaling symmetries) and
 *   stiff directions at once, and on long plateaus γ|λ| reaches 1e10: only an exact solve
 *   keeps Newton converging there. Cost O(P^3) per set-up, so for small P.
 * block: the diagonal blocks of H are exactly Gauss-Newton (A is linear in each W_l); with
 *   the cost modelled as D²C[dA] ≈ 2 dA K they are the Kronecker products
 *     H_ll[V] ≈ 2 (S_{l+1}ᵀ S_{l+1}) V (P_{l-1} K P_{l-1}ᵀ),
 *   of ranks at most n_L and n_0, inverted from thin SVDs in O(n_l n_{l-1} (n_L + n_0)).
 *   It ignores the coupling between layers, which is as strong as the blocks at balanced
 *   points, so it is experimental. */
#ifndef DLNFLOW_PRECOND_H
#define DLNFLOW_PRECOND_H

#include "dlnflow/flow.h"
#include "dlnflow/problem.h"

typedef struct dln_precond dln_precond;

/* Allocates a preconditioner of the given kind (dense or block) for p (not owned). */
int dln_precond_alloc(dln_problem *p, dln_precond_kind kind, dln_precond **out);
void dln_precond_free(dln_precond *pc);

/* Prepares the preconditioner at θ for step factor γ; with reuse set, keeps the Hessian
 * data of the last set-up and only refactors for the new γ. */
int dln_precond_setup(dln_precond *pc, const double *theta, double gamma, int reuse);

/* Writes z ≈ (I + γ H)^{-1} r; z may equal r. */
int dln_precond_solve(dln_precond *pc, double gamma, const double *r, double *z);

#endif
