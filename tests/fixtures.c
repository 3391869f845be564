/* Test fixtures (fixtures.h). */
#include "fixtures.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/datagen.h"
#include "dlnflow/errors.h"
#include "linalg.h"

void fixture_orthonormal(size_t rows, size_t cols, unsigned long seed, double *Q)
{
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  for (size_t i = 0; i < rows * cols; i++) Q[i] = gsl_ran_gaussian(rng, 1.0);
  double *tau = malloc(cols * sizeof *tau);
  LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)rows, (lapack_int)cols, Q, (lapack_int)cols, tau);
  LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)rows, (lapack_int)cols, (lapack_int)cols, Q,
                 (lapack_int)cols, tau);
  free(tau);
  gsl_rng_free(rng);
}

int fixture_whitened_cost(size_t n, const double *s, size_t N, unsigned long seed,
                          whitened_problem *wp, dln_cost **cost)
{
  wp->n = n;
  wp->U = malloc(n * n * sizeof *wp->U);
  wp->V = malloc(n * n * sizeof *wp->V);
  fixture_orthonormal(n, n, seed, wp->U);
  fixture_orthonormal(n, n, seed + 1, wp->V);
  /* M = U diag(s) Vᵀ */
  double *US = malloc(n * n * sizeof *US), *M = malloc(n * n * sizeof *M);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) US[i * n + j] = wp->U[i * n + j] * s[j];
  dln_gemm(0, 1, n, n, n, 1.0, US, wp->V, 0.0, M);
  /* Whitened Gaussian inputs. */
  double *T = calloc(n * n, sizeof *T);
  dln_mse_data d;
  dln_datagen_teacher(T, n, n, N, 0, 0.0, 0.0, seed + 2, &d);
  dln_mse_data_whiten(&d);
  /* Y = M X + E, E with rows orthogonal to those of X, so Y Xᵀ/N = M and C0 = ||E||²/N. */
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed + 3);
  double *E = malloc(n * N * sizeof *E), *EX = malloc(n * n * sizeof *EX);
  for (size_t i = 0; i < n * N; i++) E[i] = 0.3 * gsl_ran_gaussian(rng, 1.0);
  dln_gemm(0, 1, n, n, N, 1.0 / (double)N, E, d.X, 0.0, EX);
  dln_gemm(0, 0, n, N, n, -1.0, EX, d.X, 1.0, E);
  double e = dln_nrm2(n * N, E);
  wp->C0 = e * e / (double)N;
  memcpy(d.Y, E, n * N * sizeof *E);
  dln_gemm(0, 0, n, N, n, 1.0, M, d.X, 1.0, d.Y);
  int status = dln_cost_mse_alloc(n, n, N, d.X, d.Y, 0, NULL, NULL, cost);
  dln_mse_data_release(&d);
  gsl_rng_free(rng);
  free(E);
  free(EX);
  free(US);
  free(M);
  free(T);
  return status;
}

void fixture_whitened_release(whitened_problem *wp)
{
  free(wp->U);
  free(wp->V);
}

void fixture_balanced_start(const whitened_problem *wp, const dln_network *net, const double *a0,
                            unsigned long seed, double *theta)
{
  size_t L = dln_network_depth(net), n = wp->n, w = dln_network_width(net, 1);
  double *R = malloc(w * n * sizeof *R), *b = malloc(n * sizeof *b);
  fixture_orthonormal(w, n, seed, R);
  for (size_t i = 0; i < n; i++) b[i] = pow(a0[i], 1.0 / (double)L);
  for (size_t l = 1; l <= L; l++) {
    /* W_l = Left diag(b) Rightᵀ with Left = R (or U at the top), Right = R (or V at the bottom). */
    const double *left = l == L ? wp->U : R, *right = l == 1 ? wp->V : R;
    size_t rows = dln_network_width(net, l), cols = dln_network_width(net, l - 1);
    double *Lb = malloc(rows * n * sizeof *Lb);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < n; j++) Lb[i * n + j] = left[i * n + j] * b[j];
    dln_gemm(0, 1, rows, cols, n, 1.0, Lb, right, 0.0, theta + dln_network_layer_offset(net, l));
    free(Lb);
  }
  free(R);
  free(b);
}

dln_problem *fixture_whitened_net(size_t depth, size_t width, const double *s, size_t n,
                                  size_t N, unsigned long seed, double *C0)
{
  whitened_problem wp;
  dln_cost *cost = NULL;
  fixture_whitened_cost(n, s, N, seed, &wp, &cost);
  if (C0) *C0 = wp.C0;
  fixture_whitened_release(&wp);
  size_t widths[DLN_MAX_DEPTH + 1];
  widths[0] = widths[depth] = n;
  for (size_t l = 1; l < depth; l++) widths[l] = width;
  dln_network *net = NULL;
  dln_network_alloc(depth, widths, &net);
  dln_problem *p = NULL;
  dln_problem_alloc(net, cost, &p);
  return p;
}
