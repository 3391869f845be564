/* A deep linear network A(θ) = W_L ... W_1 and its derivatives (THEORY.md §1).
 *
 * Shapes: depth L >= 1, widths n_0 (input) .. n_L (output); W_l is n_l x n_{l-1}.
 * Parameters θ live in one contiguous vector of P = Σ n_l n_{l-1} doubles: W_1 first, then
 * W_2, ..., each row-major (the layout CVODE's N_Vector holds). A is n_L x n_0, row-major.
 *
 * Symbols in the code follow the paper: P_l = W_l..W_1 (prefix, n_l x n_0), and the
 * back-propagated B_l = S_{l+1}ᵀ G (n_l x n_0), S_l = W_L..W_l. Every product is a CBLAS call.
 *
 * A dln_network owns the workspaces of one evaluation; its calls form a chain that reuses
 * them (forward -> backward -> tangent -> hvp), so nothing on that path allocates. One
 * network serves one thread.
 */
#ifndef DLNFLOW_NETWORK_H
#define DLNFLOW_NETWORK_H

#include <stddef.h>

#define DLN_MAX_DEPTH 64

typedef struct dln_network dln_network;

/* Allocates a network of the given depth with widths[0..depth] (all >= 1).
 * Returns DLN_SUCCESS, DLN_EINVAL (depth 0 or above DLN_MAX_DEPTH, a zero width) or DLN_ENOMEM. */
int dln_network_alloc(size_t depth, const size_t *widths, dln_network **out);

/* Frees the network; NULL is a no-op. */
void dln_network_free(dln_network *net);

size_t dln_network_depth(const dln_network *net);
/* Returns n_l for l = 0..L. */
size_t dln_network_width(const dln_network *net, size_t l);
/* Returns P, the number of parameters. */
size_t dln_network_nparams(const dln_network *net);
/* Returns the offset of W_l (l = 1..L) in θ. */
size_t dln_network_layer_offset(const dln_network *net, size_t l);
/* Returns min_l n_l: the largest rank A can have. */
size_t dln_network_bottleneck(const dln_network *net);

/* Computes the prefix products of θ and A = P_L (kept inside the network). */
void dln_network_forward(dln_network *net, const double *theta);

/* Returns A (n_L x n_0) from the last forward pass. */
const double *dln_network_product(const dln_network *net);

/* Writes grad = ∇_θ <G, A(θ)> = (S_{l+1}ᵀ G P_{l-1}ᵀ)_l for the θ of the last forward pass,
 * G being n_L x n_0. Keeps B_l for dln_network_hvp. */
void dln_network_backward(dln_network *net, const double *theta, const double *G, double *grad);

/* Writes dA = DA(θ)[V] = Σ_k S_{k+1} V_k P_{k-1} for the θ of the last forward pass.
 * Keeps the variations dP_l for dln_network_hvp. */
void dln_network_tangent(dln_network *net, const double *theta, const double *V, double *dA);

/* Writes HV = D²ℒ(θ)[V] given dG = D²C(A)[dA], after forward, backward (with G = ∇C(A))
 * and tangent (with the same V) at the same θ. */
void dln_network_hvp(dln_network *net, const double *theta, const double *V, const double *dG,
                     double *HV);

#endif
