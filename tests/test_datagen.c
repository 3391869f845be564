/* Tests for the synthetic data of src/datagen.c: the random low-rank teacher of the paper's
 * Fig. 6 (exact rank, column variances, noise matrix on the training targets only, exact test
 * targets, bit-for-bit repetition) and the teacher-noise option of dln_datagen_teacher. */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/datagen.h"
#include "dlnflow/diagnostics.h"
#include "dlnflow/errors.h"
#include "testlib.h"

static void *checked_calloc(size_t n, size_t size)
{
  void *p = calloc(n, size);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* out = M X for an nL x n0 matrix M and n0 x N inputs, by plain loops (independent of BLAS). */
static void product(const double *M, size_t nL, size_t n0, const double *X, size_t N, double *out)
{
  for (size_t i = 0; i < nL; i++)
    for (size_t j = 0; j < N; j++) {
      double s = 0.0;
      for (size_t k = 0; k < n0; k++) s += M[i * n0 + k] * X[k * N + j];
      out[i * N + j] = s;
    }
}

static double max_abs(const double *a, size_t n)
{
  double m = 0.0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
  return m;
}

/* The noiseless teacher has exactly the asked rank: r singular values of its size, the rest
 * at round-off. It is symmetric (W0 W0ᵀ). */
static void test_rank(void)
{
  const size_t n = 10;
  double *T = checked_calloc(n * n, sizeof *T), sv[10];
  for (size_t r = 1; r <= 5; r += 2) {
    dln_mse_data d;
    int rc = dln_datagen_lowrank_teacher(n, r, 0.2, 100, 10, 0.0, 7, T, &d);
    dln_mse_data_release(&d);
    dln_singular_values(T, n, n, sv);
    size_t rank = dln_rank(sv, n, 1e-10 * sv[0]);
    test_true(rc == DLN_SUCCESS && rank == r,
              "rank-%zu teacher 10 x 10: %zu singular values above 1e-10 sv1 (sv%zu = %.3g, "
              "sv%zu = %.3g)", r, rank, r, sv[r - 1], r + 1, sv[r]);
    double asym = 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) asym = fmax(asym, fabs(T[i * n + j] - T[j * n + i]));
    test_true(asym == 0.0, "rank-%zu teacher is symmetric (largest |T - T^T| %.3g)", r, asym);
  }
  /* The rank-3 teacher is the rank-2 one of the same seed plus one rank-one term. */
  double *T2 = checked_calloc(n * n, sizeof *T2);
  dln_mse_data d;
  dln_datagen_lowrank_teacher(n, 2, 0.2, 100, 10, 0.0, 7, T2, &d);
  dln_mse_data_release(&d);
  dln_datagen_lowrank_teacher(n, 3, 0.2, 100, 10, 0.0, 7, T, &d);
  dln_mse_data_release(&d);
  for (size_t i = 0; i < n * n; i++) T2[i] = T[i] - T2[i];
  dln_singular_values(T2, n, n, sv);
  test_below(sv[1] / sv[0], 1e-13, "the rank-3 teacher is the rank-2 one of its seed plus w3 w3^T");
  free(T2);
  int rc = dln_datagen_lowrank_teacher(3, 4, 0.0, 10, 0, 0.0, 1, T, &d);
  test_true(rc == DLN_EINVAL && strstr(dln_error_message(), "data.teacher_rank = 4"),
            "rank above size refused: %s", dln_error_message());
  free(T);
}

/* Column i of W0 has variance i: the teacher of rank r adds w_r w_rᵀ to the teacher of rank
 * r - 1 (same seed), whose diagonal holds the squares of column r. Over n = 1500 entries the
 * mean square is r within 15% (4 standard deviations: sd = r sqrt(2/n)). */
static void test_column_variances(void)
{
  const size_t n = 1500;
  double *prev = checked_calloc(n * n, sizeof *prev), *T = checked_calloc(n * n, sizeof *T);
  for (size_t r = 1; r <= 3; r++) {
    dln_mse_data d;
    dln_datagen_lowrank_teacher(n, r, 0.0, 1, 0, 0.0, 11, T, &d);
    dln_mse_data_release(&d);
    double mean = 0.0;
    for (size_t k = 0; k < n; k++) mean += T[k * n + k] - prev[k * n + k];
    mean /= (double)n;
    test_rel(mean, (double)r, 0.15, "column %zu of W0 has variance %zu (mean square over %zu)",
             r, r, n);
    memcpy(prev, T, n * n * sizeof *T);
  }
  free(prev);
  free(T);
}

/* Training targets (T + E) X with one noise matrix E for all samples, E_ij ~ N(0, 0.2²); test
 * targets T X exactly. E is recovered from the training residual R = Y - T X by least squares,
 * E = R Xᵀ (X Xᵀ)^-1, and must reproduce R (one matrix, not noise per sample). */
static void test_noise_on_train_only(size_t n, size_t N, double tol_sd)
{
  const size_t r = 3, Ntest = 1000;
  const double sd = 0.2;
  double *T = checked_calloc(n * n, sizeof *T);
  dln_mse_data d;
  int rc = dln_datagen_lowrank_teacher(n, r, sd, N, Ntest, 0.0, 3, T, &d);
  test_true(rc == DLN_SUCCESS && d.n0 == n && d.nL == n && d.N == N && d.Ntest == Ntest,
            "%zu x %zu teacher, %zu train and %zu test samples: shapes", n, n, N, Ntest);
  double *TX = checked_calloc(n * Ntest, sizeof *TX);
  product(T, n, n, d.Xtest, Ntest, TX);
  double scale = max_abs(d.Ytest, n * Ntest), err = 0.0;
  for (size_t i = 0; i < n * Ntest; i++) err = fmax(err, fabs(d.Ytest[i] - TX[i]));
  test_below(err, 1e-13 * scale, "n = %zu: test targets are W_T X (no noise)", n);

  /* R = Y - T X; G = X Xᵀ; E = R Xᵀ G^-1 (solve G Eᵀ = X Rᵀ). */
  double *R = checked_calloc(n * N, sizeof *R), *G = checked_calloc(n * n, sizeof *G);
  double *Et = checked_calloc(n * n, sizeof *Et), *EX = checked_calloc(n * N, sizeof *EX);
  product(T, n, n, d.X, N, R);
  for (size_t i = 0; i < n * N; i++) R[i] = d.Y[i] - R[i];
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      for (size_t k = 0; k < N; k++) {
        G[i * n + j] += d.X[i * N + k] * d.X[j * N + k];
        Et[i * n + j] += d.X[i * N + k] * R[j * N + k];
      }
  lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, (lapack_int)n, G,
                                  (lapack_int)n, Et, (lapack_int)n);
  double *E = checked_calloc(n * n, sizeof *E);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) E[i * n + j] = Et[j * n + i];
  product(E, n, n, d.X, N, EX);
  double fit = 0.0;
  for (size_t i = 0; i < n * N; i++) fit = fmax(fit, fabs(R[i] - EX[i]));
  test_true(info == 0 && fit <= 1e-10 * max_abs(R, n * N) && max_abs(R, n * N) > 0.0,
            "n = %zu: the training residual Y - W_T X is E X for one matrix E (misfit %.3g)", n,
            fit);
  double mean = 0.0, sq = 0.0;
  for (size_t i = 0; i < n * n; i++) mean += E[i];
  mean /= (double)(n * n);
  for (size_t i = 0; i < n * n; i++) sq += (E[i] - mean) * (E[i] - mean);
  double sample_sd = sqrt(sq / (double)(n * n - 1));
  test_rel(sample_sd, sd, tol_sd, "n = %zu: E's entries have standard deviation 0.2", n);
  test_below(fabs(mean), 4.0 * sd / (double)n, "n = %zu: E's entries have mean 0", n);
  dln_mse_data_release(&d);
  free(T);
  free(TX);
  free(R);
  free(G);
  free(Et);
  free(E);
  free(EX);
}

/* The same seed gives the same data bit for bit; another seed other data. */
static void test_repeat(void)
{
  const size_t n = 10, N = 100, Ntest = 50;
  double T1[100], T2[100], T3[100];
  dln_mse_data a, b, c;
  dln_datagen_lowrank_teacher(n, 3, 0.2, N, Ntest, 0.1, 5, T1, &a);
  dln_datagen_lowrank_teacher(n, 3, 0.2, N, Ntest, 0.1, 5, T2, &b);
  dln_datagen_lowrank_teacher(n, 3, 0.2, N, Ntest, 0.1, 6, T3, &c);
  int same = memcmp(T1, T2, sizeof T1) == 0 && memcmp(a.X, b.X, n * N * sizeof *a.X) == 0 &&
             memcmp(a.Y, b.Y, n * N * sizeof *a.Y) == 0 &&
             memcmp(a.Xtest, b.Xtest, n * Ntest * sizeof *a.X) == 0 &&
             memcmp(a.Ytest, b.Ytest, n * Ntest * sizeof *a.Y) == 0;
  test_true(same, "same seed: teacher, inputs and targets repeat bit for bit");
  test_true(memcmp(T1, T3, sizeof T1) != 0 && memcmp(a.X, c.X, n * N * sizeof *a.X) != 0,
            "another seed: another teacher and other inputs");
  dln_mse_data_release(&a);
  dln_mse_data_release(&b);
  dln_mse_data_release(&c);
}

/* dln_datagen_teacher: with teacher_noise = 0 the targets are T X; with teacher_noise > 0 the
 * noise matrix is drawn first (so the inputs differ from the noiseless call's) and Y != T X. */
static void test_given_teacher(void)
{
  const size_t nL = 3, n0 = 4, N = 20;
  const double T[12] = {1, 0, 0, 2, 0, 3, 0, 0, 0, 0, 4, 0.5};
  dln_mse_data plain, noisy;
  dln_datagen_teacher(T, nL, n0, N, 5, 0.0, 0.0, 9, &plain);
  dln_datagen_teacher(T, nL, n0, N, 5, 0.3, 0.0, 9, &noisy);
  double TX[60];
  product(T, nL, n0, plain.X, N, TX);
  double err = 0.0;
  for (size_t i = 0; i < nL * N; i++) err = fmax(err, fabs(plain.Y[i] - TX[i]));
  test_below(err, 1e-14 * max_abs(TX, nL * N), "given teacher, no noise: Y = T X");
  product(T, nL, n0, noisy.X, N, TX);
  err = 0.0;
  for (size_t i = 0; i < nL * N; i++) err = fmax(err, fabs(noisy.Y[i] - TX[i]));
  test_true(err > 1e-3 && memcmp(plain.X, noisy.X, n0 * N * sizeof *plain.X) != 0,
            "given teacher with teacher_noise: the noise matrix is drawn first, Y != T X "
            "(largest difference %.3g)", err);
  dln_mse_data_release(&plain);
  dln_mse_data_release(&noisy);
}

int main(void)
{
  test_rank();
  test_column_variances();
  test_noise_on_train_only(10, 100, 0.25);
  test_noise_on_train_only(40, 100, 0.08);
  test_repeat();
  test_given_teacher();
  return test_summary();
}
