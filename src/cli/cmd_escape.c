/* dlnflow escape CONFIG --alphas MAX:MIN:COUNT [--radius r] [--out DIR] [--jobs N] [--path]
 *                [--seeds K] [--quiet] [section.key=value ...]
 *
 * Escape-time laws and Theorem 2 (THEORY.md §4, include/dlnflow/escape.h). Phases:
 *   1. read and check everything: arguments, configuration, data, θ0 per seed, the radius;
 *   2. predict: G0's singular values, s*, and per seed the linear-flow times (L = 2) or the
 *      blow-up time T_H(θ0) of the flow of H (L > 2); with --path the width-one reference path;
 *   3. run every (seed, α) from α θ0 to ||θ|| = r on --jobs threads, each with its own problem;
 *   4. fit the laws and write DIR/escape.csv, escape.json, escape.gp and (gnuplot) escape.png,
 *      escape.svg; print a table with theory beside measurement.
 * Phase 1 also checks that the output folder can be made, so bad input leaves no folder behind:
 * nothing is created before phase 4. A SIGINT stops new runs; phase 4 then keeps the finished
 * ones. Results are stored by task index, so they do not depend on --jobs. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/diagnostics.h"
#include "dlnflow/escape.h"
#include "dlnflow/init.h"
#include "dlnflow/io.h"
#include "dlnflow/setup.h"

/* Default radius: this fraction of the norm of the rank-one critical point the escape heads for. */
#define RADIUS_SADDLE_FRACTION 0.5
/* Each run's t_max: this many times its predicted escape time, refused above T_MAX_LIMIT
 * (an alpha so small that its escape time leaves the range of a double). */
#define T_MAX_FACTOR 100.0
#define T_MAX_LIMIT 1e300
/* Most runs (COUNT x --seeds) one sweep may ask for: each keeps a record of about 700 bytes. */
#define RUNS_MAX 100000
/* Failed runs named on stderr; the rest are counted (escape.csv has them all). */
#define FAILURES_SHOWN 10
/* T_H: the flow of H is integrated to R = ||θ0|| BLOWUP_TAIL^(-1/(L-2)), where the time left to
 * blow-up (added analytically) is about BLOWUP_TAIL of T_H. Further out, at L = 5, CVODE's
 * first step past R/2 already overshot the blow-up and failed. */
#define BLOWUP_TAIL 1e-4
/* Largest net whose Hessian at 0 is decomposed densely for the L = 2 prediction. */
#define LINEAR_DENSE_MAX 4000
/* --path: the reference starts at this fraction of r along ρ, is sampled at PATH_SAMPLES times
 * up to where its gradient has fallen to PATH_SETTLE of its value at the crossing. */
#define PATH_START_FRACTION 1e-3
#define PATH_SAMPLES 50
#define PATH_SETTLE 1e-3
/* Alignment above which an escape counts as along the optimal direction (--seeds). */
#define ALIGNED 0.99

typedef struct escape_args {
  const char *config;
  const char *out;
  double alpha_max, alpha_min;
  size_t count;           /* α grid points */
  double radius;          /* 0: the default */
  int jobs;               /* 0: the default */
  int path;
  size_t seeds;
  int quiet;
  char **overrides;
  size_t noverrides;
} escape_args;

/* One (seed, α) run. */
typedef struct escape_task {
  size_t seed_index, alpha_index;
  double alpha;
  double t_predicted;
  dln_escape_result result;
  double path_distance;   /* NaN without --path */
  int done;               /* ran to its end, no interrupt arrived before it returned */
  int status;             /* DLN_SUCCESS or the failure (meaningful when done) */
  char message[512];
} escape_task;

/* What is known per θ0 before the runs. */
typedef struct seed_info {
  unsigned long seed;
  double *theta0;         /* P doubles (owned) */
  double norm;            /* ||θ0|| */
  dln_escape_blowup blowup; /* L > 2 */
  dln_escape_linear *linear; /* L = 2 (owned; NULL when too large) */
} seed_info;

typedef struct escape_job {
  const escape_args *args;
  dln_config *cfg;
  size_t depth, P, amat;
  dln_escape_origin origin;
  double radius;
  int radius_default;
  double *alphas;         /* count, decreasing */
  seed_info *seeds;       /* args->seeds */
  escape_task *tasks;     /* seeds x count, seed-major */
  size_t ntasks;
  /* --path: the width-one reference */
  double path_d0, path_t_cross, path_tau_max;
  double *taus;           /* PATH_SAMPLES */
  double *A_ref;          /* PATH_SAMPLES x amat */
  /* the work queue */
  pthread_mutex_t lock;
  size_t next;
} escape_job;

static void escape_usage(FILE *out)
{
  fprintf(out,
          "usage: dlnflow escape CONFIG --alphas MAX:MIN:COUNT [--radius r] [--out DIR]\n"
          "                      [--jobs N] [--path] [--seeds K] [--quiet] [section.key=value ...]\n"
          "Runs the flow from alpha*theta0 (theta0 ~ N(0,1) from init.seed, or init.scheme = file)\n"
          "for COUNT log-spaced alpha from MAX down to MIN until ||theta|| = r, and compares the\n"
          "escape times with the theory (1/s1 log(1/alpha) for L = 2, alpha^-(L-2) T_H for L > 2).\n"
          "Writes DIR/escape.csv, escape.json and the plot escape.png/.svg (DIR defaults to\n"
          "output.dir, else runs/<config name>-escape). See docs/dlnflow-escape.md.\n");
}

/* ---- arguments ---------------------------------------------------------------------- */

/* Parses a positive finite number; returns 0 on success. */
static int parse_positive(const char *text, double *x)
{
  char *end;
  errno = 0;
  *x = strtod(text, &end);
  return (end == text || *end != '\0' || errno != 0 || !(*x > 0.0) || !isfinite(*x)) ? -1 : 0;
}

/* Parses a count >= 1; returns 0 on success. */
static int parse_count(const char *text, size_t *n)
{
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < 1 || text[0] == '-') return -1;
  *n = (size_t)v;
  return 0;
}

static int parse_alphas(const char *text, escape_args *a)
{
  char buf[256];
  snprintf(buf, sizeof buf, "%s", text);
  char *first = strchr(buf, ':'), *second = first ? strchr(first + 1, ':') : NULL;
  if (!first || !second) {
    fprintf(stderr, "dlnflow escape: --alphas '%s': expected MAX:MIN:COUNT, e.g. 1e-2:1e-8:13\n",
            text);
    return DLN_EXIT_USAGE;
  }
  *first = *second = '\0';
  if (parse_positive(buf, &a->alpha_max) || parse_positive(first + 1, &a->alpha_min) ||
      parse_count(second + 1, &a->count)) {
    fprintf(stderr, "dlnflow escape: --alphas '%s': MAX and MIN must be positive numbers and "
            "COUNT a whole number >= 2\n", text);
    return DLN_EXIT_USAGE;
  }
  if (a->count < 2 || !(a->alpha_max > a->alpha_min)) {
    fprintf(stderr, "dlnflow escape: --alphas '%s': need MAX > MIN and COUNT >= 2 to fit a law\n",
            text);
    return DLN_EXIT_USAGE;
  }
  if (a->count > RUNS_MAX) {
    fprintf(stderr, "dlnflow escape: --alphas '%s': COUNT %zu is above the limit of %d runs\n",
            text, a->count, RUNS_MAX);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* Returns the value after option argv[*i], or NULL after printing the problem. */
static const char *option_value(int argc, char **argv, int *i)
{
  if (*i + 1 >= argc) {
    fprintf(stderr, "dlnflow escape: %s needs a value\n", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}

/* Returns 0 on success, DLN_EXIT_USAGE after printing the problem, -1 for --help. */
static int parse_args(int argc, char **argv, escape_args *a)
{
  memset(a, 0, sizeof *a);
  a->seeds = 1;
  a->overrides = calloc((size_t)argc, sizeof *a->overrides);
  if (!a->overrides) return DLN_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v = NULL;
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) return -1;
    if (strcmp(opt, "--quiet") == 0 || strcmp(opt, "-q") == 0) {
      a->quiet = 1;
    } else if (strcmp(opt, "--path") == 0) {
      a->path = 1;
    } else if (strcmp(opt, "--out") == 0 || strcmp(opt, "-o") == 0) {
      if (!(a->out = option_value(argc, argv, &i))) return DLN_EXIT_USAGE;
    } else if (strcmp(opt, "--alphas") == 0) {
      if (!(v = option_value(argc, argv, &i)) || parse_alphas(v, a)) return DLN_EXIT_USAGE;
    } else if (strcmp(opt, "--radius") == 0) {
      if (!(v = option_value(argc, argv, &i))) return DLN_EXIT_USAGE;
      if (parse_positive(v, &a->radius)) {
        fprintf(stderr, "dlnflow escape: --radius '%s': must be a positive number\n", v);
        return DLN_EXIT_USAGE;
      }
    } else if (strcmp(opt, "--jobs") == 0 || strcmp(opt, "-j") == 0 ||
               strcmp(opt, "--seeds") == 0) {
      size_t n;
      if (!(v = option_value(argc, argv, &i))) return DLN_EXIT_USAGE;
      if (parse_count(v, &n) || n > 100000) {
        fprintf(stderr, "dlnflow escape: %s '%s': must be a whole number from 1 to 100000\n",
                opt, v);
        return DLN_EXIT_USAGE;
      }
      if (strcmp(opt, "--seeds") == 0) a->seeds = n;
      else a->jobs = (int)n;
    } else if (dln_cli_take_argument("escape", argv[i], &a->config, a->overrides,
                                     &a->noverrides) != 0) {
      return DLN_EXIT_USAGE;
    }
  }
  if (!a->config || a->count == 0) {
    fprintf(stderr, "dlnflow escape: missing %s\n", !a->config ? "CONFIG" : "--alphas MAX:MIN:COUNT");
    escape_usage(stderr);
    return DLN_EXIT_USAGE;
  }
  if (a->count * a->seeds > RUNS_MAX) {
    fprintf(stderr, "dlnflow escape: --seeds %zu with %zu alphas makes %zu runs, above the limit "
            "of %d\n", a->seeds, a->count, a->count * a->seeds, RUNS_MAX);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* ---- phase 1 and 2: set-up and predictions ------------------------------------------ */

/* Returns the predicted escape time of a run from α θ0 of seed s (NaN when unknown). */
static double predicted_time(const escape_job *job, const seed_info *s, double alpha)
{
  if (job->depth > 2) return pow(alpha, -(double)(job->depth - 2)) * s->blowup.T;
  double t = NAN;
  if (s->linear && dln_escape_linear_time(s->linear, alpha, job->radius, &t) != DLN_SUCCESS)
    t = NAN;
  return t;
}

/* A time scale for t_max when no prediction is available: the optimal direction's escape
 * from distance d to r (d' = s* d^(L-1)). */
static double optimal_time(const escape_job *job, double d)
{
  double s = dln_escape_speed(job->depth, job->origin.s1), L = (double)job->depth;
  if (job->depth == 2) return log(job->radius / d) / s;
  return (pow(d, -(L - 2.0)) - pow(job->radius, -(L - 2.0))) / ((L - 2.0) * s);
}

/* Returns the t_max of task t: T_MAX_FACTOR times its prediction, or without one the
 * optimal direction's time from ||α θ0||. */
static double task_t_max(const escape_job *job, const escape_task *t)
{
  const seed_info *s = &job->seeds[t->seed_index];
  double scale = isfinite(t->t_predicted) ? t->t_predicted : optimal_time(job, t->alpha * s->norm);
  return T_MAX_FACTOR * scale;
}

/* Refuses an α whose t_max is not finite or above T_MAX_LIMIT, naming (L > 2) the smallest α
 * within it: T_MAX_FACTOR α^-(L-2) T_H <= T_MAX_LIMIT. (The solver may fail well above it.) */
static int check_time_range(const escape_job *job)
{
  for (size_t i = 0; i < job->ntasks; i++) {
    const escape_task *t = &job->tasks[i];
    double t_max = task_t_max(job, t);
    if (isfinite(t_max) && t_max <= T_MAX_LIMIT) continue;
    const seed_info *s = &job->seeds[t->seed_index];
    char usable[96] = "";
    if (job->depth > 2 && s->blowup.T > 0.0)
      snprintf(usable, sizeof usable, "; alpha >= %.3g keeps it within range",
               1.01 * exp((log(T_MAX_FACTOR * s->blowup.T) - log(T_MAX_LIMIT)) /
                          (double)(job->depth - 2)));
    return dln_error(DLN_EINVAL, "--alphas: alpha = %g (init.seed = %lu) has a predicted escape "
                     "time of %g, and t_max = %g times it is beyond %g%s", t->alpha, s->seed,
                     t->t_predicted, T_MAX_FACTOR, T_MAX_LIMIT, usable);
  }
  return DLN_SUCCESS;
}

/* Draws θ0 for each seed and makes its prediction. */
static int prepare_seeds(escape_job *job, dln_setup *setup)
{
  const escape_args *a = job->args;
  dln_problem *p = setup->problem;
  int from_file = strcmp(job->cfg->scheme, "file") == 0;
  job->seeds = calloc(a->seeds, sizeof *job->seeds);
  if (!job->seeds) return dln_error(DLN_ENOMEM, "out of memory");
  for (size_t k = 0; k < a->seeds; k++) {
    seed_info *s = &job->seeds[k];
    s->seed = job->cfg->seed + k;
    s->theta0 = malloc(job->P * sizeof *s->theta0);
    if (!s->theta0) return dln_error(DLN_ENOMEM, "out of memory");
    int status = DLN_SUCCESS;
    if (from_file && k == 0)
      memcpy(s->theta0, setup->theta0, job->P * sizeof *s->theta0);
    else
      status = dln_init_scaled(dln_problem_network(p), 1.0, s->seed, s->theta0);
    if (status != DLN_SUCCESS) return status;
    s->norm = dln_norm2(s->theta0, job->P);
    if (!(job->radius > a->alpha_max * s->norm))
      return dln_error(DLN_EINVAL,
                       "the radius r = %g%s is not above ||alpha theta0|| = %g at the largest "
                       "alpha %g (||theta0|| = %g, init.seed = %lu): lower the largest alpha of "
                       "--alphas or raise --radius", job->radius,
                       job->radius_default ? " (the default --radius)" : " (--radius)",
                       a->alpha_max * s->norm, a->alpha_max, s->norm, s->seed);
  }
  if (from_file && a->seeds > 1)
    return dln_error(DLN_EINVAL, "--seeds %zu: init.scheme = file gives one theta0", a->seeds);
  for (size_t k = 0; k < a->seeds; k++) {
    seed_info *s = &job->seeds[k];
    int status = DLN_SUCCESS;
    if (job->depth > 2) {
      dln_flow_options opt = job->cfg->solver;
      opt.t_max = T_MAX_FACTOR * 1e6 * optimal_time(job, s->norm * 1e-3);
      opt.interrupt = &dln_cli_interrupted;
      double factor = pow(BLOWUP_TAIL, -1.0 / (double)(job->depth - 2));
      status = dln_escape_blowup_time(p, &job->origin, s->theta0, &opt, factor, &s->blowup);
    } else if (job->P <= LINEAR_DENSE_MAX) {
      status = dln_escape_linear_alloc(p, s->theta0, &s->linear);
    }
    if (status != DLN_SUCCESS) return status;
  }
  return DLN_SUCCESS;
}

/* Builds the width-one network of the same depth and cost (widths n_0, 1, ..., 1, n_L). */
static int width_one_setup(const dln_config *cfg, size_t depth, size_t n0, size_t nL,
                           dln_setup *out)
{
  dln_config *one = malloc(sizeof *one);
  if (!one) return dln_error(DLN_ENOMEM, "out of memory");
  *one = *cfg;
  one->nwidths = depth + 1;
  for (size_t l = 0; l <= depth; l++) one->widths[l] = 1;
  one->widths[0] = n0;
  one->widths[depth] = nL;
  snprintf(one->scheme, sizeof one->scheme, "scaled"); /* θ(0) comes from ρ, not the config */
  one->alpha = 1.0;
  int status = dln_setup_build(one, out);
  free(one);
  return status;
}

/* --path: integrates the width-one flow from d0 ρ to the radius, then samples A_1(τ) on
 * [0, τ_max], τ_max where its gradient has settled. */
static int prepare_path(escape_job *job)
{
  dln_setup one = {0};
  int status = width_one_setup(job->cfg, job->depth, job->origin.cols, job->origin.rows, &one);
  size_t P1 = status == DLN_SUCCESS ? dln_problem_nparams(one.problem) : 0;
  double *start = malloc((P1 ? P1 : 1) * sizeof *start), *cross = malloc((P1 ? P1 : 1) * sizeof *cross);
  job->taus = malloc(PATH_SAMPLES * sizeof *job->taus);
  job->A_ref = malloc(PATH_SAMPLES * job->amat * sizeof *job->A_ref);
  if (status == DLN_SUCCESS && (!start || !cross || !job->taus || !job->A_ref))
    status = dln_error(DLN_ENOMEM, "out of memory");
  dln_escape_result r;
  dln_flow_options opt = job->cfg->solver;
  opt.interrupt = &dln_cli_interrupted;
  job->path_d0 = PATH_START_FRACTION * job->radius;
  if (status == DLN_SUCCESS) {
    dln_escape_optimal_start(dln_problem_network(one.problem), &job->origin, job->path_d0, start);
    opt.t_max = T_MAX_FACTOR * optimal_time(job, job->path_d0);
    status = dln_escape_run(one.problem, start, job->radius, &opt, &job->origin, cross, &r);
  }
  if (status == DLN_SUCCESS && !r.reached)
    status = dln_error(DLN_ESOLVER, "--path: the width-one flow from d0 rho did not reach the "
                       "radius by t = %g", opt.t_max);
  if (status == DLN_SUCCESS) {
    job->path_t_cross = r.t;
    opt.t_max = 1e6 * optimal_time(job, 0.5 * job->radius);
    status = dln_escape_settle_time(one.problem, cross, &opt, PATH_SETTLE, &job->path_tau_max);
  }
  if (status == DLN_SUCCESS) {
    for (size_t k = 0; k < PATH_SAMPLES; k++)
      job->taus[k] = job->path_tau_max * (double)k / (double)(PATH_SAMPLES - 1);
    status = dln_escape_follow(one.problem, cross, &opt, job->taus, PATH_SAMPLES, job->A_ref);
  }
  free(start);
  free(cross);
  dln_setup_release(&one);
  return status;
}

/* ---- phase 3: the runs -------------------------------------------------------------- */

/* Returns sup_k ||A(τ_k) - A_1(τ_k)||_F / ||A_1(τ_k)||_F. */
static double path_distance(const escape_job *job, const double *A)
{
  double worst = 0.0;
  for (size_t k = 0; k < PATH_SAMPLES; k++) {
    const double *ref = job->A_ref + k * job->amat, *a = A + k * job->amat;
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < job->amat; i++) {
      diff += (a[i] - ref[i]) * (a[i] - ref[i]);
      norm += ref[i] * ref[i];
    }
    worst = fmax(worst, sqrt(diff / norm));
  }
  return worst;
}

/* Runs one (seed, α): escape, then (--path) the path after it. */
static int run_task(escape_job *job, dln_problem *p, double *theta, double *A, escape_task *t)
{
  const seed_info *s = &job->seeds[t->seed_index];
  for (size_t i = 0; i < job->P; i++) theta[i] = t->alpha * s->theta0[i];
  dln_flow_options opt = job->cfg->solver;
  opt.interrupt = &dln_cli_interrupted;
  opt.t_max = task_t_max(job, t);
  int status = dln_escape_run(p, theta, job->radius, &opt, &job->origin, theta, &t->result);
  if (status == DLN_SUCCESS && !t->result.reached)
    status = dln_error(DLN_ESOLVER, "||theta|| did not reach %g by t = %g (%g times the "
                       "prediction)", job->radius, opt.t_max, T_MAX_FACTOR);
  if (status == DLN_SUCCESS && job->args->path) {
    status = dln_escape_follow(p, theta, &opt, job->taus, PATH_SAMPLES, A);
    if (status == DLN_SUCCESS) t->path_distance = path_distance(job, A);
  }
  return status;
}

typedef struct worker {
  escape_job *job;
  dln_setup setup;  /* this worker's own problem: dln_problem is not thread-safe */
  double *theta, *A;
} worker;

static void *work(void *data)
{
  worker *w = data;
  escape_job *job = w->job;
  /* After an interrupt no run starts, and the ones it cut short are not done. */
  while (!dln_cli_interrupted) {
    pthread_mutex_lock(&job->lock);
    size_t i = job->next++;
    pthread_mutex_unlock(&job->lock);
    if (i >= job->ntasks) break;
    escape_task *t = &job->tasks[i];
    t->status = run_task(job, w->setup.problem, w->theta, w->A, t);
    if (t->status != DLN_SUCCESS)
      snprintf(t->message, sizeof t->message, "%s", dln_error_message());
    t->done = !dln_cli_interrupted;
    if (!t->done) t->path_distance = NAN;
  }
  return NULL;
}

/* Runs every task on `jobs` threads, each with its own problem built from the configuration. */
static int run_tasks(escape_job *job, int jobs)
{
  worker *w = calloc((size_t)jobs, sizeof *w);
  pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
  int status = w && threads ? DLN_SUCCESS : dln_error(DLN_ENOMEM, "out of memory");
  int started = 0;
  for (int k = 0; status == DLN_SUCCESS && k < jobs; k++) {
    w[k].job = job;
    status = dln_setup_build(job->cfg, &w[k].setup);
    w[k].theta = malloc(job->P * sizeof *w[k].theta);
    w[k].A = malloc(PATH_SAMPLES * job->amat * sizeof *w[k].A);
    if (status == DLN_SUCCESS && (!w[k].theta || !w[k].A))
      status = dln_error(DLN_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&job->lock, NULL);
  job->next = 0;
  for (; status == DLN_SUCCESS && started < jobs; started++)
    if (pthread_create(&threads[started], NULL, work, &w[started]) != 0)
      status = dln_error(DLN_ENOMEM, "cannot start worker thread %d", started + 1);
  if (status != DLN_SUCCESS && started == 0) job->next = job->ntasks;
  if (status != DLN_SUCCESS && started > 0) status = DLN_SUCCESS; /* fewer threads still work */
  for (int k = 0; k < started; k++) pthread_join(threads[k], NULL);
  pthread_mutex_destroy(&job->lock);
  for (int k = 0; w && k < jobs; k++) {
    dln_setup_release(&w[k].setup);
    free(w[k].theta);
    free(w[k].A);
  }
  free(w);
  free(threads);
  return status;
}

/* ---- phase 4: fits and outputs ------------------------------------------------------ */

/* Returns whether task t ran to its end and escaped. */
static int escaped(const escape_task *t) { return t->done && t->status == DLN_SUCCESS; }

/* The fitted laws of one seed. */
typedef struct seed_fits {
  dln_escape_fit all;       /* L = 2: t against log(1/α); L > 2: log t against log(1/α) */
  dln_escape_fit decade;    /* the same over the smallest decade of α */
  double ratio_smallest;    /* t/t_predicted at the smallest α */
  double aligned_smallest;  /* alignment at the smallest α */
  int ok;
} seed_fits;

static seed_fits fit_seed(const escape_job *job, size_t k)
{
  seed_fits f;
  memset(&f, 0, sizeof f);
  /* A fit through fewer than two points has no numbers (nan in the table, null in JSON). */
  f.all.slope = f.all.slope_stderr = f.all.intercept = f.all.intercept_stderr = NAN;
  f.decade = f.all;
  size_t n = job->args->count, m = 0, md = 0;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd);
  const escape_task *row = job->tasks + k * n;
  double alpha_min = job->alphas[n - 1];
  for (size_t i = 0; x && y && xd && yd && i < n; i++) {
    if (!escaped(&row[i])) continue;
    double lx = log(1.0 / row[i].alpha), t = row[i].result.t;
    x[m] = lx;
    y[m++] = job->depth == 2 ? t : log(t);
    if (row[i].alpha <= 10.0 * alpha_min * (1.0 + 1e-9)) {
      xd[md] = lx;
      yd[md++] = y[m - 1];
    }
  }
  f.ok = m >= 2 && dln_escape_fit_line(x, y, m, &f.all) == DLN_SUCCESS;
  if (md >= 2) dln_escape_fit_line(xd, yd, md, &f.decade);
  const escape_task *last = &row[n - 1];
  f.ratio_smallest = escaped(last) ? last->result.t / last->t_predicted : NAN;
  f.aligned_smallest = escaped(last) ? last->result.alignment : NAN;
  free(x);
  free(y);
  free(xd);
  free(yd);
  return f;
}

static json_t *real_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *fit_json(const dln_escape_fit *f)
{
  return json_pack("{s:I, s:o, s:o, s:o, s:o}", "points", (json_int_t)f->n, "slope",
                   real_or_null(f->slope), "slope_stderr", real_or_null(f->slope_stderr),
                   "intercept", real_or_null(f->intercept), "intercept_stderr",
                   real_or_null(f->intercept_stderr));
}

/* The per-seed record of escape.json. */
static json_t *seed_json(const escape_job *job, size_t k, const seed_fits *f)
{
  const seed_info *s = &job->seeds[k];
  json_t *o = json_pack("{s:I, s:f, s:o, s:o, s:o}", "seed", (json_int_t)s->seed, "theta0_norm",
                        s->norm, "fit", fit_json(&f->all), "ratio_smallest_alpha",
                        real_or_null(f->ratio_smallest), "alignment_smallest_alpha",
                        real_or_null(f->aligned_smallest));
  json_object_set_new(o, "fit_smallest_decade", fit_json(&f->decade));
  if (job->depth > 2) {
    json_object_set_new(o, "T_H", json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:o}", "T",
                                             s->blowup.T, "t_R", s->blowup.t_R, "R", s->blowup.R,
                                             "c", s->blowup.c, "tail", s->blowup.tail,
                                             "tail_fraction", s->blowup.tail / s->blowup.T,
                                             "stats", dln_cli_stats_json(&s->blowup.stats)));
  }
  return o;
}

static int write_csv(const escape_job *job, const char *path)
{
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status != DLN_SUCCESS) return status;
  fprintf(f.fp, "seed,alpha,t_escape,t_predicted,ratio,alignment,sv_ratio,balance,"
                "path_distance,steps,rhs_evals,hvp_evals,error_test_fails,reached\n");
  char b[8][40];
  for (size_t i = 0; i < job->ntasks; i++) {
    const escape_task *t = &job->tasks[i];
    const dln_escape_result *r = &t->result;
    if (!t->done) continue; /* never ran, or cut short by an interrupt */
    int ok = t->status == DLN_SUCCESS;
    fprintf(f.fp, "%lu,%s,%s,%s,%s,%s,%s,%s,%s,%ld,%ld,%ld,%ld,%d\n",
            job->seeds[t->seed_index].seed, dln_format_double(b[0], 40, t->alpha, 0),
            dln_format_double(b[1], 40, ok ? r->t : NAN, 1),
            dln_format_double(b[2], 40, t->t_predicted, 1),
            dln_format_double(b[3], 40, ok ? r->t / t->t_predicted : NAN, 1),
            dln_format_double(b[4], 40, ok ? r->alignment : NAN, 1),
            dln_format_double(b[5], 40, ok ? r->sv_ratio : NAN, 1),
            dln_format_double(b[6], 40, ok ? r->balance : NAN, 1),
            dln_format_double(b[7], 40, t->path_distance, 1), r->stats.steps, r->stats.rhs_evals,
            r->stats.hvps, r->stats.error_test_fails, ok && r->reached);
  }
  return dln_outfile_commit(&f);
}

static int write_json(const escape_job *job, const char *path, const seed_fits *fits,
                      const char *state, size_t finished)
{
  const dln_escape_origin *o = &job->origin;
  size_t n = job->args->count, K = job->args->seeds;
  json_t *alphas = json_array(), *seeds = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(alphas, json_real(job->alphas[i]));
  size_t aligned = 0;
  for (size_t k = 0; k < K; k++) {
    json_array_append_new(seeds, seed_json(job, k, &fits[k]));
    aligned += fits[k].aligned_smallest > ALIGNED;
  }
  json_t *root = json_pack(
      "{s:s, s:s, s:o, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:b, s:I, s:o, s:f, s:o, s:o, s:f}",
      "command", "escape", "status", state, "config", dln_cli_config_json(job->cfg), "depth",
      (json_int_t)job->depth, "nparams", (json_int_t)job->P, "s1", o->s1, "s2", o->s2, "s_star",
      dln_escape_speed(job->depth, o->s1), "kappa", o->kappa, "radius", job->radius,
      "radius_default", job->radius_default, "theta0_seed", (json_int_t)job->seeds[0].seed,
      "fit", fit_json(&fits[0].all), "slope_predicted",
      job->depth == 2 ? 1.0 / o->s1 : (double)(job->depth - 2), "alphas", alphas, "seeds", seeds,
      "aligned_fraction", (double)aligned / (double)K);
  if (!root) return dln_error(DLN_ENOMEM, "cannot build escape.json");
  json_object_set_new(root, "runs_planned", json_integer((json_int_t)job->ntasks));
  json_object_set_new(root, "runs_finished", json_integer((json_int_t)finished));
  json_object_set_new(root, "ratio_smallest_alpha", real_or_null(fits[0].ratio_smallest));
  json_object_set_new(root, "fit_smallest_decade", fit_json(&fits[0].decade));
  if (job->depth > 2) json_object_set_new(root, "T_H", json_real(job->seeds[0].blowup.T));
  if (job->args->path) {
    json_t *d = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(d, real_or_null(job->tasks[i].path_distance));
    json_object_set_new(root, "path", json_pack("{s:f, s:f, s:f, s:I, s:o}", "d0", job->path_d0,
                                                "t_cross", job->path_t_cross, "tau_max",
                                                job->path_tau_max, "samples",
                                                (json_int_t)PATH_SAMPLES, "distance", d));
  }
  json_object_set_new(root, "versions", dln_cli_versions_json());
  int status = dln_cli_write_json(path, root);
  json_decref(root);
  return status;
}

/* The plot script, written next to the CSV so that the figure can be redrawn from it. */
static const char PLOT_SCRIPT[] =
    "# Escape times against alpha (dlnflow escape): measured and predicted, log-log.\n"
    "# Redraw with: gnuplot -e \"term='pngcairo'; ext='png'\" escape.gp (in this folder)\n"
    "if (!exists(\"term\")) term = \"pngcairo\"\n"
    "if (!exists(\"ext\")) ext = \"png\"\n"
    "if (term eq \"svg\") { set terminal svg size 800,600 dynamic font \"sans,11\" } \\\n"
    "else { set terminal pngcairo size 800,600 font \"sans,10\" }\n"
    "set output \"escape.\" . ext\n"
    "set datafile separator \",\"\n"
    "set datafile missing \"\"\n"
    "set logscale xy\n"
    "set format x \"10^{%L}\"\n"
    "set format y \"10^{%L}\"\n"
    "set grid\n"
    "set key top right\n"
    "set xlabel \"alpha\"\n"
    "set ylabel \"time to ||theta|| = r\"\n"
    "set title TITLE\n"
    "plot \"escape.csv\" using 2:3 skip 1 with points pt 7 ps 1.2 title \"t_escape (flow)\", \\\n"
    "     \"escape.csv\" using 2:4 skip 1 with lines lw 2 title \"t_predicted\"\n";

/* Writes escape.gp and runs gnuplot on it for escape.png and escape.svg. Returns 0 when both
 * pictures were drawn. */
static int draw_plot(const escape_job *job)
{
  char path[DLN_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/escape.gp", job->cfg->out_dir);
  dln_outfile f;
  if (dln_outfile_open(&f, path) != DLN_SUCCESS) return -1;
  fprintf(f.fp, "TITLE = \"L = %zu, s1 = %.4g, r = %.4g: %s\"\n", job->depth, job->origin.s1,
          job->radius, job->depth == 2 ? "t_predicted = linear flow" : "t_predicted = alpha^-(L-2) T_H");
  fputs(PLOT_SCRIPT, f.fp);
  if (dln_outfile_commit(&f) != DLN_SUCCESS) return -1;
  const char *terms[2][2] = {{"pngcairo", "png"}, {"svg", "svg"}};
  for (int i = 0; i < 2; i++) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      char expr[64];
      snprintf(expr, sizeof expr, "term='%s'; ext='%s'", terms[i][0], terms[i][1]);
      if (chdir(job->cfg->out_dir) != 0) _exit(127);
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, STDERR_FILENO);
      execlp("gnuplot", "gnuplot", "-e", expr, "escape.gp", (char *)NULL);
      _exit(127);
    }
    int wstatus;
    if (waitpid(pid, &wstatus, 0) < 0 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
      return -1;
  }
  return 0;
}

static void print_table(const escape_job *job, const seed_fits *fits)
{
  const dln_escape_origin *o = &job->origin;
  size_t n = job->args->count, L = job->depth;
  printf("dlnflow escape: %s -> %s\n", job->cfg->source, job->cfg->out_dir);
  printf("  network  L = %zu, P = %zu; G0 = grad C(0): s1 = %.6g, s2 = %.6g, s* = %.6g\n", L,
         job->P, o->s1, o->s2, dln_escape_speed(L, o->s1));
  printf("  radius   r = %.6g%s\n", job->radius,
         job->radius_default ? " (default: half the norm of the rank-one critical point)" : "");
  for (size_t k = 0; k < job->args->seeds; k++) {
    const seed_info *s = &job->seeds[k];
    const seed_fits *f = &fits[k];
    printf("  theta0   init.seed = %lu, ||theta0|| = %.6g\n", s->seed, s->norm);
    if (L > 2)
      printf("  T_H      %.10g (integrated to R = %.3g, tail %.3g = %.2g of it)\n", s->blowup.T,
             s->blowup.R, s->blowup.tail, s->blowup.tail / s->blowup.T);
    printf("  %-10s %-14s %-14s %-12s %-9s %-9s %-9s %-7s%s\n", "alpha", "t_escape",
           "t_predicted", L == 2 ? "t/t_lin" : "t a^(L-2)/T_H", "align", "sv2/sv1", "balance",
           "steps", job->args->path ? " path_dist" : "");
    for (size_t i = 0; i < n; i++) {
      const escape_task *t = &job->tasks[k * n + i];
      if (!t->done) continue;
      if (t->status != DLN_SUCCESS) {
        printf("  %-10.4g failed: %s\n", t->alpha, t->message);
        continue;
      }
      printf("  %-10.4g %-14.8g %-14.8g %-12.8f %-9.6f %-9.3g %-9.3g %-7ld", t->alpha,
             t->result.t, t->t_predicted, t->result.t / t->t_predicted, t->result.alignment,
             t->result.sv_ratio, t->result.balance, t->result.stats.steps);
      if (job->args->path) printf(" %.4g", t->path_distance);
      printf("\n");
    }
    if (L == 2)
      printf("  fit      t = a log(1/alpha) + b: a = %.8g +- %.2g over all (rel. diff %.2g), "
             "%.8g +- %.2g over the smallest decade (%zu points, rel. diff %.2g); theory "
             "1/s1 = %.8g\n", f->all.slope, f->all.slope_stderr, f->all.slope * o->s1 - 1.0,
             f->decade.slope, f->decade.slope_stderr, f->decade.n,
             f->decade.slope * o->s1 - 1.0, 1.0 / o->s1);
    else
      printf("  fit      log t = p log(1/alpha) + q: p = %.6f +- %.2g over all, %.6f +- %.2g "
             "over the smallest decade (%zu points); theory L-2 = %zu\n",
             f->all.slope, f->all.slope_stderr, f->decade.slope, f->decade.slope_stderr,
             f->decade.n, L - 2);
    printf("  ratio    at the smallest alpha: %.8f (theory 1); alignment %.6f\n",
           f->ratio_smallest, f->aligned_smallest);
  }
  if (job->args->seeds > 1) {
    size_t aligned = 0;
    for (size_t k = 0; k < job->args->seeds; k++) aligned += fits[k].aligned_smallest > ALIGNED;
    printf("  seeds    %zu of %zu escape along the optimal direction (alignment > %.2f at the "
           "smallest alpha)\n", aligned, job->args->seeds, ALIGNED);
  }
  if (job->args->path)
    printf("  path     width-one reference from d0 = %.3g, tau in [0, %.6g]: sup relative "
           "distance %.3g at alpha = %.3g, %.3g at alpha = %.3g\n", job->path_d0,
           job->path_tau_max, job->tasks[0].path_distance, job->alphas[0],
           job->tasks[n - 1].path_distance, job->alphas[n - 1]);
}

/* Writes the files of the finished runs (all of them unless interrupted), `failed` of which did
 * not escape, and prints the table. */
static int write_outputs(escape_job *job, size_t finished, size_t failed)
{
  size_t K = job->args->seeds;
  seed_fits *fits = calloc(K, sizeof *fits);
  if (!fits) return dln_error(DLN_ENOMEM, "out of memory");
  for (size_t k = 0; k < K; k++) fits[k] = fit_seed(job, k);
  const char *state = finished < job->ntasks ? "interrupted" : failed ? "failed" : "completed";
  int lock = -1;
  int status = dln_cli_make_dir(job->cfg->out_dir);
  if (status == DLN_SUCCESS) status = dln_cli_lock_dir(job->cfg->out_dir, &lock);
  char path[DLN_PATH_MAX + 32];
  if (status == DLN_SUCCESS) {
    snprintf(path, sizeof path, "%s/escape.csv", job->cfg->out_dir);
    status = write_csv(job, path);
  }
  if (status == DLN_SUCCESS) {
    snprintf(path, sizeof path, "%s/escape.json", job->cfg->out_dir);
    status = write_json(job, path, fits, state, finished);
  }
  if (status == DLN_SUCCESS && draw_plot(job) != 0)
    fprintf(stderr, "dlnflow escape: warning: gnuplot could not draw escape.png/escape.svg "
            "(escape.gp is in %s)\n", job->cfg->out_dir);
  if (lock >= 0) dln_cli_unlock_dir(job->cfg->out_dir, lock);
  if (status == DLN_SUCCESS && !job->args->quiet) print_table(job, fits);
  free(fits);
  return status;
}

/* ---- the command -------------------------------------------------------------------- */

static void release_job(escape_job *job)
{
  for (size_t k = 0; job->seeds && k < job->args->seeds; k++) {
    free(job->seeds[k].theta0);
    dln_escape_linear_free(job->seeds[k].linear);
  }
  free(job->seeds);
  free(job->alphas);
  free(job->tasks);
  free(job->taus);
  free(job->A_ref);
  dln_escape_origin_release(&job->origin);
}

/* Names the first FAILURES_SHOWN finished runs that did not escape on stderr, and counts the
 * rest. */
static void report_failures(const escape_job *job, size_t failed)
{
  size_t shown = 0;
  for (size_t i = 0; i < job->ntasks && shown < FAILURES_SHOWN; i++) {
    const escape_task *t = &job->tasks[i];
    if (!t->done || t->status == DLN_SUCCESS) continue;
    fprintf(stderr, "dlnflow escape: alpha = %g, init.seed = %lu: %s\n", t->alpha,
            job->seeds[t->seed_index].seed, t->message);
    shown++;
  }
  if (failed > shown)
    fprintf(stderr, "dlnflow escape: and %zu more runs failed (escape.csv has them, reached = 0)\n",
            failed - shown);
}

/* Phases 1-2; returns a library status with its message. */
static int prepare(escape_job *job, dln_setup *setup)
{
  const escape_args *a = job->args;
  int status = dln_setup_build(job->cfg, setup);
  if (status != DLN_SUCCESS) return status;
  const dln_network *net = dln_problem_network(setup->problem);
  job->depth = dln_network_depth(net);
  job->P = dln_problem_nparams(setup->problem);
  job->amat = dln_network_width(net, 0) * dln_network_width(net, job->depth);
  if (job->depth < 2)
    return dln_error(DLN_EINVAL, "network: depth %zu has no saddle at the origin to escape "
                     "from; escape needs depth >= 2", job->depth);
  status = dln_escape_origin_compute(setup->problem, &job->origin);
  if (status != DLN_SUCCESS) return status;
  job->radius_default = a->radius == 0.0;
  job->radius = job->radius_default
                    ? RADIUS_SADDLE_FRACTION * dln_escape_saddle_norm(job->depth, &job->origin)
                    : a->radius;
  if (!isfinite(job->radius))
    return dln_error(DLN_EINVAL, "the cost has no curvature along u1 v1^T: give --radius");
  job->alphas = malloc(a->count * sizeof *job->alphas);
  job->ntasks = a->count * a->seeds;
  job->tasks = calloc(job->ntasks, sizeof *job->tasks);
  if (!job->alphas || !job->tasks) return dln_error(DLN_ENOMEM, "out of memory");
  double ratio = log(a->alpha_min / a->alpha_max) / (double)(a->count - 1);
  for (size_t i = 0; i < a->count; i++)
    job->alphas[i] = i + 1 == a->count ? a->alpha_min : a->alpha_max * exp(ratio * (double)i);
  status = prepare_seeds(job, setup);
  for (size_t i = 0; status == DLN_SUCCESS && i < job->ntasks; i++) {
    escape_task *t = &job->tasks[i];
    t->seed_index = i / a->count;
    t->alpha_index = i % a->count;
    t->alpha = job->alphas[t->alpha_index];
    t->t_predicted = predicted_time(job, &job->seeds[t->seed_index], t->alpha);
    t->path_distance = NAN;
  }
  if (status == DLN_SUCCESS) status = check_time_range(job);
  if (status == DLN_SUCCESS && a->path) status = prepare_path(job);
  return status;
}

int dln_cmd_escape(int argc, char **argv)
{
  escape_args a;
  int code = parse_args(argc, argv, &a);
  if (code != 0) {
    free(a.overrides);
    if (code < 0) escape_usage(stdout);
    return code < 0 ? DLN_EXIT_OK : code;
  }
  escape_job job;
  memset(&job, 0, sizeof job);
  job.args = &a;
  job.cfg = malloc(sizeof *job.cfg);
  dln_setup setup = {0};
  code = DLN_EXIT_USAGE;
  if (!job.cfg) goto done;
  if (dln_cli_load_config(a.config, a.overrides, a.noverrides, a.out, job.cfg) != DLN_SUCCESS)
    goto done;
  dln_cli_default_out_dir(a.config, "-escape", job.cfg);
  /* Escapes are not stiff until r: measured on examples/escape-l4.ini (P = 400), the dense
   * preconditioner that `auto` picks made the sweep 40 times slower for the same times. */
  if (job.cfg->solver.precondition == DLN_PRECOND_AUTO)
    job.cfg->solver.precondition = DLN_PRECOND_NONE;
  dln_cli_catch_interrupts();
  if (dln_cli_check_out_dir("escape", job.cfg->out_dir) != 0) goto done;
  int status = prepare(&job, &setup);
  if (status != DLN_SUCCESS && dln_cli_interrupted) {
    fprintf(stderr, "dlnflow escape: interrupted before the first run; nothing written\n");
    code = DLN_EXIT_INTERRUPTED;
    goto done;
  }
  if (status != DLN_SUCCESS) {
    dln_cli_report(a.config, status);
    code = status == DLN_EINVAL || status == DLN_EDIM || status == DLN_EIO ||
                   status == DLN_EFORMAT || status == DLN_ENONFINITE
               ? DLN_EXIT_USAGE
               : DLN_EXIT_FAILED;
    goto done;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int jobs = a.jobs > 0 ? a.jobs : (cores > 2 ? (int)cores : 2);
  if ((size_t)jobs > job.ntasks) jobs = (int)job.ntasks;
  code = DLN_EXIT_FAILED;
  if (run_tasks(&job, jobs) != DLN_SUCCESS) {
    dln_cli_report("workers", DLN_ENOMEM);
    goto done;
  }
  size_t finished = 0, failed = 0;
  for (size_t i = 0; i < job.ntasks; i++) {
    finished += job.tasks[i].done;
    failed += job.tasks[i].done && job.tasks[i].status != DLN_SUCCESS;
  }
  if (finished == 0 && dln_cli_interrupted) {
    fprintf(stderr, "dlnflow escape: interrupted after 0 of %zu runs; nothing written\n",
            job.ntasks);
    code = DLN_EXIT_INTERRUPTED;
    goto done;
  }
  status = write_outputs(&job, finished, failed);
  if (status != DLN_SUCCESS) {
    dln_cli_report("writing results", status);
    goto done;
  }
  report_failures(&job, failed);
  if (finished < job.ntasks)
    fprintf(stderr, "dlnflow escape: interrupted after %zu of %zu runs; kept them in %s\n",
            finished, job.ntasks, job.cfg->out_dir);
  code = dln_cli_interrupted ? DLN_EXIT_INTERRUPTED : failed ? DLN_EXIT_FAILED : DLN_EXIT_OK;
done:
  release_job(&job);
  dln_setup_release(&setup);
  free(job.cfg);
  free(a.overrides);
  return code;
}
