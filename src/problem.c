/* The loss ℒ(θ) = C(A(θ)): network passes chained with a cost (THEORY.md §1).
 *
 * The gradient call leaves A, G = ∇C(A) and the back-propagated blocks of its point in the
 * network's workspace, and remembers the point; a Hessian-vector product at the same θ (what
 * CVODE's GMRES asks for right after the right-hand side) then costs one tangent pass, one
 * D²C product and one second-order backward pass.
 */
#include "dlnflow/problem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

struct dln_problem {
  dln_network *net;   /* owned */
  dln_cost *cost;     /* owned */
  size_t nparams;     /* P */
  size_t amat;        /* n_L n_0, entries of A */
  double *G;          /* ∇C(A) at the cached point (amat) */
  double *dA, *dG;    /* tangent workspaces (amat) */
  double *scratch;    /* P doubles, for ntk_apply */
  double *cached;     /* θ of the cached point (P) */
  double *scratch_unit; /* P, unit vectors for dln_problem_hessian */
  int cache_valid;    /* cached holds the point of the network's workspace */
  dln_problem_counters counters;
};

int dln_problem_alloc(dln_network *net, dln_cost *cost, dln_problem **out)
{
  *out = NULL;
  size_t L = dln_network_depth(net);
  size_t rows = dln_network_width(net, L), cols = dln_network_width(net, 0);
  if (dln_cost_rows(cost) != rows || dln_cost_cols(cost) != cols) {
    int status = dln_error(DLN_EDIM,
                           "the network maps %zu inputs to %zu outputs, but the data needs %zu "
                           "inputs and %zu outputs",
                           cols, rows, dln_cost_cols(cost), dln_cost_rows(cost));
    dln_network_free(net);
    dln_cost_free(cost);
    return status;
  }
  dln_problem *p = calloc(1, sizeof *p);
  if (!p) {
    dln_network_free(net);
    dln_cost_free(cost);
    return dln_error(DLN_ENOMEM, "dln_problem_alloc: out of memory");
  }
  p->net = net;
  p->cost = cost;
  p->nparams = dln_network_nparams(net);
  p->amat = rows * cols;
  p->G = malloc(p->amat * sizeof *p->G);
  p->dA = malloc(p->amat * sizeof *p->dA);
  p->dG = malloc(p->amat * sizeof *p->dG);
  p->scratch = malloc(p->nparams * sizeof *p->scratch);
  p->cached = malloc(p->nparams * sizeof *p->cached);
  p->scratch_unit = malloc(p->nparams * sizeof *p->scratch_unit);
  if (!p->G || !p->dA || !p->dG || !p->scratch || !p->cached || !p->scratch_unit) {
    dln_problem_free(p);
    return dln_error(DLN_ENOMEM, "dln_problem_alloc: out of memory");
  }
  *out = p;
  return DLN_SUCCESS;
}

void dln_problem_free(dln_problem *p)
{
  if (!p) return;
  dln_network_free(p->net);
  dln_cost_free(p->cost);
  free(p->G);
  free(p->dA);
  free(p->dG);
  free(p->scratch);
  free(p->cached);
  free(p->scratch_unit);
  free(p);
}

dln_network *dln_problem_network(const dln_problem *p) { return p->net; }
const dln_cost *dln_problem_cost(const dln_problem *p) { return p->cost; }
size_t dln_problem_nparams(const dln_problem *p) { return p->nparams; }
const double *dln_problem_product(const dln_problem *p) { return dln_network_product(p->net); }
const double *dln_problem_cost_gradient(const dln_problem *p) { return p->G; }
dln_problem_counters dln_problem_get_counters(const dln_problem *p) { return p->counters; }

int dln_problem_loss(dln_problem *p, const double *theta, double *loss)
{
  p->cache_valid = 0; /* the forward pass overwrites the cached point's prefix products */
  p->counters.losses++;
  dln_network_forward(p->net, theta);
  return dln_cost_evaluate(p->cost, dln_network_product(p->net), loss, NULL);
}

int dln_problem_start_loss(dln_problem *p, const double *theta, double *loss)
{
  int status = dln_problem_loss(p, theta, loss);
  if (status == DLN_SUCCESS && !isfinite(*loss))
    return dln_error(DLN_ENONFINITE, "the loss at θ(0) is %g: the initial weights or the data "
                     "are too large for double precision (check init.alpha, init.c, init.gamma "
                     "and the data's scale)", *loss);
  return status;
}

/* Evaluates ℒ, G and (into grad, or scratch) ∇ℒ at θ and caches the point. */
static int evaluate_point(dln_problem *p, const double *theta, double *loss, double *grad)
{
  p->cache_valid = 0;
  dln_network_forward(p->net, theta);
  int status = dln_cost_evaluate(p->cost, dln_network_product(p->net), loss, p->G);
  if (status != DLN_SUCCESS) return status;
  /* The backward pass also leaves B_l for later Hessian-vector products; run it into
   * scratch when the caller wants only the loss and G. */
  dln_network_backward(p->net, theta, p->G, grad ? grad : p->scratch);
  memcpy(p->cached, theta, p->nparams * sizeof *theta);
  p->cache_valid = 1;
  return DLN_SUCCESS;
}

int dln_problem_gradient(dln_problem *p, const double *theta, double *loss, double *grad)
{
  p->counters.gradients++;
  return evaluate_point(p, theta, loss, grad);
}

/* Makes the network's workspace hold forward and backward passes at θ. */
static int ensure_point(dln_problem *p, const double *theta)
{
  if (p->cache_valid && memcmp(p->cached, theta, p->nparams * sizeof *theta) == 0)
    return DLN_SUCCESS;
  double loss;
  return evaluate_point(p, theta, &loss, NULL);
}

int dln_problem_hvp(dln_problem *p, const double *theta, const double *v, double *hv)
{
  int status = ensure_point(p, theta);
  if (status != DLN_SUCCESS) return status;
  p->counters.hvps++;
  dln_network_tangent(p->net, theta, v, p->dA);
  status = dln_cost_hessian_dir(p->cost, dln_network_product(p->net), p->dA, p->dG);
  if (status != DLN_SUCCESS) return status;
  dln_network_hvp(p->net, theta, v, p->dG, hv);
  return DLN_SUCCESS;
}

int dln_problem_test_loss(dln_problem *p, const double *theta, double *loss)
{
  if (!dln_cost_has_test(p->cost)) {
    *loss = NAN;
    return DLN_SUCCESS;
  }
  p->cache_valid = 0;
  dln_network_forward(p->net, theta);
  return dln_cost_test_value(p->cost, dln_network_product(p->net), loss);
}

int dln_problem_ntk_apply(dln_problem *p, const double *theta, const double *M, double *out)
{
  /* Θ(M) = DA(θ)[∇_θ <M, A(θ)>]: a backward pass with M in place of G, then a tangent pass. */
  p->cache_valid = 0;
  dln_network_forward(p->net, theta);
  dln_network_backward(p->net, theta, M, p->scratch);
  dln_network_tangent(p->net, theta, p->scratch, out);
  return DLN_SUCCESS;
}

int dln_problem_hessian(dln_problem *p, const double *theta, double *H)
{
  size_t P = p->nparams;
  double *unit = p->scratch_unit;
  memset(unit, 0, P * sizeof *unit);
  for (size_t j = 0; j < P; j++) {
    unit[j] = 1.0;
    int status = dln_problem_hvp(p, theta, unit, H + j * P); /* column j = row j: symmetric */
    unit[j] = 0.0;
    if (status != DLN_SUCCESS) return status;
  }
  return DLN_SUCCESS;
}
