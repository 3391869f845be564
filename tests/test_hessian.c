/* The Hessian's spectrum: at the origin of a depth-2 net with whitened inputs it is exactly
 * {±s_i(∇C(0))}, each once per hidden unit (THEORY.md §4: the origin is a strict saddle for
 * L = 2); Lanczos finds the same extremes as the dense computation; a convex depth-1 problem
 * has no negative eigenvalue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "dlnflow/hessian.h"
#include "dlnflow/init.h"
#include "fixtures.h"
#include "testlib.h"

static int ascending(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static dln_problem *whitened_net(size_t depth, size_t width, const double *s, size_t n)
{
  return fixture_whitened_net(depth, width, s, n, 40, 123, NULL);
}

static void check_origin_saddle(void)
{
  const double S[] = {5.0, 3.0, 2.0, 1.0};
  const size_t n = 4, w = 3;
  dln_problem *p = whitened_net(2, w, S, n);
  size_t P = dln_problem_nparams(p);
  double *theta = calloc(P, sizeof *theta), *eig = malloc(P * sizeof *eig);
  double *expected = malloc(P * sizeof *expected);
  dln_hessian_spectrum spec;
  int status = dln_hessian_spectrum_compute(p, theta, 1e-9, 1000, 0, 1, &spec, eig);
  test_true(status == DLN_SUCCESS && spec.dense, "dense spectrum at the origin (%s)",
            dln_error_message());
  /* ∇C(0) = -2M for whitened MSE: singular values 2 S_i, each ± once per hidden unit. */
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t u = 0; u < w; u++) {
      expected[k++] = 2.0 * S[i];
      expected[k++] = -2.0 * S[i];
    }
  qsort(expected, P, sizeof *expected, ascending);
  double worst = 0.0;
  for (size_t i = 0; i < P; i++) worst = fmax(worst, fabs(eig[i] - expected[i]) / 10.0);
  test_below(worst, 1e-12, "L = 2 origin: eigenvalues are ±s_i(grad C(0)), w times each");
  test_true(spec.negative == n * w, "L = 2 origin: %zu negative eigenvalues (expected %zu)",
            spec.negative, n * w);
  test_rel(spec.lambda_max, 10.0, 1e-12, "L = 2 origin: largest eigenvalue s_1 = 2 S_11");
  free(theta);
  free(eig);
  free(expected);
  dln_problem_free(p);
}

static void check_lanczos_matches_dense(void)
{
  const double S[] = {4.1, 2.9, 1.7, 0.6};
  dln_problem *p = whitened_net(3, 6, S, 4);
  size_t P = dln_problem_nparams(p);
  double *theta = malloc(P * sizeof *theta);
  dln_init_scaled(dln_problem_network(p), 0.6, 5, theta);
  dln_hessian_spectrum dense, lanczos;
  dln_hessian_spectrum_compute(p, theta, 1e-9, P, 0, 1, &dense, NULL);
  int status = dln_hessian_spectrum_compute(p, theta, 1e-9, 0, P / 2, 3, &lanczos, NULL);
  test_true(status == DLN_SUCCESS && !lanczos.dense, "Lanczos runs (%zu steps of P = %zu)",
            lanczos.lanczos_steps, P);
  test_rel(lanczos.lambda_max, dense.lambda_max, 1e-8, "Lanczos finds the largest eigenvalue");
  test_rel(lanczos.lambda_min, dense.lambda_min, 1e-8, "Lanczos finds the smallest eigenvalue");
  free(theta);
  dln_problem_free(p);
}

static void check_convex(void)
{
  const double S[] = {3.0, 1.0, 0.5};
  dln_problem *p = whitened_net(1, 0, S, 3);
  size_t P = dln_problem_nparams(p);
  double *theta = malloc(P * sizeof *theta);
  dln_init_scaled(dln_problem_network(p), 1.3, 2, theta);
  dln_hessian_spectrum spec;
  double eig[9];
  dln_hessian_spectrum_compute(p, theta, 1e-9, 1000, 0, 1, &spec, eig);
  /* ℒ = ||A - M||² + C0 with whitened inputs: H = 2 I. */
  test_true(spec.negative == 0, "depth 1 (convex): no negative eigenvalue");
  test_rel(spec.lambda_min, 2.0, 1e-12, "depth 1, whitened: H = 2 I (smallest)");
  test_rel(spec.lambda_max, 2.0, 1e-12, "depth 1, whitened: H = 2 I (largest)");
  free(theta);
  dln_problem_free(p);
}

int main(void)
{
  check_origin_saddle();
  check_lanczos_matches_dense();
  check_convex();
  return test_summary();
}
