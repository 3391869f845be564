/* GMRES with fused passes for CVODE's Newton systems (gmres.h).
 *
 * Notation as in SPGMR: A-tilde = S1 A P2^{-1} S2^{-1}, with S1, S2 the diagonal scalings
 * (s1, s2; either may be absent) and P2 the right preconditioner. The Krylov basis V_0, V_1,
 * ... of A-tilde lives in the scaled space. One iteration l:
 *   pass 1  vtemp = c V_l / s2 and V_l = c V_l   (c: the pending 1/||V_l||; V_l normalised)
 *           [P2^{-1}], then the caller's A (CVODE: v - γ J v, J v = -H v)  -> w
 *   pass 2  h_j = V_j·(s1 w) for j <= l, and ||s1 w||^2
 *   pass 3  V_{l+1} = s1 w - Σ h_j V_j, and ||V_{l+1}||^2
 * (passes 2-3 are classical Gram-Schmidt; a vector that loses more than a factor 1000 of its
 * norm is orthogonalised a second time), and at the end one pass x = (Σ y_j V_j) / s2.
 * A solve starts with V_0 = s1 b and its norm in one pass.
 *
 * The loops are compiled at -O3 with AVX2 clones like nvector_fast.c (meson.build); each sums
 * in a fixed order, so results repeat bit for bit.
 */
#include "gmres.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sundials/sundials_iterative.h>

#include "kernel_simd.h"

/* A vector that keeps less than 1/REORTH_FACTOR of its norm is orthogonalised again (the
 * criterion of SUNDIALS' SUNClassicalGS). */
#define REORTH_FACTOR 1000.0
/* Krylov vectors handled per pass (more accumulators than this no longer fit in registers). */
#define BATCH 6

/* ---- kernels ------------------------------------------------------------------------ */

/* s_i w_i, ..., s_{i+3} w_{i+3} (s NULL: w_i, ...). */
KERNEL_INLINE v4d scaled4(const double *w, const double *s, size_t i)
{
  return s ? load4(w + i) * load4(s + i) : load4(w + i);
}

/* v = s b (s NULL: b); returns Σ v_i^2. */
KERNEL static double scale_norm2(size_t n, const double *s, const double *b, double *v)
{
  v4d q0 = splat(0.0), q1 = q0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    v4d x0 = scaled4(b, s, i), x1 = scaled4(b, s, i + 4);
    store4(v + i, x0);
    store4(v + i + 4, x1);
    q0 += x0 * x0;
    q1 += x1 * x1;
  }
  double q = lanes_sum(q0 + q1);
  for (; i < n; i++) {
    double x = s ? s[i] * b[i] : b[i];
    v[i] = x;
    q += x * x;
  }
  return q;
}

/* v = c v and out = v / s (s NULL: out = v). */
KERNEL static void normalize_unscale(size_t n, double c, double *restrict v,
                                     const double *restrict s, double *restrict out)
{
  if (s) {
    for (size_t i = 0; i < n; i++) {
      double x = c * v[i];
      v[i] = x;
      out[i] = x / s[i];
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      double x = c * v[i];
      v[i] = x;
      out[i] = x;
    }
  }
}

/* d_j = V_j·u for j < NV and *uu = u·u, u = s w (s NULL: w), in one pass: eight partial
 * sums per product. */
#define PROJECT(NV)                                                                           \
  KERNEL_INLINE void project_##NV(size_t n, const double *w, const double *s,                 \
                                  const double *const *V, double *d, double *uu)              \
  {                                                                                           \
    const double *v[NV];                                                                      \
    v4d a[NV], b[NV];                                                                         \
    for (int j = 0; j < NV; j++) {                                                            \
      v[j] = V[j];                                                                            \
      a[j] = b[j] = splat(0.0);                                                               \
    }                                                                                         \
    v4d q0 = splat(0.0), q1 = q0;                                                             \
    size_t i = 0;                                                                             \
    for (; i + 8 <= n; i += 8) {                                                              \
      v4d x0 = scaled4(w, s, i), x1 = scaled4(w, s, i + 4);                                   \
      q0 += x0 * x0;                                                                          \
      q1 += x1 * x1;                                                                          \
      for (int j = 0; j < NV; j++) {                                                          \
        a[j] += x0 * load4(v[j] + i);                                                         \
        b[j] += x1 * load4(v[j] + i + 4);                                                     \
      }                                                                                       \
    }                                                                                         \
    double q = lanes_sum(q0 + q1);                                                            \
    double t[NV];                                                                             \
    for (int j = 0; j < NV; j++) t[j] = lanes_sum(a[j] + b[j]);                               \
    for (; i < n; i++) {                                                                      \
      double x = s ? s[i] * w[i] : w[i];                                                      \
      q += x * x;                                                                             \
      for (int j = 0; j < NV; j++) t[j] += x * v[j][i];                                       \
    }                                                                                         \
    for (int j = 0; j < NV; j++) d[j] = t[j];                                                 \
    *uu = q;                                                                                  \
  }
PROJECT(1)
PROJECT(2)
PROJECT(3)
PROJECT(4)
PROJECT(5)
PROJECT(6)

/* d_j = V_j·u for j < k and *uu = u·u, u = s w (s NULL: w): one pass per BATCH vectors. */
KERNEL static void project(size_t n, const double *w, const double *s, const double *const *V,
                           int k, double *d, double *uu)
{
  double first = 0.0, ignored;
  for (int j0 = 0; j0 < k; j0 += BATCH) {
    int m = k - j0 < BATCH ? k - j0 : BATCH;
    double *q = j0 == 0 ? &first : &ignored;
    switch (m) {
    case 1: project_1(n, w, s, V + j0, d + j0, q); break;
    case 2: project_2(n, w, s, V + j0, d + j0, q); break;
    case 3: project_3(n, w, s, V + j0, d + j0, q); break;
    case 4: project_4(n, w, s, V + j0, d + j0, q); break;
    case 5: project_5(n, w, s, V + j0, d + j0, q); break;
    default: project_6(n, w, s, V + j0, d + j0, q); break;
    }
  }
  *uu = first;
}

/* out = u - Σ_{j<NV} h_j V_j with u = s w (s NULL: w), left to right; returns Σ out_i^2.
 * out may be w (each block of w is read before out's is written). */
#define ORTHOGONALIZE(NV)                                                                     \
  KERNEL_INLINE double orthogonalize_##NV(size_t n, const double *w, const double *s,         \
                                          const double *const *V, const double *h, double *out) \
  {                                                                                           \
    const double *v[NV];                                                                      \
    v4d c[NV];                                                                                \
    for (int j = 0; j < NV; j++) {                                                            \
      v[j] = V[j];                                                                            \
      c[j] = splat(h[j]);                                                                     \
    }                                                                                         \
    v4d q0 = splat(0.0), q1 = q0;                                                             \
    size_t i = 0;                                                                             \
    for (; i + 8 <= n; i += 8) {                                                              \
      v4d x0 = scaled4(w, s, i), x1 = scaled4(w, s, i + 4);                                   \
      for (int j = 0; j < NV; j++) {                                                          \
        x0 -= c[j] * load4(v[j] + i);                                                         \
        x1 -= c[j] * load4(v[j] + i + 4);                                                     \
      }                                                                                       \
      store4(out + i, x0);                                                                    \
      store4(out + i + 4, x1);                                                                \
      q0 += x0 * x0;                                                                          \
      q1 += x1 * x1;                                                                          \
    }                                                                                         \
    double q = lanes_sum(q0 + q1);                                                            \
    for (; i < n; i++) {                                                                      \
      double x = s ? s[i] * w[i] : w[i];                                                      \
      for (int j = 0; j < NV; j++) x -= h[j] * v[j][i];                                       \
      out[i] = x;                                                                             \
      q += x * x;                                                                             \
    }                                                                                         \
    return q;                                                                                 \
  }
ORTHOGONALIZE(1)
ORTHOGONALIZE(2)
ORTHOGONALIZE(3)
ORTHOGONALIZE(4)
ORTHOGONALIZE(5)
ORTHOGONALIZE(6)

/* out = s w - Σ_{j<k} h_j V_j (s NULL: w), one pass per BATCH vectors (later passes continue
 * on out); returns Σ out_i^2. */
KERNEL static double orthogonalize(size_t n, const double *w, const double *s,
                                   const double *const *V, int k, const double *h, double *out)
{
  double q = 0.0;
  if (k == 0) return scale_norm2(n, s, w, out);
  for (int j0 = 0; j0 < k; j0 += BATCH) {
    int m = k - j0 < BATCH ? k - j0 : BATCH;
    const double *u = j0 == 0 ? w : out, *su = j0 == 0 ? s : NULL;
    switch (m) {
    case 1: q = orthogonalize_1(n, u, su, V + j0, h + j0, out); break;
    case 2: q = orthogonalize_2(n, u, su, V + j0, h + j0, out); break;
    case 3: q = orthogonalize_3(n, u, su, V + j0, h + j0, out); break;
    case 4: q = orthogonalize_4(n, u, su, V + j0, h + j0, out); break;
    case 5: q = orthogonalize_5(n, u, su, V + j0, h + j0, out); break;
    default: q = orthogonalize_6(n, u, su, V + j0, h + j0, out); break;
    }
  }
  return q;
}

/* x = [x +] Σ_{j<NV} y_j V_j [/ s], left to right. */
#define COMBINE(NV)                                                                           \
  KERNEL_INLINE void combine_##NV(size_t n, const double *const *V, const double *y, int acc, \
                                  const double *s, double *x)                                 \
  {                                                                                           \
    const double *v[NV];                                                                      \
    double c[NV];                                                                             \
    for (int j = 0; j < NV; j++) {                                                            \
      v[j] = V[j];                                                                            \
      c[j] = y[j];                                                                            \
    }                                                                                         \
    if (!acc && s) {                                                                          \
      _Pragma("GCC ivdep") for (size_t i = 0; i < n; i++)                                     \
      {                                                                                       \
        double t = c[0] * v[0][i];                                                            \
        for (int j = 1; j < NV; j++) t += c[j] * v[j][i];                                     \
        x[i] = t / s[i];                                                                      \
      }                                                                                       \
    } else if (!acc) {                                                                        \
      _Pragma("GCC ivdep") for (size_t i = 0; i < n; i++)                                     \
      {                                                                                       \
        double t = c[0] * v[0][i];                                                            \
        for (int j = 1; j < NV; j++) t += c[j] * v[j][i];                                     \
        x[i] = t;                                                                             \
      }                                                                                       \
    } else if (s) {                                                                           \
      _Pragma("GCC ivdep") for (size_t i = 0; i < n; i++)                                     \
      {                                                                                       \
        double t = x[i];                                                                      \
        for (int j = 0; j < NV; j++) t += c[j] * v[j][i];                                     \
        x[i] = t / s[i];                                                                      \
      }                                                                                       \
    } else {                                                                                  \
      _Pragma("GCC ivdep") for (size_t i = 0; i < n; i++)                                     \
      {                                                                                       \
        double t = x[i];                                                                      \
        for (int j = 0; j < NV; j++) t += c[j] * v[j][i];                                     \
        x[i] = t;                                                                             \
      }                                                                                       \
    }                                                                                         \
  }
COMBINE(1)
COMBINE(2)
COMBINE(3)
COMBINE(4)
COMBINE(5)
COMBINE(6)

/* x = (Σ_{j<k} y_j V_j) / s (s NULL: no division), k >= 1: one pass per BATCH vectors. */
KERNEL static void combine(size_t n, const double *const *V, int k, const double *y,
                           const double *s, double *x)
{
  for (int j0 = 0; j0 < k; j0 += BATCH) {
    int m = k - j0 < BATCH ? k - j0 : BATCH;
    int acc = j0 > 0;
    const double *sj = j0 + m == k ? s : NULL; /* divide in the last pass */
    switch (m) {
    case 1: combine_1(n, V + j0, y + j0, acc, sj, x); break;
    case 2: combine_2(n, V + j0, y + j0, acc, sj, x); break;
    case 3: combine_3(n, V + j0, y + j0, acc, sj, x); break;
    case 4: combine_4(n, V + j0, y + j0, acc, sj, x); break;
    case 5: combine_5(n, V + j0, y + j0, acc, sj, x); break;
    default: combine_6(n, V + j0, y + j0, acc, sj, x); break;
    }
  }
}

/* ---- the solver --------------------------------------------------------------------- */

typedef struct gmres {
  int maxl, pretype, zeroguess, numiters, last_flag;
  double resnorm;
  size_t n;
  N_Vector *V;        /* maxl + 1 Krylov vectors */
  N_Vector vtemp;     /* operator input / output scratch; also the residual slot */
  N_Vector xtemp;     /* right preconditioning: the unpreconditioned correction */
  const double **Vd;  /* data pointers of V */
  double **Hes;       /* (maxl + 1) x maxl Hessenberg matrix, SUNQRfact's layout */
  double *givens;     /* 2 maxl */
  double *yg;         /* maxl + 1 */
  double *h;          /* maxl + 1: a column of projections */
  double *h2;         /* maxl + 1: the second pass of a reorthogonalisation */
  N_Vector s1, s2;    /* scalings (not owned; NULL: none) */
  SUNATimesFn atimes;
  void *atimes_data;
  SUNPSetupFn psetup;
  SUNPSolveFn psolve;
  void *p_data;
} gmres;

#define CONTENT(S) ((gmres *)(S)->content)

static double *data_of(N_Vector v) { return v ? NV_DATA_S(v) : NULL; }

static SUNLinearSolver_Type get_type(SUNLinearSolver S)
{
  (void)S;
  return SUNLINEARSOLVER_ITERATIVE;
}

static SUNLinearSolver_ID get_id(SUNLinearSolver S)
{
  (void)S;
  return SUNLINEARSOLVER_CUSTOM;
}

static int set_atimes(SUNLinearSolver S, void *data, SUNATimesFn fn)
{
  CONTENT(S)->atimes = fn;
  CONTENT(S)->atimes_data = data;
  return SUNLS_SUCCESS;
}

static int set_preconditioner(SUNLinearSolver S, void *data, SUNPSetupFn setup, SUNPSolveFn solve)
{
  CONTENT(S)->psetup = setup;
  CONTENT(S)->psolve = solve;
  CONTENT(S)->p_data = data;
  return SUNLS_SUCCESS;
}

static int set_scaling(SUNLinearSolver S, N_Vector s1, N_Vector s2)
{
  CONTENT(S)->s1 = s1;
  CONTENT(S)->s2 = s2;
  return SUNLS_SUCCESS;
}

static int set_zero_guess(SUNLinearSolver S, booleantype on)
{
  CONTENT(S)->zeroguess = on ? 1 : 0;
  return SUNLS_SUCCESS;
}

static int initialize(SUNLinearSolver S)
{
  gmres *g = CONTENT(S);
  if (!g->atimes) return g->last_flag = SUNLS_ATIMES_NULL;
  if (g->pretype == SUN_PREC_RIGHT && !g->psolve) return g->last_flag = SUNLS_PSOLVE_NULL;
  return g->last_flag = SUNLS_SUCCESS;
}

static int setup(SUNLinearSolver S, SUNMatrix A)
{
  (void)A;
  gmres *g = CONTENT(S);
  if (g->psetup) {
    int status = g->psetup(g->p_data);
    if (status != 0)
      return g->last_flag = status < 0 ? SUNLS_PSET_FAIL_UNREC : SUNLS_PSET_FAIL_REC;
  }
  return g->last_flag = SUNLS_SUCCESS;
}

/* Maps a callback's status to SPGMR's flags. */
static int callback_flag(int status, int unrecoverable, int recoverable)
{
  return status < 0 ? unrecoverable : recoverable;
}

/* x = x0 + P2^{-1} S2^{-1} Σ_{j<k} y_j V_j, the correction's end; returns a flag. */
static int finish_solution(gmres *g, int k, N_Vector x, double delta)
{
  const double *s2 = data_of(g->s2);
  int right = g->pretype == SUN_PREC_RIGHT;
  /* Without a preconditioner a zero initial guess takes the combination directly. */
  N_Vector target = (!right && g->zeroguess) ? x : g->xtemp;
  combine(g->n, g->Vd, k, g->yg, s2, NV_DATA_S(target));
  if (right) {
    N_Vector z = g->zeroguess ? x : g->vtemp;
    int status = g->psolve(g->p_data, g->xtemp, z, delta, SUN_PREC_RIGHT);
    if (status != 0) return callback_flag(status, SUNLS_PSOLVE_FAIL_UNREC, SUNLS_PSOLVE_FAIL_REC);
    target = z;
  }
  if (!g->zeroguess) N_VLinearSum(1.0, x, 1.0, target, x);
  return SUNLS_SUCCESS;
}

static int solve_inner(gmres *g, N_Vector x, N_Vector b, double delta)
{
  size_t n = g->n;
  const double *s1 = data_of(g->s1), *s2 = data_of(g->s2);
  int right = g->pretype == SUN_PREC_RIGHT;
  g->numiters = 0;

  /* V_0 = S1 r_0, r_0 = b - A x (b for a zero guess), and its norm. */
  const double *r0 = NV_DATA_S(b);
  if (!g->zeroguess) {
    int status = g->atimes(g->atimes_data, x, g->vtemp);
    if (status != 0) return callback_flag(status, SUNLS_ATIMES_FAIL_UNREC, SUNLS_ATIMES_FAIL_REC);
    N_VLinearSum(1.0, b, -1.0, g->vtemp, g->vtemp);
    r0 = NV_DATA_S(g->vtemp);
  }
  double beta = sqrt(scale_norm2(n, s1, r0, NV_DATA_S(g->V[0])));
  g->resnorm = beta;
  if (beta <= delta) return SUNLS_SUCCESS; /* x stays the initial guess */

  for (int i = 0; i <= g->maxl; i++)
    for (int j = 0; j < g->maxl; j++) g->Hes[i][j] = 0.0;
  double rotation_product = 1.0, rho = beta, scale = 1.0 / beta;
  int converged = 0, krydim = 0;
  for (int l = 0; l < g->maxl; l++) {
    g->numiters++;
    krydim = l + 1;
    double *Vl = NV_DATA_S(g->V[l]), *Vnext = NV_DATA_S(g->V[l + 1]);
    /* vtemp = S2^{-1} V_l after normalising V_l. */
    normalize_unscale(n, scale, Vl, s2, NV_DATA_S(g->vtemp));
    /* w = A P2^{-1} vtemp: in V_{l+1} (orthogonalised in place), or in vtemp when the
     * preconditioner's output occupies V_{l+1}. */
    N_Vector w;
    int status;
    if (right) {
      status = g->psolve(g->p_data, g->vtemp, g->V[l + 1], delta, SUN_PREC_RIGHT);
      if (status != 0)
        return callback_flag(status, SUNLS_PSOLVE_FAIL_UNREC, SUNLS_PSOLVE_FAIL_REC);
      status = g->atimes(g->atimes_data, g->V[l + 1], g->vtemp);
      w = g->vtemp;
    } else {
      status = g->atimes(g->atimes_data, g->vtemp, g->V[l + 1]);
      w = g->V[l + 1];
    }
    if (status != 0) return callback_flag(status, SUNLS_ATIMES_FAIL_UNREC, SUNLS_ATIMES_FAIL_REC);

    /* Classical Gram-Schmidt against V_0..V_l of u = S1 w, into V_{l+1}. */
    double uu;
    project(n, NV_DATA_S(w), s1, g->Vd, l + 1, g->h, &uu);
    double norm = sqrt(orthogonalize(n, NV_DATA_S(w), s1, g->Vd, l + 1, g->h, Vnext));
    if (REORTH_FACTOR * norm < sqrt(uu)) {
      double ignored;
      project(n, Vnext, NULL, g->Vd, l + 1, g->h2, &ignored);
      norm = sqrt(orthogonalize(n, Vnext, NULL, g->Vd, l + 1, g->h2, Vnext));
      for (int j = 0; j <= l; j++) g->h[j] += g->h2[j];
    }
    for (int j = 0; j <= l; j++) g->Hes[j][l] = g->h[j];
    g->Hes[l + 1][l] = norm;

    if (SUNQRfact(krydim, g->Hes, g->givens, l) != 0) return SUNLS_QRFACT_FAIL;
    rotation_product *= g->givens[2 * l + 1];
    g->resnorm = rho = fabs(rotation_product * beta);
    if (rho <= delta) {
      converged = 1;
      break;
    }
    scale = 1.0 / norm; /* V_{l+1} is normalised at the next iteration's first pass */
  }

  if (!converged && !(rho < beta)) return SUNLS_CONV_FAIL;
  g->yg[0] = beta;
  for (int i = 1; i <= krydim; i++) g->yg[i] = 0.0;
  if (SUNQRsol(krydim, g->Hes, g->givens, g->yg) != 0) return SUNLS_QRSOL_FAIL;
  int status = finish_solution(g, krydim, x, delta);
  if (status != SUNLS_SUCCESS) return status;
  return converged ? SUNLS_SUCCESS : SUNLS_RES_REDUCED;
}

static int solve(SUNLinearSolver S, SUNMatrix A, N_Vector x, N_Vector b, realtype delta)
{
  (void)A;
  gmres *g = CONTENT(S);
  if (!g->atimes || (g->pretype == SUN_PREC_RIGHT && !g->psolve)) {
    g->zeroguess = 0;
    return g->last_flag = SUNLS_MEM_NULL;
  }
  int flag = solve_inner(g, x, b, delta);
  g->zeroguess = 0; /* as SPGMR: a zero guess holds for one solve */
  return g->last_flag = flag;
}

static int num_iters(SUNLinearSolver S) { return CONTENT(S)->numiters; }
static realtype res_norm(SUNLinearSolver S) { return CONTENT(S)->resnorm; }
static N_Vector resid(SUNLinearSolver S) { return CONTENT(S)->vtemp; }
static sunindextype last_flag(SUNLinearSolver S) { return CONTENT(S)->last_flag; }

static int space(SUNLinearSolver S, long *lrw, long *liw)
{
  gmres *g = CONTENT(S);
  long m = g->maxl;
  *lrw = (long)g->n * (m + 3) + m * (m + 5) + 2;
  *liw = 0;
  return SUNLS_SUCCESS;
}

static int free_solver(SUNLinearSolver S)
{
  if (!S) return SUNLS_SUCCESS;
  gmres *g = CONTENT(S);
  if (g) {
    if (g->V) N_VDestroyVectorArray(g->V, g->maxl + 1);
    if (g->vtemp) N_VDestroy(g->vtemp);
    if (g->xtemp) N_VDestroy(g->xtemp);
    if (g->Hes) {
      for (int i = 0; i <= g->maxl; i++) free(g->Hes[i]);
      free(g->Hes);
    }
    free(g->Vd);
    free(g->givens);
    free(g->yg);
    free(g->h);
    free(g->h2);
    free(g);
    S->content = NULL;
  }
  SUNLinSolFreeEmpty(S);
  return SUNLS_SUCCESS;
}

SUNLinearSolver dln_gmres_new(N_Vector y, int pretype, int maxl, SUNContext ctx)
{
  if (maxl < 1 || (pretype != SUN_PREC_NONE && pretype != SUN_PREC_RIGHT) ||
      N_VGetVectorID(y) != SUNDIALS_NVEC_SERIAL)
    return NULL;
  SUNLinearSolver S = SUNLinSolNewEmpty(ctx);
  if (!S) return NULL;
  S->ops->gettype = get_type;
  S->ops->getid = get_id;
  S->ops->setatimes = set_atimes;
  S->ops->setpreconditioner = set_preconditioner;
  S->ops->setscalingvectors = set_scaling;
  S->ops->setzeroguess = set_zero_guess;
  S->ops->initialize = initialize;
  S->ops->setup = setup;
  S->ops->solve = solve;
  S->ops->numiters = num_iters;
  S->ops->resnorm = res_norm;
  S->ops->resid = resid;
  S->ops->lastflag = last_flag;
  S->ops->space = space;
  S->ops->free = free_solver;
  gmres *g = calloc(1, sizeof *g);
  S->content = g;
  if (!g) {
    SUNLinSolFreeEmpty(S);
    return NULL;
  }
  g->maxl = maxl;
  g->pretype = pretype;
  g->n = (size_t)NV_LENGTH_S(y);
  g->V = N_VCloneVectorArray(maxl + 1, y);
  g->vtemp = N_VClone(y);
  g->xtemp = N_VClone(y);
  g->Vd = malloc((size_t)(maxl + 1) * sizeof *g->Vd);
  g->Hes = calloc((size_t)maxl + 1, sizeof *g->Hes);
  g->givens = malloc(2 * (size_t)maxl * sizeof *g->givens);
  g->yg = malloc(((size_t)maxl + 1) * sizeof *g->yg);
  g->h = malloc(((size_t)maxl + 1) * sizeof *g->h);
  g->h2 = malloc(((size_t)maxl + 1) * sizeof *g->h2);
  int ok = g->V && g->vtemp && g->xtemp && g->Vd && g->Hes && g->givens && g->yg && g->h && g->h2;
  for (int i = 0; ok && i <= maxl; i++) {
    g->Hes[i] = malloc((size_t)maxl * sizeof **g->Hes);
    ok = g->Hes[i] != NULL;
  }
  if (!ok) {
    free_solver(S);
    return NULL;
  }
  for (int i = 0; i <= maxl; i++) g->Vd[i] = NV_DATA_S(g->V[i]);
  return S;
}
