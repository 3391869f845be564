/* Saddle events (include/dlnflow/events.h; the definitions are in docs/events.md).
 *
 * Contents:
 *   options          defaults and bounds
 *   watched          the two functions CVODE's rootfinder tracks
 *   plateaus         entry, candidates, the decision at exit, the final record
 *   labels           which kept plateau an output time belongs to
 */
#include "dlnflow/events.h"

#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

/* J is kept inside [INDICATOR_MIN, INDICATOR_MAX] before its logarithm is taken: J(0) = 0,
 * and J grows without bound as a zero-loss minimum is approached. */
#define INDICATOR_MIN 1e-300
#define INDICATOR_MAX 1e300
/* Excess loss below this many ulps of the initial loss is round-off: the residual cancels
 * against targets of that scale. There the run sits at its minimum (J is taken as 0). */
#define EXCESS_NOISE_ULPS 1e3
/* Newton iterations towards the critical point by a closest approach (linear convergence
 * along the degenerate directions of L > 2 saddles needs a few dozen). */
#define NEWTON_ITERATIONS 60

enum { WATCH_PLATEAU = 0, WATCH_TURNING = 1, WATCH_CONVERGED = 2, WATCH_COUNT = 3 };

struct dln_events {
  dln_problem *problem;   /* not owned */
  dln_events_options opt;
  size_t P, rows, cols;
  size_t narrowest;       /* min_l n_l: the largest rank A can have */
  double loss_floor;      /* inf C over all matrices */
  double loss_initial;    /* ℒ(θ(0)), the scale of the loss's round-off */
  double grad_c0;         /* ||∇C(A(0))|| */
  dln_balance *balance;   /* shifted at each kick (not owned, may be NULL) */
  gsl_rng *rng;           /* kicks */
  double *grad, *hv;      /* P workspaces */
  double *theta_best;     /* P: the current plateau's best candidate */
  double *theta_before;   /* P: the state before a kick */
  double *A_entry;        /* rows x cols: A where the open plateau was entered */
  double *A_peak;         /* rows x cols: A at the last peak of ||∇ℒ|| outside plateaus */
  int in_plateau;
  double t_entry, kick;   /* the open plateau's entry time and kick size */
  int have_best;
  double t_best, g_best, J_best;
  double peak_before;     /* largest ||∇ℒ|| from the last exit to this entry */
  double peak_since_exit, t_peak; /* largest ||∇ℒ|| since the last exit, and when */
  int finished;
  int converged;          /* the excess loss fell to round-off; the run was stopped there */
  dln_plateau *records;
  size_t count, capacity, discarded, entries;
};

/* ---- options ------------------------------------------------------------------------ */

void dln_events_options_default(dln_events_options *o)
{
  memset(o, 0, sizeof *o);
  o->enter = 0.25;
  o->exit = 1.0;
  o->depth = 0.1;
  o->grad_c_tol = 1e-3;
  o->perturb = 0.0;
  o->perturb_seed = 1;
  o->refine_max = 500;
  o->stop_converged = 1;
  dln_describe_options_default(&o->describe);
}

int dln_events_options_check(const dln_events_options *o)
{
  if (!(o->enter > 0.0) || !(o->exit > o->enter) || !isfinite(o->exit))
    return dln_error(DLN_EINVAL, "events.enter = %g, events.exit = %g: need 0 < enter < exit",
                     o->enter, o->exit);
  if (!(o->depth > 0.0 && o->depth <= 1.0))
    return dln_error(DLN_EINVAL, "events.depth = %g: must lie in (0, 1]", o->depth);
  if (!(o->grad_c_tol > 0.0 && o->grad_c_tol < 1.0))
    return dln_error(DLN_EINVAL, "events.grad_c_tol = %g: must lie in (0, 1)", o->grad_c_tol);
  if (!(o->perturb >= 0.0 && o->perturb < 1.0))
    return dln_error(DLN_EINVAL, "events.perturb = %g: must lie in [0, 1)", o->perturb);
  return DLN_SUCCESS;
}

/* ---- set-up ------------------------------------------------------------------------- */

/* Frees what a plateau record owns (its matrices and descriptions). */
static void release_record(dln_plateau *r)
{
  free(r->A_entry);
  free(r->A_exit);
  r->A_entry = r->A_exit = NULL;
  dln_description_release(&r->closest);
  dln_description_release(&r->critical);
}

void dln_events_free(dln_events *ev)
{
  if (!ev) return;
  for (size_t i = 0; i < ev->count; i++) release_record(&ev->records[i]);
  free(ev->records);
  if (ev->rng) gsl_rng_free(ev->rng);
  free(ev->grad);
  free(ev->hv);
  free(ev->theta_best);
  free(ev->theta_before);
  free(ev->A_entry);
  free(ev->A_peak);
  free(ev);
}

int dln_events_alloc(dln_problem *p, const dln_events_options *o, dln_events **out)
{
  *out = NULL;
  int status = dln_events_options_check(o);
  if (status != DLN_SUCCESS) return status;
  dln_events *ev = calloc(1, sizeof *ev);
  if (!ev) return dln_error(DLN_ENOMEM, "events: out of memory");
  const dln_network *net = dln_problem_network(p);
  ev->problem = p;
  ev->opt = *o;
  ev->P = dln_problem_nparams(p);
  ev->rows = dln_network_width(net, dln_network_depth(net));
  ev->cols = dln_network_width(net, 0);
  ev->narrowest = ev->cols;
  for (size_t l = 1; l <= dln_network_depth(net); l++)
    if (dln_network_width(net, l) < ev->narrowest) ev->narrowest = dln_network_width(net, l);
  ev->grad = malloc(ev->P * sizeof *ev->grad);
  ev->hv = malloc(ev->P * sizeof *ev->hv);
  ev->theta_best = malloc(ev->P * sizeof *ev->theta_best);
  ev->theta_before = malloc(ev->P * sizeof *ev->theta_before);
  ev->A_entry = malloc(ev->rows * ev->cols * sizeof *ev->A_entry);
  ev->A_peak = malloc(ev->rows * ev->cols * sizeof *ev->A_peak);
  ev->rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!ev->grad || !ev->hv || !ev->theta_best || !ev->theta_before || !ev->A_entry || !ev->A_peak || !ev->rng) {
    dln_events_free(ev);
    return dln_error(DLN_ENOMEM, "events: out of memory for %zu parameters", ev->P);
  }
  status = dln_cost_infimum(dln_problem_cost(p), &ev->loss_floor);
  if (status != DLN_SUCCESS) {
    dln_events_free(ev);
    return status;
  }
  ev->opt.describe.loss_floor = ev->loss_floor;
  *out = ev;
  return DLN_SUCCESS;
}

/* ---- watched functions -------------------------------------------------------------- */

/* Writes ℒ, ∇ℒ into ev->grad and returns ||∇ℒ||. */
static int gradient_norm(dln_events *ev, const double *theta, double *loss, double *norm)
{
  int status = dln_problem_gradient(ev->problem, theta, loss, ev->grad);
  *norm = dln_nrm2(ev->P, ev->grad);
  return status;
}

/* The excess loss below which it is noise: round-off of the loss at its floor, and of ℒ(0)'s
 * scale, or, for a tighter tolerance, what the integration still resolves (rtol² ℒ(0): the
 * residual, not the loss, carries the relative error), so rtol 1e-10 is not capped at 1e-13. */
static double excess_noise(const dln_events *ev)
{
  double scale = EXCESS_NOISE_ULPS * DBL_EPSILON;
  if (ev->opt.rtol > 0.0) scale = fmin(scale, ev->opt.rtol * ev->opt.rtol);
  return fmax(EXCESS_NOISE_ULPS * DBL_EPSILON * fabs(ev->loss_floor),
              scale * fabs(ev->loss_initial));
}

/* J = t ||∇ℒ||² / (ℒ - ℒ_inf), clamped; 0 once the excess loss is down to round-off, where
 * both it and ||∇ℒ|| are noise. */
static double indicator(const dln_events *ev, double t, double loss, double grad_norm)
{
  double excess = loss - ev->loss_floor;
  if (excess <= excess_noise(ev)) return INDICATOR_MIN;
  double J = t * grad_norm * grad_norm / excess;
  return fmin(fmax(J, INDICATOR_MIN), INDICATOR_MAX);
}

static int watched(double t, const double *theta, double *g, void *data)
{
  dln_events *ev = data;
  double loss, norm;
  int status = gradient_norm(ev, theta, &loss, &norm);
  if (status != DLN_SUCCESS) return status;
  /* Hysteresis: inside a plateau the function crosses upward when J passes `exit`, outside
   * when J falls below `enter`; logarithms keep both of moderate size. */
  double log_J = log(indicator(ev, t, loss, norm));
  g[WATCH_PLATEAU] = ev->in_plateau ? log_J - log(ev->opt.exit) : log(ev->opt.enter) - log_J;
  /* Where the turning function is undefined (∇ℒ exactly 0 at a converged state) or exactly
   * 0, it reads "settling" (+1): a function that stays 0 makes CVODE fail with "root found at
   * and very near t". */
  /* Falls through 0 when the excess loss reaches round-off: the run has converged. */
  g[WATCH_CONVERGED] = log(fmax(loss - ev->loss_floor, DBL_MIN) / fmax(excess_noise(ev), DBL_MIN));
  g[WATCH_TURNING] = 1.0;
  if (norm > 0.0) {
    status = dln_problem_hvp(ev->problem, theta, ev->grad, ev->hv);
    /* At t = 0 the Rayleigh quotient itself: the same sign as just after, not a zero. */
    double turning = (t > 0.0 ? t : 1.0) * dln_dot(ev->P, ev->grad, ev->hv) / (norm * norm);
    if (isfinite(turning) && turning != 0.0) g[WATCH_TURNING] = turning;
  }
  return status;
}

/* ---- plateaus ----------------------------------------------------------------------- */

static int push_record(dln_events *ev, dln_plateau *rec)
{
  if (ev->count == ev->capacity) {
    size_t cap = ev->capacity ? 2 * ev->capacity : 8;
    dln_plateau *r = realloc(ev->records, cap * sizeof *r);
    if (!r) return dln_error(DLN_ENOMEM, "events: out of memory");
    ev->records = r;
    ev->capacity = cap;
  }
  rec->index = ev->count;
  ev->records[ev->count++] = *rec;
  return DLN_SUCCESS;
}

/* A copy of the problem's current A (after a gradient evaluation at the point). */
static double *copy_product(const dln_events *ev)
{
  size_t n = ev->rows * ev->cols;
  double *A = malloc(n * sizeof *A);
  if (A) memcpy(A, dln_problem_product(ev->problem), n * sizeof *A);
  return A;
}

double dln_plateau_loss(const dln_plateau *r)
{
  return r->refined ? r->critical.loss : r->closest.loss;
}

/* Newton's critical point next to θ, described into rec->critical when found. */
static int refine_record(dln_events *ev, const double *theta, dln_plateau *rec)
{
  if (ev->P > ev->opt.refine_max) return DLN_SUCCESS;
  double *found = ev->theta_before; /* free outside kicks */
  int status = dln_newton_critical_point(ev->problem, theta, NEWTON_ITERATIONS, found,
                                         &rec->newton);
  if (status != DLN_SUCCESS || !rec->newton.converged) return status;
  status = dln_describe(ev->problem, found, &ev->opt.describe, &rec->critical);
  rec->refined = status == DLN_SUCCESS;
  return status;
}

/* Describes θ and classifies it into rec (t_entry, t_exit and A_* set by the caller). */
static int describe_record(dln_events *ev, const double *theta, double t, dln_plateau *rec)
{
  int status = dln_describe(ev->problem, theta, &ev->opt.describe, &rec->closest);
  if (status == DLN_SUCCESS) status = refine_record(ev, theta, rec);
  if (status != DLN_SUCCESS) return status;
  rec->t_closest = t;
  const dln_description *d = rec->refined ? &rec->critical : &rec->closest;
  int global = d->grad_c_norm <= ev->opt.grad_c_tol * ev->grad_c0;
  int bottleneck = d->rank >= ev->narrowest;
  rec->kind = global || bottleneck ? DLN_PLATEAU_MINIMUM : DLN_PLATEAU_SADDLE;
  rec->minimum_type = global ? "global" : bottleneck ? "rank-limited" : "";
  return DLN_SUCCESS;
}

/* Decides the open plateau: kept if its closest approach is deep against `peak`. A plateau
 * the run never left (t_exit NaN) is always kept: no later peak exists to judge it by, and a
 * run that ends on it (say, one still at the origin) was there. Takes A_exit (malloc'd, may
 * be NULL). */
static int close_plateau(dln_events *ev, double t_exit, double peak, double *A_exit)
{
  ev->in_plateau = 0;
  int never_left = isnan(t_exit);
  if (!ev->have_best || (!never_left && !(ev->g_best <= ev->opt.depth * peak))) {
    ev->discarded++;
    free(A_exit);
    return DLN_SUCCESS;
  }
  dln_plateau rec = {.t_entry = ev->t_entry, .t_exit = t_exit, .kick = ev->kick,
                     .significance = peak > 0.0 ? ev->g_best / peak : 0.0,
                     .indicator = ev->J_best};
  rec.A_exit = A_exit;
  rec.A_entry = malloc(ev->rows * ev->cols * sizeof *rec.A_entry);
  if (!rec.A_entry) {
    free(A_exit);
    return dln_error(DLN_ENOMEM, "events: out of memory");
  }
  memcpy(rec.A_entry, ev->A_entry, ev->rows * ev->cols * sizeof *rec.A_entry);
  int status = describe_record(ev, ev->theta_best, ev->t_best, &rec);
  if (status == DLN_SUCCESS && rec.kind == DLN_PLATEAU_MINIMUM) {
    /* A minimum is entered where the final descent into it starts: the last peak of
     * ||∇ℒ||. Where J first stays low there depends on how slowly the last modes converge,
     * which no tolerance pins down. */
    rec.t_entry = ev->t_peak;
    memcpy(rec.A_entry, ev->A_peak, ev->rows * ev->cols * sizeof *rec.A_entry);
  }
  if (status == DLN_SUCCESS) status = push_record(ev, &rec);
  if (status != DLN_SUCCESS) release_record(&rec);
  return status;
}

/* Keeps (t, θ) as the open plateau's closest approach if ||∇ℒ|| is the smallest yet. */
static void offer_candidate(dln_events *ev, double t, const double *theta, double loss, double g)
{
  if (ev->have_best && !(g < ev->g_best)) return;
  ev->have_best = 1;
  ev->t_best = t;
  ev->g_best = g;
  ev->J_best = indicator(ev, t, loss, g);
  memcpy(ev->theta_best, theta, ev->P * sizeof *theta);
}

/* θ += δ with δ Gaussian of norm perturb·||θ||, as perturbed gradient methods do near a
 * saddle: it puts an approach along a non-generic direction back in general position. */
static void kick(dln_events *ev, double *theta)
{
  memcpy(ev->theta_before, theta, ev->P * sizeof *theta);
  double *delta = ev->hv;
  for (size_t i = 0; i < ev->P; i++) delta[i] = gsl_ran_gaussian_ziggurat(ev->rng, 1.0);
  double size = ev->opt.perturb * dln_nrm2(ev->P, theta);
  double norm = dln_nrm2(ev->P, delta);
  dln_axpy(ev->P, size / norm, delta, theta);
  ev->kick = size;
  if (ev->balance) dln_balance_shift(ev->balance, ev->theta_before, theta);
}

/* Records a new largest ||∇ℒ|| outside plateaus (the problem holds A at that point). */
static void note_peak(dln_events *ev, double t, double g)
{
  ev->peak_since_exit = g;
  ev->t_peak = t;
  memcpy(ev->A_peak, dln_problem_product(ev->problem), ev->rows * ev->cols * sizeof *ev->A_peak);
}

static void open_plateau(dln_events *ev, double t, double g)
{
  ev->in_plateau = 1;
  ev->t_entry = t;
  ev->kick = 0.0;
  ev->have_best = 0;
  ev->peak_before = fmax(ev->peak_since_exit, g);
  memcpy(ev->A_entry, dln_problem_product(ev->problem), ev->rows * ev->cols * sizeof *ev->A_entry);
  ev->entries++;
}

static int handle(double t, double *theta, const int *crossed, void *data)
{
  dln_events *ev = data;
  double loss, g;
  int status = gradient_norm(ev, theta, &loss, &g);
  if (status != DLN_SUCCESS) return -status;
  if (crossed[WATCH_TURNING] < 0 && ev->in_plateau) offer_candidate(ev, t, theta, loss, g);
  if (crossed[WATCH_TURNING] > 0 && !ev->in_plateau && g > ev->peak_since_exit)
    note_peak(ev, t, g);
  int converged = crossed[WATCH_CONVERGED] < 0 && ev->opt.stop_converged;
  if (crossed[WATCH_PLATEAU] <= 0) {
    ev->converged = converged;
    return converged ? DLN_EVENT_STOP : DLN_EVENT_CONTINUE;
  }
  if (ev->in_plateau) {
    double *A_exit = copy_product(ev);
    if (!A_exit) return -dln_error(DLN_ENOMEM, "events: out of memory");
    size_t kept = ev->count;
    status = close_plateau(ev, t, fmax(ev->peak_before, g), A_exit);
    if (status != DLN_SUCCESS) return -status;
    /* After a kept plateau the peaks start again; a discarded one leaves no mark (a slow
     * stretch of the final descent must not move the minimum's entry). */
    if (ev->count > kept || g > ev->peak_since_exit) note_peak(ev, t, g);
    ev->converged = converged;
    return converged ? DLN_EVENT_STOP : DLN_EVENT_CONTINUE;
  }
  open_plateau(ev, t, g);
  if (converged) {
    ev->converged = 1;
    return DLN_EVENT_STOP;
  }
  if (ev->opt.perturb > 0.0) {
    kick(ev, theta);
    return DLN_EVENT_RESTART;
  }
  return DLN_EVENT_CONTINUE;
}

int dln_events_attach(dln_events *ev, dln_flow *flow, dln_balance *balance)
{
  ev->balance = balance;
  dln_flow_events fe = {.count = WATCH_COUNT, .evaluate = watched, .handle = handle, .data = ev};
  return dln_flow_set_events(flow, &fe);
}

int dln_events_start(dln_events *ev, const double *theta0)
{
  for (size_t i = 0; i < ev->count; i++) release_record(&ev->records[i]);
  ev->count = ev->discarded = ev->entries = 0;
  ev->finished = 0;
  ev->converged = 0;
  ev->peak_since_exit = 0.0;
  ev->t_peak = 0.0;
  gsl_rng_set(ev->rng, ev->opt.perturb_seed);
  double loss, g;
  int status = gradient_norm(ev, theta0, &loss, &g);
  if (status != DLN_SUCCESS) return status;
  ev->loss_initial = loss;
  ev->grad_c0 = dln_nrm2(ev->rows * ev->cols, dln_problem_cost_gradient(ev->problem));
  /* J(0) = 0: every run starts inside a plateau, which the origin's is for small α and
   * which a large start leaves at once (then it is not significant). */
  note_peak(ev, 0.0, g);
  open_plateau(ev, 0.0, g);
  offer_candidate(ev, 0.0, theta0, loss, g);
  return DLN_SUCCESS;
}

/* Forgets what the handler saw after t, the state a failed run (gradient descent diverging)
 * ends on: a plateau whose closest approach lies later is dropped, one left later was not
 * left within the run. */
static void trim_after(dln_events *ev, double t)
{
  while (ev->count > 0 && ev->records[ev->count - 1].t_closest > t) {
    release_record(&ev->records[--ev->count]);
    ev->discarded++;
  }
  for (size_t i = 0; i < ev->count; i++)
    if (ev->records[i].t_exit > t) {
      ev->records[i].t_exit = NAN;
      free(ev->records[i].A_exit);
      ev->records[i].A_exit = NULL;
    }
  if (ev->in_plateau && ev->t_entry > t) {
    ev->in_plateau = 0;
    ev->discarded++;
  }
  if (ev->have_best && ev->t_best > t) ev->have_best = 0;
}

int dln_events_finish(dln_events *ev, double t, const double *theta)
{
  if (ev->finished) return DLN_SUCCESS;
  ev->finished = 1;
  trim_after(ev, t);
  /* A plateau left after t is open again; with a peak after t there is no entry to give. */
  if (!ev->in_plateau && ev->t_peak > t) return DLN_SUCCESS;
  double loss, g;
  int status = gradient_norm(ev, theta, &loss, &g);
  if (status != DLN_SUCCESS) return status;
  if (ev->in_plateau) {
    offer_candidate(ev, t, theta, loss, g);
    return close_plateau(ev, NAN, ev->peak_before, NULL);
  }
  /* Outside a plateau: a converged end (||∇ℒ|| deep below its last peak) is a minimum,
   * or a saddle the run was still approaching, entered at that peak. */
  if (!(g <= ev->opt.depth * ev->peak_since_exit)) return DLN_SUCCESS;
  dln_plateau rec = {.t_entry = ev->t_peak, .t_exit = NAN,
                     .significance = g / ev->peak_since_exit,
                     .indicator = indicator(ev, t, loss, g)};
  rec.A_entry = malloc(ev->rows * ev->cols * sizeof *rec.A_entry);
  status = rec.A_entry ? describe_record(ev, theta, t, &rec)
                       : dln_error(DLN_ENOMEM, "events: out of memory");
  if (status == DLN_SUCCESS) {
    memcpy(rec.A_entry, ev->A_peak, ev->rows * ev->cols * sizeof *rec.A_entry);
    status = push_record(ev, &rec);
  }
  if (status != DLN_SUCCESS) release_record(&rec);
  return status;
}

/* ---- queries ------------------------------------------------------------------------ */

size_t dln_events_count(const dln_events *ev) { return ev->count; }
const dln_plateau *dln_events_get(const dln_events *ev, size_t i)
{
  return i < ev->count ? &ev->records[i] : NULL;
}
size_t dln_events_discarded(const dln_events *ev) { return ev->discarded; }
int dln_events_converged(const dln_events *ev) { return ev->converged; }
double dln_events_loss_floor(const dln_events *ev) { return ev->loss_floor; }

int dln_events_label(const dln_events *ev, double t, long *index)
{
  *index = -1;
  /* A minimum, found later, starts at the last peak of ||∇ℒ||: times from there on wait. */
  if (!ev->finished && !(t < ev->t_peak)) return 0;
  for (size_t i = 0; i < ev->count; i++) {
    const dln_plateau *r = &ev->records[i];
    if (t >= r->t_entry && (isnan(r->t_exit) || t <= r->t_exit)) {
      *index = (long)i;
      break;
    }
  }
  return 1;
}
