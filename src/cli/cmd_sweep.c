/* dlnflow sweep CONFIG [--grid keys=values ...] [--jobs N] [--out DIR] [--quiet]
 *                [section.key=value ...]
 *
 * Phases:
 *   1. the grid: CONFIG's [sweep] axes, replaced or extended by --grid; every point's
 *      configuration is built and validated before anything is written;
 *   2. DIR/sweep.json (the grid and its points) and DIR/points/<id>/, one per point, <id> a
 *      hash of the point's overrides (so a grown grid finds its old points again);
 *   3. the points this process owns (all of them, or under MPI every size-th from its rank)
 *      that are not already finished run as child processes `dlnflow run`, --jobs at a time,
 *      each its own run folder and log; a point is finished when its summary.json says
 *      completed for the very configuration the point has now and its files are whole, so a
 *      restarted sweep skips it;
 *   4. one row per point from its summary.json and events.json, gathered (under MPI on rank
 *      0) into DIR/sweep.csv and DIR/plateaus.csv in point order.
 * Each point is exactly `dlnflow run`, so its results do not depend on --jobs or on the
 * number of ranks; only the wall_seconds column does. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>

#ifdef DLNFLOW_MPI
#include <mpi.h>
#endif

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/io.h"
#include "dlnflow/sweep.h"

extern char **environ;

typedef struct sweep_args {
  const char *config;
  const char *out;
  int jobs;               /* 0: one per core */
  int quiet;
  int plot;               /* draw DIR/sweep.png at the end (--no-plot: 0) */
  char **grids;           /* --grid specs */
  size_t ngrids;
  char **overrides;       /* applied to every point */
  size_t noverrides;
} sweep_args;

/* What became of a point. */
typedef enum point_state {
  POINT_PENDING,          /* not run (the sweep was interrupted first) */
  POINT_DONE,             /* finished earlier: skipped */
  POINT_COMPLETED,
  POINT_FAILED,
  POINT_INTERRUPTED
} point_state;

typedef struct sweep_point {
  char name[20];            /* its folder DIR/points/<name>: a hash of its overrides */
  uint64_t resolved;        /* a hash of its resolved configuration (bar its folder) */
  point_state state;
  pid_t pid;
  double started;
} sweep_point;

typedef struct sweep {
  const sweep_args *args;
  dln_config *base;
  dln_sweep_grid grid;
  sweep_point *points;
  size_t npoints;
  char dir[DLN_PATH_MAX];
  char *config_text;        /* CONFIG as read at the start: the children must read the same */
  size_t config_size;
  int rank, size;           /* MPI rank and size (0, 1 without MPI) */
} sweep;

static void sweep_usage(FILE *out)
{
  fprintf(out,
          "usage: dlnflow sweep CONFIG [--grid key=v1,v2,... ...] [--jobs N] [--out DIR]\n"
          "                    [--no-plot] [--quiet] [section.key=value ...]\n"
          "Runs `dlnflow run` at every point of the grid (CONFIG's [sweep] axes and each\n"
          "--grid; keys varied together: --grid a.x/b.y=1/2,3/4; a range of whole numbers:\n"
          "init.seed=1:10), --jobs at a time (default: one per core), each into\n"
          "DIR/points/NNNN, and gathers one row per point into DIR/sweep.csv and one per\n"
          "plateau into DIR/plateaus.csv, then draws DIR/sweep.png as CONFIG's [plot] says\n"
          "(`dlnflow plot DIR`). Rerun, it skips the points already finished. Under\n"
          "`mpirun -n K` the ranks share the points. See docs/dlnflow-sweep.md.\n");
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- arguments ----------------------------------------------------------------------- */

static int take_value(int argc, char **argv, int *i, const char *what, const char **value)
{
  if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
    fprintf(stderr, "dlnflow sweep: %s needs %s\n", argv[*i], what);
    return DLN_EXIT_USAGE;
  }
  *value = argv[++*i];
  return 0;
}

static int parse_args(int argc, char **argv, sweep_args *a)
{
  memset(a, 0, sizeof *a);
  a->plot = 1;
  a->overrides = calloc((size_t)argc, sizeof *a->overrides);
  a->grids = calloc((size_t)argc, sizeof *a->grids);
  if (!a->overrides || !a->grids) return DLN_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *value;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return -1;
    if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
      a->quiet = 1;
    } else if (strcmp(argv[i], "--no-plot") == 0) {
      a->plot = 0;
    } else if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "-o") == 0) {
      if (take_value(argc, argv, &i, "a folder", &a->out)) return DLN_EXIT_USAGE;
    } else if (strcmp(argv[i], "--grid") == 0 || strcmp(argv[i], "-g") == 0) {
      if (take_value(argc, argv, &i, "keys=values", &value)) return DLN_EXIT_USAGE;
      a->grids[a->ngrids++] = (char *)value;
    } else if (strcmp(argv[i], "--jobs") == 0 || strcmp(argv[i], "-j") == 0) {
      if (take_value(argc, argv, &i, "a number of jobs", &value)) return DLN_EXIT_USAGE;
      char *end;
      errno = 0;
      long n = strtol(value, &end, 10);
      if (*end != '\0' || errno || n < 1 || n > 1024) {
        fprintf(stderr, "dlnflow sweep: --jobs '%s' is not a whole number from 1 to 1024\n",
                value);
        return DLN_EXIT_USAGE;
      }
      a->jobs = (int)n;
    } else if (dln_cli_take_argument("sweep", argv[i], &a->config, a->overrides,
                                     &a->noverrides) != 0) {
      return DLN_EXIT_USAGE;
    }
  }
  if (!a->config) {
    fprintf(stderr, "dlnflow sweep: missing CONFIG\n");
    sweep_usage(stderr);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

/* ---- phase 1: the grid and its points ------------------------------------------------ */

/* Writes "key=value key=value" of point i into buf (for messages). */
static void describe_point(const sweep *s, size_t i, char *buf, size_t size)
{
  size_t used = 0;
  buf[0] = '\0';
  for (size_t a = 0; a < s->grid.naxes; a++)
    for (size_t k = 0; k < s->grid.axes[a].nkeys && used < size; k++)
      used += (size_t)snprintf(buf + used, size - used, "%s%s=%s", used ? " " : "",
                               s->grid.axes[a].keys[k], dln_sweep_value(&s->grid, i, a, k));
}

/* Whether the grid varies "section.key". */
static int varies(const sweep *s, const char *key)
{
  for (size_t a = 0; a < s->grid.naxes; a++)
    for (size_t k = 0; k < s->grid.axes[a].nkeys; k++)
      if (strcmp(s->grid.axes[a].keys[k], key) == 0) return 1;
  return 0;
}

static int build_grid(sweep *s)
{
  /* --grid axes replace the [sweep] lines they share keys with, but not each other */
  int status = dln_sweep_grid_from_config(s->base, &s->grid);
  dln_sweep_grid given = {.npoints = 1};
  for (size_t g = 0; status == DLN_SUCCESS && g < s->args->ngrids; g++) {
    dln_sweep_axis axis, copy;
    status = dln_sweep_axis_parse_assignment(s->args->grids[g], "--grid", &axis);
    if (status == DLN_SUCCESS)
      status = dln_sweep_axis_parse_assignment(s->args->grids[g], "--grid", &copy);
    if (status == DLN_SUCCESS) status = dln_sweep_grid_add(&given, &copy, "--grid");
    if (status == DLN_SUCCESS) status = dln_sweep_grid_override(&s->grid, &axis);
    dln_sweep_axis_release(&axis);
    dln_sweep_axis_release(&copy);
  }
  dln_sweep_grid_release(&given);
  if (status != DLN_SUCCESS) {
    dln_cli_report("grid", status);
    return status;
  }
  if (s->grid.naxes == 0) {
    fprintf(stderr, "dlnflow sweep: %s has no [sweep] axes and no --grid was given: nothing "
                    "to vary\n", s->args->config);
    return DLN_EINVAL;
  }
  /* an override of a varied key would be silently beaten by the grid */
  for (size_t o = 0; o < s->args->noverrides; o++) {
    char key[128];
    const char *eq = strchr(s->args->overrides[o], '=');
    snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - s->args->overrides[o]) : 0,
             s->args->overrides[o]);
    char *end = key + strlen(key);
    while (end > key && end[-1] == ' ') *--end = '\0';
    if (varies(s, key)) {
      fprintf(stderr, "dlnflow sweep: %s varies on the grid; give its values with --grid %s=...\n",
              key, key);
      return DLN_EINVAL;
    }
  }
  /* the plot's roles must be varied keys, or the plot would fail after every run */
  const char *roles[][2] = {{"plot.panel", s->base->plot_panel},
                            {"plot.color", s->base->plot_color},
                            {"plot.x", s->base->plot_x}};
  for (size_t r = 0; r < 3; r++)
    if (roles[r][1][0] && !varies(s, roles[r][1])) {
      fprintf(stderr, "dlnflow sweep: %s = %s, but the sweep does not vary %s (varied: ",
              roles[r][0], roles[r][1], roles[r][1]);
      for (size_t a = 0; a < s->grid.naxes; a++)
        for (size_t k = 0; k < s->grid.axes[a].nkeys; k++)
          fprintf(stderr, "%s%s", a + k ? ", " : "", s->grid.axes[a].keys[k]);
      fprintf(stderr, ")\n");
      return DLN_EINVAL;
    }
  return DLN_SUCCESS;
}

#define FNV_OFFSET 14695981039346656037ULL

/* FNV-1a: h extended by text and then the separator `after`. */
static uint64_t fnv_add(uint64_t h, const char *text, char after)
{
  for (const unsigned char *c = (const unsigned char *)text; *c; c++)
    h = (h ^ *c) * 1099511628211ULL;
  return (h ^ (unsigned char)after) * 1099511628211ULL;
}

/* Point i's folder name: FNV-1a of its overrides, so that it does not depend on the point's
 * place in the grid (a grid grown by a value finds its finished points again). */
static void point_name(const sweep *s, size_t i, char *buf, size_t size)
{
  uint64_t h = FNV_OFFSET;
  for (size_t a = 0; a < s->grid.naxes; a++)
    for (size_t k = 0; k < s->grid.axes[a].nkeys; k++) {
      h = fnv_add(h, s->grid.axes[a].keys[k], '=');
      h = fnv_add(h, dln_sweep_value(&s->grid, i, a, k), '\n');
    }
  snprintf(buf, size, "%016llx", (unsigned long long)h);
}

/* (build_points checked that every point's folder name fits.) */
static void point_dir(const sweep *s, size_t i, char *buf, size_t size)
{
  if (snprintf(buf, size, "%s/points/%s", s->dir, s->points[i].name) >= (int)size) buf[0] = '\0';
}

/* Point i's configuration: the base with its overrides, in its own folder. */
static int point_config(const sweep *s, size_t i, dln_config *cfg)
{
  *cfg = *s->base;
  int status = dln_sweep_apply(&s->grid, i, cfg);
  point_dir(s, i, cfg->out_dir, sizeof cfg->out_dir);
  if (status == DLN_SUCCESS) status = dln_config_validate(cfg);
  return status;
}

/* FNV-1a over "section.key=value" lines of a configuration, all keys bar output.dir. */
static void hash_key(const char *section, const char *key, const char *value, void *data)
{
  uint64_t *h = data;
  if (strcmp(section, "output") == 0 && strcmp(key, "dir") == 0) return;
  *h = fnv_add(fnv_add(fnv_add(*h, section, '.'), key, '='), value, '\n');
}

static int compare_resolved(const void *a, const void *b)
{
  uint64_t x = (*(sweep_point *const *)a)->resolved, y = (*(sweep_point *const *)b)->resolved;
  return (x > y) - (x < y);
}

/* Refuses two points that read as the same run (init.seed=1,01 or a value listed twice):
 * they would share a folder, and what came out would depend on --jobs. */
static int refuse_duplicates(const sweep *s)
{
  sweep_point **order = malloc(s->npoints * sizeof *order);
  if (!order) return DLN_ENOMEM;
  for (size_t i = 0; i < s->npoints; i++) order[i] = &s->points[i];
  qsort(order, s->npoints, sizeof *order, compare_resolved);
  int status = DLN_SUCCESS;
  for (size_t i = 1; status == DLN_SUCCESS && i < s->npoints; i++) {
    if (order[i]->resolved != order[i - 1]->resolved) continue;
    size_t a = (size_t)(order[i - 1] - s->points), b = (size_t)(order[i] - s->points);
    if (a > b) { size_t t = a; a = b; b = t; }
    char wa[600], wb[600];
    describe_point(s, a, wa, sizeof wa);
    describe_point(s, b, wb, sizeof wb);
    fprintf(stderr, "dlnflow sweep: points %zu (%s) and %zu (%s) are the same run once their "
                    "values are read: list each value once\n", a, wa, b, wb);
    status = DLN_EINVAL;
  }
  free(order);
  return status;
}

/* Names every point and validates its configuration before anything is written. */
static int build_points(sweep *s)
{
  s->npoints = s->grid.npoints;
  s->points = calloc(s->npoints, sizeof *s->points);
  dln_config *cfg = malloc(sizeof *cfg);
  if (!s->points || !cfg) {
    free(cfg);
    fprintf(stderr, "dlnflow sweep: out of memory for %zu points\n", s->npoints);
    return DLN_ENOMEM;
  }
  int status = DLN_SUCCESS;
  if (strlen(s->dir) + 32 >= sizeof cfg->out_dir) {
    fprintf(stderr, "dlnflow sweep: %s: the folder's name is too long\n", s->dir);
    status = DLN_EINVAL;
  }
  for (size_t i = 0; status == DLN_SUCCESS && i < s->npoints; i++) {
    point_name(s, i, s->points[i].name, sizeof s->points[i].name);
    status = point_config(s, i, cfg);
    if (status != DLN_SUCCESS) {
      char what[600];
      describe_point(s, i, what, sizeof what);
      fprintf(stderr, "dlnflow sweep: point %zu (%s): %s\n", i, what, dln_error_message());
    }
    s->points[i].resolved = FNV_OFFSET;
    dln_config_foreach(cfg, hash_key, &s->points[i].resolved);
  }
  free(cfg);
  if (status == DLN_SUCCESS) status = refuse_duplicates(s);
  return status;
}

/* ---- phase 2: the folder ------------------------------------------------------------- */

static json_t *grid_json(const sweep *s)
{
  json_t *axes = json_array(), *points = json_array();
  for (size_t a = 0; a < s->grid.naxes; a++) {
    const dln_sweep_axis *ax = &s->grid.axes[a];
    json_t *keys = json_array(), *values = json_array();
    for (size_t k = 0; k < ax->nkeys; k++) json_array_append_new(keys, json_string(ax->keys[k]));
    for (size_t v = 0; v < ax->nvalues; v++) {
      json_t *item = json_array();
      for (size_t k = 0; k < ax->nkeys; k++)
        json_array_append_new(item, json_string(ax->values[v * ax->nkeys + k]));
      json_array_append_new(values, item);
    }
    json_array_append_new(axes, json_pack("{s:o, s:o}", "keys", keys, "values", values));
  }
  for (size_t i = 0; i < s->npoints; i++) {
    json_t *over = json_object();
    for (size_t a = 0; a < s->grid.naxes; a++)
      for (size_t k = 0; k < s->grid.axes[a].nkeys; k++)
        json_object_set_new(over, s->grid.axes[a].keys[k],
                            json_string(dln_sweep_value(&s->grid, i, a, k)));
    char rel[64];
    snprintf(rel, sizeof rel, "points/%s", s->points[i].name);
    json_array_append_new(points, json_pack("{s:I, s:s, s:o}", "index", (json_int_t)i, "dir",
                                            rel, "overrides", over));
  }
  return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "command", "sweep", "source",
                   s->args->config, "config", dln_cli_config_json(s->base), "axes", axes,
                   "points", points, "versions", dln_cli_versions_json());
}

static int write_grid(const sweep *s)
{
  json_t *root = grid_json(s);
  if (!root) return dln_error(DLN_ENOMEM, "cannot build sweep.json");
  char path[DLN_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/sweep.json", s->dir);
  int status = dln_cli_write_json(path, root);
  json_decref(root);
  return status;
}

/* ---- phase 3: running the points ----------------------------------------------------- */

static json_t *load_json(const char *dir, const char *name)
{
  char path[DLN_PATH_MAX + 128];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return NULL;
  return json_load_file(path, 0, NULL);
}

/* Drops what must not decide whether two configurations are the same point: the folder,
 * the file the configuration came from, and the plot's keys (they change no result). */
static void strip_incidentals(json_t *config)
{
  json_object_del(json_object_get(config, "output"), "dir");
  json_object_del(config, "source");
  json_object_del(config, "plot");
}

/* Counts the lines of a file (-1 if it cannot be read). */
static long count_lines(const char *path)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  long n = 0;
  int c, last = '\n';
  while ((c = getc(fp)) != EOF) {
    n += c == '\n';
    last = c;
  }
  fclose(fp);
  return last == '\n' ? n : -1; /* a last line without its newline is a cut file */
}

/* Whether DIR/name reads as a whole matrix (an NPY's data as long as its header says). */
static int matrix_whole(const char *dir, const char *name)
{
  char path[DLN_PATH_MAX + 96];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  dln_matrix m = {0};
  int whole = dln_matrix_read(path, &m) == DLN_SUCCESS;
  dln_matrix_release(&m);
  return whole;
}

/* Whether events.json reads and every A_* matrix it names is whole. */
static int events_whole(const char *dir)
{
  json_t *events = load_json(dir, "events.json");
  json_t *list = json_object_get(events, "plateaus");
  int whole = events != NULL;
  for (size_t k = 0; whole && k < json_array_size(list); k++) {
    const char *key;
    json_t *file;
    json_object_foreach(json_object_get(json_array_get(list, k), "files"), key, file)
      if (json_is_string(file) && !matrix_whole(dir, json_string_value(file))) whole = 0;
  }
  json_decref(events);
  return whole;
}

/* A point is finished when its summary.json says completed for the configuration the point
 * has now, and its files are whole: trajectory.csv with a row per recorded sample, A_final.npy,
 * and events.json with its matrices when events are on. */
static int point_finished(const sweep *s, size_t i)
{
  char dir[DLN_PATH_MAX + 64], path[DLN_PATH_MAX + 96];
  point_dir(s, i, dir, sizeof dir);
  json_t *summary = load_json(dir, "summary.json");
  if (!summary) return 0;
  dln_config *cfg = malloc(sizeof *cfg);
  json_t *mine = cfg && point_config(s, i, cfg) == DLN_SUCCESS ? dln_cli_config_json(cfg) : NULL;
  json_t *theirs = json_deep_copy(json_object_get(summary, "config"));
  strip_incidentals(mine);
  strip_incidentals(theirs);
  const char *status = json_string_value(json_object_get(summary, "status"));
  json_int_t samples = json_integer_value(json_object_get(json_object_get(summary, "result"),
                                                          "samples"));
  int done = mine && status && strcmp(status, "completed") == 0 && json_equal(mine, theirs);
  snprintf(path, sizeof path, "%s/trajectory.csv", dir);
  done = done && count_lines(path) == (long)samples + 1;
  done = done && (samples == 0 || matrix_whole(dir, "A_final.npy"));
  if (done && cfg->events_enabled && samples > 0) done = events_whole(dir);
  json_decref(mine);
  json_decref(theirs);
  json_decref(summary);
  free(cfg);
  return done;
}

/* The executable of this process, for the children. */
static int self_path(char *buf, size_t size)
{
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  if (n <= 0 || (size_t)n >= size - 1)
    return dln_error(DLN_EIO, "cannot find the dlnflow executable (/proc/self/exe)");
  buf[n] = '\0';
  return DLN_SUCCESS;
}

/* Empties a point's folder of an earlier attempt's files, so that a run that fails before
 * writing anything leaves no stale results to be read as its own. Refuses while another
 * process (a run orphaned by a killed sweep) still writes there. */
static int clear_point(const char *dir)
{
  int lock = -1;
  int status = dln_cli_make_dir(dir);
  if (status == DLN_SUCCESS && dln_cli_lock_dir(dir, &lock) != DLN_SUCCESS)
    return dln_error(DLN_EIO, "%s: a dlnflow run (left by an earlier sweep?) still writes "
                              "there; wait for it or stop it, then rerun the sweep", dir);
  DIR *d = status == DLN_SUCCESS ? opendir(dir) : NULL;
  if (status == DLN_SUCCESS && !d)
    status = dln_error(DLN_EIO, "%s: cannot read the folder: %s", dir, strerror(errno));
  struct dirent *e;
  char path[DLN_PATH_MAX + 300];
  while (d && status == DLN_SUCCESS && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* the lock, . and .. */
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) != 0)
      status = dln_error(DLN_EIO, "%s: cannot remove an earlier attempt's file: %s", path,
                         strerror(errno));
  }
  if (d) closedir(d);
  if (lock >= 0) dln_cli_unlock_dir(dir, lock);
  return status;
}

/* Starts `dlnflow run CONFIG --out DIR --quiet overrides... point-overrides...` with its
 * output in DIR/run.log; the child dies with the sweep (PR_SET_PDEATHSIG), so that a killed
 * sweep leaves no runs behind writing into its folder. */
static int spawn_point(const sweep *s, size_t i, const char *exe)
{
  sweep_point *p = &s->points[i];
  char dir[DLN_PATH_MAX + 64], log[DLN_PATH_MAX + 96];
  point_dir(s, i, dir, sizeof dir);
  snprintf(log, sizeof log, "%s/run.log", dir);
  int status = clear_point(dir);
  if (status != DLN_SUCCESS) return status;
  size_t nkeys = 0;
  for (size_t a = 0; a < s->grid.naxes; a++) nkeys += s->grid.axes[a].nkeys;
  char **argv = calloc(7 + s->args->noverrides + nkeys, sizeof *argv);
  if (!argv) return dln_error(DLN_ENOMEM, "out of memory");
  size_t n = 0;
  argv[n++] = (char *)exe;
  argv[n++] = "run";
  argv[n++] = (char *)s->args->config;
  argv[n++] = "--out";
  argv[n++] = dir;
  argv[n++] = "--quiet";
  for (size_t o = 0; o < s->args->noverrides; o++) argv[n++] = s->args->overrides[o];
  for (size_t a = 0; status == DLN_SUCCESS && a < s->grid.naxes; a++)
    for (size_t k = 0; status == DLN_SUCCESS && k < s->grid.axes[a].nkeys; k++) {
      const char *key = s->grid.axes[a].keys[k], *value = dln_sweep_value(&s->grid, i, a, k);
      size_t len = strlen(key) + strlen(value) + 2;
      char *text = malloc(len);
      if (!text) status = dln_error(DLN_ENOMEM, "out of memory");
      else snprintf(text, len, "%s=%s", key, value);
      argv[n++] = text;
    }
  pid_t parent = getpid();
  pid_t pid = status == DLN_SUCCESS ? fork() : -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(DLN_EXIT_INTERRUPTED); /* the sweep is already gone */
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execv(exe, argv);
    _exit(127);
  }
  if (status == DLN_SUCCESS && pid < 0)
    status = dln_error(DLN_EIO, "cannot start a run: %s", strerror(errno));
  if (pid > 0) p->pid = pid;
  p->started = now();
  for (size_t k = 6 + s->args->noverrides; k < n; k++) free(argv[k]);
  free(argv);
  return status;
}

static const char *state_name(point_state s)
{
  switch (s) {
  case POINT_DONE:
  case POINT_COMPLETED: return "completed";
  case POINT_FAILED: return "failed";
  case POINT_INTERRUPTED: return "interrupted";
  case POINT_PENDING: break;
  }
  return "pending";
}

static void report_point(const sweep *s, size_t i, size_t finished, size_t total)
{
  if (s->args->quiet) return;
  const sweep_point *p = &s->points[i];
  char what[600], dir[DLN_PATH_MAX + 64];
  describe_point(s, i, what, sizeof what);
  point_dir(s, i, dir, sizeof dir);
  json_t *summary = load_json(dir, "summary.json");
  json_t *result = json_object_get(summary, "result");
  printf("[%zu/%zu] point %zu (%s): %s", finished, total, i, what, state_name(p->state));
  if (result && p->state != POINT_PENDING)
    printf(", loss %.4g, rank %lld", json_number_value(json_object_get(result, "loss_final")),
           (long long)json_integer_value(json_object_get(result, "rank_final")));
  if (p->state == POINT_FAILED) printf(" (see %s/run.log)", dir);
  printf(", %.1f s\n", now() - p->started);
  fflush(stdout);
  json_decref(summary);
}

/* Whether CONFIG still holds what it held when the sweep started (the children read it). */
static int config_unchanged(const sweep *s)
{
  FILE *fp = fopen(s->args->config, "rb");
  if (!fp) return 0;
  int same = 1;
  size_t n = 0;
  int c;
  while (same && (c = getc(fp)) != EOF) same = n < s->config_size && s->config_text[n++] == (char)c;
  fclose(fp);
  return same && n == s->config_size;
}

/* Runs this process's unfinished points, jobs at a time. Returns DLN_EXIT_INTERRUPTED when
 * a signal stopped the sweep, DLN_EXIT_FAILED when CONFIG changed under it, else
 * DLN_EXIT_OK (failed points are counted by the caller). */
static int run_points(sweep *s, int jobs)
{
  char exe[DLN_PATH_MAX];
  if (self_path(exe, sizeof exe) != DLN_SUCCESS) {
    dln_cli_report("sweep", DLN_EIO);
    return DLN_EXIT_FAILED;
  }
  size_t mine = 0, todo = 0, skipped = 0;
  for (size_t i = (size_t)s->rank; i < s->npoints; i += (size_t)s->size) {
    mine++;
    if (point_finished(s, i)) {
      s->points[i].state = POINT_DONE;
      skipped++;
    } else {
      todo++;
    }
  }
  if (!s->args->quiet && (s->size > 1 || skipped))
    printf("dlnflow sweep: rank %d of %d: %zu points, %zu finished earlier, %zu to run\n",
           s->rank, s->size, mine, skipped, todo);
  size_t next = (size_t)s->rank, running = 0, finished = skipped;
  int changed = 0;
  for (;;) {
    while (!changed && !dln_cli_interrupted && running < (size_t)jobs && next < s->npoints) {
      size_t i = next;
      next += (size_t)s->size;
      if (s->points[i].state == POINT_DONE) continue;
      if (!config_unchanged(s)) {
        fprintf(stderr, "dlnflow sweep: %s changed during the sweep; no more points start "
                        "(rerun the sweep to finish it with the new file)\n", s->args->config);
        changed = 1;
        break;
      }
      if (spawn_point(s, i, exe) != DLN_SUCCESS) {
        s->points[i].state = POINT_FAILED;
        char dir[DLN_PATH_MAX + 64];
        point_dir(s, i, dir, sizeof dir);
        fprintf(stderr, "dlnflow sweep: point %zu: %s\n", i, dln_error_message());
        report_point(s, i, ++finished, mine);
        continue;
      }
      running++;
    }
    if (running == 0) break;
    int wstatus;
    pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0) {
      if (errno == EINTR) {
        if (dln_cli_interrupted) /* a signal for the sweep alone: pass it on */
          for (size_t i = 0; i < s->npoints; i++)
            if (s->points[i].pid > 0) kill(s->points[i].pid, SIGTERM);
        continue;
      }
      break;
    }
    for (size_t i = 0; i < s->npoints; i++) {
      sweep_point *p = &s->points[i];
      if (p->pid != pid) continue;
      p->pid = 0;
      running--;
      int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
      p->state = code == DLN_EXIT_OK            ? POINT_COMPLETED
                 : code == DLN_EXIT_INTERRUPTED ? POINT_INTERRUPTED
                 : WIFSIGNALED(wstatus) && (WTERMSIG(wstatus) == SIGINT ||
                                            WTERMSIG(wstatus) == SIGTERM)
                     ? POINT_INTERRUPTED
                     : POINT_FAILED;
      report_point(s, i, ++finished, mine);
    }
  }
  if (dln_cli_interrupted) return DLN_EXIT_INTERRUPTED;
  return changed ? DLN_EXIT_FAILED : DLN_EXIT_OK;
}

/* ---- phase 4: the tables ------------------------------------------------------------- */

static const char *const STAT_COLUMNS[] = {"steps", "rhs_evals", "hvp_evals", "newton_iters",
                                           "linear_iters", "error_test_fails"};
#define NSTAT_COLUMNS (sizeof STAT_COLUMNS / sizeof STAT_COLUMNS[0])

/* A JSON number as a cell (empty for null or absent). */
static void put_number(FILE *fp, json_t *v)
{
  char buf[40];
  if (json_is_integer(v))
    fprintf(fp, ",%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, json_real_value(v), 1));
  else
    fputc(',', fp);
}

static void put_real(FILE *fp, double x)
{
  char buf[40];
  fprintf(fp, ",%s", dln_format_double(buf, sizeof buf, x, 1));
}

/* A text cell, quoted as RFC 4180 says when it holds a comma, a quote or a line break. */
static void put_text(FILE *fp, const char *text)
{
  if (!strpbrk(text, ",\"\r\n")) {
    fprintf(fp, ",%s", text);
    return;
  }
  fputs(",\"", fp);
  for (const char *c = text; *c; c++) {
    if (*c == '"') fputc('"', fp);
    fputc(*c, fp);
  }
  fputc('"', fp);
}

/* The varied keys' values of point i as cells. */
static void put_keys(FILE *fp, const sweep *s, size_t i)
{
  fprintf(fp, "%zu", i);
  for (size_t a = 0; a < s->grid.naxes; a++)
    for (size_t k = 0; k < s->grid.axes[a].nkeys; k++)
      put_text(fp, dln_sweep_value(&s->grid, i, a, k));
}

static void put_key_header(FILE *fp, const sweep *s)
{
  fprintf(fp, "point");
  for (size_t a = 0; a < s->grid.naxes; a++)
    for (size_t k = 0; k < s->grid.axes[a].nkeys; k++) fprintf(fp, ",%s", s->grid.axes[a].keys[k]);
}

static void sweep_header(FILE *fp, const sweep *s)
{
  put_key_header(fp, s);
  fprintf(fp, ",status,stop_reason,t_final,loss_final,test_loss_final,loss_zero,"
              "test_loss_zero,rank_final,nuclear_norm_final,grad_norm_final,plateaus,saddles,"
              "escape_time");
  for (size_t c = 0; c < NSTAT_COLUMNS; c++) fprintf(fp, ",%s", STAT_COLUMNS[c]);
  fprintf(fp, ",wall_seconds,dir\n");
}

static void plateau_header(FILE *fp, const sweep *s)
{
  put_key_header(fp, s);
  fprintf(fp, ",plateau,kind,rank,t_entry,t_closest,t_exit,loss\n");
}

/* Point i's sweep.csv row (into rows) and its plateaus.csv rows (into plateaus). */
static void point_rows(const sweep *s, size_t i, FILE *rows, FILE *plateaus)
{
  const sweep_point *p = &s->points[i];
  char dir[DLN_PATH_MAX + 64];
  point_dir(s, i, dir, sizeof dir);
  json_t *summary = p->state == POINT_PENDING ? NULL : load_json(dir, "summary.json");
  json_t *events = p->state == POINT_PENDING ? NULL : load_json(dir, "events.json");
  json_t *result = json_object_get(summary, "result");
  json_t *stats = json_object_get(json_object_get(summary, "solver"), "stats");
  const char *state = state_name(p->state);
  /* a point that wrote no summary (a set-up failure) or one that failed says so */
  const char *reported = json_string_value(json_object_get(summary, "status"));
  if (p->state == POINT_DONE && reported) state = reported;
  put_keys(rows, s, i);
  fprintf(rows, ",%s,%s", state,
          json_string_value(json_object_get(result, "stop_reason"))
              ? json_string_value(json_object_get(result, "stop_reason"))
              : "");
  put_number(rows, json_object_get(result, "t_final"));
  put_number(rows, json_object_get(result, "loss_final"));
  put_number(rows, json_object_get(result, "test_loss_final"));
  put_number(rows, json_object_get(result, "loss_zero"));
  put_number(rows, json_object_get(result, "test_loss_zero"));
  put_number(rows, json_object_get(result, "rank_final"));
  put_number(rows, json_object_get(result, "nuclear_norm_final"));
  put_number(rows, json_object_get(result, "grad_norm_final"));
  json_t *list = json_object_get(events, "plateaus");
  size_t saddles = 0;
  double escape = NAN;
  for (size_t k = 0; k < json_array_size(list); k++) {
    json_t *pl = json_array_get(list, k);
    const char *kind = json_string_value(json_object_get(pl, "kind"));
    if (kind && strcmp(kind, "saddle") == 0) {
      json_t *exit = json_object_get(pl, "t_exit"); /* null: never left (json_number_value 0) */
      if (saddles++ == 0 && json_is_number(exit)) escape = json_number_value(exit);
    }
    put_keys(plateaus, s, i);
    fprintf(plateaus, ",%zu,%s", k, kind ? kind : "");
    put_number(plateaus, json_object_get(pl, "rank"));
    put_number(plateaus, json_object_get(pl, "t_entry"));
    put_number(plateaus, json_object_get(pl, "t_closest"));
    put_number(plateaus, json_object_get(pl, "t_exit"));
    put_number(plateaus, json_object_get(pl, "loss"));
    fputc('\n', plateaus);
  }
  if (events) fprintf(rows, ",%zu,%zu", json_array_size(list), saddles);
  else fprintf(rows, ",,");
  put_real(rows, escape);
  for (size_t c = 0; c < NSTAT_COLUMNS; c++) put_number(rows, json_object_get(stats, STAT_COLUMNS[c]));
  put_number(rows, json_object_get(json_object_get(summary, "time"), "wall_seconds"));
  fprintf(rows, ",points/%s\n", p->name);
  json_decref(summary);
  json_decref(events);
}

/* Formats this process's points' rows as "index\trow\n" lines. */
static int format_rows(const sweep *s, char **rows, size_t *nrows, char **plateaus,
                       size_t *nplateaus)
{
  FILE *r = open_memstream(rows, nrows), *p = open_memstream(plateaus, nplateaus);
  if (!r || !p) {
    if (r) fclose(r);
    if (p) fclose(p);
    return dln_error(DLN_ENOMEM, "out of memory for the sweep's rows");
  }
  for (size_t i = (size_t)s->rank; i < s->npoints; i += (size_t)s->size) {
    char *row = NULL, *pl = NULL;
    size_t nrow = 0, npl = 0;
    FILE *fr = open_memstream(&row, &nrow), *fp = open_memstream(&pl, &npl);
    if (fr && fp) point_rows(s, i, fr, fp);
    if (fr) fclose(fr);
    if (fp) fclose(fp);
    if (row) fprintf(r, "%zu\t%s", i, row);
    /* every plateau line of the point carries the point's index */
    for (char *line = pl; line && *line;) {
      char *end = strchr(line, '\n');
      fprintf(p, "%zu\t%.*s\n", i, (int)(end ? end - line : (long)strlen(line)), line);
      line = end ? end + 1 : line + strlen(line);
    }
    free(row);
    free(pl);
  }
  fclose(r);
  fclose(p);
  return DLN_SUCCESS;
}

#ifdef DLNFLOW_MPI
/* Collects every rank's text on rank 0 (concatenated in rank order). */
static int gather_text(char **text, size_t *len)
{
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int mine = (int)*len, *lens = NULL, *offsets = NULL;
  char *all = NULL;
  if (rank == 0) {
    lens = calloc((size_t)size, sizeof *lens);
    offsets = calloc((size_t)size, sizeof *offsets);
  }
  MPI_Gather(&mine, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
  size_t total = 0;
  if (rank == 0) {
    for (int r = 0; r < size; r++) {
      offsets[r] = (int)total;
      total += (size_t)lens[r];
    }
    all = malloc(total + 1);
  }
  MPI_Gatherv(*text, mine, MPI_CHAR, all, lens, offsets, MPI_CHAR, 0, MPI_COMM_WORLD);
  free(lens);
  free(offsets);
  free(*text);
  *text = all;
  *len = total;
  if (all) all[total] = '\0';
  return DLN_SUCCESS;
}
#endif

static int compare_lines(const void *a, const void *b)
{
  unsigned long long x = strtoull(*(char *const *)a, NULL, 10);
  unsigned long long y = strtoull(*(char *const *)b, NULL, 10);
  return x < y ? -1 : x > y;
}

/* Writes text's "index\trow" lines sorted by index (stable within one index) after header. */
static int write_sorted(const char *path, const sweep *s, void (*header)(FILE *, const sweep *),
                        char *text)
{
  size_t n = 0;
  for (char *c = text; c && *c; c++) n += *c == '\n';
  char **lines = calloc(n ? n : 1, sizeof *lines);
  if (!lines) return dln_error(DLN_ENOMEM, "out of memory");
  size_t k = 0;
  for (char *line = text; line && *line && k < n;) {
    lines[k++] = line;
    char *end = strchr(line, '\n');
    *end = '\0';
    line = end + 1;
  }
  /* indices are unique per point and a point's plateau lines arrive in order: make the sort
   * stable by keying on (index, position) */
  for (size_t i = 1; i < k; i++) {
    char *x = lines[i];
    size_t j = i;
    while (j > 0 && compare_lines(&lines[j - 1], &x) > 0) {
      lines[j] = lines[j - 1];
      j--;
    }
    lines[j] = x;
  }
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status == DLN_SUCCESS) {
    header(f.fp, s);
    for (size_t i = 0; i < k; i++) fprintf(f.fp, "%s\n", strchr(lines[i], '\t') + 1);
    status = dln_outfile_commit(&f);
  }
  free(lines);
  return status;
}

/* Gathers every point's rows and writes sweep.csv and plateaus.csv (rank 0). */
static int write_tables(const sweep *s)
{
  char *rows = NULL, *plateaus = NULL;
  size_t nrows = 0, nplateaus = 0;
  int status = format_rows(s, &rows, &nrows, &plateaus, &nplateaus);
#ifdef DLNFLOW_MPI
  if (s->size > 1) {
    gather_text(&rows, &nrows);
    gather_text(&plateaus, &nplateaus);
  }
#endif
  char path[DLN_PATH_MAX + 32];
  if (status == DLN_SUCCESS && s->rank == 0) {
    snprintf(path, sizeof path, "%s/sweep.csv", s->dir);
    status = write_sorted(path, s, sweep_header, rows);
  }
  if (status == DLN_SUCCESS && s->rank == 0) {
    snprintf(path, sizeof path, "%s/plateaus.csv", s->dir);
    status = write_sorted(path, s, plateau_header, plateaus);
  }
  free(rows);
  free(plateaus);
  return status;
}

/* ---- MPI ----------------------------------------------------------------------------- */

/* Whether this process was started by an MPI launcher (mpirun sets these). */
static long launcher_size(void)
{
  const char *v = getenv("OMPI_COMM_WORLD_SIZE");
  if (!v) v = getenv("PMI_SIZE");
  return v ? strtol(v, NULL, 10) : 0;
}

static int start_mpi(sweep *s, int *argc, char ***argv)
{
  s->rank = 0;
  s->size = 1;
  long launched = launcher_size();
#ifdef DLNFLOW_MPI
  if (launched > 0) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &s->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s->size);
  }
  return DLN_EXIT_OK;
#else
  (void)argc;
  (void)argv;
  if (launched > 1) {
    fprintf(stderr, "dlnflow sweep: started by mpirun with %ld ranks, but this dlnflow was "
                    "built without MPI (install libopenmpi-dev and rebuild: meson setup "
                    "-Dmpi=enabled)\n", launched);
    return DLN_EXIT_USAGE;
  }
  return DLN_EXIT_OK;
#endif
}

/* Combines the ranks' exit codes (the worst wins: 130 > 2 > 1 > 0) and ends MPI. */
static int finish_mpi(const sweep *s, int code)
{
#ifdef DLNFLOW_MPI
  if (launcher_size() > 0) {
    int all = code;
    MPI_Allreduce(&code, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return all;
  }
#endif
  (void)s;
  return code;
}

/* Whether every rank reached this point without a fault (a collective under MPI). */
static int all_ranks_ok(const sweep *s, int ok)
{
#ifdef DLNFLOW_MPI
  if (s->size > 1) {
    int all = ok;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
  }
#endif
  (void)s;
  return ok;
}

/* ---- the plot ------------------------------------------------------------------------ */

/* Runs `dlnflow plot DIR` (the figure CONFIG's [plot] section describes); a plot that cannot
 * be drawn is reported but does not fail the sweep, whose tables are its result. */
static void draw_plot(const sweep *s)
{
  char exe[DLN_PATH_MAX];
  if (self_path(exe, sizeof exe) != DLN_SUCCESS) return;
  char *argv[] = {exe, "plot", (char *)s->dir, NULL};
  pid_t pid;
  posix_spawn_file_actions_t actions, *quiet = NULL;
  if (s->args->quiet && posix_spawn_file_actions_init(&actions) == 0) {
    quiet = &actions;
    posix_spawn_file_actions_addopen(quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  int wstatus = 0, rc = posix_spawn(&pid, exe, quiet, NULL, argv, environ);
  if (quiet) posix_spawn_file_actions_destroy(quiet);
  if (rc == 0) {
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
  }
  if (rc != 0 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    fprintf(stderr, "dlnflow sweep: the plot was not drawn (the tables are complete); "
                    "retry with `dlnflow plot %s`\n", s->dir);
}

/* ---- the command --------------------------------------------------------------------- */

static int default_jobs(const sweep *s)
{
  if (s->args->jobs > 0) return s->args->jobs;
  if (s->size > 1) return 1; /* under MPI: one run per rank unless told otherwise */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? (int)cores : 1;
}

static int prepare(sweep *s)
{
  s->base = malloc(sizeof *s->base);
  if (!s->base) return DLN_EXIT_FAILED;
  if (dln_cli_load_config(s->args->config, s->args->overrides, s->args->noverrides,
                          s->args->out, s->base) != DLN_SUCCESS)
    return DLN_EXIT_USAGE;
  dln_cli_default_out_dir(s->args->config, "", s->base);
  snprintf(s->dir, sizeof s->dir, "%s", s->base->out_dir);
  if (build_grid(s) != DLN_SUCCESS || build_points(s) != DLN_SUCCESS) return DLN_EXIT_USAGE;
  if (s->rank == 0 && dln_cli_check_out_dir("sweep", s->dir) != 0) return DLN_EXIT_USAGE;
  /* a run's folder is not a sweep's: its files would sit beside the table, and `dlnflow
   * plot` would no longer draw the run */
  char path[DLN_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/summary.json", s->dir);
  if (s->rank == 0 && access(path, F_OK) == 0) {
    fprintf(stderr, "dlnflow sweep: %s holds a `dlnflow run` (summary.json); choose another "
                    "--out\n", s->dir);
    return DLN_EXIT_USAGE;
  }
  /* the children read CONFIG when they start: keep what it says now to notice an edit */
  FILE *fp = fopen(s->args->config, "rb");
  FILE *mem = open_memstream(&s->config_text, &s->config_size);
  int c;
  while (fp && mem && (c = getc(fp)) != EOF) putc(c, mem);
  if (fp) fclose(fp);
  if (mem) fclose(mem);
  if (!fp || !mem) {
    fprintf(stderr, "dlnflow sweep: %s: cannot read it again\n", s->args->config);
    return DLN_EXIT_USAGE;
  }
  return DLN_EXIT_OK;
}

static void release(sweep *s)
{
  free(s->points);
  free(s->config_text);
  dln_sweep_grid_release(&s->grid);
  free(s->base);
}

int dln_cmd_sweep(int argc, char **argv)
{
  sweep_args a;
  int code = parse_args(argc, argv, &a);
  if (code != 0) {
    free(a.overrides);
    free(a.grids);
    if (code < 0) sweep_usage(stdout);
    return code < 0 ? DLN_EXIT_OK : code;
  }
  sweep s = {.args = &a};
  /* a closed stdout (`dlnflow sweep ... | head`) must not kill the sweep and orphan its runs */
  signal(SIGPIPE, SIG_IGN);
  code = start_mpi(&s, &argc, &argv);
  if (code == DLN_EXIT_OK) code = prepare(&s);
  int lock = -1;
  if (s.rank == 0 && code == DLN_EXIT_OK) {
    int status = dln_cli_make_dir(s.dir);
    if (status == DLN_SUCCESS) status = dln_cli_lock_dir(s.dir, &lock);
    if (status == DLN_SUCCESS) status = write_grid(&s);
    if (status != DLN_SUCCESS) {
      dln_cli_report("sweep", status);
      code = DLN_EXIT_USAGE;
    }
  }
  if (all_ranks_ok(&s, code == DLN_EXIT_OK)) {
    double start = now();
    int jobs = default_jobs(&s);
    if (!a.quiet && s.rank == 0)
      printf("dlnflow sweep: %s: %zu points (%zu axes) -> %s, %d job%s%s\n", a.config,
             s.npoints, s.grid.naxes, s.dir, jobs, jobs == 1 ? "" : "s",
             s.size > 1 ? " per rank" : "");
    fflush(stdout);
    dln_cli_catch_interrupts();
    code = run_points(&s, jobs);
    int status = write_tables(&s);
    if (status != DLN_SUCCESS) {
      dln_cli_report("writing the tables", status);
      code = DLN_EXIT_FAILED;
    }
    size_t failed = 0, pending = 0;
    for (size_t i = (size_t)s.rank; i < s.npoints; i += (size_t)s.size) {
      failed += s.points[i].state == POINT_FAILED;
      pending += s.points[i].state == POINT_PENDING || s.points[i].state == POINT_INTERRUPTED;
    }
    if (code == DLN_EXIT_OK && failed) code = DLN_EXIT_FAILED;
    if (!a.quiet && (s.rank == 0 || failed || pending))
      printf("dlnflow sweep: %s%s: %zu failed, %zu not finished, %.1f s; tables in %s\n",
             s.size > 1 ? "this rank" : "done", code == DLN_EXIT_INTERRUPTED ? " (interrupted)" : "",
             failed, pending, now() - start, s.dir);
    if (a.plot && s.rank == 0 && code != DLN_EXIT_INTERRUPTED) {
      fflush(stdout);
      draw_plot(&s);
    }
    if (code == DLN_EXIT_INTERRUPTED)
      fprintf(stderr, "dlnflow sweep: interrupted; finished points are kept and a rerun "
                      "skips them\n");
  } else if (code == DLN_EXIT_OK) {
    code = DLN_EXIT_USAGE; /* another rank failed to start */
  }
  if (lock >= 0) dln_cli_unlock_dir(s.dir, lock);
  code = finish_mpi(&s, code);
  release(&s);
  free(a.overrides);
  free(a.grids);
  return code;
}
