/* The gradient flow θ' = -∇ℒ(θ) with CVODE, and gradient descent (include/dlnflow/flow.h).
 *
 * Contents:
 *   options          defaults and bounds
 *   callbacks        rhs (-∇ℒ), jtimes (-H·v), CVODE's error handler
 *   tolerances       per-layer absolute tolerances from θ(0)'s layer scales
 *   set-up           dln_flow_alloc / dln_flow_init / dln_flow_free
 *   stepping         one CVODE step, one GD step, stop rules, dense output
 *
 * The driver steps CVODE one step at a time (CV_ONE_STEP) so that it can watch the loss
 * after every accepted step: the exact flow never raises it, so a rise flags integration
 * error. Output at a requested time comes from CVODE's dense output (CVodeGetDky), and a
 * loss target reached inside a step is located there by bisection on the interpolant.
 */
#include "dlnflow/flow.h"

#include <cvode/cvode.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include "dlnflow/errors.h"
#include "flow_kernels.h"
#include "gmres.h"
#include "linalg.h"
#include "nvector_fast.h"
#include "precond.h"

/* A loss rise below this many ulps of the loss is evaluation round-off, not integration error. */
#define LOSS_RISE_ULPS 64.0
/* Corrector failures allowed within one step: 4^-30 = 1e-18 of its size. */
#define MAX_CONV_FAILS 30
/* Retries of a failed first step, each FIRST_STEP_SHRINK times as far. */
#define FIRST_STEP_RETRIES 20
#define FIRST_STEP_SHRINK 1e-4
/* Bisection steps when locating a stop inside a step: enough to reach round-off in t. */
#define LOCATE_ITERATIONS 80

struct dln_flow {
  dln_problem *problem;     /* not owned */
  dln_flow_options opt;     /* copy of the options */
  size_t n;                 /* P, the number of parameters */
  size_t depth;             /* L */
  SUNContext ctx;           /* SUNDIALS context (owned) */
  void *cvode;              /* CVODE memory (owned; NULL for gd) */
  SUNLinearSolver ls;       /* GMRES (bdf only, owned) */
  SUNNonlinearSolver nls;   /* fixed-point iteration (adams only, owned) */
  dln_precond *precond;     /* GMRES preconditioner (bdf with a curvature model, owned) */
  N_Vector y;               /* integrator state at t_step (owned) */
  N_Vector out;             /* output state at t_out (owned) */
  N_Vector probe;           /* scratch state for locating stops (owned) */
  N_Vector scratch;         /* another scratch vector (owned) */
  N_Vector atol;            /* per-component absolute tolerance (owned) */
  double *grad;             /* P doubles of gradient workspace (owned) */
  double *layer_atol;       /* absolute tolerance of each layer, L doubles (owned) */
  double t_step;            /* time the integrator has reached */
  double t_prev;            /* time at the start of the last step */
  double t_out;             /* time of the output state */
  double loss_step;         /* ℒ(y) at t_step */
  double loss_initial;      /* ℒ(θ(0)), the scale of the loss's round-off */
  int initialised;          /* CVodeInit has run */
  int finished;             /* a stop rule ended the run */
  dln_stop finish_reason;   /* which one */
  dln_flow_stats stats;     /* counters kept by the driver (CVODE's are read on demand) */
  long hvp_base;            /* the problem's Hessian-vector count at dln_flow_init */
  dln_flow_events events;   /* watched functions (count 0: none) */
  double event_prev[DLN_FLOW_MAX_EVENTS]; /* gd: the functions at the last iterate */
  int event_stop;           /* a handler asked to stop at t_step */
  int root_held;            /* a root past the output time, handed over by the next advance */
  int held_crossed[DLN_FLOW_MAX_EVENTS]; /* its crossings (its time is t_step) */
  dln_flow_stats before_restart; /* CVODE's counters summed over earlier restarts (its
                                    CVodeReInit zeroes them) */
  char solver_message[512]; /* CVODE's last error or warning text */
};

/* ---- options ------------------------------------------------------------------------ */

void dln_flow_options_default(dln_flow_options *opt)
{
  memset(opt, 0, sizeof *opt);
  opt->method = DLN_METHOD_BDF;
  opt->rtol = 1e-6;
  opt->atol = 0.0;
  opt->t_max = 1e4;
  opt->loss_target = 0.0;
  opt->grad_tol = 0.0;
  opt->learning_rate = 1e-3;
  opt->max_steps = 0;
  opt->krylov_dim = 10;
  opt->precondition = DLN_PRECOND_AUTO;
  opt->dense_max = 1000;
  opt->interrupt = NULL;
}

int dln_flow_options_check(const dln_flow_options *opt)
{
  if (!(opt->rtol > 0.0 && opt->rtol < 1.0))
    return dln_error(DLN_EINVAL, "solver.rtol = %g: must lie in (0, 1)", opt->rtol);
  if (opt->rtol < 10.0 * DBL_EPSILON)
    return dln_error(DLN_EINVAL, "solver.rtol = %g: below what double precision can deliver "
                     "(%g)", opt->rtol, 10.0 * DBL_EPSILON);
  if (!(opt->atol >= 0.0) || !isfinite(opt->atol))
    return dln_error(DLN_EINVAL, "solver.atol = %g: must be >= 0 (0 for automatic)", opt->atol);
  if (!(opt->t_max > 0.0) || !isfinite(opt->t_max))
    return dln_error(DLN_EINVAL, "solver.t_max = %g: must be positive and finite", opt->t_max);
  if (!(opt->loss_target >= 0.0) || !(opt->grad_tol >= 0.0))
    return dln_error(DLN_EINVAL, "solver.loss_target and solver.grad_tol must be >= 0");
  if (opt->method == DLN_METHOD_GD && (!(opt->learning_rate > 0.0) || !isfinite(opt->learning_rate)))
    return dln_error(DLN_EINVAL, "solver.learning_rate = %g: must be positive",
                     opt->learning_rate);
  if (opt->method == DLN_METHOD_GD && opt->learning_rate > opt->t_max)
    return dln_error(DLN_EINVAL, "solver.learning_rate = %g exceeds solver.t_max = %g: gradient "
                     "descent would take no step", opt->learning_rate, opt->t_max);
  if (opt->krylov_dim < 1)
    return dln_error(DLN_EINVAL, "solver.krylov_dim = %d: must be >= 1", opt->krylov_dim);
  return DLN_SUCCESS;
}

/* CVODE's BDF state (Nordsieck array of up to 6 vectors, error weights, corrector and a few
 * temporaries: about 14), GMRES (Krylov dimension + 4), and this driver's own 5. */
#define FLOW_VECTORS_FIXED 23

double dln_flow_memory_estimate(const dln_problem *p, const dln_flow_options *opt)
{
  double P = (double)dln_problem_nparams(p);
  double vectors = FLOW_VECTORS_FIXED + (opt->method == DLN_METHOD_BDF ? opt->krylov_dim : 0);
  double bytes = vectors * P * sizeof(double);
  int dense = opt->method == DLN_METHOD_BDF &&
              (opt->precondition == DLN_PRECOND_DENSE ||
               (opt->precondition == DLN_PRECOND_AUTO && P <= (double)opt->dense_max));
  if (dense) bytes += 2.0 * P * P * sizeof(double); /* H and the LU factors */
  return bytes;
}

const char *dln_stop_name(dln_stop why)
{
  switch (why) {
  case DLN_STOP_NONE: return "none";
  case DLN_STOP_T_MAX: return "t_max";
  case DLN_STOP_LOSS_TARGET: return "loss_target";
  case DLN_STOP_GRAD_TOL: return "grad_tol";
  case DLN_STOP_MAX_STEPS: return "max_steps";
  case DLN_STOP_INTERRUPT: return "interrupted";
  case DLN_STOP_EVENT: return "event";
  case DLN_STOP_CONVERGED: return "converged";
  }
  return "unknown";
}

const char *dln_method_name(dln_method m)
{
  switch (m) {
  case DLN_METHOD_BDF: return "bdf";
  case DLN_METHOD_ADAMS: return "adams";
  case DLN_METHOD_GD: return "gd";
  }
  return "unknown";
}

/* ---- callbacks ---------------------------------------------------------------------- */

/* ydot = -∇ℒ(y). A non-finite gradient is recoverable: CVODE retries with a smaller step. */
static int rhs(realtype t, N_Vector y, N_Vector ydot, void *user_data)
{
  dln_flow *f = user_data;
  (void)t;
  double loss;
  double *g = NV_DATA_S(ydot);
  if (dln_problem_gradient(f->problem, NV_DATA_S(y), &loss, g) != DLN_SUCCESS) return -1;
  return dln_negate_all_finite(g, f->n) && isfinite(loss) ? 0 : 1;
}

/* Jv = -H(y) v: the Jacobian of the right-hand side, matrix-free. */
static int jtimes(N_Vector v, N_Vector Jv, realtype t, N_Vector y, N_Vector fy, void *user_data,
                  N_Vector tmp)
{
  dln_flow *f = user_data;
  (void)t;
  (void)fy;
  (void)tmp;
  double *out = NV_DATA_S(Jv);
  if (dln_problem_hvp(f->problem, NV_DATA_S(y), NV_DATA_S(v), out) != DLN_SUCCESS) return -1;
  return dln_negate_all_finite(out, f->n) ? 0 : 1;
}

/* Factors the block preconditioner at y; γ enters only at solve time. */
static int psetup(realtype t, N_Vector y, N_Vector fy, booleantype jok, booleantype *jcur,
                  realtype gamma, void *user_data)
{
  dln_flow *f = user_data;
  (void)t;
  (void)fy;
  /* With jok CVODE judges the last Hessian still good: only γ changed. */
  *jcur = jok ? SUNFALSE : SUNTRUE;
  return dln_precond_setup(f->precond, NV_DATA_S(y), gamma, jok) == DLN_SUCCESS ? 0 : 1;
}

/* z = (I + γ H_blocks)^{-1} r: P ≈ I - γJ with J = -H. */
static int psolve(realtype t, N_Vector y, N_Vector fy, N_Vector r, N_Vector z, realtype gamma,
                  realtype delta, int lr, void *user_data)
{
  dln_flow *f = user_data;
  (void)t;
  (void)y;
  (void)fy;
  (void)delta;
  (void)lr;
  return dln_precond_solve(f->precond, gamma, NV_DATA_S(r), NV_DATA_S(z)) == DLN_SUCCESS ? 0 : 1;
}

/* Keeps CVODE's message for our own error report instead of printing it. */
static void cvode_message(int error_code, const char *module, const char *function, char *msg,
                          void *user_data)
{
  dln_flow *f = user_data;
  (void)error_code;
  (void)module;
  snprintf(f->solver_message, sizeof f->solver_message, "%s: %s", function, msg);
}

/* The event functions for CVODE's rootfinder. A NaN would make its root search loop forever,
 * so a non-finite value fails the step instead. */
static int root_functions(realtype t, N_Vector y, realtype *g, void *user_data)
{
  dln_flow *f = user_data;
  if (f->events.evaluate(t, NV_DATA_S(y), g, f->events.data) != DLN_SUCCESS) {
    snprintf(f->solver_message, sizeof f->solver_message, "event functions: %s",
             dln_error_message());
    return -1;
  }
  for (int i = 0; i < f->events.count; i++)
    if (!isfinite(g[i])) {
      snprintf(f->solver_message, sizeof f->solver_message,
               "event function %d is %g at t = %.6g", i, g[i], t);
      return -1;
    }
  return 0;
}

/* ---- tolerances --------------------------------------------------------------------- */

/* Returns the root-mean-square entry of W_l in θ. */
static double layer_rms(const dln_network *net, const double *theta, size_t l)
{
  size_t count = dln_network_width(net, l) * dln_network_width(net, l - 1);
  const double *W = theta + dln_network_layer_offset(net, l);
  double scale = 0.0, sum = 1.0; /* scaled sum of squares, safe from under/overflow */
  for (size_t i = 0; i < count; i++) {
    double a = fabs(W[i]);
    if (a == 0.0) continue;
    if (a > scale) {
      sum = 1.0 + sum * (scale / a) * (scale / a);
      scale = a;
    } else {
      sum += (a / scale) * (a / scale);
    }
  }
  return scale * sqrt(sum / (double)count);
}

/* Sets layer_atol and the per-component atol vector from θ(0). */
static int set_tolerances(dln_flow *f, const double *theta0)
{
  const dln_network *net = dln_problem_network(f->problem);
  double largest = 0.0;
  for (size_t l = 1; l <= f->depth; l++) {
    double rms = layer_rms(net, theta0, l);
    f->layer_atol[l - 1] = rms;
    if (rms > largest) largest = rms;
  }
  if (largest == 0.0)
    return dln_error(DLN_EINVAL, "init: θ(0) = 0 is a critical point of every loss here; the "
                     "flow cannot leave it");
  for (size_t l = 1; l <= f->depth; l++) {
    double rms = f->layer_atol[l - 1];
    if (f->opt.atol > 0.0) {
      if (rms > 0.0 && f->opt.atol > DLN_ATOL_MAX_RATIO * rms)
        return dln_error(DLN_EINVAL,
                         "solver.atol = %g is too large against layer %zu, whose initial RMS "
                         "entry is %g (ratio %.3g > %g): CVODE would accept wrong trajectories; "
                         "set solver.atol = 0 for per-layer automatic tolerances",
                         f->opt.atol, l, rms, f->opt.atol / rms, DLN_ATOL_MAX_RATIO);
      f->layer_atol[l - 1] = f->opt.atol;
    } else {
      /* A zero layer takes the largest layer's scale: it has to grow to that size anyway. */
      f->layer_atol[l - 1] = f->opt.rtol * (rms > 0.0 ? rms : largest);
    }
  }
  double *a = NV_DATA_S(f->atol);
  for (size_t l = 1; l <= f->depth; l++) {
    size_t begin = dln_network_layer_offset(net, l), end = dln_network_layer_offset(net, l + 1);
    if (l == f->depth) end = f->n;
    for (size_t i = begin; i < end; i++) a[i] = f->layer_atol[l - 1];
  }
  return DLN_SUCCESS;
}

/* Error weights for automatic tolerances: ewt_i = 1 / (rtol |y_i| + atol_l), atol_l set from
 * layer l's scale at θ(0). It does not follow the layer as it grows: after an escape the
 * modes still to be learned keep the size they had, and a tolerance loosened with the learned
 * ones (0.01 rtol rms(W_l(t)) was tried) leaves them uncontrolled: from 1e-10, a depth-3 net's
 * two later modes never escaped. */
static int error_weights(N_Vector y, N_Vector ewt, void *user_data)
{
  dln_flow *f = user_data;
  const dln_network *net = dln_problem_network(f->problem);
  const double *yd = NV_DATA_S(y);
  double *w = NV_DATA_S(ewt);
  for (size_t l = 1; l <= f->depth; l++) {
    size_t begin = dln_network_layer_offset(net, l);
    size_t count = dln_network_width(net, l) * dln_network_width(net, l - 1);
    dln_inverse_tolerances(yd + begin, count, f->opt.rtol, f->layer_atol[l - 1], w + begin);
  }
  return 0;
}

/* ---- set-up ------------------------------------------------------------------------- */

/* Returns DLN_ESOLVER with the name of a failed SUNDIALS call. */
static int check_flag(dln_flow *f, int flag, const char *call)
{
  if (flag >= 0) return DLN_SUCCESS;
  return dln_error(DLN_ESOLVER, "%s failed (%s)%s%s", call, CVodeGetReturnFlagName(flag),
                   f->solver_message[0] ? ": " : "", f->solver_message);
}

static int create_cvode(dln_flow *f)
{
  int lmm = f->opt.method == DLN_METHOD_ADAMS ? CV_ADAMS : CV_BDF;
  f->cvode = CVodeCreate(lmm, f->ctx);
  if (!f->cvode) return dln_error(DLN_ENOMEM, "CVodeCreate failed");
  int status = check_flag(f, CVodeSetErrHandlerFn(f->cvode, cvode_message, f),
                          "CVodeSetErrHandlerFn");
  if (status == DLN_SUCCESS)
    status = check_flag(f, CVodeInit(f->cvode, rhs, 0.0, f->y), "CVodeInit");
  if (status == DLN_SUCCESS)
    status = check_flag(f, CVodeSetUserData(f->cvode, f), "CVodeSetUserData");
  if (status != DLN_SUCCESS) return status;
  if (f->opt.method == DLN_METHOD_BDF) {
    dln_precond_kind kind = f->opt.precondition;
    if (kind == DLN_PRECOND_AUTO) kind = f->n <= f->opt.dense_max ? DLN_PRECOND_DENSE : DLN_PRECOND_NONE;
    if (kind != DLN_PRECOND_NONE) {
      status = dln_precond_alloc(f->problem, kind, &f->precond);
      if (status != DLN_SUCCESS) return status;
    }
    int pretype = f->precond ? SUN_PREC_RIGHT : SUN_PREC_NONE;
    if (f->opt.gmres == DLN_GMRES_SPGMR) {
      f->ls = SUNLinSol_SPGMR(f->y, pretype, f->opt.krylov_dim, f->ctx);
      if (!f->ls) return dln_error(DLN_ENOMEM, "SUNLinSol_SPGMR failed");
      /* One batch of projections per step instead of a dot product and an update per vector */
      status = check_flag(f, SUNLinSol_SPGMRSetGSType(f->ls, SUN_CLASSICAL_GS),
                          "SUNLinSol_SPGMRSetGSType");
      if (status != DLN_SUCCESS) return status;
    } else {
      f->ls = dln_gmres_new(f->y, pretype, f->opt.krylov_dim, f->ctx);
      if (!f->ls) return dln_error(DLN_ENOMEM, "dln_gmres_new failed");
    }
    status = check_flag(f, CVodeSetLinearSolver(f->cvode, f->ls, NULL), "CVodeSetLinearSolver");
    if (status == DLN_SUCCESS)
      status = check_flag(f, CVodeSetJacTimes(f->cvode, NULL, jtimes), "CVodeSetJacTimes");
    if (status == DLN_SUCCESS && f->precond)
      status = check_flag(f, CVodeSetPreconditioner(f->cvode, psetup, psolve),
                          "CVodeSetPreconditioner");
    /* A plateau's steps grow to a sizeable fraction of t (5e10 at t = 3e11 from α = 1e-6);
     * the escape after it needs steps a million times shorter, more than CVODE's default ten
     * corrector failures (each a quarter of the step) reach within one step. */
    if (status == DLN_SUCCESS)
      status = check_flag(f, CVodeSetMaxConvFails(f->cvode, MAX_CONV_FAILS),
                          "CVodeSetMaxConvFails");
  } else {
    f->nls = SUNNonlinSol_FixedPoint(f->y, 0, f->ctx);
    if (!f->nls) return dln_error(DLN_ENOMEM, "SUNNonlinSol_FixedPoint failed");
    status = check_flag(f, CVodeSetNonlinearSolver(f->cvode, f->nls), "CVodeSetNonlinearSolver");
  }
  if (status == DLN_SUCCESS)
    status = check_flag(f, CVodeSetStopTime(f->cvode, f->opt.t_max), "CVodeSetStopTime");
  return status;
}

int dln_flow_alloc(dln_problem *p, const dln_flow_options *opt, dln_flow **out)
{
  *out = NULL;
  int status = dln_flow_options_check(opt);
  if (status != DLN_SUCCESS) return status;
  dln_flow *f = calloc(1, sizeof *f);
  if (!f) return dln_error(DLN_ENOMEM, "dln_flow_alloc: out of memory");
  f->problem = p;
  f->opt = *opt;
  f->n = dln_problem_nparams(p);
  f->depth = dln_network_depth(dln_problem_network(p));
  if (SUNContext_Create(NULL, &f->ctx) != 0) {
    free(f);
    return dln_error(DLN_ENOMEM, "SUNContext_Create failed");
  }
  f->y = dln_nvector_new((sunindextype)f->n, f->ctx);
  f->out = dln_nvector_new((sunindextype)f->n, f->ctx);
  f->probe = dln_nvector_new((sunindextype)f->n, f->ctx);
  f->scratch = dln_nvector_new((sunindextype)f->n, f->ctx);
  f->atol = dln_nvector_new((sunindextype)f->n, f->ctx);
  f->grad = malloc(f->n * sizeof *f->grad);
  f->layer_atol = malloc(f->depth * sizeof *f->layer_atol);
  if (!f->y || !f->out || !f->probe || !f->scratch || !f->atol || !f->grad || !f->layer_atol) {
    dln_flow_free(f);
    return dln_error(DLN_ENOMEM, "dln_flow_alloc: out of memory for %zu parameters", f->n);
  }
  *out = f;
  return DLN_SUCCESS;
}

void dln_flow_free(dln_flow *f)
{
  if (!f) return;
  if (f->cvode) CVodeFree(&f->cvode);
  if (f->ls) SUNLinSolFree(f->ls);
  if (f->nls) SUNNonlinSolFree(f->nls);
  dln_precond_free(f->precond);
  if (f->y) N_VDestroy(f->y);
  if (f->out) N_VDestroy(f->out);
  if (f->probe) N_VDestroy(f->probe);
  if (f->scratch) N_VDestroy(f->scratch);
  if (f->atol) N_VDestroy(f->atol);
  free(f->grad);
  free(f->layer_atol);
  if (f->ctx) SUNContext_Free(&f->ctx);
  free(f);
}

int dln_flow_init(dln_flow *f, const double *theta0)
{
  if (!dln_all_finite(theta0, f->n))
    return dln_error(DLN_ENONFINITE, "dln_flow_init: θ(0) holds NaN or inf");
  int status = set_tolerances(f, theta0);
  if (status != DLN_SUCCESS) return status;
  memcpy(NV_DATA_S(f->y), theta0, f->n * sizeof *theta0);
  memcpy(NV_DATA_S(f->out), theta0, f->n * sizeof *theta0);
  f->t_step = f->t_prev = f->t_out = 0.0;
  f->finished = 0;
  f->finish_reason = DLN_STOP_NONE;
  memset(&f->stats, 0, sizeof f->stats);
  memset(&f->before_restart, 0, sizeof f->before_restart);
  f->hvp_base = dln_problem_get_counters(f->problem).hvps;
  f->solver_message[0] = '\0';
  status = dln_problem_start_loss(f->problem, theta0, &f->loss_step);
  if (status != DLN_SUCCESS) return status;
  f->loss_initial = f->loss_step;
  f->event_stop = 0;
  f->root_held = 0;
  if (f->opt.method == DLN_METHOD_GD)
    return f->events.count > 0 ? f->events.evaluate(0.0, theta0, f->event_prev, f->events.data)
                               : DLN_SUCCESS;

  if (!f->initialised) {
    status = create_cvode(f);
    if (status != DLN_SUCCESS) return status;
    f->initialised = 1;
  } else {
    status = check_flag(f, CVodeReInit(f->cvode, 0.0, f->y), "CVodeReInit");
    if (status != DLN_SUCCESS) return status;
  }
  status = check_flag(f, CVodeRootInit(f->cvode, f->events.count,
                                       f->events.count > 0 ? root_functions : NULL),
                      "CVodeRootInit");
  if (status == DLN_SUCCESS && f->events.count > 0)
    status = check_flag(f, CVodeSetNoInactiveRootWarn(f->cvode), "CVodeSetNoInactiveRootWarn");
  if (status != DLN_SUCCESS) return status;
  if (f->opt.atol > 0.0)
    return check_flag(f, CVodeSVtolerances(f->cvode, f->opt.rtol, f->atol), "CVodeSVtolerances");
  return check_flag(f, CVodeWFtolerances(f->cvode, error_weights), "CVodeWFtolerances");
}

int dln_flow_set_events(dln_flow *f, const dln_flow_events *events)
{
  if (!events) {
    memset(&f->events, 0, sizeof f->events);
    return DLN_SUCCESS;
  }
  if (events->count < 1 || events->count > DLN_FLOW_MAX_EVENTS || !events->evaluate ||
      !events->handle)
    return dln_error(DLN_EINVAL, "dln_flow_set_events: need 1 to %d functions and a handler",
                     DLN_FLOW_MAX_EVENTS);
  f->events = *events;
  return DLN_SUCCESS;
}

/* ---- stepping ----------------------------------------------------------------------- */

/* Returns the loss change that an error of the size the tolerances allow can cause at the
 * current step: ||θ'|| · ||(rtol |θ_i| + atol_i)_i||, first order in the displacement. */
static double tolerated_loss_change(dln_flow *f)
{
  if (f->opt.method == DLN_METHOD_GD) return 0.0;
  if (CVodeGetErrWeights(f->cvode, f->probe) != CV_SUCCESS) return 0.0;
  if (CVodeGetDky(f->cvode, f->t_step, 1, f->scratch) != CV_SUCCESS) return 0.0;
  const double *w = NV_DATA_S(f->probe), *velocity = NV_DATA_S(f->scratch);
  double allowed = 0.0, speed = 0.0;
  for (size_t i = 0; i < f->n; i++) {
    allowed += 1.0 / (w[i] * w[i]);
    speed += velocity[i] * velocity[i];
  }
  return sqrt(allowed) * sqrt(speed);
}

/* Records a loss rise between accepted steps (never seen on the exact flow). Rises within
 * what the tolerances allow are counted apart from larger ones, which signal a real fault. */
static void watch_loss(dln_flow *f, double loss_new)
{
  double rise = loss_new - f->loss_step;
  /* The loss's own round-off: relative to it, plus the residual's cancellation against the
   * targets, whose scale the initial loss gives (it dominates near a zero-loss minimum). */
  double loss = fabs(f->loss_step);
  double roundoff = LOSS_RISE_ULPS * DBL_EPSILON *
                    (loss + sqrt(loss * f->loss_initial) + DBL_EPSILON * f->loss_initial);
  if (rise > roundoff) {
    double relative = f->loss_step != 0.0 ? rise / fabs(f->loss_step) : INFINITY;
    f->stats.loss_increases++;
    if (relative > f->stats.max_loss_increase) f->stats.max_loss_increase = relative;
    if (f->opt.method == DLN_METHOD_GD || rise > tolerated_loss_change(f)) {
      f->stats.loss_increases_beyond_tol++;
      if (relative > f->stats.max_loss_increase_beyond_tol)
        f->stats.max_loss_increase_beyond_tol = relative;
    }
  }
  f->loss_step = loss_new;
}

static dln_flow_stats cvode_counters(const dln_flow *f);

/* ||θ|| / ||∇ℒ|| at the integrator's state: the time over which the flow's initial speed
 * moves θ by its own size; `fallback` where that is not a positive number. */
static double flow_time_scale(dln_flow *f, double fallback)
{
  double loss;
  if (dln_problem_gradient(f->problem, NV_DATA_S(f->y), &loss, f->grad) != DLN_SUCCESS)
    return fallback;
  double scale = dln_nrm2(f->n, NV_DATA_S(f->y)) / dln_nrm2(f->n, f->grad);
  return isfinite(scale) && scale > 0.0 ? scale : fallback;
}

/* One call of CVode in one-step mode; counts the steps it took (none when it only hands
 * over the rest of a step it interrupted at a root). Returns CVODE's non-negative flag, and at
 * a root (CV_ROOT_RETURN) which functions crossed. */
static int cvode_call(dln_flow *f, double t_out, realtype *t, int *flag, int *crossed)
{
  long before = 0, after = 0;
  CVodeGetNumSteps(f->cvode, &before);
  /* CVODE sizes its first step from tout, at least 100 ulps of it: an output time far beyond
   * the flow's own time scale (a default first output at t_max·1e-6 = 1e54) makes a first
   * step that fails, or lands on a critical point near the start as a "success". The first
   * step aims no further than that scale, ||θ|| / ||∇ℒ||, and nearer if it fails (the state
   * is still the start: no step was taken). */
  double reach = t_out - f->t_step;
  if (before == 0) reach = fmin(reach, flow_time_scale(f, reach));
  *flag = CVode(f->cvode, f->t_step + reach, f->y, t, CV_ONE_STEP);
  CVodeGetNumSteps(f->cvode, &after);
  for (int retry = 0; *flag < 0 && *flag != CV_TOO_CLOSE && before == 0 && after == 0 &&
                      retry < FIRST_STEP_RETRIES; retry++) {
    reach *= FIRST_STEP_SHRINK;
    f->before_restart = cvode_counters(f);
    f->solver_message[0] = '\0';
    if (CVodeReInit(f->cvode, f->t_step, f->y) != CV_SUCCESS) break;
    *flag = CVode(f->cvode, f->t_step + reach, f->y, t, CV_ONE_STEP);
    CVodeGetNumSteps(f->cvode, &after);
  }
  f->stats.steps += after - before;
  if (*flag < 0)
    return dln_error(DLN_ESOLVER, "CVODE failed at t = %.6g (%s)%s%s", f->t_step,
                     CVodeGetReturnFlagName(*flag), f->solver_message[0] ? ": " : "",
                     f->solver_message);
  if (*flag == CV_ROOT_RETURN)
    return check_flag(f, CVodeGetRootInfo(f->cvode, crossed), "CVodeGetRootInfo");
  return DLN_SUCCESS;
}

/* Measures the loss at y, failing on a non-finite value. */
static int loss_at_state(dln_flow *f, double t, double *loss)
{
  int status = dln_problem_loss(f->problem, NV_DATA_S(f->y), loss);
  if (status == DLN_SUCCESS && !isfinite(*loss))
    return dln_error(DLN_ENONFINITE, "the loss became %g at t = %.6g", *loss, t);
  return status;
}

/* Hands a crossing at (t, y) to the handler; returns its action or a negative status. */
static int deliver_event(dln_flow *f, double t, const int *crossed)
{
  f->stats.events++;
  int action = f->events.handle(t, NV_DATA_S(f->y), crossed, f->events.data);
  if (action < 0 || action > DLN_EVENT_RESTART)
    return action < 0 ? action : dln_error(DLN_EINVAL, "event handler returned %d", action);
  return action;
}

/* CVODE's own counters since dln_flow_init, across restarts. */
static dln_flow_stats cvode_counters(const dln_flow *f)
{
  dln_flow_stats c = f->before_restart;
  long v;
  if (CVodeGetNumRhsEvals(f->cvode, &v) == CV_SUCCESS) c.rhs_evals += v;
  if (CVodeGetNumNonlinSolvIters(f->cvode, &v) == CV_SUCCESS) c.newton_iters += v;
  if (CVodeGetNumNonlinSolvConvFails(f->cvode, &v) == CV_SUCCESS) c.newton_conv_fails += v;
  if (CVodeGetNumErrTestFails(f->cvode, &v) == CV_SUCCESS) c.error_test_fails += v;
  if (f->ls) {
    if (CVodeGetNumLinIters(f->cvode, &v) == CV_SUCCESS) c.linear_iters += v;
    if (CVodeGetNumLinConvFails(f->cvode, &v) == CV_SUCCESS) c.linear_conv_fails += v;
    if (CVodeGetNumLinRhsEvals(f->cvode, &v) == CV_SUCCESS) c.rhs_evals += v;
  }
  return c;
}

/* Ends the current step early at an event time t where the handler stopped the run or
 * replaced the state (then the loss may rise: a deliberate kick is not integration error). */
static int end_step_at_event(dln_flow *f, double t, int action)
{
  f->t_prev = f->t_step;
  f->t_step = t;
  double loss;
  int status = loss_at_state(f, t, &loss);
  if (status != DLN_SUCCESS) return status;
  if (action == DLN_EVENT_STOP) {
    f->event_stop = 1;
    watch_loss(f, loss);
    return DLN_SUCCESS;
  }
  f->stats.restarts++;
  f->loss_step = loss;
  if (f->opt.method == DLN_METHOD_GD) return DLN_SUCCESS;
  f->t_prev = t; /* the old step's interpolant no longer describes this state */
  f->before_restart = cvode_counters(f);
  return check_flag(f, CVodeReInit(f->cvode, t, f->y), "CVodeReInit");
}

/* Holds back a root located past t_out (a step may reach beyond it): the output times up to
 * it come first, from the step's interpolant, and the next advance hands the root over. y
 * holds the state at the root, which becomes t_step. */
static int hold_root(dln_flow *f, double t, const int *crossed)
{
  f->root_held = 1;
  memcpy(f->held_crossed, crossed, (size_t)f->events.count * sizeof *crossed);
  f->t_prev = f->t_step;
  f->t_step = t;
  return loss_at_state(f, t, &f->loss_step);
}

/* Takes one CVODE step (or finishes the one a held root interrupted), handing every root
 * located inside it to the event handler, and updates t_prev, t_step and the loss watch. */
static int cvode_step(dln_flow *f, double t_out)
{
  realtype t = f->t_step;
  int flag = CV_ROOT_RETURN, crossed[DLN_FLOW_MAX_EVENTS];
  int status = DLN_SUCCESS;
  if (f->root_held) {
    f->root_held = 0;
    memcpy(crossed, f->held_crossed, sizeof crossed);
  } else {
    status = cvode_call(f, t_out, &t, &flag, crossed);
  }
  while (status == DLN_SUCCESS && flag == CV_ROOT_RETURN) {
    if (t > t_out) return hold_root(f, t, crossed);
    int action = deliver_event(f, t, crossed);
    if (action < 0) return -action;
    if (action != DLN_EVENT_CONTINUE) return end_step_at_event(f, t, action);
    /* The rest of the step: further roots, then the step's end. */
    status = cvode_call(f, t_out, &t, &flag, crossed);
  }
  if (status != DLN_SUCCESS) return status;
  f->t_prev = f->t_step;
  f->t_step = t;
  double loss;
  status = loss_at_state(f, t, &loss);
  if (status == DLN_SUCCESS) watch_loss(f, loss);
  return status;
}

/* Gradient descent's events: a function whose sign differs from the last iterate's has
 * crossed during the step; the crossing is reported at the new iterate. */
static int gd_events(dln_flow *f)
{
  double g[DLN_FLOW_MAX_EVENTS];
  int crossed[DLN_FLOW_MAX_EVENTS], any = 0;
  int status = f->events.evaluate(f->t_step, NV_DATA_S(f->y), g, f->events.data);
  if (status != DLN_SUCCESS) return status;
  for (int i = 0; i < f->events.count; i++) {
    if (!isfinite(g[i]))
      return dln_error(DLN_ENONFINITE, "event function %d is %g at t = %.6g", i, g[i], f->t_step);
    crossed[i] = (f->event_prev[i] < 0.0 && g[i] >= 0.0) ? 1
                 : (f->event_prev[i] > 0.0 && g[i] <= 0.0) ? -1 : 0;
    any |= crossed[i];
  }
  if (any) {
    int action = deliver_event(f, f->t_step, crossed);
    if (action < 0) return -action;
    if (action == DLN_EVENT_STOP) f->event_stop = 1;
    if (action == DLN_EVENT_RESTART) { /* a deliberate jump: the loss watch starts again */
      f->stats.restarts++;
      status = dln_problem_loss(f->problem, NV_DATA_S(f->y), &f->loss_step);
      if (status != DLN_SUCCESS) return status;
    }
    /* The handler may have switched functions (hysteresis) or moved θ: re-read them. */
    return f->events.evaluate(f->t_step, NV_DATA_S(f->y), f->event_prev, f->events.data);
  }
  memcpy(f->event_prev, g, (size_t)f->events.count * sizeof *g);
  return DLN_SUCCESS;
}

/* The learning rate's name in messages: the caller's option, else the configuration key. */
static const char *learning_rate_name(const dln_flow *f)
{
  return f->opt.learning_rate_name ? f->opt.learning_rate_name : "solver.learning_rate";
}

/* The flow never raises the loss above ℒ(θ(0)); gradient descent that does has left it
 * (unstable: η above 2 over the top Hessian eigenvalue somewhere on the way). */
static int check_gd_descends(const dln_flow *f, double loss)
{
  if (loss <= f->loss_initial) return DLN_SUCCESS;
  return dln_error(DLN_ESOLVER,
                   "gradient descent diverged: after %ld steps the loss is %g, above its start "
                   "%g; lower %s = %g",
                   f->stats.steps, loss, f->loss_initial, learning_rate_name(f),
                   f->opt.learning_rate);
}

/* A non-finite loss or gradient: the steps have blown up. */
static int gd_blown_up(const dln_flow *f, double loss)
{
  return dln_error(DLN_ENONFINITE,
                   "gradient descent diverged at step %ld (loss %g): lower %s = %g",
                   f->stats.steps, loss, learning_rate_name(f), f->opt.learning_rate);
}

/* Checks the iterate gradient descent ended an advance on, which no later step will see. */
static int gd_check_current(dln_flow *f)
{
  double loss;
  int status = dln_problem_loss(f->problem, NV_DATA_S(f->y), &loss);
  if (status != DLN_SUCCESS) return status;
  if (!isfinite(loss)) return gd_blown_up(f, loss);
  return check_gd_descends(f, loss);
}

/* Takes one gradient-descent step θ <- θ - η ∇ℒ(θ). The gradient evaluation also gives ℒ(θ),
 * the loss after the previous step, so each step costs one gradient; the loss watch therefore
 * runs one step behind, and the run's final loss is measured by its caller. */
static int gd_step(dln_flow *f)
{
  double loss;
  double *theta = NV_DATA_S(f->y);
  int status = dln_problem_gradient(f->problem, theta, &loss, f->grad);
  if (status != DLN_SUCCESS) return status;
  if (!isfinite(loss) || !dln_all_finite(f->grad, f->n)) return gd_blown_up(f, loss);
  if (f->stats.steps > 0) {
    watch_loss(f, loss);
    status = check_gd_descends(f, loss);
    if (status != DLN_SUCCESS) return status;
  }
  dln_axpy(f->n, -f->opt.learning_rate, f->grad, theta);
  f->stats.steps++;
  f->t_prev = f->t_step;
  /* Time is k·η, computed from k so that it does not accumulate rounding. */
  f->t_step = (double)f->stats.steps * f->opt.learning_rate;
  return f->events.count > 0 ? gd_events(f) : DLN_SUCCESS;
}

/* Writes the state at t (within the last step) into v. */
static int state_at(dln_flow *f, double t, N_Vector v)
{
  if (f->opt.method == DLN_METHOD_GD || t >= f->t_step) {
    N_VScale(1.0, f->y, v);
    return DLN_SUCCESS;
  }
  return check_flag(f, CVodeGetDky(f->cvode, t, 0, v), "CVodeGetDky");
}

/* Returns the stop quantity whose crossing of its threshold ends the run (ℒ or ||∇ℒ||). */
static int stop_measure(dln_flow *f, dln_stop rule, const double *theta, double *value)
{
  if (rule == DLN_STOP_LOSS_TARGET) return dln_problem_loss(f->problem, theta, value);
  double loss;
  int status = dln_problem_gradient(f->problem, theta, &loss, f->grad);
  double s = 0.0;
  for (size_t i = 0; i < f->n; i++) s += f->grad[i] * f->grad[i];
  *value = sqrt(s);
  return status;
}

/* Sets out to the first point of the last step where the rule's measure reaches threshold,
 * by bisection on the dense output (the measure is above it at t_prev, at or below at t_step). */
static int locate_stop(dln_flow *f, dln_stop rule, double threshold)
{
  double lo = f->t_prev, hi = f->t_step;
  for (int i = 0; i < LOCATE_ITERATIONS && hi - lo > 4.0 * DBL_EPSILON * fabs(hi); i++) {
    double mid = 0.5 * (lo + hi), value;
    int status = state_at(f, mid, f->probe);
    if (status == DLN_SUCCESS) status = stop_measure(f, rule, NV_DATA_S(f->probe), &value);
    if (status != DLN_SUCCESS) return status;
    if (value <= threshold)
      hi = mid;
    else
      lo = mid;
  }
  f->t_out = hi;
  return state_at(f, hi, f->out);
}

/* Ends the run at the current step for `why`, placing the output state. */
static int finish(dln_flow *f, dln_stop why, dln_stop *out_why)
{
  f->finished = 1;
  f->finish_reason = why;
  *out_why = why;
  if (why == DLN_STOP_LOSS_TARGET || why == DLN_STOP_GRAD_TOL) {
    if (f->opt.method == DLN_METHOD_GD || f->stats.steps == 0) {
      f->t_out = f->t_step;
      return state_at(f, f->t_step, f->out);
    }
    return locate_stop(f, why, why == DLN_STOP_LOSS_TARGET ? f->opt.loss_target
                                                            : f->opt.grad_tol);
  }
  f->t_out = f->t_step;
  return state_at(f, f->t_step, f->out);
}

/* Checks the stop rules after a step; sets *why to the first that holds. */
static int check_stops(dln_flow *f, dln_stop *why)
{
  *why = DLN_STOP_NONE;
  if (f->event_stop) {
    *why = DLN_STOP_EVENT;
    return DLN_SUCCESS;
  }
  if (f->opt.loss_target > 0.0 && f->loss_step <= f->opt.loss_target) {
    *why = DLN_STOP_LOSS_TARGET;
    return DLN_SUCCESS;
  }
  if (f->opt.grad_tol > 0.0) {
    double norm;
    int status = stop_measure(f, DLN_STOP_GRAD_TOL, NV_DATA_S(f->y), &norm);
    if (status != DLN_SUCCESS) return status;
    if (norm <= f->opt.grad_tol) {
      *why = DLN_STOP_GRAD_TOL;
      return DLN_SUCCESS;
    }
  }
  if (f->opt.max_steps > 0 && f->stats.steps >= f->opt.max_steps) *why = DLN_STOP_MAX_STEPS;
  else if (f->t_step >= f->opt.t_max) *why = DLN_STOP_T_MAX;
  else if (f->opt.interrupt && *f->opt.interrupt) *why = DLN_STOP_INTERRUPT;
  return DLN_SUCCESS;
}

/* Returns whether the integrator must step again before it can produce output at t_out. */
static int needs_step(const dln_flow *f, double t_out)
{
  if (f->opt.method == DLN_METHOD_GD)
    return f->t_step + f->opt.learning_rate <= t_out * (1.0 + 4.0 * DBL_EPSILON);
  return f->t_step < t_out;
}

int dln_flow_advance(dln_flow *f, double t_out, dln_stop *why)
{
  *why = DLN_STOP_NONE;
  if (f->finished) {
    *why = f->finish_reason;
    return DLN_SUCCESS;
  }
  if (t_out > f->opt.t_max) t_out = f->opt.t_max;
  if (f->stats.steps == 0) { /* a run can be asked to stop before its first step */
    dln_stop early;
    int status = check_stops(f, &early);
    if (status != DLN_SUCCESS) return status;
    if (early == DLN_STOP_LOSS_TARGET || early == DLN_STOP_GRAD_TOL ||
        early == DLN_STOP_INTERRUPT)
      return finish(f, early, why);
  }
  while (needs_step(f, t_out)) {
    int status = f->opt.method == DLN_METHOD_GD ? gd_step(f) : cvode_step(f, t_out);
    if (status != DLN_SUCCESS) {
      f->finished = 1; /* keep the last good output state; the caller reports the failure */
      return status;
    }
    dln_stop stop;
    status = check_stops(f, &stop);
    if (status != DLN_SUCCESS) return status;
    if (stop == DLN_STOP_T_MAX && t_out < f->opt.t_max) stop = DLN_STOP_NONE;
    if (stop != DLN_STOP_NONE) {
      if (stop == DLN_STOP_T_MAX) break; /* output at t_max below, by dense output */
      return finish(f, stop, why);
    }
  }
  int status = f->opt.method == DLN_METHOD_GD ? gd_check_current(f) : DLN_SUCCESS;
  if (status == DLN_SUCCESS) status = state_at(f, t_out, f->out);
  if (status != DLN_SUCCESS) {
    f->finished = 1;
    return status;
  }
  f->t_out = f->opt.method == DLN_METHOD_GD ? f->t_step : t_out;
  if (f->t_out >= f->opt.t_max ||
      (f->opt.method == DLN_METHOD_GD && f->t_step + f->opt.learning_rate > f->opt.t_max)) {
    f->finished = 1;
    f->finish_reason = DLN_STOP_T_MAX;
    *why = DLN_STOP_T_MAX;
  }
  return DLN_SUCCESS;
}

double dln_flow_time(const dln_flow *f) { return f->t_out; }
const double *dln_flow_state(const dln_flow *f) { return NV_DATA_S(f->out); }

void dln_flow_layer_atol(const dln_flow *f, double *atol)
{
  memcpy(atol, f->layer_atol, f->depth * sizeof *atol);
}

dln_flow_stats dln_flow_get_stats(const dln_flow *f)
{
  dln_flow_stats s = f->stats;
  s.hvps = dln_problem_get_counters(f->problem).hvps - f->hvp_base;
  if (f->cvode && f->opt.method != DLN_METHOD_GD) {
    dln_flow_stats c = cvode_counters(f);
    s.rhs_evals = c.rhs_evals;
    s.newton_iters = c.newton_iters;
    s.newton_conv_fails = c.newton_conv_fails;
    s.error_test_fails = c.error_test_fails;
    s.linear_iters = c.linear_iters;
    s.linear_conv_fails = c.linear_conv_fails;
    realtype h;
    if (CVodeGetLastStep(f->cvode, &h) == CV_SUCCESS) s.last_step = h;
  } else {
    s.rhs_evals = s.steps;
    s.last_step = f->opt.learning_rate;
  }
  return s;
}
