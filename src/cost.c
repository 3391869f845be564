/* The cost interface: a table of operations plus the state it works on (include/dlnflow/cost.h). */
#include "dlnflow/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

struct dln_cost {
  const dln_cost_ops *ops; /* operations (static, not owned) */
  void *state;             /* owned; released by ops->free */
  size_t rows, cols;       /* shape of A: n_L x n_0 */
};

int dln_cost_alloc(const dln_cost_ops *ops, void *state, size_t rows, size_t cols, dln_cost **out)
{
  *out = NULL;
  dln_cost *cost = malloc(sizeof *cost);
  if (!cost) {
    if (ops->free) ops->free(state);
    return dln_error(DLN_ENOMEM, "dln_cost_alloc: out of memory");
  }
  cost->ops = ops;
  cost->state = state;
  cost->rows = rows;
  cost->cols = cols;
  *out = cost;
  return DLN_SUCCESS;
}

void dln_cost_free(dln_cost *cost)
{
  if (!cost) return;
  if (cost->ops->free) cost->ops->free(cost->state);
  free(cost);
}

const char *dln_cost_name(const dln_cost *cost) { return cost->ops->name; }
const char *dln_cost_formula(const dln_cost *cost) { return cost->ops->formula; }
size_t dln_cost_rows(const dln_cost *cost) { return cost->rows; }
size_t dln_cost_cols(const dln_cost *cost) { return cost->cols; }
int dln_cost_has_test(const dln_cost *cost) { return cost->ops->test_value != NULL; }

int dln_cost_evaluate(const dln_cost *cost, const double *A, double *value, double *G)
{
  return cost->ops->evaluate(cost->state, A, value, G);
}

int dln_cost_hessian_dir(const dln_cost *cost, const double *A, const double *dA, double *dG)
{
  return cost->ops->hessian_dir(cost->state, A, dA, dG);
}

int dln_cost_infimum(const dln_cost *cost, double *value)
{
  if (!cost->ops->infimum) {
    *value = 0.0;
    return DLN_SUCCESS;
  }
  return cost->ops->infimum(cost->state, value);
}

int dln_cost_minimiser(const dln_cost *cost, double *A)
{
  if (!cost->ops->minimiser)
    return dln_error(DLN_EINVAL, "dln_cost_minimiser: the %s cost has no known minimiser",
                     cost->ops->name);
  return cost->ops->minimiser(cost->state, A);
}

int dln_cost_test_value(const dln_cost *cost, const double *A, double *value)
{
  if (!cost->ops->test_value) {
    *value = NAN;
    return DLN_SUCCESS;
  }
  return cost->ops->test_value(cost->state, A, value);
}

int dln_cost_at_zero(const dln_cost *cost, double *value, double *test_value)
{
  *value = *test_value = NAN;
  double *zero = calloc(cost->rows * cost->cols, sizeof *zero);
  if (!zero) return dln_error(DLN_ENOMEM, "out of memory for a %zu x %zu zero matrix",
                              cost->rows, cost->cols);
  int status = dln_cost_evaluate(cost, zero, value, NULL);
  if (status == DLN_SUCCESS) status = dln_cost_test_value(cost, zero, test_value);
  free(zero);
  return status;
}

int dln_cost_has_input_curvature(const dln_cost *cost)
{
  return cost->ops->input_curvature != NULL;
}

int dln_cost_input_curvature(const dln_cost *cost, double *K)
{
  if (!cost->ops->input_curvature)
    return dln_error(DLN_EINVAL, "cost %s gives no curvature model", cost->ops->name);
  return cost->ops->input_curvature(cost->state, K);
}

/* ---- linear cost -------------------------------------------------------------------- */

/* C(A) = c0 + <G, A>: G (rows x cols, owned) and c0. */
typedef struct linear_state {
  size_t n; /* entries of A */
  double c0;
  double G[];
} linear_state;

static int linear_evaluate(const void *state, const double *A, double *value, double *G)
{
  const linear_state *s = state;
  *value = s->c0 + dln_dot(s->n, s->G, A);
  if (G) memcpy(G, s->G, s->n * sizeof *G);
  return DLN_SUCCESS;
}

static int linear_hessian_dir(const void *state, const double *A, const double *dA, double *dG)
{
  const linear_state *s = state;
  (void)A;
  (void)dA;
  memset(dG, 0, s->n * sizeof *dG);
  return DLN_SUCCESS;
}

static const dln_cost_ops linear_ops = {
  .name = "linear",
  .formula = "C(A) = C(0) + <G0, A>",
  .evaluate = linear_evaluate,
  .hessian_dir = linear_hessian_dir,
  .input_curvature = NULL,
  .test_value = NULL,
  .free = free,
};

int dln_cost_linear_alloc(size_t rows, size_t cols, const double *G, double c0, dln_cost **out)
{
  *out = NULL;
  size_t n = rows * cols;
  if (n == 0) return dln_error(DLN_EINVAL, "dln_cost_linear_alloc: empty %zu x %zu", rows, cols);
  if (!isfinite(c0)) return dln_error(DLN_ENONFINITE, "dln_cost_linear_alloc: C(0) = %g", c0);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(G[i]))
      return dln_error(DLN_ENONFINITE, "dln_cost_linear_alloc: G holds NaN or inf");
  linear_state *s = malloc(sizeof *s + n * sizeof *s->G);
  if (!s) return dln_error(DLN_ENOMEM, "dln_cost_linear_alloc: out of memory");
  s->n = n;
  s->c0 = c0;
  memcpy(s->G, G, n * sizeof *G);
  return dln_cost_alloc(&linear_ops, s, rows, cols, out);
}
