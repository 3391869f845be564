/* dlnflow distances CONFIG --widths W1,W2,... --gammas G1,G2,... [--seeds K] [--jobs N]
 *                   [--nearest] [--out DIR] [--quiet] [section.key=value ...]
 *
 * Theorem 1 measured (THEORY.md §3, include/dlnflow/distances.h). Phases:
 *   1. read and check everything: arguments, configuration, data (one set-up), the output folder;
 *   2. for every (w, γ, seed) on --jobs threads, each task with its own problem: θ0 from the
 *      gaussian init c·w^-γ (network.width = w, init.gamma = γ, init.seed + seed index), the
 *      saddle distance d_s, the minimum distances of both constructions (pinv, embed) with the
 *      excess cost C(A(θ_m)) - C(A*) as a check, with --nearest the nearest point of the
 *      minimum set reached from each of those minima (the closest kept), and ||Θ_0|| (operator and Frobenius norm of the
 *      NTK as a map on n_L x n_0 matrices) when n_L·n_0 <= NTK_M_MAX;
 *   3. medians over seeds, a log-log fit (gsl_fit_linear, standard error) of each median against
 *      w per γ, beside the theorem's exponents; write DIR/distances.csv and distances.json
 *      atomically and print the table.
 * No integration: only θ0 and products. Results are stored by task index, so they do not depend
 * on --jobs. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_fit.h>

#include "cli.h"
#include "dlnflow/distances.h"
#include "dlnflow/errors.h"
#include "dlnflow/io.h"
#include "dlnflow/ntk.h"
#include "dlnflow/setup.h"

/* Largest gamma: w^-gamma stays far from underflow for any width a machine can hold. */
#define GAMMA_MAX 20.0

/* Most entries in --widths and --gammas, and most seeds. */
#define LIST_MAX 64
#define SEEDS_MAX 10000
/* ||Θ_0|| is built from n_L·n_0 NTK applications: skipped above this many. */
#define NTK_M_MAX 400

typedef struct dist_args {
  const char *config, *out;
  size_t widths[LIST_MAX], nwidths;
  double gammas[LIST_MAX];
  size_t ngammas, seeds;
  int jobs, quiet, nearest;
  char **overrides;
  size_t noverrides;
} dist_args;

/* One (w, γ, seed). */
typedef struct dist_task {
  size_t w;
  double gamma;
  unsigned long seed;
  double d_saddle, d_pinv, d_embed, d_proj, d_nearest; /* distances from θ0 */
  double excess_pinv, excess_embed, excess_proj, excess_nearest; /* C(A(θ_m)) - C(A*) */
  double kkt_nearest;                   /* ||P_T(θ_m - θ0)|| / ||θ_m - θ0|| at the nearest */
  double ntk_op, ntk_fro;               /* ||Θ_0||, NaN when skipped */
  double ntk_mean;                      /* tr Θ_0 / m: its expectation is L (c w^(1-γ))^(L-1) */
  int status;
  char message[256];
} dist_task;

typedef struct dist_job {
  const dist_args *args;
  const dln_config *cfg;
  size_t depth, n0, nL;
  dist_task *tasks;
  size_t ntasks, next;
  pthread_mutex_t lock;
} dist_job;

static void distances_usage(FILE *out)
{
  fprintf(out,
          "usage: dlnflow distances CONFIG --widths W1,W2,... --gammas G1,G2,... [--seeds K]\n"
          "                         [--jobs N] [--nearest] [--out DIR] [--quiet]\n"
          "                         [section.key=value ...]\n"
          "Draws theta0 ~ N(0, c w^-gamma) for every width, gamma and seed, and measures the\n"
          "distances to Theorem 1's explicit saddle and minima and the NTK norm at theta0 (with\n"
          "--nearest also to the nearest minimum the search reaches from those); fits\n"
          "their medians against w. Writes DIR/distances.csv and distances.json (DIR defaults to\n"
          "output.dir, else runs/<config name>-distances). See docs/dlnflow-distances.md.\n");
}

/* ---- arguments ---------------------------------------------------------------------- */

/* Parses "a,b,c" into numbers (whole >= 1 when whole is set, else positive finite). Returns
 * the count, or 0 after naming the option. */
static size_t parse_list(const char *opt, const char *text, int whole, double *out)
{
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", text);
  size_t n = 0;
  char *save = NULL, *item = strtok_r(buf, ",", &save);
  if (!item) goto bad;
  for (; item; item = strtok_r(NULL, ",", &save)) {
    char *end;
    errno = 0;
    double x = strtod(item, &end);
    if (end == item || *end != '\0' || errno != 0 || !isfinite(x) || !(x > 0.0) ||
        (whole && (x != floor(x) || x > 1e7)) || n == LIST_MAX)
      goto bad;
    out[n++] = x;
  }
  return n;
bad:
  fprintf(stderr, "dlnflow distances: %s '%s': expected a comma-separated list of up to %d %s\n",
          opt, text, LIST_MAX, whole ? "whole numbers from 1 to 1e7" : "positive numbers");
  return 0;
}

/* Returns 0 on success, DLN_EXIT_USAGE after printing the problem, -1 for --help. */
static int parse_args(int argc, char **argv, dist_args *a)
{
  memset(a, 0, sizeof *a);
  a->seeds = 1;
  a->overrides = calloc((size_t)argc, sizeof *a->overrides);
  if (!a->overrides) return DLN_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) return -1;
    int takes_value = strcmp(opt, "--out") == 0 || strcmp(opt, "-o") == 0 ||
                      strcmp(opt, "--widths") == 0 || strcmp(opt, "--gammas") == 0 ||
                      strcmp(opt, "--seeds") == 0 || strcmp(opt, "--jobs") == 0 ||
                      strcmp(opt, "-j") == 0;
    if (takes_value && i + 1 >= argc) {
      fprintf(stderr, "dlnflow distances: %s needs a value\n", opt);
      return DLN_EXIT_USAGE;
    }
    const char *v = takes_value ? argv[++i] : NULL;
    double list[LIST_MAX];
    if (strcmp(opt, "--quiet") == 0 || strcmp(opt, "-q") == 0) {
      a->quiet = 1;
    } else if (strcmp(opt, "--nearest") == 0) {
      a->nearest = 1;
    } else if (strcmp(opt, "--out") == 0 || strcmp(opt, "-o") == 0) {
      a->out = v;
    } else if (strcmp(opt, "--widths") == 0) {
      if (!(a->nwidths = parse_list(opt, v, 1, list))) return DLN_EXIT_USAGE;
      for (size_t k = 0; k < a->nwidths; k++) a->widths[k] = (size_t)list[k];
    } else if (strcmp(opt, "--gammas") == 0) {
      if (!(a->ngammas = parse_list(opt, v, 0, a->gammas))) return DLN_EXIT_USAGE;
      for (size_t k = 0; k < a->ngammas; k++)
        if (a->gammas[k] > GAMMA_MAX) {
          /* The variance c w^-γ underflows long before: no θ0 to measure from. */
          fprintf(stderr, "dlnflow distances: --gammas: %g is above %g (the variance c w^-gamma "
                          "would underflow)\n", a->gammas[k], GAMMA_MAX);
          return DLN_EXIT_USAGE;
        }
    } else if (takes_value) { /* --seeds, --jobs */
      size_t n = parse_list(opt, v, 1, list);
      if (n != 1 || list[0] > SEEDS_MAX) {
        if (n == 1) fprintf(stderr, "dlnflow distances: %s '%s': at most %d\n", opt, v, SEEDS_MAX);
        else if (n > 1) fprintf(stderr, "dlnflow distances: %s '%s': one number\n", opt, v);
        return DLN_EXIT_USAGE;
      }
      if (strcmp(opt, "--seeds") == 0) a->seeds = (size_t)list[0];
      else a->jobs = (int)list[0];
    } else if (dln_cli_take_argument("distances", argv[i], &a->config, a->overrides,
                                     &a->noverrides) != 0) {
      return DLN_EXIT_USAGE;
    }
  }
  const char *missing = !a->config ? "CONFIG" : !a->nwidths ? "--widths" : !a->ngammas ? "--gammas" : NULL;
  if (missing) {
    fprintf(stderr, "dlnflow distances: missing %s\n", missing);
    distances_usage(stderr);
    return DLN_EXIT_USAGE;
  }
  for (size_t i = 1; i < a->nwidths; i++)
    if (a->widths[i] <= a->widths[i - 1]) {
      fprintf(stderr, "dlnflow distances: --widths: give distinct widths in increasing order\n");
      return DLN_EXIT_USAGE;
    }
  if (a->nwidths < 2) {
    fprintf(stderr, "dlnflow distances: --widths: need at least 2 widths to fit an exponent\n");
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* ---- phase 2: one task -------------------------------------------------------------- */

/* The theorem's exponents for d_s and d_m at depth L (THEORY.md §3); valid for γ >= 1 - 1/L. */
static double predicted_saddle(double gamma) { return (1.0 - gamma) / 2.0; }
static double predicted_minimum(double gamma, size_t L)
{
  return gamma < 1.0 ? -(1.0 - gamma) * (double)(L - 1) / 2.0 : 0.0;
}

/* Returns C(A(θ)) - C(A*). */
static int excess(dln_problem *p, const double *theta, double cmin, double *out)
{
  double c;
  int status = dln_problem_loss(p, theta, &c);
  *out = c - cmin;
  return status;
}

/* With --nearest: the nearest point reached from the minimum `start` (DLN_SUCCESS on the set,
 * else left out); keeps the closest so far in t->d_nearest and best. Fails only when out of
 * memory. */
static int nearest_from(dln_problem *p, const double *theta0, const double *Astar,
                        const double *start, double cmin, double *best, dist_task *t)
{
  double d, kkt;
  int status = dln_distance_minimum_nearest(dln_problem_network(p), theta0, Astar, start, best,
                                            &d, &kkt);
  if (status == DLN_ENOMEM) return status;
  if (status != DLN_SUCCESS || !(isnan(t->d_nearest) || d < t->d_nearest)) return DLN_SUCCESS;
  t->d_nearest = d;
  t->kkt_nearest = kkt;
  return excess(p, best, cmin, &t->excess_nearest);
}

static int measure(const dist_job *job, dist_task *t)
{
  dln_config cfg = *job->cfg;
  cfg.width = t->w;
  cfg.gamma = t->gamma;
  cfg.seed = t->seed;
  snprintf(cfg.scheme, sizeof cfg.scheme, "gaussian");
  dln_setup s = {0};
  size_t m = job->n0 * job->nL;
  double *Astar = NULL, *theta = NULL, *best = NULL, *K = NULL;
  int status = dln_setup_build(&cfg, &s);
  if (status != DLN_SUCCESS) goto done;
  dln_problem *p = s.problem;
  const dln_network *net = dln_problem_network(p);
  size_t P = dln_problem_nparams(p);
  Astar = malloc(m * sizeof *Astar);
  theta = malloc(P * sizeof *theta);
  best = job->args->nearest ? malloc(P * sizeof *best) : NULL;
  K = m <= NTK_M_MAX ? malloc(m * m * sizeof *K) : NULL;
  if (!Astar || !theta || (job->args->nearest && !best) || (m <= NTK_M_MAX && !K)) {
    status = dln_error(DLN_ENOMEM, "out of memory at width %zu", t->w);
    goto done;
  }
  double cmin, loss0;
  status = dln_problem_start_loss(p, s.theta0, &loss0);
  if (status == DLN_SUCCESS) status = dln_cost_minimiser(dln_problem_cost(p), Astar);
  if (status == DLN_SUCCESS) status = dln_cost_evaluate(dln_problem_cost(p), Astar, &cmin, NULL);
  /* The nearest point is searched from each minimum below that lies on the set. */
  t->d_nearest = t->excess_nearest = t->kkt_nearest = NAN;
  int nearest = job->args->nearest;
  if (status == DLN_SUCCESS) status = dln_distance_saddle(net, s.theta0, NULL, &t->d_saddle);
  if (status == DLN_SUCCESS)
    status = dln_distance_minimum_pinv(net, s.theta0, Astar, theta, &t->d_pinv);
  if (status == DLN_SUCCESS) status = excess(p, theta, cmin, &t->excess_pinv);
  if (status == DLN_SUCCESS && nearest)
    status = nearest_from(p, s.theta0, Astar, theta, cmin, best, t);
  if (status == DLN_SUCCESS)
    status = dln_distance_minimum_embed(net, s.theta0, Astar, theta, &t->d_embed);
  if (status == DLN_SUCCESS) status = excess(p, theta, cmin, &t->excess_embed);
  if (status == DLN_SUCCESS && nearest)
    status = nearest_from(p, s.theta0, Astar, theta, cmin, best, t);
  /* The projection is an extra: where Gauss-Newton does not reach the minimum set (γ > 1,
   * a tiny NTK) its distance is left out (NaN), not the whole task. */
  t->d_proj = t->excess_proj = NAN;
  if (status == DLN_SUCCESS) {
    int projected = dln_distance_minimum_projection(dln_problem_network(p), s.theta0, Astar,
                                                    theta, &t->d_proj);
    if (projected == DLN_SUCCESS) {
      status = excess(p, theta, cmin, &t->excess_proj);
      if (status == DLN_SUCCESS && nearest)
        status = nearest_from(p, s.theta0, Astar, theta, cmin, best, t);
    } else if (projected == DLN_ENOMEM) {
      status = projected;
    } else {
      t->d_proj = NAN;
    }
  }
  t->ntk_op = t->ntk_fro = t->ntk_mean = NAN;
  if (status == DLN_SUCCESS && K) {
    status = dln_ntk_matrix(p, s.theta0, K);
    if (status == DLN_SUCCESS) status = dln_ntk_operator_norm(m, K, &t->ntk_op);
    t->ntk_fro = dln_ntk_frobenius(m, K);
    t->ntk_mean = 0.0;
    for (size_t i = 0; i < m; i++) t->ntk_mean += K[i * m + i] / (double)m;
  }
done:
  if (status != DLN_SUCCESS) snprintf(t->message, sizeof t->message, "%s", dln_error_message());
  t->status = status;
  free(Astar);
  free(theta);
  free(best);
  free(K);
  dln_setup_release(&s);
  return status;
}

static void *work(void *data)
{
  dist_job *job = data;
  for (;;) {
    pthread_mutex_lock(&job->lock);
    size_t i = job->next++;
    pthread_mutex_unlock(&job->lock);
    if (i >= job->ntasks || dln_cli_interrupted) break;
    measure(job, &job->tasks[i]);
  }
  return NULL;
}

/* ---- phase 3: medians, fits, outputs ------------------------------------------------ */

static int compare_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

enum { Q_SADDLE, Q_PINV, Q_EMBED, Q_PROJ, Q_NEAREST, Q_NTK, Q_NTKMEAN, NQ };
static const char *const QNAME[NQ] = {"d_saddle", "d_min_pinv", "d_min_embed", "d_min_proj",
                                      "d_min_nearest", "ntk_op", "ntk_mean"};

static double task_value(const dist_task *t, int q)
{
  return q == Q_SADDLE ? t->d_saddle : q == Q_PINV ? t->d_pinv : q == Q_EMBED ? t->d_embed
       : q == Q_PROJ  ? t->d_proj
       : q == Q_NEAREST ? t->d_nearest
       : q == Q_NTK   ? t->ntk_op
                      : t->ntk_mean;
}

/* Returns the median over seeds of quantity q at (width index i, gamma index g). */
static double median(const dist_job *job, size_t i, size_t g, int q)
{
  size_t K = job->args->seeds, n = 0;
  double v[SEEDS_MAX];
  for (size_t k = 0; k < K; k++) {
    const dist_task *t = &job->tasks[(g * job->args->nwidths + i) * K + k];
    double x = task_value(t, q);
    if (t->status == DLN_SUCCESS && isfinite(x)) v[n++] = x;
  }
  if (n == 0) return NAN;
  qsort(v, n, sizeof *v, compare_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct fit {
  double slope, stderr_, intercept;
} fit;

/* Fits log median = c0 + slope log w over the widths for gamma index g. */
static fit fit_exponent(const dist_job *job, size_t g, int q)
{
  size_t n = 0;
  double x[LIST_MAX], y[LIST_MAX];
  for (size_t i = 0; i < job->args->nwidths; i++) {
    double m = median(job, i, g, q);
    if (!(m > 0.0)) continue;
    x[n] = log((double)job->args->widths[i]);
    y[n++] = log(m);
  }
  fit f = {NAN, NAN, NAN};
  double cov00, cov01, cov11, sumsq;
  if (n >= 2 && gsl_fit_linear(x, 1, y, 1, n, &f.intercept, &f.slope, &cov00, &cov01, &cov11,
                               &sumsq) == 0)
    f.stderr_ = n > 2 ? sqrt(cov11) : NAN;
  return f;
}

static double predicted(const dist_job *job, double gamma, int q)
{
  size_t L = job->depth;
  if (q == Q_SADDLE) return predicted_saddle(gamma);
  if (q == Q_NTK || q == Q_NTKMEAN) return (1.0 - gamma) * (double)(L - 1);
  return predicted_minimum(gamma, L);
}

static json_t *real_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static int write_csv(const dist_job *job, const char *path)
{
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status != DLN_SUCCESS) return status;
  fprintf(f.fp, "width,gamma,seed,d_saddle,d_min_pinv,d_min_embed,d_min_proj,d_min_nearest,"
                "excess_pinv,excess_embed,excess_proj,excess_nearest,kkt_nearest,ntk_op,ntk_fro,"
                "ntk_mean,ntk_predicted\n");
  char b[15][40];
  double c = job->cfg->c;
  for (size_t i = 0; i < job->ntasks; i++) {
    const dist_task *t = &job->tasks[i];
    if (t->status != DLN_SUCCESS) continue;
    double pred = (double)job->depth * pow(c * pow((double)t->w, 1.0 - t->gamma), (double)(job->depth - 1));
    fprintf(f.fp, "%zu,%s,%lu,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", t->w,
            dln_format_double(b[0], 40, t->gamma, 0), t->seed,
            dln_format_double(b[1], 40, t->d_saddle, 1),
            dln_format_double(b[2], 40, t->d_pinv, 1), dln_format_double(b[3], 40, t->d_embed, 1),
            dln_format_double(b[10], 40, t->d_proj, 1),
            dln_format_double(b[12], 40, t->d_nearest, 1),
            dln_format_double(b[4], 40, t->excess_pinv, 1),
            dln_format_double(b[5], 40, t->excess_embed, 1),
            dln_format_double(b[11], 40, t->excess_proj, 1),
            dln_format_double(b[13], 40, t->excess_nearest, 1),
            dln_format_double(b[14], 40, t->kkt_nearest, 1),
            dln_format_double(b[6], 40, t->ntk_op, 1), dln_format_double(b[7], 40, t->ntk_fro, 1),
            dln_format_double(b[8], 40, t->ntk_mean, 1), dln_format_double(b[9], 40, pred, 1));
  }
  return dln_outfile_commit(&f);
}

static int write_json(const dist_job *job, const char *path)
{
  const dist_args *a = job->args;
  json_t *regimes = json_array(), *widths = json_array();
  for (size_t i = 0; i < a->nwidths; i++) json_array_append_new(widths, json_integer((json_int_t)a->widths[i]));
  for (size_t g = 0; g < a->ngammas; g++) {
    double gamma = a->gammas[g];
    json_t *r = json_pack("{s:f, s:b, s:s}", "gamma", gamma, "in_theorem",
                          gamma >= 1.0 - 1.0 / (double)job->depth, "minimum_construction",
                          gamma < 1.0 ? "pinv" : gamma > 1.0 ? "embed" : "both");
    for (int q = 0; q < NQ; q++) {
      json_t *med = json_array();
      for (size_t i = 0; i < a->nwidths; i++) json_array_append_new(med, real_or_null(median(job, i, g, q)));
      fit f = fit_exponent(job, g, q);
      json_object_set_new(r, QNAME[q],
                          json_pack("{s:o, s:o, s:o, s:f}", "medians", med, "exponent",
                                    real_or_null(f.slope), "stderr", real_or_null(f.stderr_),
                                    "predicted", predicted(job, gamma, q)));
    }
    json_array_append_new(regimes, r);
  }
  json_t *root = json_pack("{s:s, s:o, s:I, s:I, s:I, s:f, s:I, s:o, s:o, s:s, s:s}", "command",
                           "distances", "config", dln_cli_config_json(job->cfg), "depth",
                           (json_int_t)job->depth, "n0", (json_int_t)job->n0, "nL",
                           (json_int_t)job->nL, "c", job->cfg->c, "seeds", (json_int_t)a->seeds,
                           "widths", widths, "gammas", regimes, "ntk_norm",
                           "operator norm of Theta as a map on nL x n0 matrices (Frobenius "
                           "inner product); predicted L (c w^(1-gamma))^(L-1)",
                           "minimiser", "dln_cost_minimiser (mse: min-norm least squares; mc: "
                           "observed means, test values elsewhere, else 0)");
  if (!root) return dln_error(DLN_ENOMEM, "cannot build distances.json");
  json_object_set_new(root, "versions", dln_cli_versions_json());
  int status = dln_cli_write_json(path, root);
  json_decref(root);
  return status;
}

static void print_table(const dist_job *job)
{
  const dist_args *a = job->args;
  printf("Theorem 1 at L = %zu (n0 = %zu, nL = %zu), medians over %zu seeds\n", job->depth,
         job->n0, job->nL, a->seeds);
  printf("%7s %7s", "gamma", "width");
  for (int q = 0; q < NQ; q++) printf(" %13s", QNAME[q]);
  printf("\n");
  for (size_t g = 0; g < a->ngammas; g++)
    for (size_t i = 0; i < a->nwidths; i++) {
      printf("%7.4g %7zu", a->gammas[g], a->widths[i]);
      for (int q = 0; q < NQ; q++) printf(" %13.5g", median(job, i, g, q));
      printf("\n");
    }
  printf("\nexponents of the medians against w (fit +- stderr, theorem):\n");
  printf("%7s", "gamma");
  for (int q = 0; q < NQ; q++) printf(" %-23s", QNAME[q]);
  printf("\n");
  for (size_t g = 0; g < a->ngammas; g++) {
    printf("%7.4g", a->gammas[g]);
    for (int q = 0; q < NQ; q++) {
      fit f = fit_exponent(job, g, q);
      char cell[64];
      snprintf(cell, sizeof cell, "%.3f+-%.3f (%.2f)", f.slope, f.stderr_, predicted(job, a->gammas[g], q));
      printf(" %-23s", cell);
    }
    printf("%s\n", a->gammas[g] < 1.0 - 1.0 / (double)job->depth ? "  (outside the theorem)" : "");
  }
  printf("theorem's minimum construction: pinv for gamma < 1, embed for gamma > 1, both at 1;\n"
         "d_min_nearest (--nearest): the nearest minimum a descent reaches from pinv, embed, proj\n");
}

/* ---- the command -------------------------------------------------------------------- */

/* Phase 1: one set-up at width 1 proves the configuration, the data and A*. */
static int prepare(dist_job *job, dln_config *cfg)
{
  if (cfg->nwidths != 0)
    return dln_error(DLN_EINVAL, "network.widths: distances needs a rectangular net "
                     "(network.depth and network.width, overridden by --widths)");
  if (cfg->depth < 2)
    return dln_error(DLN_EINVAL, "network.depth: %zu; Theorem 1's saddle needs depth >= 2", cfg->depth);
  dln_config small = *cfg;
  small.width = 1; /* data and shapes only */
  dln_setup s = {0};
  job->cfg = &small;
  int status = dln_setup_build(&small, &s);
  if (status == DLN_SUCCESS) {
    const dln_network *net = dln_problem_network(s.problem);
    job->depth = dln_network_depth(net);
    job->n0 = dln_network_width(net, 0);
    job->nL = dln_network_width(net, job->depth);
    double *A = malloc(job->n0 * job->nL * sizeof *A);
    status = A ? dln_cost_minimiser(dln_problem_cost(s.problem), A) : dln_error(DLN_ENOMEM, "out of memory");
    free(A);
  }
  dln_setup_release(&s);
  job->cfg = cfg;
  return status;
}

int dln_cmd_distances(int argc, char **argv)
{
  dist_args a;
  int code = parse_args(argc, argv, &a);
  if (code != 0) {
    free(a.overrides);
    if (code < 0) distances_usage(stdout);
    return code < 0 ? DLN_EXIT_OK : code;
  }
  dist_job job;
  memset(&job, 0, sizeof job);
  job.args = &a;
  dln_config *cfg = malloc(sizeof *cfg);
  code = DLN_EXIT_USAGE;
  if (!cfg || dln_cli_load_config(a.config, a.overrides, a.noverrides, a.out, cfg) != DLN_SUCCESS)
    goto done;
  dln_cli_default_out_dir(a.config, "-distances", cfg);
  if (dln_cli_check_out_dir("distances", cfg->out_dir) != 0) goto done;
  int status = prepare(&job, cfg);
  if (status != DLN_SUCCESS) {
    dln_cli_report(a.config, status);
    goto done;
  }
  dln_cli_catch_interrupts();
  job.ntasks = a.nwidths * a.ngammas * a.seeds;
  job.tasks = calloc(job.ntasks, sizeof *job.tasks);
  code = DLN_EXIT_FAILED;
  if (!job.tasks) goto done;
  for (size_t i = 0; i < job.ntasks; i++) {
    size_t k = i % a.seeds, wi = (i / a.seeds) % a.nwidths, g = i / (a.seeds * a.nwidths);
    job.tasks[i] = (dist_task){.w = a.widths[wi], .gamma = a.gammas[g], .seed = cfg->seed + k,
                               .status = -1};
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int jobs = a.jobs > 0 ? a.jobs : (cores > 2 ? (int)cores : 2);
  if ((size_t)jobs > job.ntasks) jobs = (int)job.ntasks;
  pthread_t threads[256];
  if (jobs > 256) jobs = 256;
  pthread_mutex_init(&job.lock, NULL);
  int started = 0;
  while (started < jobs && pthread_create(&threads[started], NULL, work, &job) == 0) started++;
  if (started == 0) work(&job);
  for (int k = 0; k < started; k++) pthread_join(threads[k], NULL);
  pthread_mutex_destroy(&job.lock);
  size_t failed = 0;
  for (size_t i = 0; i < job.ntasks; i++)
    if (job.tasks[i].status != DLN_SUCCESS) {
      if (failed++ < 5 && job.tasks[i].status > 0)
        fprintf(stderr, "dlnflow distances: width %zu, gamma %g, seed %lu: %s\n", job.tasks[i].w,
                job.tasks[i].gamma, job.tasks[i].seed, job.tasks[i].message);
    }
  if (dln_cli_interrupted) {
    fprintf(stderr, "dlnflow distances: interrupted; nothing written\n");
    code = DLN_EXIT_INTERRUPTED;
    goto done;
  }
  char path[DLN_PATH_MAX + 32];
  status = dln_cli_make_dir(cfg->out_dir);
  snprintf(path, sizeof path, "%s/distances.csv", cfg->out_dir);
  if (status == DLN_SUCCESS) status = write_csv(&job, path);
  snprintf(path, sizeof path, "%s/distances.json", cfg->out_dir);
  if (status == DLN_SUCCESS) status = write_json(&job, path);
  if (status != DLN_SUCCESS) {
    dln_cli_report("writing results", status);
    goto done;
  }
  if (!a.quiet) print_table(&job);
  code = failed ? DLN_EXIT_FAILED : DLN_EXIT_OK;
done:
  free(job.tasks);
  free(cfg);
  free(a.overrides);
  return code;
}
