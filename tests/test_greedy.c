/* The greedy low-rank algorithm (THEORY.md §5): on whitened regression with distinct singular
 * values s_i, round k of the flow inner solver ends at the best rank-k approximation of M, with
 * loss C0 + Σ_{i>k} s_i² (relative 1e-6) and rank k, for L = 2 and L = 4, stopping at the full
 * rank by C(A) < C_min + ε; the width limit stops it early; gradient descent (the paper's
 * inner solver) never raises the loss from round to round; bad options are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "dlnflow/greedy.h"
#include "fixtures.h"
#include "testlib.h"

static const double S[] = {5.0, 3.0, 2.0, 1.0};
#define NMODES 4

typedef struct builder {
  size_t depth;
  double C0;
} builder;

static int build(size_t width, dln_problem **out, void *data)
{
  builder *b = data;
  *out = fixture_whitened_net(b->depth, width, S, NMODES, 60, 77, &b->C0);
  return *out ? DLN_SUCCESS : DLN_ENOMEM;
}

/* Loss of the best rank-k approximation: C0 + Σ_{i>k} s_i². */
static double tail(double C0, size_t k)
{
  double t = C0;
  for (size_t i = k; i < NMODES; i++) t += S[i] * S[i];
  return t;
}

static void check_best_rank_k(size_t depth)
{
  builder b = {depth, 0.0};
  dln_greedy_options o;
  dln_greedy_options_default(&o);
  o.flow.rtol = 1e-8;
  dln_greedy_result res;
  int status = dln_greedy_run(build, &b, &o, &res);
  test_true(status == DLN_SUCCESS, "L = %zu: greedy runs (%s)", depth,
            status ? dln_error_message() : "ok");
  test_true(res.nrounds == NMODES && res.reached_target,
            "L = %zu: %zu rounds, the last at C_min + eps", depth, res.nrounds);
  for (size_t i = 0; i < res.nrounds; i++) {
    const dln_greedy_round *r = &res.rounds[i];
    test_rel(r->loss, tail(b.C0, r->round), 1e-6, "L = %zu round %zu: loss is the tail energy",
             depth, r->round);
    test_true(r->rank == r->round, "L = %zu round %zu: rank %zu", depth, r->round, r->rank);
    for (size_t j = 0; j < r->round; j++)
      test_rel(r->sv[j], S[j], 1e-6, "L = %zu round %zu: singular value %zu", depth, r->round,
               j + 1);
  }
  test_rel(res.c_min, b.C0, 1e-12, "L = %zu: C_min is C0", depth);
  dln_greedy_result_release(&res);
}

static void check_width_limit(void)
{
  builder b = {3, 0.0};
  dln_greedy_options o;
  dln_greedy_options_default(&o);
  o.max_width = 2;
  dln_greedy_result res;
  int status = dln_greedy_run(build, &b, &o, &res);
  test_true(status == DLN_SUCCESS && res.nrounds == 2 && !res.reached_target,
            "max_width 2 stops after round 2 without reaching the target");
  dln_greedy_result_release(&res);
}

static void check_gd(void)
{
  builder b = {2, 0.0};
  dln_greedy_options o;
  dln_greedy_options_default(&o);
  o.inner = DLN_GREEDY_GD;
  o.epsilon = 1e-3;
  o.steps = 3000;
  o.learning_rate = 0.02;
  dln_greedy_result res;
  int status = dln_greedy_run(build, &b, &o, &res);
  test_true(status == DLN_SUCCESS && res.nrounds >= 1, "gd inner solver runs");
  int falls = 1;
  for (size_t i = 1; i < res.nrounds; i++)
    falls = falls && res.rounds[i].loss <= res.rounds[i - 1].loss;
  test_true(falls, "gd: the loss falls from round to round");
  test_rel(res.rounds[0].loss, tail(b.C0, 1), 1e-3, "gd round 1 near the best rank-1 loss");
  dln_greedy_result_release(&res);
}

static void check_errors(void)
{
  builder b = {2, 0.0};
  dln_greedy_options o;
  dln_greedy_options_default(&o);
  o.epsilon = 0.0;
  dln_greedy_result res;
  test_true(dln_greedy_run(build, &b, &o, &res) == DLN_EINVAL &&
                strstr(dln_error_message(), "--epsilon") != NULL,
            "epsilon 0 refused, naming --epsilon");
  dln_greedy_result_release(&res);
  b.depth = 1;
  dln_greedy_options_default(&o);
  test_true(dln_greedy_run(build, &b, &o, &res) == DLN_EINVAL, "depth 1 refused");
  dln_greedy_result_release(&res);
}

int main(void)
{
  check_best_rank_k(2);
  check_best_rank_k(4);
  check_width_limit();
  check_gd();
  check_errors();
  return test_summary();
}
