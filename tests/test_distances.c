/* Theorem 1's constructions and the NTK matrix (include/dlnflow/distances.h, ntk.h):
 * the saddle distance is sqrt(||W_1||² + ||W_L||²) exactly, both minimum constructions reach
 * C_min, and the NTK matrix matches closed forms at L = 1 (identity) and L = 2
 * (Θ(M) = W_2 W_2ᵀ M + M W_1ᵀ W_1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/distances.h"
#include "dlnflow/errors.h"
#include "dlnflow/init.h"
#include "dlnflow/ntk.h"
#include "fixtures.h"
#include "testlib.h"
#include "../src/linalg.h"

static const double S[3] = {2.385, 1.25, 0.4375};

static void test_constructions(size_t L, size_t w, double gamma)
{
  double C0;
  dln_problem *p = fixture_whitened_net(L, w, S, 3, 40, 7, &C0);
  const dln_network *net = dln_problem_network(p);
  size_t P = dln_problem_nparams(p);
  double *theta = malloc(P * sizeof *theta), *out = malloc(P * sizeof *out), A[9];
  dln_init_gaussian(net, 1.0, gamma, 11, theta);
  double d, cmin, c;
  test_true(dln_cost_minimiser(dln_problem_cost(p), A) == DLN_SUCCESS, "minimiser L=%zu", L);
  dln_cost_evaluate(dln_problem_cost(p), A, &cmin, NULL);
  test_rel(cmin, C0, 1e-10, "C(A*) is the floor C0 (L=%zu w=%zu)", L, w);

  dln_distance_saddle(net, theta, out, &d);
  size_t o1 = dln_network_layer_offset(net, 1), oL = dln_network_layer_offset(net, L);
  size_t s1 = dln_network_width(net, 1) * 3, sL = 3 * dln_network_width(net, L - 1);
  double e = 0.0;
  for (size_t i = 0; i < s1; i++) e += theta[o1 + i] * theta[o1 + i];
  for (size_t i = 0; i < sL; i++) e += theta[oL + i] * theta[oL + i];
  test_rel(d, sqrt(e), 1e-15, "saddle distance = sqrt(|W1|^2+|WL|^2) (L=%zu w=%zu)", L, w);
  double diff = 0.0;
  for (size_t i = 0; i < P; i++) diff += (out[i] - theta[i]) * (out[i] - theta[i]);
  test_rel(sqrt(diff), d, 1e-15, "saddle point sits at that distance (L=%zu)", L);
  dln_problem_gradient(p, out, &c, NULL);
  test_abs(dln_nrm2(9, dln_problem_product(p)), 0.0, 0.0, "A(saddle) = 0 (L=%zu)", L);

  test_true(dln_distance_minimum_pinv(net, theta, A, out, &d) == DLN_SUCCESS, "pinv runs");
  dln_problem_loss(p, out, &c);
  test_abs(c - cmin, 0.0, 1e-10 * (1.0 + cmin), "pinv minimum: C = C_min (L=%zu w=%zu g=%g)", L, w, gamma);
  diff = 0.0;
  for (size_t i = 0; i < P; i++) diff += (out[i] - theta[i]) * (out[i] - theta[i]);
  test_rel(sqrt(diff), d, 1e-12, "pinv distance = ||dW_L|| (L=%zu)", L);

  test_true(dln_distance_minimum_embed(net, theta, A, out, &d) == DLN_SUCCESS, "embed runs");
  dln_problem_loss(p, out, &c);
  test_abs(c - cmin, 0.0, 1e-10 * (1.0 + cmin), "embed minimum: C = C_min (L=%zu w=%zu g=%g)", L, w, gamma);
  free(theta);
  free(out);
  dln_problem_free(p);
}

/* NTK of depth 1 is the identity; of depth 2 it is M -> W2 W2ᵀ M + M W1ᵀ W1. */
static void test_ntk(void)
{
  for (size_t L = 1; L <= 2; L++) {
    size_t w = 4, m = 9;
    dln_problem *p = fixture_whitened_net(L, w, S, 3, 40, 7, NULL);
    const dln_network *net = dln_problem_network(p);
    size_t P = dln_problem_nparams(p);
    double *theta = malloc(P * sizeof *theta), K[81], ref[81];
    dln_init_gaussian(net, 2.385, 0.5, 3, theta);
    dln_ntk_matrix(p, theta, K);
    memset(ref, 0, sizeof ref);
    for (size_t j = 0; j < m; j++) {
      double E[9] = {0}, col[9] = {0};
      E[j] = 1.0;
      if (L == 1) {
        memcpy(col, E, sizeof col);
      } else {
        const double *W1 = theta, *W2 = theta + dln_network_layer_offset(net, 2);
        double T[12];
        dln_gemm(1, 0, w, 3, 3, 1.0, W2, E, 0.0, T);     /* W2ᵀ M   (w x 3) */
        dln_gemm(0, 0, 3, 3, w, 1.0, W2, T, 0.0, col);   /* W2 W2ᵀ M */
        dln_gemm(0, 1, 3, w, 3, 1.0, E, W1, 0.0, T);     /* M W1ᵀ   (3 x w) */
        dln_gemm(0, 0, 3, 3, w, 1.0, T, W1, 1.0, col);   /* + M W1ᵀ W1 */
      }
      for (size_t i = 0; i < m; i++) ref[i * m + j] = col[i];
    }
    double err = 0.0;
    for (size_t i = 0; i < 81; i++) err = fmax(err, fabs(K[i] - ref[i]));
    test_abs(err, 0.0, 1e-12 * (1.0 + dln_ntk_frobenius(m, ref)), "NTK matrix = closed form (L=%zu)", L);
    double op;
    dln_ntk_operator_norm(m, K, &op);
    if (L == 1) test_rel(op, 1.0, 1e-14, "L=1: ||Theta|| = 1");
    else test_below(op, dln_ntk_frobenius(m, K) * (1.0 + 1e-14), "L=2: operator norm <= Frobenius");
    free(theta);
    dln_problem_free(p);
  }
}

int main(void)
{
  test_constructions(2, 6, 0.75);
  test_constructions(4, 12, 0.75);
  test_constructions(4, 12, 1.5);
  test_constructions(3, 20, 1.0);
  test_ntk();
  return test_summary();
}
