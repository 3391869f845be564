/* Descriptions of points of the flow (include/dlnflow/describe.h). */
#include "dlnflow/describe.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/diagnostics.h"
#include "dlnflow/errors.h"

void dln_describe_options_default(dln_describe_options *o)
{
  memset(o, 0, sizeof *o);
  o->rank_tol = 0.1;
  o->loss_floor = 0.0;
  o->hessian = 1;
  o->hessian_tol = 1e-6;
  o->hessian_dense_max = 2000;
  o->lanczos_steps = 60;
  o->seed = 1;
}

void dln_description_release(dln_description *d)
{
  free(d->sv);
  free(d->A);
  free(d->grad_c_u);
  free(d->grad_c_v);
  free(d->layer_nsv);
  free(d->layer_sv);
  free(d->balance);
  memset(d, 0, sizeof *d);
}

/* The leading singular triples of G (rows x cols): LAPACK's thin SVD, of which the first
 * ntriples columns of U and rows of Vᵀ are kept. */
static int top_triples(const double *G, dln_description *d)
{
  size_t rows = d->rows, cols = d->cols, k = d->nsv;
  double *copy = malloc(rows * cols * sizeof *copy), *s = malloc(k * sizeof *s);
  double *U = malloc(rows * k * sizeof *U), *Vt = malloc(k * cols * sizeof *Vt);
  double *superb = malloc((k > 1 ? k : 1) * sizeof *superb);
  int status = (copy && s && U && Vt && superb) ? DLN_SUCCESS
                                                : dln_error(DLN_ENOMEM, "describe: out of memory");
  if (status == DLN_SUCCESS) {
    memcpy(copy, G, rows * cols * sizeof *copy);
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)rows,
                                     (lapack_int)cols, copy, (lapack_int)cols, s, U,
                                     (lapack_int)k, Vt, (lapack_int)cols, superb);
    if (info != 0)
      status = dln_error(DLN_ELINALG, "describe: SVD of grad C(A) failed (LAPACK info %d)",
                         (int)info);
  }
  for (size_t t = 0; status == DLN_SUCCESS && t < d->ntriples; t++) {
    d->grad_c_sv[t] = s[t];
    for (size_t i = 0; i < rows; i++) d->grad_c_u[t * rows + i] = U[i * k + t];
    memcpy(d->grad_c_v + t * cols, Vt + t * cols, cols * sizeof *Vt);
  }
  free(copy);
  free(s);
  free(U);
  free(Vt);
  free(superb);
  return status;
}

/* Each layer's singular values, and the balancedness norms ||D_l||. */
static int describe_layers(const dln_network *net, const double *theta, dln_description *d)
{
  size_t total = 0;
  for (size_t l = 1; l <= d->depth; l++) {
    size_t a = dln_network_width(net, l), b = dln_network_width(net, l - 1);
    d->layer_nsv[l - 1] = a < b ? a : b;
    total += d->layer_nsv[l - 1];
  }
  d->layer_sv = malloc(total * sizeof *d->layer_sv);
  if (!d->layer_sv) return dln_error(DLN_ENOMEM, "describe: out of memory");
  double *out = d->layer_sv;
  for (size_t l = 1; l <= d->depth; l++) {
    int status = dln_singular_values(theta + dln_network_layer_offset(net, l),
                                     dln_network_width(net, l), dln_network_width(net, l - 1),
                                     out);
    if (status != DLN_SUCCESS) return status;
    out += d->layer_nsv[l - 1];
  }
  if (d->depth < 2) return DLN_SUCCESS;
  dln_balance *b = NULL;
  int status = dln_balance_alloc(net, theta, &b);
  if (status == DLN_SUCCESS) dln_balance_norms(b, theta, d->balance);
  dln_balance_free(b);
  return status;
}

/* The Hessian's extremes; a dense computation also keeps its few lowest and highest. */
static int describe_hessian(dln_problem *p, const double *theta, const dln_describe_options *o,
                            dln_description *d)
{
  size_t P = dln_problem_nparams(p);
  double *all = P <= o->hessian_dense_max ? malloc(P * sizeof *all) : NULL;
  if (P <= o->hessian_dense_max && !all) return dln_error(DLN_ENOMEM, "describe: out of memory");
  int status = dln_hessian_spectrum_compute(p, theta, o->hessian_tol, o->hessian_dense_max,
                                            o->lanczos_steps, o->seed, &d->hessian, all);
  if (status == DLN_SUCCESS && all) {
    size_t k = P < DLN_DESCRIBE_EIGENVALUES ? P : DLN_DESCRIBE_EIGENVALUES;
    for (size_t i = 0; i < k; i++) {
      d->lowest[i] = all[i];
      d->highest[i] = all[P - 1 - i];
    }
    d->nlowest = d->nhighest = k;
  }
  d->has_hessian = status == DLN_SUCCESS;
  free(all);
  return status;
}

int dln_describe(dln_problem *p, const double *theta, const dln_describe_options *o,
                 dln_description *d)
{
  memset(d, 0, sizeof *d);
  const dln_network *net = dln_problem_network(p);
  size_t P = dln_problem_nparams(p);
  d->depth = dln_network_depth(net);
  d->rows = dln_network_width(net, d->depth);
  d->cols = dln_network_width(net, 0);
  d->nsv = d->rows < d->cols ? d->rows : d->cols;
  d->ntriples = d->nsv < DLN_DESCRIBE_TRIPLES ? d->nsv : DLN_DESCRIBE_TRIPLES;
  size_t mn = d->rows * d->cols;
  double *grad = malloc(P * sizeof *grad), *G = malloc(mn * sizeof *G);
  d->sv = malloc(d->nsv * sizeof *d->sv);
  d->A = malloc(mn * sizeof *d->A);
  d->grad_c_u = malloc(d->ntriples * d->rows * sizeof *d->grad_c_u);
  d->grad_c_v = malloc(d->ntriples * d->cols * sizeof *d->grad_c_v);
  d->layer_nsv = malloc(d->depth * sizeof *d->layer_nsv);
  d->balance = calloc(d->depth, sizeof *d->balance);
  int status = DLN_SUCCESS;
  if (!grad || !G || !d->sv || !d->A || !d->grad_c_u || !d->grad_c_v || !d->layer_nsv ||
      !d->balance) {
    status = dln_error(DLN_ENOMEM, "describe: out of memory for %zu parameters", P);
    goto done;
  }
  status = dln_problem_gradient(p, theta, &d->loss, grad);
  if (status != DLN_SUCCESS) goto done;
  memcpy(d->A, dln_problem_product(p), mn * sizeof *d->A);
  memcpy(G, dln_problem_cost_gradient(p), mn * sizeof *G);
  d->grad_norm = dln_norm2(grad, P);
  d->theta_norm = dln_norm2(theta, P);
  d->grad_c_norm = dln_norm2(G, mn);
  d->excess_loss = d->loss - o->loss_floor;
  status = dln_problem_test_loss(p, theta, &d->test_loss);
  if (status == DLN_SUCCESS) status = dln_singular_values(d->A, d->rows, d->cols, d->sv);
  if (status != DLN_SUCCESS) goto done;
  d->rank = dln_rank(d->sv, d->nsv, o->rank_tol);
  for (size_t i = 0; i < d->nsv; i++) d->nuclear_norm += d->sv[i];
  status = top_triples(G, d);
  if (status == DLN_SUCCESS) status = describe_layers(net, theta, d);
  if (status == DLN_SUCCESS && o->hessian) status = describe_hessian(p, theta, o, d);
done:
  free(grad);
  free(G);
  if (status != DLN_SUCCESS) dln_description_release(d);
  return status;
}
