/* Descriptions of a state: singular values of A (LAPACKE), ranks, and the balancedness
 * invariants D_l = W_{l+1}ᵀ W_{l+1} - W_l W_lᵀ (THEORY.md §2), conserved by the exact flow. */
#include "dlnflow/diagnostics.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

int dln_singular_values(const double *M, size_t rows, size_t cols, double *sv)
{
  size_t k = rows < cols ? rows : cols;
  double *copy = malloc(rows * cols * sizeof *copy);
  double *superb = malloc((k > 1 ? k : 1) * sizeof *superb);
  if (!copy || !superb) {
    free(copy);
    free(superb);
    return dln_error(DLN_ENOMEM, "dln_singular_values: out of memory");
  }
  memcpy(copy, M, rows * cols * sizeof *copy);
  lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)rows,
                                   (lapack_int)cols, copy, (lapack_int)cols, sv, NULL, 1, NULL, 1,
                                   superb);
  free(copy);
  free(superb);
  if (info != 0)
    return dln_error(DLN_ELINALG, "dln_singular_values: LAPACKE_dgesvd returned %d", (int)info);
  return DLN_SUCCESS;
}

size_t dln_rank(const double *sv, size_t n, double tol)
{
  size_t r = 0;
  while (r < n && sv[r] > tol) r++;
  return r;
}

double dln_norm2(const double *x, size_t n) { return dln_nrm2(n, x); }

struct dln_balance {
  const dln_network *net; /* not owned */
  size_t depth;
  double *ref;            /* D_l(θ_ref) blocks, n_l x n_l each, l = 1..L-1 (owned) */
  size_t *ref_offset;     /* start of block l in ref */
  double *scale;          /* ||W_{l+1}||_F^2 + ||W_l||_F^2 at θ_ref, per l */
  double *work;           /* one n_l x n_l block of the widest hidden layer */
};

/* Writes D_l(θ) (n_l x n_l) into D. */
static void balance_matrix(const dln_network *net, const double *theta, size_t l, double *D)
{
  size_t nl = dln_network_width(net, l);
  size_t nprev = dln_network_width(net, l - 1), nnext = dln_network_width(net, l + 1);
  const double *Wl = theta + dln_network_layer_offset(net, l);
  const double *Wnext = theta + dln_network_layer_offset(net, l + 1);
  dln_gemm(1, 0, nl, nl, nnext, 1.0, Wnext, Wnext, 0.0, D); /* W_{l+1}ᵀ W_{l+1} */
  dln_gemm(0, 1, nl, nl, nprev, -1.0, Wl, Wl, 1.0, D);      /* - W_l W_lᵀ */
}

/* Returns ||W_{l+1}||_F^2 + ||W_l||_F^2, the scale D_l is measured against. */
static double balance_scale(const dln_network *net, const double *theta, size_t l)
{
  double a = dln_nrm2(dln_network_width(net, l) * dln_network_width(net, l - 1),
                      theta + dln_network_layer_offset(net, l));
  double b = dln_nrm2(dln_network_width(net, l + 1) * dln_network_width(net, l),
                      theta + dln_network_layer_offset(net, l + 1));
  return a * a + b * b;
}

void dln_balance_free(dln_balance *b)
{
  if (!b) return;
  free(b->ref);
  free(b->ref_offset);
  free(b->scale);
  free(b->work);
  free(b);
}

int dln_balance_alloc(const dln_network *net, const double *theta_ref, dln_balance **out)
{
  *out = NULL;
  dln_balance *b = calloc(1, sizeof *b);
  if (!b) return dln_error(DLN_ENOMEM, "dln_balance_alloc: out of memory");
  b->net = net;
  b->depth = dln_network_depth(net);
  size_t L = b->depth, total = 0, widest = 1;
  b->ref_offset = calloc(L + 1, sizeof *b->ref_offset);
  b->scale = calloc(L + 1, sizeof *b->scale);
  if (!b->ref_offset || !b->scale) goto fail;
  for (size_t l = 1; l < L; l++) {
    size_t nl = dln_network_width(net, l);
    b->ref_offset[l] = total;
    total += nl * nl;
    if (nl * nl > widest) widest = nl * nl;
  }
  b->ref = malloc((total > 0 ? total : 1) * sizeof *b->ref);
  b->work = malloc(widest * sizeof *b->work);
  if (!b->ref || !b->work) goto fail;
  for (size_t l = 1; l < L; l++) {
    balance_matrix(net, theta_ref, l, b->ref + b->ref_offset[l]);
    b->scale[l] = balance_scale(net, theta_ref, l);
  }
  *out = b;
  return DLN_SUCCESS;
fail:
  dln_balance_free(b);
  return dln_error(DLN_ENOMEM, "dln_balance_alloc: out of memory");
}

double dln_balance_drift(dln_balance *b, const double *theta)
{
  double worst = 0.0;
  for (size_t l = 1; l < b->depth; l++) {
    size_t nl = dln_network_width(b->net, l);
    balance_matrix(b->net, theta, l, b->work);
    dln_axpy(nl * nl, -1.0, b->ref + b->ref_offset[l], b->work);
    /* Against the larger of the initial and current scales: the error of a run that grew
     * from 1e-8 to O(1) is judged at the size its weights have now. */
    double scale = fmax(b->scale[l], balance_scale(b->net, theta, l));
    double drift = dln_nrm2(nl * nl, b->work) / (scale > 0.0 ? scale : 1.0);
    if (drift > worst) worst = drift;
  }
  return worst;
}

void dln_balance_norms(dln_balance *b, const double *theta, double *norms)
{
  for (size_t l = 1; l < b->depth; l++) {
    size_t nl = dln_network_width(b->net, l);
    balance_matrix(b->net, theta, l, b->work);
    norms[l - 1] = dln_nrm2(nl * nl, b->work);
  }
}

void dln_balance_shift(dln_balance *b, const double *before, const double *after)
{
  for (size_t l = 1; l < b->depth; l++) {
    size_t nl = dln_network_width(b->net, l);
    double *ref = b->ref + b->ref_offset[l];
    balance_matrix(b->net, after, l, b->work);
    dln_axpy(nl * nl, 1.0, b->work, ref);
    balance_matrix(b->net, before, l, b->work);
    dln_axpy(nl * nl, -1.0, b->work, ref);
    b->scale[l] = fmax(b->scale[l], balance_scale(b->net, after, l));
  }
}
