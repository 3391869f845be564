/* Escape from the origin (THEORY.md §4, Theorem 2): how long the flow from θ(0) = α θ0 takes
 * to reach ||θ|| = r, what it looks like there, and the predictions it is checked against.
 *
 * Symbols: G0 = ∇C(0) (n_L x n_0) with top singular triples (s1, u1, v1), (s2, ...);
 * H(θ) = C(0) + <G0, A(θ)>, the L-homogeneous Taylor term of ℒ at 0; H0 = D²ℒ(0).
 *   L = 2: the flow of H is linear, θ' = -H0 θ, and its time to radius r from α θ0 solves
 *          α² Σ_i c_i² exp(-2 λ_i t) = r²   (H0 = Q diag(λ) Qᵀ, c = Qᵀ θ0);
 *          t_α = (1/s1) log(1/α) + O(1).
 *   L > 2: the flow of H from θ0 blows up at T_H(θ0); by homogeneity
 *          γ_H(t, α θ0) = α γ_H(α^(L-2) t, θ0), so t_α = α^-(L-2) T_H(θ0) + O(1).
 * The optimal escape direction is ρ = L^-1/2 (W_1 = -v1ᵀ, W_2..W_{L-1} = 1, W_L = u1) of a
 * width-one net, along which d' = s* d^(L-1) with s* = L^-(L-2)/2 s1.
 */
#ifndef DLNFLOW_ESCAPE_H
#define DLNFLOW_ESCAPE_H

#include <stddef.h>

#include "dlnflow/flow.h"
#include "dlnflow/problem.h"

/* The cost's first-order picture at A = 0. */
typedef struct dln_escape_origin {
  size_t rows, cols; /* n_L, n_0 */
  double c0;         /* C(0) */
  double *G0;        /* ∇C(0), rows x cols row-major (owned) */
  double s1, s2;     /* top two singular values of G0 (s2 = 0 when G0 has one) */
  double *u1, *v1;   /* top singular pair, rows and cols entries (owned); sign: u1ᵀ G0 v1 = s1 */
  double kappa;      /* <u1 v1ᵀ, D²C(0)[u1 v1ᵀ]>: the cost's curvature along the escape */
} dln_escape_origin;

/* Evaluates C, ∇C and the curvature along u1 v1ᵀ at A = 0. Returns DLN_EINVAL when G0 = 0
 * (the origin is then critical to first order in A: nothing escapes), DLN_ELINALG, DLN_ENOMEM. */
int dln_escape_origin_compute(dln_problem *p, dln_escape_origin *out);
void dln_escape_origin_release(dln_escape_origin *o);

/* Returns s* = L^-(L-2)/2 s1. */
double dln_escape_speed(size_t depth, double s1);

/* Returns sqrt(L) (s1/kappa)^(1/L): the norm of the balanced width-one critical point
 * A = (s1/kappa) u1 v1ᵀ that the escape heads for (its distance from 0). */
double dln_escape_saddle_norm(size_t depth, const dln_escape_origin *o);

/* Writes d ρ into θ of a width-one net (widths n_0, 1, ..., 1, n_L) of the given depth. */
void dln_escape_optimal_start(const dln_network *width_one, const dln_escape_origin *o, double d,
                              double *theta);

/* What one escape looks like. */
typedef struct dln_escape_result {
  int reached;          /* ||θ|| reached the radius before t_max */
  double t;             /* escape time (t_max when not reached) */
  double alignment;     /* |<A, u1 v1ᵀ>| / ||A||_F at escape */
  double sv_ratio;      /* s2(A)/s1(A) at escape (0 when A has one singular value) */
  double balance;       /* max_l ||D_l|| / ||θ||² at escape */
  dln_flow_stats stats; /* the integrator's counters */
} dln_escape_result;

/* Integrates from theta_start until ||θ|| = radius, located by CVODE's rootfinder on
 * g = ||θ||²/r² - 1, or until opt->t_max. The clock restarts at radius/2 so that the crossing
 * is located to round-off however late it comes (CVODE's root tolerance is ~100 ulps of t);
 * t_max applies to each of the two stages. theta_end (P doubles, may be NULL) receives θ there.
 * Returns DLN_EINVAL when ||theta_start|| >= radius, or the flow's error. */
int dln_escape_run(dln_problem *p, const double *theta_start, double radius,
                   const dln_flow_options *opt, const dln_escape_origin *o, double *theta_end,
                   dln_escape_result *out);

/* Integrates from theta (at τ = 0) and writes A(τ_k) (n_L x n_0 each, row-major, one after the
 * other) for the n increasing times taus[]. */
int dln_escape_follow(dln_problem *p, const double *theta, const dln_flow_options *opt,
                      const double *taus, size_t n, double *A);

/* Returns the time the flow from theta takes until ||∇ℒ|| falls to `fraction` of its value
 * at theta (t_max when it does not): where a path has nearly converged. */
int dln_escape_settle_time(dln_problem *p, const double *theta, const dln_flow_options *opt,
                           double fraction, double *t);

/* L = 2: the linear flow θ' = -H0 θ, by eigen-decomposition of the dense H0 (dsyevd). */
typedef struct dln_escape_linear dln_escape_linear;
int dln_escape_linear_alloc(dln_problem *p, const double *theta0, dln_escape_linear **out);
void dln_escape_linear_free(dln_escape_linear *lin);
/* Writes the first time ||exp(-H0 t) α θ0|| = radius (bracketing, then bisection on the log of
 * the exact expression). Returns DLN_EINVAL when ||α θ0|| >= radius or the norm never gets there. */
int dln_escape_linear_time(const dln_escape_linear *lin, double alpha, double radius, double *t);

/* L > 2: the blow-up time of the flow of H from θ0. */
typedef struct dln_escape_blowup {
  double T;             /* T_H(θ0) = t_R + tail */
  double t_R;           /* integrated time to ||θ|| = R */
  double R;             /* the radius integrated to */
  double c;             /* d' = c d^(L-1) at R: c = -L <G0, A(θ_R)> / R^L */
  double tail;          /* R^-(L-2) / ((L-2) c), the time from R to blow-up */
  dln_flow_stats stats;
} dln_escape_blowup;

/* Integrates the flow of H (the network of p with the linear cost of o) from theta0 to
 * radius_factor ||θ0|| and adds the tail analytically. Returns DLN_EINVAL for depth <= 2. */
int dln_escape_blowup_time(const dln_problem *p, const dln_escape_origin *o,
                           const double *theta0, const dln_flow_options *opt,
                           double radius_factor, dln_escape_blowup *out);

/* A straight-line fit y = slope x + intercept (GSL's gsl_fit_linear). */
typedef struct dln_escape_fit {
  size_t n;
  double slope, slope_stderr, intercept, intercept_stderr; /* stderr NaN for n < 3 */
} dln_escape_fit;
int dln_escape_fit_line(const double *x, const double *y, size_t n, dln_escape_fit *out);

#endif
