/* Theorem 1's constructions and the NTK matrix (include/dlnflow/distances.h, ntk.h):
 * the saddle distance is sqrt(||W_1||² + ||W_L||²) exactly, both minimum constructions reach
 * C_min, and the NTK matrix matches closed forms at L = 1 (identity) and L = 2
 * (Θ(M) = W_2 W_2ᵀ M + M W_1ᵀ W_1). The nearest minimum: closed forms (the hyperbola
 * x y = a, solved by bisection on its multiplier; balanced aligned nets, whose nearest point
 * moves every mode's magnitude from a0^(1/L) to s^(1/L) in every layer) and, on random
 * starts, the optimality conditions checked with an explicit Jacobian and Hessian. */
#include <lapacke.h>
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

/* The scalar net x·y (L = 2, widths 1): the point of x y = a nearest to (x0, y0) is
 * ((x0 + λ y0), (y0 + λ x0)) / (1 - λ²) for the root λ in (0, 1) of x y = a (bisection). */
static void test_nearest_hyperbola(void)
{
  const size_t widths[3] = {1, 1, 1};
  dln_network *net = NULL;
  dln_network_alloc(2, widths, &net);
  const double x0 = 0.3, y0 = 1.7, a = 2.0, theta0[2] = {x0, y0};
  double lo = 0.0, hi = 1.0 - 1e-12;
  for (int k = 0; k < 200; k++) {
    double lam = 0.5 * (lo + hi), q = 1.0 - lam * lam;
    if ((x0 + lam * y0) * (y0 + lam * x0) / (q * q) < a) lo = lam;
    else hi = lam;
  }
  double lam = 0.5 * (lo + hi), q = 1.0 - lam * lam;
  double x = (x0 + lam * y0) / q, y = (y0 + lam * x0) / q, start[2], out[2], d, kkt;
  dln_distance_minimum_pinv(net, theta0, &a, start, &d); /* y = a / x0: far (5.0) */
  test_true(dln_distance_minimum_nearest(net, theta0, &a, start, out, &d, &kkt) == DLN_SUCCESS,
            "hyperbola: nearest runs");
  test_rel(d, hypot(x - x0, y - y0), 1e-10, "hyperbola: distance = the bisection's");
  test_rel(out[0], x, 1e-8, "hyperbola: x");
  test_rel(out[1], y, 1e-8, "hyperbola: y");
  test_below(kkt, 1e-7, "hyperbola: tangential gradient");
  dln_network_free(net);
}

/* Balanced aligned θ0 with magnitudes a0 and A* = U diag(s) Vᵀ: d = sqrt(L Σ (s^(1/L) - a0^(1/L))²),
 * from the pinv point and from a perturbed one. */
static void test_nearest_balanced(size_t L, size_t w)
{
  whitened_problem wp;
  dln_cost *cost = NULL;
  fixture_whitened_cost(3, S, 40, 7, &wp, &cost);
  size_t widths[DLN_MAX_DEPTH + 1];
  widths[0] = widths[L] = 3;
  for (size_t l = 1; l < L; l++) widths[l] = w;
  dln_network *net = NULL;
  dln_network_alloc(L, widths, &net);
  size_t P = dln_network_nparams(net);
  double a0[3], A[9], expected = 0.0, d, dstart, kkt;
  for (size_t i = 0; i < 3; i++) {
    a0[i] = 0.6 * S[i];
    double step = pow(S[i], 1.0 / (double)L) - pow(a0[i], 1.0 / (double)L);
    expected += (double)L * step * step;
  }
  expected = sqrt(expected);
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 3; j++) {
      A[i * 3 + j] = 0.0;
      for (size_t k = 0; k < 3; k++) A[i * 3 + j] += wp.U[i * 3 + k] * S[k] * wp.V[j * 3 + k];
    }
  double *theta0 = malloc(P * sizeof *theta0), *start = malloc(P * sizeof *start);
  fixture_balanced_start(&wp, net, a0, 5, theta0);
  dln_distance_minimum_pinv(net, theta0, A, start, &dstart);
  test_true(dln_distance_minimum_nearest(net, theta0, A, start, NULL, &d, &kkt) == DLN_SUCCESS,
            "balanced L=%zu w=%zu: nearest runs from pinv", L, w);
  test_rel(d, expected, 1e-9, "balanced L=%zu w=%zu: d = sqrt(L sum (s^1/L - a0^1/L)^2) (pinv start)", L, w);
  test_below(d, dstart, "balanced L=%zu: nearest <= pinv", L);
  test_below(kkt, 1e-7, "balanced L=%zu: tangential gradient", L);
  for (size_t i = 0; i < P; i++) start[i] += 0.05 * sin(3.7 * (double)i);
  test_true(dln_distance_minimum_nearest(net, theta0, A, start, NULL, &d, &kkt) == DLN_SUCCESS,
            "balanced L=%zu w=%zu: nearest runs from a perturbed start", L, w);
  test_rel(d, expected, 1e-9, "balanced L=%zu w=%zu: same distance from a perturbed start", L, w);
  free(theta0);
  free(start);
  dln_network_free(net);
  dln_cost_free(cost);
  fixture_whitened_release(&wp);
}

/* Random θ0 (small P): A(θ_m) = A*; θ_m - θ0 = Jᵀ Λ (least squares on the explicit Jacobian);
 * the Hessian I - ∇²<Λ, A> is positive definite on ker J (explicit matrix, null space from the
 * SVD of J); no farther than the pinv, embed and projection points. */
static void test_nearest_optimality(size_t L, size_t w, double gamma)
{
  dln_problem *p = fixture_whitened_net(L, w, S, 3, 40, 7, NULL);
  dln_network *net = dln_problem_network(p);
  size_t P = dln_problem_nparams(p), m = 9, n = P - m;
  double *theta0 = malloc(P * sizeof *theta0), *start = malloc(P * sizeof *start);
  double *xm = malloc(P * sizeof *xm), *J = malloc(m * P * sizeof *J), *H = malloc(P * P * sizeof *H);
  double *e = calloc(P, sizeof *e), *r = malloc(P * sizeof *r), *Vt = malloc(P * P * sizeof *Vt);
  double *Z = malloc(P * n * sizeof *Z), *HZ = malloc(P * n * sizeof *HZ), *ZHZ = malloc(n * n * sizeof *ZHZ);
  double A[9], sv[9], lam[9], zero[9] = {0}, dmin = INFINITY, d, dother, kkt;
  dln_init_gaussian(net, 1.0, gamma, 11, theta0);
  dln_cost_minimiser(dln_problem_cost(p), A);
  for (int k = 0; k < 3; k++) {
    int rc = k == 0 ? dln_distance_minimum_pinv(net, theta0, A, start, &dother)
           : k == 1 ? dln_distance_minimum_embed(net, theta0, A, start, &dother)
                    : dln_distance_minimum_projection(net, theta0, A, start, &dother);
    if (rc != DLN_SUCCESS) continue;
    double *out = malloc(P * sizeof *out);
    test_true(dln_distance_minimum_nearest(net, theta0, A, start, out, &d, &kkt) == DLN_SUCCESS,
              "L=%zu w=%zu g=%g start %d: nearest runs", L, w, gamma, k);
    test_below(d, dother * (1.0 + 1e-12), "L=%zu w=%zu g=%g start %d: no farther than the start", L, w, gamma, k);
    if (d < dmin) {
      dmin = d;
      memcpy(xm, out, P * sizeof *xm);
    }
    free(out);
  }
  dln_network_forward(net, xm);
  double err = 0.0;
  for (size_t i = 0; i < m; i++) err = fmax(err, fabs(dln_network_product(net)[i] - A[i]));
  test_below(err, 1e-10 * dln_nrm2(m, A), "L=%zu w=%zu g=%g: A(theta_m) = A*", L, w, gamma);
  /* J column by column; Λ by least squares of θ_m - θ0 on Jᵀ. */
  for (size_t k = 0; k < P; k++) {
    e[k] = 1.0;
    double col[9];
    dln_network_tangent(net, xm, e, col);
    e[k] = 0.0;
    for (size_t i = 0; i < m; i++) J[i * P + k] = col[i];
  }
  for (size_t i = 0; i < P; i++) r[i] = xm[i] - theta0[i];
  double *Jt = malloc(P * m * sizeof *Jt), *b = malloc(P * sizeof *b);
  for (size_t i = 0; i < m; i++)
    for (size_t k = 0; k < P; k++) Jt[k * m + i] = J[i * P + k];
  memcpy(b, r, P * sizeof *b);
  LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', (lapack_int)P, (lapack_int)m, 1, Jt, (lapack_int)m, b, 1);
  memcpy(lam, b, m * sizeof *lam);
  double res = 0.0;
  for (size_t k = 0; k < P; k++) {
    double jl = 0.0;
    for (size_t i = 0; i < m; i++) jl += J[i * P + k] * lam[i];
    res += (r[k] - jl) * (r[k] - jl);
  }
  test_below(sqrt(res), 1e-6 * dln_nrm2(P, r), "L=%zu w=%zu g=%g: theta_m - theta0 in the row space of J", L, w, gamma);
  /* H = I - ∇²<Λ, A> column by column, then Zᵀ H Z on ker J. */
  double *g = malloc(P * sizeof *g);
  for (size_t k = 0; k < P; k++) {
    e[k] = 1.0;
    dln_network_forward(net, xm);
    dln_network_backward(net, xm, lam, g);
    dln_network_tangent(net, xm, e, NULL);
    dln_network_hvp(net, xm, e, zero, g);
    e[k] = 0.0;
    for (size_t i = 0; i < P; i++) H[i * P + k] = (i == k) - g[i];
  }
  double *Jc = malloc(m * P * sizeof *Jc), superb[9];
  memcpy(Jc, J, m * P * sizeof *Jc);
  LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'A', (lapack_int)m, (lapack_int)P, Jc, (lapack_int)P, sv,
                 NULL, 1, Vt, (lapack_int)P, superb);
  test_true(sv[m - 1] > 1e-8 * sv[0], "L=%zu w=%zu: J has full rank at theta_m", L, w);
  for (size_t k = 0; k < P; k++)
    for (size_t j = 0; j < n; j++) Z[k * n + j] = Vt[(m + j) * P + k];
  dln_gemm(0, 0, P, n, P, 1.0, H, Z, 0.0, HZ);
  dln_gemm(1, 0, n, n, P, 1.0, Z, HZ, 0.0, ZHZ);
  double *eig = malloc(n * sizeof *eig);
  LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)n, ZHZ, (lapack_int)n, eig);
  test_true(eig[0] > 1e-6, "L=%zu w=%zu g=%g: Hessian on ker J positive definite (min eig %.3g)", L, w, gamma, eig[0]);
  free(theta0); free(start); free(xm); free(J); free(H); free(e); free(r); free(Vt); free(Z);
  free(HZ); free(ZHZ); free(Jt); free(b); free(g); free(Jc); free(eig);
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
  test_nearest_hyperbola();
  test_nearest_balanced(2, 3);
  test_nearest_balanced(4, 6);
  test_nearest_optimality(3, 5, 0.75);
  test_nearest_optimality(4, 6, 1.0);
  test_nearest_optimality(3, 5, 1.5);
  return test_summary();
}
