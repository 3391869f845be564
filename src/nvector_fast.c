/* Optimised kernels for CVODE's serial N_Vector (see nvector_fast.h).
 *
 * Each kernel matches the serial reference operation (SUNDIALS nvector_serial.c) in meaning,
 * so CVODE's step sequence is unchanged up to rounding; clones inherit the table because
 * N_VClone copies the operations of the vector it clones. Kernels are plain loops compiled
 * with optimisation, and fixed in order of summation, so results repeat bit for bit.
 */
#include "nvector_fast.h"

#include <math.h>

/* The loops are compiled twice, for AVX2 and for baseline x86-64, and the loader picks one
 * for the machine (GCC function multi-versioning): wider vectors, same summation order. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL
#endif

static sunindextype len(N_Vector v) { return NV_LENGTH_S(v); }
static realtype *data(N_Vector v) { return NV_DATA_S(v); }

KERNEL static void fast_linearsum(realtype a, N_Vector x, realtype b, N_Vector y, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x), *yd = data(y);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = a * xd[i] + b * yd[i];
}

KERNEL static void fast_const(realtype c, N_Vector z)
{
  sunindextype n = len(z);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = c;
}

KERNEL static void fast_prod(N_Vector x, N_Vector y, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x), *yd = data(y);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] * yd[i];
}

KERNEL static void fast_div(N_Vector x, N_Vector y, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x), *yd = data(y);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] / yd[i];
}

KERNEL static void fast_scale(realtype c, N_Vector x, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = c * xd[i];
}

KERNEL static void fast_abs(N_Vector x, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = fabs(xd[i]);
}

KERNEL static void fast_inv(N_Vector x, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = 1.0 / xd[i];
}

KERNEL static void fast_addconst(N_Vector x, realtype b, N_Vector z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) zd[i] = xd[i] + b;
}

/* Sums in four interleaved partial sums: faster than one chain, and a fixed order. */
KERNEL static realtype fast_dotprod(N_Vector x, N_Vector y)
{
  sunindextype n = len(x), i = 0;
  const realtype *xd = data(x), *yd = data(y);
  realtype s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; i + 3 < n; i += 4) {
    s0 += xd[i] * yd[i];
    s1 += xd[i + 1] * yd[i + 1];
    s2 += xd[i + 2] * yd[i + 2];
    s3 += xd[i + 3] * yd[i + 3];
  }
  for (; i < n; i++) s0 += xd[i] * yd[i];
  return (s0 + s1) + (s2 + s3);
}

KERNEL static realtype fast_maxnorm(N_Vector x)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype m = 0.0;
  for (sunindextype i = 0; i < n; i++)
    if (fabs(xd[i]) > m) m = fabs(xd[i]);
  return m;
}

/* Returns Σ (x_i w_i)^2 in a fixed order. */
KERNEL static realtype weighted_square_sum(N_Vector x, N_Vector w)
{
  sunindextype n = len(x), i = 0;
  const realtype *xd = data(x), *wd = data(w);
  realtype s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; i + 3 < n; i += 4) {
    realtype a = xd[i] * wd[i], b = xd[i + 1] * wd[i + 1];
    realtype c = xd[i + 2] * wd[i + 2], d = xd[i + 3] * wd[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < n; i++) s0 += (xd[i] * wd[i]) * (xd[i] * wd[i]);
  return (s0 + s1) + (s2 + s3);
}

static realtype fast_wrmsnorm(N_Vector x, N_Vector w)
{
  return sqrt(weighted_square_sum(x, w) / (realtype)len(x));
}

static realtype fast_wl2norm(N_Vector x, N_Vector w) { return sqrt(weighted_square_sum(x, w)); }

static realtype fast_min(N_Vector x)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype m = xd[0];
  for (sunindextype i = 1; i < n; i++)
    if (xd[i] < m) m = xd[i];
  return m;
}

KERNEL static realtype fast_l1norm(N_Vector x)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  realtype s = 0.0;
  for (sunindextype i = 0; i < n; i++) s += fabs(xd[i]);
  return s;
}

/* z = Σ_j c_j X_j. Element by element, so z may alias any X_j. */
KERNEL static int fast_linearcombination(int nvec, realtype *c, N_Vector *X, N_Vector z)
{
  enum { MAX_DIRECT = 16 };
  if (nvec > MAX_DIRECT) { /* CVODE uses at most q+1 <= 6 terms; stay correct beyond */
    fast_scale(c[0], X[0], z);
    for (int j = 1; j < nvec; j++) fast_linearsum(c[j], X[j], 1.0, z, z);
    return 0;
  }
  const realtype *xs[MAX_DIRECT];
  for (int j = 0; j < nvec; j++) xs[j] = data(X[j]);
  sunindextype n = len(z);
  realtype *zd = data(z);
  for (sunindextype i = 0; i < n; i++) {
    realtype s = c[0] * xs[0][i];
    for (int j = 1; j < nvec; j++) s += c[j] * xs[j][i];
    zd[i] = s;
  }
  return 0;
}

/* Z_j = a_j x + Y_j. */
KERNEL static int fast_scaleaddmulti(int nvec, realtype *a, N_Vector x, N_Vector *Y, N_Vector *Z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  for (int j = 0; j < nvec; j++) {
    const realtype *yd = data(Y[j]);
    realtype *zd = data(Z[j]);
    realtype aj = a[j];
    for (sunindextype i = 0; i < n; i++) zd[i] = aj * xd[i] + yd[i];
  }
  return 0;
}

static int fast_dotprodmulti(int nvec, N_Vector x, N_Vector *Y, realtype *d)
{
  for (int j = 0; j < nvec; j++) d[j] = fast_dotprod(x, Y[j]);
  return 0;
}

/* Z_j = c_j X_j. */
static int fast_scalevectorarray(int nvec, realtype *c, N_Vector *X, N_Vector *Z)
{
  for (int j = 0; j < nvec; j++) fast_scale(c[j], X[j], Z[j]);
  return 0;
}

/* Z_j = a X_j + b Y_j. */
static int fast_linearsumvectorarray(int nvec, realtype a, N_Vector *X, realtype b, N_Vector *Y,
                                     N_Vector *Z)
{
  for (int j = 0; j < nvec; j++) fast_linearsum(a, X[j], b, Y[j], Z[j]);
  return 0;
}

/* Z_j = c. */
static int fast_constvectorarray(int nvec, realtype c, N_Vector *Z)
{
  for (int j = 0; j < nvec; j++) fast_const(c, Z[j]);
  return 0;
}

/* norms_j = wrms(X_j, W_j). */
static int fast_wrmsnormvectorarray(int nvec, N_Vector *X, N_Vector *W, realtype *norms)
{
  for (int j = 0; j < nvec; j++) norms[j] = fast_wrmsnorm(X[j], W[j]);
  return 0;
}

N_Vector dln_nvector_new(sunindextype n, SUNContext ctx)
{
  N_Vector v = N_VNew_Serial(n, ctx);
  if (!v) return NULL;
  /* Fused operations let CVODE and GMRES batch their updates into the kernels below. */
  N_VEnableFusedOps_Serial(v, SUNTRUE);
  N_Vector_Ops ops = v->ops;
  ops->nvlinearsum = fast_linearsum;
  ops->nvconst = fast_const;
  ops->nvprod = fast_prod;
  ops->nvdiv = fast_div;
  ops->nvscale = fast_scale;
  ops->nvabs = fast_abs;
  ops->nvinv = fast_inv;
  ops->nvaddconst = fast_addconst;
  ops->nvdotprod = fast_dotprod;
  ops->nvmaxnorm = fast_maxnorm;
  ops->nvwrmsnorm = fast_wrmsnorm;
  ops->nvwl2norm = fast_wl2norm;
  ops->nvmin = fast_min;
  ops->nvl1norm = fast_l1norm;
  ops->nvlinearcombination = fast_linearcombination;
  ops->nvscaleaddmulti = fast_scaleaddmulti;
  ops->nvdotprodmulti = fast_dotprodmulti;
  ops->nvscalevectorarray = fast_scalevectorarray;
  ops->nvlinearsumvectorarray = fast_linearsumvectorarray;
  ops->nvconstvectorarray = fast_constvectorarray;
  ops->nvwrmsnormvectorarray = fast_wrmsnormvectorarray;
  /* The local variants back the reductions when CVODE asks for them directly. */
  ops->nvdotprodlocal = fast_dotprod;
  ops->nvmaxnormlocal = fast_maxnorm;
  ops->nvminlocal = fast_min;
  ops->nvl1normlocal = fast_l1norm;
  ops->nvwsqrsumlocal = weighted_square_sum;
  return v;
}
