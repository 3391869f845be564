/* Theorem 1's explicit saddle and minima near θ0 and the distances to them (include/dlnflow/
 * distances.h; THEORY.md §3; the paper's proof of Theorem 8, appendix B.2).
 *
 * Contents:
 *   layer            - the view of W_l inside θ
 *   dln_distance_saddle        - W_1 = W_L = 0
 *   dln_distance_minimum_pinv  - ΔW_L = (A* - A) (W_{L-1}..W_1)⁺       (γ < 1)
 *   dln_distance_minimum_embed - zero the first min(n0,nL) units, embed A*'s SVD (γ > 1)
 */
#include "dlnflow/distances.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

/* Returns W_l (l = 1..L) inside θ. */
static const double *layer(const dln_network *net, const double *theta, size_t l)
{
  return theta + dln_network_layer_offset(net, l);
}

static size_t layer_size(const dln_network *net, size_t l)
{
  return dln_network_width(net, l) * dln_network_width(net, l - 1);
}

/* Returns ||a - b|| over n doubles. */
static double distance(size_t n, const double *a, const double *b)
{
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sqrt(sum);
}

int dln_distance_saddle(const dln_network *net, const double *theta, double *theta_out, double *d)
{
  size_t L = dln_network_depth(net);
  if (L < 2) return dln_error(DLN_EINVAL, "dln_distance_saddle: depth %zu < 2", L);
  double n1 = dln_nrm2(layer_size(net, 1), layer(net, theta, 1));
  double nL = dln_nrm2(layer_size(net, L), layer(net, theta, L));
  *d = hypot(n1, nL);
  if (theta_out) {
    memcpy(theta_out, theta, dln_network_nparams(net) * sizeof *theta);
    memset(theta_out + dln_network_layer_offset(net, 1), 0, layer_size(net, 1) * sizeof *theta);
    memset(theta_out + dln_network_layer_offset(net, L), 0, layer_size(net, L) * sizeof *theta);
  }
  return DLN_SUCCESS;
}

int dln_distance_minimum_pinv(const dln_network *net, const double *theta, const double *Astar,
                              double *theta_out, double *d)
{
  size_t L = dln_network_depth(net);
  if (L < 2) return dln_error(DLN_EINVAL, "dln_distance_minimum_pinv: depth %zu < 2", L);
  size_t n0 = dln_network_width(net, 0), nL = dln_network_width(net, L);
  size_t h = dln_network_width(net, L - 1), hmax = n0;
  for (size_t l = 1; l < L; l++)
    if (dln_network_width(net, l) > hmax) hmax = dln_network_width(net, l);
  /* Q = W_{L-1}..W_1 (h x n0), grown from the right so each product is n_l x n_0. */
  double *Q = malloc(hmax * n0 * sizeof *Q), *tmp = malloc(hmax * n0 * sizeof *tmp);
  double *R = malloc(nL * n0 * sizeof *R);
  size_t ldb = h > n0 ? h : n0;
  double *B = calloc(ldb * nL, sizeof *B), *sv = malloc((n0 < h ? n0 : h) * sizeof *sv);
  int status = (Q && tmp && R && B && sv) ? DLN_SUCCESS
                                          : dln_error(DLN_ENOMEM, "dln_distance_minimum_pinv: out of memory");
  if (status == DLN_SUCCESS) {
    memcpy(Q, layer(net, theta, 1), layer_size(net, 1) * sizeof *Q);
    for (size_t l = 2; l < L; l++) {
      dln_gemm(0, 0, dln_network_width(net, l), n0, dln_network_width(net, l - 1), 1.0,
               layer(net, theta, l), Q, 0.0, tmp);
      double *swap = Q;
      Q = tmp;
      tmp = swap;
    }
    /* R = A* - A(θ0), A = W_L Q. */
    memcpy(R, Astar, nL * n0 * sizeof *R);
    dln_gemm(0, 0, nL, n0, h, -1.0, layer(net, theta, L), Q, 1.0, R);
    /* ΔW_L = R Q⁺ is the minimum-norm X with X Q = R, i.e. Qᵀ Xᵀ = Rᵀ: dgelsd on Qᵀ (n0 x h). */
    double *Qt = tmp;
    for (size_t i = 0; i < h; i++)
      for (size_t j = 0; j < n0; j++) Qt[j * h + i] = Q[i * n0 + j];
    for (size_t j = 0; j < n0; j++)
      for (size_t k = 0; k < nL; k++) B[j * nL + k] = R[k * n0 + j];
    lapack_int rank;
    lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)n0, (lapack_int)h,
                                     (lapack_int)nL, Qt, (lapack_int)h, B, (lapack_int)nL, sv,
                                     -1.0, &rank);
    if (info != 0)
      status = dln_error(DLN_ELINALG, "dln_distance_minimum_pinv: LAPACKE_dgelsd info %d", (int)info);
  }
  if (status == DLN_SUCCESS) {
    /* B's first h rows hold ΔW_Lᵀ (h x nL). */
    double sum = 0.0;
    for (size_t i = 0; i < h * nL; i++) sum += B[i] * B[i];
    *d = sqrt(sum);
    if (theta_out) {
      size_t P = dln_network_nparams(net);
      memcpy(theta_out, theta, P * sizeof *theta);
      double *WL = theta_out + dln_network_layer_offset(net, L);
      for (size_t k = 0; k < nL; k++)
        for (size_t i = 0; i < h; i++) WL[k * h + i] += B[i * nL + k];
    }
  }
  free(Q);
  free(tmp);
  free(R);
  free(B);
  free(sv);
  return status;
}

int dln_distance_minimum_embed(const dln_network *net, const double *theta, const double *Astar,
                               double *theta_out, double *d)
{
  size_t L = dln_network_depth(net);
  if (L < 2) return dln_error(DLN_EINVAL, "dln_distance_minimum_embed: depth %zu < 2", L);
  size_t n0 = dln_network_width(net, 0), nL = dln_network_width(net, L);
  size_t k0 = n0 < nL ? n0 : nL, P = dln_network_nparams(net);
  double *U = malloc(nL * k0 * sizeof *U), *Vt = malloc(k0 * n0 * sizeof *Vt);
  double *S = malloc(k0 * sizeof *S), *copy = malloc(nL * n0 * sizeof *copy);
  double *superb = malloc(k0 * sizeof *superb);
  double *out = theta_out ? theta_out : malloc(P * sizeof *out);
  int status = (U && Vt && S && copy && superb && out)
                   ? DLN_SUCCESS
                   : dln_error(DLN_ENOMEM, "dln_distance_minimum_embed: out of memory");
  size_t k = 0;
  if (status == DLN_SUCCESS) {
    memcpy(copy, Astar, nL * n0 * sizeof *copy);
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)nL, (lapack_int)n0,
                                     copy, (lapack_int)n0, S, U, (lapack_int)k0, Vt,
                                     (lapack_int)n0, superb);
    if (info != 0)
      status = dln_error(DLN_ELINALG, "dln_distance_minimum_embed: LAPACKE_dgesvd info %d", (int)info);
  }
  if (status == DLN_SUCCESS) {
    /* Numerical rank: singular values above max(n0, nL)·eps·s_1 (LAPACK's convention). */
    double tol = (double)(n0 > nL ? n0 : nL) * 2.220446049250313e-16 * S[0];
    while (k < k0 && S[k] > tol) k++;
    for (size_t l = 1; l < L; l++)
      if (dln_network_width(net, l) < k)
        status = dln_error(DLN_EINVAL, "dln_distance_minimum_embed: rank %zu of A* exceeds the "
                           "width n_%zu = %zu", k, l, dln_network_width(net, l));
  }
  if (status == DLN_SUCCESS) {
    memcpy(out, theta, P * sizeof *out);
    /* θ̄: W_1 = W_L = 0, hidden layers lose their first k0 rows and columns. */
    memset(out + dln_network_layer_offset(net, 1), 0, layer_size(net, 1) * sizeof *out);
    memset(out + dln_network_layer_offset(net, L), 0, layer_size(net, L) * sizeof *out);
    for (size_t l = 2; l < L; l++) {
      size_t rows = dln_network_width(net, l), cols = dln_network_width(net, l - 1);
      double *W = out + dln_network_layer_offset(net, l);
      for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
          if (i < k0 || j < k0) W[i * cols + j] = 0.0;
    }
    /* The width-k net (S^{1/L} Vᵀ, S^{1/L}, ..., U S^{1/L}) in the first k units. */
    double *W1 = out + dln_network_layer_offset(net, 1), *WL = out + dln_network_layer_offset(net, L);
    size_t h1 = dln_network_width(net, L - 1);
    for (size_t i = 0; i < k; i++) {
      double root = pow(S[i], 1.0 / (double)L);
      for (size_t j = 0; j < n0; j++) W1[i * n0 + j] = root * Vt[i * n0 + j];
      for (size_t l = 2; l < L; l++) {
        size_t cols = dln_network_width(net, l - 1);
        out[dln_network_layer_offset(net, l) + i * cols + i] = root;
      }
      for (size_t r = 0; r < nL; r++) WL[r * h1 + i] = root * U[r * k0 + i];
    }
    *d = distance(P, out, theta);
  }
  free(U);
  free(Vt);
  free(S);
  free(copy);
  free(superb);
  if (!theta_out) free(out);
  return status;
}

/* Steps of the Gauss-Newton projection, and the residual that counts as on the minimum set. */
#define PROJECTION_STEPS 30
#define PROJECTION_TOL 1e-12

int dln_distance_minimum_projection(dln_network *net, const double *theta, const double *Astar,
                                    double *theta_out, double *d)
{
  size_t L = dln_network_depth(net), P = dln_network_nparams(net);
  size_t m = dln_network_width(net, L) * dln_network_width(net, 0);
  double *K = malloc(m * m * sizeof *K), *R = malloc(m * sizeof *R), *E = calloc(m, sizeof *E);
  double *col = malloc(m * sizeof *col), *g = malloc(P * sizeof *g);
  double *th = malloc(P * sizeof *th);
  lapack_int *pivots = malloc(m * sizeof *pivots);
  int status = (K && R && E && col && g && th && pivots)
                   ? DLN_SUCCESS
                   : dln_error(DLN_ENOMEM, "dln_distance_minimum_projection: out of memory");
  double target = dln_nrm2(m, Astar), residual = INFINITY;
  if (status == DLN_SUCCESS) memcpy(th, theta, P * sizeof *th);
  for (int step = 0; status == DLN_SUCCESS; step++) {
    dln_network_forward(net, th);
    memcpy(R, Astar, m * sizeof *R);
    dln_axpy(m, -1.0, dln_network_product(net), R);
    residual = dln_nrm2(m, R);
    if (residual <= PROJECTION_TOL * fmax(target, DBL_MIN) || step == PROJECTION_STEPS) break;
    /* Θ's matrix, column j = J Jᵀ E_j. */
    for (size_t j = 0; j < m; j++) {
      E[j] = 1.0;
      dln_network_backward(net, th, E, g);
      dln_network_tangent(net, th, g, col);
      E[j] = 0.0;
      for (size_t i = 0; i < m; i++) K[i * m + j] = col[i];
    }
    if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)m, 1, K, (lapack_int)m, pivots, R, 1) != 0) {
      status = dln_error(DLN_ELINALG, "dln_distance_minimum_projection: the NTK is singular "
                         "(a hidden width below n_L n_0 directions?)");
      break;
    }
    dln_network_backward(net, th, R, g); /* Jᵀ Θ⁻¹ r */
    dln_axpy(P, 1.0, g, th);
  }
  if (status == DLN_SUCCESS && !(residual <= PROJECTION_TOL * fmax(target, DBL_MIN)))
    status = dln_error(DLN_ESOLVER, "dln_distance_minimum_projection: residual %g after %d "
                       "steps", residual, PROJECTION_STEPS);
  if (status == DLN_SUCCESS) {
    *d = distance(P, th, theta);
    if (theta_out) memcpy(theta_out, th, P * sizeof *th);
  }
  free(K);
  free(R);
  free(E);
  free(col);
  free(g);
  free(th);
  free(pivots);
  return status;
}
