/* A run's configuration: the INI contract of `dlnflow run` (docs/config.md lists every key).
 *
 * Keys map to fields through one static table in config.c (section, key, type, bounds, help).
 * The loader reads with libinih and reports "file:line: message" for the first fault: unknown
 * section or key, malformed number, value out of bounds. Overrides "section.key=value" go
 * through the same table. Relative paths are resolved against the config file's folder.
 */
#ifndef DLNFLOW_CONFIG_H
#define DLNFLOW_CONFIG_H

#include <stddef.h>

#include "dlnflow/events.h"
#include "dlnflow/flow.h"
#include "dlnflow/network.h"

#define DLN_PATH_MAX 4096
#define DLN_LIST_MAX 256
#define DLN_NAME_MAX 32
#define DLN_TEXT_MAX 256
#define DLN_SWEEP_AXES_MAX 8

/* One line of a [sweep] section: an axis of a sweep's grid, kept as text for the sweep
 * module (include/dlnflow/sweep.h) to parse: "init.gamma" = "0.75,1,1.5", or keys varied
 * together, "init.gamma/solver.t_max" = "0.75/31.6, 1.5/1000". `dlnflow run` ignores it. */
typedef struct dln_sweep_entry {
  char keys[128];
  char values[256];
  int line;                           /* its line in the file */
} dln_sweep_entry;

typedef struct dln_config {
  /* [network] */
  size_t depth;                       /* L (with width); 0 when widths is given */
  size_t width;                       /* hidden width w of a rectangular net */
  size_t widths[DLN_MAX_DEPTH + 1];   /* explicit n_0..n_L */
  size_t nwidths;                     /* number of explicit widths (0: rectangular) */

  /* [data] */
  char cost[DLN_NAME_MAX];            /* "mse" or "mc" */
  char generator[DLN_NAME_MAX];       /* "" (files), "lowrank" or "teacher" */
  size_t rows, cols, rank;            /* lowrank: target shape and rank */
  double observed_fraction;           /* lowrank: fraction of entries observed (0, 1] */
  double teacher_diag[DLN_LIST_MAX];  /* teacher: diagonal of a square teacher */
  size_t nteacher_diag;
  char teacher[DLN_PATH_MAX];         /* teacher: matrix file (instead of teacher_diag) */
  size_t teacher_size, teacher_rank;  /* teacher: random W0 W0ᵀ, size x size of rank teacher_rank
                                         (instead of teacher_diag or teacher; 0: not given) */
  double teacher_noise;               /* teacher: std of a noise matrix added to the teacher
                                         for the training targets */
  size_t samples, test_samples;       /* teacher: input counts */
  double noise;                       /* teacher: std of Gaussian noise on training targets */
  int whiten;                         /* teacher/files: whiten inputs so X Xᵀ/N = I */
  unsigned long data_seed;            /* generators' seed */
  char x[DLN_PATH_MAX], y[DLN_PATH_MAX], test_x[DLN_PATH_MAX], test_y[DLN_PATH_MAX];
  char target[DLN_PATH_MAX], observed[DLN_PATH_MAX];

  /* [init] */
  char scheme[DLN_NAME_MAX];          /* "gaussian", "scaled" or "file" */
  double gamma, c, alpha;
  unsigned long seed;
  char init_dir[DLN_PATH_MAX];        /* file: folder of W1.csv .. WL.csv (or .npy) */

  /* [solver] */
  dln_flow_options solver;

  /* [output] */
  char out_dir[DLN_PATH_MAX];
  size_t out_samples;                 /* log-spaced samples between t_min and t_max */
  double t_min;                       /* first log-spaced sample (<= 0: t_max·1e-6) */
  double times[DLN_LIST_MAX];         /* extra exact output times */
  size_t ntimes;
  double rank_tol;                    /* singular values above this count towards the rank */
  int ntk;                            /* trajectory.csv gets the NTK's relative change */

  /* [events] */
  int events_enabled;                 /* track plateaus and saddles */
  dln_events_options events;          /* thresholds, kicks, descriptions (rank_tol: output's) */

  /* [plot] (read by `dlnflow plot` of a sweep folder; docs/dlnflow-plot.md) */
  char plot_kind[DLN_NAME_MAX];       /* "curves" or "summary" */
  char plot_panel[DLN_TEXT_MAX];      /* a varied key: one column of panels per value ("") */
  char plot_color[DLN_TEXT_MAX];      /* a varied key: one colour per value ("") */
  char plot_rows[DLN_TEXT_MAX];       /* comma-separated columns, one row of panels each ("":
                                         the kind's default) */
  char plot_x[DLN_TEXT_MAX];          /* summary: the varied key on the x axis ("": the first
                                         varied key that is neither panel nor color) */

  /* [sweep] */
  dln_sweep_entry sweep[DLN_SWEEP_AXES_MAX];
  size_t nsweep;
  char source[DLN_PATH_MAX];          /* the file it was loaded from ("" if none) */
} dln_config;

/* Fills cfg with every default. */
void dln_config_defaults(dln_config *cfg);

/* Loads path over cfg. On failure the message reads "path:line: ...". */
int dln_config_load(dln_config *cfg, const char *path);

/* Applies one override "section.key=value"; `where` names its origin in messages. */
int dln_config_override(dln_config *cfg, const char *assignment, const char *where);

/* Checks cross-key consistency (a network given, a data source complete for its cost,
 * init keys fitting the scheme, solver bounds). Messages name the key. */
int dln_config_validate(const dln_config *cfg);

/* Checks the [plot] keys alone (dln_config_validate includes it): plot.panel, plot.color and
 * plot.x name configuration keys (section.key), panel and color differ, and so does x from
 * both for plot.kind = summary; plot.rows is a comma-separated list of column names. */
int dln_config_validate_plot(const dln_config *cfg);

/* Returns whether "section.key" is a key whose value is a list (network.widths, ...). */
int dln_config_key_is_list(const char *name);

/* Calls fn(section, key, value-as-text, data) for every key, in table order, for writing
 * the resolved configuration into run metadata. */
void dln_config_foreach(const dln_config *cfg,
                        void (*fn)(const char *section, const char *key, const char *value,
                                   void *data),
                        void *data);

/* Calls fn(section, key, default, allowed values, help, data) for every key in table order:
 * the source of docs/config.md (`dlnflow keys`). */
void dln_config_describe(void (*fn)(const char *section, const char *key, const char *fallback,
                                    const char *allowed, const char *help, void *data),
                         void *data);

#endif
