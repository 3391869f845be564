/* Deep linear network products and derivatives (THEORY.md §1).
 *
 * All passes run over "thin" matrices of n_0 columns:
 *   forward:  P_1 = W_1,            P_l = W_l P_{l-1}                    (n_l x n_0), A = P_L
 *   backward: B_L = G,              B_{l-1} = W_lᵀ B_l                   (B_l = S_{l+1}ᵀ G)
 *             ∇_{W_l} ℒ = B_l P_{l-1}ᵀ                                   (P_0 = I)
 *   tangent:  dP_1 = V_1,           dP_l = V_l P_{l-1} + W_l dP_{l-1},   dA = dP_L
 *   hvp:      dB_L = dG,            dB_{l-1} = V_lᵀ B_l + W_lᵀ dB_l
 *             (H V)_l = dB_l P_{l-1}ᵀ + B_l dP_{l-1}ᵀ                    (dP_0 = 0)
 * so a gradient or a Hessian-vector product costs O(Σ n_l n_{l-1} n_0) flops and no allocation.
 */
#include "dlnflow/network.h"

#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

struct dln_network {
  size_t depth;                      /* L */
  size_t widths[DLN_MAX_DEPTH + 1];  /* n_0 .. n_L */
  size_t offset[DLN_MAX_DEPTH + 2];  /* offset[l]: start of W_l in θ (l = 1..L), offset[L+1] = P */
  size_t thin[DLN_MAX_DEPTH + 2];    /* thin[l]: start of the n_l x n_0 block l (l = 1..L) */
  double *prefix;   /* P_l blocks, l = 1..L (owned) */
  double *back;     /* B_l blocks (owned) */
  double *dprefix;  /* dP_l blocks (owned) */
  double *dback;    /* dB_l blocks (owned) */
};

static const double *layer(const dln_network *net, const double *theta, size_t l)
{
  return theta + net->offset[l];
}

int dln_network_alloc(size_t depth, const size_t *widths, dln_network **out)
{
  *out = NULL;
  if (depth < 1 || depth > DLN_MAX_DEPTH)
    return dln_error(DLN_EINVAL, "dln_network_alloc: depth %zu outside 1..%d", depth,
                     DLN_MAX_DEPTH);
  for (size_t l = 0; l <= depth; l++)
    if (widths[l] == 0)
      return dln_error(DLN_EINVAL, "dln_network_alloc: width n_%zu is 0", l);

  dln_network *net = calloc(1, sizeof *net);
  if (!net) goto fail;
  net->depth = depth;
  memcpy(net->widths, widths, (depth + 1) * sizeof *widths);
  net->offset[1] = 0;
  net->thin[1] = 0;
  for (size_t l = 1; l <= depth; l++) {
    net->offset[l + 1] = net->offset[l] + widths[l] * widths[l - 1];
    net->thin[l + 1] = net->thin[l] + widths[l] * widths[0];
  }
  size_t thin_total = net->thin[depth + 1];
  net->prefix = malloc(thin_total * sizeof *net->prefix);
  net->back = malloc(thin_total * sizeof *net->back);
  net->dprefix = malloc(thin_total * sizeof *net->dprefix);
  net->dback = malloc(thin_total * sizeof *net->dback);
  if (!net->prefix || !net->back || !net->dprefix || !net->dback) goto fail;
  *out = net;
  return DLN_SUCCESS;
fail:
  dln_network_free(net);
  return dln_error(DLN_ENOMEM, "dln_network_alloc: out of memory");
}

void dln_network_free(dln_network *net)
{
  if (!net) return;
  free(net->prefix);
  free(net->back);
  free(net->dprefix);
  free(net->dback);
  free(net);
}

size_t dln_network_depth(const dln_network *net) { return net->depth; }
size_t dln_network_width(const dln_network *net, size_t l) { return net->widths[l]; }
size_t dln_network_nparams(const dln_network *net) { return net->offset[net->depth + 1]; }
size_t dln_network_layer_offset(const dln_network *net, size_t l) { return net->offset[l]; }

size_t dln_network_bottleneck(const dln_network *net)
{
  size_t m = net->widths[0];
  for (size_t l = 1; l <= net->depth; l++)
    if (net->widths[l] < m) m = net->widths[l];
  return m;
}

/* The n_l x n_0 block l of one of the thin workspaces. */
static double *thin_block(const dln_network *net, double *base, size_t l)
{
  return base + net->thin[l];
}

void dln_network_forward(dln_network *net, const double *theta)
{
  const size_t *n = net->widths;
  memcpy(net->prefix, layer(net, theta, 1), n[1] * n[0] * sizeof *theta);
  for (size_t l = 2; l <= net->depth; l++)
    dln_gemm(0, 0, n[l], n[0], n[l - 1], 1.0, layer(net, theta, l),
             thin_block(net, net->prefix, l - 1), 0.0, thin_block(net, net->prefix, l));
}

const double *dln_network_product(const dln_network *net)
{
  return thin_block(net, net->prefix, net->depth);
}

/* Writes out_l = X_l P_{l-1}ᵀ (+ beta out_l) for one layer; P_0 = I makes layer 1 a copy. */
static void times_prefix_t(const dln_network *net, size_t l, const double *X, const double *prefix,
                           double beta, double *out)
{
  const size_t *n = net->widths;
  if (l == 1) {
    if (beta == 0.0)
      memcpy(out, X, n[1] * n[0] * sizeof *X);
    else
      dln_axpy(n[1] * n[0], 1.0, X, out);
    return;
  }
  dln_gemm(0, 1, n[l], n[l - 1], n[0], 1.0, X, thin_block(net, (double *)prefix, l - 1), beta,
           out);
}

void dln_network_backward(dln_network *net, const double *theta, const double *G, double *grad)
{
  const size_t *n = net->widths;
  size_t L = net->depth;
  memcpy(thin_block(net, net->back, L), G, n[L] * n[0] * sizeof *G);
  for (size_t l = L; l >= 2; l--)
    dln_gemm(1, 0, n[l - 1], n[0], n[l], 1.0, layer(net, theta, l), thin_block(net, net->back, l),
             0.0, thin_block(net, net->back, l - 1));
  for (size_t l = 1; l <= L; l++)
    times_prefix_t(net, l, thin_block(net, net->back, l), net->prefix, 0.0,
                   grad + net->offset[l]);
}

void dln_network_tangent(dln_network *net, const double *theta, const double *V, double *dA)
{
  const size_t *n = net->widths;
  memcpy(net->dprefix, V, n[1] * n[0] * sizeof *V);
  for (size_t l = 2; l <= net->depth; l++) {
    double *dP = thin_block(net, net->dprefix, l);
    dln_gemm(0, 0, n[l], n[0], n[l - 1], 1.0, V + net->offset[l],
             thin_block(net, net->prefix, l - 1), 0.0, dP);
    dln_gemm(0, 0, n[l], n[0], n[l - 1], 1.0, layer(net, theta, l),
             thin_block(net, net->dprefix, l - 1), 1.0, dP);
  }
  if (dA) memcpy(dA, thin_block(net, net->dprefix, net->depth), n[net->depth] * n[0] * sizeof *dA);
}

void dln_network_hvp(dln_network *net, const double *theta, const double *V, const double *dG,
                     double *HV)
{
  const size_t *n = net->widths;
  size_t L = net->depth;
  memcpy(thin_block(net, net->dback, L), dG, n[L] * n[0] * sizeof *dG);
  for (size_t l = L; l >= 2; l--) {
    double *dB = thin_block(net, net->dback, l - 1);
    dln_gemm(1, 0, n[l - 1], n[0], n[l], 1.0, V + net->offset[l], thin_block(net, net->back, l),
             0.0, dB);
    dln_gemm(1, 0, n[l - 1], n[0], n[l], 1.0, layer(net, theta, l),
             thin_block(net, net->dback, l), 1.0, dB);
  }
  for (size_t l = 1; l <= L; l++) {
    double *out = HV + net->offset[l];
    times_prefix_t(net, l, thin_block(net, net->dback, l), net->prefix, 0.0, out);
    if (l >= 2)  /* B_l dP_{l-1}ᵀ; dP_0 = 0 */
      dln_gemm(0, 1, n[l], n[l - 1], n[0], 1.0, thin_block(net, net->back, l),
               thin_block(net, net->dprefix, l - 1), 1.0, out);
  }
}
