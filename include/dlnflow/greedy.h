/* The greedy low-rank algorithm A_{ε,T,η} of Conjecture 3 (THEORY.md §5).
 *
 * Start at width 1 from θ = (W_1 = -ε v1ᵀ, W_2..W_{L-1} = ε, W_L = ε u1), (u1, v1) the top
 * singular pair of G0 = ∇C(0), so A = -ε^L u1 v1ᵀ and <G0, A> = -ε^L s1 < 0: the cost falls.
 * Each round k: run the inner solver on the width-k net (widths n0, k, ..., k, nL); describe
 * A(θ); stop when C(A) < C_min + ε (C_min = dln_cost_infimum) or k reached the width limit;
 * else take the top singular pair (u, v) of ∇C(A(θ)) and grow every layer by one unit: new
 * row -ε vᵀ in W_1, new diagonal entry ε in W_2..W_{L-1} (zeros elsewhere in the new rows
 * and columns), new column ε u in W_L. The product then moves by -ε^L u vᵀ, along -∇C.
 *
 * Inner solvers: DLN_GREEDY_GD, T steps of gradient descent with step η (the paper's);
 * DLN_GREEDY_FLOW, the gradient flow integrated by CVODE until ||∇ℒ|| <= grad_tol once the
 * excess loss has fallen by DLN_GREEDY_ESCAPE_DROP of its value at the round's start (a round
 * starts at a saddle, where ||∇ℒ|| is already small: the rule waits for the escape).
 *
 * The width-k problems come from a caller's builder, so that every round has the same cost
 * (data) and only the network differs.
 */
#ifndef DLNFLOW_GREEDY_H
#define DLNFLOW_GREEDY_H

#include <stddef.h>

#include "dlnflow/flow.h"
#include "dlnflow/problem.h"

/* The flow inner solver's grad_tol counts only once the excess loss C - C_min has fallen by
 * this fraction of its value at the round's start (the escape from the saddle happened). */
#define DLN_GREEDY_ESCAPE_DROP 1e-3
/* Default flow grad_tol, relative to ||∇C(0)||_F. Smaller values are not reached: near a
 * minimum BDF's Newton solves leave an error in θ of order atol, so ||∇ℒ|| stalls at about
 * rtol times the curvature. The loss error is about ||∇ℒ||² / curvature, far below it. */
#define DLN_GREEDY_GRAD_TOL_REL 1e-8
/* Default flow t_max: this many times ε^-(L-2) / s1 (L > 2) or log(1/ε) / s1 (L = 2), the
 * order of one escape time from ε (THEORY.md §4). */
#define DLN_GREEDY_T_MAX_FACTOR 1e6
/* Successive output times of the flow inner solver grow by this factor. */
#define DLN_GREEDY_OUTPUT_RATIO 1.25

typedef enum dln_greedy_inner { DLN_GREEDY_FLOW, DLN_GREEDY_GD } dln_greedy_inner;

/* Builds the problem of the width-`width` net (hidden widths all `width`) on the one cost.
 * Returns DLN_SUCCESS or an error code with its message. */
typedef int (*dln_greedy_build_fn)(size_t width, dln_problem **out, void *data);

typedef struct dln_greedy_options {
  dln_greedy_inner inner;  /* default DLN_GREEDY_FLOW */
  double epsilon;          /* ε > 0: size of the new entries and the stop margin (1e-6) */
  long steps;              /* gd: T >= 1 steps per round (10000) */
  double learning_rate;    /* gd: η > 0 (1e-3) */
  size_t max_width;        /* width limit (0: min(n0, nL)) */
  dln_flow_options flow;   /* flow: method (bdf/adams), rtol, atol, interrupt; grad_tol > 0
                              absolute (0: DLN_GREEDY_GRAD_TOL_REL ||∇C(0)||); t_max > 0
                              (0: the DLN_GREEDY_T_MAX_FACTOR default) */
  double rank_tol;         /* singular values of A above this count towards the rank (0.1) */
} dln_greedy_options;

void dln_greedy_options_default(dln_greedy_options *o);
/* Checks bounds; the message names the option (--epsilon, --steps, --lr, --max-width). */
int dln_greedy_options_check(const dln_greedy_options *o);

/* One round: the state after the inner solver at width k. */
typedef struct dln_greedy_round {
  size_t round, width;     /* round k = 1, 2, ... at width k */
  double loss, test_loss;  /* C(A), test cost (NaN without a test set) */
  double grad_c_norm;      /* ||∇C(A)||_F */
  double grad_norm;        /* ||∇ℒ(θ)|| */
  size_t rank;             /* singular values of A above rank_tol */
  size_t nsv;              /* min(n0, nL) */
  double *sv;              /* nsv singular values of A, largest first (owned) */
  double *A;               /* nL x n0 row-major (owned) */
  double time;             /* flow: integration time used; gd: steps · η */
  long steps;              /* solver steps */
  dln_stop why;            /* why the inner solver stopped (grad_tol, t_max, max_steps) */
} dln_greedy_round;

typedef struct dln_greedy_result {
  size_t rows, cols, depth;   /* A is rows x cols (nL x n0); L layers */
  double c_min;               /* inf C */
  double g0_norm, g0_s1;      /* ||∇C(0)||_F and its top singular value */
  double grad_tol;            /* flow: the tolerance used */
  double t_max;               /* flow: the per-round t_max used */
  size_t max_width;           /* the width limit used */
  int reached_target;         /* stopped at C(A) < C_min + ε (else at the width limit) */
  size_t nrounds;
  dln_greedy_round *rounds;   /* nrounds (owned) */
} dln_greedy_result;

/* Runs the algorithm; res is filled (free with dln_greedy_result_release) also on failure,
 * with the rounds completed. Requires depth L >= 2. Returns DLN_EINVAL, DLN_ENOMEM,
 * DLN_ESOLVER, DLN_ELINALG, DLN_EINTERRUPTED, or the builder's code. */
int dln_greedy_run(dln_greedy_build_fn build, void *data, const dln_greedy_options *o,
                   dln_greedy_result *res);
void dln_greedy_result_release(dln_greedy_result *res);

#endif
