/* Extreme eigenvalues of the Hessian (include/dlnflow/hessian.h).
 *
 * Dense: H_ij = e_iᵀ H e_j from P Hessian-vector products, then LAPACKE_dsyevd.
 * Lanczos: β_{k+1} q_{k+1} = H q_k - α_k q_k - β_k q_{k-1}, with every new vector
 * reorthogonalised against all earlier ones (Gram-Schmidt twice) so that no ghost copies of
 * converged eigenvalues appear; the eigenvalues of the tridiagonal T_k (LAPACKE_dstev)
 * approximate the extremes of H's spectrum from inside. */
#include "dlnflow/hessian.h"

#include <float.h>
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

/* Relative eigenvalue cut of the pseudo-inverse, and the gradient drop that counts as found. */
#define NEWTON_CUT 1e-10
#define NEWTON_CONVERGED 1e-9
#define NEWTON_HALVINGS 30
#define NEWTON_ROUNDOFF_ULPS 1e3

/* step = -H⁺ g from H's eigenvectors (rows of V after dsyevd in row-major: columns). */
static void pseudo_inverse_step(size_t P, const double *V, const double *lambda, const double *g,
                                double *coef, double *step)
{
  double largest = fmax(fabs(lambda[0]), fabs(lambda[P - 1]));
  dln_gemm(1, 0, P, 1, P, 1.0, V, g, 0.0, coef); /* coef = Vᵀ g */
  for (size_t i = 0; i < P; i++)
    coef[i] = fabs(lambda[i]) > NEWTON_CUT * largest ? -coef[i] / lambda[i] : 0.0;
  dln_gemm(0, 0, P, 1, P, 1.0, V, coef, 0.0, step); /* step = V coef */
}

int dln_newton_critical_point(dln_problem *p, const double *theta, size_t max_iterations,
                              double *out, dln_newton_result *result)
{
  size_t P = dln_problem_nparams(p);
  memset(result, 0, sizeof *result);
  double *H = malloc(P * P * sizeof *H), *lambda = malloc(P * sizeof *lambda);
  double *g = malloc(P * sizeof *g), *step = malloc(P * sizeof *step);
  double *coef = malloc(P * sizeof *coef), *trial = malloc(P * sizeof *trial);
  int status = (H && lambda && g && step && coef && trial)
                   ? DLN_SUCCESS
                   : dln_error(DLN_ENOMEM, "Newton: out of memory for %zu parameters", P);
  double loss, norm = 0.0;
  if (status == DLN_SUCCESS) {
    memcpy(out, theta, P * sizeof *out);
    status = dln_problem_gradient(p, out, &loss, g);
    norm = result->grad_norm_start = dln_nrm2(P, g);
  }
  while (status == DLN_SUCCESS && result->iterations < max_iterations &&
         norm > NEWTON_CONVERGED * result->grad_norm_start) {
    status = dln_problem_hessian(p, out, H);
    if (status != DLN_SUCCESS) break;
    if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)P, H, (lapack_int)P, lambda) != 0) {
      status = dln_error(DLN_ELINALG, "Newton: LAPACKE_dsyevd failed");
      break;
    }
    pseudo_inverse_step(P, H, lambda, g, coef, step);
    double scale = 1.0, trial_norm = INFINITY;
    for (int h = 0; h < NEWTON_HALVINGS; h++, scale *= 0.5) {
      memcpy(trial, out, P * sizeof *out);
      dln_axpy(P, scale, step, trial);
      status = dln_problem_gradient(p, trial, &loss, coef);
      if (status != DLN_SUCCESS) break;
      trial_norm = dln_nrm2(P, coef);
      if (trial_norm < norm) break;
    }
    if (status != DLN_SUCCESS || !(trial_norm < norm)) break; /* no progress: stop here */
    memcpy(out, trial, P * sizeof *out);
    memcpy(g, coef, P * sizeof *g);
    norm = trial_norm;
    result->iterations++;
  }
  if (status == DLN_SUCCESS) {
    /* ∇ℒ's own round-off: each layer's block is ∇C(A) times L-1 other layers. */
    status = dln_problem_gradient(p, out, &loss, g);
    const dln_network *net = dln_problem_network(p);
    size_t mn = dln_network_width(net, dln_network_depth(net)) * dln_network_width(net, 0);
    double roundoff = NEWTON_ROUNDOFF_ULPS * DBL_EPSILON *
                      dln_nrm2(mn, dln_problem_cost_gradient(p)) *
                      pow(dln_nrm2(P, out), (double)dln_network_depth(net) - 1.0);
    result->grad_norm = norm;
    result->converged = norm <= fmax(NEWTON_CONVERGED * result->grad_norm_start, roundoff);
    memcpy(trial, out, P * sizeof *out);
    dln_axpy(P, -1.0, theta, trial);
    result->distance = dln_nrm2(P, trial);
  }
  free(H);
  free(lambda);
  free(g);
  free(step);
  free(coef);
  free(trial);
  return status;
}
