/* The greedy low-rank algorithm A_{ε,T,η} (THEORY.md §5; include/dlnflow/greedy.h).
 *
 * Static functions:
 *   describe_point  - dln_describe without the Hessian: A, its spectrum, ∇C(A)'s top pair
 *   first_theta     - the width-1 start (-ε v1ᵀ, ε, ..., ε u1)
 *   grow_theta      - width k -> k+1 with the new unit (-ε vᵀ, ε, ..., ε u)
 *   run_inner       - the inner solver on one width: GD for T steps or the flow to grad_tol
 *   keep_round      - copies a description into the result's round list
 */
#include "dlnflow/greedy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/describe.h"
#include "dlnflow/errors.h"
#include "linalg.h"

void dln_greedy_options_default(dln_greedy_options *o)
{
  memset(o, 0, sizeof *o);
  o->inner = DLN_GREEDY_FLOW;
  o->epsilon = 1e-6;
  o->steps = 10000;
  o->learning_rate = 1e-3;
  o->max_width = 0;
  dln_flow_options_default(&o->flow);
  o->flow.grad_tol = 0.0;
  o->flow.t_max = 0.0;
  o->rank_tol = 0.1;
}

int dln_greedy_options_check(const dln_greedy_options *o)
{
  if (!(o->epsilon > 0.0) || !isfinite(o->epsilon) || o->epsilon >= 1.0)
    return dln_error(DLN_EINVAL, "--epsilon must be a number in (0, 1), not %g", o->epsilon);
  if (o->steps < 1) return dln_error(DLN_EINVAL, "--steps must be >= 1, not %ld", o->steps);
  if (!(o->learning_rate > 0.0) || !isfinite(o->learning_rate))
    return dln_error(DLN_EINVAL, "--lr must be a positive number, not %g", o->learning_rate);
  if (!(o->flow.grad_tol >= 0.0) || !(o->flow.t_max >= 0.0) || !isfinite(o->flow.t_max))
    return dln_error(DLN_EINVAL, "greedy: grad_tol and t_max must be >= 0");
  if (!(o->rank_tol >= 0.0)) return dln_error(DLN_EINVAL, "greedy: rank_tol must be >= 0");
  return DLN_SUCCESS;
}

/* ---- points ------------------------------------------------------------------------- */

static int describe_point(dln_problem *p, const double *theta, double c_min, double rank_tol,
                          dln_description *d)
{
  dln_describe_options dopt;
  dln_describe_options_default(&dopt);
  dopt.hessian = 0;
  dopt.rank_tol = rank_tol;
  dopt.loss_floor = c_min;
  return dln_describe(p, theta, &dopt, d);
}

/* Writes the width-1 start: W_1 = -ε vᵀ (1 x n0), W_l = ε (1 x 1), W_L = ε u (nL x 1). */
static void first_theta(const dln_network *net, double eps, const double *u, const double *v,
                        double *theta)
{
  size_t L = dln_network_depth(net), n0 = dln_network_width(net, 0),
         nL = dln_network_width(net, L);
  double *W1 = theta + dln_network_layer_offset(net, 1);
  for (size_t j = 0; j < n0; j++) W1[j] = -eps * v[j];
  for (size_t l = 2; l < L; l++) theta[dln_network_layer_offset(net, l)] = eps;
  double *WL = theta + dln_network_layer_offset(net, L);
  for (size_t i = 0; i < nL; i++) WL[i] = eps * u[i];
}

/* Copies θ of the width-k net `from` into the width-(k+1) net `to` and fills the new unit:
 * row k of W_1 = -ε vᵀ, entry (k, k) of W_2..W_{L-1} = ε, column k of W_L = ε u. */
static void grow_theta(const dln_network *from, const double *theta, const dln_network *to,
                       double eps, const double *u, const double *v, double *grown)
{
  size_t L = dln_network_depth(to);
  memset(grown, 0, dln_network_nparams(to) * sizeof *grown);
  for (size_t l = 1; l <= L; l++) {
    const double *W = theta + dln_network_layer_offset(from, l);
    double *V = grown + dln_network_layer_offset(to, l);
    size_t rows = dln_network_width(from, l), cols = dln_network_width(from, l - 1);
    size_t cols_to = dln_network_width(to, l - 1);
    for (size_t i = 0; i < rows; i++) memcpy(V + i * cols_to, W + i * cols, cols * sizeof *W);
    size_t k = dln_network_width(from, 1); /* the hidden width before growing */
    if (l == 1) {
      for (size_t j = 0; j < cols; j++) V[k * cols_to + j] = -eps * v[j];
    } else if (l < L) {
      V[k * cols_to + k] = eps;
    } else {
      for (size_t i = 0; i < rows; i++) V[i * cols_to + k] = eps * u[i];
    }
  }
}

/* ---- inner solvers ------------------------------------------------------------------ */

/* Runs the inner solver from theta (updated in place) on p; writes the time, steps, reason. */
static int run_inner(dln_problem *p, const dln_greedy_options *o, double grad_tol, double t_max,
                     double c_min, double *theta, dln_greedy_round *r)
{
  dln_flow_options fo = o->flow;
  fo.loss_target = 0.0;
  fo.grad_tol = 0.0;
  if (o->inner == DLN_GREEDY_GD) {
    fo.method = DLN_METHOD_GD;
    fo.learning_rate = o->learning_rate;
    fo.learning_rate_name = "--lr";
    fo.max_steps = o->steps;
    fo.t_max = 2.0 * (double)o->steps * o->learning_rate;
  } else {
    if (fo.method == DLN_METHOD_GD) fo.method = DLN_METHOD_BDF;
    fo.max_steps = 0;
    fo.t_max = t_max;
  }
  size_t P = dln_problem_nparams(p);
  double *grad = malloc(P * sizeof *grad);
  dln_flow *f = NULL;
  if (!grad) return dln_error(DLN_ENOMEM, "dln_greedy_run: out of memory for %zu parameters", P);
  int status = dln_flow_alloc(p, &fo, &f);
  if (status == DLN_SUCCESS) status = dln_flow_init(f, theta);
  dln_stop why = DLN_STOP_NONE;
  double t_out = (o->inner == DLN_GREEDY_GD) ? fo.t_max : t_max * 1e-30;
  double loss0 = NAN;
  while (status == DLN_SUCCESS) {
    status = dln_flow_advance(f, t_out, &why);
    if (status != DLN_SUCCESS) break;
    if (o->inner == DLN_GREEDY_GD) break;
    double loss;
    status = dln_problem_gradient(p, dln_flow_state(f), &loss, grad);
    if (status != DLN_SUCCESS) break;
    double gnorm = dln_nrm2(P, grad);
    if (why == DLN_STOP_INTERRUPT) break; /* an unfinished round is no result */
    if (isnan(loss0)) loss0 = loss;
    /* A round starts at (the inclusion of) a saddle, where ||∇ℒ|| may already be small: the
     * tolerance counts once the excess loss has dropped, i.e. after the escape. */
    int escaped = loss0 - loss >= DLN_GREEDY_ESCAPE_DROP * (loss0 - c_min);
    if (escaped && gnorm <= grad_tol) {
      why = DLN_STOP_GRAD_TOL;
      break;
    }
    if (why != DLN_STOP_NONE) break;
    t_out = fmin(t_out * DLN_GREEDY_OUTPUT_RATIO, t_max);
  }
  if (why == DLN_STOP_INTERRUPT && status == DLN_SUCCESS)
    status = dln_error(DLN_EINTERRUPTED, "dln_greedy_run: interrupted at width %zu", r->width);
  if (f) {
    memcpy(theta, dln_flow_state(f), P * sizeof *theta);
    r->time = dln_flow_time(f);
    r->steps = dln_flow_get_stats(f).steps;
  }
  r->why = why;
  dln_flow_free(f);
  free(grad);
  return status;
}

/* ---- the algorithm ------------------------------------------------------------------ */

static int keep_round(dln_greedy_result *res, const dln_description *d, dln_greedy_round *r)
{
  dln_greedy_round *grown = realloc(res->rounds, (res->nrounds + 1) * sizeof *grown);
  if (!grown) return dln_error(DLN_ENOMEM, "dln_greedy_run: out of memory for a round");
  res->rounds = grown;
  r->loss = d->loss;
  r->test_loss = d->test_loss;
  r->grad_c_norm = d->grad_c_norm;
  r->grad_norm = d->grad_norm;
  r->rank = d->rank;
  r->nsv = d->nsv;
  r->sv = malloc(d->nsv * sizeof *r->sv);
  r->A = malloc(d->rows * d->cols * sizeof *r->A);
  if (!r->sv || !r->A) {
    free(r->sv);
    free(r->A);
    return dln_error(DLN_ENOMEM, "dln_greedy_run: out of memory for a round");
  }
  memcpy(r->sv, d->sv, d->nsv * sizeof *r->sv);
  memcpy(r->A, d->A, d->rows * d->cols * sizeof *r->A);
  res->rounds[res->nrounds++] = *r;
  return DLN_SUCCESS;
}

/* Phases: build width 1 and describe θ = 0 (G0's top pair, C_min, defaults); then per round
 * k: run the inner solver, describe, keep the round, test the stop rule, grow to k + 1. */
int dln_greedy_run(dln_greedy_build_fn build, void *data, const dln_greedy_options *o,
                   dln_greedy_result *res)
{
  memset(res, 0, sizeof *res);
  int status = dln_greedy_options_check(o);
  if (status != DLN_SUCCESS) return status;
  dln_problem *p = NULL, *next = NULL;
  double *theta = NULL, *grown = NULL;
  dln_description d;
  memset(&d, 0, sizeof d);
  status = build(1, &p, data);
  if (status != DLN_SUCCESS) return status;
  const dln_network *net = dln_problem_network(p);
  size_t L = dln_network_depth(net);
  res->depth = L;
  res->cols = dln_network_width(net, 0);
  res->rows = dln_network_width(net, L);
  if (L < 2) {
    status = dln_error(DLN_EINVAL, "dln_greedy_run: the network needs depth >= 2, not %zu", L);
    goto done;
  }
  status = dln_cost_infimum(dln_problem_cost(p), &res->c_min);
  if (status != DLN_SUCCESS) goto done;
  size_t nsv = res->rows < res->cols ? res->rows : res->cols;
  res->max_width = (o->max_width > 0 && o->max_width < nsv) ? o->max_width : nsv;
  theta = calloc(dln_problem_nparams(p), sizeof *theta);
  if (!theta) {
    status = dln_error(DLN_ENOMEM, "dln_greedy_run: out of memory");
    goto done;
  }
  status = describe_point(p, theta, res->c_min, o->rank_tol, &d);
  if (status != DLN_SUCCESS) goto done;
  res->g0_norm = d.grad_c_norm;
  res->g0_s1 = d.grad_c_sv[0];
  if (!(res->g0_s1 > 0.0)) {
    status = dln_error(DLN_EINVAL, "dln_greedy_run: ∇C(0) = 0: the origin is a minimum");
    goto done;
  }
  res->grad_tol = o->flow.grad_tol > 0.0 ? o->flow.grad_tol : DLN_GREEDY_GRAD_TOL_REL * res->g0_norm;
  if (o->flow.t_max > 0.0)
    res->t_max = o->flow.t_max;
  else if (L == 2)
    res->t_max = DLN_GREEDY_T_MAX_FACTOR * log(1.0 / o->epsilon) / res->g0_s1;
  else
    res->t_max = DLN_GREEDY_T_MAX_FACTOR * pow(o->epsilon, -(double)(L - 2)) / res->g0_s1;
  first_theta(net, o->epsilon, d.grad_c_u, d.grad_c_v, theta);
  dln_description_release(&d);

  for (size_t k = 1;; k++) {
    dln_greedy_round r;
    memset(&r, 0, sizeof r);
    r.round = r.width = k;
    double loss_before = NAN, loss_after = NAN;
    status = dln_problem_loss(p, theta, &loss_before);
    if (status == DLN_SUCCESS)
      status = run_inner(p, o, res->grad_tol, res->t_max, res->c_min, theta, &r);
    if (status == DLN_SUCCESS) status = dln_problem_loss(p, theta, &loss_after);
    /* T steps of gradient descent that never left the saddle are not a round's result. */
    if (status == DLN_SUCCESS && o->inner == DLN_GREEDY_GD &&
        !(loss_before - loss_after >= DLN_GREEDY_ESCAPE_DROP * (loss_before - res->c_min)))
      status = dln_error(DLN_ESOLVER, "round %zu: %ld steps of gradient descent at --lr %g did "
                         "not leave the saddle (loss %.6g -> %.6g); the rounds before it are "
                         "kept: raise --steps or --lr, or --epsilon", k, o->steps,
                         o->learning_rate, loss_before, loss_after);
    if (status == DLN_SUCCESS && o->inner == DLN_GREEDY_FLOW && r.why == DLN_STOP_T_MAX)
      status = dln_error(DLN_ESOLVER, "round %zu: the flow reached its horizon t = %.3g "
                         "before ||grad L|| fell to %.3g (still at the saddle, or converging too "
                         "slowly); the rounds before it are kept: raise --epsilon",
                         k, res->t_max, res->grad_tol);
    if (status != DLN_SUCCESS) goto done;
    status = describe_point(p, theta, res->c_min, o->rank_tol, &d);
    if (status == DLN_SUCCESS) status = keep_round(res, &d, &r);
    if (status != DLN_SUCCESS) goto done;
    if (r.loss < res->c_min + o->epsilon) {
      res->reached_target = 1;
      break;
    }
    if (k >= res->max_width) break;
    /* Grow along the top singular pair of ∇C(A(θ)). */
    status = build(k + 1, &next, data);
    if (status != DLN_SUCCESS) goto done;
    grown = malloc(dln_problem_nparams(next) * sizeof *grown);
    if (!grown) {
      status = dln_error(DLN_ENOMEM, "dln_greedy_run: out of memory");
      goto done;
    }
    grow_theta(dln_problem_network(p), theta, dln_problem_network(next), o->epsilon, d.grad_c_u,
               d.grad_c_v, grown);
    dln_description_release(&d);
    dln_problem_free(p);
    free(theta);
    p = next;
    theta = grown;
    next = NULL;
    grown = NULL;
  }
done:
  dln_description_release(&d);
  dln_problem_free(p);
  dln_problem_free(next);
  free(theta);
  free(grown);
  return status;
}

void dln_greedy_result_release(dln_greedy_result *res)
{
  if (!res) return;
  for (size_t i = 0; i < res->nrounds; i++) {
    free(res->rounds[i].sv);
    free(res->rounds[i].A);
  }
  free(res->rounds);
  memset(res, 0, sizeof *res);
}
