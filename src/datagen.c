/* Synthetic data sets (include/dlnflow/datagen.h): low-rank completion targets, Gaussian-input
 * teachers (given, or the random low-rank teacher of the paper's Fig. 6), plus input whitening
 * (THEORY.md §4b, §6). */
#include "dlnflow/datagen.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

/* Singular Σxx: smallest eigenvalue below this fraction of the largest. */
#define WHITEN_CONDITION_LIMIT 1e-12

static gsl_rng *seeded_rng(unsigned long seed)
{
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (rng) gsl_rng_set(rng, seed);
  return rng;
}

void dln_mc_data_release(dln_mc_data *d)
{
  if (!d) return;
  free(d->target);
  free(d->train);
  free(d->test);
  memset(d, 0, sizeof *d);
}

int dln_mc_data_from_entries(size_t rows, size_t cols, const double *target,
                             const dln_entry *observed, size_t nobserved, dln_mc_data *out)
{
  memset(out, 0, sizeof *out);
  size_t total = rows * cols;
  char *seen = calloc(total, 1);
  out->target = malloc(total * sizeof *out->target);
  out->train = malloc((nobserved > 0 ? nobserved : 1) * sizeof *out->train);
  if (!seen || !out->target || !out->train) goto nomem;
  out->rows = rows;
  out->cols = cols;
  memcpy(out->target, target, total * sizeof *target);
  memcpy(out->train, observed, nobserved * sizeof *observed);
  out->ntrain = nobserved;
  size_t distinct = 0;
  for (size_t i = 0; i < nobserved; i++) {
    size_t k = observed[i].row * cols + observed[i].col;
    if (!seen[k]) distinct++;
    seen[k] = 1;
  }
  out->ntest = total - distinct;
  out->test = malloc((out->ntest > 0 ? out->ntest : 1) * sizeof *out->test);
  if (!out->test) goto nomem;
  size_t t = 0;
  for (size_t k = 0; k < total; k++)
    if (!seen[k]) out->test[t++] = (dln_entry){k / cols, k % cols, target[k]};
  free(seen);
  return DLN_SUCCESS;
nomem:
  free(seen);
  dln_mc_data_release(out);
  return dln_error(DLN_ENOMEM, "out of memory for a %zu x %zu completion problem", rows, cols);
}

int dln_datagen_lowrank(size_t rows, size_t cols, size_t rank, double fraction,
                        unsigned long seed, dln_mc_data *out)
{
  memset(out, 0, sizeof *out);
  if (rows == 0 || cols == 0 || rank == 0 || rank > (rows < cols ? rows : cols))
    return dln_error(DLN_EINVAL, "data.rank = %zu: must lie in 1..min(rows, cols) = %zu", rank,
                     rows < cols ? rows : cols);
  if (!(fraction > 0.0 && fraction <= 1.0))
    return dln_error(DLN_EINVAL, "data.observed_fraction = %g: must lie in (0, 1]", fraction);
  size_t total = rows * cols;
  size_t nobs = (size_t)llround(fraction * (double)total);
  if (nobs < 1) nobs = 1;

  gsl_rng *rng = seeded_rng(seed);
  double *U = malloc(rows * rank * sizeof *U), *V = malloc(cols * rank * sizeof *V);
  double *target = malloc(total * sizeof *target);
  size_t *all = malloc(total * sizeof *all), *chosen = malloc(nobs * sizeof *chosen);
  dln_entry *observed = malloc(nobs * sizeof *observed);
  int status = DLN_SUCCESS;
  if (!rng || !U || !V || !target || !all || !chosen || !observed) {
    status = dln_error(DLN_ENOMEM, "out of memory for a %zu x %zu target", rows, cols);
    goto done;
  }
  for (size_t i = 0; i < rows * rank; i++) U[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
  for (size_t i = 0; i < cols * rank; i++) V[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
  dln_gemm(0, 1, rows, cols, rank, 1.0, U, V, 0.0, target);
  for (size_t k = 0; k < total; k++) all[k] = k;
  /* gsl_ran_choose keeps the chosen indices in increasing order: a stable entry order. */
  gsl_ran_choose(rng, chosen, nobs, all, total, sizeof *all);
  for (size_t i = 0; i < nobs; i++)
    observed[i] = (dln_entry){chosen[i] / cols, chosen[i] % cols, target[chosen[i]]};
  status = dln_mc_data_from_entries(rows, cols, target, observed, nobs, out);
done:
  gsl_rng_free(rng);
  free(U);
  free(V);
  free(target);
  free(all);
  free(chosen);
  free(observed);
  return status;
}

void dln_mse_data_release(dln_mse_data *d)
{
  if (!d) return;
  free(d->X);
  free(d->Y);
  free(d->Xtest);
  free(d->Ytest);
  memset(d, 0, sizeof *d);
}

/* Fills X (n0 x N) with N(0,1) draws and Y = T X (+ noise). */
static void draw_pairs(gsl_rng *rng, const double *T, size_t nL, size_t n0, size_t N,
                       double noise, double *X, double *Y)
{
  for (size_t i = 0; i < n0 * N; i++) X[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
  dln_gemm(0, 0, nL, N, n0, 1.0, T, X, 0.0, Y);
  if (noise > 0.0)
    for (size_t i = 0; i < nL * N; i++) Y[i] += gsl_ran_gaussian_ziggurat(rng, noise);
}

/* The teacher data set from an rng already in use: E (when teacher_noise > 0) first, then the
 * training pairs from T + E, then the test pairs from T. */
static int teacher_pairs(gsl_rng *rng, const double *T, size_t nL, size_t n0, size_t N,
                         size_t Ntest, double teacher_noise, double noise, dln_mse_data *out)
{
  memset(out, 0, sizeof *out);
  if (N == 0) return dln_error(DLN_EINVAL, "data.samples must be >= 1");
  if (!(noise >= 0.0) || !isfinite(noise))
    return dln_error(DLN_EINVAL, "data.noise = %g: must be >= 0", noise);
  if (!(teacher_noise >= 0.0) || !isfinite(teacher_noise))
    return dln_error(DLN_EINVAL, "data.teacher_noise = %g: must be >= 0", teacher_noise);
  out->n0 = n0;
  out->nL = nL;
  out->N = N;
  out->Ntest = Ntest;
  out->X = malloc(n0 * N * sizeof *out->X);
  out->Y = malloc(nL * N * sizeof *out->Y);
  double *noisy = malloc(nL * n0 * sizeof *noisy);
  if (Ntest > 0) {
    out->Xtest = malloc(n0 * Ntest * sizeof *out->Xtest);
    out->Ytest = malloc(nL * Ntest * sizeof *out->Ytest);
  }
  if (!out->X || !out->Y || !noisy || (Ntest > 0 && (!out->Xtest || !out->Ytest))) {
    free(noisy);
    dln_mse_data_release(out);
    return dln_error(DLN_ENOMEM, "out of memory for %zu samples", N);
  }
  memcpy(noisy, T, nL * n0 * sizeof *noisy);
  if (teacher_noise > 0.0)
    for (size_t i = 0; i < nL * n0; i++) noisy[i] += gsl_ran_gaussian_ziggurat(rng, teacher_noise);
  draw_pairs(rng, noisy, nL, n0, N, noise, out->X, out->Y);
  if (Ntest > 0) draw_pairs(rng, T, nL, n0, Ntest, 0.0, out->Xtest, out->Ytest);
  free(noisy);
  return DLN_SUCCESS;
}

int dln_datagen_teacher(const double *T, size_t nL, size_t n0, size_t N, size_t Ntest,
                        double teacher_noise, double noise, unsigned long seed,
                        dln_mse_data *out)
{
  memset(out, 0, sizeof *out);
  gsl_rng *rng = seeded_rng(seed);
  if (!rng) return dln_error(DLN_ENOMEM, "out of memory for the random number generator");
  int status = teacher_pairs(rng, T, nL, n0, N, Ntest, teacher_noise, noise, out);
  gsl_rng_free(rng);
  return status;
}

int dln_datagen_lowrank_teacher(size_t size, size_t rank, double teacher_noise, size_t N,
                                size_t Ntest, double noise, unsigned long seed, double *T,
                                dln_mse_data *out)
{
  memset(out, 0, sizeof *out);
  if (size == 0 || rank == 0 || rank > size)
    return dln_error(DLN_EINVAL, "data.teacher_rank = %zu: must lie in [1, data.teacher_size = "
                     "%zu]", rank, size);
  gsl_rng *rng = seeded_rng(seed);
  double *W0 = malloc(size * rank * sizeof *W0);
  int status = DLN_SUCCESS;
  if (!rng || !W0) {
    status = dln_error(DLN_ENOMEM, "out of memory for a %zu x %zu teacher", size, size);
    goto done;
  }
  /* Column by column (column i has variance i), so that the rank-(r+1) teacher of a seed is
   * the rank-r one plus w_{r+1} w_{r+1}ᵀ. */
  for (size_t i = 0; i < rank; i++)
    for (size_t k = 0; k < size; k++)
      W0[k * rank + i] = gsl_ran_gaussian_ziggurat(rng, sqrt((double)(i + 1)));
  dln_gemm(0, 1, size, size, rank, 1.0, W0, W0, 0.0, T);
  status = teacher_pairs(rng, T, size, size, N, Ntest, teacher_noise, noise, out);
done:
  gsl_rng_free(rng);
  free(W0);
  return status;
}

/* X <- W X for an n0 x n0 map W, with a scratch copy. */
static int apply_map(const double *W, size_t n0, size_t N, double *X)
{
  double *copy = malloc(n0 * N * sizeof *copy);
  if (!copy) return dln_error(DLN_ENOMEM, "out of memory while whitening");
  memcpy(copy, X, n0 * N * sizeof *copy);
  dln_gemm(0, 0, n0, N, n0, 1.0, W, copy, 0.0, X);
  free(copy);
  return DLN_SUCCESS;
}

int dln_mse_data_whiten(dln_mse_data *d)
{
  size_t n = d->n0;
  double *Q = malloc(n * n * sizeof *Q), *lambda = malloc(n * sizeof *lambda);
  double *W = calloc(n * n, sizeof *W);
  int status = DLN_SUCCESS;
  if (!Q || !lambda || !W) {
    status = dln_error(DLN_ENOMEM, "out of memory while whitening");
    goto done;
  }
  dln_gemm(0, 1, n, n, d->N, 1.0 / (double)d->N, d->X, d->X, 0.0, Q);
  lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, Q, (lapack_int)n,
                                  lambda);
  if (info != 0) {
    status = dln_error(DLN_ELINALG, "whitening: LAPACKE_dsyev returned %d", (int)info);
    goto done;
  }
  if (!(lambda[0] > WHITEN_CONDITION_LIMIT * lambda[n - 1])) {
    status = dln_error(DLN_ELINALG,
                       "data.whiten: the input covariance is singular (eigenvalues %g .. %g); "
                       "use more samples than inputs, or drop constant inputs",
                       lambda[0], lambda[n - 1]);
    goto done;
  }
  /* W = Q Λ^{-1/2} Qᵀ = (Q Λ^{-1/4})(Q Λ^{-1/4})ᵀ: the symmetric inverse square root of Σxx. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) Q[i * n + j] /= sqrt(sqrt(lambda[j]));
  dln_gemm(0, 1, n, n, n, 1.0, Q, Q, 0.0, W);
  status = apply_map(W, n, d->N, d->X);
  if (status == DLN_SUCCESS && d->Ntest > 0) status = apply_map(W, n, d->Ntest, d->Xtest);
done:
  free(Q);
  free(lambda);
  free(W);
  return status;
}
