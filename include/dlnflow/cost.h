/* Convex costs C(A) on the end-to-end matrix A (n_L x n_0), behind one small interface.
 *
 * A cost gives its value and gradient G = ∇C(A), its second derivative along a direction
 * dG = D²C(A)[dA], and optionally a test value (the same cost on held-out data). Adding a
 * convex cost is one new file that fills a dln_cost_ops table (see cost_mse.c, cost_mc.c).
 */
#ifndef DLNFLOW_COST_H
#define DLNFLOW_COST_H

#include <stddef.h>

typedef struct dln_cost dln_cost;

typedef struct dln_cost_ops {
  const char *name;     /* short name used in configs: "mse", "mc" */
  const char *formula;  /* the cost as a formula, written into run metadata */
  /* Writes C(A) to *value and, when G is not NULL, ∇C(A) to G. */
  int (*evaluate)(const void *state, const double *A, double *value, double *G);
  /* Writes dG = D²C(A)[dA] (the costs here are quadratic, so A is unused by them). */
  int (*hessian_dir)(const void *state, const double *A, const double *dA, double *dG);
  /* Writes an n_0 x n_0 symmetric K >= 0 with D²C(A)[dA] ≈ 2 dA K (exact for MSE, where
   * K = X Xᵀ/N); it shapes the integrator's preconditioner. NULL: no preconditioner. */
  int (*input_curvature)(const void *state, double *K);
  /* Writes inf over all matrices A of C(A) (no rank limit): the floor that "excess loss"
   * is measured from. NULL: unknown, taken as 0. */
  int (*infimum)(const void *state, double *value);
  /* Writes one global minimiser A* (rows x cols) of C: the point Theorem 1's constructions
   * reach (THEORY.md §3). NULL: unknown. */
  int (*minimiser)(const void *state, double *A);
  /* Writes the test cost; NULL when the cost has no test set. */
  int (*test_value)(const void *state, const double *A, double *value);
  /* Releases state. */
  void (*free)(void *state);
} dln_cost_ops;

/* Wraps state (ownership passes to the cost) for matrices of shape rows x cols. */
int dln_cost_alloc(const dln_cost_ops *ops, void *state, size_t rows, size_t cols, dln_cost **out);
/* Frees the cost and its state; NULL is a no-op. */
void dln_cost_free(dln_cost *cost);

const char *dln_cost_name(const dln_cost *cost);
const char *dln_cost_formula(const dln_cost *cost);
size_t dln_cost_rows(const dln_cost *cost);
size_t dln_cost_cols(const dln_cost *cost);
int dln_cost_has_test(const dln_cost *cost);

int dln_cost_evaluate(const dln_cost *cost, const double *A, double *value, double *G);
int dln_cost_hessian_dir(const dln_cost *cost, const double *A, const double *dA, double *dG);
/* Writes K of dln_cost_ops.input_curvature; returns DLN_EINVAL when the cost has none. */
int dln_cost_input_curvature(const dln_cost *cost, double *K);
int dln_cost_has_input_curvature(const dln_cost *cost);

/* Writes inf_A C(A) over unconstrained matrices (0 when the cost does not know it). */
int dln_cost_infimum(const dln_cost *cost, double *value);

/* Writes one global minimiser A* (rows x cols) of C. MSE: the minimum-norm least-squares
 * solution. MC: the observed cells at the mean of their observations, the other cells at the
 * held-out (test) values where given (the target, for generated data), else 0 (the minimum-norm
 * minimiser). Returns DLN_EINVAL when the cost has no known minimiser. */
int dln_cost_minimiser(const dln_cost *cost, double *A);

/* Writes the test cost, or NaN when there is no test set. */
int dln_cost_test_value(const dln_cost *cost, const double *A, double *value);

/* Writes the train cost C(0) and the test cost of the zero predictor A = 0 (test: NaN without
 * a test set): the baseline a learned A has to beat (the paper's Fig. 3). */
int dln_cost_at_zero(const dln_cost *cost, double *value, double *test_value);

/* ---- Mean squared error: C(A) = (1/N) ||A X - Y||_F^2 ----------------------------------
 * X is n0 x N, Y is nL x N (row-major, copied). Xtest/Ytest (n0 x Ntest, nL x Ntest) may be
 * NULL. Returns DLN_EINVAL for N = 0 and DLN_ENONFINITE for NaN or infinite data. */
int dln_cost_mse_alloc(size_t n0, size_t nL, size_t N, const double *X, const double *Y,
                       size_t Ntest, const double *Xtest, const double *Ytest, dln_cost **out);

/* ---- Matrix completion: C(A) = (1/N) Σ_i (A[k_i,m_i] - a_i)^2 --------------------------- */
typedef struct dln_entry {
  size_t row, col;
  double value;
} dln_entry;

/* train (N entries, repeats allowed and counted) and test (may be empty) are copied.
 * Returns DLN_EINVAL for no training entry or an index outside rows x cols. */
int dln_cost_mc_alloc(size_t rows, size_t cols, size_t N, const dln_entry *train, size_t Ntest,
                      const dln_entry *test, dln_cost **out);

/* ---- Linear cost: C(A) = c0 + <G, A> -----------------------------------------------------
 * The first-order Taylor term of a cost at the origin (THEORY.md §4): with G = ∇C(0) and
 * c0 = C(0), the loss C(A(θ)) is the L-homogeneous H(θ) = C(0) + <G0, A(θ)> whose flow predicts
 * escape times. Its gradient is G everywhere and D²C = 0. G (rows x cols) is copied.
 * Returns DLN_ENONFINITE for NaN or infinite entries. */
int dln_cost_linear_alloc(size_t rows, size_t cols, const double *G, double c0, dln_cost **out);

#endif
