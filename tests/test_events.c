/* Saddle events (docs/events.md): on whitened regression with distinct singular values the
 * flow from α = 1e-6 visits saddles of rank 0, 1, 2, 3 in order, whose plateau losses are the
 * best-rank-k losses C0 + Σ_{i>k} s_i², for L = 2 and L = 4; the L = 2 origin saddle's Hessian
 * has eigenvalues ±s_i(∇C(0)); a depth-1 (convex) run has no saddle; the same run gives the
 * same events; the loss floor inf C is exact for both costs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "dlnflow/events.h"
#include "dlnflow/init.h"
#include "dlnflow/run.h"
#include "fixtures.h"
#include "testlib.h"

static const double S[] = {5.0, 3.0, 2.0, 1.0};
#define NMODES 4

static dln_problem *whitened_net(size_t depth, size_t width, double *C0)
{
  return fixture_whitened_net(depth, width, S, NMODES, 60, 77, C0);
}

static int ignore(const dln_sample *s, void *data)
{
  (void)s;
  (void)data;
  return DLN_SUCCESS;
}

/* Runs from α θ0 to t_max with events; returns them (caller frees). */
static dln_events *run_events(dln_problem *p, double alpha, double t_max, double rtol)
{
  size_t P = dln_problem_nparams(p);
  double *theta0 = malloc(P * sizeof *theta0), *times = NULL;
  size_t ntimes = 0;
  dln_init_scaled(dln_problem_network(p), alpha, 5, theta0);
  dln_flow_options opt;
  dln_flow_options_default(&opt);
  opt.rtol = rtol;
  opt.t_max = t_max;
  dln_events_options eo;
  dln_events_options_default(&eo);
  dln_events *ev = NULL;
  dln_run_result r = {0};
  dln_run_times(t_max * 1e-9, t_max, 50, NULL, 0, &times, &ntimes);
  dln_run_options ro = {.rank_tol = eo.describe.rank_tol};
  int status = dln_events_alloc(p, &eo, &ev);
  if (status == DLN_SUCCESS)
    status = dln_run_trajectory(p, theta0, &opt, times, ntimes, &ro, ev,
                                ignore, NULL, &r);
  test_true(status == DLN_SUCCESS, "run with events (%s)", dln_error_message());
  free(theta0);
  free(times);
  return ev;
}

/* Saddles of rank 0..3 at the tail energies, then the global minimum of rank 4. */
static void check_saddle_sequence(size_t depth, double t_max)
{
  double C0;
  dln_problem *p = whitened_net(depth, 6, &C0);
  dln_events *ev = run_events(p, 1e-6, t_max, 1e-8);
  size_t n = dln_events_count(ev);
  test_true(n == NMODES + 1, "L = %zu: %zu records (expected %d saddles and a minimum)", depth,
            n, NMODES);
  for (size_t k = 0; k < n && k < NMODES; k++) {
    const dln_plateau *r = dln_events_get(ev, k);
    double tail = C0;
    for (size_t i = k; i < NMODES; i++) tail += S[i] * S[i];
    test_true(r->kind == DLN_PLATEAU_SADDLE && r->closest.rank == k,
              "L = %zu: record %zu is a saddle of rank %zu (kind %d, rank %zu)", depth, k, k,
              (int)r->kind, r->closest.rank);
    test_rel(r->closest.loss, tail, 1e-2, "L = %zu: saddle %zu's closest approach is near the "
             "best rank-%zu loss", depth, k, k);
    test_true(r->refined && r->critical.rank == k, "L = %zu: Newton finds the rank-%zu saddle "
              "next to it (%d, %zu iterations, |grad| %.3g -> %.3g, |grad C| %.3g, |theta| %.3g)", depth, k, r->refined, r->newton.iterations, r->newton.grad_norm_start, r->newton.grad_norm, r->closest.grad_c_norm, r->closest.theta_norm);
    test_rel(dln_plateau_loss(r), tail, 1e-6, "L = %zu: saddle %zu's plateau loss is the best "
             "rank-%zu loss", depth, k, k);
    if (k > 0)
      test_true(r->t_entry > dln_events_get(ev, k - 1)->t_exit && r->t_closest >= r->t_entry &&
                    r->t_exit > r->t_closest,
                "L = %zu: saddle %zu comes after saddle %zu, entry <= closest < exit", depth, k,
                k - 1);
  }
  if (n == NMODES + 1) {
    const dln_plateau *m = dln_events_get(ev, NMODES);
    test_true(m->kind == DLN_PLATEAU_MINIMUM && strcmp(m->minimum_type, "global") == 0 &&
                  m->closest.rank == NMODES && isnan(m->t_exit),
              "L = %zu: last record is the global minimum of rank %d (%s, rank %zu)", depth,
              NMODES, m->minimum_type, m->closest.rank);
    test_rel(m->closest.loss, C0, 1e-6, "L = %zu: the minimum's loss is the floor C0", depth);
  }
  const dln_plateau *origin = dln_events_get(ev, 0);
  test_true(origin && origin->t_entry == 0.0, "L = %zu: the origin plateau starts at t = 0",
            depth);
  if (depth == 2 && origin) {
    /* ∇C(0) = -2M: the Hessian at the origin has ±2 s_i, once per hidden unit (6 here). */
    const dln_description *d = &origin->critical;
    test_rel(d->lowest[0], -2.0 * S[0], 1e-9, "L = 2 origin saddle: lowest Hessian eigenvalue "
             "is -s1(grad C(0))");
    test_rel(d->highest[0], 2.0 * S[0], 1e-9, "L = 2 origin saddle: highest is +s1(grad C(0))");
    test_true(d->hessian.negative == 6 * NMODES,
              "L = 2 origin saddle: %zu negative eigenvalues (6 per mode)", d->hessian.negative);
    test_rel(d->grad_c_sv[1], 2.0 * S[1], 1e-9, "L = 2 origin: second singular value of grad "
             "C is 2 s2 (the next escape's speed)");
  }
  dln_events_free(ev);
  dln_problem_free(p);
}

/* Depth 1 is convex: no saddle, only the minimum. */
static void check_convex(void)
{
  double C0;
  dln_problem *p = whitened_net(1, 0, &C0);
  dln_events *ev = run_events(p, 1e-6, 20.0, 1e-8);
  size_t saddles = 0;
  for (size_t i = 0; i < dln_events_count(ev); i++)
    saddles += dln_events_get(ev, i)->kind == DLN_PLATEAU_SADDLE;
  test_true(saddles == 0, "depth 1: no saddle reported (%zu)", saddles);
  test_true(dln_events_count(ev) == 1 &&
                dln_events_get(ev, 0)->kind == DLN_PLATEAU_MINIMUM,
            "depth 1: one record, the minimum (%zu records)", dln_events_count(ev));
  dln_events_free(ev);
  dln_problem_free(p);
}

/* The same run twice gives the same records, bit for bit; labels follow the records. */
static void check_repeatable(void)
{
  double C0;
  dln_problem *p = whitened_net(2, 6, &C0);
  dln_events *a = run_events(p, 1e-6, 20.0, 1e-8), *b = run_events(p, 1e-6, 20.0, 1e-8);
  int same = dln_events_count(a) == dln_events_count(b);
  for (size_t i = 0; same && i < dln_events_count(a); i++) {
    const dln_plateau *x = dln_events_get(a, i), *y = dln_events_get(b, i);
    same = x->t_entry == y->t_entry && x->t_closest == y->t_closest &&
           (x->t_exit == y->t_exit || (isnan(x->t_exit) && isnan(y->t_exit))) &&
           x->closest.loss == y->closest.loss;
  }
  test_true(same, "the same run reports the same events twice");
  long label;
  const dln_plateau *second = dln_events_get(a, 1);
  test_true(second && dln_events_label(a, second->t_closest, &label) && label == 1,
            "the closest approach of record 1 is labelled 1");
  test_true(second && dln_events_label(a, 0.5 * (dln_events_get(a, 0)->t_exit + second->t_entry),
                                       &label) && label == -1,
            "a time between two plateaus is labelled -1");
  dln_events_free(a);
  dln_events_free(b);
  dln_problem_free(p);
}

/* inf C: the orthogonal-noise floor C0 for whitened MSE; for matrix completion the spread of
 * repeated observations of one cell. */
static void check_loss_floor(void)
{
  double C0, floor;
  dln_problem *p = whitened_net(2, 3, &C0);
  dln_cost_infimum(dln_problem_cost(p), &floor);
  test_rel(floor, C0, 1e-10, "MSE: inf C is the least-squares residual C0");
  dln_problem_free(p);
  dln_entry e[] = {{0, 0, 1.0}, {0, 0, 3.0}, {1, 2, 5.0}, {2, 1, -1.0}, {2, 1, -1.0}};
  dln_cost *mc = NULL;
  dln_cost_mc_alloc(3, 3, 5, e, 0, NULL, &mc);
  dln_cost_infimum(mc, &floor);
  test_rel(floor, 2.0 / 5.0, 1e-12, "MC: inf C is the spread of repeated cells ((1-2)² + "
           "(3-2)²) / 5");
  dln_cost_free(mc);
}

int main(void)
{
  check_loss_floor();
  check_saddle_sequence(2, 20.0);
  check_saddle_sequence(4, 1e13);
  check_convex();
  check_repeatable();
  return test_summary();
}
