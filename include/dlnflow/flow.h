/* The gradient flow θ' = -∇ℒ(θ) integrated by SUNDIALS CVODE (THEORY.md §1), or plain
 * gradient descent θ_{k+1} = θ_k - η ∇ℒ(θ_k) for comparison with fixed-step runs.
 *
 * Usage: dln_flow_alloc -> dln_flow_init(θ0) -> repeated dln_flow_advance(t_out) with
 * dln_flow_state()/dln_flow_time() read after each -> dln_flow_free. The caller owns the
 * output loop; dln_flow_init restarts from a new θ0 without rebuilding the solver.
 *
 * BDF (default) solves its Newton systems with matrix-free GMRES whose Jacobian-vector
 * product is the analytic -H·v. Absolute tolerances are per layer and set from its initial
 * scale: by default atol_l = rtol · rms(W_l(0)), so a run from θ(0) = 1e-10 θ0 is as accurate
 * as one from θ0, and modes still small after an escape stay under control.
 */
#ifndef DLNFLOW_FLOW_H
#define DLNFLOW_FLOW_H

#include <signal.h>
#include <stddef.h>

#include "dlnflow/problem.h"

typedef enum dln_method {
  DLN_METHOD_BDF,   /* CVODE BDF + Newton + matrix-free GMRES with J·v = -H·v */
  DLN_METHOD_ADAMS, /* CVODE Adams-Moulton + fixed-point iteration */
  DLN_METHOD_GD     /* gradient descent with a fixed learning rate; time t = k·η */
} dln_method;

/* How BDF preconditions its GMRES solves of (I + γH) x = r. */
typedef enum dln_precond_kind {
  DLN_PRECOND_AUTO,  /* dense up to dense_max parameters, none above */
  DLN_PRECOND_NONE,  /* plain GMRES */
  DLN_PRECOND_DENSE, /* exact LU of I + γH, H assembled from P Hessian-vector products */
  DLN_PRECOND_BLOCK  /* per-layer Gauss-Newton blocks (experimental) */
} dln_precond_kind;

/* Which GMRES solves BDF's Newton systems. */
typedef enum dln_gmres_kind {
  DLN_GMRES_FUSED, /* dlnflow's (src/gmres.h): SPGMR's iteration in fewer passes over memory */
  DLN_GMRES_SPGMR  /* SUNDIALS' SPGMR, classical Gram-Schmidt */
} dln_gmres_kind;

/* Largest allowed ratio of an explicit absolute tolerance to a layer's initial RMS entry:
 * above it CVODE returns wrong trajectories as successes (a measured trial: 65% late
 * convergence at ratio 0.1). */
#define DLN_ATOL_MAX_RATIO 1e-3

typedef struct dln_flow_options {
  dln_method method;
  double rtol;          /* relative tolerance, 0 < rtol < 1 (default 1e-6) */
  double atol;          /* absolute tolerance; <= 0 (default) for per-layer automatic ones */
  double t_max;         /* stop time (default 1e4) */
  double loss_target;   /* stop once ℒ <= loss_target (<= 0: off, the default) */
  double grad_tol;      /* stop once ||∇ℒ|| <= grad_tol (<= 0: off); saddles also have small ∇ℒ */
  double learning_rate; /* gradient descent step η (default 1e-3) */
  const char *learning_rate_name; /* how messages name it (NULL: "solver.learning_rate") */
  long max_steps;       /* stop after this many steps (<= 0: no limit, the default) */
  int krylov_dim;       /* GMRES Krylov dimension (default 10) */
  dln_precond_kind precondition; /* bdf: GMRES preconditioner (default auto) */
  size_t dense_max;     /* auto: largest P for the dense preconditioner (default 1000) */
  dln_gmres_kind gmres; /* bdf: GMRES implementation (default fused) */
  volatile sig_atomic_t *interrupt; /* polled each step; non-zero stops the run (may be NULL) */
} dln_flow_options;

/* Why dln_flow_advance returned. */
typedef enum dln_stop {
  DLN_STOP_NONE = 0,    /* reached the requested time */
  DLN_STOP_T_MAX,       /* reached t_max */
  DLN_STOP_LOSS_TARGET, /* ℒ fell to loss_target (located inside the step) */
  DLN_STOP_GRAD_TOL,    /* ||∇ℒ|| fell to grad_tol */
  DLN_STOP_MAX_STEPS,   /* took max_steps steps */
  DLN_STOP_INTERRUPT,   /* the interrupt flag was raised */
  DLN_STOP_EVENT,       /* an event handler asked to stop (see dln_flow_events) */
  DLN_STOP_CONVERGED    /* (run.h) the loss reached its floor to round-off; the state holds */
} dln_stop;

/* Returns a stable lower-case name for a stop reason ("t_max", "loss_target", ...). */
const char *dln_stop_name(dln_stop why);
/* Returns "bdf", "adams" or "gd". */
const char *dln_method_name(dln_method m);

typedef struct dln_flow_stats {
  long steps;              /* accepted steps (gd: iterations) */
  long rhs_evals;          /* right-hand-side (gradient) evaluations by the integrator */
  long hvps;               /* Hessian-vector products */
  long newton_iters;       /* nonlinear solver iterations */
  long newton_conv_fails;  /* nonlinear solver convergence failures */
  long linear_iters;       /* GMRES iterations */
  long linear_conv_fails;  /* GMRES convergence failures */
  long error_test_fails;   /* local error test failures */
  long loss_increases;     /* accepted steps after which the loss rose (never, for the exact flow) */
  long loss_increases_beyond_tol; /* of those, rises larger than the tolerances explain */
  double max_loss_increase; /* largest such rise, relative to the loss */
  double max_loss_increase_beyond_tol; /* largest of those beyond the tolerances */
  double last_step;        /* size of the last step */
  long events;             /* event crossings handed to the event handler */
  long restarts;           /* times an event handler replaced the state */
} dln_flow_stats;

/* Fills opt with the defaults documented above. */
void dln_flow_options_default(dln_flow_options *opt);

/* Checks options against their bounds; the message names the option. */
int dln_flow_options_check(const dln_flow_options *opt);

typedef struct dln_flow dln_flow;

/* Returns the bytes the integrator will allocate for p with these options (vectors of P
 * doubles, and the dense preconditioner's two P x P matrices when it applies). */
double dln_flow_memory_estimate(const dln_problem *p, const dln_flow_options *opt);

/* Creates an integrator for p (not owned; it must outlive the flow). */
int dln_flow_alloc(dln_problem *p, const dln_flow_options *opt, dln_flow **out);
void dln_flow_free(dln_flow *f);

/* ---- events ------------------------------------------------------------------------
 * Functions g_i(t, θ) watched during the integration. CVODE's rootfinder locates each sign
 * change inside the step (to its own accuracy, not on an output grid); gradient descent
 * reports it at the iterate after which the sign differs. Crossings reach `handle` in time
 * order, with θ at the crossing; the handler may change the functions it will evaluate next
 * (hysteresis), stop the run there, or replace θ and have the flow restart from it. */
#define DLN_FLOW_MAX_EVENTS 8

typedef enum dln_event_action {
  DLN_EVENT_CONTINUE = 0, /* go on integrating */
  DLN_EVENT_STOP,         /* end the run at the crossing (stop reason DLN_STOP_EVENT) */
  DLN_EVENT_RESTART       /* θ was changed in place: restart the flow from it at this time */
} dln_event_action;

typedef struct dln_flow_events {
  int count; /* number of functions, 1..DLN_FLOW_MAX_EVENTS */
  /* Writes g_0..g_{count-1} at (t, θ). Values must be finite and of moderate size (CVODE 6.4
   * misses a root when both bracketing values are below about 1e-162): normalise them.
   * Returns DLN_SUCCESS or an error code (with its message). */
  int (*evaluate)(double t, const double *theta, double *g, void *data);
  /* Called at each crossing with crossed[i] = +1 (g_i rose through 0), -1 (fell) or 0.
   * Returns a dln_event_action, or minus a status code (after dln_error) to fail the run. */
  int (*handle)(double t, double *theta, const int *crossed, void *data);
  void *data;
} dln_flow_events;

/* Watches events (copied; NULL for none) from the next dln_flow_init on. */
int dln_flow_set_events(dln_flow *f, const dln_flow_events *events);

/* Starts (or restarts) at t = 0 from theta0 (copied). Sets the absolute tolerances from
 * theta0's layer scales and refuses an explicit atol above DLN_ATOL_MAX_RATIO of one. */
int dln_flow_init(dln_flow *f, const double *theta0);

/* Advances to t_out (> the current time) or to an earlier stop, writing the reason to *why.
 * On success the state at dln_flow_time() is exact dense output (not an interpolated sample).
 * Returns DLN_ESOLVER (with CVODE's reason) or DLN_ENONFINITE on failure; the state then
 * stays at the last good point. */
int dln_flow_advance(dln_flow *f, double t_out, dln_stop *why);

/* The current output time and state (P doubles, owned by the flow). */
double dln_flow_time(const dln_flow *f);
const double *dln_flow_state(const dln_flow *f);

/* Writes each layer's absolute tolerance at t = 0 (automatic ones grow with the layer). */
void dln_flow_layer_atol(const dln_flow *f, double *atol);

dln_flow_stats dln_flow_get_stats(const dln_flow *f);

#endif
