/* The hand-written loops CVODE runs on: every optimised N_Vector operation (nvector_fast.c)
 * against SUNDIALS' own serial operation on the same data, including the aliased calls CVODE
 * makes (z = X_0 in a linear combination, Z = Y in a scaled add), lengths that leave loop tails,
 * and batch sizes past the fused kernels' limits; the staggered storage of vectors and their
 * clones; the flow driver's per-step loops (flow_kernels.c); and the fused GMRES (gmres.c)
 * against SUNDIALS' SPGMR on the same systems, with and without scaling, a right
 * preconditioner and a nonzero initial guess, converged and not. */
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_spgmr.h>

#include "flow_kernels.h"
#include "gmres.h"
#include "nvector_fast.h"
#include "testlib.h"

#define MAXV 14

static double uniform(unsigned long *state)
{
  *state = *state * 6364136223846793005UL + 1442695040888963407UL;
  return (double)(*state >> 11) / 9007199254740992.0;
}

static void fill(N_Vector v, unsigned long *state, double lo, double hi)
{
  for (sunindextype i = 0; i < NV_LENGTH_S(v); i++)
    NV_DATA_S(v)[i] = lo + (hi - lo) * uniform(state);
}

static void copy(N_Vector from, N_Vector to)
{
  memcpy(NV_DATA_S(to), NV_DATA_S(from), (size_t)NV_LENGTH_S(from) * sizeof(double));
}

/* Largest |a_i - b_i| / max(1, |b_i|). */
static double max_diff(N_Vector a, N_Vector b)
{
  double m = 0.0;
  for (sunindextype i = 0; i < NV_LENGTH_S(a); i++) {
    double d = fabs(NV_DATA_S(a)[i] - NV_DATA_S(b)[i]) / fmax(1.0, fabs(NV_DATA_S(b)[i]));
    if (!(d <= m)) m = d;
  }
  return m;
}

/* A pair of vector sets with equal contents: ours (fast) and SUNDIALS' serial (ref). */
typedef struct pair {
  N_Vector fast[MAXV], ref[MAXV];
} pair;

static void pair_make(pair *p, sunindextype n, SUNContext ctx, unsigned long *state)
{
  N_Vector f0 = dln_nvector_new(n, ctx), r0 = N_VNew_Serial(n, ctx);
  N_VEnableFusedOps_Serial(r0, SUNTRUE);
  for (int j = 0; j < MAXV; j++) {
    p->fast[j] = j == 0 ? f0 : N_VClone(f0);
    p->ref[j] = j == 0 ? r0 : N_VClone(r0);
    fill(p->ref[j], state, -1.0, 1.0);
    copy(p->ref[j], p->fast[j]);
  }
}

static void pair_free(pair *p)
{
  for (int j = MAXV - 1; j >= 0; j--) {
    N_VDestroy(p->fast[j]);
    N_VDestroy(p->ref[j]);
  }
}

/* The largest difference between the two sets. */
static double pair_diff(const pair *p)
{
  double m = 0.0;
  for (int j = 0; j < MAXV; j++) m = fmax(m, max_diff(p->fast[j], p->ref[j]));
  return m;
}

static void check_vector_ops(SUNContext ctx)
{
  unsigned long state = 12345;
  const sunindextype lengths[] = {1, 7, 8, 13, 1003};
  for (size_t t = 0; t < sizeof lengths / sizeof *lengths; t++) {
    sunindextype n = lengths[t];
    pair p;
    pair_make(&p, n, ctx, &state);
    N_Vector *F = p.fast, *R = p.ref;
    for (int j = 0; j < MAXV; j++) { /* positive weights and divisors in the last two */
      if (j >= MAXV - 2) {
        fill(R[j], &state, 0.5, 2.0);
        copy(R[j], F[j]);
      }
    }
    N_Vector Fw = F[MAXV - 1], Rw = R[MAXV - 1], Fd = F[MAXV - 2], Rd = R[MAXV - 2];
    double tol = 1e-14, worst = 0.0;

    N_VLinearSum(0.3, F[0], -1.7, F[1], F[2]);
    N_VLinearSum(0.3, R[0], -1.7, R[1], R[2]);
    N_VLinearSum(1.0, F[3], 1.0, F[4], F[3]); /* CVODE's prediction: in place */
    N_VLinearSum(1.0, R[3], 1.0, R[4], R[3]);
    N_VProd(F[0], F[1], F[5]);
    N_VProd(R[0], R[1], R[5]);
    N_VDiv(F[0], Fd, F[6]);
    N_VDiv(R[0], Rd, R[6]);
    N_VScale(-2.5, F[6], F[6]);
    N_VScale(-2.5, R[6], R[6]);
    N_VAbs(F[1], F[7]);
    N_VAbs(R[1], R[7]);
    N_VInv(Fd, F[8]);
    N_VInv(Rd, R[8]);
    N_VAddConst(F[8], 0.25, F[8]);
    N_VAddConst(R[8], 0.25, R[8]);
    worst = pair_diff(&p);
    test_true(worst <= tol, "n = %ld: element-wise operations match SUNDIALS' serial ones (%.2g)",
              (long)n, worst);

    double scalars[][2] = {
        {N_VDotProd(F[0], F[1]), N_VDotProd(R[0], R[1])},
        {N_VMaxNorm(F[1]), N_VMaxNorm(R[1])},
        {N_VWrmsNorm(F[0], Fw), N_VWrmsNorm(R[0], Rw)},
        {N_VWL2Norm(F[0], Fw), N_VWL2Norm(R[0], Rw)},
        {N_VMin(F[2]), N_VMin(R[2])},
        {N_VL1Norm(F[2]), N_VL1Norm(R[2])},
    };
    worst = 0.0;
    for (size_t k = 0; k < sizeof scalars / sizeof *scalars; k++)
      worst = fmax(worst, fabs(scalars[k][0] - scalars[k][1]) / fmax(1.0, fabs(scalars[k][1])));
    test_true(worst <= 1e-13, "n = %ld: reductions match (%.2g)", (long)n, worst);

    /* Linear combinations of 1 to 12 vectors, into a fresh vector and into X_0 itself. */
    double c[MAXV], d_fast[MAXV], d_ref[MAXV];
    for (int j = 0; j < MAXV; j++) c[j] = uniform(&state) - 0.5;
    worst = 0.0;
    for (int k = 1; k <= 12; k++) {
      N_VLinearCombination(k, c, F, F[12]);
      N_VLinearCombination(k, c, R, R[12]);
      worst = fmax(worst, max_diff(F[12], R[12]));
      N_VLinearCombination(k, c, F + 1, F[1]); /* z = X_0 */
      N_VLinearCombination(k, c, R + 1, R[1]);
      worst = fmax(worst, pair_diff(&p));
    }
    test_true(worst <= tol, "n = %ld: N_VLinearCombination of 1-12 vectors, z = X_0 too (%.2g)",
              (long)n, worst);

    worst = 0.0;
    for (int k = 1; k <= 9; k++) {
      N_VScaleAddMulti(k, c, F[0], F + 1, F + 1); /* CVODE's Nordsieck update: Z = Y */
      N_VScaleAddMulti(k, c, R[0], R + 1, R + 1);
      if (k <= 6) { /* Z apart from Y */
        N_VScaleAddMulti(k, c, F[1], F + 2, F + 8);
        N_VScaleAddMulti(k, c, R[1], R + 2, R + 8);
      }
      worst = fmax(worst, pair_diff(&p));
    }
    test_true(worst <= 1e-13, "n = %ld: N_VScaleAddMulti of 1-9 vectors, in place too (%.2g)",
              (long)n, worst);

    worst = 0.0;
    for (int k = 1; k <= 13; k++) {
      N_VDotProdMulti(k, F[13], F, d_fast); /* includes x·x at j = 13 */
      N_VDotProdMulti(k, R[13], R, d_ref);
      for (int j = 0; j < k; j++)
        worst = fmax(worst, fabs(d_fast[j] - d_ref[j]) / fmax(1.0, fabs(d_ref[j])));
      /* each product is the same whatever the batch */
      N_VDotProdMulti(1, F[13], F + k - 1, d_ref);
      worst = fmax(worst, d_ref[0] == d_fast[k - 1] ? 0.0 : 1.0);
    }
    test_true(worst <= 1e-13, "n = %ld: N_VDotProdMulti of 1-13 vectors (%.2g)", (long)n, worst);

    N_VScaleVectorArray(5, c, F, F);
    N_VScaleVectorArray(5, c, R, R);
    N_VLinearSumVectorArray(4, 0.5, F, -2.0, F + 4, F + 8);
    N_VLinearSumVectorArray(4, 0.5, R, -2.0, R + 4, R + 8);
    N_VConstVectorArray(2, 0.75, F + 6);
    N_VConstVectorArray(2, 0.75, R + 6);
    N_VWrmsNormVectorArray(3, F, F + 11, d_fast);
    N_VWrmsNormVectorArray(3, R, R + 11, d_ref);
    worst = pair_diff(&p);
    for (int j = 0; j < 3; j++) worst = fmax(worst, fabs(d_fast[j] - d_ref[j]) / fabs(d_ref[j]));
    test_true(worst <= 1e-13, "n = %ld: the vector-array operations match (%.2g)", (long)n, worst);
    pair_free(&p);
  }
}

/* Clones get storage of their own, aligned, at page offsets that differ from vector to
 * vector, and keep the table of operations. */
static void check_storage(SUNContext ctx)
{
  N_Vector v = dln_nvector_new(22000, ctx);
  N_Vector w[8];
  int aligned = ((uintptr_t)NV_DATA_S(v) % 64) == 0, distinct = 1, owned = 1;
  for (int j = 0; j < 8; j++) {
    w[j] = N_VClone(v);
    aligned &= ((uintptr_t)NV_DATA_S(w[j]) % 64) == 0;
    owned &= NV_OWN_DATA_S(w[j]) && w[j]->ops->nvlinearsum == v->ops->nvlinearsum;
    for (int k = 0; k < j; k++)
      distinct &= (uintptr_t)NV_DATA_S(w[j]) % 4096 != (uintptr_t)NV_DATA_S(w[k]) % 4096;
    N_VConst((double)j, w[j]); /* writes every entry: no overlap, or later checks fail */
  }
  int intact = 1;
  for (int j = 0; j < 8; j++)
    for (sunindextype i = 0; i < 22000; i++) intact &= NV_DATA_S(w[j])[i] == (double)j;
  test_true(aligned, "vectors start on 64-byte boundaries");
  test_true(distinct, "eight clones start at eight different offsets within a page");
  test_true(owned && intact, "clones own separate storage and keep the fast operations");
  N_Vector empty = N_VCloneEmpty(v);
  test_true(empty && NV_DATA_S(empty) == NULL, "an empty clone has no storage");
  N_VDestroy(empty); /* destroys without freeing what it does not own */
  for (int j = 0; j < 8; j++) N_VDestroy(w[j]);
  N_VDestroy(v);
}

static void check_flow_kernels(void)
{
  double x[37];
  for (int i = 0; i < 37; i++) x[i] = 0.5 * i - 3.0;
  test_true(dln_all_finite(x, 37), "finite entries are finite");
  int ok = dln_negate_all_finite(x, 37);
  int negated = 1;
  for (int i = 0; i < 37; i++) negated &= x[i] == -(0.5 * i - 3.0);
  test_true(ok && negated, "negation of finite entries");
  x[36] = INFINITY;
  test_true(!dln_all_finite(x, 37) && !dln_negate_all_finite(x, 37), "inf in the tail is found");
  x[36] = 1.0;
  x[3] = NAN;
  test_true(!dln_all_finite(x, 37) && !dln_negate_all_finite(x, 37), "NaN is found");
  x[3] = -INFINITY;
  test_true(!dln_all_finite(x, 37), "-inf is found");

  double y[21], w[21];
  for (int i = 0; i < 21; i++) y[i] = (i % 3 - 1) * 0.1 * i;
  dln_inverse_tolerances(y, 21, 1e-6, 1e-9, w);
  double worst = 0.0;
  for (int i = 0; i < 21; i++)
    worst = fmax(worst, fabs(w[i] * (1e-6 * fabs(y[i]) + 1e-9) - 1.0));
  test_true(worst <= 1e-15, "error weights 1 / (rtol |y| + atol) (%.2g)", worst);

  double z[103], sum = 0.0;
  for (int i = 0; i < 103; i++) {
    z[i] = sin(i + 1.0);
    sum += z[i] * z[i];
  }
  test_rel(dln_norm2_fast(z, 103), sqrt(sum), 1e-14, "norm by a plain sum of squares");
  for (int i = 0; i < 103; i++) z[i] *= 1e-170; /* squares underflow */
  test_rel(dln_norm2_fast(z, 103), sqrt(sum) * 1e-170, 1e-14, "norm of tiny entries");
  for (int i = 0; i < 103; i++) z[i] = z[i] * 1e160 * 1e160; /* 1e150: squares overflow */
  test_rel(dln_norm2_fast(z, 103), sqrt(sum) * 1e150, 1e-14, "norm of huge entries");
}

/* ---- GMRES against SPGMR -------------------------------------------------------------- */

/* The lsystem: A v = v + γ (B Bᵀ v + D v) with B random n x 6 and D diagonal >= 0: symmetric,
 * eigenvalues spread over [1, 1 + γ(...)], like CVODE's I - γJ with J = -H. */
typedef struct lsystem {
  sunindextype n;
  double gamma, *B, *D, *precond; /* precond: 1 / (1 + γ D), the diagonal part's inverse */
  long atimes, psolves;
} lsystem;

static int atimes(void *data, N_Vector v, N_Vector z)
{
  lsystem *s = data;
  const double *vd = NV_DATA_S(v);
  double *zd = NV_DATA_S(z), proj[6] = {0};
  for (sunindextype i = 0; i < s->n; i++)
    for (int k = 0; k < 6; k++) proj[k] += s->B[i * 6 + k] * vd[i];
  for (sunindextype i = 0; i < s->n; i++) {
    double bb = 0.0;
    for (int k = 0; k < 6; k++) bb += s->B[i * 6 + k] * proj[k];
    zd[i] = vd[i] + s->gamma * (bb + s->D[i] * vd[i]);
  }
  s->atimes++;
  return 0;
}

static int psolve(void *data, N_Vector r, N_Vector z, double tol, int lr)
{
  (void)tol;
  (void)lr;
  lsystem *s = data;
  for (sunindextype i = 0; i < s->n; i++) NV_DATA_S(z)[i] = s->precond[i] * NV_DATA_S(r)[i];
  s->psolves++;
  return 0;
}

/* Solves with one solver; returns its flag and fills x, the iteration count and res. norm. */
static int solve_with(SUNLinearSolver S, lsystem *sys, N_Vector x, N_Vector b, N_Vector s1,
                      int zero_guess, double delta, int *iters, double *resnorm)
{
  SUNLinSolSetATimes(S, sys, atimes);
  SUNLinSolSetPreconditioner(S, sys, NULL, psolve);
  SUNLinSolSetScalingVectors(S, s1, s1);
  SUNLinSolInitialize(S);
  SUNLinSolSetup(S, NULL);
  SUNLinSolSetZeroGuess(S, zero_guess ? SUNTRUE : SUNFALSE);
  int flag = SUNLinSolSolve(S, NULL, x, b, delta);
  *iters = SUNLinSolNumIters(S);
  *resnorm = SUNLinSolResNorm(S);
  return flag;
}

/* Copies v into a new plain serial vector (SUNDIALS' own operations, fused ones on). */
static N_Vector plain_copy(N_Vector v, SUNContext ctx)
{
  N_Vector w = N_VNew_Serial(NV_LENGTH_S(v), ctx);
  N_VEnableFusedOps_Serial(w, SUNTRUE);
  copy(v, w);
  return w;
}

static void check_gmres(SUNContext ctx)
{
  unsigned long state = 777;
  sunindextype n = 301;
  lsystem sys = {.n = n};
  sys.B = malloc((size_t)n * 6 * sizeof *sys.B);
  sys.D = malloc((size_t)n * sizeof *sys.D);
  sys.precond = malloc((size_t)n * sizeof *sys.precond);
  for (sunindextype i = 0; i < n * 6; i++) sys.B[i] = 0.2 * (uniform(&state) - 0.5);
  for (sunindextype i = 0; i < n; i++) {
    sys.D[i] = 4.0 * uniform(&state) * uniform(&state);
  }
  /* Ours on our vectors; SPGMR on SUNDIALS' plain serial vectors, same data. */
  N_Vector y = dln_nvector_new(n, ctx);
  N_Vector b = N_VClone(y), s1 = N_VClone(y), x = N_VClone(y), guess = N_VClone(y);
  N_Vector r = N_VClone(y);
  fill(b, &state, -1.0, 1.0);
  fill(s1, &state, 1e3, 1e5); /* like error weights 1 / (rtol |y| + atol) */
  fill(guess, &state, -1e-3, 1e-3);
  N_Vector y_ref = plain_copy(y, ctx), b_ref = plain_copy(b, ctx), s1_ref = plain_copy(s1, ctx);
  N_Vector x_ref = plain_copy(x, ctx);

  struct {
    int pretype, zero_guess, scaled, maxl;
    double reduction; /* delta over the initial residual norm */
    double gamma;
    const char *what;
  } cases[] = {
      {SUN_PREC_NONE, 1, 1, 10, 0.3, 3.0, "scaled, as CVODE calls it"},
      {SUN_PREC_NONE, 1, 0, 10, 1e-6, 3.0, "unscaled"},
      {SUN_PREC_RIGHT, 1, 1, 10, 1e-3, 3.0, "right preconditioner"},
      {SUN_PREC_NONE, 0, 1, 10, 0.3, 3.0, "nonzero initial guess"},
      {SUN_PREC_RIGHT, 0, 1, 10, 1e-3, 3.0, "right preconditioner, nonzero initial guess"},
      {SUN_PREC_NONE, 1, 1, 3, 1e-9, 3.0, "too few iterations: residual only reduced"},
      {SUN_PREC_NONE, 1, 0, 9, 1e-30, 3.0, "Krylov dimension past a pass's six vectors"},
      {SUN_PREC_NONE, 1, 1, 10, 1e-12, 1e-15, "A = I + 1e-15 (...): reorthogonalised"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    sys.gamma = cases[k].gamma;
    for (sunindextype i = 0; i < n; i++) sys.precond[i] = 1.0 / (1.0 + sys.gamma * sys.D[i]);
    SUNLinearSolver fused = dln_gmres_new(y, cases[k].pretype, cases[k].maxl, ctx);
    SUNLinearSolver spgmr = SUNLinSol_SPGMR(y_ref, cases[k].pretype, cases[k].maxl, ctx);
    SUNLinSol_SPGMRSetGSType(spgmr, SUN_CLASSICAL_GS);
    N_Vector scale = cases[k].scaled ? s1 : NULL, scale_ref = cases[k].scaled ? s1_ref : NULL;
    if (scale)
      N_VProd(b, scale, r);
    else
      N_VScale(1.0, b, r);
    double beta = sqrt(N_VDotProd(r, r)), delta = cases[k].reduction * beta;
    if (cases[k].zero_guess)
      N_VConst(0.0, x);
    else
      N_VScale(1.0, guess, x);
    copy(x, x_ref);
    int it_f, it_s;
    double res_f, res_s;
    long a0 = sys.atimes;
    int flag_f = solve_with(fused, &sys, x, b, scale, cases[k].zero_guess, delta, &it_f, &res_f);
    long fused_atimes = sys.atimes - a0;
    a0 = sys.atimes;
    int flag_s = solve_with(spgmr, &sys, x_ref, b_ref, scale_ref, cases[k].zero_guess, delta,
                            &it_s, &res_s);
    long spgmr_atimes = sys.atimes - a0;
    double diff = 0.0, size = 0.0;
    for (sunindextype i = 0; i < n; i++) {
      diff = fmax(diff, fabs(NV_DATA_S(x)[i] - NV_DATA_S(x_ref)[i]));
      size = fmax(size, fabs(NV_DATA_S(x_ref)[i]));
    }
    /* the true residual of our solution, in the solver's scaled norm */
    atimes(&sys, x, r);
    N_VLinearSum(1.0, b, -1.0, r, r);
    if (scale) N_VProd(r, scale, r);
    double true_res = sqrt(N_VDotProd(r, r));
    test_true(flag_f == flag_s && it_f == it_s && fused_atimes == spgmr_atimes,
              "GMRES %s: flag %d, %d iterations, %ld products, as SPGMR (%d, %d, %ld)",
              cases[k].what, flag_f, it_f, fused_atimes, flag_s, it_s, spgmr_atimes);
    test_true(diff <= 1e-10 * size && fabs(res_f - res_s) <= 1e-8 * res_s + 1e-13 * beta,
              "GMRES %s: solution as SPGMR's to %.2g relative, residual estimate %.6g vs %.6g",
              cases[k].what, diff / size, res_f, res_s);
    if (flag_f == SUNLS_SUCCESS)
      test_true(true_res <= 1.0001 * delta, "GMRES %s: true residual %.3g <= delta %.3g",
                cases[k].what, true_res, delta);
    SUNLinSolFree(fused);
    SUNLinSolFree(spgmr);
  }
  N_VDestroy(x_ref);
  N_VDestroy(s1_ref);
  N_VDestroy(b_ref);
  N_VDestroy(y_ref);
  N_VDestroy(r);
  N_VDestroy(guess);
  N_VDestroy(x);
  N_VDestroy(s1);
  N_VDestroy(b);
  N_VDestroy(y);
  free(sys.B);
  free(sys.D);
  free(sys.precond);
}

int main(void)
{
  SUNContext ctx;
  if (SUNContext_Create(NULL, &ctx) != 0) return 1;
  check_vector_ops(ctx);
  check_storage(ctx);
  check_flow_kernels();
  check_gmres(ctx);
  SUNContext_Free(&ctx);
  return test_summary();
}
