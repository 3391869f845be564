/* Matrix completion C(A) = (1/N) Σ_i (A[k_i,m_i] - a_i)^2 over N observed entries
 * (THEORY.md §1); the test cost is the same mean over the held-out entries.
 *   G = (2/N) Σ_i (A[k_i,m_i] - a_i) e_{k_i} e_{m_i}ᵀ,   D²C(A)[dA] = (2/N) Σ_i dA[k_i,m_i] e_{k_i} e_{m_i}ᵀ
 * A repeated entry counts as often as it is listed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/cost.h"
#include "dlnflow/errors.h"

typedef struct mc_state {
  size_t rows, cols;
  size_t N, Ntest;
  dln_entry *train; /* N observed entries (owned) */
  dln_entry *test;  /* Ntest held-out entries (owned, NULL if none) */
} mc_state;

static void mc_free(void *state)
{
  mc_state *s = state;
  if (!s) return;
  free(s->train);
  free(s->test);
  free(s);
}

static double mean_squared_error(const mc_state *s, const double *A, const dln_entry *e, size_t n)
{
  /* Sums of squares of well-scaled residuals: plain accumulation is accurate enough here. */
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double r = A[e[i].row * s->cols + e[i].col] - e[i].value;
    sum += r * r;
  }
  return sum / (double)n;
}

static int mc_evaluate(const void *state, const double *A, double *value, double *G)
{
  const mc_state *s = state;
  *value = mean_squared_error(s, A, s->train, s->N);
  if (G) {
    memset(G, 0, s->rows * s->cols * sizeof *G);
    double scale = 2.0 / (double)s->N;
    for (size_t i = 0; i < s->N; i++) {
      size_t k = s->train[i].row * s->cols + s->train[i].col;
      G[k] += scale * (A[k] - s->train[i].value);
    }
  }
  return DLN_SUCCESS;
}

static int mc_hessian_dir(const void *state, const double *A, const double *dA, double *dG)
{
  const mc_state *s = state;
  (void)A;
  memset(dG, 0, s->rows * s->cols * sizeof *dG);
  double scale = 2.0 / (double)s->N;
  for (size_t i = 0; i < s->N; i++) {
    size_t k = s->train[i].row * s->cols + s->train[i].col;
    dG[k] += scale * dA[k];
  }
  return DLN_SUCCESS;
}

/* The mask's average over rows: D²C[dA] ≈ 2 dA diag(c_m / (N n_L)), with c_m the number of
 * observed entries in column m. Only a preconditioner model, so an average suffices. */
static int mc_input_curvature(const void *state, double *K)
{
  const mc_state *s = state;
  memset(K, 0, s->cols * s->cols * sizeof *K);
  double unit = 1.0 / ((double)s->N * (double)s->rows);
  for (size_t i = 0; i < s->N; i++) K[s->train[i].col * (s->cols + 1)] += unit;
  return DLN_SUCCESS;
}

/* Every observed cell can be fitted exactly, so the floor is the spread of repeated
 * observations of one cell around their mean: (1/N) Σ_cells (Σ a² - (Σ a)² / count). */
static int mc_infimum(const void *state, double *value)
{
  const mc_state *s = state;
  size_t cells = s->rows * s->cols;
  double *sum = calloc(cells, sizeof *sum), *sumsq = calloc(cells, sizeof *sumsq);
  double *count = calloc(cells, sizeof *count);
  if (!sum || !sumsq || !count) {
    free(sum);
    free(sumsq);
    free(count);
    return dln_error(DLN_ENOMEM, "mc infimum: out of memory");
  }
  for (size_t i = 0; i < s->N; i++) {
    size_t k = s->train[i].row * s->cols + s->train[i].col;
    sum[k] += s->train[i].value;
    sumsq[k] += s->train[i].value * s->train[i].value;
    count[k] += 1.0;
  }
  double total = 0.0;
  for (size_t k = 0; k < cells; k++)
    if (count[k] > 1.0) total += fmax(0.0, sumsq[k] - sum[k] * sum[k] / count[k]);
  *value = total / (double)s->N;
  free(sum);
  free(sumsq);
  free(count);
  return DLN_SUCCESS;
}

/* A global minimiser: each observed cell at the mean of its observations; an unobserved cell at
 * its held-out value when the test set lists it (the target, for generated data), else 0 (which
 * makes A* the minimum-norm minimiser). Any value in an unobserved cell is optimal: the minimiser
 * set of MC is not of measure zero, so Theorem 1's hypothesis holds only with full observation. */
static int mc_minimiser(const void *state, double *A)
{
  const mc_state *s = state;
  size_t cells = s->rows * s->cols;
  double *count = calloc(cells, sizeof *count);
  if (!count) return dln_error(DLN_ENOMEM, "mc minimiser: out of memory");
  memset(A, 0, cells * sizeof *A);
  for (size_t i = 0; i < s->Ntest; i++) A[s->test[i].row * s->cols + s->test[i].col] = s->test[i].value;
  for (size_t i = 0; i < s->N; i++) {
    size_t k = s->train[i].row * s->cols + s->train[i].col;
    if (count[k] == 0.0) A[k] = 0.0;
    count[k] += 1.0;
    A[k] += (s->train[i].value - A[k]) / count[k]; /* running mean */
  }
  free(count);
  return DLN_SUCCESS;
}

static int mc_test_value(const void *state, const double *A, double *value)
{
  const mc_state *s = state;
  *value = mean_squared_error(s, A, s->test, s->Ntest);
  return DLN_SUCCESS;
}

static const dln_cost_ops mc_ops = {
  .name = "mc",
  .formula = "C(A) = (1/N) sum_i (A[k_i,m_i] - a_i)^2 over observed entries",
  .evaluate = mc_evaluate,
  .hessian_dir = mc_hessian_dir,
  .input_curvature = mc_input_curvature,
  .infimum = mc_infimum,
  .minimiser = mc_minimiser,
  .test_value = mc_test_value,
  .free = mc_free,
};

static const dln_cost_ops mc_ops_no_test = {
  .name = "mc",
  .formula = "C(A) = (1/N) sum_i (A[k_i,m_i] - a_i)^2 over observed entries",
  .evaluate = mc_evaluate,
  .hessian_dir = mc_hessian_dir,
  .input_curvature = mc_input_curvature,
  .infimum = mc_infimum,
  .minimiser = mc_minimiser,
  .test_value = NULL,
  .free = mc_free,
};

static int check_entries(const char *what, const dln_entry *e, size_t n, size_t rows, size_t cols)
{
  for (size_t i = 0; i < n; i++) {
    if (e[i].row >= rows || e[i].col >= cols)
      return dln_error(DLN_EINVAL,
                       "dln_cost_mc_alloc: %s entry %zu at (%zu, %zu) lies outside %zu x %zu",
                       what, i, e[i].row, e[i].col, rows, cols);
    if (!isfinite(e[i].value))
      return dln_error(DLN_ENONFINITE, "dln_cost_mc_alloc: %s entry %zu at (%zu, %zu) is %g",
                       what, i, e[i].row, e[i].col, e[i].value);
  }
  return DLN_SUCCESS;
}

int dln_cost_mc_alloc(size_t rows, size_t cols, size_t N, const dln_entry *train, size_t Ntest,
                      const dln_entry *test, dln_cost **out)
{
  *out = NULL;
  if (rows == 0 || cols == 0 || N == 0)
    return dln_error(DLN_EINVAL, "dln_cost_mc_alloc: %zu x %zu target with %zu observed entries",
                     rows, cols, N);
  int status = check_entries("observed", train, N, rows, cols);
  if (status == DLN_SUCCESS && Ntest > 0) status = check_entries("test", test, Ntest, rows, cols);
  if (status != DLN_SUCCESS) return status;

  mc_state *s = calloc(1, sizeof *s);
  if (!s) goto nomem;
  s->rows = rows;
  s->cols = cols;
  s->N = N;
  s->Ntest = test ? Ntest : 0;
  s->train = malloc(N * sizeof *s->train);
  if (!s->train) goto nomem;
  memcpy(s->train, train, N * sizeof *train);
  if (s->Ntest > 0) {
    s->test = malloc(Ntest * sizeof *s->test);
    if (!s->test) goto nomem;
    memcpy(s->test, test, Ntest * sizeof *test);
  }
  return dln_cost_alloc(s->Ntest > 0 ? &mc_ops : &mc_ops_no_test, s, rows, cols, out);
nomem:
  mc_free(s);
  return dln_error(DLN_ENOMEM, "dln_cost_mc_alloc: out of memory");
}
