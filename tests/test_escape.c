/* Escape from the origin (THEORY.md §4, include/dlnflow/escape.h), pinned by closed forms on
 * whitened regression (§4b: ∇C(0) = -2M, s1 = 2 S_11, D²C = 2·identity) and by the escape laws
 * on small nets:
 *   - the origin's s1, u1, v1, κ and the rank-one saddle's norm;
 *   - along the optimal direction ρ: the linear flow's time log(r/d)/s1 (L = 2) and the blow-up
 *     time d^-(L-2)/((L-2) s*) (L = 3, 4) of the flow of H;
 *   - L = 2: t_α = a log(1/α) + b with a = 1/s1; L = 3: t_α α/T_H -> 1 and slope 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/diagnostics.h"
#include "dlnflow/errors.h"
#include "dlnflow/escape.h"
#include "dlnflow/init.h"
#include "fixtures.h"
#include "testlib.h"

#define N 4
static const double S[N] = {2.385, 1.1, 0.7, 0.35};

/* A whitened problem of depth L and widths N, w, ..., w, N. */
static dln_problem *make_problem(size_t L, size_t w, whitened_problem *wp)
{
  size_t widths[8];
  widths[0] = widths[L] = N;
  for (size_t l = 1; l < L; l++) widths[l] = w;
  dln_cost *cost = NULL;
  dln_network *net = NULL;
  dln_problem *p = NULL;
  if (fixture_whitened_cost(N, S, 40, 7, wp, &cost) != DLN_SUCCESS ||
      dln_network_alloc(L, widths, &net) != DLN_SUCCESS ||
      dln_problem_alloc(net, cost, &p) != DLN_SUCCESS) {
    test_true(0, "problem set-up: %s", dln_error_message());
    return NULL;
  }
  return p;
}

static void check_origin(void)
{
  whitened_problem wp;
  dln_problem *p = make_problem(3, 5, &wp);
  dln_escape_origin o;
  if (!p || dln_escape_origin_compute(p, &o) != DLN_SUCCESS) {
    test_true(0, "origin: %s", dln_error_message());
    return;
  }
  test_rel(o.s1, 2.0 * S[0], 1e-12, "s1 = 2 S_11 for whitened MSE");
  test_rel(o.s2, 2.0 * S[1], 1e-12, "s2 = 2 S_22");
  /* u1 v1ᵀ = -U_1 V_1ᵀ since G0 = -2M: compare |<u1, U_1>| and the sign of u1ᵀ M v1. */
  double uu = 0.0, vv = 0.0;
  for (size_t i = 0; i < N; i++) {
    uu += o.u1[i] * wp.U[i * N];
    vv += o.v1[i] * wp.V[i * N];
  }
  test_rel(fabs(uu), 1.0, 1e-12, "|<u1, U_1>| = 1");
  test_rel(uu * vv, -1.0, 1e-12, "u1 v1ᵀ = -U_1 V_1ᵀ (G0 = -2M)");
  test_rel(o.kappa, 2.0, 1e-12, "kappa = 2 (D²C = 2 identity after whitening)");
  test_rel(dln_escape_saddle_norm(3, &o), sqrt(3.0) * pow(S[0], 1.0 / 3.0), 1e-12,
           "rank-one saddle norm sqrt(L) S_11^(1/L)");
  test_rel(dln_escape_speed(4, o.s1), o.s1 / 4.0, 1e-15, "s* = L^-(L-2)/2 s1 at L = 4");
  dln_escape_origin_release(&o);
  dln_problem_free(p);
  fixture_whitened_release(&wp);
}

/* Along ρ every prediction has a closed form. */
static void check_optimal_direction(void)
{
  const double d = 0.0371, r = 0.8;
  for (size_t L = 2; L <= 5; L++) {
    whitened_problem wp;
    dln_problem *p = make_problem(L, 1, &wp);
    dln_escape_origin o;
    if (!p || dln_escape_origin_compute(p, &o) != DLN_SUCCESS) {
      test_true(0, "width-one L = %zu: %s", L, dln_error_message());
      return;
    }
    size_t P = dln_problem_nparams(p);
    double *theta = malloc(P * sizeof *theta);
    dln_escape_optimal_start(dln_problem_network(p), &o, d, theta);
    test_rel(dln_norm2(theta, P), d, 1e-14, "L = %zu: ||d rho|| = d", L);
    dln_flow_options opt;
    dln_flow_options_default(&opt);
    opt.rtol = 1e-10;
    if (L == 2) {
      dln_escape_linear *lin = NULL;
      double t = NAN;
      if (dln_escape_linear_alloc(p, theta, &lin) == DLN_SUCCESS)
        dln_escape_linear_time(lin, 1.0, r, &t);
      test_rel(t, log(r / d) / o.s1, 1e-12, "L = 2: linear-flow time from d rho is log(r/d)/s1");
      test_true(dln_escape_linear_time(lin, 1.0, 0.5 * d, &t) == DLN_EINVAL,
                "L = 2: a radius inside the start is refused");
      dln_escape_linear_free(lin);
    } else {
      dln_escape_blowup b;
      opt.t_max = 1e6;
      int status = dln_escape_blowup_time(p, &o, theta, &opt, 1e4, &b);
      double s = dln_escape_speed(L, o.s1), Ld = (double)L;
      test_true(status == DLN_SUCCESS, "L = %zu: blow-up integrates (%s)", L,
                status ? dln_error_message() : "ok");
      test_rel(b.T, pow(d, -(Ld - 2.0)) / ((Ld - 2.0) * s), 1e-7,
               "L = %zu: T_H(d rho) = d^-(L-2) / ((L-2) s*)", L);
      test_rel(b.c, s, 1e-5, "L = %zu: the tail's rate c is s* along rho", L);
      test_below(b.tail / b.T, pow(1e-4, Ld - 2.0) * 1.01, "L = %zu: the tail is (||θ0||/R)^(L-2) of T_H", L);
    }
    free(theta);
    dln_escape_origin_release(&o);
    dln_problem_free(p);
    fixture_whitened_release(&wp);
  }
}

/* Runs from α θ0 for alphas[0..n-1]; writes the escape times and the alignment at the last. */
static int escape_times(dln_problem *p, const dln_escape_origin *o, const double *theta0,
                        const double *alphas, size_t n, double r, const double *t_pred,
                        double *t, double *alignment)
{
  size_t P = dln_problem_nparams(p);
  double *start = malloc(P * sizeof *start);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.rtol = 1e-9;
  int status = DLN_SUCCESS;
  for (size_t i = 0; status == DLN_SUCCESS && i < n; i++) {
    for (size_t j = 0; j < P; j++) start[j] = alphas[i] * theta0[j];
    opt.t_max = 100.0 * t_pred[i];
    dln_escape_result res;
    status = dln_escape_run(p, start, r, &opt, o, NULL, &res);
    if (status == DLN_SUCCESS && !res.reached) status = dln_error(DLN_ESOLVER, "not reached");
    t[i] = res.t;
    *alignment = res.alignment;
  }
  free(start);
  return status;
}

static void check_law_depth2(void)
{
  whitened_problem wp;
  dln_problem *p = make_problem(2, 5, &wp);
  dln_escape_origin o;
  dln_escape_origin_compute(p, &o);
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0);
  dln_init_scaled(dln_problem_network(p), 1.0, 3, theta0);
  const double alphas[] = {1e-3, 1e-5, 1e-7, 1e-9, 1e-11};
  const size_t n = 5;
  const double r = 0.5 * dln_escape_saddle_norm(2, &o);
  double t[5], t_lin[5], x[5], align = 0.0;
  dln_escape_linear *lin = NULL;
  int status = dln_escape_linear_alloc(p, theta0, &lin);
  for (size_t i = 0; status == DLN_SUCCESS && i < n; i++) {
    status = dln_escape_linear_time(lin, alphas[i], r, &t_lin[i]);
    x[i] = log(1.0 / alphas[i]);
  }
  if (status == DLN_SUCCESS) status = escape_times(p, &o, theta0, alphas, n, r, t_lin, t, &align);
  test_true(status == DLN_SUCCESS, "L = 2 escapes run (%s)", status ? dln_error_message() : "ok");
  dln_escape_fit fit;
  dln_escape_fit_line(x, t, n, &fit);
  test_rel(fit.slope, 1.0 / o.s1, 2e-4, "L = 2: t = a log(1/alpha) + b with a = 1/s1");
  test_below(fit.slope_stderr, 2e-3 / o.s1, "L = 2: the slope's standard error is small");
  /* The linear flow misses only the O(1) end near r: t - t_lin settles to a constant. */
  test_abs(t[n - 1] - t_lin[n - 1], t[n - 2] - t_lin[n - 2], 1e-6,
           "L = 2: t_alpha - t_linear is the same constant at the two smallest alpha");
  test_true(t[n - 1] > t_lin[n - 1], "L = 2: the full flow escapes later than its linear part "
            "(the cost's curvature slows it near r)");
  test_rel(align, 1.0, 1e-6, "L = 2: aligned with u1 v1ᵀ at alpha = 1e-11");
  dln_escape_linear_free(lin);
  free(theta0);
  dln_escape_origin_release(&o);
  dln_problem_free(p);
  fixture_whitened_release(&wp);
}

static void check_law_depth3(void)
{
  whitened_problem wp;
  dln_problem *p = make_problem(3, 4, &wp);
  dln_escape_origin o;
  dln_escape_origin_compute(p, &o);
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0);
  dln_init_scaled(dln_problem_network(p), 1.0, 5, theta0);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.rtol = 1e-9;
  opt.t_max = 1e8;
  dln_escape_blowup b;
  int status = dln_escape_blowup_time(p, &o, theta0, &opt, 1e4, &b);
  test_true(status == DLN_SUCCESS, "L = 3: T_H(theta0) (%s)", status ? dln_error_message() : "ok");
  test_below(b.tail / b.T, 1e-3, "L = 3: the analytic tail is a small part of T_H");
  const double alphas[] = {1e-4, 10.0 / 3.0 * 1e-5, 1e-5};
  const size_t n = 3;
  const double r = 0.5 * dln_escape_saddle_norm(3, &o);
  double t[3], pred[3], x[3], y[3], align = 0.0;
  for (size_t i = 0; i < n; i++) pred[i] = b.T / alphas[i];
  if (status == DLN_SUCCESS) status = escape_times(p, &o, theta0, alphas, n, r, pred, t, &align);
  test_true(status == DLN_SUCCESS, "L = 3 escapes run (%s)", status ? dln_error_message() : "ok");
  for (size_t i = 0; i < n; i++) {
    x[i] = log(1.0 / alphas[i]);
    y[i] = log(t[i]);
  }
  dln_escape_fit fit;
  dln_escape_fit_line(x, y, n, &fit);
  test_rel(fit.slope, 1.0, 1e-3, "L = 3: log t = p log(1/alpha) + q with p = L - 2 = 1");
  test_rel(t[n - 1] * alphas[n - 1] / b.T, 1.0, 1e-3, "L = 3: t_alpha alpha / T_H -> 1");
  free(theta0);
  dln_escape_origin_release(&o);
  dln_problem_free(p);
  fixture_whitened_release(&wp);
}

static void check_fit(void)
{
  const double x[] = {0.3, 1.7, 2.9, 4.4}, noise[] = {0.01, -0.02, 0.015, -0.005};
  double y[4];
  for (int i = 0; i < 4; i++) y[i] = 2.385 * x[i] - 1.3 + noise[i];
  dln_escape_fit f;
  dln_escape_fit_line(x, y, 4, &f);
  test_rel(f.slope, 2.385, 1e-2, "fit: slope of a noisy line");
  test_true(f.slope_stderr > 1e-4 && f.slope_stderr < 1e-2, "fit: stderr reflects the noise (%g)",
            f.slope_stderr);
  dln_escape_fit_line(x, y, 2, &f);
  test_true(isnan(f.slope_stderr), "fit: no standard error from two points");
}

int main(void)
{
  check_origin();
  check_optimal_direction();
  check_law_depth2();
  check_law_depth3();
  check_fit();
  return test_summary();
}
