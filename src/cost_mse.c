/* Mean squared error C(A) = (1/N) ||A X - Y||_F^2 (THEORY.md §1).
 *
 * The value is computed from the residual R = A X - Y, which stays accurate as the loss
 * falls many decades; the gradient and second derivative use the precomputed moments
 *   G = ∇C(A) = 2 (A Σxx - Σyx),   D²C(A)[dA] = 2 dA Σxx,   Σxx = X Xᵀ/N, Σyx = Y Xᵀ/N,
 * so their cost does not grow with the number of samples N.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "dlnflow/cost.h"
#include "dlnflow/errors.h"
#include "linalg.h"

typedef struct mse_state {
  size_t n0, nL, N, Ntest;
  double *X, *Y;         /* n0 x N, nL x N */
  double *Xtest, *Ytest; /* n0 x Ntest, nL x Ntest (NULL without a test set) */
  double *sxx, *syx;     /* Σxx (n0 x n0), Σyx (nL x n0) */
  double *resid;         /* nL x max(N, Ntest) workspace */
} mse_state;

static void mse_free(void *state)
{
  mse_state *s = state;
  if (!s) return;
  free(s->X);
  free(s->Y);
  free(s->Xtest);
  free(s->Ytest);
  free(s->sxx);
  free(s->syx);
  free(s->resid);
  free(s);
}

/* Returns (1/N) ||A X - Y||_F^2 using the residual workspace. */
static double mean_squared_residual(const mse_state *s, const double *A, const double *X,
                                    const double *Y, size_t N)
{
  memcpy(s->resid, Y, s->nL * N * sizeof *Y);
  dln_gemm(0, 0, s->nL, N, s->n0, 1.0, A, X, -1.0, s->resid);
  double norm = dln_nrm2(s->nL * N, s->resid);
  return norm * norm / (double)N;
}

static int mse_evaluate(const void *state, const double *A, double *value, double *G)
{
  const mse_state *s = state;
  *value = mean_squared_residual(s, A, s->X, s->Y, s->N);
  if (G) {
    memcpy(G, s->syx, s->nL * s->n0 * sizeof *G);
    dln_gemm(0, 0, s->nL, s->n0, s->n0, 2.0, A, s->sxx, -2.0, G);
  }
  return DLN_SUCCESS;
}

static int mse_hessian_dir(const void *state, const double *A, const double *dA, double *dG)
{
  const mse_state *s = state;
  (void)A;
  dln_gemm(0, 0, s->nL, s->n0, s->n0, 2.0, dA, s->sxx, 0.0, dG);
  return DLN_SUCCESS;
}

static int mse_input_curvature(const void *state, double *K)
{
  const mse_state *s = state;
  memcpy(K, s->sxx, s->n0 * s->n0 * sizeof *K);
  return DLN_SUCCESS;
}

/* Writes A* = argmin ||A X - Y|| of minimum norm (LAPACK's dgelsd on Xᵀ Aᵀ = Yᵀ; rank-deficient
 * X allowed): the global minimiser Theorem 1's constructions reach. */
static int mse_minimiser(const void *state, double *A)
{
  const mse_state *s = state;
  size_t rows = s->N > s->n0 ? s->N : s->n0;
  double *Xt = malloc(s->N * s->n0 * sizeof *Xt), *B = calloc(rows * s->nL, sizeof *B);
  double *sv = malloc(s->n0 * sizeof *sv);
  int status = (Xt && B && sv) ? DLN_SUCCESS : dln_error(DLN_ENOMEM, "mse minimiser: out of memory");
  if (status == DLN_SUCCESS) {
    for (size_t n = 0; n < s->N; n++) {
      for (size_t i = 0; i < s->n0; i++) Xt[n * s->n0 + i] = s->X[i * s->N + n];
      for (size_t k = 0; k < s->nL; k++) B[n * s->nL + k] = s->Y[k * s->N + n];
    }
    lapack_int rank;
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)s->N, (lapack_int)s->n0,
                                     (lapack_int)s->nL, Xt, (lapack_int)s->n0, B,
                                     (lapack_int)s->nL, sv, -1.0, &rank);
    if (info != 0) status = dln_error(DLN_ELINALG, "mse minimiser: LAPACKE_dgelsd info %d", (int)info);
  }
  if (status == DLN_SUCCESS)
    for (size_t k = 0; k < s->nL; k++) /* B's first n0 rows hold A*ᵀ */
      for (size_t i = 0; i < s->n0; i++) A[k * s->n0 + i] = B[i * s->nL + k];
  free(Xt);
  free(B);
  free(sv);
  return status;
}

/* The least-squares floor: C at the minimiser A*. */
static int mse_infimum(const void *state, double *value)
{
  const mse_state *s = state;
  double *A = malloc(s->nL * s->n0 * sizeof *A);
  if (!A) return dln_error(DLN_ENOMEM, "mse infimum: out of memory");
  int status = mse_minimiser(state, A);
  if (status == DLN_SUCCESS) *value = mean_squared_residual(s, A, s->X, s->Y, s->N);
  free(A);
  return status;
}

static int mse_test_value(const void *state, const double *A, double *value)
{
  const mse_state *s = state;
  *value = mean_squared_residual(s, A, s->Xtest, s->Ytest, s->Ntest);
  return DLN_SUCCESS;
}

static const dln_cost_ops mse_ops = {
  .name = "mse",
  .formula = "C(A) = (1/N) ||A X - Y||_F^2",
  .evaluate = mse_evaluate,
  .hessian_dir = mse_hessian_dir,
  .input_curvature = mse_input_curvature,
  .infimum = mse_infimum,
  .minimiser = mse_minimiser,
  .test_value = mse_test_value,
  .free = mse_free,
};

static const dln_cost_ops mse_ops_no_test = {
  .name = "mse",
  .formula = "C(A) = (1/N) ||A X - Y||_F^2",
  .evaluate = mse_evaluate,
  .hessian_dir = mse_hessian_dir,
  .input_curvature = mse_input_curvature,
  .infimum = mse_infimum,
  .minimiser = mse_minimiser,
  .test_value = NULL,
  .free = mse_free,
};

static int all_finite(const double *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

static double *copy_of(const double *x, size_t n)
{
  double *y = malloc(n * sizeof *y);
  if (y) memcpy(y, x, n * sizeof *y);
  return y;
}

int dln_cost_mse_alloc(size_t n0, size_t nL, size_t N, const double *X, const double *Y,
                       size_t Ntest, const double *Xtest, const double *Ytest, dln_cost **out)
{
  *out = NULL;
  int with_test = Ntest > 0 && Xtest && Ytest;
  if (n0 == 0 || nL == 0 || N == 0)
    return dln_error(DLN_EINVAL, "dln_cost_mse_alloc: empty data (n0 = %zu, nL = %zu, N = %zu)",
                     n0, nL, N);
  if (!all_finite(X, n0 * N) || !all_finite(Y, nL * N))
    return dln_error(DLN_ENONFINITE, "dln_cost_mse_alloc: training data holds NaN or inf");
  if (with_test && (!all_finite(Xtest, n0 * Ntest) || !all_finite(Ytest, nL * Ntest)))
    return dln_error(DLN_ENONFINITE, "dln_cost_mse_alloc: test data holds NaN or inf");

  mse_state *s = calloc(1, sizeof *s);
  if (!s) goto nomem;
  s->n0 = n0;
  s->nL = nL;
  s->N = N;
  s->Ntest = with_test ? Ntest : 0;
  s->X = copy_of(X, n0 * N);
  s->Y = copy_of(Y, nL * N);
  s->sxx = malloc(n0 * n0 * sizeof *s->sxx);
  s->syx = malloc(nL * n0 * sizeof *s->syx);
  s->resid = malloc(nL * (N > s->Ntest ? N : s->Ntest) * sizeof *s->resid);
  if (!s->X || !s->Y || !s->sxx || !s->syx || !s->resid) goto nomem;
  if (with_test) {
    s->Xtest = copy_of(Xtest, n0 * Ntest);
    s->Ytest = copy_of(Ytest, nL * Ntest);
    if (!s->Xtest || !s->Ytest) goto nomem;
  }
  dln_gemm(0, 1, n0, n0, N, 1.0 / (double)N, X, X, 0.0, s->sxx);
  dln_gemm(0, 1, nL, n0, N, 1.0 / (double)N, Y, X, 0.0, s->syx);
  return dln_cost_alloc(with_test ? &mse_ops : &mse_ops_no_test, s, nL, n0, out);
nomem:
  mse_free(s);
  return dln_error(DLN_ENOMEM, "dln_cost_mse_alloc: out of memory");
}
