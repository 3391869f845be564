/* Tests for the run configuration (src/config.c): defaults, a complete file, every class of
 * fault with its code and a message naming the file and line (or the key), overrides,
 * relative paths, the cross-key checks of dln_config_validate, and the listing of
 * dln_config_foreach (which must read back to the same configuration).
 *
 * Scratch files go to the current directory (meson runs tests in the build folder) under
 * names carrying the process id, and are removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlnflow/config.h"
#include "dlnflow/errors.h"
#include "testlib.h"

/* Every key of the table, as dln_config_foreach lists them. */

/* ---- Helpers ------------------------------------------------------------------------- */

/* Writes "test_config_<pid>_<name>" into buf: unique per run. */
static const char *scratch(char *buf, size_t size, const char *name)
{
  snprintf(buf, size, "test_config_%ld_%s", (long)getpid(), name);
  return buf;
}

static void write_text(const char *path, const char *text)
{
  FILE *fp = fopen(path, "wb");
  if (!fp) return;
  fputs(text, fp);
  fclose(fp);
}

static int message_has(const char *needle) { return strstr(dln_error_message(), needle) != NULL; }

/* The message to print beside a check: the library's diagnosis when the call failed. */
static const char *why(int rc) { return rc == DLN_SUCCESS ? "ok" : dln_error_message(); }

/* A heap configuration with defaults (dln_config holds several path buffers). */
static dln_config *fresh(void)
{
  dln_config *cfg = malloc(sizeof *cfg);
  if (!cfg) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  dln_config_defaults(cfg);
  return cfg;
}

/* Loads text written to a scratch file; the file name goes to path (for message checks). */
static int load_text(dln_config *cfg, char *path, size_t size, const char *text)
{
  scratch(path, size, "case.ini");
  write_text(path, text);
  int rc = dln_config_load(cfg, path);
  remove(path);
  return rc;
}

/* A configuration that passes validation: a teacher regression on a 3-layer network. */
static dln_config *valid_teacher(void)
{
  dln_config *cfg = fresh();
  cfg->depth = 3;
  cfg->width = 8;
  snprintf(cfg->generator, sizeof cfg->generator, "teacher");
  cfg->teacher_diag[0] = 2.5;
  cfg->nteacher_diag = 1;
  return cfg;
}

/* ---- Defaults and a complete file ---------------------------------------------------- */

static void test_defaults(void)
{
  dln_config *cfg = fresh();
  dln_flow_options solver;
  dln_flow_options_default(&solver);
  test_true(strcmp(cfg->cost, "mse") == 0 && strcmp(cfg->scheme, "scaled") == 0 &&
                cfg->generator[0] == '\0',
            "default names: cost mse, scheme scaled, no generator");
  test_true(cfg->gamma == 1.0 && cfg->c == 1.0 && cfg->alpha == 1e-2 && cfg->seed == 1 &&
                cfg->data_seed == 1,
            "default init: gamma 1, c 1, alpha 1e-2, seeds 1");
  test_true(cfg->observed_fraction == 0.8 && cfg->samples == 100 && cfg->test_samples == 0 &&
                cfg->noise == 0.0 && cfg->rank == 1 && cfg->whiten == 0,
            "default data: fraction 0.8, 100 samples, no test, no noise, rank 1");
  test_true(cfg->out_samples == 200 && cfg->t_min == 0.0 && cfg->rank_tol == 0.1 &&
                cfg->ntimes == 0 && cfg->out_dir[0] == '\0',
            "default output: 200 samples, t_min 0, rank_tol 0.1");
  test_true(cfg->depth == 0 && cfg->width == 0 && cfg->nwidths == 0 && cfg->source[0] == '\0',
            "default network: none given");
  test_true(cfg->solver.method == solver.method && cfg->solver.rtol == solver.rtol &&
                cfg->solver.t_max == solver.t_max && cfg->solver.krylov_dim == solver.krylov_dim,
            "default solver from dln_flow_options_default");
  int rc = dln_config_validate(cfg);
  test_true(rc == DLN_EINVAL && message_has("network.depth"),
            "defaults alone do not validate (no network): %s", why(rc));
  free(cfg);
}

static void test_full_file(void)
{
  char path[64];
  dln_config *cfg = fresh();
  int rc = load_text(cfg, path, sizeof path,
                     "; a complete teacher run\n"
                     "# hash comments too\n"
                     "[network]\n"
                     "widths = 4, 16,16 ,3\n"
                     "\n"
                     "[data]\n"
                     "cost = mse\n"
                     "generator = teacher\n"
                     "teacher_diag = 3.5, 2.25, 1e-1\n"
                     "samples = 512\n"
                     "test_samples = 128\n"
                     "noise = 0.015 ; inline comment\n"
                     "whiten = yes\n"
                     "seed = 18446744073709551615\n"
                     "[init]\n"
                     "scheme = gaussian\n"
                     "gamma = -0.75\n"
                     "c = 2.385\n"
                     "alpha = 3.5e-3\n"
                     "seed = 42\n"
                     "[solver]\n"
                     "method = adams\n"
                     "rtol = 2.5e-9\n"
                     "atol = 1e-12\n"
                     "t_max = 5000.5\n"
                     "loss_target = 1e-10\n"
                     "grad_tol = 0\n"
                     "learning_rate = 0.0125\n"
                     "steps = 100000\n"
                     "krylov_dim = 25\n"
                     "[output]\n"
                     "dir = /tmp/run-out\n"
                     "samples = 333\n"
                     "t_min = 1e-3\n"
                     "times = 0.5, 7.25, 1000\n"
                     "rank_tol = 0.0625\n");
  test_true(rc == DLN_SUCCESS, "load a complete file: %s", why(rc));
  test_true(cfg->nwidths == 4 && cfg->widths[0] == 4 && cfg->widths[1] == 16 &&
                cfg->widths[3] == 3 && cfg->depth == 0,
            "network.widths = 4,16,16,3");
  test_true(strcmp(cfg->generator, "teacher") == 0 && cfg->nteacher_diag == 3 &&
                cfg->teacher_diag[1] == 2.25 && cfg->teacher_diag[2] == 1e-1,
            "data.teacher_diag = 3.5,2.25,0.1");
  test_true(cfg->samples == 512 && cfg->test_samples == 128 && cfg->noise == 0.015 &&
                cfg->whiten == 1 && cfg->data_seed == 18446744073709551615UL,
            "data counts, inline comment stripped, whiten yes, seed ULONG_MAX");
  test_true(strcmp(cfg->scheme, "gaussian") == 0 && cfg->gamma == -0.75 && cfg->c == 2.385 &&
                cfg->alpha == 3.5e-3 && cfg->seed == 42,
            "init keys");
  test_true(cfg->solver.method == DLN_METHOD_ADAMS && cfg->solver.rtol == 2.5e-9 &&
                cfg->solver.atol == 1e-12 && cfg->solver.t_max == 5000.5 &&
                cfg->solver.loss_target == 1e-10 && cfg->solver.learning_rate == 0.0125 &&
                cfg->solver.max_steps == 100000 && cfg->solver.krylov_dim == 25,
            "solver keys");
  test_true(strcmp(cfg->out_dir, "/tmp/run-out") == 0 && cfg->out_samples == 333 &&
                cfg->t_min == 1e-3 && cfg->ntimes == 3 && cfg->times[2] == 1000.0 &&
                cfg->rank_tol == 0.0625,
            "output keys (absolute output.dir kept)");
  test_true(strcmp(cfg->source, path) == 0, "source records the file: %s", cfg->source);
  rc = dln_config_validate(cfg);
  test_true(rc == DLN_SUCCESS, "the complete file validates: %s", why(rc));
  free(cfg);
}

/* ---- Faults while loading ------------------------------------------------------------ */

/* Loads text and checks the code and that the message contains "<file>:<line>" and needle. */
static void expect_fault(const char *text, int code, int line, const char *needle,
                         const char *what)
{
  char path[64], where[96];
  dln_config *cfg = fresh();
  int rc = load_text(cfg, path, sizeof path, text);
  snprintf(where, sizeof where, "%s:%d:", path, line);
  test_true(rc == code && message_has(where) && message_has(needle), "%s: %s", what, why(rc));
  free(cfg);
}

static void test_load_faults(void)
{
  expect_fault("[network]\ndepth = 2\n[foo]\nbar = 1\n", DLN_EFORMAT, 3, "unknown section [foo]",
               "unknown section at its header line");
  expect_fault("[network]\ndepth = 2\n[netwrok]\n", DLN_EFORMAT, 3, "unknown section [netwrok]",
               "unknown empty section");
  expect_fault("[network]\nbar = 1\n", DLN_EFORMAT, 2, "unknown key 'bar' in section [network]",
               "unknown key");
  expect_fault("depth = 2\n", DLN_EFORMAT, 1, "before any [section]", "key outside a section");
  expect_fault("[network]\nwidth = abc\n", DLN_EFORMAT, 2,
               "network.width: 'abc' is not a whole number >= 1", "malformed number");
  expect_fault("[network]\nwidth = 1.5\n", DLN_EFORMAT, 2, "'1.5' is not a whole number",
               "fraction for a whole number");
  expect_fault("[network]\n\nwidth = -3\n", DLN_EINVAL, 3,
               "network.width: '-3' is not a whole number >= 1", "negative width");
  expect_fault("[network]\nwidth = 99999999999999999999999\n", DLN_EINVAL, 2, "network.width",
               "width overflowing size_t");
  expect_fault("[network]\ndepth = 65\n", DLN_EINVAL, 2, "a whole number in [1, 64]",
               "depth above the bound names the bounds");
  expect_fault("[network]\ndepth = 0\n", DLN_EINVAL, 2, "network.depth", "depth 0");
  expect_fault("[network]\nwidths = 3\n", DLN_EINVAL, 2, "1 entry given, expected 2 to 65",
               "one width only");
  expect_fault("[network]\nwidths = 3, x, 2\n", DLN_EFORMAT, 2, "entry 2 'x'",
               "bad list entry named by position");
  expect_fault("[network]\nwidths = 3,0\n", DLN_EINVAL, 2, "entry 2 '0' is not a whole number >= 1",
               "zero width in a list");
  expect_fault("[init]\nalpha = 0\n", DLN_EINVAL, 2, "init.alpha: '0' is not a finite number > 0",
               "alpha = 0");
  expect_fault("[init]\nalpha = -2.5\n", DLN_EINVAL, 2, "init.alpha", "alpha < 0");
  expect_fault("[init]\ngamma = nan\n", DLN_EINVAL, 2, "init.gamma: 'nan'", "gamma NaN");
  expect_fault("[init]\nc = 1e999\n", DLN_EINVAL, 2, "init.c: '1e999'", "c overflowing");
  expect_fault("[init]\nscheme = xavier\n", DLN_EFORMAT, 2, "one of gaussian, scaled, file",
               "unknown scheme lists the choices");
  expect_fault("[solver]\nrtol = 0\n", DLN_EINVAL, 2,
               "solver.rtol: '0' is not a finite number in (0, 1)", "rtol = 0");
  expect_fault("[solver]\nrtol = -1e-6\n", DLN_EINVAL, 2, "solver.rtol", "rtol < 0");
  expect_fault("[solver]\nrtol = 1\n", DLN_EINVAL, 2, "in (0, 1)", "rtol = 1");
  expect_fault("[solver]\nrtol = 1.5\n", DLN_EINVAL, 2, "solver.rtol", "rtol > 1");
  expect_fault("[solver]\nrtol = 1e-6x\n", DLN_EFORMAT, 2, "'1e-6x'", "trailing junk");
  expect_fault("[solver]\nmethod = rk4\n", DLN_EFORMAT, 2, "one of bdf, adams, gd",
               "unknown method");
  expect_fault("[solver]\nsteps = -1\n", DLN_EINVAL, 2, "solver.steps", "negative steps");
  expect_fault("[solver]\nkrylov_dim = 501\n", DLN_EINVAL, 2, "[1, 500]", "krylov_dim > 500");
  expect_fault("[data]\nwhiten = maybe\n", DLN_EFORMAT, 2, "data.whiten", "bool not a bool");
  expect_fault("[data]\nobserved_fraction = 0\n", DLN_EINVAL, 2, "in (0, 1]",
               "observed_fraction 0");
  expect_fault("[output]\nsamples = 1\n", DLN_EINVAL, 2, "[2, 1000000]", "output.samples 1");
  expect_fault("[output]\ntimes = 1, -2\n", DLN_EINVAL, 2, "entry 2 '-2'", "negative time");
  expect_fault("[network]\ngarbage line\n", DLN_EFORMAT, 2, "syntax error", "syntax error");
  expect_fault("[network\ndepth = 2\n", DLN_EFORMAT, 1, "syntax error", "unclosed section");
  expect_fault("[network]\ndepth = 2\n  width = 3\n", DLN_EFORMAT, 3, "indentation",
               "indented line after a key (inih continuation)");
  expect_fault("[network]\nwidth = x\ndepth = y\n", DLN_EFORMAT, 2, "network.width",
               "two faults: the first is reported");
  expect_fault("[network]\nnonsense\ndepth = y\n", DLN_EFORMAT, 2, "syntax error",
               "syntax error before a bad value: the syntax error is reported");
  expect_fault("[foo]\n[network]\nwidth = x\n", DLN_EFORMAT, 1, "[foo]",
               "unknown section before a bad value");

  char longline[400];
  snprintf(longline, sizeof longline, "[output]\ndir = /%0300d\n", 0);
  expect_fault(longline, DLN_EFORMAT, 2, "line longer than", "line too long for inih");

  char path[64];
  dln_config *cfg = fresh();
  scratch(path, sizeof path, "missing.ini");
  int rc = dln_config_load(cfg, path);
  test_true(rc == DLN_EIO && message_has(path) && message_has("cannot open"),
            "missing file is an I/O error naming it: %s", why(rc));
  free(cfg);
}

/* ---- Overrides ----------------------------------------------------------------------- */

static void test_overrides(void)
{
  dln_config *cfg = fresh();
  int rc = dln_config_override(cfg, "network.depth=3", "--set");
  test_true(rc == DLN_SUCCESS && cfg->depth == 3, "override network.depth=3: %s", why(rc));
  rc = dln_config_override(cfg, "  solver.rtol =  2.5e-8 ", "--set");
  test_true(rc == DLN_SUCCESS && cfg->solver.rtol == 2.5e-8, "override with blanks: %s", why(rc));
  rc = dln_config_override(cfg, "solver.method=gd", "--set");
  test_true(rc == DLN_SUCCESS && cfg->solver.method == DLN_METHOD_GD, "override method: %s",
            why(rc));
  rc = dln_config_override(cfg, "data.teacher_diag=3,2.5,1", "--set");
  test_true(rc == DLN_SUCCESS && cfg->nteacher_diag == 3 && cfg->teacher_diag[1] == 2.5,
            "override a list: %s", why(rc));
  rc = dln_config_override(cfg, "data.x=data/x.csv", "--set");
  test_true(rc == DLN_SUCCESS && strcmp(cfg->x, "data/x.csv") == 0,
            "override path stays relative to the current folder: %s", cfg->x);

  rc = dln_config_override(cfg, "network.depth 4", "argument 3");
  test_true(rc == DLN_EFORMAT && message_has("argument 3") && message_has("'network.depth 4'"),
            "assignment without '=' names origin and text: %s", why(rc));
  rc = dln_config_override(cfg, "depth=4", "argument 3");
  test_true(rc == DLN_EFORMAT && message_has("'depth=4'"), "assignment without section: %s",
            why(rc));
  rc = dln_config_override(cfg, ".depth=4", "argument 3");
  test_true(rc == DLN_EFORMAT, "assignment with empty section: %s", why(rc));
  rc = dln_config_override(cfg, "network.bogus=4", "argument 5");
  test_true(rc == DLN_EFORMAT && message_has("argument 5: unknown key 'bogus'"),
            "override of an unknown key: %s", why(rc));
  rc = dln_config_override(cfg, "netwrk.depth=4", "argument 5");
  test_true(rc == DLN_EFORMAT && message_has("unknown section [netwrk]"),
            "override of an unknown section: %s", why(rc));
  rc = dln_config_override(cfg, "network.width=-3", "argument 6");
  test_true(rc == DLN_EINVAL &&
                message_has("argument 6: network.width: '-3' is not a whole number >= 1"),
            "bad override value names origin and key: %s", why(rc));
  test_true(cfg->width == 0 && cfg->depth == 3, "failed override leaves the config unchanged");
  rc = dln_config_override(cfg, "network.widths=2,9,x", "argument 7");
  test_true(rc == DLN_EFORMAT && cfg->nwidths == 0, "failed list override changes nothing");

  rc = dln_config_override(cfg, "network.widths=2,9,1", NULL);
  test_true(rc == DLN_SUCCESS && cfg->nwidths == 3, "set widths");
  rc = dln_config_override(cfg, "network.widths=", NULL);
  test_true(rc == DLN_SUCCESS && cfg->nwidths == 0, "empty value clears a list");
  rc = dln_config_override(cfg, "init.alpha=", NULL);
  test_true(rc == DLN_SUCCESS && cfg->alpha == 1e-2, "empty value restores a default");
  rc = dln_config_override(cfg, "init.alpha=0", NULL);
  test_true(rc == DLN_EINVAL && message_has("override: init.alpha"),
            "origin defaults to 'override': %s", why(rc));
  free(cfg);
}

/* ---- Relative paths ------------------------------------------------------------------ */

static void test_relative_paths(void)
{
  char dir[64], path[128];
  scratch(dir, sizeof dir, "dir");
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/run.ini", dir);
  write_text(path, "[data]\nx = data/x.csv\ny = /abs/y.csv\ntarget = ../t.csv\n"
                   "[init]\ndir = weights\n[output]\ndir = out\n");
  dln_config *cfg = fresh();
  int rc = dln_config_load(cfg, path);
  char expected[160];
  snprintf(expected, sizeof expected, "%s/data/x.csv", dir);
  test_true(rc == DLN_SUCCESS && strcmp(cfg->x, expected) == 0,
            "relative path resolved against the config folder: %s", cfg->x);
  test_true(strcmp(cfg->y, "/abs/y.csv") == 0, "absolute path kept: %s", cfg->y);
  snprintf(expected, sizeof expected, "%s/../t.csv", dir);
  test_true(strcmp(cfg->target, expected) == 0, "'..' path resolved: %s", cfg->target);
  snprintf(expected, sizeof expected, "%s/weights", dir);
  test_true(strcmp(cfg->init_dir, expected) == 0, "init.dir resolved: %s", cfg->init_dir);
  snprintf(expected, sizeof expected, "%s/out", dir);
  test_true(strcmp(cfg->out_dir, expected) == 0, "output.dir resolved: %s", cfg->out_dir);
  test_true(strcmp(cfg->source, path) == 0, "source is the config path: %s", cfg->source);
  remove(path);
  rmdir(dir);

  /* A config in the current folder leaves relative paths as they are. */
  rc = load_text(cfg, path, sizeof path, "[data]\nx = data/x.csv\n");
  test_true(rc == DLN_SUCCESS && strcmp(cfg->x, "data/x.csv") == 0,
            "config in the current folder: path unchanged: %s", cfg->x);
  free(cfg);
}

/* ---- Cross-key validation ------------------------------------------------------------ */

/* Applies overrides to a valid teacher configuration and checks validate's verdict. */
static void expect_invalid(const char *const *overrides, const char *needle, const char *what)
{
  dln_config *cfg = valid_teacher();
  int rc = DLN_SUCCESS;
  for (size_t i = 0; overrides[i] && rc == DLN_SUCCESS; i++)
    rc = dln_config_override(cfg, overrides[i], "test");
  if (rc != DLN_SUCCESS) {
    test_true(0, "%s: override failed: %s", what, dln_error_message());
    free(cfg);
    return;
  }
  rc = dln_config_validate(cfg);
  test_true(rc == DLN_EINVAL && message_has(needle), "%s: %s", what, why(rc));
  free(cfg);
}

static void expect_valid(const char *const *overrides, const char *what)
{
  dln_config *cfg = valid_teacher();
  int rc = DLN_SUCCESS;
  for (size_t i = 0; overrides[i] && rc == DLN_SUCCESS; i++)
    rc = dln_config_override(cfg, overrides[i], "test");
  if (rc == DLN_SUCCESS) rc = dln_config_validate(cfg);
  test_true(rc == DLN_SUCCESS, "%s: %s", what, why(rc));
  free(cfg);
}

static void test_validate(void)
{
  const char *none[] = {NULL};
  expect_valid(none, "teacher with depth and width validates");
  expect_invalid((const char *[]){"network.widths=4,8,3", NULL}, "network.widths",
                 "widths with depth and width names the keys");
  expect_valid((const char *[]){"network.depth=", "network.width=", "network.widths=4,8,3", NULL},
               "widths alone validates");
  expect_invalid((const char *[]){"network.depth=", "network.width=", NULL}, "network.depth",
                 "no network");
  expect_invalid((const char *[]){"network.width=", NULL}, "network.depth needs network.width",
                 "depth without width");

  const char *lowrank[] = {"data.cost=mc", "data.generator=lowrank", "data.teacher_diag=",
                           "data.rows=6", "data.cols=4", "data.rank=2", NULL};
  expect_valid(lowrank, "mc lowrank validates");
  expect_invalid((const char *[]){"data.cost=mc", "data.generator=lowrank", "data.rows=6",
                                  NULL},
                 "data.cols", "lowrank without cols");
  expect_invalid((const char *[]){"data.cost=mc", "data.generator=lowrank", "data.rows=6",
                                  "data.cols=4", "data.rank=5", NULL},
                 "data.rank = 5", "lowrank rank above min(rows, cols)");
  expect_invalid((const char *[]){"data.cost=mc", "data.generator=", NULL}, "data.target",
                 "mc without generator or target");
  expect_invalid((const char *[]){"data.cost=mc", "data.generator=", "data.target=t.csv", NULL},
                 "data.observed", "mc target without observed entries");
  expect_valid((const char *[]){"data.cost=mc", "data.generator=", "data.target=t.csv",
                                "data.observed=o.csv", NULL},
               "mc from target and observed files validates");
  expect_invalid((const char *[]){"data.cost=mc", NULL}, "data.generator = teacher",
                 "teacher generator with cost mc");
  expect_invalid((const char *[]){"data.generator=lowrank", "data.rows=3", "data.cols=3", NULL},
                 "data.cost = mc", "lowrank generator with cost mse");

  expect_invalid((const char *[]){"data.teacher=T.csv", NULL}, "not both",
                 "teacher_diag and teacher together");
  expect_invalid((const char *[]){"data.teacher_diag=", NULL}, "data.teacher_diag",
                 "teacher without a teacher matrix");
  /* The random low-rank teacher (Fig. 6): rank and size together, one teacher only. */
  const char *random_teacher[] = {"data.teacher_diag=", "data.teacher_rank=3",
                                  "data.teacher_size=10", "data.teacher_noise=0.2", NULL};
  expect_valid(random_teacher, "teacher_rank with teacher_size and teacher_noise validates");
  expect_invalid((const char *[]){"data.teacher_rank=3", "data.teacher_size=10", NULL},
                 "data.teacher_rank cannot be combined with data.teacher_diag",
                 "teacher_rank together with teacher_diag");
  expect_invalid((const char *[]){"data.teacher_diag=", "data.teacher=T.csv",
                                  "data.teacher_rank=3", "data.teacher_size=10", NULL},
                 "data.teacher_rank cannot be combined with data.teacher:",
                 "teacher_rank together with a teacher file");
  expect_invalid((const char *[]){"data.teacher_diag=", "data.teacher_rank=3", NULL},
                 "data.teacher_rank needs data.teacher_size", "teacher_rank without size");
  expect_invalid((const char *[]){"data.teacher_size=10", NULL},
                 "data.teacher_size needs data.teacher_rank", "teacher_size without rank");
  expect_invalid((const char *[]){"data.teacher_diag=", "data.teacher_rank=4",
                                  "data.teacher_size=3", NULL},
                 "data.teacher_rank = 4 must lie in [1, data.teacher_size = 3]",
                 "teacher_rank above teacher_size");
  expect_invalid((const char *[]){"data.teacher_diag=", NULL},
                 "data.teacher_rank with data.teacher_size", "no teacher names all three");
  expect_invalid((const char *[]){"data.cost=mc", "data.generator=lowrank", "data.rows=6",
                                  "data.cols=4", "data.teacher_diag=", "data.teacher_noise=0.2",
                                  NULL},
                 "data.teacher_noise is for data.generator = teacher",
                 "teacher_noise with the lowrank generator");
  expect_invalid((const char *[]){"data.generator=", "data.teacher_diag=",
                                  "data.teacher_rank=2", "data.x=x.csv", "data.y=y.npy", NULL},
                 "data.teacher_rank is for data.generator = teacher, but data.generator is "
                 "not set", "teacher_rank with data files");
  dln_config *bad = fresh();
  test_true(dln_config_override(bad, "data.teacher_rank=0", "test") == DLN_EINVAL &&
                message_has("data.teacher_rank: '0' is not a whole number >= 1"),
            "teacher_rank = 0 refused by its bound: %s", dln_error_message());
  test_true(dln_config_override(bad, "data.teacher_noise=-0.1", "test") == DLN_EINVAL &&
                message_has("data.teacher_noise"),
            "negative teacher_noise refused: %s", dln_error_message());
  free(bad);
  expect_invalid((const char *[]){"data.generator=", NULL}, "data.x",
                 "mse without generator or files");
  expect_valid((const char *[]){"data.generator=", "data.teacher_diag=", "data.x=x.csv",
                                "data.y=y.npy", NULL},
               "mse from x and y files validates");
  expect_invalid((const char *[]){"data.generator=", "data.x=x.csv", "data.y=y.npy",
                                  "data.test_x=tx.csv", NULL},
                 "data.test_y", "test_x without test_y");
  expect_invalid((const char *[]){"data.x=x.csv", "data.y=y.npy", NULL}, "data.generator",
                 "files together with a generator");

  /* [plot]: keys named as section.key, distinct roles, rows a list of column names. */
  expect_valid((const char *[]){"plot.kind=summary", "plot.panel=network.depth",
                                "plot.color=network.width", "plot.x=init.gamma",
                                "plot.rows=test_loss_final,rank_final", NULL},
               "plot keys naming configuration keys validate");
  expect_invalid((const char *[]){"plot.panel=init.gama", NULL},
                 "plot.panel = 'init.gama' is not a configuration key", "plot.panel misspelt");
  expect_invalid((const char *[]){"plot.color=gamma", NULL},
                 "plot.color = 'gamma' is not a configuration key", "plot.color without section");
  expect_invalid((const char *[]){"plot.x=plot.kind", NULL},
                 "plot.x = 'plot.kind' is not a configuration key", "plot.x naming a plot key");
  expect_invalid((const char *[]){"plot.panel=init.gamma", "plot.color=init.gamma", NULL},
                 "plot.panel and plot.color both name init.gamma", "panel and color the same");
  expect_invalid((const char *[]){"plot.kind=summary", "plot.color=init.gamma",
                                  "plot.x=init.gamma", NULL},
                 "plot.x = init.gamma is also plot.color", "summary x equal to color");
  expect_invalid((const char *[]){"plot.x=init.gamma", NULL},
                 "plot.x = init.gamma applies to plot.kind = summary only",
                 "plot.x with curves (the default kind)");
  expect_invalid((const char *[]){"plot.rows=loss,rank,", NULL},
                 "plot.rows: entry 3 '' is not a column name", "plot.rows ending in a comma");
  expect_invalid((const char *[]){"plot.rows=loss,test loss", NULL},
                 "plot.rows: entry 2 'test loss' is not a column name", "plot.rows with a space");
  expect_invalid((const char *[]){"plot.rows=a,b,c,d,e,f,g,h,i", NULL},
                 "plot.rows: more than 8 columns", "nine plot rows");
  dln_config *plot = fresh();
  test_true(dln_config_override(plot, "plot.kind=bars", "test") == DLN_EFORMAT &&
                message_has("plot.kind: 'bars' is not one of curves, summary"),
            "plot.kind outside curves, summary refused: %s", dln_error_message());
  free(plot);
  expect_invalid((const char *[]){"init.scheme=file", NULL}, "init.dir", "scheme file, no dir");
  expect_valid((const char *[]){"init.scheme=file", "init.dir=w", NULL}, "scheme file with dir");
  expect_invalid((const char *[]){"output.times=1,5,5", NULL}, "output.times",
                 "output.times not increasing");
  expect_invalid((const char *[]){"output.times=2,1", NULL}, "output.times",
                 "output.times decreasing");
  expect_invalid((const char *[]){"solver.t_max=10", "output.t_min=10", NULL}, "output.t_min",
                 "t_min not below t_max");
  expect_valid((const char *[]){"solver.t_max=10", "output.t_min=0.5", "output.times=1,2,9",
                                NULL},
               "t_min below t_max, increasing times");

  /* A learning rate of 0 cannot come from a file (its bound is > 0), but the struct is
   * public: validate guards it. */
  dln_config *cfg = valid_teacher();
  cfg->solver.method = DLN_METHOD_GD;
  cfg->solver.learning_rate = 0.0;
  int rc = dln_config_validate(cfg);
  test_true(rc == DLN_EINVAL && message_has("solver.learning_rate"),
            "gd without a learning rate: %s", why(rc));
  snprintf(cfg->source, sizeof cfg->source, "examples/gd.ini");
  rc = dln_config_validate(cfg);
  test_true(rc == DLN_EINVAL && message_has("examples/gd.ini: "),
            "validate names the source file: %s", why(rc));
  free(cfg);
}

/* ---- Listing ------------------------------------------------------------------------- */

typedef struct listing {
  char text[32768]; /* "section.key=value\n" lines */
  size_t used, count;
} listing;

static void collect(const char *section, const char *key, const char *value, void *data)
{
  listing *l = data;
  int n = snprintf(l->text + l->used, sizeof l->text - l->used, "%s.%s=%s\n", section, key,
                   value);
  if (n > 0 && (size_t)n < sizeof l->text - l->used) l->used += (size_t)n;
  l->count++;
}

static int listing_has(const listing *l, const char *line)
{
  char needle[256];
  snprintf(needle, sizeof needle, "%s\n", line);
  return strncmp(l->text, needle, strlen(needle)) == 0 ||
         (strstr(l->text, needle) && strstr(l->text, needle)[-1] == '\n');
}

static void count_described(const char *section, const char *key, const char *fallback,
                            const char *allowed, const char *help, void *data)
{
  (void)section, (void)key, (void)fallback, (void)allowed;
  if (help && help[0]) ++*(size_t *)data; /* every key carries a help line */
}

static void test_foreach(void)
{
  dln_config *cfg = valid_teacher();
  const char *sets[] = {"network.depth=", "network.width=", "network.widths=4,16,3",
                        "solver.method=gd", "solver.rtol=0.25", "data.whiten=true",
                        "output.times=0.5,2", "data.teacher_diag=0.1,3", "data.x=a/b.csv",
                        NULL};
  for (size_t i = 0; sets[i]; i++) dln_config_override(cfg, sets[i], "test");
  listing *first = calloc(1, sizeof *first), *second = calloc(1, sizeof *second);
  if (!first || !second) exit(2);
  dln_config_foreach(cfg, collect, first);
  size_t described = 0;
  dln_config_describe(count_described, &described);
  test_true(first->count == described && described >= 40,
            "foreach visits every key the table describes, each with help (%zu of %zu)",
            first->count, described);
  test_true(strncmp(first->text, "network.depth=\n", 15) == 0,
            "foreach starts with network.depth in table order, unset listed empty");
  test_true(listing_has(first, "data.samples=100") && listing_has(first, "data.test_samples=0"),
            "whole numbers listed, a legitimate 0 as 0");
  test_true(listing_has(first, "network.widths=4,16,3"), "list of sizes comma-joined");
  test_true(listing_has(first, "solver.method=gd"), "method listed by name");
  test_true(listing_has(first, "solver.rtol=0.25"), "double listed with %%.17g");
  test_true(listing_has(first, "data.teacher_diag=0.10000000000000001,3"),
            "double list with 17 digits");
  test_true(listing_has(first, "data.whiten=true"), "bool listed as true");
  test_true(listing_has(first, "data.generator=teacher"), "name listed");
  test_true(listing_has(first, "data.x=a/b.csv") && listing_has(first, "data.y="),
            "paths listed, empty ones empty");

  /* Reading the listing back as overrides must give the same configuration. */
  dln_config *back = fresh();
  int rc = DLN_SUCCESS;
  for (char *line = first->text; *line && rc == DLN_SUCCESS;) {
    char *nl = strchr(line, '\n');
    *nl = '\0';
    rc = dln_config_override(back, line, "listing");
    *nl = '\n';
    line = nl + 1;
  }
  dln_config_foreach(back, collect, second);
  test_true(rc == DLN_SUCCESS && strcmp(first->text, second->text) == 0,
            "listing reads back to the same configuration: %s", why(rc));
  free(first);
  free(second);
  free(back);
  free(cfg);
}

int main(void)
{
  test_defaults();
  test_full_file();
  test_load_faults();
  test_overrides();
  test_relative_paths();
  test_validate();
  test_foreach();
  return test_summary();
}
