/* Escape from the origin and its predictions (include/dlnflow/escape.h, THEORY.md §4).
 *
 * Contents:
 *   origin       G0 = ∇C(0), its top singular pairs (LAPACKE dgesvd), the curvature along u1 v1ᵀ
 *   escape run   the flow until ||θ|| = r, located by CVODE's rootfinder; state at escape
 *   follow       A(τ) after a given state, for path comparisons (Theorem 2)
 *   linear flow  L = 2: exp(-H0 t) α θ0 through the eigen-decomposition of H0 (dsyevd)
 *   blow-up      L > 2: the flow of H(θ) = C(0) + <G0, A(θ)> to a large radius, tail added
 *   fits         straight lines with standard errors (gsl_fit_linear)
 */
#include "dlnflow/escape.h"

#include <float.h>
#include <gsl/gsl_fit.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/diagnostics.h"
#include "dlnflow/errors.h"
#include "linalg.h"

/* Doublings of the bracket before the linear flow is declared never to reach the radius. */
#define BRACKET_DOUBLINGS 2000
/* Bisection steps on the linear flow's escape time: enough to reach round-off in t. */
#define BISECTION_STEPS 200
/* An escape run restarts its clock at this fraction of the radius (see dln_escape_run). */
#define STAGE_FRACTION 0.5

/* ---- origin ------------------------------------------------------------------------- */

void dln_escape_origin_release(dln_escape_origin *o)
{
  if (!o) return;
  free(o->G0);
  free(o->u1);
  free(o->v1);
  memset(o, 0, sizeof *o);
}

int dln_escape_origin_compute(dln_problem *p, dln_escape_origin *o)
{
  memset(o, 0, sizeof *o);
  const dln_cost *cost = dln_problem_cost(p);
  size_t rows = dln_cost_rows(cost), cols = dln_cost_cols(cost), k = rows < cols ? rows : cols;
  o->rows = rows;
  o->cols = cols;
  o->G0 = malloc(rows * cols * sizeof *o->G0);
  o->u1 = malloc(rows * sizeof *o->u1);
  o->v1 = malloc(cols * sizeof *o->v1);
  double *zero = calloc(rows * cols, sizeof *zero), *work = malloc(rows * cols * sizeof *work);
  double *dG = malloc(rows * cols * sizeof *dG), *S = malloc(k * sizeof *S);
  double *U = malloc(rows * k * sizeof *U), *VT = malloc(k * cols * sizeof *VT);
  double *superb = malloc(k * sizeof *superb);
  int status = DLN_SUCCESS;
  if (!o->G0 || !o->u1 || !o->v1 || !zero || !work || !dG || !S || !U || !VT || !superb) {
    status = dln_error(DLN_ENOMEM, "escape: out of memory for a %zu x %zu gradient", rows, cols);
    goto done;
  }
  status = dln_cost_evaluate(cost, zero, &o->c0, o->G0);
  if (status != DLN_SUCCESS) goto done;
  memcpy(work, o->G0, rows * cols * sizeof *work);
  lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)rows,
                                   (lapack_int)cols, work, (lapack_int)cols, S, U, (lapack_int)k,
                                   VT, (lapack_int)cols, superb);
  if (info != 0) {
    status = dln_error(DLN_ELINALG, "escape: LAPACKE_dgesvd of ∇C(0) returned %d", (int)info);
    goto done;
  }
  o->s1 = S[0];
  o->s2 = k > 1 ? S[1] : 0.0;
  if (!(o->s1 > 0.0)) {
    status = dln_error(DLN_EINVAL, "escape: ∇C(0) = 0, so the origin is critical to first "
                       "order in A and the flow has no escape direction");
    goto done;
  }
  for (size_t i = 0; i < rows; i++) o->u1[i] = U[i * k];
  memcpy(o->v1, VT, cols * sizeof *o->v1);
  /* κ = <u1 v1ᵀ, D²C(0)[u1 v1ᵀ]>: work holds u1 v1ᵀ. */
  dln_gemm(0, 0, rows, cols, 1, 1.0, o->u1, o->v1, 0.0, work);
  status = dln_cost_hessian_dir(cost, zero, work, dG);
  if (status == DLN_SUCCESS) o->kappa = dln_dot(rows * cols, work, dG);
done:
  free(zero);
  free(work);
  free(dG);
  free(S);
  free(U);
  free(VT);
  free(superb);
  if (status != DLN_SUCCESS) dln_escape_origin_release(o);
  return status;
}

double dln_escape_speed(size_t depth, double s1)
{
  double L = (double)depth;
  return pow(L, -(L - 2.0) / 2.0) * s1;
}

double dln_escape_saddle_norm(size_t depth, const dln_escape_origin *o)
{
  double L = (double)depth;
  return o->kappa > 0.0 ? sqrt(L) * pow(o->s1 / o->kappa, 1.0 / L) : INFINITY;
}

void dln_escape_optimal_start(const dln_network *width_one, const dln_escape_origin *o, double d,
                              double *theta)
{
  size_t L = dln_network_depth(width_one);
  double scale = d / sqrt((double)L);
  double *W1 = theta + dln_network_layer_offset(width_one, 1);
  double *WL = theta + dln_network_layer_offset(width_one, L);
  for (size_t l = 2; l < L; l++) theta[dln_network_layer_offset(width_one, l)] = scale;
  for (size_t j = 0; j < o->cols; j++) W1[j] = -scale * o->v1[j];
  for (size_t i = 0; i < o->rows; i++) WL[i] = scale * o->u1[i];
}

/* ---- escape run --------------------------------------------------------------------- */

typedef struct radius_watch {
  size_t n;      /* P */
  double radius; /* r */
} radius_watch;

/* g = ||θ||²/r² - 1: of order one however small θ(0) is, so no value underflows. */
static int radius_evaluate(double t, const double *theta, double *g, void *data)
{
  const radius_watch *w = data;
  (void)t;
  double q = dln_nrm2(w->n, theta) / w->radius;
  g[0] = q * q - 1.0;
  return DLN_SUCCESS;
}

/* Stops the run where the norm rises through r; a dip back through r is not an escape. */
static int radius_handle(double t, double *theta, const int *crossed, void *data)
{
  (void)t;
  (void)theta;
  (void)data;
  return crossed[0] > 0 ? DLN_EVENT_STOP : DLN_EVENT_CONTINUE;
}

/* Describes the state at escape: alignment with u1 v1ᵀ, s2/s1 of A and relative balancedness. */
static int describe(dln_problem *p, const double *theta, const dln_escape_origin *o,
                    dln_escape_result *out)
{
  const dln_network *net = dln_problem_network(p);
  size_t P = dln_problem_nparams(p), L = dln_network_depth(net);
  size_t rows = o->rows, cols = o->cols, k = rows < cols ? rows : cols;
  double *Av = malloc(rows * sizeof *Av), *sv = malloc(k * sizeof *sv);
  double *norms = malloc((L > 1 ? L - 1 : 1) * sizeof *norms);
  dln_balance *bal = NULL;
  int status = Av && sv && norms ? DLN_SUCCESS : dln_error(DLN_ENOMEM, "escape: out of memory");
  double loss;
  if (status == DLN_SUCCESS) status = dln_problem_loss(p, theta, &loss);
  if (status == DLN_SUCCESS) {
    const double *A = dln_problem_product(p);
    dln_gemm(0, 0, rows, 1, cols, 1.0, A, o->v1, 0.0, Av);
    double norm = dln_nrm2(rows * cols, A);
    out->alignment = norm > 0.0 ? fabs(dln_dot(rows, o->u1, Av)) / norm : 0.0;
    status = dln_singular_values(A, rows, cols, sv);
  }
  if (status == DLN_SUCCESS) {
    out->sv_ratio = k > 1 && sv[0] > 0.0 ? sv[1] / sv[0] : 0.0;
    status = dln_balance_alloc(net, theta, &bal);
  }
  if (status == DLN_SUCCESS) {
    dln_balance_norms(bal, theta, norms);
    double worst = 0.0, t2 = dln_nrm2(P, theta);
    for (size_t l = 0; l + 1 < L; l++) worst = fmax(worst, norms[l]);
    out->balance = t2 > 0.0 ? worst / (t2 * t2) : 0.0;
  }
  dln_balance_free(bal);
  free(Av);
  free(sv);
  free(norms);
  return status;
}

/* Adds the counters of one stage of a run to those of the run. */
static void add_stats(dln_flow_stats *sum, const dln_flow_stats *s)
{
  sum->steps += s->steps;
  sum->rhs_evals += s->rhs_evals;
  sum->hvps += s->hvps;
  sum->newton_iters += s->newton_iters;
  sum->newton_conv_fails += s->newton_conv_fails;
  sum->linear_iters += s->linear_iters;
  sum->linear_conv_fails += s->linear_conv_fails;
  sum->error_test_fails += s->error_test_fails;
  sum->loss_increases += s->loss_increases;
  sum->loss_increases_beyond_tol += s->loss_increases_beyond_tol;
  sum->max_loss_increase = fmax(sum->max_loss_increase, s->max_loss_increase);
  sum->max_loss_increase_beyond_tol =
      fmax(sum->max_loss_increase_beyond_tol, s->max_loss_increase_beyond_tol);
  sum->last_step = s->last_step;
  sum->events += s->events;
  sum->restarts += s->restarts;
}

/* One stage: from theta (overwritten with the end state) at t = 0 until ||θ|| = radius or
 * t_max; adds the time taken to *t. */
static int run_stage(dln_flow *flow, size_t P, double *theta, radius_watch *watch, double radius,
                     double t_max, double *t, int *reached, dln_flow_stats *stats)
{
  dln_stop why = DLN_STOP_NONE;
  watch->radius = radius;
  int status = dln_flow_init(flow, theta);
  if (status == DLN_SUCCESS) status = dln_flow_advance(flow, t_max, &why);
  if (status != DLN_SUCCESS) return status;
  *reached = why == DLN_STOP_EVENT;
  *t += dln_flow_time(flow);
  dln_flow_stats s = dln_flow_get_stats(flow);
  add_stats(stats, &s);
  memcpy(theta, dln_flow_state(flow), P * sizeof *theta);
  return DLN_SUCCESS;
}

int dln_escape_run(dln_problem *p, const double *theta_start, double radius,
                   const dln_flow_options *opt, const dln_escape_origin *o, double *theta_end,
                   dln_escape_result *out)
{
  memset(out, 0, sizeof *out);
  size_t P = dln_problem_nparams(p);
  double start = dln_nrm2(P, theta_start);
  if (!(radius > start))
    return dln_error(DLN_EINVAL, "escape: the radius %g must exceed ||θ(0)|| = %g", radius,
                     start);
  radius_watch watch = {P, radius};
  dln_flow_events events = {1, radius_evaluate, radius_handle, &watch};
  dln_flow *flow = NULL;
  double *theta = malloc(P * sizeof *theta);
  int status = theta ? dln_flow_alloc(p, opt, &flow) : dln_error(DLN_ENOMEM, "escape: out of memory");
  if (status == DLN_SUCCESS) status = dln_flow_set_events(flow, &events);
  if (status == DLN_SUCCESS) memcpy(theta, theta_start, P * sizeof *theta);
  /* CVODE locates a root to about 100 ulps of t, which at t ~ 1e12 is 0.02 time units: a
   * visible error in θ at escape. So the run goes to r·STAGE_FRACTION first, then restarts
   * at t = 0 from there, where the second crossing is located to round-off. */
  out->reached = 1;
  if (status == DLN_SUCCESS && start < STAGE_FRACTION * radius)
    status = run_stage(flow, P, theta, &watch, STAGE_FRACTION * radius, opt->t_max, &out->t,
                       &out->reached, &out->stats);
  if (status == DLN_SUCCESS && out->reached)
    status = run_stage(flow, P, theta, &watch, radius, opt->t_max, &out->t, &out->reached,
                       &out->stats);
  if (status == DLN_SUCCESS) {
    if (theta_end) memcpy(theta_end, theta, P * sizeof *theta_end);
    status = describe(p, theta, o, out);
  }
  dln_flow_free(flow);
  free(theta);
  return status;
}

/* ---- follow ------------------------------------------------------------------------- */

int dln_escape_follow(dln_problem *p, const double *theta, const dln_flow_options *opt,
                      const double *taus, size_t n, double *A)
{
  const dln_network *net = dln_problem_network(p);
  size_t amat = dln_network_width(net, 0) * dln_network_width(net, dln_network_depth(net));
  dln_flow_options local = *opt;
  local.t_max = n > 0 && taus[n - 1] > 0.0 ? taus[n - 1] : 1.0;
  local.grad_tol = local.loss_target = 0.0;
  dln_flow *flow = NULL;
  int status = dln_flow_alloc(p, &local, &flow);
  if (status == DLN_SUCCESS) status = dln_flow_init(flow, theta);
  for (size_t k = 0; status == DLN_SUCCESS && k < n; k++) {
    dln_stop why = DLN_STOP_NONE;
    if (taus[k] > dln_flow_time(flow)) status = dln_flow_advance(flow, taus[k], &why);
    if (status == DLN_SUCCESS && why != DLN_STOP_NONE && why != DLN_STOP_T_MAX)
      status = dln_error(DLN_ESOLVER, "escape: the flow stopped (%s) at t = %g before %g",
                         dln_stop_name(why), dln_flow_time(flow), taus[k]);
    double loss;
    if (status == DLN_SUCCESS) status = dln_problem_loss(p, dln_flow_state(flow), &loss);
    if (status == DLN_SUCCESS) memcpy(A + k * amat, dln_problem_product(p), amat * sizeof *A);
  }
  dln_flow_free(flow);
  return status;
}

int dln_escape_settle_time(dln_problem *p, const double *theta, const dln_flow_options *opt,
                           double fraction, double *t)
{
  size_t P = dln_problem_nparams(p);
  double *grad = malloc(P * sizeof *grad), loss;
  if (!grad) return dln_error(DLN_ENOMEM, "escape: out of memory");
  int status = dln_problem_gradient(p, theta, &loss, grad);
  dln_flow_options local = *opt;
  local.grad_tol = fraction * dln_nrm2(P, grad);
  free(grad);
  dln_flow *flow = NULL;
  dln_stop why;
  if (status == DLN_SUCCESS) status = dln_flow_alloc(p, &local, &flow);
  if (status == DLN_SUCCESS) status = dln_flow_init(flow, theta);
  if (status == DLN_SUCCESS) status = dln_flow_advance(flow, local.t_max, &why);
  if (status == DLN_SUCCESS) *t = dln_flow_time(flow);
  dln_flow_free(flow);
  return status;
}

/* ---- linear flow (L = 2) ------------------------------------------------------------ */

struct dln_escape_linear {
  size_t n;        /* P */
  double *lambda;  /* eigenvalues of H0, ascending (n) */
  double *logc2;   /* log c_i² with c = Qᵀ θ0 (-inf for c_i = 0) (n) */
};

void dln_escape_linear_free(dln_escape_linear *lin)
{
  if (!lin) return;
  free(lin->lambda);
  free(lin->logc2);
  free(lin);
}

int dln_escape_linear_alloc(dln_problem *p, const double *theta0, dln_escape_linear **out)
{
  *out = NULL;
  size_t P = dln_problem_nparams(p);
  dln_escape_linear *lin = calloc(1, sizeof *lin);
  double *H = malloc(P * P * sizeof *H), *zero = calloc(P, sizeof *zero);
  double *c = malloc(P * sizeof *c);
  int status = DLN_SUCCESS;
  if (lin) {
    lin->n = P;
    lin->lambda = malloc(P * sizeof *lin->lambda);
    lin->logc2 = malloc(P * sizeof *lin->logc2);
  }
  if (!lin || !H || !zero || !c || !lin->lambda || !lin->logc2) {
    status = dln_error(DLN_ENOMEM, "escape: out of memory for the %zu x %zu Hessian at 0", P, P);
    goto done;
  }
  status = dln_problem_hessian(p, zero, H);
  if (status != DLN_SUCCESS) goto done;
  /* H0 = Q diag(λ) Qᵀ; row-major, so column j of H then holds eigenvector j. */
  if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)P, H, (lapack_int)P,
                     lin->lambda) != 0) {
    status = dln_error(DLN_ELINALG, "escape: LAPACKE_dsyevd on the Hessian at 0 failed");
    goto done;
  }
  dln_gemm(1, 0, P, 1, P, 1.0, H, theta0, 0.0, c); /* c = Qᵀ θ0 */
  for (size_t i = 0; i < P; i++) lin->logc2[i] = c[i] != 0.0 ? 2.0 * log(fabs(c[i])) : -INFINITY;
done:
  free(H);
  free(zero);
  free(c);
  if (status != DLN_SUCCESS) dln_escape_linear_free(lin);
  else *out = lin;
  return status;
}

/* Returns log ||exp(-H0 t) θ0||² = log Σ_i c_i² exp(-2 λ_i t), summed stably (log-sum-exp). */
static double linear_log_norm2(const dln_escape_linear *lin, double t)
{
  double top = -INFINITY;
  for (size_t i = 0; i < lin->n; i++) top = fmax(top, lin->logc2[i] - 2.0 * lin->lambda[i] * t);
  if (!isfinite(top)) return top;
  double sum = 0.0;
  for (size_t i = 0; i < lin->n; i++)
    if (isfinite(lin->logc2[i])) sum += exp(lin->logc2[i] - 2.0 * lin->lambda[i] * t - top);
  return top + log(sum);
}

int dln_escape_linear_time(const dln_escape_linear *lin, double alpha, double radius, double *t)
{
  /* F(t) = log ||exp(-H0 t) α θ0||² - log r² is a log-sum-exp of affine functions of t, hence
   * convex: it crosses 0 upwards at most once, and bisection on a bracket finds that time. */
  double shift = 2.0 * log(alpha) - 2.0 * log(radius);
  if (!(linear_log_norm2(lin, 0.0) + shift < 0.0))
    return dln_error(DLN_EINVAL, "escape: ||α θ0|| >= radius %g at α = %g", radius, alpha);
  double lo = 0.0, hi = 1.0 / fmax(fabs(lin->lambda[0]), DBL_MIN);
  int doublings = 0;
  while (!(linear_log_norm2(lin, hi) + shift >= 0.0)) {
    lo = hi;
    hi *= 2.0;
    if (++doublings > BRACKET_DOUBLINGS || !isfinite(hi))
      return dln_error(DLN_EINVAL, "escape: the linear flow θ' = -H0 θ from α = %g never "
                       "reaches radius %g (no growing mode in θ0)", alpha, radius);
  }
  for (int i = 0; i < BISECTION_STEPS && hi - lo > 4.0 * DBL_EPSILON * hi; i++) {
    double mid = 0.5 * (lo + hi);
    if (linear_log_norm2(lin, mid) + shift >= 0.0)
      hi = mid;
    else
      lo = mid;
  }
  *t = 0.5 * (lo + hi);
  return DLN_SUCCESS;
}

/* ---- blow-up (L > 2) ---------------------------------------------------------------- */

/* Builds the problem of H: the same widths as p, the linear cost C(0) + <G0, A>. */
static int homogeneous_problem(const dln_problem *p, const dln_escape_origin *o, dln_problem **h)
{
  const dln_network *net = dln_problem_network(p);
  size_t L = dln_network_depth(net), widths[DLN_MAX_DEPTH + 1];
  for (size_t l = 0; l <= L; l++) widths[l] = dln_network_width(net, l);
  dln_network *copy = NULL;
  dln_cost *cost = NULL;
  int status = dln_network_alloc(L, widths, &copy);
  if (status == DLN_SUCCESS) status = dln_cost_linear_alloc(o->rows, o->cols, o->G0, o->c0, &cost);
  if (status != DLN_SUCCESS) {
    dln_network_free(copy);
    return status;
  }
  return dln_problem_alloc(copy, cost, h);
}

int dln_escape_blowup_time(const dln_problem *p, const dln_escape_origin *o,
                           const double *theta0, const dln_flow_options *opt,
                           double radius_factor, dln_escape_blowup *out)
{
  memset(out, 0, sizeof *out);
  size_t L = dln_network_depth(dln_problem_network(p)), P = dln_problem_nparams(p);
  if (L <= 2)
    return dln_error(DLN_EINVAL, "escape: the flow of H blows up only for depth > 2 (L = %zu)", L);
  dln_problem *h = NULL;
  double *unit = malloc(P * sizeof *unit), *theta_R = malloc(P * sizeof *theta_R);
  int status = unit && theta_R ? homogeneous_problem(p, o, &h)
                               : dln_error(DLN_ENOMEM, "escape: out of memory");
  /* Homogeneity, T_H(θ0) = n^-(L-2) T_H(θ0/n) with n = ||θ0||: the flow is integrated from the
   * unit vector, on the time scale 1/s* whatever θ0's size (from a large θ0 at L = 5, CVODE's
   * first step fell below 1e-16 and failed). */
  double n = dln_nrm2(P, theta0), Ld = (double)L, scale = pow(n, -(Ld - 2.0));
  for (size_t i = 0; unit && i < P; i++) unit[i] = theta0[i] / n;
  dln_flow_options local = *opt;
  local.t_max = opt->t_max / scale;
  dln_escape_result r;
  if (status == DLN_SUCCESS) status = dln_escape_run(h, unit, radius_factor, &local, o, theta_R, &r);
  if (status == DLN_SUCCESS && !r.reached)
    status = dln_error(DLN_ESOLVER, "escape: the flow of H from θ0 did not reach radius %g by "
                       "t = %g", radius_factor * n, opt->t_max);
  double loss;
  if (status == DLN_SUCCESS) status = dln_problem_loss(h, theta_R, &loss);
  if (status == DLN_SUCCESS) {
    /* Euler's identity for the L-homogeneous A(θ): <θ, ∇_θ <G0, A>> = L <G0, A>, so
     * d' = <θ, θ'>/d = -L <G0, A>/d, and c = d'/d^(L-1) (the same at every scale). */
    double R = radius_factor;
    out->c = -Ld * dln_dot(o->rows * o->cols, o->G0, dln_problem_product(h)) / pow(R, Ld);
    out->R = R * n;
    out->t_R = scale * r.t;
    out->tail = scale * pow(R, -(Ld - 2.0)) / ((Ld - 2.0) * out->c);
    out->T = out->t_R + out->tail;
    out->stats = r.stats;
    if (!(out->c > 0.0) || !isfinite(out->T))
      status = dln_error(DLN_ESOLVER, "escape: the flow of H is not growing at radius %g "
                         "(c = %g)", out->R, out->c);
  }
  dln_problem_free(h);
  free(unit);
  free(theta_R);
  return status;
}

/* ---- fits --------------------------------------------------------------------------- */

int dln_escape_fit_line(const double *x, const double *y, size_t n, dln_escape_fit *out)
{
  memset(out, 0, sizeof *out);
  out->n = n;
  if (n < 2) return dln_error(DLN_EINVAL, "escape: a line needs 2 points, got %zu", n);
  double c0, c1, cov00, cov01, cov11, sumsq;
  if (gsl_fit_linear(x, 1, y, 1, n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq) != 0)
    return dln_error(DLN_ELINALG, "escape: gsl_fit_linear failed");
  out->slope = c1;
  out->intercept = c0;
  out->slope_stderr = n >= 3 ? sqrt(cov11) : NAN;
  out->intercept_stderr = n >= 3 ? sqrt(cov00) : NAN;
  return DLN_SUCCESS;
}
