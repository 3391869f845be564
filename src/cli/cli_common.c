/* Shared command-line pieces (cli.h): configuration loading, the run folder, metadata JSON,
 * progress and interrupts. */
#include <cblas.h>
#include <errno.h>
#include <gsl/gsl_version.h>
#include <lapacke.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sundials/sundials_config.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dlnflow/errors.h"
#include "dlnflow/io.h"

volatile sig_atomic_t dln_cli_interrupted = 0;

static void on_signal(int sig)
{
  (void)sig;
  dln_cli_interrupted = 1;
}

void dln_cli_catch_interrupts(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

void dln_cli_report(const char *what, int status)
{
  const char *detail = dln_error_message();
  if (detail[0] != '\0')
    fprintf(stderr, "dlnflow: %s: %s\n", what, detail);
  else
    fprintf(stderr, "dlnflow: %s: %s\n", what, dln_strerror(status));
}

int dln_cli_load_config(const char *path, char **overrides, size_t noverrides,
                        const char *out_dir, dln_config *cfg)
{
  dln_config_defaults(cfg);
  int status = dln_config_load(cfg, path);
  if (status != DLN_SUCCESS) {
    dln_cli_report("configuration", status);
    return status;
  }
  for (size_t i = 0; i < noverrides; i++) {
    status = dln_config_override(cfg, overrides[i], "command line");
    if (status != DLN_SUCCESS) {
      dln_cli_report("override", status);
      return status;
    }
  }
  if (out_dir) snprintf(cfg->out_dir, sizeof cfg->out_dir, "%s", out_dir);
  status = dln_config_validate(cfg);
  /* A check across keys may fail on an override as well as on the file. */
  if (status != DLN_SUCCESS)
    dln_cli_report(noverrides > 0 ? "configuration with its command-line overrides"
                                  : "configuration", status);
  return status;
}

int dln_cli_make_dir(const char *dir)
{
  char path[DLN_PATH_MAX];
  snprintf(path, sizeof path, "%s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
      return dln_error(DLN_EIO, "%s: cannot create folder: %s", path, strerror(errno));
    *p = '/';
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return dln_error(DLN_EIO, "%s: cannot create folder: %s", path, strerror(errno));
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return dln_error(DLN_EIO, "%s: exists and is not a folder", path);
  return DLN_SUCCESS;
}

int dln_cli_lock_dir(const char *dir, int *fd_out)
{
  char path[DLN_PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/.dlnflow-lock", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return dln_error(DLN_EIO, "%s: cannot create: %s", path, strerror(errno));
  /* flock is released when the process ends, however it ends: no stale locks. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return dln_error(DLN_EIO, "%s: another dlnflow run is writing into this folder; choose "
                     "another --out", dir);
  }
  *fd_out = fd;
  return DLN_SUCCESS;
}

void dln_cli_unlock_dir(const char *dir, int fd)
{
  char path[DLN_PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/.dlnflow-lock", dir);
  unlink(path);
  close(fd);
}

/* Adds one key to its section's object. */
static void add_config_key(const char *section, const char *key, const char *value, void *data)
{
  json_t *root = data;
  json_t *sec = json_object_get(root, section);
  if (!sec) {
    sec = json_object();
    json_object_set_new(root, section, sec);
  }
  json_object_set_new(sec, key, json_string(value));
}

json_t *dln_cli_config_json(const dln_config *cfg)
{
  json_t *root = json_object();
  dln_config_foreach(cfg, add_config_key, root);
  if (cfg->source[0]) json_object_set_new(root, "source", json_string(cfg->source));
  return root;
}

json_t *dln_cli_stats_json(const dln_flow_stats *s)
{
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:I}",
                   "steps", (json_int_t)s->steps, "rhs_evals", (json_int_t)s->rhs_evals,
                   "hvp_evals", (json_int_t)s->hvps, "newton_iters", (json_int_t)s->newton_iters,
                   "newton_conv_fails", (json_int_t)s->newton_conv_fails,
                   "linear_iters", (json_int_t)s->linear_iters,
                   "linear_conv_fails", (json_int_t)s->linear_conv_fails,
                   "error_test_fails", (json_int_t)s->error_test_fails,
                   "loss_increases", (json_int_t)s->loss_increases,
                   "loss_increases_beyond_tol", (json_int_t)s->loss_increases_beyond_tol,
                   "max_loss_increase", s->max_loss_increase, "max_loss_increase_beyond_tol",
                   s->max_loss_increase_beyond_tol, "last_step", s->last_step,
                   "events", (json_int_t)s->events, "restarts", (json_int_t)s->restarts);
}

json_t *dln_cli_versions_json(void)
{
  lapack_int major = 0, minor = 0, patch = 0;
  LAPACKE_ilaver(&major, &minor, &patch);
  char lapack[32];
  snprintf(lapack, sizeof lapack, "%d.%d.%d", (int)major, (int)minor, (int)patch);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "dlnflow", DLNFLOW_VERSION,
                   "sundials", SUNDIALS_VERSION, "gsl", GSL_VERSION, "lapack", lapack,
                   "openblas", openblas_get_config(), "jansson", JANSSON_VERSION, "inih",
                   DLNFLOW_INIH_VERSION);
}

int dln_cli_write_json(const char *path, json_t *root)
{
  dln_outfile f;
  int status = dln_outfile_open(&f, path);
  if (status != DLN_SUCCESS) return status;
  if (json_dumpf(root, f.fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 ||
      fputc('\n', f.fp) == EOF) {
    dln_outfile_abort(&f);
    return dln_error(DLN_EIO, "%s: cannot write JSON", path);
  }
  return dln_outfile_commit(&f);
}

static double wall_clock(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dln_progress_start(dln_progress *p)
{
  memset(p, 0, sizeof *p);
  p->start = p->last_print = wall_clock();
  p->tty = isatty(STDERR_FILENO);
}

void dln_progress_update(dln_progress *p, double t, double t_max, double loss)
{
  double now = wall_clock();
  /* Nothing for short runs; then a terminal line refreshed 4 times a second, or a plain
   * line every 10 seconds into a log. */
  if (now - p->start < 1.0 || now - p->last_print < (p->tty ? 0.25 : 10.0)) return;
  p->last_print = now;
  p->printed = 1;
  fprintf(stderr, "%sdlnflow: t = %.4g of %.4g, loss %.6g, %.1f s%s", p->tty ? "\r" : "", t,
          t_max, loss, now - p->start, p->tty ? "   " : "\n");
  fflush(stderr);
}

void dln_progress_end(dln_progress *p)
{
  if (p->printed && p->tty) fputc('\n', stderr);
}

/* Checks that the run folder can be written before anything runs: an existing dir must be a
 * folder we may write in, else its nearest existing parent must be (the command makes the rest later, like
 * mkdir -p). Returns 0, or DLN_EXIT_USAGE after naming the path and the problem. */
int dln_cli_check_out_dir(const char *command, const char *dir)
{
  char path[DLN_PATH_MAX];
  snprintf(path, sizeof path, "%s", dir);
  struct stat st;
  for (;;) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') path[--len] = '\0';
    if (stat(path, &st) == 0) break;
    char *slash = strrchr(path, '/');
    int top = slash == NULL ? strcmp(path, ".") == 0 : slash == path && path[1] == '\0';
    if ((errno != ENOENT && errno != ENOTDIR) || top) {
      fprintf(stderr, "dlnflow %s: output folder '%s': cannot use '%s': %s\n", command, dir, path,
              strerror(errno));
      return DLN_EXIT_USAGE;
    }
    if (!slash) snprintf(path, sizeof path, ".");
    else slash[slash == path ? 1 : 0] = '\0';
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "dlnflow %s: output folder '%s': '%s' exists and is not a folder\n", command, dir,
            path);
    return DLN_EXIT_USAGE;
  }
  if (access(path, W_OK | X_OK) != 0) {
    fprintf(stderr, "dlnflow %s: output folder '%s': cannot write in '%s': %s\n", command, dir, path,
            strerror(errno));
    return DLN_EXIT_USAGE;
  }
  /* A sweep's folder is the sweep's: another command's files there would stop its restart. */
  char marker[DLN_PATH_MAX + 16];
  snprintf(marker, sizeof marker, "%s/sweep.json", dir);
  int theirs = strcmp(command, "sweep") == 0 || strcmp(command, "plot") == 0;
  if (!theirs && access(marker, F_OK) == 0) {
    fprintf(stderr, "dlnflow %s: output folder '%s' holds a sweep (sweep.json): choose another "
                    "folder\n", command, dir);
    return DLN_EXIT_USAGE;
  }
  return 0;
}

void dln_cli_default_out_dir(const char *config, const char *suffix, dln_config *cfg)
{
  if (cfg->out_dir[0] != '\0') return;
  const char *base = strrchr(config, '/');
  char stem[256];
  snprintf(stem, sizeof stem, "%s", base ? base + 1 : config);
  char *dot = strrchr(stem, '.');
  if (dot && dot != stem) *dot = '\0';
  snprintf(cfg->out_dir, sizeof cfg->out_dir, "runs/%s%s", stem, suffix);
}

int dln_cli_take_argument(const char *command, char *arg, const char **config,
                          char **overrides, size_t *noverrides)
{
  if (arg[0] == '-') {
    fprintf(stderr, "dlnflow %s: unknown option '%s'\n", command, arg);
    return DLN_EXIT_USAGE;
  }
  if (strchr(arg, '=')) {
    overrides[(*noverrides)++] = arg;
  } else if (!*config) {
    *config = arg;
  } else {
    fprintf(stderr, "dlnflow %s: unexpected argument '%s' (one CONFIG only)\n", command, arg);
    return DLN_EXIT_USAGE;
  }
  return 0;
}
