/* The run configuration (include/dlnflow/config.h): one static table of keys, read from INI
 * files through libinih and from "section.key=value" overrides through the same code.
 *
 * Status codes: DLN_EIO (the file cannot be opened or read), DLN_EFORMAT (a syntax error, an
 * unknown section or key, a value that is not of the key's type), DLN_EINVAL (a value of the
 * right type outside its bounds, or a cross-key conflict found by dln_config_validate),
 * DLN_ENOMEM.
 *
 * An empty value ("key =") restores the key's default, so that an override can unset a key:
 * "network.widths=" before "network.depth=3" and "network.width=10".
 *
 * Only the first fault is reported. inih keeps parsing after a handler fails, so the handler
 * ignores everything after the first fault; inih's own syntax errors are merged in by line.
 *
 * Static functions:
 *   Table:       find_key, section_known, type_limit, is_whole_type, describe_domain,
 *                field_of, const_field_of
 *   Parsing:     parse_real, parse_whole, trim, in_bounds
 *   Setting:     bad_value, store_whole, set_whole, set_real, set_bool, set_name, set_path,
 *                parse_entry, set_list, reset_value, set_value, lookup_key
 *   Loading:     read_line, note_section, is_continuation, on_entry, fail_at, finish_load
 *   Validation:  invalid, check_network, check_mc_data, check_mse_data, check_data, check_init,
 *                check_solver, check_output
 *   Listing:     append, format_value
 */
#include "dlnflow/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "dlnflow/errors.h"
#include "dlnflow/io.h"

/* ---- The table of keys --------------------------------------------------------------- */

typedef enum key_type {
  KEY_SIZE,        /* size_t */
  KEY_ULONG,       /* unsigned long */
  KEY_LONG,        /* long */
  KEY_INT,         /* int */
  KEY_DOUBLE,      /* double, always finite */
  KEY_BOOL,        /* int, 0 or 1 */
  KEY_PATH,        /* char[DLN_PATH_MAX]; relative paths are resolved on load */
  KEY_NAME,        /* char[DLN_NAME_MAX], one of names */
  KEY_TEXT,        /* char[DLN_TEXT_MAX], any text (checked by dln_config_validate) */
  KEY_ENUM,        /* an enum field (int-sized), written by name (names[i] is value i) */
  KEY_SIZE_LIST,   /* size_t[], entry count in count_offset */
  KEY_DOUBLE_LIST  /* double[], entry count in count_offset */
} key_type;

/* Bounds that are themselves excluded. */
enum { OPEN_MIN = 1, OPEN_MAX = 2 };

typedef struct config_key {
  const char *section, *key;
  key_type type;
  size_t offset, size;         /* the field in dln_config and its size in bytes */
  size_t count_offset;         /* lists: the size_t field counting entries */
  size_t min_count, max_count; /* lists: allowed number of entries */
  double min, max;             /* numbers (lists: every entry); NO_MIN/NO_MAX for none */
  unsigned open;               /* OPEN_MIN, OPEN_MAX */
  const char *const *names;    /* KEY_NAME, KEY_ENUM: allowed values, NULL-terminated */
  const char *help;            /* one line for docs/config.md */
} config_key;

#define NO_MIN (-HUGE_VAL)
#define NO_MAX HUGE_VAL
#define FIELD(f) .offset = offsetof(dln_config, f), .size = sizeof(((dln_config *)0)->f)
#define LIST(f, n, lo, hi) FIELD(f), .count_offset = offsetof(dln_config, n), \
                           .min_count = (lo), .max_count = (hi)
#define RANGE(lo, hi) .min = (lo), .max = (hi)

/* The GMRES Krylov dimension above which memory grows with no gain seen in practice. */
#define KRYLOV_DIM_MAX 500
#define OUT_SAMPLES_MAX 1000000

static const char *const COST_NAMES[] = {"mse", "mc", NULL};
static const char *const GENERATOR_NAMES[] = {"lowrank", "teacher", NULL};
static const char *const SCHEME_NAMES[] = {"gaussian", "scaled", "file", NULL};
/* Indexed by dln_method. */
static const char *const METHOD_NAMES[] = {"bdf", "adams", "gd", NULL};
static const char *const PRECOND_NAMES[] = {"auto", "none", "dense", "block", NULL};
static const char *const PLOT_KIND_NAMES[] = {"curves", "summary", NULL};
static const char *const GMRES_NAMES[] = {"fused", "spgmr", NULL};

static const config_key KEYS[] = {
  {"network", "depth", KEY_SIZE, FIELD(depth), RANGE(1, DLN_MAX_DEPTH),
   .help = "number of layers L (with network.width)"},
  {"network", "width", KEY_SIZE, FIELD(width), RANGE(1, NO_MAX),
   .help = "hidden width of a rectangular network (with network.depth)"},
  {"network", "widths", KEY_SIZE_LIST, LIST(widths, nwidths, 2, DLN_MAX_DEPTH + 1),
   RANGE(1, NO_MAX), .help = "explicit widths n_0,...,n_L (instead of depth and width)"},

  {"data", "cost", KEY_NAME, FIELD(cost), .names = COST_NAMES,
   .help = "mse (regression) or mc (matrix completion)"},
  {"data", "generator", KEY_NAME, FIELD(generator), .names = GENERATOR_NAMES,
   .help = "lowrank or teacher to generate data; empty to read files"},
  {"data", "rows", KEY_SIZE, FIELD(rows), RANGE(1, NO_MAX), .help = "lowrank: target rows"},
  {"data", "cols", KEY_SIZE, FIELD(cols), RANGE(1, NO_MAX), .help = "lowrank: target columns"},
  {"data", "rank", KEY_SIZE, FIELD(rank), RANGE(1, NO_MAX), .help = "lowrank: target rank"},
  {"data", "observed_fraction", KEY_DOUBLE, FIELD(observed_fraction), RANGE(0, 1),
   .open = OPEN_MIN, .help = "lowrank: fraction of entries observed, in (0, 1]"},
  {"data", "teacher_diag", KEY_DOUBLE_LIST, LIST(teacher_diag, nteacher_diag, 1, DLN_LIST_MAX),
   RANGE(NO_MIN, NO_MAX), .help = "teacher: diagonal of a square teacher matrix"},
  {"data", "teacher", KEY_PATH, FIELD(teacher), .help = "teacher: teacher matrix file"},
  {"data", "teacher_size", KEY_SIZE, FIELD(teacher_size), RANGE(1, NO_MAX),
   .help = "teacher: size n of a random n x n teacher of rank data.teacher_rank"},
  {"data", "teacher_rank", KEY_SIZE, FIELD(teacher_rank), RANGE(1, NO_MAX),
   .help = "teacher: rank r (<= data.teacher_size) of the random teacher W0 W0^T, W0 n x r "
           "with column i ~ N(0, i) (paper's Fig. 6; instead of teacher_diag or teacher)"},
  {"data", "teacher_noise", KEY_DOUBLE, FIELD(teacher_noise), RANGE(0, NO_MAX),
   .help = "teacher: standard deviation of a noise matrix E added to the teacher for the "
           "training targets only, (T + E) x (test targets: T x)"},
  {"data", "samples", KEY_SIZE, FIELD(samples), RANGE(1, NO_MAX),
   .help = "teacher: training inputs"},
  {"data", "test_samples", KEY_SIZE, FIELD(test_samples), RANGE(0, NO_MAX),
   .help = "teacher: held-out inputs (0 for none)"},
  {"data", "noise", KEY_DOUBLE, FIELD(noise), RANGE(0, NO_MAX),
   .help = "teacher: standard deviation of the noise on training targets"},
  {"data", "whiten", KEY_BOOL, FIELD(whiten), .help = "whiten inputs so that X X^T / N = I"},
  {"data", "seed", KEY_ULONG, FIELD(data_seed), RANGE(0, NO_MAX),
   .help = "seed of the data generators"},
  {"data", "x", KEY_PATH, FIELD(x), .help = "mse: training inputs, one sample per row (N x n_0), CSV or NPY"},
  {"data", "y", KEY_PATH, FIELD(y), .help = "mse: training targets, one sample per row (N x n_L)"},
  {"data", "test_x", KEY_PATH, FIELD(test_x), .help = "mse: test inputs, one sample per row"},
  {"data", "test_y", KEY_PATH, FIELD(test_y), .help = "mse: test targets, one sample per row"},
  {"data", "target", KEY_PATH, FIELD(target), .help = "mc: target matrix"},
  {"data", "observed", KEY_PATH, FIELD(observed), .help = "mc: observed entries row,col[,value]"},

  {"init", "scheme", KEY_NAME, FIELD(scheme), .names = SCHEME_NAMES,
   .help = "gaussian, scaled or file"},
  {"init", "gamma", KEY_DOUBLE, FIELD(gamma), RANGE(NO_MIN, NO_MAX),
   .help = "gaussian: exponent gamma of the variance c * w^-gamma"},
  {"init", "c", KEY_DOUBLE, FIELD(c), RANGE(0, NO_MAX), .open = OPEN_MIN,
   .help = "gaussian: constant c of the variance c * w^-gamma"},
  {"init", "alpha", KEY_DOUBLE, FIELD(alpha), RANGE(0, NO_MAX), .open = OPEN_MIN,
   .help = "scaled: scale alpha of theta = alpha * theta0, theta0 ~ N(0, 1)"},
  {"init", "seed", KEY_ULONG, FIELD(seed), RANGE(0, NO_MAX), .help = "seed of the initial weights"},
  {"init", "dir", KEY_PATH, FIELD(init_dir), .help = "file: folder of W1.csv .. WL.csv (or .npy)"},

  {"solver", "method", KEY_ENUM, FIELD(solver.method), .names = METHOD_NAMES,
   .help = "bdf, adams or gd"},
  {"solver", "rtol", KEY_DOUBLE, FIELD(solver.rtol), RANGE(0, 1), .open = OPEN_MIN | OPEN_MAX,
   .help = "relative tolerance"},
  {"solver", "atol", KEY_DOUBLE, FIELD(solver.atol), RANGE(0, NO_MAX),
   .help = "absolute tolerance (0: per layer, rtol times the layer's initial RMS entry)"},
  {"solver", "t_max", KEY_DOUBLE, FIELD(solver.t_max), RANGE(0, NO_MAX), .open = OPEN_MIN,
   .help = "stop time (1e-100 to 1e200)"},
  {"solver", "loss_target", KEY_DOUBLE, FIELD(solver.loss_target), RANGE(0, NO_MAX),
   .help = "stop once the loss falls to this (0: off)"},
  {"solver", "grad_tol", KEY_DOUBLE, FIELD(solver.grad_tol), RANGE(0, NO_MAX),
   .help = "stop once the gradient norm falls to this (0: off)"},
  {"solver", "learning_rate", KEY_DOUBLE, FIELD(solver.learning_rate), RANGE(0, NO_MAX),
   .open = OPEN_MIN, .help = "gd: step size"},
  {"solver", "steps", KEY_LONG, FIELD(solver.max_steps), RANGE(0, NO_MAX),
   .help = "stop after this many steps (0: no limit)"},
  {"solver", "krylov_dim", KEY_INT, FIELD(solver.krylov_dim), RANGE(1, KRYLOV_DIM_MAX),
   .help = "bdf: GMRES Krylov dimension"},
  {"solver", "precondition", KEY_ENUM, FIELD(solver.precondition), .names = PRECOND_NAMES,
   .help = "bdf: GMRES preconditioner: auto (dense below solver.dense_max parameters, else "
           "none), none, dense (exact LU of I + gamma H) or block (layer Gauss-Newton)"},
  {"solver", "dense_max", KEY_SIZE, FIELD(solver.dense_max), RANGE(0, NO_MAX),
   .help = "bdf: largest parameter count for which precondition = auto factors I + gamma H"},
  {"solver", "gmres", KEY_ENUM, FIELD(solver.gmres), .names = GMRES_NAMES,
   .help = "bdf: GMRES implementation: fused (dlnflow's, fewer passes over the parameters) or "
           "spgmr (SUNDIALS' SPGMR); same iteration, other rounding"},

  {"output", "dir", KEY_PATH, FIELD(out_dir), .help = "folder of the run's output"},
  {"output", "samples", KEY_SIZE, FIELD(out_samples), RANGE(2, OUT_SAMPLES_MAX),
   .help = "log-spaced samples between t_min and t_max"},
  {"output", "t_min", KEY_DOUBLE, FIELD(t_min), RANGE(0, NO_MAX),
   .help = "first log-spaced sample (0: t_max * 1e-6)"},
  {"output", "times", KEY_DOUBLE_LIST, LIST(times, ntimes, 1, DLN_LIST_MAX), RANGE(0, NO_MAX),
   .open = OPEN_MIN, .help = "extra exact output times, increasing"},
  {"output", "rank_tol", KEY_DOUBLE, FIELD(rank_tol), RANGE(0, NO_MAX), .open = OPEN_MIN,
   .help = "singular values above this count towards the rank"},

  {"output", "ntk", KEY_BOOL, FIELD(ntk),
   .help = "add an ntk_change column: ||Theta_t - Theta_0||_F / ||Theta_0||_F of the NTK on "
           "n_L x n_0 matrices (n_L n_0 NTK applications per row)"},

  {"events", "enabled", KEY_BOOL, FIELD(events_enabled),
   .help = "track plateaus and saddles (events.json; docs/events.md)"},
  {"events", "enter", KEY_DOUBLE, FIELD(events.enter), RANGE(0, NO_MAX), .open = OPEN_MIN,
   .help = "a plateau is entered when J = t |grad L|^2 / (L - inf C) falls below this"},
  {"events", "exit", KEY_DOUBLE, FIELD(events.exit), RANGE(0, NO_MAX), .open = OPEN_MIN,
   .help = "a plateau is left when J rises above this (> events.enter)"},
  {"events", "depth", KEY_DOUBLE, FIELD(events.depth), RANGE(0, 1), .open = OPEN_MIN,
   .help = "a plateau counts when |grad L| at its closest approach is at most this times the "
           "neighbouring peak"},
  {"events", "grad_c_tol", KEY_DOUBLE, FIELD(events.grad_c_tol), RANGE(0, 1),
   .open = OPEN_MIN | OPEN_MAX,
   .help = "a global minimum has |grad C(A)| at most this times |grad C(A(0))|"},
  {"events", "perturb", KEY_DOUBLE, FIELD(events.perturb), RANGE(0, 1), .open = OPEN_MAX,
   .help = "Gaussian kick of this size relative to |theta| at each later plateau's entry (0: off)"},
  {"events", "perturb_seed", KEY_ULONG, FIELD(events.perturb_seed), RANGE(0, NO_MAX),
   .help = "seed of the kicks"},
  {"events", "stop_converged", KEY_BOOL, FIELD(events.stop_converged),
   .help = "end the integration once the excess loss is down to round-off (or to rtol^2 of "
           "the initial loss, if smaller); later rows repeat that state (CVODE fails on the "
           "noise after enough steps)"},
  {"events", "refine_max", KEY_SIZE, FIELD(events.refine_max), RANGE(0, NO_MAX),
   .help = "nets up to this many parameters also get the exact critical point by Newton's "
           "method (0: never)"},
  {"events", "hessian", KEY_BOOL, FIELD(events.describe.hessian),
   .help = "compute the Hessian's extreme eigenvalues at each closest approach"},
  {"events", "hessian_tol", KEY_DOUBLE, FIELD(events.describe.hessian_tol), RANGE(0, 1),
   .open = OPEN_MIN | OPEN_MAX,
   .help = "eigenvalues below -hessian_tol times the spectral radius count as negative"},
  {"events", "hessian_dense_max", KEY_SIZE, FIELD(events.describe.hessian_dense_max),
   RANGE(0, NO_MAX), .help = "dense eigensolver up to this many parameters, Lanczos above"},
  {"events", "lanczos_steps", KEY_SIZE, FIELD(events.describe.lanczos_steps), RANGE(2, 10000),
   .help = "Lanczos iteration's Krylov dimension"},

  {"plot", "kind", KEY_NAME, FIELD(plot_kind), .names = PLOT_KIND_NAMES,
   .help = "dlnflow plot of a sweep: curves (trajectory columns against t, one curve per point) "
           "or summary (sweep.csv columns against plot.x, mean and standard deviation)"},
  {"plot", "panel", KEY_TEXT, FIELD(plot_panel),
   .help = "sweep plot: a varied key (section.key); one column of panels per value"},
  {"plot", "color", KEY_TEXT, FIELD(plot_color),
   .help = "sweep plot: a varied key; one colour per value (points differing in other keys "
           "share it)"},
  {"plot", "rows", KEY_TEXT, FIELD(plot_rows),
   .help = "sweep plot: columns, comma-separated, one row of panels each (curves: "
           "trajectory.csv, default loss; summary: sweep.csv, default test_loss_final,rank_final)"},
  {"plot", "x", KEY_TEXT, FIELD(plot_x),
   .help = "summary plot: the varied key on the x axis (default: the first varied key that is "
           "neither plot.panel nor plot.color); refused with plot.kind = curves"},
};

#define NKEYS (sizeof KEYS / sizeof KEYS[0])

/* Bounds of solver.t_max (check_solver). */
#define T_MAX_LOWEST 1e-100
#define T_MAX_HIGHEST 1e200

static const config_key *find_key(const char *section, const char *key)
{
  for (size_t i = 0; i < NKEYS; i++)
    if (strcmp(KEYS[i].section, section) == 0 && strcmp(KEYS[i].key, key) == 0) return &KEYS[i];
  return NULL;
}

/* [sweep] holds grid axes, not keys of the table (see note_sweep_axis). */
static const char SWEEP_SECTION[] = "sweep";

static int section_known(const char *section)
{
  if (strcmp(section, SWEEP_SECTION) == 0) return 1;
  for (size_t i = 0; i < NKEYS; i++)
    if (strcmp(KEYS[i].section, section) == 0) return 1;
  return 0;
}

/* The largest value the C type of a whole-number key (or list entry) can hold. */
static unsigned long long type_limit(key_type type)
{
  switch (type) {
  case KEY_ULONG: return ULONG_MAX;
  case KEY_LONG: return LONG_MAX;
  case KEY_INT: return INT_MAX;
  default: return SIZE_MAX;
  }
}

static int is_whole_type(key_type type)
{
  return type == KEY_SIZE || type == KEY_ULONG || type == KEY_LONG || type == KEY_INT ||
         type == KEY_SIZE_LIST;
}

/* Writes what a value (or list entry) of k must be: "a whole number in [1, 64]", "a finite
 * number in (0, 1)", "one of mse, mc", ... */
static void describe_domain(const config_key *k, char *buf, size_t size)
{
  if (k->type == KEY_BOOL) {
    snprintf(buf, size, "one of true, false, yes, no, 1, 0");
    return;
  }
  if (k->names) {
    size_t used = (size_t)snprintf(buf, size, "one of");
    for (size_t i = 0; k->names[i] && used < size; i++)
      used += (size_t)snprintf(buf + used, size - used, "%s %s", i ? "," : "", k->names[i]);
    return;
  }
  const char *kind = is_whole_type(k->type) ? "a whole number" : "a finite number";
  int has_min = k->min > NO_MIN, has_max = k->max < NO_MAX;
  const char *lo = (k->open & OPEN_MIN) ? "(" : "[", *hi = (k->open & OPEN_MAX) ? ")" : "]";
  if (has_min && has_max)
    snprintf(buf, size, "%s in %s%.15g, %.15g%s", kind, lo, k->min, k->max, hi);
  else if (has_min)
    snprintf(buf, size, "%s %s %.15g", kind, (k->open & OPEN_MIN) ? ">" : ">=", k->min);
  else if (has_max)
    snprintf(buf, size, "%s %s %.15g", kind, (k->open & OPEN_MAX) ? "<" : "<=", k->max);
  else
    snprintf(buf, size, "%s", kind);
}

static void *field_of(dln_config *cfg, const config_key *k) { return (char *)cfg + k->offset; }

static const void *const_field_of(const dln_config *cfg, const config_key *k)
{
  return (const char *)cfg + k->offset;
}

/* ---- Parsing ------------------------------------------------------------------------- */

/* How much of an offending value a message quotes. */
#define SHOWN_CHARS 80

/* Returns s without leading and trailing whitespace (the end is cut in place). */
static char *trim(char *s)
{
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* Parses all of text as a finite double, whatever the process locale (strtod reads the
 * locale's decimal separator, so a '.' is translated to it when it differs). Returns
 * DLN_SUCCESS, DLN_EFORMAT when text is not a number, or DLN_EINVAL for a number that is not
 * finite ("inf", "nan", the overflowing "1e999"). */
static int parse_real(const char *text, double *x)
{
  char local[128];
  const char *point = localeconv()->decimal_point;
  const char *dot = strchr(text, '.');
  if (dot && point && strcmp(point, ".") != 0) {
    size_t head = (size_t)(dot - text), plen = strlen(point), tail = strlen(dot + 1);
    if (head + plen + tail + 1 > sizeof local) return DLN_EFORMAT;
    memcpy(local, text, head);
    memcpy(local + head, point, plen);
    memcpy(local + head + plen, dot + 1, tail + 1);
    text = local;
  }
  if (*text == '\0' || isspace((unsigned char)*text)) return DLN_EFORMAT;
  if (strpbrk(text, "xX")) return DLN_EFORMAT; /* strtod would read hexadecimal; nobody means it */
  char *end;
  *x = strtod(text, &end); /* an underflow to 0 or a subnormal is accepted as is */
  if (*end != '\0') return DLN_EFORMAT;
  return isfinite(*x) ? DLN_SUCCESS : DLN_EINVAL;
}

/* Parses all of text as a whole number. Returns DLN_SUCCESS, DLN_EFORMAT when text is not a
 * whole number, or DLN_EINVAL for a negative one or one above limit. strtoull would accept
 * "-1" and wrap it, so a sign is handled here. */
static int parse_whole(const char *text, unsigned long long limit, unsigned long long *v)
{
  int negative = text[0] == '-';
  const char *digits = (text[0] == '-' || text[0] == '+') ? text + 1 : text;
  if (!isdigit((unsigned char)digits[0])) return DLN_EFORMAT;
  char *end;
  errno = 0;
  *v = strtoull(digits, &end, 10);
  if (*end != '\0') return DLN_EFORMAT;
  if ((negative && *v != 0) || errno == ERANGE || *v > limit) return DLN_EINVAL;
  return DLN_SUCCESS;
}

static int in_bounds(const config_key *k, double x)
{
  int above_min = (k->open & OPEN_MIN) ? x > k->min : x >= k->min;
  int below_max = (k->open & OPEN_MAX) ? x < k->max : x <= k->max;
  return above_min && below_max;
}

/* ---- Setting values ------------------------------------------------------------------ */

/* Every setter parses text, checks it and stores it only when all is well, so a failed
 * override leaves the configuration as it was. loc prefixes messages ("file:line" or the
 * override's origin). */

static int bad_value(int code, const char *loc, const config_key *k, const char *text)
{
  char domain[160];
  describe_domain(k, domain, sizeof domain);
  return dln_error(code, "%s: %s.%s: '%.*s' is not %s", loc, k->section, k->key, SHOWN_CHARS,
                   text, domain);
}

static void store_whole(void *field, key_type type, unsigned long long v)
{
  switch (type) {
  case KEY_ULONG: *(unsigned long *)field = (unsigned long)v; break;
  case KEY_LONG: *(long *)field = (long)v; break;
  case KEY_INT: *(int *)field = (int)v; break;
  default: *(size_t *)field = (size_t)v; break;
  }
}

static int set_whole(dln_config *cfg, const config_key *k, const char *text, const char *loc)
{
  unsigned long long v;
  int rc = parse_whole(text, type_limit(k->type), &v);
  if (rc == DLN_EINVAL && text[0] != '-')
    return dln_error(rc, "%s: %s.%s: '%.*s' is too large (at most %llu)", loc, k->section, k->key,
                     SHOWN_CHARS, text, type_limit(k->type));
  if (rc == DLN_SUCCESS && !in_bounds(k, (double)v)) rc = DLN_EINVAL;
  if (rc != DLN_SUCCESS) return bad_value(rc, loc, k, text);
  store_whole(field_of(cfg, k), k->type, v);
  return DLN_SUCCESS;
}

static int set_real(dln_config *cfg, const config_key *k, const char *text, const char *loc)
{
  double x = 0;
  int rc = parse_real(text, &x);
  if (rc == DLN_SUCCESS && !in_bounds(k, x)) rc = DLN_EINVAL;
  if (rc != DLN_SUCCESS) return bad_value(rc, loc, k, text);
  *(double *)field_of(cfg, k) = x;
  return DLN_SUCCESS;
}

static int set_bool(dln_config *cfg, const config_key *k, const char *text, const char *loc)
{
  static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
  for (size_t i = 0; i < 3; i++) {
    if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
      *(int *)field_of(cfg, k) = strcasecmp(text, yes[i]) == 0;
      return DLN_SUCCESS;
    }
  }
  return bad_value(DLN_EFORMAT, loc, k, text);
}

static int set_name(dln_config *cfg, const config_key *k, const char *text, const char *loc)
{
  for (size_t i = 0; k->names[i]; i++) {
    if (strcmp(text, k->names[i]) != 0) continue;
    if (k->type == KEY_ENUM)
      *(int *)field_of(cfg, k) = (int)i; /* enum fields are int-sized (checked below) */
    else
      snprintf(field_of(cfg, k), k->size, "%s", k->names[i]);
    return DLN_SUCCESS;
  }
  return bad_value(DLN_EFORMAT, loc, k, text);
}

static int set_text(dln_config *cfg, const config_key *k, const char *text, const char *loc)
{
  if (strlen(text) >= k->size)
    return dln_error(DLN_EINVAL, "%s: %s.%s: text of %zu bytes exceeds the limit of %zu", loc,
                     k->section, k->key, strlen(text), k->size - 1);
  snprintf(field_of(cfg, k), k->size, "%s", text);
  return DLN_SUCCESS;
}

/* Stores base + text, or text alone when it is absolute or base is empty: a relative path
 * in a config file means "next to the config file", not "next to wherever dlnflow runs". */
static int set_path(dln_config *cfg, const config_key *k, const char *text, const char *base,
                    const char *loc)
{
  const char *prefix = text[0] == '/' ? "" : base;
  size_t needed = strlen(prefix) + strlen(text);
  if (needed >= k->size)
    return dln_error(DLN_EINVAL, "%s: %s.%s: path of %zu bytes exceeds the limit of %zu", loc,
                     k->section, k->key, needed, k->size - 1);
  snprintf(field_of(cfg, k), k->size, "%s%s", prefix, text);
  return DLN_SUCCESS;
}

/* Parses one list entry into entry n of the scratch arrays. */
static int parse_entry(const config_key *k, const char *entry, size_t n, size_t *whole,
                       double *real)
{
  unsigned long long v = 0;
  double x = 0;
  int rc;
  if (k->type == KEY_SIZE_LIST) {
    rc = parse_whole(entry, SIZE_MAX, &v);
    whole[n] = (size_t)v;
    x = (double)v;
  } else {
    rc = parse_real(entry, &x);
    real[n] = x;
  }
  if (rc == DLN_SUCCESS && !in_bounds(k, x)) rc = DLN_EINVAL;
  return rc;
}

/* Parses a comma-separated list into scratch arrays, then stores entries and count. */
static int set_list(dln_config *cfg, const config_key *k, const char *text, const char *loc)
{
  size_t whole[DLN_LIST_MAX];
  double real[DLN_LIST_MAX];
  size_t n = 0;
  for (const char *s = text; s; n++) {
    if (n == k->max_count)
      return dln_error(DLN_EINVAL, "%s: %s.%s: more than %zu entries given", loc, k->section,
                       k->key, k->max_count);
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    char token[128];
    snprintf(token, sizeof token, "%.*s", (int)(len < sizeof token ? len : sizeof token - 1), s);
    s = comma ? comma + 1 : NULL;
    const char *entry = trim(token);
    int rc = len < sizeof token ? parse_entry(k, entry, n, whole, real) : DLN_EFORMAT;
    if (rc != DLN_SUCCESS) {
      char domain[160];
      describe_domain(k, domain, sizeof domain);
      return dln_error(rc, "%s: %s.%s: entry %zu '%.*s' is not %s", loc, k->section, k->key,
                       n + 1, SHOWN_CHARS, entry, domain);
    }
  }
  if (n < k->min_count)
    return dln_error(DLN_EINVAL, "%s: %s.%s: %zu entr%s given, expected %zu to %zu", loc,
                     k->section, k->key, n, n == 1 ? "y" : "ies", k->min_count, k->max_count);
  if (k->type == KEY_SIZE_LIST)
    memcpy(field_of(cfg, k), whole, n * sizeof *whole);
  else
    memcpy(field_of(cfg, k), real, n * sizeof *real);
  memcpy((char *)cfg + k->count_offset, &n, sizeof n);
  return DLN_SUCCESS;
}

/* An empty value restores the default (lists: no entries). */
static int reset_value(dln_config *cfg, const config_key *k, const char *loc)
{
  dln_config *defaults = malloc(sizeof *defaults);
  if (!defaults) return dln_error(DLN_ENOMEM, "%s: out of memory", loc);
  dln_config_defaults(defaults);
  memcpy(field_of(cfg, k), field_of(defaults, k), k->size);
  if (k->type == KEY_SIZE_LIST || k->type == KEY_DOUBLE_LIST)
    memcpy((char *)cfg + k->count_offset, (char *)defaults + k->count_offset, sizeof(size_t));
  free(defaults);
  return DLN_SUCCESS;
}

static int set_value(dln_config *cfg, const config_key *k, const char *text, const char *base,
                     const char *loc)
{
  if (text[0] == '\0') return reset_value(cfg, k, loc);
  switch (k->type) {
  case KEY_SIZE:
  case KEY_ULONG:
  case KEY_LONG:
  case KEY_INT: return set_whole(cfg, k, text, loc);
  case KEY_DOUBLE: return set_real(cfg, k, text, loc);
  case KEY_BOOL: return set_bool(cfg, k, text, loc);
  case KEY_PATH: return set_path(cfg, k, text, base, loc);
  case KEY_TEXT: return set_text(cfg, k, text, loc);
  case KEY_NAME:
  case KEY_ENUM: return set_name(cfg, k, text, loc);
  case KEY_SIZE_LIST:
  case KEY_DOUBLE_LIST: return set_list(cfg, k, text, loc);
  }
  return dln_error(DLN_EINVAL, "%s: %s.%s: unhandled key type", loc, k->section, k->key);
}

/* Finds section.key or explains why it does not exist. */
static int lookup_key(const char *section, const char *key, const char *loc,
                      const config_key **out)
{
  *out = find_key(section, key);
  if (*out) return DLN_SUCCESS;
  if (section[0] == '\0')
    return dln_error(DLN_EFORMAT, "%s: key '%s' appears before any [section]", loc, key);
  if (!section_known(section))
    return dln_error(DLN_EFORMAT, "%s: unknown section [%s]", loc, section);
  return dln_error(DLN_EFORMAT, "%s: unknown key '%s' in section [%s]", loc, key, section);
}

/* ---- Defaults and overrides ---------------------------------------------------------- */

void dln_config_defaults(dln_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->cost, sizeof cfg->cost, "mse");
  cfg->rank = 1;
  cfg->observed_fraction = 0.8;
  cfg->samples = 100;
  cfg->data_seed = 1;
  snprintf(cfg->scheme, sizeof cfg->scheme, "scaled");
  cfg->gamma = 1.0;
  cfg->c = 1.0;
  cfg->alpha = 1e-2;
  cfg->seed = 1;
  dln_flow_options_default(&cfg->solver);
  cfg->out_samples = 200;
  cfg->rank_tol = 0.1;
  cfg->events_enabled = 1;
  dln_events_options_default(&cfg->events);
  snprintf(cfg->plot_kind, sizeof cfg->plot_kind, "curves");
}

int dln_config_override(dln_config *cfg, const char *assignment, const char *where)
{
  if (!where || !where[0]) where = "override";
  if (!cfg || !assignment)
    return dln_error(DLN_EINVAL, "dln_config_override: no configuration or assignment");
  char buf[DLN_PATH_MAX + 128];
  if (strlen(assignment) >= sizeof buf)
    return dln_error(DLN_EINVAL, "%s: assignment longer than %zu bytes", where, sizeof buf - 1);
  snprintf(buf, sizeof buf, "%s", assignment);
  char *eq = strchr(buf, '=');
  char *dot = eq ? memchr(buf, '.', (size_t)(eq - buf)) : NULL;
  if (!eq || !dot)
    return dln_error(DLN_EFORMAT, "%s: '%.*s' is not an assignment section.key=value", where,
                     SHOWN_CHARS, assignment);
  *eq = '\0';
  *dot = '\0';
  const char *section = trim(buf), *key = trim(dot + 1), *value = trim(eq + 1);
  if (!section[0] || !key[0])
    return dln_error(DLN_EFORMAT, "%s: '%.*s' is not an assignment section.key=value", where,
                     SHOWN_CHARS, assignment);
  const config_key *k;
  int rc = lookup_key(section, key, where, &k);
  /* Overrides come from the command line: relative paths stay relative to the current
   * folder. */
  return rc != DLN_SUCCESS ? rc : set_value(cfg, k, value, "", where);
}

/* ---- Loading a file ------------------------------------------------------------------ */

/* What the inih callbacks share (passed as inih's user pointer and reader stream). */
typedef struct load_state {
  dln_config *cfg;
  FILE *fp;
  const char *path;            /* for messages */
  char base[DLN_PATH_MAX];     /* the config file's folder with a trailing '/', or "" */
  int line;                    /* line being parsed, counted by read_line */
  int indented;                /* the line starts with whitespace */
  char stripped[256];          /* the start of the line without leading whitespace */
  int status;                  /* first fault (DLN_SUCCESS while none) */
  int error_line;              /* its line */
  int seen_at[NKEYS];          /* line where each key was set, 0 if not yet */
} load_state;

/* Records the first fault and tells inih the line failed. */
static int fail_at(load_state *st, int code)
{
  if (st->status == DLN_SUCCESS) {
    st->status = code;
    st->error_line = st->line;
  }
  return 0;
}

/* Checks a "[section]" line as it is read, so that an unknown section is reported at its
 * own line even when no key follows it. */
static void note_section(load_state *st, const char *s)
{
  if (*s != '[' || st->status != DLN_SUCCESS) return;
  const char *close = strchr(s, ']');
  if (!close) return; /* inih reports the syntax error */
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)(close - s - 1), s + 1);
  if (section_known(name)) return;
  fail_at(st, dln_error(DLN_EFORMAT, "%s:%d: unknown section [%s]", st->path, st->line, name));
}

/* An fgets replacement for ini_parse_stream that counts lines (inih v55 gives its handler no
 * line number), remembers how the line starts, and turns a line too long for inih's buffer
 * into a reported fault instead of letting inih parse its pieces as separate lines. */
static char *read_line(char *str, int num, void *stream)
{
  load_state *st = stream;
  if (!fgets(str, num, st->fp)) return NULL;
  st->line++;
  size_t len = strlen(str);
  if (len == (size_t)num - 1 && str[len - 1] != '\n') {
    int c = getc(st->fp);
    if (c != EOF) {
      while (c != EOF && c != '\n') c = getc(st->fp);
      fail_at(st, dln_error(DLN_EFORMAT, "%s:%d: line longer than %d characters", st->path,
                            st->line, num - 3));
      snprintf(str, (size_t)num, ";\n"); /* hand inih a comment in its place */
    }
  }
  st->indented = str[0] == ' ' || str[0] == '\t';
  const char *s = str;
  if (st->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3; /* a UTF-8 byte order mark */
  while (isspace((unsigned char)*s)) s++;
  snprintf(st->stripped, sizeof st->stripped, "%s", s);
  note_section(st, s);
  return str;
}

/* inih reads an indented line after a key as a continuation of that key's value (Python
 * configparser style) and calls the handler with the whole line as the value. That silently
 * turns "  width = 3" into a value of the key above, so it is refused. */
static int is_continuation(const load_state *st, const char *value)
{
  size_t n = strlen(value);
  if (n >= sizeof st->stripped) n = sizeof st->stripped - 1;
  return st->indented && value[0] != '\0' && strncmp(st->stripped, value, n) == 0;
}

/* Keeps a [sweep] line as text: what its keys and values mean is the sweep's business
 * (include/dlnflow/sweep.h), which reports faults with this file and line. */
static int note_sweep_axis(load_state *st, const char *keys, const char *values, const char *loc)
{
  dln_config *cfg = st->cfg;
  for (size_t i = 0; i < cfg->nsweep; i++)
    if (strcmp(cfg->sweep[i].keys, keys) == 0)
      return fail_at(st, dln_error(DLN_EFORMAT, "%s: [sweep] %s is given twice (first at line %d)",
                                   loc, keys, cfg->sweep[i].line));
  if (cfg->nsweep == DLN_SWEEP_AXES_MAX)
    return fail_at(st, dln_error(DLN_EINVAL, "%s: [sweep] has more than %d axes", loc,
                                 DLN_SWEEP_AXES_MAX));
  dln_sweep_entry *e = &cfg->sweep[cfg->nsweep];
  if (strlen(keys) >= sizeof e->keys || strlen(values) >= sizeof e->values)
    return fail_at(st, dln_error(DLN_EINVAL, "%s: [sweep] %s: keys or values too long", loc, keys));
  snprintf(e->keys, sizeof e->keys, "%s", keys);
  snprintf(e->values, sizeof e->values, "%s", values);
  e->line = st->line;
  cfg->nsweep++;
  return 1;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
  load_state *st = user;
  if (st->status != DLN_SUCCESS) return 0; /* report only the first fault */
  if (!name) return 1;                      /* a new section (inih built to announce them) */
  char loc[DLN_PATH_MAX + 16];
  snprintf(loc, sizeof loc, "%s:%d", st->path, st->line);
  if (!value)
    return fail_at(st, dln_error(DLN_EFORMAT, "%s: '%s' has no value (write %s = value)", loc,
                                 name, name));
  if (is_continuation(st, value))
    return fail_at(st, dln_error(DLN_EFORMAT, "%s: indented line would continue the value of "
                                 "'%s'; remove the indentation", loc, name));
  if (strcmp(section, SWEEP_SECTION) == 0) return note_sweep_axis(st, name, value, loc);
  const config_key *k;
  int rc = lookup_key(section, name, loc, &k);
  if (rc != DLN_SUCCESS) return fail_at(st, rc);
  /* A key given twice is most likely an edit gone wrong: say so rather than keep the last. */
  size_t index = (size_t)(k - KEYS);
  if (st->seen_at[index])
    return fail_at(st, dln_error(DLN_EFORMAT, "%s: %s.%s is given twice (first at line %d)", loc,
                                 k->section, k->key, st->seen_at[index]));
  st->seen_at[index] = st->line;
  rc = set_value(st->cfg, k, value, st->base, loc);
  return rc == DLN_SUCCESS ? 1 : fail_at(st, rc);
}

/* Merges inih's verdict (0, a line number, or -2 for no memory) with the handler's. */
static int finish_load(const load_state *st, int inih_rc, int read_failed)
{
  if (inih_rc == -2) return dln_error(DLN_ENOMEM, "%s: out of memory", st->path);
  if (read_failed) return dln_error(DLN_EIO, "%s: read failed", st->path);
  if (inih_rc > 0 && (st->status == DLN_SUCCESS || inih_rc < st->error_line))
    return dln_error(DLN_EFORMAT,
                     "%s:%d: syntax error: expected '[section]', 'key = value' or a comment",
                     st->path, inih_rc);
  return st->status;
}

int dln_config_load(dln_config *cfg, const char *path)
{
  if (!cfg || !path || !path[0]) return dln_error(DLN_EINVAL, "dln_config_load: no path given");
  if (strlen(path) >= DLN_PATH_MAX)
    return dln_error(DLN_EINVAL, "dln_config_load: path longer than %d bytes", DLN_PATH_MAX - 1);
  load_state *st = calloc(1, sizeof *st);
  if (!st) return dln_error(DLN_ENOMEM, "dln_config_load: out of memory");
  st->fp = fopen(path, "r");
  if (!st->fp) {
    int code = dln_error(DLN_EIO, "%s: cannot open: %s", path, strerror(errno));
    free(st);
    return code;
  }
  st->cfg = cfg;
  st->path = path;
  const char *slash = strrchr(path, '/');
  if (slash) snprintf(st->base, sizeof st->base, "%.*s", (int)(slash - path + 1), path);
  snprintf(cfg->source, sizeof cfg->source, "%s", path);
  int inih_rc = ini_parse_stream(read_line, st, on_entry, st);
  int read_failed = ferror(st->fp);
  fclose(st->fp);
  int status = finish_load(st, inih_rc, read_failed);
  free(st);
  return status;
}

/* ---- Cross-key validation ------------------------------------------------------------ */

/* Each check writes "source: message" naming the keys at fault (no prefix without source). */
static int invalid(const dln_config *cfg, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int invalid(const dln_config *cfg, const char *fmt, ...)
{
  char body[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  if (cfg->source[0]) return dln_error(DLN_EINVAL, "%s: %s", cfg->source, body);
  return dln_error(DLN_EINVAL, "%s", body);
}

static int check_network(const dln_config *cfg)
{
  if (cfg->nwidths > 0 && (cfg->depth > 0 || cfg->width > 0))
    return invalid(cfg, "network.widths cannot be combined with network.depth or network.width; "
                        "give one or the other");
  if (cfg->nwidths > 0) {
    if (cfg->nwidths < 2 || cfg->nwidths > DLN_MAX_DEPTH + 1)
      return invalid(cfg, "network.widths needs 2 to %d entries, has %zu", DLN_MAX_DEPTH + 1,
                     cfg->nwidths);
    for (size_t i = 0; i < cfg->nwidths; i++)
      if (cfg->widths[i] == 0) return invalid(cfg, "network.widths: entry %zu is 0", i + 1);
    return DLN_SUCCESS;
  }
  if (cfg->depth == 0 && cfg->width == 0)
    return invalid(cfg, "no network: give network.depth and network.width, or network.widths");
  if (cfg->depth == 0) return invalid(cfg, "network.width needs network.depth");
  if (cfg->width == 0) return invalid(cfg, "network.depth needs network.width");
  if (cfg->depth > DLN_MAX_DEPTH)
    return invalid(cfg, "network.depth = %zu exceeds %d", cfg->depth, DLN_MAX_DEPTH);
  return DLN_SUCCESS;
}

static int check_mc_data(const dln_config *cfg)
{
  if (strcmp(cfg->generator, "teacher") == 0)
    return invalid(cfg, "data.generator = teacher needs data.cost = mse");
  if (strcmp(cfg->generator, "lowrank") != 0) {
    if (!cfg->target[0])
      return invalid(cfg, "data.cost = mc needs data.generator = lowrank or a data.target file");
    if (!cfg->observed[0])
      return invalid(cfg, "data.target needs data.observed (the file of observed entries)");
    return DLN_SUCCESS;
  }
  if (cfg->target[0] || cfg->observed[0])
    return invalid(cfg, "data.target and data.observed cannot be combined with "
                        "data.generator = lowrank");
  if (cfg->rows == 0 || cfg->cols == 0)
    return invalid(cfg, "data.generator = lowrank needs data.rows and data.cols");
  size_t smaller = cfg->rows < cfg->cols ? cfg->rows : cfg->cols;
  if (cfg->rank == 0 || cfg->rank > smaller)
    return invalid(cfg, "data.rank = %zu must lie in [1, min(data.rows, data.cols) = %zu]",
                   cfg->rank, smaller);
  if (!(cfg->observed_fraction > 0 && cfg->observed_fraction <= 1))
    return invalid(cfg, "data.observed_fraction = %g must lie in (0, 1]", cfg->observed_fraction);
  return DLN_SUCCESS;
}

static int check_mse_data(const dln_config *cfg)
{
  if (strcmp(cfg->generator, "lowrank") == 0)
    return invalid(cfg, "data.generator = lowrank needs data.cost = mc");
  if (strcmp(cfg->generator, "teacher") == 0) {
    if (cfg->x[0] || cfg->y[0])
      return invalid(cfg, "data.x and data.y cannot be combined with data.generator = teacher");
    if (cfg->nteacher_diag > 0 && cfg->teacher[0])
      return invalid(cfg, "give data.teacher_diag or data.teacher, not both");
    if (cfg->teacher_rank > 0 && (cfg->nteacher_diag > 0 || cfg->teacher[0]))
      return invalid(cfg, "data.teacher_rank cannot be combined with data.%s: give one teacher",
                     cfg->teacher[0] ? "teacher" : "teacher_diag");
    if (cfg->teacher_size > 0 && cfg->teacher_rank == 0)
      return invalid(cfg, "data.teacher_size needs data.teacher_rank (the random teacher's "
                          "rank)");
    if (cfg->teacher_rank > 0 && cfg->teacher_size == 0)
      return invalid(cfg, "data.teacher_rank needs data.teacher_size (the random teacher's "
                          "size)");
    if (cfg->teacher_rank > cfg->teacher_size)
      return invalid(cfg, "data.teacher_rank = %zu must lie in [1, data.teacher_size = %zu]",
                     cfg->teacher_rank, cfg->teacher_size);
    if (cfg->nteacher_diag == 0 && !cfg->teacher[0] && cfg->teacher_rank == 0)
      return invalid(cfg, "data.generator = teacher needs data.teacher_diag, data.teacher or "
                          "data.teacher_rank with data.teacher_size");
    if (cfg->samples == 0) return invalid(cfg, "data.samples must be at least 1");
    return DLN_SUCCESS;
  }
  if (!cfg->x[0] || !cfg->y[0])
    return invalid(cfg, "data.cost = mse needs data.generator = teacher or data.x and data.y");
  if (!cfg->test_x[0] != !cfg->test_y[0])
    return invalid(cfg, "data.test_x and data.test_y go together: give both or neither");
  return DLN_SUCCESS;
}

static int check_data(const dln_config *cfg)
{
  if (cfg->generator[0] && strcmp(cfg->generator, "lowrank") != 0 &&
      strcmp(cfg->generator, "teacher") != 0)
    return invalid(cfg, "data.generator = '%s' is not lowrank, teacher or empty", cfg->generator);
  /* The random teacher's keys would be ignored by any other data source: refuse them. */
  const struct { const char *key; int given; } teacher_keys[] = {
    {"data.teacher_size", cfg->teacher_size > 0},
    {"data.teacher_rank", cfg->teacher_rank > 0}, {"data.teacher_noise", cfg->teacher_noise > 0}};
  for (size_t i = 0; i < sizeof teacher_keys / sizeof *teacher_keys; i++)
    if (teacher_keys[i].given && strcmp(cfg->generator, "teacher") != 0)
      return invalid(cfg, "%s is for data.generator = teacher, but data.generator %s%s%s",
                     teacher_keys[i].key, cfg->generator[0] ? "= '" : "is not set",
                     cfg->generator, cfg->generator[0] ? "'" : "");
  /* A file key of the other cost would be ignored without a word: refuse it instead. */
  int mc = strcmp(cfg->cost, "mc") == 0;
  const struct { const char *key; const char *value; int for_mc; } files[] = {
    {"data.x", cfg->x, 0}, {"data.y", cfg->y, 0}, {"data.test_x", cfg->test_x, 0},
    {"data.test_y", cfg->test_y, 0}, {"data.teacher", cfg->teacher, 0},
    {"data.target", cfg->target, 1}, {"data.observed", cfg->observed, 1}};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    if (files[i].value[0] && files[i].for_mc != mc)
      return invalid(cfg, "%s is for data.cost = %s, but data.cost = %s", files[i].key,
                     files[i].for_mc ? "mc" : "mse", cfg->cost);
  if (mc) return check_mc_data(cfg);
  if (strcmp(cfg->cost, "mse") == 0) return check_mse_data(cfg);
  return invalid(cfg, "data.cost = '%s' is not mse or mc", cfg->cost);
}

static int check_init(const dln_config *cfg)
{
  int known = 0;
  for (size_t i = 0; SCHEME_NAMES[i]; i++) known |= strcmp(cfg->scheme, SCHEME_NAMES[i]) == 0;
  if (!known)
    return invalid(cfg, "init.scheme = '%s' is not gaussian, scaled or file", cfg->scheme);
  if (strcmp(cfg->scheme, "file") == 0 && !cfg->init_dir[0])
    return invalid(cfg, "init.scheme = file needs init.dir");
  return DLN_SUCCESS;
}

static int check_solver(const dln_config *cfg)
{
  const dln_flow_options *s = &cfg->solver;
  if (!(s->rtol > 0 && s->rtol < 1))
    return invalid(cfg, "solver.rtol = %g must lie in (0, 1)", s->rtol);
  if (!(s->t_max > 0 && isfinite(s->t_max)))
    return invalid(cfg, "solver.t_max = %g must be a finite number > 0", s->t_max);
  /* Output times reach down to t_max·1e-6 and CVODE's first step is sized from them: near
   * either end of the double range they under- or overflow. */
  if (s->t_max < T_MAX_LOWEST || s->t_max > T_MAX_HIGHEST)
    return invalid(cfg, "solver.t_max = %g lies outside [%g, %g], the times double precision "
                   "integrates reliably", s->t_max, T_MAX_LOWEST, T_MAX_HIGHEST);
  if (s->method == DLN_METHOD_GD && !(s->learning_rate > 0 && isfinite(s->learning_rate)))
    return invalid(cfg, "solver.method = gd needs solver.learning_rate > 0");
  if (s->krylov_dim < 1 || s->krylov_dim > KRYLOV_DIM_MAX)
    return invalid(cfg, "solver.krylov_dim = %d must lie in [1, %d]", s->krylov_dim,
                   KRYLOV_DIM_MAX);
  return DLN_SUCCESS;
}

static int check_output(const dln_config *cfg)
{
  if (cfg->out_samples < 2) return invalid(cfg, "output.samples must be at least 2");
  if (cfg->t_min > 0 && cfg->t_min >= cfg->solver.t_max)
    return invalid(cfg, "output.t_min = %g must be below solver.t_max = %g", cfg->t_min,
                   cfg->solver.t_max);
  for (size_t i = 1; i < cfg->ntimes; i++)
    if (!(cfg->times[i] > cfg->times[i - 1]))
      return invalid(cfg, "output.times must increase: entry %zu (%g) follows %g", i + 1,
                     cfg->times[i], cfg->times[i - 1]);
  if (cfg->ntimes > 0 && cfg->times[cfg->ntimes - 1] > cfg->solver.t_max)
    return invalid(cfg, "output.times: %g lies beyond solver.t_max = %g", cfg->times[cfg->ntimes - 1],
                   cfg->solver.t_max);
  return DLN_SUCCESS;
}

/* The most rows a sweep plot draws (plot.rows entries). */
#define PLOT_ROWS_MAX 8

/* Checks that plot.<name> (value v) is empty or names a configuration key outside [plot]. */
static int check_plot_key(const dln_config *cfg, const char *name, const char *v)
{
  if (!v[0]) return DLN_SUCCESS;
  char section[DLN_TEXT_MAX];
  const char *dot = strchr(v, '.');
  snprintf(section, sizeof section, "%.*s", dot ? (int)(dot - v) : 0, v);
  if (!dot || !find_key(section, dot + 1) || strcmp(section, "plot") == 0)
    return invalid(cfg, "plot.%s = '%.*s' is not a configuration key (section.key, e.g. "
                   "init.gamma)", name, SHOWN_CHARS, v);
  return DLN_SUCCESS;
}

int dln_config_validate_plot(const dln_config *cfg)
{
  if (!cfg) return dln_error(DLN_EINVAL, "dln_config_validate_plot: cfg is NULL");
  int summary = strcmp(cfg->plot_kind, "summary") == 0;
  if (!summary && strcmp(cfg->plot_kind, "curves") != 0)
    return invalid(cfg, "plot.kind = '%s' is not curves or summary", cfg->plot_kind);
  int rc = check_plot_key(cfg, "panel", cfg->plot_panel);
  if (rc == DLN_SUCCESS) rc = check_plot_key(cfg, "color", cfg->plot_color);
  if (rc == DLN_SUCCESS) rc = check_plot_key(cfg, "x", cfg->plot_x);
  if (rc != DLN_SUCCESS) return rc;
  if (cfg->plot_panel[0] && strcmp(cfg->plot_panel, cfg->plot_color) == 0)
    return invalid(cfg, "plot.panel and plot.color both name %s: give them different keys",
                   cfg->plot_panel);
  if (!summary && cfg->plot_x[0])
    return invalid(cfg, "plot.x = %s applies to plot.kind = summary only (curves are drawn "
                   "against t)", cfg->plot_x);
  if (summary && cfg->plot_x[0] &&
      (strcmp(cfg->plot_x, cfg->plot_panel) == 0 || strcmp(cfg->plot_x, cfg->plot_color) == 0))
    return invalid(cfg, "plot.x = %s is also plot.%s: the x axis needs a key of its own",
                   cfg->plot_x, strcmp(cfg->plot_x, cfg->plot_panel) == 0 ? "panel" : "color");
  size_t n = 0;
  for (const char *p = cfg->plot_rows; cfg->plot_rows[0]; n++) {
    size_t len = strcspn(p, ",");
    size_t good = 0;
    while (good < len && (isalnum((unsigned char)p[good]) || p[good] == '_')) good++;
    if (len == 0 || good != len)
      return invalid(cfg, "plot.rows: entry %zu '%.*s' is not a column name (letters, digits "
                     "and _)", n + 1, (int)(len < SHOWN_CHARS ? len : SHOWN_CHARS), p);
    if (n == PLOT_ROWS_MAX)
      return invalid(cfg, "plot.rows: more than %d columns", PLOT_ROWS_MAX);
    if (!p[len]) break;
    p += len + 1;
  }
  return DLN_SUCCESS;
}

int dln_config_validate(const dln_config *cfg)
{
  if (!cfg) return dln_error(DLN_EINVAL, "dln_config_validate: cfg is NULL");
  int rc = check_network(cfg);
  if (rc == DLN_SUCCESS) rc = check_data(cfg);
  if (rc == DLN_SUCCESS) rc = check_init(cfg);
  if (rc == DLN_SUCCESS) rc = check_solver(cfg);
  if (rc == DLN_SUCCESS) rc = check_output(cfg);
  if (rc == DLN_SUCCESS && !(cfg->events.exit > cfg->events.enter))
    rc = invalid(cfg, "events.exit = %g must exceed events.enter = %g", cfg->events.exit,
                 cfg->events.enter);
  if (rc == DLN_SUCCESS) rc = dln_config_validate_plot(cfg);
  return rc;
}

/* ---- Listing ------------------------------------------------------------------------- */

/* Longest value text: a full list of doubles (at most 24 characters and a comma each). */
#define VALUE_TEXT_MAX (DLN_LIST_MAX * 25 + DLN_PATH_MAX)

/* Appends text to buf (holding *used characters) as far as it fits. */
static void append(char *buf, size_t size, size_t *used, const char *text)
{
  int n = snprintf(buf + *used, size - *used, "%s", text);
  if (n > 0) *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

static void format_value(const dln_config *cfg, const config_key *k, char *buf, size_t size)
{
  const void *field = const_field_of(cfg, k);
  char num[40];
  size_t used = 0;
  buf[0] = '\0';
  switch (k->type) {
  case KEY_SIZE:
    /* 0 below a key's minimum means "not given" (depth with widths, rows without lowrank):
     * list it empty, which reads back as the default. */
    if (*(const size_t *)field != 0 || k->min <= 0)
      snprintf(buf, size, "%zu", *(const size_t *)field);
    break;
  case KEY_ULONG: snprintf(buf, size, "%lu", *(const unsigned long *)field); break;
  case KEY_LONG: snprintf(buf, size, "%ld", *(const long *)field); break;
  case KEY_INT: snprintf(buf, size, "%d", *(const int *)field); break;
  case KEY_DOUBLE: dln_format_double(buf, size, *(const double *)field, 0); break;
  case KEY_BOOL: snprintf(buf, size, "%s", *(const int *)field ? "true" : "false"); break;
  case KEY_PATH:
  case KEY_TEXT:
  case KEY_NAME: snprintf(buf, size, "%s", (const char *)field); break;
  case KEY_ENUM: {
    int m = *(const int *)field;
    size_t count = 0;
    while (k->names[count]) count++;
    snprintf(buf, size, "%s", m >= 0 && (size_t)m < count ? k->names[m] : "unknown");
    break;
  }
  case KEY_SIZE_LIST:
  case KEY_DOUBLE_LIST: {
    size_t n;
    memcpy(&n, (const char *)cfg + k->count_offset, sizeof n);
    for (size_t i = 0; i < n && i < DLN_LIST_MAX; i++) {
      if (k->type == KEY_SIZE_LIST)
        snprintf(num, sizeof num, "%zu", ((const size_t *)field)[i]);
      else
        dln_format_double(num, sizeof num, ((const double *)field)[i], 0);
      if (i > 0) append(buf, size, &used, ",");
      append(buf, size, &used, num);
    }
    break;
  }
  }
}

int dln_config_key_is_list(const char *name)
{
  const char *dot = name ? strchr(name, '.') : NULL;
  if (!dot || (size_t)(dot - name) >= 64) return 0;
  char section[64];
  snprintf(section, sizeof section, "%.*s", (int)(dot - name), name);
  const config_key *k = find_key(section, dot + 1);
  return k && (k->type == KEY_SIZE_LIST || k->type == KEY_DOUBLE_LIST);
}

void dln_config_foreach(const dln_config *cfg,
                        void (*fn)(const char *section, const char *key, const char *value,
                                   void *data),
                        void *data)
{
  if (!cfg || !fn) return;
  char text[VALUE_TEXT_MAX];
  for (size_t i = 0; i < NKEYS; i++) {
    format_value(cfg, &KEYS[i], text, sizeof text);
    fn(KEYS[i].section, KEYS[i].key, text, data);
  }
}

/* Writes what values k accepts: its names, or its type and bounds. */
static void describe_allowed(const config_key *k, char *buf, size_t size)
{
  static const char *const type_names[] = {
    [KEY_SIZE] = "whole number", [KEY_ULONG] = "whole number", [KEY_LONG] = "whole number",
    [KEY_INT] = "whole number", [KEY_DOUBLE] = "number", [KEY_BOOL] = "true or false",
    [KEY_PATH] = "path", [KEY_NAME] = "name", [KEY_TEXT] = "text", [KEY_ENUM] = "name",
    [KEY_SIZE_LIST] = "list of whole numbers", [KEY_DOUBLE_LIST] = "list of numbers"};
  size_t used = 0;
  buf[0] = '\0';
  if (k->names) {
    for (size_t i = 0; k->names[i] && used < size; i++)
      used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", k->names[i]);
    return;
  }
  used = (size_t)snprintf(buf, size, "%s", type_names[k->type]);
  int numeric = k->type != KEY_BOOL && k->type != KEY_PATH && k->type != KEY_TEXT;
  /* Whole-number bounds print whole ("<= 1000000", not "<= 1e+06", which they would refuse). */
  const char *form = k->type == KEY_DOUBLE || k->type == KEY_DOUBLE_LIST ? ", %s %g" : ", %s %.0f";
  if (numeric && k->min != NO_MIN && used < size)
    used += (size_t)snprintf(buf + used, size - used, form, k->open & OPEN_MIN ? ">" : ">=",
                             k->min);
  if (numeric && k->max != NO_MAX && used < size)
    snprintf(buf + used, size - used, form, k->open & OPEN_MAX ? "<" : "<=", k->max);
}

void dln_config_describe(void (*fn)(const char *section, const char *key, const char *fallback,
                                    const char *allowed, const char *help, void *data),
                         void *data)
{
  dln_config *defaults = malloc(sizeof *defaults);
  if (!defaults || !fn) {
    free(defaults);
    return;
  }
  dln_config_defaults(defaults);
  char fallback[VALUE_TEXT_MAX], allowed[VALUE_TEXT_MAX];
  for (size_t i = 0; i < NKEYS; i++) {
    format_value(defaults, &KEYS[i], fallback, sizeof fallback);
    if (KEYS[i].type == KEY_DOUBLE) /* 15 digits read better than the round-trip 17 here */
      snprintf(fallback, sizeof fallback, "%.15g", *(const double *)const_field_of(defaults, &KEYS[i]));
    describe_allowed(&KEYS[i], allowed, sizeof allowed);
    fn(KEYS[i].section, KEYS[i].key, fallback, allowed, KEYS[i].help, data);
  }
  free(defaults);
}

_Static_assert(sizeof(dln_method) == sizeof(int) && sizeof(dln_precond_kind) == sizeof(int),
               "KEY_ENUM fields are written as int");
