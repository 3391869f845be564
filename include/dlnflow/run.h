/* One run of the flow from θ(0), described at a list of output times: the loop every command
 * shares. At each time it measures the state (loss, test loss, ||∇ℒ||, ||θ||, balancedness
 * drift, singular values, rank and nuclear norm of A) and hands the record to the caller's
 * callback. */
#ifndef DLNFLOW_RUN_H
#define DLNFLOW_RUN_H

#include <stddef.h>

#include "dlnflow/flow.h"
#include "dlnflow/problem.h"

/* What is measured at one output time. */
typedef struct dln_sample {
  double t;
  double loss;          /* ℒ(θ(t)) */
  double test_loss;     /* test cost, NaN without a test set */
  double grad_norm;     /* ||∇ℒ(θ(t))|| */
  double theta_norm;    /* ||θ(t)|| */
  double balance_drift; /* relative drift of the invariants D_l since t = 0 */
  size_t rank;          /* singular values of A above rank_tol */
  double nuclear_norm;  /* ||A||_*: the sum of all singular values of A */
  const double *sv;     /* singular values of A, largest first (nsv of them) */
  size_t nsv;
  const double *theta;  /* θ(t), P doubles (valid during the callback) */
  double ntk_change;    /* ||Θ_t - Θ_0||_F / ||Θ_0||_F (NaN unless dln_run_options.ntk) */
} dln_sample;

/* What a run measures besides the solver's options. */
typedef struct dln_run_options {
  double rank_tol;      /* singular values of A above this count towards the rank */
  int ntk;              /* measure the NTK's relative change (n_L·n_0 Θ applications a sample) */
} dln_run_options;

/* Called once per output time; a non-zero return stops the run with that status. */
typedef int (*dln_sample_fn)(const dln_sample *sample, void *data);

typedef struct dln_run_result {
  dln_stop stop;          /* why the run ended */
  size_t samples;         /* records handed to the callback */
  double loss_initial;
  dln_sample last;        /* the last record (sv points into the run's storage: copy it) */
  double sv_last[64];     /* up to 64 singular values of the final A */
  dln_flow_stats stats;
  double wall_seconds, cpu_seconds;
  double *theta_last;     /* in: NULL, or P doubles that receive θ of the last record */
} dln_run_result;

/* Writes the sorted, de-duplicated union of {0}, n log-spaced times from t_min to t_max and
 * the extra times (those in (0, t_max]) into a malloc'd array. */
int dln_run_times(double t_min, double t_max, size_t n, const double *extra, size_t nextra,
                  double **times, size_t *count);

typedef struct dln_events dln_events;

/* Returns the bytes a run needs: the integrator's (dln_flow_memory_estimate), the balancedness
 * blocks n_l x n_l, and with events their workspaces. */
double dln_run_memory_estimate(const dln_problem *p, const dln_flow_options *opt, int events);

/* Integrates from theta0 through times[] (starting with 0) and calls fn at each; set
 * result->theta_last beforehand to keep the last recorded state. With events (may be NULL)
 * the saddle events are tracked and finished at the run's last state. On an
 * integration failure it returns the error after handing over every record it had, and
 * result describes the run up to there. */
int dln_run_trajectory(dln_problem *p, const double *theta0, const dln_flow_options *opt,
                       const double *times, size_t ntimes, const dln_run_options *ro,
                       dln_events *events, dln_sample_fn fn, void *data,
                       dln_run_result *result);

#endif
