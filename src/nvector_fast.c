/* Optimised kernels for CVODE's serial N_Vector (see nvector_fast.h).
 *
 * Each kernel matches the serial reference operation (SUNDIALS nvector_serial.c) in meaning,
 * so CVODE's step sequence is unchanged up to rounding; clones inherit the table because
 * N_VClone copies the operations of the vector it clones. Kernels are plain loops compiled
 * with optimisation, and fixed in order of summation, so results repeat bit for bit.
 */
#include "nvector_fast.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_simd.h"

static sunindextype len(N_Vector v) { return NV_LENGTH_S(v); }
static realtype *data(N_Vector v) { return NV_DATA_S(v); }

/* d_j = x·Y_j for NV vectors in one pass over x: eight partial sums per product, reduced in
 * a fixed order, then the tail. */
#define DOT_PRODUCTS(NV)                                                                      \
  KERNEL_INLINE void dot_products_##NV(                                                       \
      const realtype *x, const realtype *const *Y, sunindextype n, realtype *d)               \
  {                                                                                           \
    v4d a[NV], b[NV];                                                                         \
    for (int j = 0; j < NV; j++) a[j] = b[j] = splat(0.0);                                    \
    sunindextype i = 0;                                                                       \
    for (; i + 8 <= n; i += 8) {                                                              \
      v4d x0 = load4(x + i), x1 = load4(x + i + 4);                                           \
      for (int j = 0; j < NV; j++) {                                                          \
        a[j] += x0 * load4(Y[j] + i);                                                         \
        b[j] += x1 * load4(Y[j] + i + 4);                                                     \
      }                                                                                       \
    }                                                                                         \
    for (int j = 0; j < NV; j++) {                                                            \
      realtype s = lanes_sum(a[j] + b[j]);                                                    \
      for (sunindextype k = i; k < n; k++) s += x[k] * Y[j][k];                               \
      d[j] = s;                                                                               \
    }                                                                                         \
  }
DOT_PRODUCTS(1)
DOT_PRODUCTS(2)
DOT_PRODUCTS(3)
DOT_PRODUCTS(4)
DOT_PRODUCTS(5)
DOT_PRODUCTS(6)

/* d_j = x·Y_j, j < nvec: up to six products per pass over x (more accumulators than that no
 * longer fit in registers). Each d_j is the same whatever nvec is. */
KERNEL_INLINE void dot_products(int nvec, const realtype *x,
                                                              const realtype *const *Y,
                                                              sunindextype n, realtype *d)
{
  while (nvec > 0) {
    int m = nvec > 6 ? 6 : nvec;
    switch (m) {
    case 1: dot_products_1(x, Y, n, d); break;
    case 2: dot_products_2(x, Y, n, d); break;
    case 3: dot_products_3(x, Y, n, d); break;
    case 4: dot_products_4(x, Y, n, d); break;
    case 5: dot_products_5(x, Y, n, d); break;
    default: dot_products_6(x, Y, n, d); break;
    }
    nvec -= m;
    Y += m;
    d += m;
  }
}

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

/* Sums in eight interleaved partial sums (two 4-wide vector accumulators): a single chain of
 * additions would wait on the adder's latency at every element. The order is fixed. */
KERNEL static realtype fast_dotprod(N_Vector x, N_Vector y)
{
  realtype d;
  dot_products(1, data(x), (const realtype *const[]){data(y)}, len(x), &d);
  return d;
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

/* Returns Σ (x_i w_i)^2 in a fixed order (eight partial sums, as the dot products). */
KERNEL static realtype weighted_square_sum(N_Vector x, N_Vector w)
{
  sunindextype n = len(x), i = 0;
  const realtype *xd = data(x), *wd = data(w);
  v4d a = {0, 0, 0, 0}, b = a;
  for (; i + 8 <= n; i += 8) {
    v4d p = load4(xd + i) * load4(wd + i), q = load4(xd + i + 4) * load4(wd + i + 4);
    a += p * p;
    b += q * q;
  }
  realtype s = lanes_sum(a + b);
  for (; i < n; i++) s += (xd[i] * wd[i]) * (xd[i] * wd[i]);
  return s;
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

/* z = c_0 X_0 + c_1 X_1 + ... + c_{NV-1} X_{NV-1}, summed left to right, element by element:
 * z may be any X_j (ivdep: the loop reads element i of every input before it writes z's). */
#define LINEAR_COMBINATION(NV)                                                                \
  KERNEL_INLINE void linear_combination_##NV(                                                 \
      const realtype *c, const realtype *const *X, sunindextype n, realtype *z)               \
  {                                                                                           \
    _Pragma("GCC ivdep") for (sunindextype i = 0; i < n; i++)                                 \
    {                                                                                         \
      realtype s = c[0] * X[0][i];                                                            \
      for (int j = 1; j < NV; j++) s += c[j] * X[j][i];                                       \
      z[i] = s;                                                                               \
    }                                                                                         \
  }
LINEAR_COMBINATION(2)
LINEAR_COMBINATION(3)
LINEAR_COMBINATION(4)
LINEAR_COMBINATION(5)
LINEAR_COMBINATION(6)
LINEAR_COMBINATION(7)
LINEAR_COMBINATION(8)

/* z = Σ_j c_j X_j in one pass for up to eight terms (CVODE uses at most q + 1 <= 6, GMRES
 * Krylov dimension + 1); beyond that the sum continues on z in further passes of up to seven
 * terms (1·z is exact), so the order of summation stays left to right. */
KERNEL static int fast_linearcombination(int nvec, realtype *c, N_Vector *X, N_Vector z)
{
  enum { MAX_TERMS = 8 };
  sunindextype n = len(z);
  realtype *zd = data(z);
  if (nvec == 1) {
    fast_scale(c[0], X[0], z);
    return 0;
  }
  realtype coef[MAX_TERMS];
  const realtype *xs[MAX_TERMS];
  int done = 0;
  while (done < nvec) {
    int m = 0;
    if (done > 0) { /* continue the sum already in z */
      coef[0] = 1.0;
      xs[0] = zd;
      m = 1;
    }
    for (; m < MAX_TERMS && done < nvec; m++, done++) {
      coef[m] = c[done];
      xs[m] = data(X[done]);
    }
    switch (m) { /* m >= 2: a first batch has nvec >= 2 terms, a later one z and >= 1 */
    case 2: linear_combination_2(coef, xs, n, zd); break;
    case 3: linear_combination_3(coef, xs, n, zd); break;
    case 4: linear_combination_4(coef, xs, n, zd); break;
    case 5: linear_combination_5(coef, xs, n, zd); break;
    case 6: linear_combination_6(coef, xs, n, zd); break;
    case 7: linear_combination_7(coef, xs, n, zd); break;
    default: linear_combination_8(coef, xs, n, zd); break;
    }
  }
  return 0;
}

/* Z_j = a_j x + Y_j for NV vectors in one pass over x; Z_j may be Y_j (ivdep: element i of
 * every input is read before Z_j's is written). */
#define SCALE_ADD(NV)                                                                         \
  KERNEL_INLINE void scale_add_##NV(                                                          \
      const realtype *a, const realtype *x, N_Vector *Y, N_Vector *Z, sunindextype n)         \
  {                                                                                           \
    const realtype *y[NV];                                                                    \
    realtype *z[NV], c[NV];                                                                   \
    for (int j = 0; j < NV; j++) {                                                            \
      y[j] = data(Y[j]);                                                                      \
      z[j] = data(Z[j]);                                                                      \
      c[j] = a[j];                                                                            \
    }                                                                                         \
    _Pragma("GCC ivdep") for (sunindextype i = 0; i < n; i++)                                 \
    {                                                                                         \
      realtype xi = x[i];                                                                     \
      for (int j = 0; j < NV; j++) z[j][i] = c[j] * xi + y[j][i];                             \
    }                                                                                         \
  }
SCALE_ADD(1)
SCALE_ADD(2)
SCALE_ADD(3)
SCALE_ADD(4)
SCALE_ADD(5)
SCALE_ADD(6)

/* Z_j = a_j x + Y_j: CVODE's update of the Nordsieck array after a step (q + 1 <= 6 vectors)
 * in one pass, in groups of six beyond that. */
KERNEL static int fast_scaleaddmulti(int nvec, realtype *a, N_Vector x, N_Vector *Y, N_Vector *Z)
{
  sunindextype n = len(x);
  const realtype *xd = data(x);
  while (nvec > 0) {
    int m = nvec > 6 ? 6 : nvec;
    switch (m) {
    case 1: scale_add_1(a, xd, Y, Z, n); break;
    case 2: scale_add_2(a, xd, Y, Z, n); break;
    case 3: scale_add_3(a, xd, Y, Z, n); break;
    case 4: scale_add_4(a, xd, Y, Z, n); break;
    case 5: scale_add_5(a, xd, Y, Z, n); break;
    default: scale_add_6(a, xd, Y, Z, n); break;
    }
    nvec -= m;
    a += m;
    Y += m;
    Z += m;
  }
  return 0;
}

/* d_j = x·Y_j: up to six products per pass over x (classical Gram-Schmidt's batch). */
KERNEL static int fast_dotprodmulti(int nvec, N_Vector x, N_Vector *Y, realtype *d)
{
  enum { BATCH = 16 };
  const realtype *ys[BATCH];
  for (int j0 = 0; j0 < nvec; j0 += BATCH) {
    int m = nvec - j0 < BATCH ? nvec - j0 : BATCH;
    for (int j = 0; j < m; j++) ys[j] = data(Y[j0 + j]);
    dot_products(m, data(x), ys, len(x), d + j0);
  }
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

/* ---- storage ------------------------------------------------------------------------ */

/* Vectors of P = 22,000 doubles are allocated by mmap, so every plain one starts at the same
 * offset within a page. The fused kernels stream up to seven of them at once; at equal page
 * offsets their elements i fall into the same L1 cache sets, and a load from one can wait on
 * a store to another whose address matches in the low 12 bits (4K aliasing). CVODE's update
 * of the Nordsieck array took twice as long so (measured). Each vector made here therefore
 * starts STAGGER bytes further into the page than the one made before it: 64 different
 * cache-line offsets modulo 4096. */
#define STAGGER 576
#define PAGE 4096
#define LINE 64

static atomic_ulong vectors_made;

/* Returns n doubles at the next staggered page offset, 64-byte aligned; the malloc'd block's
 * address is kept in the pointer-sized slot just before them (staggered_free). */
static realtype *staggered_alloc(sunindextype n)
{
  unsigned long k = atomic_fetch_add(&vectors_made, 1);
  uintptr_t offset = (uintptr_t)((k * STAGGER) % PAGE);
  char *block = malloc((size_t)n * sizeof(realtype) + sizeof(void *) + LINE + PAGE);
  if (!block) return NULL;
  uintptr_t start = ((uintptr_t)block + sizeof(void *) + LINE - 1) & ~(uintptr_t)(LINE - 1);
  uintptr_t at = start + (offset + PAGE - start % PAGE) % PAGE;
  realtype *d = (realtype *)at;
  memcpy((char *)d - sizeof(void *), &block, sizeof block);
  return d;
}

static void staggered_free(realtype *d)
{
  void *block;
  memcpy(&block, (char *)d - sizeof(void *), sizeof block);
  free(block);
}

/* CVODE and GMRES make their vectors with N_VClone: the clones get staggered storage too.
 * (Nothing here or in CVODE hands such a vector another array with N_VSetArrayPointer.) */
static N_Vector fast_clone(N_Vector w)
{
  N_Vector v = N_VCloneEmpty_Serial(w);
  if (!v) return NULL;
  realtype *d = staggered_alloc(len(w));
  if (!d) {
    N_VDestroy_Serial(v);
    return NULL;
  }
  NV_OWN_DATA_S(v) = SUNTRUE;
  NV_DATA_S(v) = d;
  return v;
}

static void fast_destroy(N_Vector v)
{
  if (!v) return;
  if (v->content && NV_OWN_DATA_S(v) && NV_DATA_S(v)) {
    staggered_free(NV_DATA_S(v));
    NV_DATA_S(v) = NULL;
    NV_OWN_DATA_S(v) = SUNFALSE;
  }
  N_VDestroy_Serial(v); /* the content, the operation table, the vector */
}

N_Vector dln_nvector_new(sunindextype n, SUNContext ctx)
{
  N_Vector v = N_VNewEmpty_Serial(n, ctx);
  if (!v) return NULL;
  realtype *d = staggered_alloc(n);
  if (!d) {
    N_VDestroy_Serial(v);
    return NULL;
  }
  NV_OWN_DATA_S(v) = SUNTRUE;
  NV_DATA_S(v) = d;
  /* Fused operations let CVODE and GMRES batch their updates into the kernels below. */
  N_VEnableFusedOps_Serial(v, SUNTRUE);
  N_Vector_Ops ops = v->ops;
  ops->nvclone = fast_clone;
  ops->nvdestroy = fast_destroy;
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
