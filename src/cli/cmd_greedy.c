/* dlnflow greedy CONFIG [--out DIR] [--inner flow|gd] [--epsilon E] [--steps T] [--lr ETA]
 *                [--max-width K] [--compare RUN_DIR] [section.key=value ...]
 *
 * The greedy low-rank algorithm A_{ε,T,η} (THEORY.md §5, include/dlnflow/greedy.h). Phases:
 *   1. read and check everything: arguments, configuration, data (a width-1 build), and the
 *      --compare run's events.json with every A_closest file it names;
 *   2. run the rounds; each width-k problem is rebuilt from the configuration with
 *      network.widths = n0, k, ..., k, nL, so every round has the same cost;
 *   3. write DIR/greedy.csv, A_round_K.npy per round and greedy.json; print the table and,
 *      with --compare, greedy round k beside the run's plateau of rank k.
 * Bad input exits 2 before anything is written. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/greedy.h"
#include "dlnflow/io.h"
#include "dlnflow/setup.h"
#include "linalg.h"

/* Largest ε^-(L-2) (an escape time times s1) that double-precision time still resolves. */
#define GREEDY_ESCAPE_SCALE_MAX 1e12

typedef struct greedy_args {
  const char *config, *out, *compare;
  dln_greedy_options opt;
  char **overrides;
  size_t noverrides;
} greedy_args;

/* The --compare run's plateau of rank k: kind, loss, A at closest approach. */
typedef struct flow_plateau {
  size_t rank;
  char kind[16];
  double loss;
  double *A; /* rows x cols (owned) */
} flow_plateau;

typedef struct builder {
  dln_config cfg; /* the configuration; widths are overridden per build */
  size_t depth, n0, nL;
} builder;

static void greedy_usage(FILE *out)
{
  fprintf(out,
          "usage: dlnflow greedy CONFIG [--out DIR] [--inner flow|gd] [--epsilon E] [--steps T]\n"
          "                      [--lr ETA] [--max-width K] [--compare RUN_DIR]\n"
          "                      [section.key=value ...]\n"
          "Runs the greedy low-rank algorithm (width grows by one per round along the top\n"
          "singular pair of grad C(A)) on CONFIG's data and depth, and writes DIR/greedy.csv,\n"
          "A_round_K.npy and greedy.json (DIR: --out, else output.dir, else\n"
          "runs/<config name>-greedy). See docs/dlnflow-greedy.md.\n");
}

/* ---- arguments ---------------------------------------------------------------------- */

static int parse_number(const char *opt, const char *text, double *x)
{
  char *end;
  errno = 0;
  *x = strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !isfinite(*x)) {
    fprintf(stderr, "dlnflow greedy: %s '%s': not a number\n", opt, text);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

static int parse_whole(const char *opt, const char *text, long *n)
{
  char *end;
  errno = 0;
  *n = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || *n < 1) {
    fprintf(stderr, "dlnflow greedy: %s '%s': expected a whole number >= 1\n", opt, text);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* Returns 0, DLN_EXIT_USAGE after printing the problem, or -1 for --help. */
static int parse_args(int argc, char **argv, greedy_args *a)
{
  memset(a, 0, sizeof *a);
  dln_greedy_options_default(&a->opt);
  a->overrides = calloc((size_t)argc, sizeof *a->overrides);
  if (!a->overrides) return DLN_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) return -1;
    int takes_value = strcmp(opt, "--out") == 0 || strcmp(opt, "-o") == 0 ||
                      strcmp(opt, "--inner") == 0 || strcmp(opt, "--epsilon") == 0 ||
                      strcmp(opt, "--steps") == 0 || strcmp(opt, "--lr") == 0 ||
                      strcmp(opt, "--max-width") == 0 || strcmp(opt, "--compare") == 0;
    if (takes_value && i + 1 >= argc) {
      fprintf(stderr, "dlnflow greedy: %s needs a value\n", opt);
      return DLN_EXIT_USAGE;
    }
    const char *v = takes_value ? argv[++i] : NULL;
    long n;
    int bad = 0;
    if (strcmp(opt, "--out") == 0 || strcmp(opt, "-o") == 0) {
      a->out = v;
    } else if (strcmp(opt, "--compare") == 0) {
      a->compare = v;
    } else if (strcmp(opt, "--inner") == 0) {
      if (strcmp(v, "flow") == 0) a->opt.inner = DLN_GREEDY_FLOW;
      else if (strcmp(v, "gd") == 0) a->opt.inner = DLN_GREEDY_GD;
      else {
        fprintf(stderr, "dlnflow greedy: --inner '%s': expected flow or gd\n", v);
        return DLN_EXIT_USAGE;
      }
    } else if (strcmp(opt, "--epsilon") == 0) {
      bad = parse_number(opt, v, &a->opt.epsilon);
    } else if (strcmp(opt, "--lr") == 0) {
      bad = parse_number(opt, v, &a->opt.learning_rate);
    } else if (strcmp(opt, "--steps") == 0) {
      bad = parse_whole(opt, v, &n);
      a->opt.steps = n;
    } else if (strcmp(opt, "--max-width") == 0) {
      bad = parse_whole(opt, v, &n);
      a->opt.max_width = (size_t)n;
    } else if (dln_cli_take_argument("greedy", argv[i], &a->config, a->overrides,
                                     &a->noverrides) != 0) {
      return DLN_EXIT_USAGE;
    }
    if (bad) return DLN_EXIT_USAGE;
  }
  if (!a->config) {
    fprintf(stderr, "dlnflow greedy: missing CONFIG\n");
    return DLN_EXIT_USAGE;
  }
  if (a->out && a->out[0] == '\0') {
    fprintf(stderr, "dlnflow greedy: --out '': give a folder\n");
    return DLN_EXIT_USAGE;
  }
  if (dln_greedy_options_check(&a->opt) != DLN_SUCCESS) {
    fprintf(stderr, "dlnflow greedy: %s\n", dln_error_message());
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* ---- phase 1: the problem and the run to compare with ------------------------------- */

/* Builds the width-k problem: the configuration with network.widths = n0, k, ..., k, nL. */
static int build_width(size_t width, dln_problem **out, void *data)
{
  builder *b = data;
  dln_config cfg = b->cfg;
  cfg.nwidths = b->depth + 1;
  cfg.widths[0] = b->n0;
  for (size_t l = 1; l < b->depth; l++) cfg.widths[l] = width;
  cfg.widths[b->depth] = b->nL;
  /* θ(0) is unused: a scheme that reads no file. */
  snprintf(cfg.scheme, sizeof cfg.scheme, "scaled");
  cfg.alpha = 1.0;
  dln_setup s;
  int status = dln_setup_build(&cfg, &s);
  if (status != DLN_SUCCESS) return status;
  *out = s.problem;
  s.problem = NULL;
  dln_setup_release(&s);
  return DLN_SUCCESS;
}

static void release_plateaus(flow_plateau *fp, size_t n)
{
  for (size_t i = 0; fp && i < n; i++) free(fp[i].A);
  free(fp);
}

/* Reads RUN_DIR/events.json and the A_closest file of each plateau. Returns 0, or
 * DLN_EXIT_USAGE after naming the file and the problem. */
static int load_compare(const char *dir, size_t rows, size_t cols, flow_plateau **out,
                        size_t *count)
{
  char path[DLN_PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/events.json", dir);
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root) {
    fprintf(stderr, "dlnflow greedy: --compare: %s: %s (line %d)\n", path, jerr.text, jerr.line);
    return DLN_EXIT_USAGE;
  }
  json_t *list = json_object_get(root, "plateaus");
  if (!json_is_array(list)) {
    fprintf(stderr, "dlnflow greedy: --compare: %s: no \"plateaus\" array\n", path);
    json_decref(root);
    return DLN_EXIT_USAGE;
  }
  size_t n = json_array_size(list);
  flow_plateau *fp = calloc(n ? n : 1, sizeof *fp);
  int rc = fp ? 0 : DLN_EXIT_USAGE;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    json_t *rec = json_array_get(list, i);
    json_t *kind = json_object_get(rec, "kind"), *rank = json_object_get(rec, "rank");
    json_t *loss = json_object_get(rec, "loss");
    json_t *file = json_object_get(json_object_get(rec, "files"), "A_closest");
    if (!json_is_string(kind) || !json_is_integer(rank) || json_integer_value(rank) < 0 ||
        !json_is_number(loss) || !json_is_string(file)) {
      fprintf(stderr, "dlnflow greedy: --compare: %s: plateau %zu lacks a string \"kind\", an "
              "integer \"rank\", a number \"loss\" or \"files\".\"A_closest\"\n", path, i);
      rc = DLN_EXIT_USAGE;
      break;
    }
    snprintf(fp[i].kind, sizeof fp[i].kind, "%s", json_string_value(kind));
    fp[i].rank = (size_t)json_integer_value(rank);
    fp[i].loss = json_number_value(loss);
    char apath[DLN_PATH_MAX + 64];
    snprintf(apath, sizeof apath, "%s/%s", dir, json_string_value(file));
    dln_matrix A = {0};
    if (dln_matrix_read(apath, &A) != DLN_SUCCESS) {
      fprintf(stderr, "dlnflow greedy: --compare: %s\n", dln_error_message());
      rc = DLN_EXIT_USAGE;
    } else if (A.rows != rows || A.cols != cols) {
      fprintf(stderr, "dlnflow greedy: --compare: %s is %zu x %zu, but A is %zu x %zu here\n",
              apath, A.rows, A.cols, rows, cols);
      rc = DLN_EXIT_USAGE;
      dln_matrix_release(&A);
    } else {
      fp[i].A = A.data;
    }
  }
  json_decref(root);
  if (rc != 0) {
    release_plateaus(fp, n);
    return rc;
  }
  *out = fp;
  *count = n;
  return 0;
}

/* ---- phase 3: output ---------------------------------------------------------------- */

static double frobenius_distance(size_t n, const double *a, const double *b, double *scratch)
{
  memcpy(scratch, a, n * sizeof *scratch);
  dln_axpy(n, -1.0, b, scratch);
  return dln_nrm2(n, scratch);
}

static int write_csv(const char *dir, const dln_greedy_result *res)
{
  char path[DLN_PATH_MAX + 64], num[64];
  snprintf(path, sizeof path, "%s/greedy.csv", dir);
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status != DLN_SUCCESS) return status;
  size_t nsv = res->rows < res->cols ? res->rows : res->cols;
  fprintf(f.fp, "round,width,loss,test_loss,excess_loss,rank,grad_c_norm,grad_norm,time,steps,"
          "stop");
  for (size_t j = 0; j < nsv; j++) fprintf(f.fp, ",sv%zu", j + 1);
  fprintf(f.fp, "\n");
  for (size_t i = 0; i < res->nrounds; i++) {
    const dln_greedy_round *r = &res->rounds[i];
    fprintf(f.fp, "%zu,%zu,%s", r->round, r->width, dln_format_double(num, sizeof num, r->loss, 1));
    fprintf(f.fp, ",%s", dln_format_double(num, sizeof num, r->test_loss, 1));
    fprintf(f.fp, ",%s", dln_format_double(num, sizeof num, r->loss - res->c_min, 1));
    fprintf(f.fp, ",%zu,%s", r->rank, dln_format_double(num, sizeof num, r->grad_c_norm, 1));
    fprintf(f.fp, ",%s", dln_format_double(num, sizeof num, r->grad_norm, 1));
    fprintf(f.fp, ",%s,%ld,%s", dln_format_double(num, sizeof num, r->time, 1), r->steps,
            dln_stop_name(r->why));
    for (size_t j = 0; j < r->nsv; j++)
      fprintf(f.fp, ",%s", dln_format_double(num, sizeof num, r->sv[j], 1));
    fprintf(f.fp, "\n");
  }
  return dln_outfile_commit(&f);
}

/* Pairs each round with the first plateau of the same rank (a saddle, or the final minimum),
 * prints the table and returns the JSON list. */
static json_t *compare_rounds(const dln_greedy_result *res, const flow_plateau *fp, size_t n)
{
  json_t *list = json_array();
  size_t amat = res->rows * res->cols;
  double *scratch = malloc(amat * sizeof *scratch);
  if (!list || !scratch) {
    free(scratch);
    return list;
  }
  printf("\ncompare: greedy round k beside the flow's plateau of rank k\n");
  printf("%6s  %-8s  %-14s  %-14s  %-10s  %-10s  %-10s\n", "round", "kind", "loss_greedy",
         "loss_flow", "abs_loss", "rel_loss", "rel_A");
  for (size_t i = 0; i < res->nrounds; i++) {
    const dln_greedy_round *r = &res->rounds[i];
    const flow_plateau *match = NULL;
    for (size_t j = 0; j < n && !match; j++)
      if (fp[j].rank == r->round) match = &fp[j];
    if (!match) {
      printf("%6zu  %-8s\n", r->round, "(none)");
      continue;
    }
    /* At a zero-loss minimum the relative difference means nothing: abs_loss is shown too. */
    double abs_loss = fabs(match->loss - r->loss), rel_loss = abs_loss / fabs(r->loss);
    double rel_A = frobenius_distance(amat, match->A, r->A, scratch) / dln_nrm2(amat, r->A);
    printf("%6zu  %-8s  %-14.8g  %-14.8g  %-10.3g  %-10.3g  %-10.3g\n", r->round, match->kind,
           r->loss, match->loss, abs_loss, rel_loss, rel_A);
    json_array_append_new(list, json_pack("{s:I, s:s, s:f, s:f, s:f, s:f, s:f}", "round",
                                          (json_int_t)r->round, "kind", match->kind,
                                          "loss_greedy", r->loss, "loss_flow", match->loss,
                                          "abs_loss_diff", abs_loss, "rel_loss_diff", rel_loss,
                                          "rel_A_diff", rel_A));
  }
  free(scratch);
  return list;
}

/* Why the rounds ended: the target, the width limit, or (rc) an interruption or failure. */
static const char *stop_name(const dln_greedy_result *res, int rc)
{
  if (rc == DLN_EXIT_INTERRUPTED) return "interrupted";
  if (rc != DLN_EXIT_OK) return "failed";
  return res->reached_target ? "target" : "width_limit";
}

static json_t *summary_json(const greedy_args *a, const dln_config *cfg,
                            const dln_greedy_result *res, json_t *compare, int rc,
                            const char *message)
{
  json_t *root = json_object(), *rounds = json_array();
  json_object_set_new(root, "config", json_string(cfg->source));
  json_object_set_new(root, "inner", json_string(a->opt.inner == DLN_GREEDY_GD ? "gd" : "flow"));
  json_object_set_new(root, "epsilon", json_real(a->opt.epsilon));
  if (a->opt.inner == DLN_GREEDY_GD) {
    json_object_set_new(root, "steps", json_integer(a->opt.steps));
    json_object_set_new(root, "learning_rate", json_real(a->opt.learning_rate));
  } else {
    json_object_set_new(root, "grad_tol", json_real(res->grad_tol));
    json_object_set_new(root, "t_max", json_real(res->t_max));
  }
  json_object_set_new(root, "depth", json_integer((json_int_t)res->depth));
  json_object_set_new(root, "max_width", json_integer((json_int_t)res->max_width));
  json_object_set_new(root, "c_min", json_real(res->c_min));
  json_object_set_new(root, "grad_c0_norm", json_real(res->g0_norm));
  json_object_set_new(root, "stop", json_string(stop_name(res, rc)));
  json_object_set_new(root, "message", json_string(message));
  for (size_t i = 0; i < res->nrounds; i++) {
    const dln_greedy_round *r = &res->rounds[i];
    char file[64];
    snprintf(file, sizeof file, "A_round_%zu.npy", r->round);
    json_t *sv = json_array();
    for (size_t j = 0; j < r->nsv; j++) json_array_append_new(sv, json_real(r->sv[j]));
    json_array_append_new(rounds, json_pack("{s:I, s:I, s:f, s:o, s:I, s:f, s:f, s:s, s:o, s:s}",
        "round", (json_int_t)r->round, "width", (json_int_t)r->width, "loss", r->loss,
        "test_loss", isnan(r->test_loss) ? json_null() : json_real(r->test_loss),
        "rank", (json_int_t)r->rank, "grad_c_norm", r->grad_c_norm, "time", r->time,
        "stop", dln_stop_name(r->why), "singular_values", sv, "A", file));
  }
  json_object_set_new(root, "rounds", rounds);
  json_object_set_new(root, "compare", compare ? compare : json_null());
  json_object_set_new(root, "resolved", dln_cli_config_json(cfg));
  json_object_set_new(root, "versions", dln_cli_versions_json());
  return root;
}

static void print_rounds(const dln_greedy_result *res, int rc)
{
  printf("%6s  %6s  %-14s  %-14s  %5s  %-10s  %-8s  %s\n", "round", "width", "loss", "test_loss",
         "rank", "grad_C", "stop", "sv");
  for (size_t i = 0; i < res->nrounds; i++) {
    const dln_greedy_round *r = &res->rounds[i];
    printf("%6zu  %6zu  %-14.8g  %-14.8g  %5zu  %-10.3g  %-8s ", r->round, r->width, r->loss,
           r->test_loss, r->rank, r->grad_c_norm, dln_stop_name(r->why));
    for (size_t j = 0; j < r->nsv && j < r->round + 1; j++) printf(" %.6g", r->sv[j]);
    printf("\n");
  }
  printf("stop: %s (C_min = %.10g)\n", stop_name(res, rc), res->c_min);
}

/* ---- the command -------------------------------------------------------------------- */

int dln_cmd_greedy(int argc, char **argv)
{
  greedy_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != 0) {
    if (rc < 0) greedy_usage(stdout);
    else greedy_usage(stderr);
    free(a.overrides);
    return rc < 0 ? DLN_EXIT_OK : DLN_EXIT_USAGE;
  }
  builder b;
  memset(&b, 0, sizeof b);
  flow_plateau *fp = NULL;
  size_t nfp = 0;
  dln_greedy_result res;
  memset(&res, 0, sizeof res);
  json_t *compare = NULL;
  rc = DLN_EXIT_USAGE;
  if (dln_cli_load_config(a.config, a.overrides, a.noverrides, a.out, &b.cfg) != DLN_SUCCESS)
    goto done;
  dln_cli_default_out_dir(a.config, "-greedy", &b.cfg);
  /* Phase 1: the configured build fixes the depth and the data's shape. θ(0) is not used (the
   * rounds start from their own ε entries): a scheme that reads no file. */
  snprintf(b.cfg.scheme, sizeof b.cfg.scheme, "scaled");
  b.cfg.alpha = 1.0;
  dln_setup s;
  int status = dln_setup_build(&b.cfg, &s);
  if (status != DLN_SUCCESS) {
    dln_cli_report("greedy", status);
    goto done;
  }
  const dln_network *net = dln_problem_network(s.problem);
  b.depth = dln_network_depth(net);
  b.n0 = dln_network_width(net, 0);
  b.nL = dln_network_width(net, b.depth);
  dln_setup_release(&s);
  if (b.depth < 2) {
    fprintf(stderr, "dlnflow greedy: the network needs depth >= 2 (network.depth)\n");
    goto done;
  }
  /* An escape from ε takes ~ε^-(L-2)/s1 time units; far beyond 1e12 of them one double
   * no longer resolves the escape itself (its duration ~1/s1 falls below t·ε). */
  if (b.depth > 2 && pow(a.opt.epsilon, -(double)(b.depth - 2)) > GREEDY_ESCAPE_SCALE_MAX * (1.0 + 1e-9)) {
    fprintf(stderr, "dlnflow greedy: --epsilon %g is too small at depth %zu: an escape from it "
                    "takes about %.3g / s1 time units, beyond what double-precision time "
                    "resolves; use --epsilon >= %.3g\n", a.opt.epsilon, b.depth,
            pow(a.opt.epsilon, -(double)(b.depth - 2)),
            pow(GREEDY_ESCAPE_SCALE_MAX, -1.0 / (double)(b.depth - 2)));
    goto done;
  }
  if (dln_cli_check_out_dir("greedy", b.cfg.out_dir) != 0) goto done;
  if (a.compare && load_compare(a.compare, b.nL, b.n0, &fp, &nfp) != 0) goto done;

  /* Phase 2: the rounds. */
  a.opt.flow = b.cfg.solver;
  a.opt.flow.grad_tol = b.cfg.solver.grad_tol;
  a.opt.flow.t_max = 0.0; /* the default per-round horizon (solver.t_max is a run's) */
  a.opt.rank_tol = b.cfg.rank_tol;
  dln_cli_catch_interrupts();
  a.opt.flow.interrupt = &dln_cli_interrupted;
  status = dln_greedy_run(build_width, &b, &a.opt, &res);
  char message[1100] = "";
  if (status != DLN_SUCCESS) {
    snprintf(message, sizeof message, "%s", dln_error_message());
    dln_cli_report("greedy", status);
    rc = status == DLN_EINTERRUPTED ? DLN_EXIT_INTERRUPTED : DLN_EXIT_FAILED;
    /* A failed first round still leaves greedy.json saying why; an interrupted one nothing. */
    if (res.nrounds == 0 && rc == DLN_EXIT_INTERRUPTED) goto done;
  } else {
    rc = DLN_EXIT_OK;
  }

  /* Phase 3: output. */
  printf("dlnflow greedy: %s -> %s\n", b.cfg.source, b.cfg.out_dir);
  print_rounds(&res, rc);
  if (fp) compare = compare_rounds(&res, fp, nfp);
  int lock = -1;
  status = dln_cli_make_dir(b.cfg.out_dir);
  if (status == DLN_SUCCESS) status = dln_cli_lock_dir(b.cfg.out_dir, &lock);
  if (status == DLN_SUCCESS) status = write_csv(b.cfg.out_dir, &res);
  for (size_t i = 0; status == DLN_SUCCESS && i < res.nrounds; i++) {
    char path[DLN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/A_round_%zu.npy", b.cfg.out_dir, res.rounds[i].round);
    status = dln_matrix_write_npy(path, res.rounds[i].A, res.rows, res.cols);
  }
  if (status == DLN_SUCCESS) {
    char path[DLN_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/greedy.json", b.cfg.out_dir);
    json_t *root = summary_json(&a, &b.cfg, &res, compare, rc, message);
    compare = NULL;
    status = dln_cli_write_json(path, root);
    json_decref(root);
  }
  if (lock >= 0) dln_cli_unlock_dir(b.cfg.out_dir, lock);
  if (status != DLN_SUCCESS) {
    dln_cli_report("greedy: writing the results", status);
    rc = DLN_EXIT_FAILED;
  }
done:
  json_decref(compare);
  release_plateaus(fp, nfp);
  dln_greedy_result_release(&res);
  free(a.overrides);
  return rc;
}
