/* Theorem 1's explicit saddle and minima near θ0 and the distances to them (include/dlnflow/
 * distances.h; THEORY.md §3; the paper's proof of Theorem 8, appendix B.2).
 *
 * Contents:
 *   layer            - the view of W_l inside θ
 *   dln_distance_saddle        - W_1 = W_L = 0
 *   dln_distance_minimum_pinv  - ΔW_L = (A* - A) (W_{L-1}..W_1)⁺       (γ < 1)
 *   dln_distance_minimum_embed - zero the first min(n0,nL) units, embed A*'s SVD (γ > 1)
 *   dln_distance_minimum_projection - Gauss-Newton steps θ += Jᵀ Θ⁻¹ (A* - A(θ))
 *   dln_distance_minimum_nearest    - Riemannian Newton-CG for min ||θ - θ0|| on A(θ) = A*
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

/* Writes Θ(x)'s m x m matrix into K (column j = J Jᵀ E_j), after a forward pass at x. E (m
 * doubles, zero on entry and exit), col (m) and g (P) are workspaces. */
static void ntk_matrix_at(dln_network *net, const double *x, size_t m, double *K, double *E,
                          double *col, double *g)
{
  dln_network_forward(net, x);
  for (size_t j = 0; j < m; j++) {
    E[j] = 1.0;
    dln_network_backward(net, x, E, g);
    dln_network_tangent(net, x, g, col);
    E[j] = 0.0;
    for (size_t i = 0; i < m; i++) K[i * m + j] = col[i];
  }
}

/* Writes R = A* - A(x) (forward pass at x) and returns ||R||. */
static double residual_at(dln_network *net, const double *x, const double *Astar, size_t m,
                          double *R)
{
  dln_network_forward(net, x);
  memcpy(R, Astar, m * sizeof *R);
  dln_axpy(m, -1.0, dln_network_product(net), R);
  return dln_nrm2(m, R);
}

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
    residual = residual_at(net, th, Astar, m, R);
    if (residual <= PROJECTION_TOL * fmax(target, DBL_MIN) || step == PROJECTION_STEPS) break;
    ntk_matrix_at(net, th, m, K, E, col, g);
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

/* ---- the nearest point of the minimum set ------------------------------------------- */

/* Newton iterations, conjugate-gradient steps per iteration, chord steps per retraction, and
 * the relative tangential gradient ||P_T(θ - θ0)|| / ||θ - θ0|| that counts as stationary. */
#define NEAREST_ITERATIONS 200
#define NEAREST_CG 300
#define NEAREST_CHORD 100
#define NEAREST_TOL 1e-7

/* The search's state: x on the set, Θ(x) Cholesky-factored in K, Λ(x) = Θ⁻¹ J (x - θ0). */
typedef struct nearest {
  dln_network *net;
  size_t P, m;
  const double *theta0, *Astar;
  double *K, *lambda, *E, *col, *R, *zero; /* m x m, then m doubles each */
  double *tmp;                              /* P doubles */
} nearest;

/* Factors Θ(x) into ws->K. */
static int nearest_factor(nearest *ws, const double *x)
{
  ntk_matrix_at(ws->net, x, ws->m, ws->K, ws->E, ws->col, ws->tmp);
  if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)ws->m, ws->K, (lapack_int)ws->m) != 0)
    return dln_error(DLN_ELINALG, "dln_distance_minimum_nearest: the NTK is singular on the "
                     "minimum set");
  return DLN_SUCCESS;
}

static void nearest_solve(const nearest *ws, double *b)
{
  LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)ws->m, 1, ws->K, (lapack_int)ws->m, b, 1);
}

/* u <- P_T u = u - Jᵀ Θ⁻¹ J u at x (Θ(x) factored, after a forward pass at x). */
static void nearest_project(nearest *ws, const double *x, double *u)
{
  dln_network_tangent(ws->net, x, u, ws->col);
  nearest_solve(ws, ws->col);
  dln_network_backward(ws->net, x, ws->col, ws->tmp);
  dln_axpy(ws->P, -1.0, ws->tmp, u);
}

/* out <- P_T (p - ∇²<Λ, A>(x)[p]): the Hessian of ½||θ - θ0||² on the set, along p in T. */
static void nearest_hessian(nearest *ws, const double *x, const double *p, double *out)
{
  dln_network_forward(ws->net, x);
  dln_network_backward(ws->net, x, ws->lambda, ws->tmp);
  dln_network_tangent(ws->net, x, p, ws->col);
  dln_network_hvp(ws->net, x, p, ws->zero, out);
  for (size_t i = 0; i < ws->P; i++) out[i] = p[i] - out[i];
  nearest_project(ws, x, out);
}

/* Moves y onto the set by chord steps y += J(x)ᵀ Θ(x)⁻¹ (A* - A(y)) (x's factor reused).
 * Returns 0 on the set, -1 when the residual stalls. */
static int nearest_retract(nearest *ws, const double *x, double *y)
{
  double target = fmax(dln_nrm2(ws->m, ws->Astar), DBL_MIN), previous = INFINITY;
  for (int step = 0; step < NEAREST_CHORD; step++) {
    double r = residual_at(ws->net, y, ws->Astar, ws->m, ws->R);
    if (r <= PROJECTION_TOL * target) return 0;
    if (!isfinite(r) || (step > 3 && r > 0.9 * previous)) return -1;
    previous = r;
    nearest_solve(ws, ws->R);
    dln_network_forward(ws->net, x);
    dln_network_backward(ws->net, x, ws->R, ws->tmp);
    dln_axpy(ws->P, 1.0, ws->tmp, y);
  }
  return -1;
}

/* At x (on the set): factors Θ(x), writes r = x - θ0, Λ, g = P_T r; returns ||r||. */
static double nearest_gradient(nearest *ws, const double *x, double *r, double *g, int *status)
{
  for (size_t i = 0; i < ws->P; i++) r[i] = x[i] - ws->theta0[i];
  *status = nearest_factor(ws, x);
  if (*status != DLN_SUCCESS) return NAN;
  dln_network_tangent(ws->net, x, r, ws->lambda);
  nearest_solve(ws, ws->lambda);
  dln_network_backward(ws->net, x, ws->lambda, g);
  for (size_t i = 0; i < ws->P; i++) g[i] = r[i] - g[i];
  return dln_nrm2(ws->P, r);
}

/* Truncated conjugate gradients for H v = -g on T; stops at negative curvature (then v is
 * the last iterate, or -g at the first step). v, res, p, Hp: P doubles. */
static void nearest_newton_step(nearest *ws, const double *x, const double *g, double tol,
                                double *v, double *res, double *p, double *Hp)
{
  size_t P = ws->P;
  memset(v, 0, P * sizeof *v);
  for (size_t i = 0; i < P; i++) res[i] = p[i] = -g[i];
  double rr = dln_dot(P, res, res);
  for (int k = 0; k < NEAREST_CG; k++) {
    nearest_hessian(ws, x, p, Hp);
    double pHp = dln_dot(P, p, Hp);
    if (!(pHp > 1e-12 * dln_dot(P, p, p))) {
      if (k == 0) memcpy(v, res, P * sizeof *v);
      return;
    }
    double a = rr / pHp;
    dln_axpy(P, a, p, v);
    dln_axpy(P, -a, Hp, res);
    double rr_next = dln_dot(P, res, res);
    if (sqrt(rr_next) <= tol) return;
    for (size_t i = 0; i < P; i++) p[i] = res[i] + (rr_next / rr) * p[i];
    rr = rr_next;
  }
}

int dln_distance_minimum_nearest(dln_network *net, const double *theta0, const double *Astar,
                                 const double *start, double *theta_out, double *d, double *kkt)
{
  size_t L = dln_network_depth(net), P = dln_network_nparams(net);
  size_t m = dln_network_width(net, L) * dln_network_width(net, 0);
  nearest ws = {.net = net, .P = P, .m = m, .theta0 = theta0, .Astar = Astar};
  double *block = calloc(m * m + 5 * m, sizeof *block), *vec = malloc(8 * P * sizeof *vec);
  int status = (block && vec) ? DLN_SUCCESS
                              : dln_error(DLN_ENOMEM, "dln_distance_minimum_nearest: out of memory");
  double rnorm = NAN, gnorm = NAN;
  if (status == DLN_SUCCESS) {
    ws.K = block;
    ws.lambda = block + m * m;
    ws.E = ws.lambda + m;
    ws.col = ws.E + m;
    ws.R = ws.col + m;
    ws.zero = ws.R + m;
    ws.tmp = vec;
    double *x = vec + P, *y = x + P, *r = y + P, *g = r + P, *v = g + P, *res = v + P, *p = res + P;
    double *Hp = r; /* r is not needed during the conjugate gradients */
    /* The start, moved onto the set by Gauss-Newton steps. */
    status = dln_distance_minimum_projection(net, start, Astar, x, &rnorm);
    for (int it = 0; status == DLN_SUCCESS; it++) {
      rnorm = nearest_gradient(&ws, x, r, g, &status);
      if (status != DLN_SUCCESS) break;
      gnorm = dln_nrm2(P, g);
      if (gnorm <= NEAREST_TOL * rnorm) break;
      if (it == NEAREST_ITERATIONS) {
        status = dln_error(DLN_ESOLVER, "dln_distance_minimum_nearest: tangential gradient "
                           "%.3g of the distance after %d steps", gnorm / rnorm, it);
        break;
      }
      double f = 0.5 * rnorm * rnorm;
      nearest_newton_step(&ws, x, g, fmin(0.5, sqrt(gnorm / rnorm)) * gnorm, v, res, p, Hp);
      double slope = dln_dot(P, g, v);
      if (!(slope < 0.0)) { /* not a descent direction: the gradient's */
        for (size_t i = 0; i < P; i++) v[i] = -g[i];
        slope = -gnorm * gnorm;
      }
      /* Backtracking on ½||y - θ0||² over retracted points (round-off in f allowed). */
      double a = 1.0;
      for (;;) {
        for (size_t i = 0; i < P; i++) y[i] = x[i] + a * v[i];
        if (nearest_retract(&ws, x, y) == 0) {
          double fy = 0.5 * distance(P, y, theta0) * distance(P, y, theta0);
          if (fy <= f + 1e-4 * a * slope + 1e-15 * f) break;
        }
        a *= 0.5;
        if (a < 1e-10) break;
      }
      if (a < 1e-10) {
        status = dln_error(DLN_ESOLVER, "dln_distance_minimum_nearest: no decrease along the "
                           "step (tangential gradient %.3g)", gnorm / rnorm);
        break;
      }
      memcpy(x, y, P * sizeof *x);
    }
    if (status == DLN_SUCCESS) {
      *d = rnorm;
      if (kkt) *kkt = rnorm > 0.0 ? gnorm / rnorm : 0.0;
      if (theta_out) memcpy(theta_out, x, P * sizeof *x);
    }
  }
  free(block);
  free(vec);
  return status;
}
