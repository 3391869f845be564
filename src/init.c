/* Initial states (THEORY.md §3): θ ~ N(0, c·w^-γ) i.i.d., or θ = α θ0 with θ0 ~ N(0, 1).
 * Draws come from GSL's MT19937 in layer order, so a seed fixes θ bit for bit. */
#include "dlnflow/init.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

#include "dlnflow/errors.h"

size_t dln_init_reference_width(const dln_network *net)
{
  size_t L = dln_network_depth(net);
  if (L == 1) return dln_network_width(net, 0);
  size_t w = 0;
  for (size_t l = 1; l < L; l++)
    if (dln_network_width(net, l) > w) w = dln_network_width(net, l);
  return w;
}

/* Fills θ with i.i.d. N(0, sigma^2) draws. */
static int fill_gaussian(const dln_network *net, double sigma, unsigned long seed, double *theta)
{
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng) return dln_error(DLN_ENOMEM, "dln_init: cannot allocate a random generator");
  gsl_rng_set(rng, seed);
  size_t n = dln_network_nparams(net);
  for (size_t i = 0; i < n; i++) theta[i] = gsl_ran_gaussian_ziggurat(rng, sigma);
  gsl_rng_free(rng);
  return DLN_SUCCESS;
}

int dln_init_gaussian(const dln_network *net, double c, double gamma, unsigned long seed,
                      double *theta)
{
  if (!(c > 0.0) || !isfinite(c))
    return dln_error(DLN_EINVAL, "init.c: variance factor %g must be positive", c);
  if (!isfinite(gamma)) return dln_error(DLN_EINVAL, "init.gamma: %g is not finite", gamma);
  double w = (double)dln_init_reference_width(net);
  double sigma = sqrt(c * pow(w, -gamma));
  if (!(sigma > 0.0) || !isfinite(sigma))
    return dln_error(DLN_EINVAL, "init: standard deviation sqrt(c w^-gamma) = %g is unusable",
                     sigma);
  return fill_gaussian(net, sigma, seed, theta);
}

int dln_init_scaled(const dln_network *net, double alpha, unsigned long seed, double *theta)
{
  if (!(alpha > 0.0) || !isfinite(alpha))
    return dln_error(DLN_EINVAL, "init.alpha: %g must be positive and finite", alpha);
  /* Draw θ0 at unit scale and multiply, so that every α shares one direction θ0. */
  int status = fill_gaussian(net, 1.0, seed, theta);
  if (status != DLN_SUCCESS) return status;
  size_t n = dln_network_nparams(net);
  for (size_t i = 0; i < n; i++) theta[i] *= alpha;
  return DLN_SUCCESS;
}
