/* dlnflow plot SWEEP_DIR: the figures of a sweep folder (docs/dlnflow-plot.md).
 *
 * A sweep folder holds sweep.json (the base configuration and the axes: the keys varied and
 * their values), sweep.csv (one row per point: the varied keys' values, status, final results
 * and the point's run folder) and points/NNNN/, each a `dlnflow run` folder. Two kinds of
 * figure, in a grid of panels: one column per value of plot.panel, one row per entry of
 * plot.rows:
 *   curves   each point's trajectory.csv column against t (log-log; rank linear), coloured by
 *            its plot.color value; points that differ only in other keys share the colour and
 *            are drawn thin; the test loss dashed with the loss.
 *   summary  a sweep.csv column against plot.x: per plot.color value a line through the mean
 *            over the other keys' completed points, with error bars of one standard deviation;
 *            a dashed line at the zero predictor's loss where the column is a final loss.
 *
 * Phases: read and check sweep.json, sweep.csv and (curves) every point's trajectory.csv;
 * then write the script (the summary's numbers inside it as data blocks; the curves read the
 * points' files themselves) and draw through dln_plot_draw, which keeps it as DIR/sweep.gp.
 *
 * Static functions, in order:
 *   add_string, free_strings, value_index, varied_key_index   small helpers
 *   read_axes, read_plot_keys, read_sweep_json                sweep.json
 *   find_columns, read_cell, read_point_row, read_sweep_csv   sweep.csv
 *   role_key, resolve_plot_keys, panel_of, color_of           plot.* against the axes
 *   find_point_columns, check_point_row, check_trajectory,
 *   read_trajectories                                         curves: the points' files
 *   is_linear_row, summarise, survey_summary                  summary: means, deviations
 *   write_panel_heading, write_color_keys, write_empty_panel,
 *   write_curves_panel, write_summary_data, write_summary_panel,
 *   write_summary_x_axis, write_sweep_script                  the gnuplot script
 *   free_sweep
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
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

/* Line colours, one per plot.color value (cycled beyond eight). */
static const char *const PALETTE[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define NPALETTE (sizeof PALETTE / sizeof *PALETTE)
/* The most panels a figure holds. */
#define MAX_PANELS 64

/* A key the sweep varies, with its distinct values in the order of sweep.json's axes. */
typedef struct varied_key {
  char *name;
  char **values;
  size_t nvalues;
} varied_key;

/* One row of sweep.csv and, for curves, its trajectory.csv. */
typedef struct point {
  long line;            /* line in sweep.csv */
  size_t *value;        /* per varied key: index of its value */
  int completed;        /* status completed */
  char *csv;            /* curves: path of trajectory.csv, NULL when the point has none */
  int t_col, test_col;  /* curves: columns of t and test_loss (0: none) */
  int *cols;            /* curves: the column of each plot row */
  double *cells;        /* summary: the point's value of each plot row (NaN: none) */
  double *zero;         /* summary: the zero predictor's value for each row (NaN: none) */
} point;

typedef struct sweep {
  const char *dir;      /* the sweep folder, as given */
  char *abs;            /* the same, absolute (the kept script runs from anywhere) */
  dln_config *cfg;      /* the [plot] keys */
  varied_key *keys;
  size_t nkeys;
  int summary;          /* plot.kind = summary */
  int panel, color, x;  /* varied key of each role, -1 for none */
  char **rows;          /* plot.rows */
  size_t nrows;
  point *points;
  size_t npoints;
  size_t npanels, ncolors;
  /* Per row and panel (index r * npanels + p): values drawn, positive ones among them. */
  size_t *nvalid, *npositive;
  size_t skipped;       /* curves: points without a trajectory.csv */
  size_t left_out;      /* summary: points whose status is not completed */
  int x_numeric, x_log; /* summary: x values all numbers; log axis */
} sweep;

/* ---- small helpers ------------------------------------------------------------------ */

/* Appends a copy of s to the list; returns 0 or -1 (no memory). */
static int add_string(char ***list, size_t *n, const char *s)
{
  char **grown = realloc(*list, (*n + 1) * sizeof **list);
  if (!grown) return -1;
  *list = grown;
  if (!(grown[*n] = strdup(s))) return -1;
  ++*n;
  return 0;
}

static void free_strings(char **list, size_t n)
{
  for (size_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

/* Returns the index of s in key's values, or -1. */
static long value_index(const varied_key *key, const char *s)
{
  for (size_t i = 0; i < key->nvalues; i++)
    if (strcmp(key->values[i], s) == 0) return (long)i;
  return -1;
}

static int varied_key_index(const sweep *sw, const char *name)
{
  for (size_t k = 0; k < sw->nkeys; k++)
    if (strcmp(sw->keys[k].name, name) == 0) return (int)k;
  return -1;
}

/* ---- sweep.json --------------------------------------------------------------------- */

/* Reads "axes": the varied keys and their distinct values, in axis order. */
static int read_axes(sweep *sw, const char *path, json_t *axes)
{
  if (!json_is_array(axes))
    return dln_error(DLN_EFORMAT, "%s: no \"axes\" array", path);
  if (json_array_size(axes) == 0)
    return dln_error(DLN_EFORMAT, "%s: \"axes\" is empty: the sweep varies nothing (an empty "
                     "sweep)", path);
  for (size_t a = 0; a < json_array_size(axes); a++) {
    json_t *axis = json_array_get(axes, a);
    json_t *keys = json_object_get(axis, "keys"), *values = json_object_get(axis, "values");
    if (!json_is_array(keys) || json_array_size(keys) == 0 || !json_is_array(values) ||
        json_array_size(values) == 0)
      return dln_error(DLN_EFORMAT, "%s: axes[%zu] needs a non-empty \"keys\" array and a "
                       "non-empty \"values\" array", path, a);
    size_t first = sw->nkeys, nk = json_array_size(keys);
    for (size_t j = 0; j < nk; j++) {
      const char *name = json_string_value(json_array_get(keys, j));
      if (!name) return dln_error(DLN_EFORMAT, "%s: axes[%zu].keys[%zu] is not a string", path, a, j);
      if (varied_key_index(sw, name) >= 0)
        return dln_error(DLN_EFORMAT, "%s: %s is varied by two axes", path, name);
      varied_key *grown = realloc(sw->keys, (sw->nkeys + 1) * sizeof *grown);
      if (!grown) return dln_error(DLN_ENOMEM, "out of memory");
      sw->keys = grown;
      memset(&grown[sw->nkeys], 0, sizeof *grown);
      if (!(grown[sw->nkeys++].name = strdup(name))) return dln_error(DLN_ENOMEM, "out of memory");
    }
    for (size_t v = 0; v < json_array_size(values); v++) {
      json_t *tuple = json_array_get(values, v);
      if (!json_is_array(tuple) || json_array_size(tuple) != nk)
        return dln_error(DLN_EFORMAT, "%s: axes[%zu].values[%zu] is not an array of %zu "
                         "strings (one per key)", path, a, v, nk);
      for (size_t j = 0; j < nk; j++) {
        const char *s = json_string_value(json_array_get(tuple, j));
        varied_key *key = &sw->keys[first + j];
        if (!s)
          return dln_error(DLN_EFORMAT, "%s: axes[%zu].values[%zu][%zu] is not a string", path,
                           a, v, j);
        if (value_index(key, s) < 0 && add_string(&key->values, &key->nvalues, s) != 0)
          return dln_error(DLN_ENOMEM, "out of memory");
      }
    }
  }
  return DLN_SUCCESS;
}

/* Applies config.plot's keys (the sweep's [plot] section) to sw->cfg. */
static int read_plot_keys(sweep *sw, const char *path, json_t *root)
{
  json_t *plot = json_object_get(json_object_get(root, "config"), "plot");
  if (!plot) return DLN_SUCCESS;
  if (!json_is_object(plot))
    return dln_error(DLN_EFORMAT, "%s: config.plot is not an object", path);
  const char *key;
  json_t *value;
  json_object_foreach(plot, key, value) {
    if (!json_is_string(value))
      return dln_error(DLN_EFORMAT, "%s: config.plot.%s is not a string", path, key);
    size_t len = strlen(key) + json_string_length(value) + 16;
    char *assignment = malloc(len);
    if (!assignment) return dln_error(DLN_ENOMEM, "out of memory");
    snprintf(assignment, len, "plot.%s=%s", key, json_string_value(value));
    char where[DLN_PATH_MAX + 16];
    snprintf(where, sizeof where, "%s: config", path);
    int status = dln_config_override(sw->cfg, assignment, where);
    free(assignment);
    if (status != DLN_SUCCESS) return status;
  }
  return DLN_SUCCESS;
}

static int read_sweep_json(sweep *sw, const char *path)
{
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (!root) return dln_error(DLN_EFORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
  int status = DLN_SUCCESS;
  const char *command = json_string_value(json_object_get(root, "command"));
  if (!command || strcmp(command, "sweep") != 0)
    status = dln_error(DLN_EFORMAT, "%s: \"command\" is not \"sweep\": not a sweep folder's "
                       "file", path);
  if (status == DLN_SUCCESS) status = read_axes(sw, path, json_object_get(root, "axes"));
  if (status == DLN_SUCCESS) status = read_plot_keys(sw, path, root);
  json_decref(root);
  return status;
}

/* ---- sweep.csv ---------------------------------------------------------------------- */

/* Columns of sweep.csv that the plot reads (1-based; 0: absent), while reading it. */
typedef struct csv_reading {
  sweep *sw;
  const char *path;
  int *key;        /* per varied key */
  int status, dir;
  int *row, *zero; /* summary: per plot row, the row's column and its zero predictor's */
} csv_reading;

/* Finds the columns by name in the header; every varied key, status and dir are needed, and
 * for a summary every row (the zero predictor's columns are optional). */
static int find_columns(char **names, size_t n, long line, void *data)
{
  (void)line;
  csv_reading *c = data;
  const sweep *sw = c->sw;
  for (size_t k = 0; k < sw->nkeys; k++)
    if (!(c->key[k] = dln_plot_find_column(names, n, sw->keys[k].name)))
      return dln_error(DLN_EFORMAT, "%s:1: no '%s' column, which sweep.json's axes vary",
                       c->path, sw->keys[k].name);
  c->status = dln_plot_find_column(names, n, "status");
  c->dir = dln_plot_find_column(names, n, "dir");
  if (!c->status || !c->dir)
    return dln_error(DLN_EFORMAT, "%s:1: no '%s' column", c->path, c->status ? "dir" : "status");
  for (size_t r = 0; sw->summary && r < sw->nrows; r++) {
    if (!(c->row[r] = dln_plot_find_column(names, n, sw->rows[r])))
      return dln_error(DLN_EFORMAT, "%s:1: no '%s' column (plot.rows)", c->path, sw->rows[r]);
    /* test_loss_final is measured against test_loss_zero, loss_final against loss_zero. */
    const char *end = strstr(sw->rows[r], "loss_final");
    if (end && strcmp(end, "loss_final") == 0) {
      char zero[DLN_TEXT_MAX];
      snprintf(zero, sizeof zero, "%.*sloss_zero", (int)(end - sw->rows[r]), sw->rows[r]);
      c->zero[r] = dln_plot_find_column(names, n, zero);
    }
  }
  return DLN_SUCCESS;
}

/* Reads a number cell: empty is NaN; anything but a finite number is an error. */
static int read_cell(const char *path, long line, const char *column, const char *s, double *x)
{
  *x = NAN;
  if (!s[0]) return DLN_SUCCESS;
  if (dln_plot_parse_number(s, x) != 0 || !isfinite(*x))
    return dln_error(DLN_EFORMAT, "%s:%ld: column %s: '%s' is not a finite number", path, line,
                     column, s);
  return DLN_SUCCESS;
}

/* Adds a point from the fields of one sweep.csv row. */
static int read_point_row(char **f, size_t nf, long line, void *data)
{
  (void)nf;
  csv_reading *c = data;
  sweep *sw = c->sw;
  point *grown = realloc(sw->points, (sw->npoints + 1) * sizeof *grown);
  if (!grown) return dln_error(DLN_ENOMEM, "out of memory");
  sw->points = grown;
  point *p = &grown[sw->npoints++];
  memset(p, 0, sizeof *p);
  p->line = line;
  p->value = calloc(sw->nkeys, sizeof *p->value);
  p->cells = malloc(sw->nrows * sizeof *p->cells);
  p->zero = malloc(sw->nrows * sizeof *p->zero);
  p->cols = calloc(sw->nrows, sizeof *p->cols);
  if (!p->value || !p->cells || !p->zero || !p->cols) return dln_error(DLN_ENOMEM, "out of memory");
  for (size_t k = 0; k < sw->nkeys; k++) {
    long v = value_index(&sw->keys[k], f[c->key[k] - 1]);
    if (v < 0)
      return dln_error(DLN_EFORMAT, "%s:%ld: %s = '%s' is not one of sweep.json's values for "
                       "it", c->path, line, sw->keys[k].name, f[c->key[k] - 1]);
    p->value[k] = (size_t)v;
  }
  p->completed = strcmp(f[c->status - 1], "completed") == 0;
  for (size_t r = 0; r < sw->nrows; r++) {
    p->cells[r] = p->zero[r] = NAN;
    if (!sw->summary) continue;
    int status = read_cell(c->path, line, sw->rows[r], f[c->row[r] - 1], &p->cells[r]);
    if (status == DLN_SUCCESS && c->zero[r])
      status = read_cell(c->path, line, "of the zero predictor", f[c->zero[r] - 1], &p->zero[r]);
    if (status != DLN_SUCCESS) return status;
  }
  /* The point's run folder: relative to the sweep folder unless absolute. */
  const char *dir = f[c->dir - 1];
  if (!sw->summary && dir[0]) {
    size_t len = strlen(sw->abs) + strlen(dir) + 32;
    if (!(p->csv = malloc(len))) return dln_error(DLN_ENOMEM, "out of memory");
    snprintf(p->csv, len, "%s%s%s/trajectory.csv", dir[0] == '/' ? "" : sw->abs,
             dir[0] == '/' ? "" : "/", dir);
  }
  return DLN_SUCCESS;
}

static int read_sweep_csv(sweep *sw, const char *path)
{
  csv_reading c = {sw, path, calloc(sw->nkeys, sizeof(int)), 0, 0, calloc(sw->nrows, sizeof(int)),
                   calloc(sw->nrows, sizeof(int))};
  int status = c.key && c.row && c.zero ? dln_plot_read_csv(path, find_columns, read_point_row, &c)
                                        : dln_error(DLN_ENOMEM, "out of memory");
  if (status == DLN_SUCCESS && sw->npoints == 0)
    status = dln_error(DLN_EFORMAT, "%s: no point (an empty sweep)", path);
  free(c.key);
  free(c.row);
  free(c.zero);
  return status;
}

/* ---- the plot keys ------------------------------------------------------------------ */

/* Finds plot.<role> = name among the varied keys (-1 for an empty name). */
static int role_key(const sweep *sw, const char *role, const char *name, int *index)
{
  *index = -1;
  if (!name[0]) return DLN_SUCCESS;
  if ((*index = varied_key_index(sw, name)) >= 0) return DLN_SUCCESS;
  char varied[1024] = "";
  size_t used = 0;
  for (size_t k = 0; k < sw->nkeys && used < sizeof varied; k++)
    used += (size_t)snprintf(varied + used, sizeof varied - used, "%s%s", k ? ", " : "",
                             sw->keys[k].name);
  return dln_error(DLN_EINVAL, "plot.%s = %s is not a varied key of this sweep (it varies %s)",
                   role, name, varied);
}

/* Checks the [plot] keys and resolves them against the sweep's axes. */
static int resolve_plot_keys(sweep *sw)
{
  const dln_config *cfg = sw->cfg;
  int status = dln_config_validate_plot(cfg);
  if (status != DLN_SUCCESS) return status;
  sw->summary = strcmp(cfg->plot_kind, "summary") == 0;
  status = role_key(sw, "panel", cfg->plot_panel, &sw->panel);
  if (status == DLN_SUCCESS) status = role_key(sw, "color", cfg->plot_color, &sw->color);
  if (status == DLN_SUCCESS && sw->summary) status = role_key(sw, "x", cfg->plot_x, &sw->x);
  if (status != DLN_SUCCESS) return status;
  if (sw->summary && sw->x < 0) {
    for (size_t k = 0; k < sw->nkeys && sw->x < 0; k++)
      if ((int)k != sw->panel && (int)k != sw->color) sw->x = (int)k;
    if (sw->x < 0)
      return dln_error(DLN_EINVAL, "plot.kind = summary needs a varied key for the x axis "
                       "besides plot.panel and plot.color (plot.x)");
  }
  sw->npanels = sw->panel >= 0 ? sw->keys[sw->panel].nvalues : 1;
  sw->ncolors = sw->color >= 0 ? sw->keys[sw->color].nvalues : 1;
  const char *rows = cfg->plot_rows[0] ? cfg->plot_rows
                     : sw->summary      ? "test_loss_final,rank_final"
                                        : "loss";
  for (const char *p = rows;;) {
    size_t len = strcspn(p, ",");
    char name[DLN_TEXT_MAX];
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    if (add_string(&sw->rows, &sw->nrows, name) != 0) return dln_error(DLN_ENOMEM, "out of memory");
    if (!p[len]) break;
    p += len + 1;
  }
  if (sw->npanels * sw->nrows > MAX_PANELS)
    return dln_error(DLN_EINVAL, "%zu rows x %zu values of plot.panel make %zu panels; at most "
                     "%d fit in a figure", sw->nrows, sw->npanels, sw->nrows * sw->npanels,
                     MAX_PANELS);
  sw->nvalid = calloc(sw->nrows * sw->npanels, sizeof *sw->nvalid);
  sw->npositive = calloc(sw->nrows * sw->npanels, sizeof *sw->npositive);
  if (!sw->nvalid || !sw->npositive) return dln_error(DLN_ENOMEM, "out of memory");
  return DLN_SUCCESS;
}

static size_t panel_of(const sweep *sw, const point *p)
{
  return sw->panel >= 0 ? p->value[sw->panel] : 0;
}

static size_t color_of(const sweep *sw, const point *p)
{
  return sw->color >= 0 ? p->value[sw->color] : 0;
}

/* ---- curves: the points' trajectory.csv --------------------------------------------- */

/* What reading a point's trajectory.csv carries from line to line. */
typedef struct point_reading {
  sweep *sw;
  point *p;
  size_t panel;
  double t_prev;
  int want_test, has_test; /* the loss is drawn (with the test loss); a test loss seen */
} point_reading;

/* Finds t, the rows and the test loss in the header. */
static int find_point_columns(char **f, size_t ncols, long line, void *data)
{
  (void)line;
  point_reading *pr = data;
  point *p = pr->p;
  p->t_col = dln_plot_find_column(f, ncols, "t");
  p->test_col = dln_plot_find_column(f, ncols, "test_loss");
  if (!p->t_col) return dln_error(DLN_EFORMAT, "%s:1: no 't' column", p->csv);
  for (size_t r = 0; r < pr->sw->nrows; r++)
    if (!(p->cols[r] = dln_plot_find_column(f, ncols, pr->sw->rows[r])))
      return dln_error(DLN_EFORMAT, "%s:1: no '%s' column (plot.rows)", p->csv, pr->sw->rows[r]);
  return DLN_SUCCESS;
}

/* Checks one row: time never going back, each value drawn a finite number or empty; counts
 * the values drawn (t > 0) and the positive ones per row of panels. */
static int check_point_row(char **f, size_t ncols, long lineno, void *data)
{
  (void)ncols;
  point_reading *pr = data;
  sweep *sw = pr->sw;
  const point *p = pr->p;
  double t;
  if (dln_plot_parse_number(f[p->t_col - 1], &t) != 0 || !(t >= pr->t_prev) || !isfinite(t))
    return dln_error(DLN_EFORMAT, "%s:%ld: time '%s' is not a finite number at or after the "
                     "previous row's", p->csv, lineno, f[p->t_col - 1]);
  pr->t_prev = t;
  for (size_t r = 0; r <= sw->nrows; r++) {
    /* r = nrows: the test loss, drawn with the loss. */
    int col = r < sw->nrows ? p->cols[r] : pr->want_test ? p->test_col : 0;
    double x;
    if (!col || !f[col - 1][0]) continue;
    if (dln_plot_parse_number(f[col - 1], &x) != 0 || !isfinite(x))
      return dln_error(DLN_EFORMAT, "%s:%ld: column %d: '%s' is not a finite number", p->csv,
                       lineno, col, f[col - 1]);
    if (r == sw->nrows) {
      pr->has_test = 1;
    } else if (t > 0.0) {
      sw->nvalid[r * sw->npanels + pr->panel]++;
      if (x > 0.0) sw->npositive[r * sw->npanels + pr->panel]++;
    }
  }
  return DLN_SUCCESS;
}

/* Reads point p's trajectory.csv (check_point_row); the test loss is drawn only if it has one. */
static int check_trajectory(sweep *sw, point *p)
{
  point_reading pr = {sw, p, panel_of(sw, p), -INFINITY, 0, 0};
  for (size_t r = 0; r < sw->nrows; r++) pr.want_test |= strcmp(sw->rows[r], "loss") == 0;
  int status = dln_plot_read_csv(p->csv, find_point_columns, check_point_row, &pr);
  if (!pr.has_test) p->test_col = 0;
  return status;
}

/* Checks the trajectory of every point that has one; a point without is left out. */
static int read_trajectories(sweep *sw)
{
  size_t drawn = 0;
  for (size_t i = 0; i < sw->npoints; i++) {
    point *p = &sw->points[i];
    if (p->csv && access(p->csv, F_OK) != 0 && errno == ENOENT) {
      free(p->csv);
      p->csv = NULL;
    }
    if (!p->csv) {
      sw->skipped++;
      continue;
    }
    int status = check_trajectory(sw, p);
    if (status != DLN_SUCCESS) return status;
    drawn++;
  }
  if (drawn == 0)
    return dln_error(DLN_EFORMAT, "%s: none of its %zu points has a trajectory.csv to draw",
                     sw->dir, sw->npoints);
  return DLN_SUCCESS;
}

/* ---- summary: means and deviations -------------------------------------------------- */

/* Rows on a linear y axis: ranks and counts of plateaus. Others go on a log axis when they
 * have a positive value to draw. */
static int is_linear_row(const char *row)
{
  return strncmp(row, "rank", 4) == 0 || strcmp(row, "plateau") == 0 ||
         strcmp(row, "plateaus") == 0 || strcmp(row, "saddles") == 0;
}

/* Mean and sample standard deviation (0 for one value) of row r over the completed points
 * in panel p, colour c and x value xv; returns how many there are. With zero, the mean of the
 * zero predictor's values over the completed points of the panel instead (xv ignored). */
static size_t summarise(const sweep *sw, size_t r, size_t p, size_t c, size_t xv, int zero,
                        double *mean, double *sd)
{
  double s = 0.0, ss = 0.0;
  size_t n = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < sw->npoints; i++) {
      const point *q = &sw->points[i];
      double v = zero ? q->zero[r] : q->cells[r];
      if (!q->completed || isnan(v) || panel_of(sw, q) != p) continue;
      if (!zero && (color_of(sw, q) != c || q->value[sw->x] != xv)) continue;
      if (pass == 0) {
        s += v;
        n++;
      } else {
        ss += (v - *mean) * (v - *mean);
      }
    }
    *mean = n > 0 ? s / (double)n : NAN;
  }
  *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
  return n;
}

/* Notes which x values are numbers (then x is numeric; log when all positive and spanning a
 * factor of 100 or more) and counts the values drawn per row and panel. */
static void survey_summary(sweep *sw)
{
  const varied_key *xk = &sw->keys[sw->x];
  double lo = INFINITY, hi = -INFINITY, v = 0.0;
  sw->x_numeric = 1;
  for (size_t i = 0; i < xk->nvalues; i++) {
    if (dln_plot_parse_number(xk->values[i], &v) != 0 || !isfinite(v)) sw->x_numeric = 0;
    lo = fmin(lo, v);
    hi = fmax(hi, v);
  }
  sw->x_log = sw->x_numeric && lo > 0.0 && hi >= 100.0 * lo;
  for (size_t i = 0; i < sw->npoints; i++) {
    const point *q = &sw->points[i];
    if (!q->completed) {
      sw->left_out++;
      continue;
    }
    for (size_t r = 0; r < sw->nrows; r++) {
      if (isnan(q->cells[r])) continue;
      sw->nvalid[r * sw->npanels + panel_of(sw, q)]++;
      if (q->cells[r] > 0.0) sw->npositive[r * sw->npanels + panel_of(sw, q)]++;
    }
  }
}

/* ---- the gnuplot script ------------------------------------------------------------- */

/* Title, axis labels and y scale of panel (r, p); returns whether its y axis is logarithmic. */
static int write_panel_heading(FILE *fp, const sweep *sw, size_t r, size_t p, const char *xlabel)
{
  if (r == 0 && sw->panel >= 0) {
    fprintf(fp, "set title ");
    char title[2 * DLN_TEXT_MAX];
    snprintf(title, sizeof title, "%s = %s", sw->keys[sw->panel].name,
             sw->keys[sw->panel].values[p]);
    dln_plot_put_quoted(fp, title);
    fprintf(fp, " noenhanced\n");
  } else {
    fprintf(fp, "unset title\n");
  }
  fprintf(fp, "set ylabel ");
  dln_plot_put_quoted(fp, p == 0 ? sw->rows[r] : "");
  fprintf(fp, " noenhanced\nset xlabel ");
  dln_plot_put_quoted(fp, r + 1 == sw->nrows ? xlabel : "");
  fprintf(fp, " noenhanced\n");
  int linear = is_linear_row(sw->rows[r]);
  int log = !linear && sw->npositive[r * sw->npanels + p] > 0;
  /* Ranks and counts start at 0, with room above the largest. */
  fprintf(fp, "%s\n", log ? "set logscale y; set format y '10^{%L}'; set yrange [*:*]; "
                            "set offsets 0, 0, 0, 0"
                   : linear ? "unset logscale y; set format y '%g'; set yrange [0:*]; "
                              "set offsets 0, 0, graph 0.08, 0"
                            : "unset logscale y; set format y '%g'; set yrange [*:*]; "
                              "set offsets 0, 0, 0, 0");
  /* The key where curves seldom are: losses fall, other columns mostly rise. */
  int falling = strstr(sw->rows[r], "loss") || strstr(sw->rows[r], "grad_norm");
  fprintf(fp, "set key %s\n", sw->summary ? "top right" : falling ? "bottom left" : "top left");
  return log;
}

/* Key entries of the colours (in the first panel only): one per plot.color value. */
static void write_color_keys(FILE *fp, const sweep *sw)
{
  for (size_t c = 0; sw->color >= 0 && c < sw->ncolors; c++) {
    char title[2 * DLN_TEXT_MAX];
    snprintf(title, sizeof title, "%s = %s", sw->keys[sw->color].name,
             sw->keys[sw->color].values[c]);
    fprintf(fp, ", \\\n     keyentry with lines lw 2 lc rgb '%s' title ", PALETTE[c % NPALETTE]);
    dln_plot_put_quoted(fp, title);
    fprintf(fp, " noenhanced");
  }
}

/* An empty panel: nothing to draw there. */
static void write_empty_panel(FILE *fp)
{
  fprintf(fp, "set label 1 'no data' at graph 0.5, 0.5 center\n"
              "plot [1:10][0:1] NaN notitle\nunset label 1\n");
}

/* Panel (r, p) of the curves: every point of the panel that has a trajectory. */
static void write_curves_panel(FILE *fp, const sweep *sw, size_t r, size_t p)
{
  int log = write_panel_heading(fp, sw, r, p, "t");
  if (sw->nvalid[r * sw->npanels + p] == 0) {
    write_empty_panel(fp);
    return;
  }
  /* Points sharing panel and colour (they differ in other keys) are drawn thin. */
  size_t *group = calloc(sw->ncolors, sizeof *group);
  for (size_t i = 0; group && i < sw->npoints; i++)
    if (sw->points[i].csv && panel_of(sw, &sw->points[i]) == p)
      group[color_of(sw, &sw->points[i])]++;
  const char *y = log ? "ly" : "lin";
  int first = 1, dashed = 0;
  fprintf(fp, "plot ");
  for (size_t i = 0; i < sw->npoints; i++) {
    const point *q = &sw->points[i];
    if (!q->csv || panel_of(sw, q) != p) continue;
    size_t c = color_of(sw, q);
    double lw = group && group[c] > 1 ? 1.0 : 2.0;
    for (int test = 0; test < 2; test++) {
      int col = test ? q->test_col : q->cols[r];
      if (test && (strcmp(sw->rows[r], "loss") != 0 || !col)) continue;
      fprintf(fp, "%s", first ? "" : ", \\\n     ");
      first = 0;
      dln_plot_put_quoted(fp, q->csv);
      fprintf(fp, " using (tx(column(%d))):(%s(column(%d))) with lines lw %g%s lc rgb '%s' "
                  "notitle", q->t_col, y, col, lw, test ? " dt 2" : "", PALETTE[c % NPALETTE]);
      dashed |= test;
    }
  }
  if (r == 0 && p == 0) write_color_keys(fp, sw);
  if (dashed && p == 0)
    fprintf(fp, ", \\\n     keyentry with lines lw 2 dt 2 lc rgb '#333333' title "
                "'test loss (dashed)'");
  fprintf(fp, "\n");
  free(group);
}

/* The summary's numbers as data blocks, one per row, panel and colour: x (or the position of a
 * value that is not a number), the mean, mean - sd, mean + sd and the count of points. gnuplot
 * takes data blocks only outside the loop over the formats. */
static void write_summary_data(FILE *fp, const sweep *sw)
{
  const varied_key *xk = &sw->keys[sw->x];
  char num[3][40];
  fprintf(fp, "# Means and standard deviations over the completed points of each x value.\n");
  for (size_t r = 0; r < sw->nrows; r++)
    for (size_t p = 0; p < sw->npanels; p++)
      for (size_t c = 0; c < sw->ncolors; c++) {
        size_t drawn = 0;
        for (size_t v = 0; v < xk->nvalues; v++) {
          double mean, sd;
          size_t n = summarise(sw, r, p, c, v, 0, &mean, &sd);
          if (n == 0) continue;
          if (drawn++ == 0)
            fprintf(fp, "$s_%zu_%zu_%zu << EOD\n# %s mean low high count\n", r, p, c, xk->name);
          if (sw->x_numeric)
            fprintf(fp, "%s", xk->values[v]);
          else
            fprintf(fp, "%zu", v + 1);
          fprintf(fp, " %s %s %s %zu\n", dln_format_double(num[0], sizeof num[0], mean, 0),
                  dln_format_double(num[1], sizeof num[1], mean - sd, 0),
                  dln_format_double(num[2], sizeof num[2], mean + sd, 0), n);
        }
        if (drawn) fprintf(fp, "EOD\n");
      }
}

/* Panel (r, p) of the summary: each colour's data block with error bars, and the zero
 * predictor's mean dashed. */
static void write_summary_panel(FILE *fp, const sweep *sw, size_t r, size_t p)
{
  const varied_key *xk = &sw->keys[sw->x];
  int log = write_panel_heading(fp, sw, r, p, xk->name);
  if (sw->nvalid[r * sw->npanels + p] == 0) {
    write_empty_panel(fp);
    return;
  }
  int first = 1;
  fprintf(fp, "plot ");
  for (size_t c = 0; c < sw->ncolors; c++) {
    double mean, sd;
    size_t any = 0;
    for (size_t v = 0; v < xk->nvalues; v++) any += summarise(sw, r, p, c, v, 0, &mean, &sd);
    if (!any) continue;
    fprintf(fp, "%s$s_%zu_%zu_%zu using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.8 lc rgb '%s' "
                "notitle", first ? "" : ", \\\n     ", r, p, c, PALETTE[c % NPALETTE]);
    first = 0;
  }
  double zero, unused;
  char num[40];
  if (summarise(sw, r, p, 0, 0, 1, &zero, &unused) > 0 && (!log || zero > 0.0))
    fprintf(fp, ", \\\n     %s with lines dt 2 lw 1.5 lc rgb '#555555' title 'zero predictor'",
            dln_format_double(num, sizeof num, zero, 0));
  if (r == 0 && p == 0) write_color_keys(fp, sw);
  fprintf(fp, "\n");
}

/* The most x values labelled one by one on a summary's axis. */
#define SUMMARY_TICS 12

/* The x axis of the summary: log, linear or categorical, with a margin around the values. */
static void write_summary_x_axis(FILE *fp, const sweep *sw)
{
  const varied_key *xk = &sw->keys[sw->x];
  char a[40], b[40];
  /* Tics at the sweep's values, labelled as the sweep wrote them; past SUMMARY_TICS values
   * labels would overlap: numbers get gnuplot's own tics, categories every k-th label. */
  size_t stride = (xk->nvalues + SUMMARY_TICS - 1) / SUMMARY_TICS;
  int own_tics = sw->x_numeric && stride > 1;
  fprintf(fp, own_tics ? "set xtics autofreq\n" : "set xtics (");
  for (size_t v = 0; v < xk->nvalues && !own_tics; v += stride) {
    fprintf(fp, "%s", v ? ", " : "");
    dln_plot_put_quoted(fp, xk->values[v]);
    if (sw->x_numeric)
      fprintf(fp, " %s", xk->values[v]);
    else
      fprintf(fp, " %zu", v + 1);
  }
  if (!own_tics) fprintf(fp, ")\n");
  if (!sw->x_numeric) {
    fprintf(fp, "set xrange [0.5:%zu.5]\n", xk->nvalues);
    return;
  }
  double lo = INFINITY, hi = -INFINITY, v = 0.0;
  for (size_t i = 0; i < xk->nvalues; i++) {
    dln_plot_parse_number(xk->values[i], &v);
    lo = fmin(lo, v);
    hi = fmax(hi, v);
  }
  if (sw->x_log) {
    fprintf(fp, "set logscale x\nset xrange [%s:%s]\n",
            dln_format_double(a, sizeof a, lo / 1.5, 0), dln_format_double(b, sizeof b, hi * 1.5, 0));
    return;
  }
  double margin = hi > lo ? 0.08 * (hi - lo) : (lo != 0.0 ? 0.5 * fabs(lo) : 1.0);
  fprintf(fp, "unset logscale x\nset xrange [%s:%s]\n",
          dln_format_double(a, sizeof a, lo - margin, 0),
          dln_format_double(b, sizeof b, hi + margin, 0));
}

static int write_sweep_script(FILE *fp, void *data)
{
  const sweep *sw = data;
  fprintf(fp, "# The sweep in %s: plot.kind = %s, plot.panel = %s, plot.color = %s, plot.rows "
              "=", sw->abs, sw->summary ? "summary" : "curves",
          sw->panel >= 0 ? sw->keys[sw->panel].name : "(none)",
          sw->color >= 0 ? sw->keys[sw->color].name : "(none)");
  for (size_t r = 0; r < sw->nrows; r++) fprintf(fp, "%s%s", r ? "," : " ", sw->rows[r]);
  if (sw->summary) fprintf(fp, ", plot.x = %s", sw->keys[sw->x].name);
  fprintf(fp, ".\nset datafile separator %s\nset grid\nset key font ',8' samplen 2 opaque\n"
              "# Values on log axes: t = 0 and non-positive values have no place there.\n"
              "tx(t) = t > 0 ? t : NaN\nly(y) = y > 0 ? y : NaN\nlin(y) = y\n",
          sw->summary ? "whitespace" : "','");
  if (sw->summary)
    write_summary_x_axis(fp, sw);
  else
    fprintf(fp, "set logscale x\nset format x '10^{%%L}'\n");
  if (sw->summary) write_summary_data(fp, sw);
  int width = (int)(160 + 420 * sw->npanels), height = (int)(100 + 300 * sw->nrows);
  fprintf(fp, "\n");
  dln_plot_begin_figures(fp, "sweep", width, height);
  fprintf(fp, "set multiplot layout %zu,%zu title ", sw->nrows, sw->npanels);
  char title[DLN_PATH_MAX + 32];
  snprintf(title, sizeof title, "%s (%s)", sw->dir, sw->summary ? "summary" : "curves");
  dln_plot_put_quoted(fp, title);
  fprintf(fp, " noenhanced\n");
  for (size_t r = 0; r < sw->nrows; r++)
    for (size_t p = 0; p < sw->npanels; p++) {
      fprintf(fp, "\n# Row %zu (%s), panel %zu.\n", r + 1, sw->rows[r], p + 1);
      if (sw->summary)
        write_summary_panel(fp, sw, r, p);
      else
        write_curves_panel(fp, sw, r, p);
    }
  fprintf(fp, "unset multiplot\n");
  dln_plot_end_figures(fp);
  return DLN_SUCCESS;
}

/* ---- the command -------------------------------------------------------------------- */

static void free_sweep(sweep *sw)
{
  for (size_t k = 0; k < sw->nkeys; k++) {
    free(sw->keys[k].name);
    free_strings(sw->keys[k].values, sw->keys[k].nvalues);
  }
  free(sw->keys);
  for (size_t i = 0; i < sw->npoints; i++) {
    free(sw->points[i].value);
    free(sw->points[i].csv);
    free(sw->points[i].cols);
    free(sw->points[i].cells);
    free(sw->points[i].zero);
  }
  free(sw->points);
  free_strings(sw->rows, sw->nrows);
  free(sw->nvalid);
  free(sw->npositive);
  free(sw->abs);
  free(sw->cfg);
}

int dln_plot_sweep(const char *sweep_dir, const char *out_dir, int formats, char **overrides,
                   size_t noverrides)
{
  sweep sw = {.dir = sweep_dir, .panel = -1, .color = -1, .x = -1};
  const char *dir = out_dir ? out_dir : sweep_dir;
  char *abs_out = NULL;
  size_t len = strlen(sweep_dir) + 32;
  char *json = malloc(len), *csv = malloc(len);
  sw.abs = realpath(sweep_dir, NULL);
  sw.cfg = malloc(sizeof *sw.cfg);
  int code = DLN_EXIT_USAGE, status = DLN_SUCCESS;
  if (!json || !csv || !sw.abs || !sw.cfg) {
    fprintf(stderr, "dlnflow plot: %s: %s\n", sweep_dir, sw.abs ? "out of memory" : strerror(errno));
    goto done;
  }
  if (strpbrk(sw.abs, "\n\r") || strpbrk(dir, "\n\r")) {
    fprintf(stderr, "dlnflow plot: a folder name with a line break cannot go into a gnuplot "
                    "script\n");
    goto done;
  }
  if (dln_cli_check_out_dir("plot", dir) != 0) goto done;
  /* The kept script names its output folder absolutely, so that it runs from anywhere. */
  if (dir[0] != '/') {
    char *cwd = getcwd(NULL, 0);
    size_t n = (cwd ? strlen(cwd) : 0) + strlen(dir) + 2;
    if (!cwd || !(abs_out = malloc(n))) {
      fprintf(stderr, "dlnflow plot: cannot name the current folder: %s\n", strerror(errno));
      free(cwd);
      goto done;
    }
    snprintf(abs_out, n, "%s/%s", cwd, dir);
    free(cwd);
    dir = abs_out;
  }
  snprintf(json, len, "%s/sweep.json", sweep_dir);
  snprintf(csv, len, "%s/sweep.csv", sweep_dir);
  dln_config_defaults(sw.cfg);
  status = read_sweep_json(&sw, json);
  for (size_t i = 0; i < noverrides && status == DLN_SUCCESS; i++)
    status = dln_config_override(sw.cfg, overrides[i], "command line");
  if (status == DLN_SUCCESS) status = resolve_plot_keys(&sw);
  if (status == DLN_SUCCESS) status = read_sweep_csv(&sw, csv);
  if (status == DLN_SUCCESS && !sw.summary) status = read_trajectories(&sw);
  if (status == DLN_SUCCESS && sw.summary) survey_summary(&sw);
  if (status != DLN_SUCCESS) {
    fprintf(stderr, "dlnflow plot: %s\n", dln_error_message());
    goto done;
  }
  if (sw.skipped)
    fprintf(stderr, "dlnflow plot: %zu of %zu points have no trajectory.csv and are left out\n",
            sw.skipped, sw.npoints);
  if (sw.left_out)
    fprintf(stderr, "dlnflow plot: %zu of %zu points did not complete (status failed or "
                    "interrupted) and are left out of the means\n", sw.left_out, sw.npoints);
  code = dln_plot_draw(dir, "sweep", formats, 1, write_sweep_script, &sw);
done:
  free(json);
  free(csv);
  free(abs_out);
  free_sweep(&sw);
  return code;
}
