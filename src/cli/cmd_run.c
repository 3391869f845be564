/* dlnflow run CONFIG [--out DIR] [--quiet] [section.key=value ...]
 *
 * Phases: read and check everything (configuration, data, θ(0), tolerances) before touching
 * the disk; then create the run folder, integrate while streaming trajectory.csv, and write
 * A_final.npy and summary.json. Files appear whole (written as .tmp, then renamed). A failed
 * or interrupted integration keeps the rows it had and says why in summary.json. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/hessian.h"
#include "dlnflow/io.h"
#include "dlnflow/setup.h"

/* The most singular-value columns trajectory.csv carries. */
#define MAX_SV_COLUMNS 64

typedef struct run_args {
  const char *config;
  const char *out;
  int quiet;
  int verify;             /* repeat at a 100-fold tighter tolerance and compare the events */
  char **overrides;
  size_t noverrides;
} run_args;

static void run_usage(FILE *out)
{
  fprintf(out, "usage: dlnflow run CONFIG [--out DIR] [--quiet] [--verify] [section.key=value ...]\n"
               "Integrates the gradient flow CONFIG describes and writes DIR/trajectory.csv,\n"
               "DIR/summary.json, DIR/A_final.npy and the saddles visited, DIR/events.json with\n"
               "A_*_K.npy (DIR defaults to output.dir, else runs/<config name>). --verify\n"
               "repeats the run at a 100-fold tighter tolerance and reports how much every\n"
               "event time and plateau loss moved. See docs/dlnflow-run.md, docs/events.md.\n");
}

/* Returns 0 on success, DLN_EXIT_USAGE after printing the problem, -1 for --help. */
static int parse_args(int argc, char **argv, run_args *a)
{
  memset(a, 0, sizeof *a);
  a->overrides = calloc((size_t)argc, sizeof *a->overrides);
  if (!a->overrides) return DLN_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return -1;
    if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
      a->quiet = 1;
    } else if (strcmp(argv[i], "--verify") == 0) {
      a->verify = 1;
    } else if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "-o") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "dlnflow run: --out needs a folder\n");
        return DLN_EXIT_USAGE;
      }
      a->out = argv[++i];
      if (a->out[0] == '\0') {
        fprintf(stderr, "dlnflow run: --out needs a folder (it was given '')\n");
        return DLN_EXIT_USAGE;
      }
    } else if (dln_cli_take_argument("run", argv[i], &a->config, a->overrides,
                                     &a->noverrides) != 0) {
      return DLN_EXIT_USAGE;
    }
  }
  if (!a->config) {
    fprintf(stderr, "dlnflow run: missing CONFIG\n");
    run_usage(stderr);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* ---- trajectory.csv -----------------------------------------------------------------
 * The plateau column names the kept plateau (events.json's index) a row lies in, -1 for
 * none. Whether a plateau is kept is only known when it is left, so rows inside an open
 * plateau wait in memory and are written, in order, as soon as their label is settled. */

typedef struct held_row {
  double t;
  char *head;  /* "t,...,rank,nuclear_norm" */
  char *tail;  /* ",sv1,..." */
} held_row;

typedef struct trajectory_writer {
  dln_outfile file;
  size_t nsv;            /* singular-value columns */
  double t_max;
  int quiet;
  dln_progress progress;
  const dln_events *events; /* labels rows (NULL: every row -1) */
  int ntk;               /* an ntk_change column after plateau */
  held_row *held;
  size_t nheld, capacity;
} trajectory_writer;

static void write_header(trajectory_writer *w)
{
  fprintf(w->file.fp, "t,loss,test_loss,grad_norm,theta_norm,balance_drift,rank,nuclear_norm,"
                      "plateau");
  if (w->ntk) fprintf(w->file.fp, ",ntk_change");
  for (size_t i = 0; i < w->nsv; i++) fprintf(w->file.fp, ",sv%zu", i + 1);
  fputc('\n', w->file.fp);
}

/* Formats the row's two halves around the plateau column. */
static int format_row(const trajectory_writer *w, const dln_sample *s, held_row *row)
{
  char buf[40];
  size_t size = 0;
  FILE *fp = open_memstream(&row->head, &size);
  if (!fp) return dln_error(DLN_ENOMEM, "out of memory for a trajectory row");
  fprintf(fp, "%s", dln_format_double(buf, sizeof buf, s->t, 0));
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->loss, 0));
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->test_loss, 1));
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->grad_norm, 0));
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->theta_norm, 0));
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->balance_drift, 0));
  fprintf(fp, ",%zu", s->rank);
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->nuclear_norm, 0));
  fclose(fp);
  fp = open_memstream(&row->tail, &size);
  if (!fp) return dln_error(DLN_ENOMEM, "out of memory for a trajectory row");
  if (w->ntk) fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->ntk_change, 0));
  for (size_t i = 0; i < w->nsv; i++)
    fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, s->sv[i], 0));
  fclose(fp);
  row->t = s->t;
  return row->head && row->tail ? DLN_SUCCESS
                                : dln_error(DLN_ENOMEM, "out of memory for a trajectory row");
}

/* Writes the held rows whose label is settled (all of them once the events are finished). */
static int flush_rows(trajectory_writer *w)
{
  size_t done = 0;
  for (; done < w->nheld; done++) {
    held_row *row = &w->held[done];
    long label = -1;
    if (w->events && !dln_events_label(w->events, row->t, &label)) break;
    fprintf(w->file.fp, "%s,%ld%s\n", row->head, label, row->tail);
    free(row->head);
    free(row->tail);
  }
  memmove(w->held, w->held + done, (w->nheld - done) * sizeof *w->held);
  w->nheld -= done;
  /* Rows reach the disk as they are settled, so a crash still leaves the .tmp to look at,
   * and a full disk stops the run at once instead of after the whole integration. */
  if (fflush(w->file.fp) != 0 || ferror(w->file.fp))
    return dln_error(DLN_EIO, "%s: write failed: %s", w->file.tmp_path, strerror(errno));
  return DLN_SUCCESS;
}

static void release_rows(trajectory_writer *w)
{
  for (size_t i = 0; i < w->nheld; i++) {
    free(w->held[i].head);
    free(w->held[i].tail);
  }
  free(w->held);
  w->held = NULL;
  w->nheld = w->capacity = 0;
}

static int write_row(const dln_sample *s, void *data)
{
  trajectory_writer *w = data;
  if (w->nheld == w->capacity) {
    size_t cap = w->capacity ? 2 * w->capacity : 64;
    held_row *h = realloc(w->held, cap * sizeof *h);
    if (!h) return dln_error(DLN_ENOMEM, "out of memory for trajectory rows");
    w->held = h;
    w->capacity = cap;
  }
  held_row *row = &w->held[w->nheld];
  memset(row, 0, sizeof *row);
  int status = format_row(w, s, row);
  if (status != DLN_SUCCESS) {
    free(row->head);
    free(row->tail);
    return status;
  }
  w->nheld++;
  if (!w->quiet) dln_progress_update(&w->progress, s->t, w->t_max, s->loss);
  return flush_rows(w);
}

/* ---- summary.json ------------------------------------------------------------------- */

static json_t *network_json(const dln_network *net)
{
  json_t *widths = json_array();
  for (size_t l = 0; l <= dln_network_depth(net); l++)
    json_array_append_new(widths, json_integer((json_int_t)dln_network_width(net, l)));
  return json_pack("{s:I, s:o, s:I}", "depth", (json_int_t)dln_network_depth(net), "widths",
                   widths, "nparams", (json_int_t)dln_network_nparams(net));
}

static json_t *real_or_null(double x) { return x == x ? json_real(x) : json_null(); }

/* The run's results, with the costs of the zero predictor A = 0 (loss_zero, test_loss_zero). */
static json_t *result_json(const dln_run_result *r, const dln_cost *cost)
{
  double loss_zero = NAN, test_loss_zero = NAN;
  if (dln_cost_at_zero(cost, &loss_zero, &test_loss_zero) != DLN_SUCCESS)
    loss_zero = test_loss_zero = NAN;
  json_t *sv = json_array();
  for (size_t i = 0; i < r->last.nsv; i++) json_array_append_new(sv, json_real(r->last.sv[i]));
  return json_pack("{s:f, s:f, s:f, s:o, s:o, s:o, s:f, s:f, s:f, s:I, s:f, s:o, s:I}",
                   "t_final", r->last.t, "loss_initial", r->loss_initial, "loss_final",
                   r->last.loss, "test_loss_final", real_or_null(r->last.test_loss),
                   "loss_zero", real_or_null(loss_zero), "test_loss_zero",
                   real_or_null(test_loss_zero), "grad_norm_final", r->last.grad_norm,
                   "theta_norm_final", r->last.theta_norm, "balance_drift_final",
                   r->last.balance_drift, "rank_final", (json_int_t)r->last.rank,
                   "nuclear_norm_final", r->last.nuclear_norm, "singular_values_final", sv,
                   "samples", (json_int_t)r->samples);
}

/* Largest net whose final Hessian is computed densely, and Lanczos steps beyond it. */
#define HESSIAN_DENSE_MAX 2000
#define HESSIAN_LANCZOS_STEPS 60
/* Eigenvalues below this fraction of the spectral radius (negated) count as negative. */
#define HESSIAN_NEGATIVE_TOL 1e-6

/* The Hessian's extremes at the final state: negative ones mean the run ended near a saddle. */
static json_t *hessian_json(dln_problem *p, const double *theta)
{
  dln_hessian_spectrum h;
  if (dln_hessian_spectrum_compute(p, theta, HESSIAN_NEGATIVE_TOL, HESSIAN_DENSE_MAX,
                                   HESSIAN_LANCZOS_STEPS, 1, &h, NULL) != DLN_SUCCESS)
    return json_null();
  return json_pack("{s:f, s:f, s:I, s:s, s:I}", "lambda_min", h.lambda_min, "lambda_max",
                   h.lambda_max, "negative", (json_int_t)h.negative, "method",
                   h.dense ? "dense" : "lanczos", "lanczos_steps", (json_int_t)h.lanczos_steps);
}

static int write_summary(const dln_config *cfg, const dln_setup *setup, const char *status,
                         const char *message, const dln_run_result *r, const double *layer_atol)
{
  const dln_network *net = dln_problem_network(setup->problem);
  json_t *atol = json_array();
  for (size_t l = 0; l < dln_network_depth(net); l++)
    json_array_append_new(atol, json_real(layer_atol[l]));
  const dln_cost *cost = dln_problem_cost(setup->problem);
  json_t *root = json_pack(
      "{s:s, s:s, s:s, s:o, s:o, s:{s:s, s:s, s:s}, s:o, s:{s:s, s:f, s:o, s:o}, "
      "s:{s:f, s:f}, s:o}",
      "command", "run", "status", status, "message", message, "config", dln_cli_config_json(cfg),
      "network", network_json(net), "data", "cost", dln_cost_name(cost), "formula",
      dln_cost_formula(cost), "summary", setup->data_summary, "result", result_json(r, cost), "solver",
      "method", dln_method_name(cfg->solver.method), "rtol", cfg->solver.rtol, "layer_atol",
      atol, "stats", dln_cli_stats_json(&r->stats), "time", "wall_seconds", r->wall_seconds,
      "cpu_seconds", r->cpu_seconds, "versions", dln_cli_versions_json());
  if (!root) return dln_error(DLN_ENOMEM, "cannot build summary.json");
  json_object_set_new(json_object_get(root, "result"), "stop_reason",
                      json_string(dln_stop_name(r->stop)));
  /* an interrupted run owes its user a quick exit, not a Lanczos run over P parameters */
  if (r->theta_last && r->samples > 0 && r->stop != DLN_STOP_INTERRUPT)
    json_object_set_new(json_object_get(root, "result"), "hessian_final",
                        hessian_json(setup->problem, r->theta_last));
  char path[DLN_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/summary.json", cfg->out_dir);
  int code = dln_cli_write_json(path, root);
  json_decref(root);
  return code;
}

static void print_summary(const dln_config *cfg, const dln_setup *setup, const dln_run_result *r)
{
  const dln_network *net = dln_problem_network(setup->problem);
  printf("dlnflow run: %s -> %s\n", cfg->source, cfg->out_dir);
  printf("  network  L = %zu, widths", dln_network_depth(net));
  for (size_t l = 0; l <= dln_network_depth(net); l++)
    printf("%s%zu", l ? "," : " ", dln_network_width(net, l));
  printf(" (P = %zu)\n", dln_network_nparams(net));
  printf("  data     %s\n", setup->data_summary);
  printf("  solver   %s: %ld steps, %ld gradients, %ld H.v products\n",
         dln_method_name(cfg->solver.method), r->stats.steps, r->stats.rhs_evals, r->stats.hvps);
  printf("  result   t = %.6g (%s): loss %.4g -> %.4g", r->last.t, dln_stop_name(r->stop),
         r->loss_initial, r->last.loss);
  if (r->last.test_loss == r->last.test_loss) printf(", test loss %.4g", r->last.test_loss);
  printf(", rank %zu\n", r->last.rank);
  if (r->stats.loss_increases_beyond_tol > 0 && cfg->solver.method == DLN_METHOD_GD)
    printf("  warning  the loss rose after %ld gradient-descent steps (largest rise %.3g "
           "relative): lower solver.learning_rate\n",
           r->stats.loss_increases_beyond_tol, r->stats.max_loss_increase_beyond_tol);
  else if (r->stats.loss_increases_beyond_tol > 0)
    printf("  warning  the loss rose after %ld accepted steps by more than the tolerances "
           "allow (largest rise %.3g relative): tighten solver.rtol\n",
           r->stats.loss_increases_beyond_tol, r->stats.max_loss_increase_beyond_tol);
  printf("  time     %.3f s wall, %.3f s CPU\n", r->wall_seconds, r->cpu_seconds);
}

/* ---- the command -------------------------------------------------------------------- */

/* Returns the memory the system can still hand out, in bytes (0 if unknown). */
static double available_memory(void)
{
  long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

/* Tries the start of the integration (memory, tolerances against θ(0)) without writing. */
static int check_start(const dln_setup *setup, const dln_flow_options *opt, int events,
                       double *layer_atol)
{
  double need = dln_run_memory_estimate(setup->problem, opt, events), have = available_memory();
  if (have > 0.0 && need > have)
    return dln_error(DLN_ENOMEM,
                     "the run needs about %.3g GB for %zu parameters but %.3g GB are "
                     "free: lower network.width or network.depth",
                     need / 1e9, dln_problem_nparams(setup->problem), have / 1e9);
  dln_flow *flow = NULL;
  int status = dln_flow_alloc(setup->problem, opt, &flow);
  if (status == DLN_SUCCESS) status = dln_flow_init(flow, setup->theta0);
  if (status == DLN_SUCCESS) dln_flow_layer_atol(flow, layer_atol);
  dln_flow_free(flow);
  return status;
}

/* Returns whether name is one of the event files a run writes: events.json or
 * A_{entry,closest,exit}_K.npy. */
static int is_event_file(const char *name)
{
  if (strcmp(name, "events.json") == 0) return 1;
  static const char *const prefixes[] = {"A_entry_", "A_closest_", "A_exit_"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(prefixes[i]);
    if (strncmp(name, prefixes[i], n) != 0) continue;
    const char *p = name + n;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    return strcmp(p, ".npy") == 0;
  }
  return 0;
}

/* Removes an earlier run's event files from the folder: left in place, they would describe
 * plateaus this run never visited (and `dlnflow plot` would draw them). */
static int remove_stale_events(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return dln_error(DLN_EIO, "%s: cannot read the folder: %s", dir, strerror(errno));
  struct dirent *e;
  int status = DLN_SUCCESS;
  char path[DLN_PATH_MAX + 300];
  while (status == DLN_SUCCESS && (e = readdir(d)) != NULL) {
    if (!is_event_file(e->d_name)) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path) != 0 && errno != ENOENT)
      status = dln_error(DLN_EIO, "%s: cannot remove an earlier run's file: %s", path,
                         strerror(errno));
  }
  closedir(d);
  return status;
}

/* The events options a run uses: the configured ones with output.rank_tol. */
static dln_events_options events_options(const dln_config *cfg)
{
  dln_events_options o = cfg->events;
  o.describe.rank_tol = cfg->rank_tol;
  o.rtol = cfg->solver.method == DLN_METHOD_GD ? 0.0 : cfg->solver.rtol;
  return o;
}

static int ignore_sample(const dln_sample *s, void *data)
{
  (void)s;
  (void)data;
  return DLN_SUCCESS;
}

/* --verify: the same run at a 100-fold tighter tolerance, events only; returns the
 * comparison (or the reason it could not be made). */
static json_t *verify_events(const dln_config *cfg, dln_setup *setup, const double *times,
                             size_t ntimes, const dln_events *events, int quiet)
{
  dln_flow_options opt = cfg->solver;
  opt.rtol /= 100.0;
  opt.atol /= 100.0;
  opt.interrupt = &dln_cli_interrupted;
  dln_events_options eo = events_options(cfg);
  eo.rtol = opt.rtol;
  dln_events *tight = NULL;
  dln_run_result r = {0};
  dln_run_options ro = {.rank_tol = cfg->rank_tol}; /* events only: no NTK */
  if (!quiet) fprintf(stderr, "dlnflow run: --verify: repeating at rtol = %g\n", opt.rtol);
  int status = dln_events_alloc(setup->problem, &eo, &tight);
  if (status == DLN_SUCCESS)
    status = dln_run_trajectory(setup->problem, setup->theta0, &opt, times, ntimes,
                                &ro, tight, ignore_sample, NULL, &r);
  json_t *out;
  if (status != DLN_SUCCESS || r.stop == DLN_STOP_INTERRUPT) {
    const char *why = status != DLN_SUCCESS ? dln_error_message() : "interrupted";
    out = json_pack("{s:f, s:s}", "rtol", opt.rtol, "failed", why);
    fprintf(stderr, "dlnflow run: --verify run failed: %s\n", why);
  } else {
    out = dln_cli_events_compare(events, tight, opt.rtol, quiet ? NULL : stdout);
  }
  dln_events_free(tight);
  return out;
}

/* events.json and the A matrices of every plateau; verify (may be NULL) is added. */
static int write_events(const dln_config *cfg, const dln_events *events, json_t *verify)
{
  dln_events_options eo = events_options(cfg);
  int status = dln_cli_write_event_matrices(cfg->out_dir, events);
  json_t *root = dln_cli_events_json(events, &eo);
  if (!root) {
    json_decref(verify);
    return dln_error(DLN_ENOMEM, "cannot build events.json");
  }
  if (verify) json_object_set_new(root, "verify", verify);
  char path[DLN_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/events.json", cfg->out_dir);
  if (status == DLN_SUCCESS) status = dln_cli_write_json(path, root);
  json_decref(root);
  return status;
}

static int integrate_and_write(dln_config *cfg, dln_setup *setup, const run_args *a,
                               const double *layer_atol)
{
  const dln_network *net = dln_problem_network(setup->problem);
  size_t rows = dln_network_width(net, dln_network_depth(net)), cols = dln_network_width(net, 0);
  double *times = NULL;
  size_t ntimes = 0;
  dln_events *events = NULL;
  dln_events_options eo = events_options(cfg);
  int status = dln_run_times(cfg->t_min, cfg->solver.t_max, cfg->out_samples, cfg->times,
                             cfg->ntimes, &times, &ntimes);
  if (status == DLN_SUCCESS && cfg->events_enabled)
    status = dln_events_alloc(setup->problem, &eo, &events);
  if (status != DLN_SUCCESS) {
    free(times);
    dln_cli_report("set-up", status);
    return DLN_EXIT_USAGE;
  }
  status = dln_cli_make_dir(cfg->out_dir);
  int lock = -1;
  if (status == DLN_SUCCESS) status = dln_cli_lock_dir(cfg->out_dir, &lock);
  if (status == DLN_SUCCESS) status = remove_stale_events(cfg->out_dir);
  trajectory_writer w = {.nsv = rows < cols ? rows : cols, .t_max = cfg->solver.t_max,
                         .quiet = a->quiet, .events = events, .ntk = cfg->ntk};
  if (w.nsv > MAX_SV_COLUMNS) w.nsv = MAX_SV_COLUMNS;
  char path[DLN_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/trajectory.csv", cfg->out_dir);
  if (status == DLN_SUCCESS) status = dln_outfile_open(&w.file, path);
  dln_run_result r = {0};
  if (status == DLN_SUCCESS) {
    r.theta_last = malloc(dln_problem_nparams(setup->problem) * sizeof(double));
    if (!r.theta_last) {
      dln_outfile_abort(&w.file);
      status = dln_error(DLN_ENOMEM, "out of memory");
    }
  }
  if (status != DLN_SUCCESS) {
    free(times);
    dln_events_free(events);
    if (lock >= 0) dln_cli_unlock_dir(cfg->out_dir, lock);
    dln_cli_report("output", status);
    return DLN_EXIT_USAGE;
  }
  write_header(&w);
  dln_progress_start(&w.progress);
  dln_flow_options opt = cfg->solver;
  opt.interrupt = &dln_cli_interrupted;
  dln_run_options ro = {.rank_tol = cfg->rank_tol, .ntk = cfg->ntk};
  int run_status = dln_run_trajectory(setup->problem, setup->theta0, &opt, times, ntimes,
                                      &ro, events, write_row, &w, &r);
  dln_progress_end(&w.progress);
  char message[1100] = "";
  const char *state = "completed";
  if (run_status != DLN_SUCCESS) {
    snprintf(message, sizeof message, "%s", dln_error_message());
    state = "failed";
  } else if (r.stop == DLN_STOP_INTERRUPT) {
    snprintf(message, sizeof message, "interrupted by a signal at t = %.6g", r.last.t);
    state = "interrupted";
  }
  int io = flush_rows(&w); /* the events are finished: every label is settled */
  release_rows(&w);
  if (io == DLN_SUCCESS) io = dln_outfile_commit(&w.file);
  else dln_outfile_abort(&w.file);
  if (io == DLN_SUCCESS && r.samples > 0) {
    snprintf(path, sizeof path, "%s/A_final.npy", cfg->out_dir);
    double loss;
    io = dln_problem_loss(setup->problem, r.theta_last, &loss); /* A at the last record */
    if (io == DLN_SUCCESS)
      io = dln_matrix_write_npy(path, dln_problem_product(setup->problem), rows, cols);
  }
  if (io == DLN_SUCCESS) io = write_summary(cfg, setup, state, message, &r, layer_atol);
  if (io == DLN_SUCCESS && run_status == DLN_SUCCESS && !a->quiet) {
    print_summary(cfg, setup, &r);
    if (events) dln_cli_print_events(stdout, events);
    fflush(stdout);
  }
  if (io == DLN_SUCCESS && events && r.samples > 0) {
    json_t *verify = NULL;
    if (a->verify && run_status == DLN_SUCCESS && r.stop != DLN_STOP_INTERRUPT)
      verify = verify_events(cfg, setup, times, ntimes, events, a->quiet);
    io = write_events(cfg, events, verify);
  }
  free(times);
  free(r.theta_last);
  dln_events_free(events);
  dln_cli_unlock_dir(cfg->out_dir, lock);
  if (io != DLN_SUCCESS) {
    dln_cli_report("writing results", io);
    return DLN_EXIT_FAILED;
  }
  if (run_status != DLN_SUCCESS) {
    fprintf(stderr, "dlnflow run: integration failed: %s\n", message);
    fprintf(stderr, "dlnflow run: kept %zu rows up to t = %.6g in %s\n", r.samples, r.last.t,
            cfg->out_dir);
    return DLN_EXIT_FAILED;
  }
  if (r.stop == DLN_STOP_INTERRUPT) {
    fprintf(stderr, "dlnflow run: %s; kept what it had in %s\n", message, cfg->out_dir);
    return DLN_EXIT_INTERRUPTED;
  }
  if (a->verify && dln_cli_interrupted) {
    fprintf(stderr, "dlnflow run: --verify interrupted by a signal; the run itself completed "
                    "and is kept in %s\n", cfg->out_dir);
    return DLN_EXIT_INTERRUPTED;
  }
  return DLN_EXIT_OK;
}

int dln_cmd_run(int argc, char **argv)
{
  run_args a;
  int code = parse_args(argc, argv, &a);
  if (code != 0) {
    free(a.overrides);
    if (code < 0) run_usage(stdout);
    return code < 0 ? DLN_EXIT_OK : code;
  }
  dln_config *cfg = malloc(sizeof *cfg);
  dln_setup setup = {0};
  if (!cfg) {
    free(a.overrides);
    return DLN_EXIT_FAILED;
  }
  code = DLN_EXIT_USAGE;
  if (dln_cli_load_config(a.config, a.overrides, a.noverrides, a.out, cfg) != DLN_SUCCESS)
    goto done;
  dln_cli_default_out_dir(a.config, "", cfg);
  if (dln_cli_check_out_dir("run", cfg->out_dir) != 0) goto done;
  if (a.verify && (cfg->solver.method == DLN_METHOD_GD || !cfg->events_enabled ||
                   cfg->solver.rtol / 100.0 < 10.0 * DBL_EPSILON)) {
    fprintf(stderr, "dlnflow run: --verify needs events.enabled = true, solver.method bdf or "
                    "adams (gd has no tolerance) and solver.rtol >= %g (it reruns at rtol / "
                    "100)\n", 1000.0 * DBL_EPSILON);
    goto done;
  }
  int status = dln_setup_build(cfg, &setup);
  if (status != DLN_SUCCESS) {
    dln_cli_report(a.config, status);
    goto done;
  }
  double layer_atol[DLN_MAX_DEPTH];
  status = check_start(&setup, &cfg->solver, cfg->events_enabled, layer_atol);
  if (status != DLN_SUCCESS) {
    dln_cli_report(a.config, status);
    goto done;
  }
  dln_cli_catch_interrupts();
  code = integrate_and_write(cfg, &setup, &a, layer_atol);
done:
  dln_setup_release(&setup);
  free(cfg);
  free(a.overrides);
  return code;
}
