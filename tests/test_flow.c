/* The integrator's own guarantees: the invariants D_l of THEORY.md §2 hold along a random
 * run, at α = 1 and α = 1e-8 alike (tolerances scale with the state); the loss never rises;
 * gradient descent converges to the flow at first order in η; stop rules land where they
 * should; bad tolerances are refused; the same start gives the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/datagen.h"
#include "dlnflow/diagnostics.h"
#include "dlnflow/errors.h"
#include "dlnflow/flow.h"
#include "dlnflow/init.h"
#include "testlib.h"

/* A depth-4 regression problem with a teacher of distinct singular values, or a noise-free
 * rank-one teacher (one escape from the origin, then straight to a zero-loss minimum). */
static dln_problem *make_problem(int rank_one)
{
  const size_t widths[] = {5, 7, 6, 8, 4};
  double T[4 * 5] = {0};
  const double diag[] = {3.1, 2.2, 1.3, 0.6};
  for (size_t i = 0; i < 4; i++) T[i * 5 + i] = rank_one ? 0.0 : diag[i];
  if (rank_one)
    for (size_t i = 0; i < 4; i++)
      for (size_t j = 0; j < 5; j++) T[i * 5 + j] = 0.7 * (1.0 + 0.3 * (double)i) * (0.5 - 0.2 * (double)j);
  T[3] = rank_one ? T[3] : 0.4;
  dln_mse_data d;
  dln_datagen_teacher(T, 4, 5, 60, 20, 0.0, rank_one ? 0.0 : 0.1, 5, &d);
  dln_cost *cost = NULL;
  dln_cost_mse_alloc(5, 4, d.N, d.X, d.Y, d.Ntest, d.Xtest, d.Ytest, &cost);
  dln_mse_data_release(&d);
  dln_network *net = NULL;
  dln_network_alloc(4, widths, &net);
  dln_problem *p = NULL;
  dln_problem_alloc(net, cost, &p);
  return p;
}

/* Integrates to t_max and returns the final state's invariant drift; copies θ if asked. */
static double run_drift(dln_problem *p, const double *theta0, dln_flow_options *opt,
                        double *theta_out, dln_flow_stats *stats)
{
  dln_flow *flow = NULL;
  dln_balance *bal = NULL;
  dln_stop why;
  int status = dln_flow_alloc(p, opt, &flow);
  if (status == DLN_SUCCESS) status = dln_flow_init(flow, theta0);
  if (status == DLN_SUCCESS) status = dln_flow_advance(flow, opt->t_max, &why);
  if (status != DLN_SUCCESS) {
    test_true(0, "run failed: %s", dln_error_message());
    dln_flow_free(flow);
    return NAN;
  }
  dln_balance_alloc(dln_problem_network(p), theta0, &bal);
  double drift = dln_balance_drift(bal, dln_flow_state(flow));
  if (theta_out) memcpy(theta_out, dln_flow_state(flow), dln_problem_nparams(p) * sizeof *theta_out);
  if (stats) *stats = dln_flow_get_stats(flow);
  dln_balance_free(bal);
  dln_flow_free(flow);
  return drift;
}

static void check_invariants(dln_problem *p, dln_problem *rank_one)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0), *end = malloc(P * sizeof *end);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.rtol = 1e-10;
  dln_flow_stats st;
  double loss0, loss1;

  dln_init_scaled(dln_problem_network(p), 0.5, 11, theta0);
  opt.t_max = 50.0;
  double drift_big = run_drift(p, theta0, &opt, end, &st);
  dln_problem_loss(p, theta0, &loss0);
  dln_problem_loss(p, end, &loss1);
  test_below(drift_big, 1e-8, "L = 4 random run from alpha = 0.5: invariant drift");
  test_true(loss1 < 0.01 * loss0, "that run converges (loss %.3g -> %.3g)", loss0, loss1);
  test_true(st.loss_increases == 0, "that run never raises the loss (%ld rises)", st.loss_increases);

  /* From α = 1e-8 the escape takes ~1e16 time units; the invariants must hold as well. The
   * rank-one teacher has no later plateau, where round-off in ∇ℒ caps the accuracy any
   * integrator can reach over 1e16 time units (see docs/design.md). */
  dln_init_scaled(dln_problem_network(rank_one), 1e-8, 11, theta0);
  opt.t_max = 1e18;
  double drift_small = run_drift(rank_one, theta0, &opt, end, &st);
  dln_problem_loss(rank_one, theta0, &loss0);
  dln_problem_loss(rank_one, end, &loss1);
  test_true(loss1 < 1e-6 * loss0, "alpha = 1e-8 run escapes and converges (loss %.3g -> %.3g)",
            loss0, loss1);
  test_below(drift_small, 1e-8, "L = 4 random run from alpha = 1e-8: invariant drift");
  test_below(drift_small, 10.0 * fmax(drift_big, 1e-12),
             "alpha = 1e-8 drift within 10x of the alpha = 0.5 level");
  /* Down at ℒ ~ 1e-31 the loss's own round-off shows as tiny rises: count only those beyond
   * what the tolerances allow. */
  test_true(st.loss_increases_beyond_tol == 0,
            "the alpha = 1e-8 run never raises the loss beyond its tolerance (%ld rises, %ld "
            "beyond)", st.loss_increases, st.loss_increases_beyond_tol);
  free(theta0);
  free(end);
}

/* Gradient descent is Euler's method on the flow: its error at a fixed time halves with η. */
static void check_gd_converges_to_flow(dln_problem *p)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0), *flow_end = malloc(P * sizeof *flow_end);
  double *gd_end = malloc(P * sizeof *gd_end);
  dln_init_scaled(dln_problem_network(p), 0.3, 4, theta0);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.rtol = 1e-11;
  opt.t_max = 3.0;
  run_drift(p, theta0, &opt, flow_end, NULL);
  double loss_flow, loss_gd, err[2];
  dln_problem_loss(p, flow_end, &loss_flow);
  opt.method = DLN_METHOD_GD;
  for (int k = 0; k < 2; k++) {
    opt.learning_rate = k == 0 ? 2e-3 : 1e-3;
    run_drift(p, theta0, &opt, gd_end, NULL);
    dln_problem_loss(p, gd_end, &loss_gd);
    err[k] = fabs(loss_gd - loss_flow) / loss_flow;
  }
  test_below(err[1], 1e-2, "GD (eta = 1e-3) matches the flow's loss at t = 3 (relative)");
  test_rel(err[0] / err[1], 2.0, 0.1, "GD error halves with eta (first order)");
  free(theta0);
  free(flow_end);
  free(gd_end);
}

static void check_stops_and_refusals(dln_problem *p)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0);
  dln_init_scaled(dln_problem_network(p), 0.3, 4, theta0);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.t_max = 1e3;
  double loss0;
  dln_problem_loss(p, theta0, &loss0);
  opt.loss_target = 0.5 * loss0;
  dln_flow *flow = NULL;
  dln_stop why;
  dln_flow_alloc(p, &opt, &flow);
  dln_flow_init(flow, theta0);
  dln_flow_advance(flow, opt.t_max, &why);
  double loss;
  dln_problem_loss(p, dln_flow_state(flow), &loss);
  test_true(why == DLN_STOP_LOSS_TARGET, "loss_target stops the run (%s)", dln_stop_name(why));
  test_rel(loss, opt.loss_target, 1e-6, "the stop is located where the loss meets the target");
  dln_flow_free(flow);

  /* An absolute tolerance large against the layers' scale is refused, naming the option. */
  opt.loss_target = 0.0;
  dln_init_scaled(dln_problem_network(p), 1e-3, 4, theta0);
  opt.atol = 1e-4;
  dln_flow_alloc(p, &opt, &flow);
  int status = dln_flow_init(flow, theta0);
  test_true(status == DLN_EINVAL && strstr(dln_error_message(), "solver.atol"),
            "atol = 1e-4 against weights of 1e-3 is refused: %s", dln_error_message());
  dln_flow_free(flow);
  opt.atol = 0.0;
  opt.rtol = 0.0;
  test_true(dln_flow_alloc(p, &opt, &flow) == DLN_EINVAL && strstr(dln_error_message(), "rtol"),
            "rtol = 0 is refused: %s", dln_error_message());
  opt.rtol = 1e-6;
  memset(theta0, 0, P * sizeof *theta0);
  dln_flow_alloc(p, &opt, &flow);
  test_true(dln_flow_init(flow, theta0) == DLN_EINVAL, "a zero start is refused: %s",
            dln_error_message());
  dln_flow_free(flow);

  /* A raised interrupt flag stops at the next step and keeps the state. */
  volatile sig_atomic_t flag = 1;
  opt.interrupt = &flag;
  dln_init_scaled(dln_problem_network(p), 0.3, 4, theta0);
  dln_flow_alloc(p, &opt, &flow);
  dln_flow_init(flow, theta0);
  status = dln_flow_advance(flow, 10.0, &why);
  test_true(status == DLN_SUCCESS && why == DLN_STOP_INTERRUPT,
            "the interrupt flag stops the run (%s)", dln_stop_name(why));
  dln_flow_free(flow);
  free(theta0);
}

/* An event g = ℒ(θ)/ℒ_ref - 1/2 (normalised) that stops the run, and one that fires without
 * stopping; the located time must agree with the loss-target stop found by bisection. */
typedef struct level_event {
  dln_problem *p;
  double level;   /* loss level */
  int stop;       /* return DLN_EVENT_STOP at the first crossing */
  int crossings;
  double t_cross;
  int direction;
  int kick;       /* replace θ by 2θ at the first crossing (DLN_EVENT_RESTART) */
} level_event;

static int level_evaluate(double t, const double *theta, double *g, void *data)
{
  level_event *e = data;
  (void)t;
  double loss;
  int status = dln_problem_loss(e->p, theta, &loss);
  g[0] = loss / e->level - 1.0;
  return status;
}

static int level_handle(double t, double *theta, const int *crossed, void *data)
{
  level_event *e = data;
  if (e->crossings++ == 0) {
    e->t_cross = t;
    e->direction = crossed[0];
  }
  if (e->kick && e->crossings == 1) {
    size_t P = dln_problem_nparams(e->p);
    for (size_t i = 0; i < P; i++) theta[i] *= 2.0;
    return DLN_EVENT_RESTART;
  }
  return e->stop ? DLN_EVENT_STOP : DLN_EVENT_CONTINUE;
}

static void check_events(dln_problem *p)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0);
  dln_init_scaled(dln_problem_network(p), 0.3, 4, theta0);
  double loss0;
  dln_problem_loss(p, theta0, &loss0);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.t_max = 1e3;
  opt.rtol = 1e-9;

  /* Reference: the bisection-located loss target. */
  opt.loss_target = 0.5 * loss0;
  dln_flow *flow = NULL;
  dln_stop why;
  dln_flow_alloc(p, &opt, &flow);
  dln_flow_init(flow, theta0);
  dln_flow_advance(flow, opt.t_max, &why);
  double t_target = dln_flow_time(flow);
  dln_flow_free(flow);
  opt.loss_target = 0.0;

  for (int stop = 1; stop >= 0; stop--) {
    level_event e = {.p = p, .level = 0.5 * loss0, .stop = stop};
    dln_flow_events ev = {.count = 1, .evaluate = level_evaluate, .handle = level_handle,
                          .data = &e};
    dln_flow_alloc(p, &opt, &flow);
    dln_flow_set_events(flow, &ev);
    dln_flow_init(flow, theta0);
    int status = dln_flow_advance(flow, opt.t_max, &why);
    test_true(status == DLN_SUCCESS && e.crossings == 1 && e.direction == -1,
              "%s: one falling crossing of the loss level (%d crossings, direction %d)",
              stop ? "stopping event" : "passing event", e.crossings, e.direction);
    test_rel(e.t_cross, t_target, 1e-7, "%s: CVODE's root time matches the bisected loss "
             "target", stop ? "stopping event" : "passing event");
    if (stop) {
      double loss;
      dln_problem_loss(p, dln_flow_state(flow), &loss);
      test_true(why == DLN_STOP_EVENT && dln_flow_time(flow) == e.t_cross,
                "a stopping event ends the run at its root (%s at %.9g)", dln_stop_name(why),
                dln_flow_time(flow));
      test_rel(loss, 0.5 * loss0, 1e-7, "the state handed over is the state at the root");
    } else {
      test_true(why == DLN_STOP_T_MAX, "a passing event lets the run reach t_max (%s)",
                dln_stop_name(why));
    }
    dln_flow_free(flow);
  }

  /* A restart from a changed state: the flow continues from 2θ at the crossing time, exactly
   * as a fresh run from 2θ(t_cross) would (time-shifted). */
  level_event e = {.p = p, .level = 0.5 * loss0, .kick = 1};
  dln_flow_events ev = {.count = 1, .evaluate = level_evaluate, .handle = level_handle, .data = &e};
  dln_flow_alloc(p, &opt, &flow);
  dln_flow_set_events(flow, &ev);
  dln_flow_init(flow, theta0);
  double t_end = 2.0;
  dln_flow_advance(flow, t_end, &why);
  double *kicked = malloc(P * sizeof *kicked);
  memcpy(kicked, dln_flow_state(flow), P * sizeof *kicked);
  dln_flow_stats st = dln_flow_get_stats(flow);
  dln_flow_free(flow);
  test_true(st.restarts == 1 && e.crossings >= 1, "the restart is counted (%ld)", st.restarts);
  /* Reference: the state at t_cross, doubled, integrated for t_end - t_cross. */
  opt.t_max = e.t_cross;
  double *mid = malloc(P * sizeof *mid), *ref = malloc(P * sizeof *ref);
  run_drift(p, theta0, &opt, mid, NULL);
  for (size_t i = 0; i < P; i++) mid[i] *= 2.0;
  opt.t_max = t_end - e.t_cross;
  run_drift(p, mid, &opt, ref, NULL);
  double lk, lr;
  dln_problem_loss(p, kicked, &lk);
  dln_problem_loss(p, ref, &lr);
  test_rel(lk, lr, 1e-6, "after a restart the flow continues from the handler's state");
  free(mid);
  free(ref);
  free(kicked);
  free(theta0);
}

static void check_repeatable(dln_problem *p)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0), *a = malloc(P * sizeof *a), *b = malloc(P * sizeof *b);
  dln_init_scaled(dln_problem_network(p), 0.01, 8, theta0);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.t_max = 200.0;
  run_drift(p, theta0, &opt, a, NULL);
  run_drift(p, theta0, &opt, b, NULL);
  test_true(memcmp(a, b, P * sizeof *a) == 0, "the same start gives the same bits");
  free(theta0);
  free(a);
  free(b);
}

/* dlnflow's fused GMRES and SUNDIALS' SPGMR run the same iteration: the same steps and, up to
 * rounding, the same trajectory, with and without the dense preconditioner. */
static void check_gmres_choice(dln_problem *p)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0), *a = malloc(P * sizeof *a);
  double *b = malloc(P * sizeof *b);
  dln_init_scaled(dln_problem_network(p), 0.01, 8, theta0);
  const dln_precond_kind kinds[] = {DLN_PRECOND_NONE, DLN_PRECOND_DENSE};
  for (size_t k = 0; k < 2; k++) {
    dln_flow_options opt;
    dln_flow_options_default(&opt);
    opt.t_max = 200.0;
    opt.precondition = kinds[k];
    dln_flow_stats fused, spgmr;
    opt.gmres = DLN_GMRES_FUSED;
    run_drift(p, theta0, &opt, a, &fused);
    opt.gmres = DLN_GMRES_SPGMR;
    run_drift(p, theta0, &opt, b, &spgmr);
    double diff = 0.0, size = 0.0;
    for (size_t i = 0; i < P; i++) {
      diff = fmax(diff, fabs(a[i] - b[i]));
      size = fmax(size, fabs(b[i]));
    }
    const char *name = kinds[k] == DLN_PRECOND_NONE ? "no preconditioner" : "dense preconditioner";
    test_true(fused.steps == spgmr.steps && fused.linear_iters == spgmr.linear_iters &&
                  fused.hvps == spgmr.hvps && fused.linear_iters > 0,
              "fused GMRES and SPGMR, %s: %ld and %ld steps, %ld and %ld linear iterations", name,
              fused.steps, spgmr.steps, fused.linear_iters, spgmr.linear_iters);
    test_true(diff <= 1e-10 * size, "fused GMRES and SPGMR, %s: final states agree to %.2g",
              name, diff / size);
  }
  free(theta0);
  free(a);
  free(b);
}

int main(void)
{
  dln_problem *p = make_problem(0), *rank_one = make_problem(1);
  check_invariants(p, rank_one);
  check_gd_converges_to_flow(p);
  check_stops_and_refusals(p);
  check_events(p);
  check_repeatable(p);
  check_gmres_choice(p);
  dln_problem_free(p);
  dln_problem_free(rank_one);
  return test_summary();
}
