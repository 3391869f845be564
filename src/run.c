/* The shared run loop (include/dlnflow/run.h): flow, measure, hand over, repeat. */
#include "dlnflow/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlnflow/diagnostics.h"
#include "dlnflow/errors.h"
#include "dlnflow/events.h"
#include "dlnflow/ntk.h"
#include "linalg.h"

/* P-vectors the events keep (gradient, H·v, best candidate, pre-kick state, Newton). */
#define EVENTS_VECTORS 10.0

static int compare_doubles(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int dln_run_times(double t_min, double t_max, size_t n, const double *extra, size_t nextra,
                  double **times, size_t *count)
{
  *times = NULL;
  *count = 0;
  if (!(t_max > 0.0)) return dln_error(DLN_EINVAL, "solver.t_max = %g must be positive", t_max);
  if (!(t_min > 0.0)) t_min = t_max * 1e-6;
  if (t_min > t_max) t_min = t_max;
  double *t = malloc((1 + n + nextra) * sizeof *t);
  if (!t) return dln_error(DLN_ENOMEM, "out of memory for output times");
  size_t k = 0;
  t[k++] = 0.0;
  double ratio = n > 1 ? log(t_max / t_min) / (double)(n - 1) : 0.0;
  for (size_t i = 0; i < n; i++) t[k++] = i + 1 == n ? t_max : t_min * exp(ratio * (double)i);
  for (size_t i = 0; i < nextra; i++)
    if (extra[i] > 0.0 && extra[i] <= t_max) t[k++] = extra[i];
  qsort(t, k, sizeof *t, compare_doubles);
  size_t unique = 0;
  for (size_t i = 0; i < k; i++)
    if (unique == 0 || t[i] > t[unique - 1]) t[unique++] = t[i];
  *times = t;
  *count = unique;
  return DLN_SUCCESS;
}

double dln_run_memory_estimate(const dln_problem *p, const dln_flow_options *opt, int events)
{
  const dln_network *net = dln_problem_network(p);
  double P = (double)dln_problem_nparams(p), blocks = 0.0, widest = 0.0;
  for (size_t l = 1; l < dln_network_depth(net); l++) {
    double n = (double)dln_network_width(net, l);
    blocks += n * n;
    widest = fmax(widest, n * n);
  }
  /* Balance reference and work blocks (D_l is n_l x n_l), gradient, events' own vectors. */
  double doubles = blocks + widest + P + (events ? EVENTS_VECTORS * P : 0.0);
  return dln_flow_memory_estimate(p, opt) + doubles * sizeof(double);
}

/* Workspaces of one run's measurements. */
typedef struct measure_work {
  double *grad;   /* P */
  double *sv;     /* min(n_0, n_L) */
  size_t nsv;
  dln_balance *balance;
  size_t m;       /* n_L·n_0 */
  double *ntk0;   /* Θ at θ(0), m x m (NULL: NTK not measured) */
  double ntk0_norm;
  double *ntk;    /* Θ at the sample */
} measure_work;

static int measure(dln_problem *p, measure_work *w, double t, const double *theta,
                   double rank_tol, dln_sample *s)
{
  size_t P = dln_problem_nparams(p);
  const dln_network *net = dln_problem_network(p);
  size_t rows = dln_network_width(net, dln_network_depth(net)), cols = dln_network_width(net, 0);
  memset(s, 0, sizeof *s);
  s->t = t;
  s->theta = theta;
  int status = dln_problem_gradient(p, theta, &s->loss, w->grad);
  if (status != DLN_SUCCESS) return status;
  s->grad_norm = dln_norm2(w->grad, P);
  status = dln_singular_values(dln_problem_product(p), rows, cols, w->sv);
  if (status != DLN_SUCCESS) return status;
  s->sv = w->sv;
  s->nsv = w->nsv;
  s->rank = dln_rank(w->sv, w->nsv, rank_tol);
  s->nuclear_norm = 0.0;
  for (size_t i = 0; i < w->nsv; i++) s->nuclear_norm += w->sv[i];
  s->theta_norm = dln_norm2(theta, P);
  s->balance_drift = dln_balance_drift(w->balance, theta);
  s->ntk_change = NAN;
  if (w->ntk0) {
    status = dln_ntk_matrix(p, theta, w->ntk);
    if (status != DLN_SUCCESS) return status;
    dln_axpy(w->m * w->m, -1.0, w->ntk0, w->ntk);
    s->ntk_change = dln_ntk_frobenius(w->m, w->ntk) / w->ntk0_norm;
  }
  return dln_problem_test_loss(p, theta, &s->test_loss);
}

/* Θ at θ(0), the reference of the NTK's relative change. */
static int ntk_reference(dln_problem *p, const double *theta0, measure_work *w)
{
  const dln_network *net = dln_problem_network(p);
  w->m = dln_network_width(net, dln_network_depth(net)) * dln_network_width(net, 0);
  w->ntk0 = malloc(w->m * w->m * sizeof *w->ntk0);
  w->ntk = malloc(w->m * w->m * sizeof *w->ntk);
  if (!w->ntk0 || !w->ntk) return dln_error(DLN_ENOMEM, "out of memory for the NTK (m = %zu)", w->m);
  int status = dln_ntk_matrix(p, theta0, w->ntk0);
  w->ntk0_norm = dln_ntk_frobenius(w->m, w->ntk0);
  if (status == DLN_SUCCESS && !(w->ntk0_norm > 0.0))
    status = dln_error(DLN_EINVAL, "output.ntk: the NTK at θ(0) is 0 (θ(0) = 0 in a layer "
                       "pair?): its relative change is undefined");
  return status;
}

/* Measures (t, θ), records it as the run's last sample and hands it to fn. */
static int hand_over(dln_problem *p, measure_work *w, double t, const double *theta,
                     double rank_tol, dln_sample_fn fn, void *data, dln_run_result *result)
{
  dln_sample s;
  int status = measure(p, w, t, theta, rank_tol, &s);
  if (status != DLN_SUCCESS) return status;
  if (result->samples == 0) result->loss_initial = s.loss;
  result->samples++;
  result->last = s;
  size_t keep = s.nsv < 64 ? s.nsv : 64;
  memcpy(result->sv_last, s.sv, keep * sizeof *s.sv);
  result->last.sv = result->sv_last;
  result->last.nsv = keep;
  result->last.theta = NULL;
  if (result->theta_last) memcpy(result->theta_last, theta, dln_problem_nparams(p) * sizeof *theta);
  return fn(&s, data);
}

static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double wall_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int dln_run_trajectory(dln_problem *p, const double *theta0, const dln_flow_options *opt,
                       const double *times, size_t ntimes, const dln_run_options *ro,
                       dln_events *events, dln_sample_fn fn, void *data,
                       dln_run_result *result)
{
  double rank_tol = ro->rank_tol;
  double *theta_last = result->theta_last; /* the caller's buffer survives the reset */
  memset(result, 0, sizeof *result);
  result->theta_last = theta_last;
  double wall0 = wall_now(), cpu0 = cpu_now();
  const dln_network *net = dln_problem_network(p);
  size_t rows = dln_network_width(net, dln_network_depth(net)), cols = dln_network_width(net, 0);
  measure_work w = {0};
  dln_flow *flow = NULL;
  w.nsv = rows < cols ? rows : cols;
  w.grad = malloc(dln_problem_nparams(p) * sizeof *w.grad);
  w.sv = malloc(w.nsv * sizeof *w.sv);
  int status = (w.grad && w.sv) ? DLN_SUCCESS : dln_error(DLN_ENOMEM, "out of memory");
  if (status == DLN_SUCCESS) status = dln_balance_alloc(net, theta0, &w.balance);
  if (status == DLN_SUCCESS && ro->ntk) status = ntk_reference(p, theta0, &w);
  if (status == DLN_SUCCESS) status = dln_flow_alloc(p, opt, &flow);
  if (status == DLN_SUCCESS && events) status = dln_events_attach(events, flow, w.balance);
  if (status == DLN_SUCCESS && events) status = dln_events_start(events, theta0);
  if (status == DLN_SUCCESS) status = dln_flow_init(flow, theta0);

  size_t i = 0;
  for (; status == DLN_SUCCESS && i < ntimes; i++) {
    dln_stop why = DLN_STOP_NONE;
    if (times[i] > 0.0) status = dln_flow_advance(flow, times[i], &why);
    if (status != DLN_SUCCESS) break;
    /* No second row for a time already recorded: gradient descent has not stepped yet (t_out
     * below η), or a stop came where the run was last recorded (a loss target met at t = 0). */
    if (result->samples > 0 && dln_flow_time(flow) <= result->last.t) {
      result->stop = why;
      if (why != DLN_STOP_NONE) break;
      continue;
    }
    status = hand_over(p, &w, dln_flow_time(flow), dln_flow_state(flow), rank_tol, fn, data,
                       result);
    result->stop = why;
    if (why != DLN_STOP_NONE) break;
  }
  /* Converged to round-off (events): the exact flow moves no further than the loss can
   * resolve, so the remaining output times get the final state, without integrating the
   * noise, which only fails CVODE's corrector after enough steps. */
  if (status == DLN_SUCCESS && result->stop == DLN_STOP_EVENT && events &&
      dln_events_converged(events)) {
    result->stop = DLN_STOP_CONVERGED;
    for (; status == DLN_SUCCESS && i < ntimes; i++)
      if (times[i] > result->last.t)
        status = hand_over(p, &w, times[i], dln_flow_state(flow), rank_tol, fn, data, result);
  }
  /* The events end at the flow's last good state, also after a failure. */
  if (events && flow && result->samples > 0) {
    int closing = dln_events_finish(events, dln_flow_time(flow), dln_flow_state(flow));
    if (status == DLN_SUCCESS) status = closing;
  }
  if (flow) result->stats = dln_flow_get_stats(flow);
  result->wall_seconds = wall_now() - wall0;
  result->cpu_seconds = cpu_now() - cpu0;
  dln_flow_free(flow);
  dln_balance_free(w.balance);
  free(w.ntk0);
  free(w.ntk);
  free(w.grad);
  free(w.sv);
  return status;
}
