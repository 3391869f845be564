/* Saddle events: the plateaus a run visits, when it entered, came closest to and left each,
 * and what the critical point there looks like (THEORY.md §2, §4, §5; docs/events.md).
 *
 * Two functions are watched while the flow integrates (dln_flow_set_events):
 *   the plateau indicator  J(t) = t ||∇ℒ||² / (ℒ - ℒ_inf) = -d log(ℒ - ℒ_inf) / d log t,
 *     the excess loss's drop per unit of log-time. It is scale-free: the same thresholds
 *     serve α = 1e-1 and 1e-10, MSE and MC, L = 2 and L = 6. A plateau is entered when J
 *     falls below `enter` and left when it rises above `exit` (> enter: hysteresis);
 *   the gradient-norm turning function  t ∇ℒᵀ H ∇ℒ / ||∇ℒ||² = -d log ||∇ℒ|| / d log t,
 *     whose falling roots are the minima of ||∇ℒ|| (closest approaches) and rising roots its
 *     maxima. It is a Rayleigh quotient times t: normalised, never below CVODE's underflow.
 * Small nets (events.refine_max) also get the critical point itself, found by Newton's method
 * from the closest approach: its loss is the plateau's exact level.
 * Within a plateau the deepest minimum of ||∇ℒ|| is its closest approach (noise-floor wiggles
 * only offer shallower candidates). A plateau is kept when it is significant: ||∇ℒ|| at the
 * closest approach is at most `depth` times the larger of the peaks around it (the largest
 * ||∇ℒ|| since the previous plateau, and ||∇ℒ|| where this one is left). Each kept plateau
 * is described (dln_describe) at its closest approach and classified: a saddle when
 * ||∇C(A)|| is above grad_c_tol · ||∇C(A(0))|| and rank A is below the narrowest width,
 * otherwise a minimum ("global" where ∇C(A) vanishes, "rank-limited" at the bottleneck).
 * A run that ends converged outside any plateau (a zero-loss minimum, where J grows) gets
 * a last record of kind minimum entered at the last peak of ||∇ℒ||.
 *
 * Usage: dln_events_alloc -> dln_events_attach(flow) -> dln_events_start(θ0) ->
 * dln_flow_init/advance ... -> dln_events_finish(t, θ) -> read records -> dln_events_free.
 */
#ifndef DLNFLOW_EVENTS_H
#define DLNFLOW_EVENTS_H

#include <stddef.h>

#include "dlnflow/describe.h"
#include "dlnflow/diagnostics.h"
#include "dlnflow/flow.h"
#include "dlnflow/problem.h"

typedef struct dln_events_options {
  double enter;        /* J below this enters a plateau (default 0.25) */
  double exit;         /* J above this leaves it (default 1, > enter) */
  double depth;        /* significance: closest ||∇ℒ|| <= depth × neighbouring peak (0.1) */
  double grad_c_tol;   /* global minimum: ||∇C(A)|| <= grad_c_tol ||∇C(A(0))|| (1e-3) */
  double perturb;      /* kick of this size relative to ||θ|| at each later plateau's entry
                          (0: none, the default) */
  unsigned long perturb_seed;
  int stop_converged;  /* end the integration once the excess loss is down to round-off
                          (default 1; run.h then repeats that state at later output times) */
  double rtol;         /* the integrator's relative tolerance (0: gd, or unknown): an excess
                          loss of rtol² ℒ(0) is what it can still resolve, so the convergence
                          stop waits for that when it is below the loss's round-off */
  size_t refine_max;   /* nets up to this many parameters also get the exact critical point
                          next to each closest approach, by Newton's method (default 500) */
  dln_describe_options describe; /* how each closest approach is described */
} dln_events_options;

void dln_events_options_default(dln_events_options *o);
/* Checks bounds; the message names the events.* key. */
int dln_events_options_check(const dln_events_options *o);

typedef enum dln_plateau_kind { DLN_PLATEAU_SADDLE, DLN_PLATEAU_MINIMUM } dln_plateau_kind;

typedef struct dln_plateau {
  size_t index;            /* 0, 1, ... in time order */
  dln_plateau_kind kind;
  const char *minimum_type; /* "global", "rank-limited" (minima), "" (saddles) */
  double t_entry, t_closest, t_exit; /* t_exit NaN: never left (the run ended there) */
  double significance;     /* ||∇ℒ|| at closest / neighbouring peak (<= depth) */
  double indicator;        /* J at the closest approach */
  double *A_entry;         /* A where the plateau was entered (rows x cols) */
  double *A_exit;          /* A where it was left (NULL if never) */
  double kick;             /* ||δθ|| of the perturbation at entry (0: none) */
  dln_description closest; /* the point of closest approach */
  int refined;             /* Newton found the critical point next to it: */
  dln_newton_result newton;
  dln_description critical; /* its description (valid when refined) */
} dln_plateau;

/* The plateau's loss: the critical point's when refined, else the closest approach's. */
double dln_plateau_loss(const dln_plateau *r);

typedef struct dln_events dln_events;

/* p is not owned. Computes the loss floor inf C (the excess loss's zero). */
int dln_events_alloc(dln_problem *p, const dln_events_options *o, dln_events **out);
void dln_events_free(dln_events *ev);

/* Makes flow report to ev; balance (may be NULL) is shifted at each kick. */
int dln_events_attach(dln_events *ev, dln_flow *flow, dln_balance *balance);
/* Starts at t = 0 from θ0, inside the origin plateau (J(0) = 0). Call before dln_flow_init. */
int dln_events_start(dln_events *ev, const double *theta0);
/* Ends the record at the run's last state (t, θ): closes an open plateau or adds the final
 * minimum. Each kept plateau is described (dln_describe) as soon as it is decided. */
int dln_events_finish(dln_events *ev, double t, const double *theta);

size_t dln_events_count(const dln_events *ev);
const dln_plateau *dln_events_get(const dln_events *ev, size_t i);
/* Plateaus discarded as insignificant, and the loss floor used. */
size_t dln_events_discarded(const dln_events *ev);
double dln_events_loss_floor(const dln_events *ev);
/* Whether the run was stopped because the excess loss fell to round-off. */
int dln_events_converged(const dln_events *ev);

/* Labels time t (at most the flow's current time): returns 1 and sets *index to the kept
 * plateau containing t (-1 for none) once that is decided, 0 while it is not (t lies in a
 * plateau, or after a peak, whose fate the run has not yet settled). */
int dln_events_label(const dln_events *ev, double t, long *index);

#endif
