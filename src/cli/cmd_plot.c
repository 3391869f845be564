/* dlnflow plot DIR [--format png,svg] [--out DIR] [--linear-sv] [sweep options]
 *
 * Draws a run folder written by `dlnflow run` in the manner of the paper's Figures 1, 4 and 5
 * (docs/dlnflow-plot.md): three panels against time on a log axis, (1) train and test loss,
 * (2) ||∇ℒ||, (3) the singular values of A, with the plateaus of RUN_DIR/events.json (when it
 * exists) shaded and their closest approach to the saddle marked on every panel. A folder
 * holding sweep.json is a sweep: plot_sweep.c draws it.
 *
 * Phases: read and check trajectory.csv (columns found by header name) and events.json before
 * touching the disk; then create the output folder, write a gnuplot script, run gnuplot on it
 * and rename the figures into place (plot_gnuplot.c). The C code only reads and checks;
 * gnuplot reads trajectory.csv itself and draws.
 *
 * Static functions, in order:
 *   plot_usage, parse_formats, option_value,
 *   take_plot_option, parse_args               command line
 *   read_header, read_row, read_trajectory     trajectory.csv
 *   get_time, read_plateau, read_events,
 *   check_events_fit                           events.json
 *   write_objects, write_panels,
 *   write_run_script                           the gnuplot script
 *   plot_run                                   a run folder
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/io.h"
#include "plot.h"

/* The most singular-value columns drawn (dlnflow run writes at most 64), and the most that
 * get a key entry: beyond that the key would be taller than the panel. */
#define PLOT_MAX_SV 64
#define PLOT_MAX_SV_KEYS 12

typedef struct plot_args {
  const char *run_dir;  /* the folder drawn: a run, or a sweep */
  const char *out;      /* --out, or NULL for RUN_DIR/plots (a sweep: the sweep folder) */
  int formats;          /* DLN_PLOT_PNG | DLN_PLOT_SVG */
  int linear_sv;        /* --linear-sv: linear y axis for the singular values */
  char **overrides;     /* sweeps: "plot.key=value" from --kind, --panel, ... and plot.* */
  size_t noverrides;
} plot_args;

/* What the script needs to know about trajectory.csv. Column numbers are 1-based, as gnuplot
 * counts them; 0 means absent. */
typedef struct trajectory_info {
  int t, loss, test_loss, grad_norm;  /* columns */
  int sv[PLOT_MAX_SV];                /* columns of sv1, sv2, ... */
  size_t nsv;
  int has_test;        /* some row has a test loss */
  double t_first;      /* first positive time (log axes start there) */
  double t_last;       /* last time */
  int positive[3];     /* each panel has a positive value to draw on a log y axis */
} trajectory_info;

/* One entry of events.json's "plateaus". */
typedef struct plateau {
  int minimum;         /* kind "minimum" (else "saddle") */
  long index;          /* "index", else its position */
  long rank;           /* "rank", or -1 if absent */
  double t_entry;
  double t_closest;    /* NaN if absent or null */
  double t_exit;       /* NaN if null: the run ended on the plateau */
} plateau;

/* ---- command line ------------------------------------------------------------------- */

static void plot_usage(FILE *out)
{
  fprintf(out,
          "usage: dlnflow plot RUN_DIR [--format png,svg] [--out DIR] [--linear-sv]\n"
          "       dlnflow plot SWEEP_DIR [--format png,svg] [--out DIR] [--kind curves|summary]\n"
          "                  [--panel KEY] [--color KEY] [--rows COLUMNS] [--x KEY] [plot.key=value]\n"
          "Draws RUN_DIR/trajectory.csv (loss, gradient norm, singular values of A against\n"
          "time), with the plateaus of RUN_DIR/events.json shaded if it exists, into\n"
          "DIR/trajectory.png and DIR/trajectory.svg (DIR defaults to RUN_DIR/plots).\n"
          "A folder holding sweep.json is a sweep: its points are drawn into DIR/sweep.png,\n"
          "DIR/sweep.svg and the script DIR/sweep.gp (DIR defaults to SWEEP_DIR), as the\n"
          "[plot] keys of the sweep's configuration and the options say.\n"
          "Needs gnuplot (or $DLNFLOW_GNUPLOT). See docs/dlnflow-plot.md.\n");
}

/* Parses "png,svg" into FORMAT_* bits; returns 0 if a name is unknown or the list empty. */
static int parse_formats(const char *list)
{
  int formats = 0;
  const char *p = list;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n == 3 && strncmp(p, "png", 3) == 0)
      formats |= DLN_PLOT_PNG;
    else if (n == 3 && strncmp(p, "svg", 3) == 0)
      formats |= DLN_PLOT_SVG;
    else
      return 0;
    p += n;
    if (*p == ',') p++;
  }
  return formats;
}

/* Returns the value after option argv[*i] and steps past it, or prints what is missing and
 * returns NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *what)
{
  if (*i + 1 < argc) return argv[++*i];
  fprintf(stderr, "dlnflow plot: %s needs %s\n", argv[*i], what);
  return NULL;
}

/* The sweep options and the [plot] key each sets. */
static const char *const PLOT_OPTIONS[][2] = {
  {"--kind", "kind"}, {"--panel", "panel"}, {"--color", "color"}, {"--rows", "rows"},
  {"--x", "x"}};

/* Takes argv[*i] if it is a sweep option (with its value) or a plot.key=value assignment,
 * adding "plot.key=value" to a->overrides. Returns 1 if taken, 0 if not one, -1 on error. */
static int take_plot_option(int argc, char **argv, int *i, plot_args *a)
{
  const char *arg = argv[*i];
  if (strncmp(arg, "plot.", 5) == 0 && strchr(arg, '=')) {
    a->overrides[a->noverrides++] = strdup(arg);
    return a->overrides[a->noverrides - 1] ? 1 : -1;
  }
  for (size_t k = 0; k < sizeof PLOT_OPTIONS / sizeof *PLOT_OPTIONS; k++) {
    if (strcmp(arg, PLOT_OPTIONS[k][0]) != 0) continue;
    const char *value = option_value(argc, argv, i, "a value");
    if (!value) return -1;
    size_t len = strlen(value) + 16;
    char *o = malloc(len);
    if (!o) return -1;
    snprintf(o, len, "plot.%s=%s", PLOT_OPTIONS[k][1], value);
    a->overrides[a->noverrides++] = o;
    return 1;
  }
  return 0;
}

/* Returns 0 on success, DLN_EXIT_USAGE after printing the problem, -1 for --help. */
static int parse_args(int argc, char **argv, plot_args *a)
{
  memset(a, 0, sizeof *a);
  a->formats = DLN_PLOT_PNG | DLN_PLOT_SVG;
  a->overrides = calloc((size_t)argc + 1, sizeof *a->overrides);
  if (!a->overrides) return DLN_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    int taken;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return -1;
    if (strcmp(arg, "--linear-sv") == 0) {
      a->linear_sv = 1;
    } else if (strcmp(arg, "--out") == 0 || strcmp(arg, "-o") == 0) {
      if (!(a->out = option_value(argc, argv, &i, "a folder"))) return DLN_EXIT_USAGE;
    } else if (strcmp(arg, "--format") == 0 || strcmp(arg, "-f") == 0) {
      const char *list = option_value(argc, argv, &i, "png, svg or png,svg");
      if (!list) return DLN_EXIT_USAGE;
      if (!(a->formats = parse_formats(list))) {
        fprintf(stderr, "dlnflow plot: --format '%s': expected png, svg or png,svg\n", list);
        return DLN_EXIT_USAGE;
      }
    } else if ((taken = take_plot_option(argc, argv, &i, a)) != 0) {
      if (taken < 0) return DLN_EXIT_USAGE;
    } else if (arg[0] == '-') {
      fprintf(stderr, "dlnflow plot: unknown option '%s'\n", arg);
      return DLN_EXIT_USAGE;
    } else if (!a->run_dir) {
      a->run_dir = arg;
    } else {
      fprintf(stderr, "dlnflow plot: unexpected argument '%s' (one RUN_DIR only)\n", arg);
      return DLN_EXIT_USAGE;
    }
  }
  /* Curves asked for here drop the configuration's summary x axis (a sweep drawn as a
   * summary can be redrawn as curves); an x given here as well is refused with the kind. */
  int curves = 0, x_given = 0;
  for (size_t k = 0; k < a->noverrides; k++) {
    if (strcmp(a->overrides[k], "plot.kind=curves") == 0) curves = 1;
    if (strncmp(a->overrides[k], "plot.x=", 7) == 0) x_given = 1;
  }
  if (curves && !x_given && !(a->overrides[a->noverrides++] = strdup("plot.x=")))
    return DLN_EXIT_USAGE;
  if (!a->run_dir) {
    fprintf(stderr, "dlnflow plot: missing RUN_DIR\n");
    plot_usage(stderr);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* ---- trajectory.csv ----------------------------------------------------------------- */

/* What reading trajectory.csv carries from line to line. */
typedef struct trajectory_reading {
  const char *path;
  trajectory_info *info;
  double t_prev;
  size_t rows;
} trajectory_reading;

/* Locates the columns by name in the header line. */
static int read_header(char **fields, size_t ncols, long line, void *data)
{
  (void)line;
  trajectory_reading *tr = data;
  trajectory_info *info = tr->info;
  info->t = dln_plot_find_column(fields, ncols, "t");
  info->loss = dln_plot_find_column(fields, ncols, "loss");
  info->test_loss = dln_plot_find_column(fields, ncols, "test_loss");
  info->grad_norm = dln_plot_find_column(fields, ncols, "grad_norm");
  const char *need[] = {"t", "loss", "grad_norm", "sv1"};
  for (info->nsv = 0; info->nsv < PLOT_MAX_SV; info->nsv++) {
    char name[16];
    snprintf(name, sizeof name, "sv%zu", info->nsv + 1);
    if (!(info->sv[info->nsv] = dln_plot_find_column(fields, ncols, name))) break;
  }
  const int have[] = {info->t, info->loss, info->grad_norm, info->nsv > 0};
  for (size_t k = 0; k < sizeof need / sizeof *need; k++)
    if (!have[k])
      return dln_error(DLN_EFORMAT, "%s:1: no '%s' column in the header (a trajectory.csv "
                       "written by dlnflow run starts t,loss,test_loss,grad_norm,...,sv1)",
                       tr->path, need[k]);
  return DLN_SUCCESS;
}

/* Checks one row: a number in each column drawn, time never decreasing; notes what the axes
 * need. */
static int read_row(char **fields, size_t ncols, long lineno, void *data)
{
  (void)ncols;
  trajectory_reading *tr = data;
  trajectory_info *info = tr->info;
  /* The columns drawn, and the panel each feeds (the test loss may be empty). */
  int cols[3 + PLOT_MAX_SV] = {info->t, info->loss, info->grad_norm};
  int panel[3 + PLOT_MAX_SV] = {-1, 0, 1};
  size_t ncheck = 3;
  if (info->test_loss && fields[info->test_loss - 1][0] != '\0') {
    info->has_test = 1;
    cols[ncheck] = info->test_loss;
    panel[ncheck++] = 0;
  }
  for (size_t k = 0; k < info->nsv; k++) {
    cols[ncheck] = info->sv[k];
    panel[ncheck++] = 2;
  }
  double t = NAN;
  for (size_t k = 0; k < ncheck; k++) {
    double x;
    const char *field = fields[cols[k] - 1];
    if (dln_plot_parse_number(field, &x) != 0 || !isfinite(x))
      return dln_error(DLN_EFORMAT, "%s:%ld: column %d: '%s' is not a finite number", tr->path,
                       lineno, cols[k], field);
    if (k == 0)
      t = x;
    else if (x > 0.0)
      info->positive[panel[k]] = 1;
  }
  if (!(t >= tr->t_prev) || !isfinite(t) || t < 0.0)
    return dln_error(DLN_EFORMAT, "%s:%ld: time %s is negative, not finite or before the "
                     "previous row's", tr->path, lineno, fields[info->t - 1]);
  if (t > 0.0 && info->t_first == 0.0) info->t_first = t;
  info->t_last = tr->t_prev = t;
  tr->rows++;
  return DLN_SUCCESS;
}

/* Reads trajectory.csv: checks every row has the header's fields and a number in each column
 * drawn, and that time never decreases; notes what the axes need. */
static int read_trajectory(const char *path, trajectory_info *info)
{
  memset(info, 0, sizeof *info);
  trajectory_reading tr = {path, info, -INFINITY, 0};
  int status = dln_plot_read_csv(path, read_header, read_row, &tr);
  if (status == DLN_SUCCESS && info->t_first == 0.0)
    status = dln_error(DLN_EFORMAT, "%s: %zu rows and none at t > 0: nothing to draw on a log "
                       "time axis", path, tr.rows);
  return status;
}

/* ---- events.json -------------------------------------------------------------------- */

/* Reads key of plateau object o as a finite time >= 0 into *t; a null (or, unless required,
 * absent) key gives NaN. */
static int get_time(const char *path, size_t i, json_t *o, const char *key, int required,
                    int nullable, double *t)
{
  json_t *v = json_object_get(o, key);
  *t = NAN;
  if ((!v && !required) || (json_is_null(v) && nullable)) return DLN_SUCCESS;
  if (!v)
    return dln_error(DLN_EFORMAT, "%s: plateaus[%zu]: no \"%s\"", path, i, key);
  if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0.0)
    return dln_error(DLN_EFORMAT, "%s: plateaus[%zu]: \"%s\" must be a time >= 0%s", path, i,
                     key, nullable ? " or null" : "");
  *t = json_number_value(v);
  return DLN_SUCCESS;
}

/* Reads and checks plateaus[i]. */
static int read_plateau(const char *path, size_t i, json_t *o, plateau *p)
{
  if (!json_is_object(o))
    return dln_error(DLN_EFORMAT, "%s: plateaus[%zu] is not an object", path, i);
  const char *kind = json_string_value(json_object_get(o, "kind"));
  if (!kind || (strcmp(kind, "saddle") != 0 && strcmp(kind, "minimum") != 0))
    return dln_error(DLN_EFORMAT, "%s: plateaus[%zu]: \"kind\" must be \"saddle\" or "
                     "\"minimum\"", path, i);
  p->minimum = strcmp(kind, "minimum") == 0;
  json_t *index = json_object_get(o, "index"), *rank = json_object_get(o, "rank");
  if ((index && !json_is_integer(index)) || (rank && !json_is_integer(rank)) ||
      json_integer_value(rank) < 0)
    return dln_error(DLN_EFORMAT, "%s: plateaus[%zu]: \"index\" and \"rank\" must be integers "
                     ">= 0", path, i);
  p->index = index ? (long)json_integer_value(index) : (long)i;
  p->rank = rank ? (long)json_integer_value(rank) : -1;
  int status = get_time(path, i, o, "t_entry", 1, 0, &p->t_entry);
  if (status == DLN_SUCCESS) status = get_time(path, i, o, "t_exit", 1, 1, &p->t_exit);
  if (status == DLN_SUCCESS) status = get_time(path, i, o, "t_closest", 0, 1, &p->t_closest);
  if (status == DLN_SUCCESS && p->t_exit < p->t_entry)
    status = dln_error(DLN_EFORMAT, "%s: plateaus[%zu]: t_exit %.6g is before t_entry %.6g",
                       path, i, p->t_exit, p->t_entry);
  return status;
}

/* Reads events.json's plateaus into a malloc'd array (NULL and 0 if the file is absent). */
static int read_events(const char *path, plateau **out, size_t *count)
{
  *out = NULL;
  *count = 0;
  if (access(path, F_OK) != 0 && errno == ENOENT) return DLN_SUCCESS;
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (!root)
    return dln_error(DLN_EFORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
  json_t *list = json_object_get(root, "plateaus");
  int status = DLN_SUCCESS;
  if (!json_is_array(list)) {
    status = dln_error(DLN_EFORMAT, "%s: no \"plateaus\" array", path);
  } else if (json_array_size(list) > 0) {
    *out = calloc(json_array_size(list), sizeof **out);
    if (!*out) status = dln_error(DLN_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; status == DLN_SUCCESS && i < json_array_size(list); i++)
      status = read_plateau(path, i, json_array_get(list, i), &(*out)[i]);
    *count = json_array_size(list);
  }
  json_decref(root);
  if (status != DLN_SUCCESS) {
    free(*out);
    *out = NULL;
    *count = 0;
  }
  return status;
}

/* Plateaus must follow one another without overlap and lie within the trajectory's time
 * span: an events.json from another run (a stale file in a reused folder) is refused. */
static int check_events_fit(const char *path, const trajectory_info *info, const plateau *p,
                            size_t n)
{
  double slack = 1e-9 * info->t_last;
  for (size_t i = 0; i < n; i++) {
    double end = isnan(p[i].t_exit) ? p[i].t_entry : p[i].t_exit;
    if (end > info->t_last + slack)
      return dln_error(DLN_EFORMAT, "%s: plateaus[%zu] reaches t = %.6g, after the trajectory's "
                       "last time %.6g: the file belongs to another run", path, i, end,
                       info->t_last);
    if (i > 0 && (isnan(p[i - 1].t_exit) || p[i].t_entry < p[i - 1].t_exit))
      return dln_error(DLN_EFORMAT, "%s: plateaus[%zu] starts at t = %.6g, before plateaus[%zu] "
                       "ends: plateaus must follow one another", path, i, p[i].t_entry, i - 1);
  }
  return DLN_SUCCESS;
}

/* ---- the gnuplot script ------------------------------------------------------------- */

/* Writes the plateaus as objects that every panel then shows: a shaded rectangle over
 * [t_entry, t_exit], a dashed line and a label at t_closest. Times at or before the first
 * positive time (t_entry = 0) are moved there: a log axis has no 0. */
static void write_objects(FILE *fp, const trajectory_info *info, const plateau *p, size_t n)
{
  if (n == 0) return;
  fprintf(fp, "# Plateaus from events.json: [t_entry, t_exit] shaded (saddles grey, minima "
              "green),\n# t_closest dashed and labelled. Objects show on every panel.\n");
  for (size_t i = 0; i < n; i++) {
    char a[40], b[40], c[40];
    double x1 = fmax(p[i].t_entry, info->t_first);
    double x2 = fmax(isnan(p[i].t_exit) ? info->t_last : p[i].t_exit, x1);
    fprintf(fp, "set object %zu rect from first %s, graph 0 to first %s, graph 1 back "
                "fillcolor rgb '%s' fillstyle solid 1.0 noborder\n",
            i + 1, dln_format_double(a, sizeof a, x1, 0), dln_format_double(b, sizeof b, x2, 0),
            p[i].minimum ? "#d5f0d5" : "#dcdcdc");
    if (isnan(p[i].t_closest)) continue;
    dln_format_double(c, sizeof c, fmax(p[i].t_closest, info->t_first), 0);
    fprintf(fp, "set arrow %zu from first %s, graph 0 to first %s, graph 1 nohead back "
                "dashtype 2 linecolor rgb '#555555'\n", i + 1, c, c);
    fprintf(fp, "set label %zu '%s %ld", i + 1, p[i].minimum ? "minimum" : "saddle",
            p[i].index);
    if (p[i].rank >= 0) fprintf(fp, " (rank %ld)", p[i].rank);
    fprintf(fp, "' at first %s, graph 0.97 rotate by 90 right offset character -1, 0 front "
                "font ',8' textcolor rgb '#333333'\n", c);
  }
}

/* Writes the three panels. The first row (t = 0) is dropped by tx() on the log time axis. */
static void write_panels(FILE *fp, const trajectory_info *info, const plot_args *a)
{
  /* A log y axis needs a positive value: a panel without one is drawn on a linear axis. */
  const char *ylog[3], *ylin = "unset logscale y; set format y '%g'";
  for (int k = 0; k < 3; k++)
    ylog[k] = info->positive[k] ? "set logscale y; set format y '10^{%L}'" : ylin;
  fprintf(fp, "\n# Panel 1: train and test loss.\n%s\nset ylabel 'loss'\n"
              "plot csv skip 1 using (tx(column(%d))):(column(%d)) with lines lw 2 "
              "title 'train loss'",
          ylog[0], info->t, info->loss);
  if (info->has_test)
    fprintf(fp, ", \\\n     csv skip 1 using (tx(column(%d))):(column(%d)) with lines lw 2 "
                "dt 2 title 'test loss'", info->t, info->test_loss);
  fprintf(fp, "\n\n# Panel 2: norm of the gradient of the loss.\n%s\nset ylabel '||∇ℒ||'\n"
              "plot csv skip 1 using (tx(column(%d))):(column(%d)) with lines lw 2 "
              "title '||∇ℒ||'\n",
          ylog[1], info->t, info->grad_norm);
  fprintf(fp, "\n# Panel 3: singular values of A = W_L ... W_1 (columns sv1, sv2, ...).\n"
              "%s\nset ylabel 'singular values of A'\nset xlabel 't'\narray sv[%zu] = [",
          a->linear_sv ? ylin : ylog[2], info->nsv);
  for (size_t k = 0; k < info->nsv; k++) fprintf(fp, "%s%d", k ? ", " : "", info->sv[k]);
  fprintf(fp, "]\nplot for [i=1:%zu] csv skip 1 using (tx(column(%d))):(column(sv[i])) "
              "with lines lw 1.5 title (i <= %d ? sprintf('sv%%d', i) : '')\n",
          info->nsv, info->t, PLOT_MAX_SV_KEYS);
}

/* What the run's script body needs. */
typedef struct run_script {
  const char *csv;
  const trajectory_info *info;
  const plateau *plateaus;
  size_t nplateaus;
  const plot_args *args;
} run_script;

/* Writes the script's body: settings shared by the panels, the plateaus, then one pass per
 * format. */
static int write_run_script(FILE *fp, void *data)
{
  const run_script *rs = data;
  const trajectory_info *info = rs->info;
  fprintf(fp, "# The run in %s.\nset datafile separator ','\ncsv = ", rs->args->run_dir);
  dln_plot_put_quoted(fp, rs->csv);
  fprintf(fp, "\n# Times on the log axis: t = 0 has no place there.\ntx(t) = t > 0 ? t : NaN\n\n");
  char t1[40], t2[40];
  fprintf(fp, "# Shared by the panels: log time axis over the run's positive times, grid, key "
              "on the right.\nset logscale x\nset xrange [%s:%s]\nset format x '10^{%%L}'\n"
              "set grid\nset key outside right\nset lmargin 12\nset rmargin 22\n\n",
          dln_format_double(t1, sizeof t1, info->t_first, 0),
          dln_format_double(t2, sizeof t2, info->t_last, 0));
  write_objects(fp, info, rs->plateaus, rs->nplateaus);
  fprintf(fp, "\n");
  dln_plot_begin_figures(fp, "trajectory", 1000, 1100);
  fprintf(fp, "set multiplot layout 3,1 title ");
  dln_plot_put_quoted(fp, rs->args->run_dir);
  fprintf(fp, " noenhanced\nunset xlabel\n");
  write_panels(fp, info, rs->args);
  fprintf(fp, "unset multiplot\n");
  dln_plot_end_figures(fp);
  return DLN_SUCCESS;
}

/* ---- a run folder ------------------------------------------------------------------ */

/* Draws the run folder a->run_dir; returns the exit code. */
static int plot_run(const plot_args *a)
{
  if (a->noverrides > 0) {
    fprintf(stderr, "dlnflow plot: %s is a run folder (no sweep.json): '%s' is for sweeps\n",
            a->run_dir, a->overrides[0]);
    return DLN_EXIT_USAGE;
  }
  size_t len = strlen(a->run_dir) + (a->out ? strlen(a->out) : 0) + 32;
  char *csv = malloc(len), *events = malloc(len), *dir = malloc(len);
  plateau *plateaus = NULL;
  size_t nplateaus = 0;
  trajectory_info info;
  int code = DLN_EXIT_FAILED;
  if (!csv || !events || !dir) goto done;
  snprintf(csv, len, "%s/trajectory.csv", a->run_dir);
  snprintf(events, len, "%s/events.json", a->run_dir);
  snprintf(dir, len, "%s", a->out ? a->out : a->run_dir);
  if (!a->out) strcat(dir, "/plots");
  code = DLN_EXIT_USAGE;
  if (strpbrk(a->run_dir, "\n\r") || strpbrk(dir, "\n\r")) {
    fprintf(stderr, "dlnflow plot: a folder name with a line break cannot go into a gnuplot "
                    "script\n");
    goto done;
  }
  if (dln_cli_check_out_dir("plot", dir) != 0) goto done;
  int status = read_trajectory(csv, &info);
  if (status == DLN_SUCCESS) status = read_events(events, &plateaus, &nplateaus);
  if (status == DLN_SUCCESS) status = check_events_fit(events, &info, plateaus, nplateaus);
  if (status != DLN_SUCCESS) {
    fprintf(stderr, "dlnflow plot: %s\n", dln_error_message());
    goto done;
  }
  run_script rs = {csv, &info, plateaus, nplateaus, a};
  code = dln_plot_draw(dir, "trajectory", a->formats, 0, write_run_script, &rs);
done:
  free(csv);
  free(events);
  free(dir);
  free(plateaus);
  return code;
}

/* ---- the command -------------------------------------------------------------------- */

int dln_cmd_plot(int argc, char **argv)
{
  plot_args a;
  int code = parse_args(argc, argv, &a);
  if (code == 0) {
    /* Everything is read and checked before anything is written. */
    struct stat st;
    size_t len = strlen(a.run_dir) + 16;
    char *marker = malloc(len);
    if (stat(a.run_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      fprintf(stderr, "dlnflow plot: %s: %s\n", a.run_dir,
              errno == ENOENT ? "no such folder" : "not a folder");
      code = DLN_EXIT_USAGE;
    } else if (!marker) {
      code = DLN_EXIT_FAILED;
    } else {
      snprintf(marker, len, "%s/sweep.json", a.run_dir);
      if (access(marker, F_OK) != 0) {
        code = plot_run(&a);
      } else if (a.linear_sv) {
        fprintf(stderr, "dlnflow plot: %s is a sweep folder: --linear-sv is for run "
                        "folders\n", a.run_dir);
        code = DLN_EXIT_USAGE;
      } else {
        code = dln_plot_sweep(a.run_dir, a.out, a.formats, a.overrides, a.noverrides);
      }
    }
    free(marker);
  } else if (code < 0) {
    plot_usage(stdout);
    code = DLN_EXIT_OK;
  }
  for (size_t i = 0; i < a.noverrides; i++) free(a.overrides[i]);
  free(a.overrides);
  return code;
}
