/* Extreme eigenvalues of the Hessian (include/dlnflow/hessian.h).
 *
 * Dense: H_ij = e_iᵀ H e_j from P Hessian-vector products, then LAPACKE_dsyevd.
 * Lanczos: β_{k+1} q_{k+1} = H q_k - α_k q_k - β_k q_{k-1}, with every new vector
 * reorthogonalised against all earlier ones (Gram-Schmidt twice) so that no ghost copies of
 * converged eigenvalues appear; the eigenvalues of the tridiagonal T_k (LAPACKE_dstev)
 * approximate the extremes of H's spectrum from inside. */
#include "dlnflow/hessian.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlnflow/errors.h"
#include "linalg.h"

static int dense_spectrum(dln_problem *p, const double *theta, double tol,
                          dln_hessian_spectrum *out, double *eigenvalues)
{
  size_t P = dln_problem_nparams(p);
  double *H = malloc(P * P * sizeof *H);
  double *w = eigenvalues ? eigenvalues : malloc(P * sizeof *w);
  int status = DLN_SUCCESS;
  if (!H || !w) {
    status = dln_error(DLN_ENOMEM, "Hessian: out of memory for %zu x %zu", P, P);
    goto done;
  }
  status = dln_problem_hessian(p, theta, H);
  if (status != DLN_SUCCESS) goto done;
  if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)P, H, (lapack_int)P, w) != 0) {
    status = dln_error(DLN_ELINALG, "Hessian: LAPACKE_dsyevd failed");
    goto done;
  }
  out->lambda_min = w[0];
  out->lambda_max = w[P - 1];
  double cut = tol * fmax(fabs(w[0]), fabs(w[P - 1]));
  out->negative = 0;
  while (out->negative < P && w[out->negative] < -cut) out->negative++;
  out->dense = 1;
  out->lanczos_steps = 0;
done:
  free(H);
  if (w != eigenvalues) free(w);
  return status;
}

static int lanczos_spectrum(dln_problem *p, const double *theta, double tol, size_t steps,
                            unsigned long seed, dln_hessian_spectrum *out)
{
  size_t P = dln_problem_nparams(p);
  if (steps > P) steps = P;
  if (steps < 2) steps = 2;
  double *Q = malloc((steps + 1) * P * sizeof *Q), *hv = malloc(P * sizeof *hv);
  double *alpha = malloc(steps * sizeof *alpha), *beta = malloc(steps * sizeof *beta);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  int status = DLN_SUCCESS;
  if (!Q || !hv || !alpha || !beta || !rng) {
    status = dln_error(DLN_ENOMEM, "Hessian: out of memory for %zu Lanczos vectors", steps);
    goto done;
  }
  gsl_rng_set(rng, seed);
  for (size_t i = 0; i < P; i++) Q[i] = gsl_ran_gaussian_ziggurat(rng, 1.0);
  dln_scal(P, 1.0 / dln_nrm2(P, Q), Q);
  size_t k = 0;
  for (; k < steps; k++) {
    double *q = Q + k * P, *next = Q + (k + 1) * P;
    status = dln_problem_hvp(p, theta, q, hv);
    if (status != DLN_SUCCESS) goto done;
    alpha[k] = dln_dot(P, q, hv);
    memcpy(next, hv, P * sizeof *hv);
    for (int pass = 0; pass < 2; pass++) /* full reorthogonalisation, twice */
      for (size_t j = 0; j <= k; j++) dln_axpy(P, -dln_dot(P, Q + j * P, next), Q + j * P, next);
    double b = dln_nrm2(P, next);
    if (k + 1 == steps) break;
    /* An invariant subspace found: its eigenvalues are exact, stop there. */
    if (!(b > 1e-12 * (fabs(alpha[k]) + (k > 0 ? beta[k - 1] : 0.0)))) break;
    beta[k] = b;
    dln_scal(P, 1.0 / b, next);
  }
  size_t m = k + 1 < steps ? k + 1 : steps;
  /* LAPACKE checks ldz >= m in row-major order even when no vectors are wanted. */
  if (LAPACKE_dstev(LAPACK_ROW_MAJOR, 'N', (lapack_int)m, alpha, beta, NULL, (lapack_int)m) != 0) {
    status = dln_error(DLN_ELINALG, "Hessian: LAPACKE_dstev failed");
    goto done;
  }
  out->lambda_min = alpha[0];
  out->lambda_max = alpha[m - 1];
  double cut = tol * fmax(fabs(alpha[0]), fabs(alpha[m - 1]));
  out->negative = 0;
  while (out->negative < m && alpha[out->negative] < -cut) out->negative++;
  out->dense = 0;
  out->lanczos_steps = m;
done:
  free(Q);
  free(hv);
  free(alpha);
  free(beta);
  gsl_rng_free(rng);
  return status;
}

int dln_hessian_spectrum_compute(dln_problem *p, const double *theta, double tol,
                                 size_t dense_max, size_t steps, unsigned long seed,
                                 dln_hessian_spectrum *out, double *eigenvalues)
{
  memset(out, 0, sizeof *out);
  if (dln_problem_nparams(p) <= dense_max) return dense_spectrum(p, theta, tol, out, eigenvalues);
  return lanczos_spectrum(p, theta, tol, steps, seed, out);
}
