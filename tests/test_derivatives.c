/* Analytic derivatives against central finite differences (THEORY.md §1):
 * ∇ℒ component by component, H·v along random directions, and the NTK operator Θ(G), for
 * depths 1, 2, 3, 5 with non-rectangular widths, both costs, at parameter scales spanning
 * several decades. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/cost.h"
#include "dlnflow/errors.h"
#include "dlnflow/problem.h"
#include "testlib.h"

/* Central differences have error O(h^2) + O(eps/h): this relative step balances them. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6

typedef struct shape {
  size_t depth;
  size_t widths[6];
} shape;

static const shape shapes[] = {
  {1, {3, 4}},
  {2, {3, 5, 4}},
  {3, {4, 2, 6, 3}},
  {5, {3, 4, 5, 2, 3, 4}},
};

static void fill(gsl_rng *rng, double *x, size_t n, double scale)
{
  for (size_t i = 0; i < n; i++) x[i] = scale * gsl_ran_gaussian(rng, 1.0);
}

static dln_cost *make_cost(gsl_rng *rng, int mc, size_t nL, size_t n0)
{
  dln_cost *cost = NULL;
  if (!mc) {
    size_t N = 7;
    double *X = malloc(n0 * N * sizeof *X), *Y = malloc(nL * N * sizeof *Y);
    fill(rng, X, n0 * N, 1.0);
    fill(rng, Y, nL * N, 2.385);
    dln_cost_mse_alloc(n0, nL, N, X, Y, 0, NULL, NULL, &cost);
    free(X);
    free(Y);
  } else {
    size_t N = nL * n0; /* with repeats: some entries twice, some never */
    dln_entry *e = malloc(N * sizeof *e);
    for (size_t i = 0; i < N; i++)
      e[i] = (dln_entry){gsl_rng_uniform_int(rng, nL), gsl_rng_uniform_int(rng, n0),
                         gsl_ran_gaussian(rng, 1.7)};
    dln_cost_mc_alloc(nL, n0, N, e, 0, NULL, &cost);
    free(e);
  }
  return cost;
}

static double rel_diff(const double *a, const double *b, size_t n)
{
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return sqrt(num) / sqrt(den);
}

static void check_problem(gsl_rng *rng, const shape *sh, int mc, double scale)
{
  dln_network *net = NULL;
  dln_network_alloc(sh->depth, sh->widths, &net);
  dln_cost *cost = make_cost(rng, mc, sh->widths[sh->depth], sh->widths[0]);
  dln_problem *p = NULL;
  if (dln_problem_alloc(net, cost, &p) != DLN_SUCCESS) {
    test_true(0, "problem alloc: %s", dln_error_message());
    return;
  }
  size_t P = dln_problem_nparams(p);
  size_t nA = sh->widths[0] * sh->widths[sh->depth];
  double *theta = malloc(P * sizeof *theta), *grad = malloc(P * sizeof *grad);
  double *fd = malloc(P * sizeof *fd), *v = malloc(P * sizeof *v), *hv = malloc(P * sizeof *hv);
  double *gp = malloc(P * sizeof *gp), *gm = malloc(P * sizeof *gm), *tmp = malloc(P * sizeof *tmp);
  double *ntk = malloc(nA * sizeof *ntk), *Ap = malloc(nA * sizeof *Ap), *G = malloc(nA * sizeof *G);
  fill(rng, theta, P, scale);
  const char *cname = mc ? "mc" : "mse";
  double loss;

  /* Gradient, coordinate by coordinate. */
  dln_problem_gradient(p, theta, &loss, grad);
  double h = FD_STEP * scale;
  for (size_t i = 0; i < P; i++) {
    double lp, lm, keep = theta[i];
    theta[i] = keep + h;
    dln_problem_loss(p, theta, &lp);
    theta[i] = keep - h;
    dln_problem_loss(p, theta, &lm);
    theta[i] = keep;
    fd[i] = (lp - lm) / (2.0 * h);
  }
  test_below(rel_diff(grad, fd, P), FD_TOL, "gradient vs finite differences, L = %zu, %s, scale %g",
             sh->depth, cname, scale);

  /* Hessian-vector product along a random direction. */
  fill(rng, v, P, 1.0);
  dln_problem_hvp(p, theta, v, hv);
  for (size_t i = 0; i < P; i++) tmp[i] = theta[i] + h * v[i];
  dln_problem_gradient(p, tmp, &loss, gp);
  for (size_t i = 0; i < P; i++) tmp[i] = theta[i] - h * v[i];
  dln_problem_gradient(p, tmp, &loss, gm);
  for (size_t i = 0; i < P; i++) fd[i] = (gp[i] - gm[i]) / (2.0 * h);
  test_below(rel_diff(hv, fd, P), FD_TOL, "H.v vs finite differences, L = %zu, %s, scale %g",
             sh->depth, cname, scale);

  /* H.v at a point other than the cached one must not reuse stale passes. */
  dln_problem_gradient(p, tmp, &loss, gm); /* cache at θ - hv */
  dln_problem_hvp(p, theta, v, gp);
  test_below(rel_diff(gp, hv, P), 1e-14, "H.v recomputes after the cached point moved, L = %zu, %s",
             sh->depth, cname);

  /* NTK: Θ(G) = -dA/dt along the flow, i.e. DA(θ)[∇ℒ], by differences along ∇ℒ/||∇ℒ||. */
  dln_problem_gradient(p, theta, &loss, grad);
  double gnorm = 0.0;
  for (size_t i = 0; i < P; i++) gnorm += grad[i] * grad[i];
  gnorm = sqrt(gnorm);
  for (size_t i = 0; i < P; i++) grad[i] /= gnorm;
  memcpy(G, dln_problem_cost_gradient(p), nA * sizeof *G);
  dln_problem_ntk_apply(p, theta, G, ntk);
  for (size_t i = 0; i < P; i++) tmp[i] = theta[i] + h * grad[i];
  dln_problem_loss(p, tmp, &loss);
  memcpy(Ap, dln_problem_product(p), nA * sizeof *Ap);
  for (size_t i = 0; i < P; i++) tmp[i] = theta[i] - h * grad[i];
  dln_problem_loss(p, tmp, &loss);
  for (size_t i = 0; i < nA; i++) Ap[i] = gnorm * (Ap[i] - dln_problem_product(p)[i]) / (2.0 * h);
  test_below(rel_diff(ntk, Ap, nA), FD_TOL, "NTK operator vs finite differences, L = %zu, %s",
             sh->depth, cname);

  free(theta); free(grad); free(fd); free(v); free(hv); free(gp); free(gm); free(tmp);
  free(ntk); free(Ap); free(G);
  dln_problem_free(p);
}

int main(void)
{
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 2385);
  /* Loss differences lose digits once ∇ℒ·h nears round-off of ℒ: scales stay where they do not. */
  const double scales[] = {0.4, 0.8, 1.3};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
    for (int mc = 0; mc <= 1; mc++)
      for (size_t k = 0; k < sizeof scales / sizeof *scales; k++)
        check_problem(rng, &shapes[s], mc, scales[k]);
  gsl_rng_free(rng);
  return test_summary();
}
