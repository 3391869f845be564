/* Configuration -> data -> network -> problem and θ(0) (include/dlnflow/setup.h). */
#include "dlnflow/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/datagen.h"
#include "dlnflow/errors.h"
#include "dlnflow/init.h"
#include "dlnflow/io.h"

/* ---- data --------------------------------------------------------------------------- */

/* Reads a data matrix, prefixing any failure with the key that named the file. */
static int read_keyed(const char *key, const char *path, dln_matrix *m)
{
  int status = dln_matrix_read(path, m);
  if (status != DLN_SUCCESS) {
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", dln_error_message());
    return dln_error(status, "%s: %s", key, detail);
  }
  return DLN_SUCCESS;
}

/* Returns the transpose of an N x n matrix (samples in rows) as n x N (samples in columns). */
static double *transposed(const dln_matrix *m)
{
  double *t = malloc(m->rows * m->cols * sizeof *t);
  if (!t) return NULL;
  for (size_t i = 0; i < m->rows; i++)
    for (size_t j = 0; j < m->cols; j++) t[j * m->rows + i] = m->data[i * m->cols + j];
  return t;
}

/* Loads x, y (and test_x, test_y) files, one sample per row, into an MSE data set. */
static int load_mse_files(const dln_config *cfg, dln_mse_data *d)
{
  dln_matrix x = {0}, y = {0}, tx = {0}, ty = {0};
  int status = read_keyed("data.x", cfg->x, &x);
  if (status == DLN_SUCCESS) status = read_keyed("data.y", cfg->y, &y);
  if (status == DLN_SUCCESS && x.rows != y.rows)
    status = dln_error(DLN_EDIM, "data.x has %zu samples (rows) but data.y has %zu", x.rows,
                       y.rows);
  int with_test = cfg->test_x[0] != '\0' || cfg->test_y[0] != '\0';
  if (status == DLN_SUCCESS && with_test && (!cfg->test_x[0] || !cfg->test_y[0]))
    status = dln_error(DLN_EINVAL, "data.test_x and data.test_y go together: give both");
  if (status == DLN_SUCCESS && with_test) status = read_keyed("data.test_x", cfg->test_x, &tx);
  if (status == DLN_SUCCESS && with_test) status = read_keyed("data.test_y", cfg->test_y, &ty);
  if (status == DLN_SUCCESS && with_test && (tx.cols != x.cols || ty.cols != y.cols))
    status = dln_error(DLN_EDIM, "data.test_x/test_y have %zu/%zu columns, but data.x/y have "
                       "%zu/%zu", tx.cols, ty.cols, x.cols, y.cols);
  if (status == DLN_SUCCESS && with_test && tx.rows != ty.rows)
    status = dln_error(DLN_EDIM, "data.test_x has %zu samples but data.test_y has %zu", tx.rows,
                       ty.rows);
  if (status == DLN_SUCCESS) {
    memset(d, 0, sizeof *d);
    d->n0 = x.cols;
    d->nL = y.cols;
    d->N = x.rows;
    d->X = transposed(&x);
    d->Y = transposed(&y);
    if (with_test) {
      d->Ntest = tx.rows;
      d->Xtest = transposed(&tx);
      d->Ytest = transposed(&ty);
    }
    if (!d->X || !d->Y || (with_test && (!d->Xtest || !d->Ytest)))
      status = dln_error(DLN_ENOMEM, "out of memory for the data");
  }
  dln_matrix_release(&x);
  dln_matrix_release(&y);
  dln_matrix_release(&tx);
  dln_matrix_release(&ty);
  return status;
}

/* Builds the teacher data set: T = diag(teacher_diag), the teacher file, or the random
 * low-rank teacher (teacher_rank, teacher_size). */
static int make_teacher(const dln_config *cfg, dln_mse_data *d)
{
  dln_matrix T = {0};
  int status;
  if (cfg->teacher_rank > 0) {
    size_t n = cfg->teacher_size;
    double *W = malloc(n * n * sizeof *W);
    if (!W) return dln_error(DLN_ENOMEM, "out of memory for a %zu x %zu teacher", n, n);
    status = dln_datagen_lowrank_teacher(n, cfg->teacher_rank, cfg->teacher_noise, cfg->samples,
                                         cfg->test_samples, cfg->noise, cfg->data_seed, W, d);
    free(W);
    return status;
  }
  if (cfg->teacher[0] != '\0') {
    status = read_keyed("data.teacher", cfg->teacher, &T);
  } else {
    size_t k = cfg->nteacher_diag;
    T.rows = T.cols = k;
    T.data = calloc(k * k, sizeof *T.data);
    status = T.data ? DLN_SUCCESS : dln_error(DLN_ENOMEM, "out of memory for the teacher");
    for (size_t i = 0; T.data && i < k; i++) T.data[i * k + i] = cfg->teacher_diag[i];
  }
  if (status == DLN_SUCCESS)
    status = dln_datagen_teacher(T.data, T.rows, T.cols, cfg->samples, cfg->test_samples,
                                 cfg->teacher_noise, cfg->noise, cfg->data_seed, d);
  dln_matrix_release(&T);
  return status;
}

static int build_mse_cost(const dln_config *cfg, dln_cost **cost, char *summary, size_t size)
{
  dln_mse_data d = {0};
  int status = strcmp(cfg->generator, "teacher") == 0 ? make_teacher(cfg, &d)
                                                      : load_mse_files(cfg, &d);
  if (status == DLN_SUCCESS && cfg->whiten) status = dln_mse_data_whiten(&d);
  if (status == DLN_SUCCESS) {
    status = dln_cost_mse_alloc(d.n0, d.nL, d.N, d.X, d.Y, d.Ntest, d.Xtest, d.Ytest, cost);
    if (status == DLN_ENONFINITE)
      status = dln_error(status, "data: %s (check data.x, data.y, data.test_x, data.test_y)",
                         dln_error_message());
  }
  if (status == DLN_SUCCESS)
    snprintf(summary, size, "mse: %zu inputs, %zu outputs, %zu training and %zu test samples%s",
             d.n0, d.nL, d.N, d.Ntest, cfg->whiten ? ", whitened" : "");
  dln_mse_data_release(&d);
  return status;
}

/* Loads a completion target and its observed entries from files. */
static int load_mc_files(const dln_config *cfg, dln_mc_data *d)
{
  dln_matrix target = {0};
  dln_entry *observed = NULL;
  size_t count = 0;
  int status = read_keyed("data.target", cfg->target, &target);
  if (status == DLN_SUCCESS && cfg->observed[0] == '\0')
    status = dln_error(DLN_EINVAL, "data.observed: give the file of observed entries");
  if (status == DLN_SUCCESS) {
    status = dln_entries_read(cfg->observed, target.rows, target.cols, &target, &observed,
                              &count);
    if (status != DLN_SUCCESS) {
      char detail[1024];
      snprintf(detail, sizeof detail, "%s", dln_error_message());
      status = dln_error(status, "data.observed: %s", detail);
    }
  }
  if (status == DLN_SUCCESS && count == 0)
    status = dln_error(DLN_EINVAL, "data.observed: %s lists no entry", cfg->observed);
  if (status == DLN_SUCCESS)
    status = dln_mc_data_from_entries(target.rows, target.cols, target.data, observed, count, d);
  dln_matrix_release(&target);
  free(observed);
  return status;
}

static int build_mc_cost(const dln_config *cfg, dln_cost **cost, char *summary, size_t size)
{
  dln_mc_data d = {0};
  int status = strcmp(cfg->generator, "lowrank") == 0
                   ? dln_datagen_lowrank(cfg->rows, cfg->cols, cfg->rank, cfg->observed_fraction,
                                         cfg->data_seed, &d)
                   : load_mc_files(cfg, &d);
  if (status == DLN_SUCCESS)
    status = dln_cost_mc_alloc(d.rows, d.cols, d.ntrain, d.train, d.ntest, d.test, cost);
  if (status == DLN_SUCCESS)
    snprintf(summary, size, "mc: %zu x %zu target, %zu observed and %zu held-out entries",
             d.rows, d.cols, d.ntrain, d.ntest);
  dln_mc_data_release(&d);
  return status;
}

/* ---- network and θ(0) --------------------------------------------------------------- */

static int shape_network(const dln_config *cfg, const dln_cost *cost, dln_network **net)
{
  size_t widths[DLN_MAX_DEPTH + 1], depth;
  size_t n0 = dln_cost_cols(cost), nL = dln_cost_rows(cost);
  if (cfg->nwidths > 0) {
    depth = cfg->nwidths - 1;
    memcpy(widths, cfg->widths, cfg->nwidths * sizeof *widths);
    if (widths[0] != n0 || widths[depth] != nL)
      return dln_error(DLN_EDIM,
                       "network.widths: starts with %zu inputs and ends with %zu outputs, but "
                       "the data has %zu inputs and %zu outputs",
                       widths[0], widths[depth], n0, nL);
  } else {
    depth = cfg->depth;
    widths[0] = n0;
    for (size_t l = 1; l < depth; l++) widths[l] = cfg->width;
    widths[depth] = nL;
  }
  return dln_network_alloc(depth, widths, net);
}

/* Reads W_l from init.dir (Wl.npy, else Wl.csv) and checks its shape. */
static int read_layers(const dln_config *cfg, const dln_network *net, double *theta)
{
  size_t L = dln_network_depth(net);
  for (size_t l = 1; l <= L; l++) {
    char path[DLN_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/W%zu.npy", cfg->init_dir, l);
    FILE *probe = fopen(path, "rb");
    if (probe)
      fclose(probe);
    else
      snprintf(path, sizeof path, "%s/W%zu.csv", cfg->init_dir, l);
    dln_matrix W = {0};
    int status = read_keyed("init.dir", path, &W);
    if (status != DLN_SUCCESS) return status;
    size_t rows = dln_network_width(net, l), cols = dln_network_width(net, l - 1);
    if (W.rows != rows || W.cols != cols) {
      /* The message quotes W's shape, so W is released only after it is written. */
      status = dln_error(DLN_EDIM, "init.dir: %s is %zu x %zu, but layer %zu needs %zu x %zu",
                         path, W.rows, W.cols, l, rows, cols);
      dln_matrix_release(&W);
      return status;
    }
    memcpy(theta + dln_network_layer_offset(net, l), W.data, rows * cols * sizeof *W.data);
    dln_matrix_release(&W);
  }
  return DLN_SUCCESS;
}

static int draw_theta0(const dln_config *cfg, const dln_network *net, double *theta)
{
  if (strcmp(cfg->scheme, "gaussian") == 0)
    return dln_init_gaussian(net, cfg->c, cfg->gamma, cfg->seed, theta);
  if (strcmp(cfg->scheme, "file") == 0) return read_layers(cfg, net, theta);
  return dln_init_scaled(net, cfg->alpha, cfg->seed, theta);
}

/* ---- entry points ------------------------------------------------------------------- */

int dln_setup_build(const dln_config *cfg, dln_setup *out)
{
  memset(out, 0, sizeof *out);
  dln_cost *cost = NULL;
  dln_network *net = NULL;
  int status = strcmp(cfg->cost, "mc") == 0
                   ? build_mc_cost(cfg, &cost, out->data_summary, sizeof out->data_summary)
                   : build_mse_cost(cfg, &cost, out->data_summary, sizeof out->data_summary);
  if (status != DLN_SUCCESS) return status;
  status = shape_network(cfg, cost, &net);
  if (status != DLN_SUCCESS) {
    dln_cost_free(cost);
    return status;
  }
  status = dln_problem_alloc(net, cost, &out->problem); /* owns net and cost from here */
  if (status != DLN_SUCCESS) return status;
  size_t P = dln_problem_nparams(out->problem);
  out->theta0 = malloc(P * sizeof *out->theta0);
  if (!out->theta0) status = dln_error(DLN_ENOMEM, "out of memory for %zu parameters", P);
  if (status == DLN_SUCCESS) status = draw_theta0(cfg, dln_problem_network(out->problem), out->theta0);
  if (status != DLN_SUCCESS) dln_setup_release(out);
  return status;
}

void dln_setup_release(dln_setup *s)
{
  if (!s) return;
  dln_problem_free(s->problem);
  free(s->theta0);
  memset(s, 0, sizeof *s);
}
